/**
 * Ciphers in a fresh process, where the runtime's own `node:crypto` lacks
 * AES-256-GCM or seals it wrong (runtimes/aead-choice.ts then falls back to
 * @noble/ciphers, imported on demand by `prepareCrypto()`). Each child loads
 * nothing before the entry point under test, so that entry point is the
 * first to need a cipher: open (several at once), restore, rekey, and the
 * synchronous `verifyStore`, which cannot import @noble/ciphers itself and
 * must say so with a typed error, not ErrInternal; and where @noble/ciphers
 * cannot be imported at all (each runtime's resolver hook makes it so), a
 * typed error too, not the loader's. The child breaks its
 * `node:crypto` through `process.getBuiltinModule`, which runtimes/builtin.ts
 * asks first in all three runtimes. Also: a MemStore needs no built-in
 * module at all, and a FileStore without one fails typed, writing nothing.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { cliCommand } from "./cli-helpers.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { inTempDir } from "./store-helpers.ts";

const KEY_BYTE = 7;
const MSGS = 40;

/**
 * Replaces `node:crypto`'s AES-256-GCM for the rest of the child: "missing"
 * throws as a runtime without the cipher does, "wrong" seals under another
 * key (it opens what it sealed, but disagrees with @noble/ciphers). Counts
 * the calls (and writes `marker` at each), so the parent knows the break was in force.
 */
function breakAes(mode: "missing" | "wrong", marker?: string): string {
  return `
const realBuiltin = process.getBuiltinModule.bind(process);
globalThis.aesCalls = 0;
process.getBuiltinModule = (id) => {
  const m = realBuiltin(id);
  if (id !== "node:crypto") return m;
  return new Proxy(m, {
    get(t, k) {
      const v = Reflect.get(t, k);
      if (k !== "createCipheriv" && k !== "createDecipheriv") return typeof v === "function" ? v.bind(t) : v;
      return (cipher, key, ...rest) => {
        if (cipher !== "aes-256-gcm") return v.call(t, cipher, key, ...rest);
        globalThis.aesCalls++;
        ${marker === undefined ? "" : `realBuiltin("node:fs").writeFileSync(${JSON.stringify(marker)}, "1");`}
        if (${JSON.stringify(mode)} === "missing") throw new Error("Unknown cipher");
        return v.call(t, cipher, key.map((b) => b ^ 1), ...rest);
      };
    },
  });
};`;
}

/** Every `node:*` module refused, as in a runtime without `process.getBuiltinModule`. */
const NO_BUILTINS = "process.getBuiltinModule = () => undefined;";

