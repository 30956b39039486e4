/**
 * The store lock as seen by a Deno program run with only --allow-read and
 * --allow-write (issue 11, item 10): Deno refuses /proc without --allow-all
 * and kill(pid, 0) without --allow-run, so it cannot tell a dead owner by its
 * pid. A killed Deno owner must still be taken over (its flock died with it),
 * a live one of any runtime must still refuse it, and a dead owner of another
 * runtime, which it cannot judge, must name the flag that would let it.
 * Also: encrypted stores in a program allowed only its directory (no
 * --allow-env), since node:crypto now loads, and the cipher is chosen, at
 * first use inside the store's calls; and the jetstore command without
 * --allow-env, whose key may come from the environment.
 * Deno children are spawned from every runtime's run (the binary is the
 * `deno` devDependency), once per run: this is about processes, not adapters.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { codeOfAsync, inTempDir } from "./store-helpers.ts";

const READ_WRITE = ["--allow-read", "--allow-write"];
const SOURCES = new URL("../../src/index.ts", import.meta.url).href;

export function denoPermissionSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  describe("store lock under Deno with only --allow-read --allow-write", () => {
    it(
      "takes over the lock of a killed Deno process, and not while it lives",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          const holder = deno(tmp, READ_WRITE, holderScript(dir));
          try {
            await untilLine(holder, "locked");
            // Alive: refused by a Deno opener with the same permissions and by this process.
            const refused = await runDeno(tmp, READ_WRITE, openerScript(dir));
            expect(refused).toMatch(/^ErrStoreLocked .*\(deno\) holds it$/m);
            expect(await codeOfAsync(() => FileStore.open({ dir, fs: adapter.fs }))).toBe(
              "ErrStoreLocked",
            );
            await kill(holder);
            expect(await runDeno(tmp, READ_WRITE, openerScript(dir))).toBe("opened 1 message\n");
          } finally {
            if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGKILL");
          }
        }),
      30_000,
    );

    it(
      `is refused by a store this ${ctx.runtime} process holds`,
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
          try {
            const out = await runDeno(tmp, READ_WRITE, openerScript(dir));
            expect(out).toMatch(new RegExp(`^ErrStoreLocked .*process ${process.pid} \\(`, "m"));
          } finally {
            await store.close();
          }
        }),
      30_000,
    );

    it(
      "names --allow-run when a dead process of another runtime holds the lock, and takes it over with it",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          await (await FileStore.open({ dir, fs: adapter.fs })).close();
          // A Node owner's record with no identity, naming a pid no process can have (above pid_max).
          const record = { pid: 2 ** 22, runtime: "node", nonce: "0123456789abcdef" };
          const identity = { host: null, boot: null, pidns: null, start: null };
          writeFileSync(joinPath(dir, "LOCK"), `${JSON.stringify({ ...record, ...identity })}\n`);
          const refused = await runDeno(tmp, READ_WRITE, openerScript(dir));
          expect(refused).toMatch(/^ErrStoreLocked .*--allow-run.*remove .*LOCK$/m);
          const allowed = [...READ_WRITE, "--allow-run"];
          expect(await runDeno(tmp, allowed, openerScript(dir))).toBe("opened 0 message\n");
        }),
      30_000,
    );
  });

  describe("the jetstore command under Deno without --allow-env", () => {
    it(
      "reads an encrypted store with --key-file, and without it refuses typed (ErrInvalidArgument), naming --allow-env and --key-file",
      () =>
        inTempDir(adapter, async (tmp) => {
          const dir = joinPath(tmp, "store");
          const key = new Uint8Array(32).fill(4);
          const store = await FileStore.open({
            dir,
            fs: adapter.fs,
            key: key.slice(),
            cipher: "aes-256-gcm",
          });
          store.storeMsg("s.1", null, new Uint8Array([1]));
          await store.close();
          const keyFile = joinPath(tmp, "key");
          writeFileSync(keyFile, key);
          const withFile = await runDenoCli(tmp, READ_WRITE, ["cat", dir, "--key-file", keyFile]);
          expect([withFile.code, withFile.stdout]).toEqual([
            0,
            expect.stringMatching(/^#1 .* s\.1 /),
          ]);
          const without = await runDenoCli(tmp, READ_WRITE, ["cat", dir]);
          expect(without.code).toBe(2);
          expect(without.stderr).toMatch(
            /^jetstore cat: ErrInvalidArgument: .*--allow-env.*--key-file/m,
          );
        }),
      30_000,
    );
  });

  describe("encrypted stores under Deno with only --allow-read --allow-write of their directory", () => {
    it(
      "makes, reads, verifies and restores encrypted stores with read and write of its directory only, without --allow-env",
      () =>
        inTempDir(adapter, async (tmp) => {
          const only = [`--allow-read=${tmp}`, `--allow-write=${tmp}`];
          const out = await runDeno(tmp, only, encryptedScript(tmp));
          expect(JSON.parse(out)).toEqual([
            ["chacha20-poly1305", true, "s.1"],
            ["aes-256-gcm", true, "s.1"],
          ]);
        }),
      30_000,
    );
  });
}

/**
 * Encrypted stores of both ciphers made, reopened, verified, snapshotted and
 * restored by a program allowed to read and write only `tmp`, and nothing
 * else (no --allow-env): loading node:crypto on first use and choosing a
 * cipher must ask for no other permission.
 */
