/**
 * `verifyStore` and `npm run verify`: a good store verifies with the counts
 * `state()` reports; a damaged one names each damaged record, torn tail and
 * missing block with its file and offset, and the sequences lost with them,
 * agreeing with what opening the store reports; and not one byte of the
 * store changes either way. The CLI runs under Node against the build.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { type VerifyProgress, verifyStore } from "../../src/verify.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { Ledger } from "./durability-ledger.ts";
import { codeOf, enc, inTempDir, testClock, writeFileBytes } from "./store-helpers.ts";

const BLOCK_SIZE = 4096;

export function verifySuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  for (const adapter of ctx.adapters) {
    describe(`verifyStore on ${adapter.name}`, () => {
      it("verifies every record of a good store, agreeing with state(), changing nothing", () =>
        inTempDir(adapter, async (dir) => {
          const state = await busyStore(adapter.fs, dir);
          const before = snapshotFiles(adapter.fs, dir);
          const progress: VerifyProgress[] = [];
          const report = verifyStore(dir, { fs: adapter.fs, onProgress: (p) => progress.push(p) });
          expect(report).toMatchObject({
            ok: true,
            checkpoint: "ok",
            messages: state.msgs,
            messageBytes: state.bytes,
            firstSeq: state.firstSeq,
            lastSeq: state.lastSeq,
            highestSeq: state.lastSeq,
            damaged: [],
            lost: [],
          });
          expect(report.blocks).toBeGreaterThan(5);
          expect(report.removed).toBeGreaterThan(30);
          const last = progress.at(-1)!;
          expect(last).toStrictEqual({
            blocksDone: report.blocks,
            blocks: report.blocks,
            bytesDone: report.blockBytes,
            bytes: report.blockBytes,
          });
          expect(progress.map((p) => p.blocksDone)).toStrictEqual(
            Array.from({ length: report.blocks + 1 }, (_, i) => i),
          );
          expect(snapshotFiles(adapter.fs, dir)).toStrictEqual(before);
        }));

      it("refuses bad arguments with a typed error before reading a file, and a path holding no store", () =>
        inTempDir(adapter, async (dir) => {
          await busyStore(adapter.fs, dir);
          const before = snapshotFiles(adapter.fs, dir);
          const fs = adapter.fs;
          const verify = verifyStore as (dir: unknown, options?: unknown) => unknown;
          const key16 = new Uint8Array(16);
          const rows: Array<[string, () => unknown, string]> = [
            ["no dir", () => verify(undefined, { fs }), "ErrInvalidArgument"],
            ["dir 5", () => verify(5, { fs }), "ErrInvalidArgument"],
            ["dir empty", () => verify("", { fs }), "ErrInvalidArgument"],
            ["options null", () => verify(dir, null), "ErrInvalidArgument"],
            ["options 5", () => verify(dir, 5), "ErrInvalidArgument"],
            ["options an array", () => verify(dir, []), "ErrInvalidArgument"],
            ["unknown option", () => verify(dir, { fs, keyFile: "k" }), "ErrInvalidArgument"],
            ["fs not an adapter", () => verify(dir, { fs: {} }), "ErrInvalidArgument"],
            ["fs null", () => verify(dir, { fs: null }), "ErrInvalidArgument"],
            ["onProgress 5", () => verify(dir, { fs, onProgress: 5 }), "ErrInvalidArgument"],
            ["key a string", () => verify(dir, { fs, key: "secret" }), "ErrInvalidArgument"],
            ["key of 16 bytes", () => verify(dir, { fs, key: key16 }), "ErrInvalidArgument"],
            ["key null", () => verify(dir, { fs, key: null }), "ErrInvalidArgument"],
            ["missing dir", () => verify(joinPath(dir, "nope"), { fs }), "ErrNotFound"],
            ["a file", () => verify(blockFiles(fs, dir)[0], { fs }), "ErrNotAStore"],
            [
              "a directory without msgs/",
              () => verify(joinPath(dir, "msgs"), { fs }),
              "ErrNotAStore",
            ],
          ];
          const got = rows.map(([name, call]) => [name, codeOf(call)]);
          expect(got).toStrictEqual(rows.map(([name, , code]) => [name, code]));
          expect(snapshotFiles(adapter.fs, dir)).toStrictEqual(before);
        }));

      it("names damaged records, torn tails and the sequences lost with them, as opening the store does", () =>
        inTempDir(adapter, async (dir) => {
          const { lastSeq } = await busyStore(adapter.fs, dir);
          const blocks = blockFiles(adapter.fs, dir);
          const sealed = blocks[2];
          const victim = recordOffsets(readAll(adapter.fs, sealed)).find(
            (r) => r.seq > 0 && r.message,
          );
          if (victim === undefined) throw new Error("no message record in the third block");
          const bytes = readAll(adapter.fs, sealed);
          bytes[victim.offset + 40] ^= 0xff;
          writeFileBytes(adapter.fs, sealed, bytes);
          const lastPath = blocks.at(-1)!;
          const tail = readAll(adapter.fs, lastPath);
          const records = recordOffsets(tail);
          const cutAt = records.at(-1)!.offset + 10;
          writeFileBytes(adapter.fs, lastPath, tail.subarray(0, cutAt));

          const before = snapshotFiles(adapter.fs, dir);
          const report = verifyStore(dir, { fs: adapter.fs });
          expect(snapshotFiles(adapter.fs, dir)).toStrictEqual(before);
          const sealedName = sealed.slice(dir.length + 1);
          const lastName = lastPath.slice(dir.length + 1);
          expect(report.ok).toBe(false);
          expect(report.damaged).toStrictEqual([
            {
              block: blockNumber(sealed),
              file: sealedName,
              offset: victim.offset,
              length: victim.length,
              kind: "record",
            },
            {
              block: blockNumber(lastPath),
              file: lastName,
              offset: records.at(-1)!.offset,
              length: 10,
              kind: "torn tail",
            },
          ]);
          expect(report.lost).toStrictEqual([
            {
              first: victim.seq,
              last: victim.seq,
              block: blockNumber(sealed),
              file: sealedName,
              offset: victim.offset,
            },
            {
              first: lastSeq,
              last: lastSeq,
              block: blockNumber(lastPath),
              file: lastName,
              offset: records.at(-1)!.offset,
            },
          ]);

          // Opening the store agrees: the damaged message is lost, its neighbours are not.
          const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
          expect(store.state().lost?.msgs).toStrictEqual([victim.seq, lastSeq]);
          expect(store.loadMsg(victim.seq - 1).seq).toBe(victim.seq - 1);
          expect(store.loadMsg(victim.seq + 1).seq).toBe(victim.seq + 1);
          await store.close();
        }));

      it("reports a block the checkpoint lists but the directory lost, with its sequences", () =>
        inTempDir(adapter, async (dir) => {
          await busyStore(adapter.fs, dir);
          const gone = blockFiles(adapter.fs, dir)[3];
          const seqs = recordOffsets(readAll(adapter.fs, gone)).filter((r) => r.message);
          adapter.fs.remove(gone);
          const report = verifyStore(dir, { fs: adapter.fs });
          expect(report.ok).toBe(false);
          expect(report.damaged).toMatchObject([
            { kind: "missing block", block: blockNumber(gone) },
          ]);
          const lost = report.lost.flatMap((l) => range(l.first, l.last));
          // Every message record of the block is among the lost (removals in it are not).
          for (const r of seqs) expect(lost).toContain(r.seq);
        }));

      it("a compact cut off after unlinking the blocks it emptied is not damage, as open agrees", () =>
        inTempDir(adapter, async (dir) => {
          const { lastSeq } = await busyStore(adapter.fs, dir);
          const checkpoint = readAll(adapter.fs, joinPath(dir, "index.ckpt"));
          const blocks = blockFiles(adapter.fs, dir).length;
          const open = () =>
            FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, blockSize: BLOCK_SIZE });
          const store = await open();
          store.compact(lastSeq - 20);
          const { firstSeq, msgs } = store.state();
          await store.close();
          // Killed before its checkpoint: the tombstone and the unlinks on disk, the
          // checkpoint of before still listing the blocks the compact emptied.
          writeFileBytes(adapter.fs, joinPath(dir, "index.ckpt"), checkpoint);
          expect(blockFiles(adapter.fs, dir).length).toBeLessThan(blocks - 3);
          const report = verifyStore(dir, { fs: adapter.fs });
          const reopened = await open();
          const state = reopened.state();
          await reopened.close();
          expect(state).toMatchObject({ firstSeq, lastSeq, msgs });
          expect(state.lost).toBeUndefined();
          expect(report).toMatchObject({
            ok: true,
            damaged: [],
            lost: [],
            messages: msgs,
            firstSeq,
          });
        }));

      it("a lost block is damage when tombstones cover only what the checkpoint saw in it", () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const open = () =>
            FileStore.open({
              dir,
              fs: adapter.fs,
              syncIntervalMs: 0,
              blockSize: BLOCK_SIZE,
              now: clock.now,
            });
          const body = enc("x".repeat(100));
          let store = await open();
          for (let i = 0; i < 5; i++) store.storeMsg("a", null, body);
          await store.close();
          // The checkpoint lists the first block as the active one, holding 1 to 5.
          const checkpoint = readAll(adapter.fs, joinPath(dir, "index.ckpt"));
          store = await open();
          // The first block fills past what the checkpoint saw, rolls over, and 1 to 5 are removed.
          while (blockFiles(adapter.fs, dir).length < 3) store.storeMsg("a", null, body);
          for (let seq = 1; seq <= 5; seq++) store.removeMsg(seq);
          await store.close();
          writeFileBytes(adapter.fs, joinPath(dir, "index.ckpt"), checkpoint);
          const first = blockFiles(adapter.fs, dir)[0];
          const held = recordOffsets(readAll(adapter.fs, first)).filter((r) => r.message);
          expect(held.at(-1)!.seq).toBeGreaterThan(10);
          adapter.fs.remove(first);
          const report = verifyStore(dir, { fs: adapter.fs });
          expect(report.ok).toBe(false);
          expect(report.damaged).toMatchObject([
            { kind: "missing block", block: blockNumber(first) },
          ]);
          // What it held past the checkpoint's range and no tombstone removed: named lost.
          expect(report.lost.map((l) => [l.first, l.last])).toStrictEqual([[6, held.at(-1)!.seq]]);
        }));

      it("damage to an already-removed record is not reported lost, and verifyStore agrees", () =>
        inTempDir(adapter, async (dir) => {
          // Issue 11 item 6: a removed message cannot be lost.
          const open = () =>
            FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, blockSize: BLOCK_SIZE });
          const store = await open();
          for (let i = 1; i <= 10; i++) store.storeMsg("orders", null, enc(`payload of ${i}`));
          store.removeMsg(3);
          await store.close();
          const [block] = blockFiles(adapter.fs, dir);
          const bytes = readAll(adapter.fs, block);
          const record = recordOffsets(bytes).find((r) => r.seq === 3 && r.message)!;
          // The last payload byte: the record ends with its 8-byte checksum.
          bytes[record.offset + record.length - 9] ^= 0xff;
          writeFileBytes(adapter.fs, block, bytes);
          const report = verifyStore(dir, { fs: adapter.fs });
          const reopened = await open();
          // Every read, so the block the checkpoint vouches for is read and its damage found.
          const codes = range(1, 10).map((seq) => codeOf(() => reopened.loadMsg(seq)));
          const lost = {
            verify: report.lost.flatMap((l) => range(l.first, l.last)),
            store: reopened.state().lost?.msgs ?? [],
          };
          await reopened.close();
          expect({ lost, codes }).toStrictEqual({
            lost: { verify: [], store: [] },
            codes: range(1, 10).map((seq) => (seq === 3 ? "ErrStoreMsgNotFound" : "no error")),
          });
        }));
    });
  }

  const disk = ctx.adapters.find((a) => a.onDisk);
  if (ctx.runtime === "node" && disk !== undefined) {
    describe("npm run verify (scripts/verify.mjs)", () => {
      it(
        "prints a summary, exits 0 on a good store and 1 on a damaged one, changing nothing",
        () =>
          inTempDir(disk, async (dir) => {
            const script = new URL("../../scripts/verify.mjs", import.meta.url);
            if (!existsSync(new URL("../../dist/src/verify.js", import.meta.url))) {
              throw new Error("dist/ is missing: run `npm run build` before the Node tests");
            }
            const state = await busyStore(disk.fs, dir);
            const before = snapshotFiles(disk.fs, dir);
            const good = await run(process.execPath, [script.pathname, dir]);
            expect(good.code).toBe(0);
            expect(good.stdout).toContain(`messages    ${state.msgs.toLocaleString("en-US")} (`);
            expect(good.stdout).toMatch(/\nlost {8}none\n/);
            expect(good.stdout).toMatch(/\ntime {8}\d+\.\d\d s\n/);
            expect(good.stdout).toMatch(/\nresult {6}OK\n$/);
            // Not a terminal: plain progress lines on stderr, the last one complete.
            expect(good.stderr).toMatch(/verify: 100% (\d+)\/\1 blocks/);
            expect(snapshotFiles(disk.fs, dir)).toStrictEqual(before);

            const victim = blockFiles(disk.fs, dir)[1];
            const bytes = readAll(disk.fs, victim);
            const record = recordOffsets(bytes).find((r) => r.message)!;
            bytes[record.offset + 30] ^= 0x55;
            writeFileBytes(disk.fs, victim, bytes);
            const damaged = snapshotFiles(disk.fs, dir);
            const bad = await run(process.execPath, [script.pathname, dir]);
            expect(bad.code).toBe(1);
            expect(bad.stdout).toContain(`record: ${victim.slice(dir.length + 1)} at offset `);
            expect(bad.stdout).toContain(`seq ${record.seq}: block ${blockNumber(victim)} (`);
            expect(bad.stdout).toMatch(/\nresult {6}DAMAGED\n$/);
            const json = await run(process.execPath, [script.pathname, dir, "--json"]);
            expect(JSON.parse(json.stdout)).toMatchObject({
              ok: false,
              lost: [{ first: record.seq }],
            });
            expect(snapshotFiles(disk.fs, dir)).toStrictEqual(damaged);

            const usage = await run(process.execPath, [script.pathname]);
            expect(usage.code).toBe(2);
            const missing = await run(process.execPath, [script.pathname, joinPath(dir, "nope")]);
            expect(missing.code).toBe(2);
          }),
        30_000,
      );
    });
  }
}

/** A closed store over several blocks with removals, an erase, skips and a compact; returns its state. */
async function busyStore(fs: FileSystem, dir: string) {
  const clock = testClock();
  const ledger = new Ledger();
  const store = await FileStore.open({
    dir,
    fs,
    blockSize: BLOCK_SIZE,
    syncIntervalMs: 0,
    now: clock.now,
  });
  for (let i = 0; i < 250; i++) ledger.store(store, clock);
  for (const seq of [7, 8, 9, 100, 180]) ledger.remove(store, seq);
  ledger.remove(store, 150, true);
  ledger.skip(store);
  ledger.compact(store, 30);
  for (let i = 0; i < 20; i++) ledger.store(store, clock);
  const state = store.state();
  await store.close();
  return state;
}