/** The files under `dir` with their sizes and modification times: what a failed call must leave. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = joinPath(d, name);
      const s = statSync(path);
      if (s.isDirectory()) walk(path);
      else out.push(`${path} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

export function freshCryptoSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  const entry = childEntry(ctx);

  /** Runs `body` in a fresh child after `preamble`; its last stdout line, parsed. */
  const child = async (
    preamble: string,
    body: string,
    flags: Record<"node" | "bun" | "deno", string[]> = { node: [], bun: [], deno: [] },
  ): Promise<Record<string, unknown>> => {
    if (!existsSync(new URL(entry))) {
      throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
    }
    const script = [
      preamble,
      `const J = await import(${JSON.stringify(entry)});`,
      `const key = () => new Uint8Array(32).fill(${KEY_BYTE});`,
      "const code = async (f) => { try { await f(); return 'ok'; } catch (e) { return e?.code ?? 'raw ' + e?.constructor?.name + ': ' + e?.message; } };",
      "const out = {};",
      body,
      "out.aesCalls = globalThis.aesCalls;",
      "console.log(JSON.stringify(out));",
    ].join("\n");
    const { cmd, args } = childCommand(ctx);
    const text = await new Promise<string>((resolve, reject) => {
      // Deno's flags go after "eval"; Node's and Bun's before the script.
      const [first, ...rest] = args(script);
      const all =
        ctx.runtime === "deno"
          ? [first, ...flags.deno, ...rest]
          : [...flags[ctx.runtime], first, ...rest];
      const c = spawn(cmd, all, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      c.stdout.on("data", (d) => {
        stdout += d;
      });
      c.stderr.on("data", (d) => {
        stderr += d;
      });
      c.on("error", reject);
      c.on("close", (status) =>
        status === 0 ? resolve(stdout) : reject(new Error(`child exited ${status}: ${stderr}`)),
      );
    });
    return JSON.parse(text.trim().split("\n").at(-1) ?? "null");
  };

  /** An encrypted store of MSGS messages with a consumer, built by this process. */
  const build = async (dir: string, cipher: "aes-256-gcm" | "chacha20-poly1305") => {
    const store = await FileStore.open({
      dir,
      fs: adapter.fs,
      cipher,
      key: new Uint8Array(32).fill(KEY_BYTE),
    });
    for (let i = 1; i <= MSGS; i++) store.storeMsg(`s.${i % 3}`, null, new Uint8Array([i]));
    store.consumer("work", { ackPolicy: "explicit" });
    await store.close();
  };

  describe("ciphers in a fresh process without a working AES-256-GCM of its own", () => {
    it(
      "verifyStore with a key refuses with ErrNotImplemented, reading nothing, until prepareCrypto() has run",
      () =>
        inTempDir(adapter, async (tmp) => {
          const aes = joinPath(tmp, "aes");
          await build(aes, "aes-256-gcm");
          const before = listing(aes);
          const out = await child(
            breakAes("missing"),
            `
out.before = await code(() => J.verifyStore(${JSON.stringify(aes)}, { key: key() }));
await J.prepareCrypto();
const report = J.verifyStore(${JSON.stringify(aes)}, { key: key() });
out.after = { ok: report.ok, messages: report.messages };`,
          );
          expect(out).toMatchObject({
            before: "ErrNotImplemented",
            after: { ok: true, messages: MSGS },
          });
          expect(out.aesCalls).toBeGreaterThan(0);
          expect(listing(aes)).toEqual(before);
        }),
      30_000,
    );

    for (const mode of ["missing", "wrong"] as const)
      it(
        `opens (several at once), reads, converts and verifies stores of both ciphers through @noble/ciphers (AES ${mode})`,
        () =>
          inTempDir(adapter, async (tmp) => {
            const dirs = {
              aes: joinPath(tmp, "aes"),
              chacha: joinPath(tmp, "chacha"),
            };
            await build(dirs.aes, "aes-256-gcm");
            await build(dirs.chacha, "chacha20-poly1305");
            const fresh = [1, 2, 3].map((n) => joinPath(tmp, `new-${n}`));
            const out = await child(
              breakAes(mode),
              `
const dirs = ${JSON.stringify(dirs)};
const fresh = ${JSON.stringify(fresh)};
// Every open races the others to the first prepareCrypto of the process.
const stores = await Promise.all([
  J.FileStore.open({ dir: dirs.aes, key: key() }),
  J.FileStore.open({ dir: dirs.chacha, key: key() }),
  ...fresh.map((dir, i) => J.FileStore.open({ dir, key: key(), cipher: i % 2 ? "chacha20-poly1305" : "aes-256-gcm" })),
]);
out.read = [];
for (const store of stores.slice(0, 2)) {
  const c = store.consumer("work", { ackPolicy: "explicit" });
  const got = await c.fetch(3, { expiresMs: 0 });
  for (const m of got) c.ack(m.seq);
  out.read.push(got.map((m) => m.msg[0]));
  store.storeMsg("s.new", null, new Uint8Array([99]));
}
for (const store of stores.slice(2)) store.storeMsg("s.new", null, new Uint8Array([1]));
out.archived = 0;
for await (const chunk of stores[0].snapshot({ consumers: true })) out.archived += chunk.length;
await Promise.all(stores.map((s) => s.close()));
// The AES store to ChaCha20-Poly1305 and back: every block rewritten under the other cipher.
for (const cipher of ["chacha20-poly1305", "aes-256-gcm"]) {
  const s = await J.FileStore.open({ dir: dirs.aes, key: key(), cipher });
  s.storeMsg("s.conv", null, new Uint8Array([2]));
  await s.close();
}
out.verified = [dirs.aes, dirs.chacha, ...fresh].map((dir) => {
  const r = J.verifyStore(dir, { key: key() });
  return r.ok && r.messages;
});`,
            );
            expect(out).toMatchObject({
              read: [
                [1, 2, 3],
                [1, 2, 3],
              ],
              verified: [MSGS + 3, MSGS + 1, 1, 1, 1],
            });
            expect(out.archived).toBeGreaterThan(MSGS);
            expect(out.aesCalls).toBeGreaterThan(0);
            // This process, whose own ciphers agree with @noble/ciphers, reads what the child wrote.
            for (const dir of [dirs.aes, ...fresh]) {
              const store = await FileStore.open({
                dir,
                fs: adapter.fs,
                key: new Uint8Array(32).fill(KEY_BYTE),
              });
              expect(store.loadLastMsg(">").subject).toMatch(/^s\./);
              await store.close();
            }
          }),
        30_000,
      );

    it(
      "restores a sealed archive, into an encrypted and into a plain store, and rekeys, each first in its process",
      () =>
        inTempDir(adapter, async (tmp) => {
          const aes = joinPath(tmp, "aes");
          await build(aes, "aes-256-gcm");
          const store = await FileStore.open({
            dir: aes,
            fs: adapter.fs,
            key: new Uint8Array(32).fill(KEY_BYTE),
          });
          const chunks: Uint8Array[] = [];
          for await (const chunk of store.snapshot({ consumers: true })) chunks.push(chunk.slice());
          await store.close();
          const archive = joinPath(tmp, "archive");
          const { writeFileSync } = await import("node:fs");
          writeFileSync(archive, Buffer.concat(chunks));
          const restore = (to: string, options: string) => `
const { readFileSync } = await import("node:fs");
const bytes = new Uint8Array(readFileSync(${JSON.stringify(archive)}));
const s = await J.FileStore.restore(${JSON.stringify(to)}, [bytes], ${options});
out.msgs = s.state().msgs;
await s.close();`;
          const sealed = await child(
            breakAes("missing"),
            restore(joinPath(tmp, "sealed"), "{ key: key() }"),
          );
          const plain = await child(
            breakAes("missing"),
            restore(joinPath(tmp, "plain"), '{ key: key(), cipher: "none" }'),
          );
          const rekeyed = await child(
            breakAes("missing"),
            `
out.rekey = await code(() => J.FileStore.rekey({ dir: ${JSON.stringify(aes)}, key: key(), newKey: new Uint8Array(32).fill(8) }));`,
          );
          expect([sealed, plain, rekeyed]).toMatchObject([
            { msgs: MSGS },
            { msgs: MSGS },
            { rekey: "ok" },
          ]);
          expect(
            readFileSync(joinPath(tmp, "plain", "msgs", "1.blk")).includes(Buffer.from("s.1")),
          ).toBe(true);
          const reopened = await FileStore.open({
            dir: aes,
            fs: adapter.fs,
            key: new Uint8Array(32).fill(8),
          });
          expect(reopened.state().msgs).toBe(MSGS);
          await reopened.close();
        }),
      30_000,
    );
    it(
      "fails typed (ErrNotImplemented), writing nothing, where @noble/ciphers cannot be imported; a plain store still opens",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          const plainDir = joinPath(tmp, "plain");
          // Each runtime's own way to make the package unresolvable, loaded before the child's code.
          const hooks = joinPath(tmp, "hooks.mjs");
          writeFileSync(
            hooks,
            `export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@noble/ciphers")) throw new Error("Cannot find package " + specifier);
  return next(specifier, context);
}`,
          );
          const register = joinPath(tmp, "register.mjs");
          writeFileSync(
            register,
            `import { register } from "node:module"; register(${JSON.stringify(new URL(`file://${hooks}`).href)});`,
          );
          const plugin = joinPath(tmp, "plugin.mjs");
          writeFileSync(
            plugin,
            `Bun.plugin({ name: "no-noble", setup(build) { build.onResolve({ filter: /^@noble\\/ciphers/ }, (a) => { throw new Error("Cannot find package " + a.path); }); } });`,
          );
          const map = joinPath(tmp, "map.json");
          writeFileSync(map, JSON.stringify({ imports: { "@noble/ciphers/": "./missing/" } }));
          const out = await child(
            breakAes("missing"),
            `
out.first = await code(async () => (await J.FileStore.open({ dir: ${JSON.stringify(dir)}, key: key(), cipher: "chacha20-poly1305" })).close());
out.again = await code(async () => (await J.FileStore.open({ dir: ${JSON.stringify(dir)}, key: key(), cipher: "aes-256-gcm" })).close());
out.plain = await code(async () => (await J.FileStore.open({ dir: ${JSON.stringify(plainDir)} })).close());`,
            {
              node: ["--import", register],
              bun: ["--preload", plugin],
              deno: [`--import-map=${map}`],
            },
          );
          expect(out).toMatchObject({
            first: "ErrNotImplemented",
            again: "ErrNotImplemented",
            plain: "ok",
          });
          expect(out.aesCalls).toBeGreaterThan(0);
          expect(existsSync(dir)).toBe(false);
        }),
      30_000,
    );
  });

  describe("the jetstore command without a working AES-256-GCM of its own", () => {
    it(
      "verifies, shows, backs up and restores an AES store with its key file",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "aes");
          await build(dir, "aes-256-gcm");
          const keyFile = joinPath(tmp, "key");
          const marker = joinPath(tmp, "aes-called");
          const preload = joinPath(tmp, "break.mjs");
          writeFileSync(keyFile, new Uint8Array(32).fill(KEY_BYTE));
          // Loaded before the command; it leaves a file when the broken cipher is asked for.
          writeFileSync(preload, breakAes("missing", marker));
          const { cmd, args } = cliCommand(ctx);
          const flag = ctx.runtime === "node" ? ["--import", preload] : ["--preload", preload];
          // Deno's flags go after "run"; Node's and Bun's before the script.
          const lead =
            ctx.runtime === "deno" ? [args[0], ...flag, ...args.slice(1)] : [...flag, ...args];
          const run = (...rest: string[]) =>
            new Promise<{ code: number | null; stdout: string; stderr: string }>(
              (resolve, reject) => {
                const c = spawn(cmd, [...lead, ...rest], {
                  env: { ...process.env, NO_COLOR: "1", JETSTORE_KEY_FILE: keyFile },
                  stdio: ["ignore", "pipe", "pipe"],
                });
                let stdout = "";
                let stderr = "";
                c.stdout.on("data", (d) => {
                  stdout += d;
                });
                c.stderr.on("data", (d) => {
                  stderr += d;
                });
                c.on("error", reject);
                c.on("close", (code) => resolve({ code, stdout, stderr }));
              },
            );
          const verified = await run("verify", dir, "--json");
          expect([verified.code, verified.stderr]).toEqual([0, expect.not.stringMatching(/Err/)]);
          expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, messages: MSGS });
          expect(existsSync(marker)).toBe(true);
          const info = await run("info", dir);
          expect(info.code).toBe(0);
          expect(info.stdout).toMatch(new RegExp(`messages +${MSGS} `));
          const archive = joinPath(tmp, "backup.jss");
          const backup = await run("backup", dir, archive);
          expect([backup.code, backup.stderr]).toEqual([0, expect.not.stringMatching(/Err/)]);
          const restored = await run("restore", archive, joinPath(tmp, "restored"));
          expect([restored.code, restored.stderr]).toEqual([0, expect.not.stringMatching(/Err/)]);
          expect((await run("verify", joinPath(tmp, "restored"))).code).toBe(0);
        }),
      60_000,
    );
  });

  describe("a fresh process whose runtime loads no built-in module", () => {
    it(
      "runs a MemStore (messages, a consumer, a snapshot); FileStore fails typed, writing nothing",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          const out = await child(
            NO_BUILTINS,
            `
const m = J.MemStore.create({});
for (let i = 1; i <= 5; i++) m.storeMsg("s." + i, null, new Uint8Array([i]));
const c = m.consumer("work", { ackPolicy: "explicit" });
const got = await c.fetch(5, { expiresMs: 0 });
for (const msg of got) c.ack(msg.seq);
const chunks = [];
for await (const chunk of m.snapshot({ consumers: true })) chunks.push(chunk);
out.mem = [got.length, chunks.reduce((n, chunk) => n + chunk.length, 0) > 0];
// Under Deno the store's files go through Deno's own API, not node:fs: only the key needs a module.
out.file = await code(async () => (await J.FileStore.open({ dir: ${JSON.stringify(dir)}, key: key(), cipher: "aes-256-gcm" })).close());`,
          );
          expect(out.mem).toEqual([5, true]);
          // Bun's import.meta.require still loads what the getBuiltinModule refused.
          if (ctx.runtime !== "bun") expect(out.file).toBe("ErrNotImplemented");
          if (ctx.runtime !== "bun") expect(existsSync(dir)).toBe(false);
        }),
      30_000,
    );
  });
}
