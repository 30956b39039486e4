/**
 * `verifyStore` and `npm run verify -- --key-file F` on sealed stores: with
 * the key every chunk's tag is checked and a good store verifies with the
 * counts `state()` reports; a chunk that fails its tag is named with its
 * block, plaintext offset and place in the file, and the sequences lost with
 * it agree with what opening the store reports; a torn last chunk is a torn
 * tail; a store mid-conversion (plain and sealed blocks) verifies; without a
 * key, or with a wrong one, an encrypted store is refused with ErrBadKey
 * (exit 2) saying why; and not one byte changes either way.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { verifyStore } from "../../src/verify.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { settle } from "./at-rest-crash.ts";
import { hashTree, readAll, writeAll } from "./at-rest-helpers.ts";
import { Ledger } from "./durability-ledger.ts";
import { errorOf, inTempDir, testClock } from "./store-helpers.ts";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff);
const CIPHER = "chacha20-poly1305";

export function atRestVerifySuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  for (const adapter of ctx.adapters) {
    describe(`verifyStore on sealed stores (${adapter.name})`, () => {
      it("checks every chunk's tag with the key; a good store verifies as state() says, changing nothing", () =>
        inTempDir(adapter, async (dir) => {
          const state = await sealedStore(adapter.fs, dir);
          const before = hashTree(adapter.fs, dir);
          const report = verifyStore(dir, { fs: adapter.fs, key: KEY.slice() });
          expect(report).toMatchObject({
            ok: true,
            checkpoint: "ok",
            messages: state.msgs,
            messageBytes: state.bytes,
            firstSeq: state.firstSeq,
            lastSeq: state.lastSeq,
            damaged: [],
            lost: [],
          });
          expect(report.blocks).toBeGreaterThanOrEqual(3);
          expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
        }));

      it("refuses an encrypted store without a key or with a wrong one: ErrBadKey saying why, changing nothing", () =>
        inTempDir(adapter, async (dir) => {
          await sealedStore(adapter.fs, dir);
          const before = hashTree(adapter.fs, dir);
          const none = errorOf(() => verifyStore(dir, { fs: adapter.fs }));
          expect(none.code).toBe("ErrBadKey");
          expect(none.message).toMatch(/encrypted .*key is needed/);
          const wrong = errorOf(() =>
            verifyStore(dir, { fs: adapter.fs, key: KEY.map((b) => b ^ 0x80) }),
          );
          expect(wrong.code).toBe("ErrBadKey");
          expect(wrong.message).toMatch(/does not open/);
          expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
        }));

      it("names a chunk that fails its tag with block and offsets; the lost sequences agree with opening the store", () =>
        inTempDir(adapter, async (dir) => {
          await sealedStore(adapter.fs, dir);
          const path = joinPath(dir, "msgs", "1.blk");
          const bytes = readAll(adapter.fs, path);
          const chunks = chunksOf(bytes);
          // Block 1 is packed (several chunks). Its last chunk gets one flipped bit: the one
          // open reads too (the block's last checksum), so open finds the damage as verify does.
          expect(chunks.length).toBeGreaterThanOrEqual(2);
          const victim = chunks[chunks.length - 1];
          bytes[victim.fileStart + victim.fileLength - 20] ^= 0x04;
          writeAll(adapter.fs, path, bytes);
          const before = hashTree(adapter.fs, dir);
          const report = verifyStore(dir, { fs: adapter.fs, key: KEY.slice() });
          expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
          expect(report.ok).toBe(false);
          expect(report.damaged).toStrictEqual([
            {
              block: 1,
              file: "msgs/1.blk",
              offset: victim.plainStart,
              length: victim.plainLength,
              kind: "chunk",
              fileOffset: victim.fileStart,
              fileLength: victim.fileLength,
            },
          ]);
          const lost = report.lost.flatMap((l) => range(l.first, l.last));
          expect(lost.length).toBeGreaterThan(10);
          expect(report.lost.every((l) => l.block === 1 && l.file === "msgs/1.blk")).toBe(true);
          const store = await FileStore.open({
            dir,
            fs: adapter.fs,
            syncIntervalMs: 0,
            key: KEY.slice(),
          });
          expect(store.state().lost?.msgs).toStrictEqual(lost);
          await store.close();
        }));

      it("reports a torn last chunk as a torn tail, with its place in the file", () =>
        inTempDir(adapter, async (dir) => {
          await sealedStore(adapter.fs, dir);
          const names = adapter.fs.list(joinPath(dir, "msgs")).filter((n) => n.endsWith(".blk"));
          const last = Math.max(...names.map((n) => Number.parseInt(n, 10)));
          const path = joinPath(dir, "msgs", `${last}.blk`);
          const bytes = readAll(adapter.fs, path);
          const tail = chunksOf(bytes).at(-1)!;
          writeAll(adapter.fs, path, bytes.subarray(0, bytes.length - 5));
          const report = verifyStore(dir, { fs: adapter.fs, key: KEY.slice() });
          expect(report.damaged).toStrictEqual([
            {
              block: last,
              file: `msgs/${last}.blk`,
              offset: tail.plainStart,
              length: tail.plainLength,
              kind: "torn tail",
              fileOffset: tail.fileStart,
              fileLength: tail.fileLength - 5,
            },
          ]);
        }));

      it("verifies a store converted halfway (plain and sealed blocks side by side)", () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const ledger = new Ledger();
          const plain = await FileStore.open({
            dir,
            fs: adapter.fs,
            blockSize: 4096,
            syncIntervalMs: 0,
            now: clock.now,
          });
          for (let i = 0; i < 150; i++) ledger.store(plain, clock);
          await plain.close();
          const converting = await FileStore.open({
            dir,
            fs: adapter.fs,
            blockSize: 4096,
            syncIntervalMs: 0,
            now: clock.now,
            cipher: "aes-256-gcm",
            compression: "snappy",
            key: KEY.slice(),
          });
          // A few blocks converted, then closed: the rest stay plain until the next open.
          while (
            adapter.fs.list(joinPath(dir, "msgs")).filter((n) => sealedHeader(adapter.fs, dir, n))
              .length < 2
          ) {
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          const state = converting.state();
          await converting.close();
          const versions = adapter.fs
            .list(joinPath(dir, "msgs"))
            .map((n) => sealedHeader(adapter.fs, dir, n));
          expect(versions).toContain(true);
          expect(versions).toContain(false);
          const report = verifyStore(dir, { fs: adapter.fs, key: KEY.slice() });
          expect(report).toMatchObject({ ok: true, messages: state.msgs, damaged: [], lost: [] });
        }));
    });
  }

  const disk = ctx.adapters.find((a) => a.onDisk);
  if (ctx.runtime === "node" && disk !== undefined) {
    describe("npm run verify --key-file (scripts/verify.mjs)", () => {
      it(
        "takes the key as 32 raw bytes or hex, exits 0, 1 on a damaged chunk, 2 without the key or with a wrong one",
        () =>
          inTempDir(disk, async (dir) => {
            const script = new URL("../../scripts/verify.mjs", import.meta.url).pathname;
            if (!existsSync(new URL("../../dist/src/verify.js", import.meta.url))) {
              throw new Error("dist/ is missing: run `npm run build` before the Node tests");
            }
            const keys = mkdtempSync(join(tmpdir(), "jetstore-keys-"));
            try {
              const raw = join(keys, "raw.key");
              const hex = join(keys, "hex.key");
              const wrong = join(keys, "wrong.key");
              const bad = join(keys, "bad.key");
              writeFileSync(raw, KEY);
              writeFileSync(
                hex,
                `${Array.from(KEY, (b) => b.toString(16).padStart(2, "0")).join("")}\n`,
              );
              writeFileSync(
                wrong,
                KEY.map((b) => b ^ 1),
              );
              writeFileSync(bad, "not a key");
              const state = await sealedStore(disk.fs, dir);
              const before = hashTree(disk.fs, dir);
              for (const key of [raw, hex]) {
                const good = await run([script, dir, "--key-file", key]);
                expect({ key, code: good.code, err: good.stderr.includes("cannot") }).toStrictEqual(
                  {
                    key,
                    code: 0,
                    err: false,
                  },
                );
                expect(good.stdout).toContain(
                  `messages    ${state.msgs.toLocaleString("en-US")} (`,
                );
                expect(good.stdout).toMatch(/\nresult {6}OK\n$/);
              }
              const none = await run([script, dir]);
              expect(none.code).toBe(2);
              expect(none.stderr).toMatch(/encrypted .*key is needed.*--key-file/);
              const wrongRun = await run([script, `--key-file=${wrong}`, dir]);
              expect(wrongRun.code).toBe(2);
              expect(wrongRun.stderr).toContain("the key does not open this store");
              const badRun = await run([script, dir, "--key-file", bad]);
              expect(badRun.code).toBe(2);
              expect(badRun.stderr).toContain("32 raw bytes or 64 hex digits");
              expect((await run([script, dir, "--key-file"])).code).toBe(2);
              expect(hashTree(disk.fs, dir)).toStrictEqual(before);

              const path = joinPath(dir, "msgs", "2.blk");
              const bytes = readAll(disk.fs, path);
              const victim = chunksOf(bytes)[0];
              bytes[victim.fileStart + victim.fileLength - 3] ^= 0x10;
              writeAll(disk.fs, path, bytes);
              const damaged = hashTree(disk.fs, dir);
              const badChunk = await run([script, dir, "--key-file", raw]);
              expect(badChunk.code).toBe(1);
              expect(badChunk.stdout).toContain("chunk: msgs/2.blk at offset 0, ");
              expect(badChunk.stdout).toContain(`(chunk at file offset ${victim.fileStart}`);
              expect(badChunk.stdout).toMatch(/\nresult {6}DAMAGED\n$/);
              const json = await run([script, dir, "--json", "--key-file", hex]);
              expect(JSON.parse(json.stdout)).toMatchObject({
                ok: false,
                damaged: [{ block: 2, kind: "chunk", offset: 0, fileOffset: victim.fileStart }],
              });
              expect(hashTree(disk.fs, dir)).toStrictEqual(damaged);
            } finally {
              rmSync(keys, { recursive: true, force: true });
            }
          }),
        30_000,
      );
    });
  }
}

/** A closed chacha+snappy store of several 32 KiB blocks, packed (two chunks each) but the last; returns its state. */
async function sealedStore(fs: FileSystem, dir: string) {
  const clock = testClock();
  const ledger = new Ledger();
  const store = await FileStore.open({
    dir,
    fs,
    blockSize: 32 * 1024,
    syncIntervalMs: 0,
    now: clock.now,
    cipher: CIPHER,
    compression: "snappy",
    key: KEY.slice(),
  });
  for (let batch = 0; batch < 12; batch++) {
    for (let i = 0; i < 60; i++) ledger.store(store, clock);
    await store.sync();
  }
  for (const seq of [3, 4, 200, 400]) ledger.remove(store, seq);
  ledger.remove(store, 250, true);
  await settle(store);
  const state = store.state();
  await store.close();
  return state;
}

/** True when block file `name` has a sealed (version 2) header. */
function sealedHeader(fs: FileSystem, dir: string, name: string): boolean {
  if (!name.endsWith(".blk")) return false;
  const bytes = readAll(fs, joinPath(dir, "msgs", name));
  return bytes.length >= 6 && bytes[4] === 2 && bytes[5] === 0;
}

/**
 * The chunks of a sealed block file with a cipher (FORMAT.md): a 40-byte
 * header, then chunks of a 32-byte header (plaintext offset, plaintext
 * length, stored length, flags, nonce, check) and a body of the stored length.
 */
function chunksOf(
  bytes: Uint8Array,
): { plainStart: number; plainLength: number; fileStart: number; fileLength: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let at = 40; at + 32 <= bytes.length; ) {
    const stored = view.getUint32(at + 8, true);
    out.push({
      plainStart: view.getUint32(at, true),
      plainLength: view.getUint32(at + 4, true),
      fileStart: at,
      fileLength: 32 + stored,
    });
    at += 32 + stored;
  }
  return out;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