function blockFiles(fs: FileSystem, dir: string): string[] {
  return fs
    .list(joinPath(dir, "msgs"))
    .filter((n) => /^\d+\.blk$/.test(n))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    .map((n) => joinPath(dir, "msgs", n));
}

function blockNumber(path: string): number {
  return Number(/(\d+)\.blk$/.exec(path)![1]);
}

/** Records of a block file, walked by their length fields (FORMAT.md): offset, length, sequence, kind. */
function recordOffsets(
  bytes: Uint8Array,
): { offset: number; length: number; seq: number; message: boolean }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { offset: number; length: number; seq: number; message: boolean }[] = [];
  for (let at = 16; at + 36 <= bytes.length; ) {
    const length = view.getUint32(at, true);
    if (length < 36 || at + length > bytes.length) break;
    const flags = bytes[at + 6];
    const seq = view.getUint32(at + 8, true) + view.getUint32(at + 12, true) * 2 ** 32;
    out.push({ offset: at, length, seq, message: (flags & 0x1c) === 0 });
    at += length;
  }
  return out;
}

function readAll(fs: FileSystem, path: string): Uint8Array {
  const size = fs.stat(path)!.size;
  const out = new Uint8Array(size);
  const handle = fs.open(path, "read");
  try {
    let done = 0;
    while (done < size) {
      const n = handle.read(out.subarray(done), done);
      if (n <= 0) break;
      done += n;
    }
  } finally {
    handle.close();
  }
  return out;
}

/** Every file under `dir` with its bytes (as a string of hex), for before/after comparison. */
function snapshotFiles(fs: FileSystem, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of fs.list(path)) {
      const full = joinPath(path, name);
      if (fs.stat(full)?.isDirectory) walk(full);
      else
        out[full] = Array.from(readAll(fs, full), (b) => b.toString(16).padStart(2, "0")).join("");
    }
  };
  walk(dir);
  return out;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
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