function encryptedScript(tmp: string): string {
  return `
import * as J from ${JSON.stringify(SOURCES)};
const tmp = ${JSON.stringify(tmp)};
const key = () => new Uint8Array(32).fill(3);
const out = [];
for (const cipher of ["chacha20-poly1305", "aes-256-gcm"]) {
  const dir = tmp + "/" + cipher;
  const made = await J.FileStore.open({ dir, key: key(), cipher });
  made.storeMsg("s.1", null, new Uint8Array([1, 2, 3]));
  await made.close();
  const store = await J.FileStore.open({ dir, key: key() });
  const chunks = [];
  for await (const chunk of store.snapshot()) chunks.push(chunk.slice());
  await store.close();
  await J.prepareCrypto();
  const report = J.verifyStore(dir, { key: key() });
  const copy = await J.FileStore.restore(dir + "-copy", chunks, { key: key() });
  out.push([cipher, report.ok, copy.loadMsg(1).subject]);
  await copy.close();
}
console.log(JSON.stringify(out));`;
}

/** Opens the store, stores a message, syncs, says "locked" and waits to be killed. */
function holderScript(dir: string): string {
  return [
    `const { FileStore } = await import(${JSON.stringify(SOURCES)});`,
    `const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
    `store.storeMsg("held", null, new Uint8Array([1]));`,
    "await store.sync();",
    `console.log("locked");`,
    "setInterval(() => {}, 60000);",
  ].join("\n");
}

/** Opens the store and prints what it holds, or the error's code and message. */
function openerScript(dir: string): string {
  return [
    `const { FileStore } = await import(${JSON.stringify(SOURCES)});`,
    "try {",
    `  const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
    "  const { msgs } = store.state();",
    "  await store.close();",
    '  console.log("opened " + msgs + " message");',
    "} catch (err) {",
    '  console.log(err.code + " " + err.message);',
    "}",
  ].join("\n");
}

/** The deno binary: this one under Deno, the devDependency's elsewhere. */
function denoBinary(): string {
  const g = globalThis as { Deno?: { execPath(): string } };
  if (g.Deno !== undefined) return g.Deno.execPath();
  return fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
}

let scripts = 0;

/** Starts `deno run <flags> <script>`, the script written to a file in `tmp`. */
function deno(tmp: string, flags: string[], script: string): ChildProcess {
  const file = joinPath(tmp, `script-${++scripts}.mjs`);
  writeFileSync(file, script);
  // The repository's deno.json maps the store's npm dependencies (@noble/ciphers, snappyjs).
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  return spawn(denoBinary(), ["run", "--no-prompt", "--config", config, ...flags, file], {
    cwd: tmp,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs the jetstore command of this checkout under `deno run <flags>`; its exit code and output. */
function runDenoCli(
  tmp: string,
  flags: string[],
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
  const child = spawn(
    denoBinary(),
    ["run", "--no-prompt", "--config", config, ...flags, main, ...args],
    {
      cwd: tmp,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a Deno script to its end; resolves with its stdout, rejects with stderr if it fails. */
function runDeno(tmp: string, flags: string[], script: string): Promise<string> {
  const child = deno(tmp, flags, script);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += String(d);
    });
    child.stderr!.on("data", (d) => {
      err += String(d);
    });
    child.once("exit", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`deno exited ${code}: ${out}${err}`));
    });
  });
}

/** Resolves when `child` prints `line`; rejects with its output if it exits first. */
function untilLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += String(d);
      if (out.split("\n").includes(line)) resolve();
    });
    child.stderr!.on("data", (d) => {
      err += String(d);
    });
    child.once("exit", (code) =>
      reject(new Error(`exited ${code} before "${line}": ${out}${err}`)),
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return exited;
}
