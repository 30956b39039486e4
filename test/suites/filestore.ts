/**
 * What only FileStore can promise, beyond the store contract every engine
 * passes: durability through power cuts (acknowledged data survives
 * byte-identical, torn tails are cut and reported, removals stay removed even
 * under a stale checkpoint, sequences are never reused), cheap reopening from
 * the checkpoint, erasure that really leaves the disk, group commit and its
 * failures, the directory lock (within a process and across processes), and
 * refusing directories and files it does not understand without touching them.
 *
 * Tests that need power cuts or injected faults build their own
 * `memoryFileSystem()` (so no crash leaks into the shared fixture); tests that
 * need real processes run on the on-disk adapters only; everything else runs
 * on every adapter. Files are inspected and damaged through the adapter's own
 * `FileSystem` interface, so one body serves every adapter and runtime.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import xxhash from "xxhash-wasm";
import { type FileHandle, type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import type { JetStoreError } from "../../src/errors.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/filestore/checkpoint.ts";
import { FileStore, type FileStoreOptions } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { ExpiredMsg, StreamStore } from "../../src/types.ts";
import type { AdapterFixture, Expect, RuntimeContext, TestApi } from "../harness.ts";
import { plain as plainState, stateOf } from "./consumer-state.ts";
import {
  checkpointOfVersion,
  codeOf,
  codeOfAsync,
  enc,
  expectedSize,
  inTempDir,
  type PlainMsg,
  plain,
  readFileBytes,
  sameBytes,
  snapshot,
  type TestClock,
  testClock,
  writeFileBytes,
} from "./store-helpers.ts";

const BLOCK_SIZE = 4096;
const CHECKPOINT = "index.ckpt";
/** Offset of the u16 format version in a block header and in the checkpoint (FORMAT.md). */
const VERSION_OFFSET = 4;

export function fileStoreSuite(api: TestApi, ctx: RuntimeContext): void {
  api.describe("FileStore", () => {
    for (const adapter of ctx.adapters) {
      api.describe(`on ${adapter.name}`, () => {
        reopenTests(api, adapter);
        tornTailTests(api, adapter);
        staleCheckpointTests(api, adapter);
        compactTests(api, adapter);
        eraseTests(api, adapter);
        lockTests(api, adapter);
        closeRaceTests(api, adapter);
        badDirectoryTests(api, adapter);
        cacheTests(api, adapter);
        subjectSummaryTests(api, adapter);
        blockBoundaryTests(api, adapter);
        damagedExpiryTests(api, adapter);
        damagedQueryTests(api, adapter);
        if (adapter.onDisk) crossProcessLockTests(api, ctx, adapter);
      });
    }
    api.describe("checkpoint decoding", () => checkpointDecodingTests(api));
    api.describe("power cuts (memory adapter)", () => powerCutTests(api));
    api.describe("sync, flush and group commit (memory adapter)", () => syncTests(api));
  });
}

// ---------------------------------------------------------------- helpers

/** What the test wrote, by sequence, to compare every later read against. */
type Written = Map<number, PlainMsg>;

/** A payload unique to its sequence (tagged `<seq>`), 40 to 89 bytes, so a misplaced or torn read shows. */
function payloadOf(seq: number): Uint8Array {
  const out = new Uint8Array(40 + ((seq * 13) % 50));
  const tag = enc(`<${seq}>`);
  out.set(tag);
  for (let i = tag.length; i < out.length; i++) out[i] = (seq * 31 + i * 7) & 0xff;
  return out;
}

/** Stores `count` messages (7 subjects, headers on every third), clock at seq × 1000. */
function writeMsgs(store: FileStore, clock: TestClock, count: number, written: Written): void {
  for (let i = 0; i < count; i++) {
    const next = store.fastState().lastSeq + 1;
    clock.t = BigInt(next) * 1000n;
    const subject = `orders.${next % 7}`;
    const hdr = next % 3 === 0 ? enc(`h:${next}`) : null;
    const { seq, ts } = store.storeMsg(subject, hdr, payloadOf(next));
    written.set(seq, plain({ subject, hdr, msg: payloadOf(next), seq, ts }));
  }
}

function openStore(
  fs: FileSystem,
  dir: string,
  clock: TestClock,
  extra?: Partial<FileStoreOptions>,
): Promise<FileStore> {
  return FileStore.open({
    dir,
    fs,
    blockSize: BLOCK_SIZE,
    syncIntervalMs: 0,
    now: clock.now,
    ...extra,
  });
}

/**
 * Reads every sequence up to the last and checks that whatever comes back is
 * exactly what was written (nothing half-written, nothing misplaced) and that
 * `state()` agrees with those reads. Returns the live sequences.
 */
function expectConsistent(expect: Expect, store: FileStore, written: Written): number[] {
  const state = store.state();
  const live: number[] = [];
  let bytes = 0;
  const subjects = new Set<string>();
  for (let seq = 1; seq <= state.lastSeq; seq++) {
    let msg: PlainMsg | null = null;
    const code = codeOf(() => {
      msg = plain(store.loadMsg(seq));
    });
    if (msg === null) {
      expect(`${seq}: ${code}`).toBe(`${seq}: ErrStoreMsgNotFound`);
      continue;
    }
    const m = msg as PlainMsg;
    expect(m).toStrictEqual(written.get(seq));
    live.push(seq);
    bytes += expectedSize(m.subject, m.hdr?.length ?? 0, m.msg.length);
    subjects.add(m.subject);
  }
  const first = live[0] ?? (state.lastSeq === 0 ? 0 : state.lastSeq + 1);
  const deleted: number[] = [];
  for (let seq = first, k = 0; seq <= state.lastSeq && live.length > 0; seq++) {
    if (live[k] === seq) k++;
    else deleted.push(seq);
  }
  expect({
    msgs: state.msgs,
    bytes: state.bytes,
    firstSeq: state.firstSeq,
    numSubjects: state.numSubjects,
    numDeleted: state.numDeleted,
    deleted: state.deleted,
  }).toStrictEqual({
    msgs: live.length,
    bytes,
    firstSeq: first,
    numSubjects: subjects.size,
    numDeleted: deleted.length,
    deleted,
  });
  return live;
}

/** Every file and directory under `dir`, with file bytes, for before/after comparison. */
function tree(fs: FileSystem, dir: string): Record<string, number[] | "dir"> {
  const out: Record<string, number[] | "dir"> = {};
  const walk = (path: string, rel: string) => {
    for (const name of fs.list(path)) {
      const full = joinPath(path, name);
      const key = rel === "" ? name : `${rel}/${name}`;
      if (fs.stat(full)?.isDirectory) {
        out[key] = "dir";
        walk(full, key);
      } else {
        out[key] = Array.from(readFileBytes(fs, full) ?? []);
      }
    }
  };
  walk(dir, "");
  return out;
}

/** Block file paths in block-number order. */
function blockPaths(fs: FileSystem, dir: string): string[] {
  return fs
    .list(joinPath(dir, "msgs"))
    .filter((name) => /^\d+\.blk$/.test(name))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    .map((name) => joinPath(dir, "msgs", name));
}

function totalBlockBytes(fs: FileSystem, dir: string): number {
  return blockPaths(fs, dir).reduce((sum, p) => sum + (fs.stat(p)?.size ?? 0), 0);
}

/** Zero bytes at the end of the file at `path`. */
function trailingZeros(fs: FileSystem, path: string): number {
  const size = fs.stat(path)?.size ?? 0;
  const bytes = new Uint8Array(size);
  const handle = fs.open(path, "read");
  handle.read(bytes, 0);
  handle.close();
  let end = size;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return size - end;
}

/** Index of `needle` in `hay`, or -1. */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** How many files under `dir` contain `needle`. */
function filesContaining(fs: FileSystem, dir: string, needle: Uint8Array): string[] {
  return Object.entries(tree(fs, dir))
    .filter(([, v]) => v !== "dir" && indexOfBytes(Uint8Array.from(v), needle) >= 0)
    .map(([k]) => k);
}

export interface Counting {
  fs: FileSystem;
  /** Bytes returned by reads, and handles opened but not closed, since creation. */
  stats: { bytesRead: number; openHandles: number };
}

/** Wraps an adapter to count bytes read and handles left open. */
export function counting(inner: FileSystem): Counting {
  const stats = { bytesRead: 0, openHandles: 0 };
  const wrap = (h: FileHandle): FileHandle => {
    let closed = false;
    stats.openHandles++;
    return {
      path: h.path,
      read(buf, position) {
        const n = h.read(buf, position);
        stats.bytesRead += n;
        return n;
      },
      write: (buf, position) => h.write(buf, position),
      size: () => h.size(),
      truncate: (length) => h.truncate(length),
      sync: () => h.sync(),
      syncAsync: () => h.syncAsync(),
      close() {
        if (!closed) stats.openHandles--;
        closed = true;
        h.close();
      },
    };
  };
  const fs: FileSystem = {
    name: inner.name,
    open: (path, mode) => wrap(inner.open(path, mode)),
    stat: (path) => inner.stat(path),
    mkdir: (path) => inner.mkdir(path),
    list: (path) => inner.list(path),
    rename: (from, to) => inner.rename(from, to),
    remove: (path) => inner.remove(path),
    removeAsync: (path) => inner.removeAsync(path),
    syncDirectory: (path) => inner.syncDirectory(path),
    lock: (dir) => inner.lock(dir),
  };
  return { fs, stats };
}

/** A fresh memory filesystem with `/s` created and durable, for power-cut tests. */
function diskWithDir(): MemoryFileSystem {
  const fs = memoryFileSystem();
  fs.mkdir("/s");
  fs.syncDirectory("/");
  return fs;
}

/** Removals, an erase, skips and a compact over several blocks: a store whose rebuild is not trivial. */
async function busyStore(fs: FileSystem, dir: string, clock: TestClock): Promise<FileStore> {
  const written: Written = new Map();
  const store = await openStore(fs, dir, clock);
  writeMsgs(store, clock, 260, written);
  for (const seq of [3, 50, 51, 52, 120, 200]) store.removeMsg(seq);
  store.eraseMsg(121);
  clock.t = 999_999n;
  store.skipMsgs(261, 5);
  writeMsgs(store, clock, 20, written);
  store.compact(40);
  store.removeMsg(285);
  return store;
}

// ---------------------------------------------------------------- reopen and the checkpoint

function reopenTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("reopening", () => {
    it("trusts the checkpoint after a clean close, reading a small part of the store", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await busyStore(adapter.fs, dir, clock);
        const before = snapshot(store);
        await store.close();
        const blocks = blockPaths(adapter.fs, dir);
        expect(blocks.length).toBeGreaterThan(5);
        const total = totalBlockBytes(adapter.fs, dir);
        const lastBlock = adapter.fs.stat(blocks[blocks.length - 1])!.size;
        const ckpt = adapter.fs.stat(joinPath(dir, CHECKPOINT))!.size;
        const { fs, stats } = counting(adapter.fs);
        const reopened = await openStore(fs, dir, clock);
        // The checkpoint, a header and a last checksum per block, and the active block.
        expect(stats.bytesRead).toBeLessThanOrEqual(ckpt + 24 * blocks.length + lastBlock);
        expect(stats.bytesRead).toBeLessThan(total / 3);
        expect(snapshot(reopened)).toStrictEqual(before);
        await reopened.close();
        expect(stats.openHandles).toBe(0);
      }));

    for (const [damage, spoil] of [
      ["missing", (fs: FileSystem, path: string) => fs.remove(path)],
      [
        "damaged by a flipped bit",
        (fs: FileSystem, path: string) => {
          const bytes = readFileBytes(fs, path)!;
          bytes[bytes.length >> 1] ^= 0x10;
          writeFileBytes(fs, path, bytes);
        },
      ],
      [
        "cut short",
        (fs: FileSystem, path: string) =>
          writeFileBytes(fs, path, readFileBytes(fs, path)!.slice(0, 10)),
      ],
      ["empty", (fs: FileSystem, path: string) => writeFileBytes(fs, path, new Uint8Array(0))],
    ] as const) {
      it(`rebuilds the identical state from the blocks when the checkpoint is ${damage}`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const store = await busyStore(adapter.fs, dir, clock);
          const before = snapshot(store);
          await store.close();
          spoil(adapter.fs, joinPath(dir, CHECKPOINT));
          const total = totalBlockBytes(adapter.fs, dir);
          const { fs, stats } = counting(adapter.fs);
          const reopened = await openStore(fs, dir, clock);
          expect(stats.bytesRead).toBeGreaterThanOrEqual(total);
          expect(snapshot(reopened)).toStrictEqual(before);
          clock.t = 5_000_000n;
          expect(reopened.storeMsg("next", null, enc("n")).seq).toBe(before.state.lastSeq + 1);
          await reopened.close();
        }));
    }
  });
}

// ---------------------------------------------------------------- torn tails

/** The number n of a block file `msgs/<n>.blk`. */
function blockNumber(path: string): number {
  return Number(/(\d+)\.blk$/.exec(path)![1]);
}

function tornTailTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("torn tails", () => {
    /** 100 messages over several blocks, closed; returns what was written and the last block. */
    async function closedStore(dir: string, clock: TestClock) {
      const written: Written = new Map();
      const store = await openStore(adapter.fs, dir, clock);
      writeMsgs(store, clock, 100, written);
      await store.close();
      const blocks = blockPaths(adapter.fs, dir);
      return { written, blocks, last: blocks[blocks.length - 1] };
    }

    it("cuts garbage appended to the last block and reports its bytes, losing no message", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const { written, last } = await closedStore(dir, clock);
        const good = readFileBytes(adapter.fs, last)!;
        const garbage = new Uint8Array(37).fill(0xab);
        writeFileBytes(adapter.fs, last, Uint8Array.from([...good, ...garbage]));
        const store = await openStore(adapter.fs, dir, clock);
        expect(store.state().lost).toStrictEqual({
          msgs: [],
          bytes: 37,
          damaged: [{ block: blockNumber(last), offset: good.length, bytes: 37, msgs: [] }],
        });
        expect(expectConsistent(expect, store, written).length).toBe(100);
        expect(Array.from(readFileBytes(adapter.fs, last)!)).toStrictEqual(Array.from(good));
        expect(store.storeMsg("next", null, enc("n")).seq).toBe(101);
        await store.close();
        const again = await openStore(adapter.fs, dir, clock);
        expect(again.state().lost).toBeUndefined();
        await again.close();
      }));

    it("cuts a half-written last record, reports it lost and never reuses its sequence", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const { written, last } = await closedStore(dir, clock);
        const good = readFileBytes(adapter.fs, last)!;
        const m100 = written.get(100)!;
        const size100 = expectedSize(m100.subject, m100.hdr?.length ?? 0, m100.msg.length);
        writeFileBytes(adapter.fs, last, good.slice(0, good.length - 10));
        const store = await openStore(adapter.fs, dir, clock);
        expect(store.state().lost).toStrictEqual({
          msgs: [100],
          bytes: size100 - 10,
          damaged: [
            {
              block: blockNumber(last),
              offset: good.length - size100,
              bytes: size100 - 10,
              msgs: [100],
            },
          ],
        });
        expect(store.state()).toMatchObject({ msgs: 99, lastSeq: 100, deleted: [100] });
        written.delete(100);
        expect(expectConsistent(expect, store, written).length).toBe(99);
        expect(adapter.fs.stat(last)!.size).toBe(good.length - size100);
        expect(store.storeMsg("next", null, enc("n")).seq).toBe(101);
        await store.close();
      }));

    for (const [what, spoil] of [
      [
        "cut to its header",
        (fs: FileSystem, p: string) => writeFileBytes(fs, p, readFileBytes(fs, p)!.slice(0, 16)),
      ],
      [
        "cut inside its header",
        (fs: FileSystem, p: string) => writeFileBytes(fs, p, readFileBytes(fs, p)!.slice(0, 9)),
      ],
      ["deleted", (fs: FileSystem, p: string) => fs.remove(p)],
    ] as const) {
      it(`reports the messages of a last block ${what} as lost and never reuses their sequences`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const { written, blocks, last } = await closedStore(dir, clock);
          // The messages of the last block: those not in any earlier block file.
          const earlier = blocks.slice(0, -1).map((p) => readFileBytes(adapter.fs, p)!);
          const inLast = [...written.keys()].filter(
            (seq) => !earlier.some((bytes) => indexOfBytes(bytes, payloadOf(seq)) >= 0),
          );
          expect(inLast.length).toBeGreaterThan(5);
          expect(inLast[inLast.length - 1]).toBe(100);
          spoil(adapter.fs, last);
          const store = await openStore(adapter.fs, dir, clock);
          const state = store.state();
          expect(state.lost?.msgs).toStrictEqual(inLast);
          // Bytes are what open had to cut: a torn header; a short but valid file has nothing to cut.
          if (what === "cut inside its header") expect(state.lost?.bytes).toBe(9);
          if (what === "cut to its header") expect(state.lost?.bytes).toBe(0);
          expect(state.lastSeq).toBe(100);
          for (const seq of inLast) written.delete(seq);
          expect(expectConsistent(expect, store, written)).toStrictEqual([...written.keys()]);
          clock.t = 5_000_000n;
          expect(store.storeMsg("next", null, enc("n")).seq).toBe(101);
          await store.close();
          const again = await openStore(adapter.fs, dir, clock);
          expect(again.state()).toMatchObject({ lastSeq: 101, msgs: written.size + 1 });
          expect(again.state().lost).toBeUndefined();
          await again.close();
        }));
    }

    for (const checkpoint of ["trusted", "missing"] as const) {
      it(`loses only a damaged record in a sealed block, not its neighbours (checkpoint ${checkpoint})`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const { written, blocks } = await closedStore(dir, clock);
          if (checkpoint === "missing") adapter.fs.remove(joinPath(dir, CHECKPOINT));
          // Flip one payload byte of message 5, in the first (sealed) block.
          const first = readFileBytes(adapter.fs, blocks[0])!;
          const at = indexOfBytes(first, payloadOf(5));
          expect(at).toBeGreaterThan(0);
          first[at + 10] ^= 0xff;
          writeFileBytes(adapter.fs, blocks[0], first);
          const store = await openStore(adapter.fs, dir, clock);
          expect(["ErrCorrupt", "ErrStoreMsgNotFound"]).toContain(codeOf(() => store.loadMsg(5)));
          for (const [seq, msg] of written) {
            if (seq !== 5) expect(plain(store.loadMsg(seq))).toStrictEqual(msg);
          }
          expect(store.state().lastSeq).toBe(100);
          // Found while rebuilding from the blocks, it is reported; behind a trusted checkpoint, on read.
          if (checkpoint === "missing") expect(store.state().lost?.msgs).toStrictEqual([5]);
          await store.close();
        }));
    }

    // Trusted: found on first read, still counted (ErrCorrupt). Missing: found at open, reported lost.
    for (const [checkpoint, code] of [
      ["trusted", "ErrCorrupt"],
      ["missing", "ErrStoreMsgNotFound"],
    ] as const) {
      it(`says a message lost to damage was lost, naming the file and offset (checkpoint ${checkpoint})`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const { blocks } = await closedStore(dir, clock);
          if (checkpoint === "missing") adapter.fs.remove(joinPath(dir, CHECKPOINT));
          const first = readFileBytes(adapter.fs, blocks[0])!;
          const at = indexOfBytes(first, payloadOf(5));
          first[at + 10] ^= 0xff;
          writeFileBytes(adapter.fs, blocks[0], first);
          // The record starts before its 28-byte header and its subject "orders.5" (FORMAT.md).
          const offset = at - 28 - 8;
          const store = await openStore(adapter.fs, dir, clock);
          const message = `Message 5 was lost to damage: its record in ${blocks[0]} failed verification (damaged bytes at offset ${offset})`;
          for (const read of [() => store.loadMsg(5), () => store.subjectForSeq(5)]) {
            const err = errorAt(read);
            expect(err).toStrictEqual({ code, message, file: blocks[0], offset });
          }
          expect(store.state().lost?.damaged).toMatchObject([
            { block: blockNumber(blocks[0]), offset, msgs: [5] },
          ]);
          await store.close();
        }));
    }
  });
}

/**
 * Expiry of messages whose records damage swallowed after open (checkpoint
 * trusted, so found on first read and still counted): watched expiry
 * (`onExpire`, markers) reads each expiring message, and the age walk past
 * messages that never expire reads their timestamps.
 */
function damagedExpiryTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("expiry of messages lost to damage", () => {
    const SECOND = 1_000_000_000n;
    /** 100 messages (message `seq` with `ttlOf(seq)`) closed, message 5's payload damaged, reopened. */
    async function damagedStore(
      dir: string,
      clock: TestClock,
      options: Partial<FileStoreOptions>,
      ttlOf: (seq: number) => number | undefined,
    ): Promise<FileStore> {
      clock.t = 10n * SECOND;
      const { onExpire, ...rest } = options;
      const store = await openStore(adapter.fs, dir, clock, { allowMsgTtl: true, ...rest });
      for (let seq = 1; seq <= 100; seq++)
        store.storeMsg(`orders.${seq}`, null, payloadOf(seq), ttlOf(seq));
      await store.close();
      const first = blockPaths(adapter.fs, dir)[0];
      const bytes = readFileBytes(adapter.fs, first)!;
      bytes[indexOfBytes(bytes, payloadOf(5)) + 10] ^= 0xff;
      writeFileBytes(adapter.fs, first, bytes);
      const again = await openStore(adapter.fs, dir, clock, { allowMsgTtl: true, ...options });
      expect(codeOf(() => again.loadMsg(5))).toBe("ErrCorrupt");
      return again;
    }

    for (const watch of ["onExpire", "markers"] as const)
      for (const removedFirst of [false, true]) {
        it(`expires a lost message's TTL with ${watch}${removedFirst ? " after it was removed" : ""}, reporting nothing for it`, () =>
          inTempDir(adapter, async (dir) => {
            const clock = testClock();
            const expired: ExpiredMsg[] = [];
            const options: Partial<FileStoreOptions> =
              watch === "onExpire"
                ? { onExpire: (e) => expired.push(e) }
                : { subjectDeleteMarkerTtl: 1 };
            const store = await damagedStore(dir, clock, options, (seq) =>
              seq === 5 || seq === 7 ? 5 : undefined,
            );
            if (removedFirst) expect(store.removeMsg(5)).toBe(true);
            clock.t = 20n * SECOND;
            // The store that runs the pass stores its message and says so.
            expect(store.storeMsg("new", null, enc("n")).seq).toBe(101);
            expect(codeOf(() => store.loadMsg(5))).toBe("ErrStoreMsgNotFound");
            expect(codeOf(() => store.loadMsg(7))).toBe("ErrStoreMsgNotFound");
            if (watch === "onExpire")
              expect(expired).toStrictEqual([{ seq: 7, subject: "orders.7", reason: "ttl" }]);
            else
              expect(store.loadMsg(102)).toMatchObject({
                subject: "orders.7",
                msg: new Uint8Array(),
              });
            expect(store.state()).toMatchObject({
              msgs: watch === "onExpire" ? 99 : 100,
              lastSeq: watch === "onExpire" ? 101 : 102,
            });
            await store.close();
          }));
      }

    it("reports the right messages when maxAge expires a lost first message with onExpire and markers", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const expired: ExpiredMsg[] = [];
        const options: Partial<FileStoreOptions> = {
          maxAgeMs: 5_000,
          subjectDeleteMarkerTtl: 60,
          onExpire: (e) => expired.push(e),
        };
        const store = await damagedStore(dir, clock, options, () => undefined);
        for (let seq = 1; seq < 5; seq++) store.removeMsg(seq);
        clock.t = 20n * SECOND;
        store.storeMsg("new", null, enc("n"));
        // Every message but the lost one reported once, each subject marked once.
        const seqs = expired.map((e) => e.seq);
        expect(seqs).toStrictEqual(Array.from({ length: 95 }, (_, i) => i + 6));
        expect(expired.every((e) => e.subject === `orders.${e.seq}` && e.reason === "maxAge")).toBe(
          true,
        );
        expect(store.subjectsTotals("orders.>")).toStrictEqual(
          Object.fromEntries(seqs.map((seq) => [`orders.${seq}`, 1])),
        );
        expect(store.state().firstSeq).toBe(101);
        await store.close();
      }));

    it("steps over a lost message when maxAge walks past messages that never expire", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await damagedStore(dir, clock, { maxAgeMs: 5_000 }, (seq) =>
          seq === 1 ? -1 : undefined,
        );
        clock.t = 20n * SECOND;
        expect(store.storeMsg("new", null, enc("n")).seq).toBe(101);
        expect(store.state()).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: 101 });
        await store.close();
      }));
  });
}

/**
 * Queries past a message whose record damage swallowed after open
 * (checkpoint trusted, so found on first read and still counted):
 * getSeqFromTime's walk asks each block's largest timestamp, which reads
 * every live message's; the multi-filter reads load what the subject index
 * names. Like the scans, they step over the lost message.
 */
function damagedQueryTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("queries over a message lost to damage", () => {
    /**
     * 100 messages (message n on orders.<n % 7>, stamped n × 1000) closed,
     * messages `lost` damaged, reopened; `found`: each lost one then read, so the store knows.
     */
    async function damagedStore(dir: string, lost: number[], found = true): Promise<FileStore> {
      const clock = testClock();
      const store = await openStore(adapter.fs, dir, clock);
      writeMsgs(store, clock, 100, new Map());
      await store.close();
      for (const seq of lost) {
        for (const path of blockPaths(adapter.fs, dir)) {
          const bytes = readFileBytes(adapter.fs, path)!;
          const at = indexOfBytes(bytes, payloadOf(seq));
          if (at < 0) continue;
          bytes[at + 10] ^= 0xff;
          writeFileBytes(adapter.fs, path, bytes);
        }
      }
      const again = await openStore(adapter.fs, dir, clock);
      if (!found) return again;
      for (const seq of lost) expect(codeOf(() => again.loadMsg(seq))).toBe("ErrCorrupt");
      expect(again.state().lost?.msgs).toStrictEqual(lost);
      return again;
    }

    /** What `fn` returns, or the code of what it throws. */
    const answer = <T>(fn: () => T): T | string => {
      try {
        return fn();
      } catch (err) {
        return (err as JetStoreError).code;
      }
    };

    it("getSeqFromTime steps over a lost message, which has no time to give, as scans do", () =>
      inTempDir(adapter, async (dir) => {
        const store = await damagedStore(dir, [5]);
        const times = [0n, 4_000n, 4_001n, 5_000n, 6_000n, 50_000n, 100_001n];
        expect(times.map((ts) => answer(() => store.getSeqFromTime(ts)))).toStrictEqual([
          1, 4, 6, 6, 6, 50, 101,
        ]);
        expect(store.fastState()).toMatchObject({ msgs: 100, firstSeq: 1, firstTs: 1_000n });
        await store.close();
      }));

    it("the multi-filter reads and the filtered loadPrevMsg step over a lost message, as loadNextMsg and loadLastMsg do", () =>
      inTempDir(adapter, async (dir) => {
        // orders.5 holds 5, 12, … 89, 96: its first and its last are lost, which its counts still hold.
        const store = await damagedStore(dir, [5, 96]);
        const filters = ["orders.5", "none"];
        expect(
          [
            () => store.loadNextMsg("orders.5", false, 1),
            () => store.loadNextMsgMulti(filters, 1),
            () => store.loadLastMsg("orders.5"),
            () => store.loadPrevMsgMulti(filters, 100),
            () => store.loadPrevMsg(100, "orders.5"),
            () => store.loadPrevMsg(5, "orders.5"),
          ].map((read) => answer(() => read().seq)),
        ).toStrictEqual([12, 12, 89, 89, 89, "ErrStoreEOF"]);
        await store.close();
      }));

    it("multiLastSeqs, allLastSeqs and multiLastMsgs step over a subject's lost last message, as loadLastMsg does", () =>
      inTempDir(adapter, async (dir) => {
        // orders.5's last (96) is lost; orders.3's last (94) is not, its 87 is.
        const store = await damagedStore(dir, [87, 96]);
        const filters = ["orders.5", "orders.3"];
        expect(
          [
            () => store.loadLastMsg("orders.5").seq,
            () => store.multiLastSeqs(filters, 0, 0),
            () => store.multiLastSeqs(filters, 100, 0),
            () => store.multiLastSeqs(filters, 93, 0),
            () => store.multiLastMsgs(filters, 0, 0, 0).map((m) => m.seq),
            () => store.multiLastMsgs(filters, 90, 0, 0).map((m) => m.seq),
            () => store.allLastSeqs(),
          ].map((read: () => number | number[]) => answer(read)),
        ).toStrictEqual([
          89,
          [89, 94],
          [89, 94],
          [80, 89],
          [89, 94],
          [94],
          [89, 94, 95, 97, 98, 99, 100],
        ]);
        await store.close();
      }));

    it("multiLastMsgs steps over a last whose damage no read had found: the index named it until then", () =>
      inTempDir(adapter, async (dir) => {
        const store = await damagedStore(dir, [96], false);
        expect(store.state().lost).toBeUndefined();
        expect(store.multiLastSeqs(["orders.5"], 0, 0)).toStrictEqual([96]);
        expect(
          store.multiLastMsgs(["orders.5", "orders.3"], 0, 0, 0).map((m) => m.seq),
        ).toStrictEqual([89, 94]);
        expect(store.state().lost?.msgs).toStrictEqual([96]);
        expect(store.multiLastSeqs(["orders.5"], 0, 0)).toStrictEqual([89]);
        await store.close();
      }));
  });
}

/** Code, message and location of the JetStoreError `fn` throws. */
function errorAt(fn: () => unknown): {
  code: string;
  message: string;
  file?: string;
  offset?: number;
} {
  try {
    fn();
  } catch (err) {
    const { code, message, file, offset } = err as JetStoreError;
    return { code, message, file, offset };
  }
  return { code: "no error", message: "" };
}

// ---------------------------------------------------------------- checkpoint decoding

function checkpointDecodingTests({ it, expect }: TestApi): void {
  it("names the file and the offset in every ErrCorrupt of a damaged checkpoint", async () => {
    const file = "/s/index.ckpt";
    const valid = encodeCheckpoint({
      lastSeq: 7,
      lastTs: 7n,
      blocks: [],
      subjects: [{ subject: "a", msgs: 1, first: 7, last: 7 }],
      ttls: [],
      never: [],
    });
    const { h64Raw } = await xxhash();
    /** `body` with a checksum that matches, so decoding goes past the checksum check. */
    const sealed = (body: Uint8Array) => {
      const out = new Uint8Array(body.length + 8);
      out.set(body);
      new DataView(out.buffer).setBigUint64(body.length, h64Raw(body, 0n), true);
      return out;
    };
    const body = valid.subarray(0, valid.length - 8);
    const where = (bytes: Uint8Array) => {
      const err = errorAt(() => decodeCheckpoint(bytes, file));
      return { code: err.code, file: err.file, offset: err.offset };
    };
    expect(where(valid.subarray(0, 10))).toStrictEqual({ code: "ErrCorrupt", file, offset: 0 });
    const flipped = valid.slice();
    flipped[9] ^= 1;
    expect(where(flipped)).toStrictEqual({ code: "ErrCorrupt", file, offset: body.length });
    const magic = body.slice();
    magic[0] ^= 1;
    expect(where(sealed(magic))).toStrictEqual({ code: "ErrCorrupt", file, offset: 0 });
    const trailing = Uint8Array.from([...body, 1, 2, 3]);
    expect(where(sealed(trailing))).toStrictEqual({
      code: "ErrCorrupt",
      file,
      offset: body.length,
    });
    const short = body.subarray(0, body.length - 3);
    expect(where(sealed(short))).toMatchObject({ code: "ErrCorrupt", file });
    expect(where(sealed(short)).offset).toBeGreaterThan(0);
  });
}

// ---------------------------------------------------------------- stale checkpoints

function staleCheckpointTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("a stale checkpoint", () => {
    const cases: [string, (store: FileStore) => void][] = [
      [
        "interior removals, an erase and the last message removed",
        (s) => {
          for (const seq of [3, 50, 77]) s.removeMsg(seq);
          s.eraseMsg(90);
          s.removeMsg(120);
        },
      ],
      [
        "every message of the first blocks removed one by one",
        (s) => {
          for (let seq = 1; seq <= 80; seq++) s.removeMsg(seq);
        },
      ],
      ["a purge", (s) => s.purge()],
      ["a compact", (s) => s.compact(90)],
    ];
    for (const [name, act] of cases) {
      it(`brings no removed message back after ${name}`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const written: Written = new Map();
          const store = await openStore(adapter.fs, dir, clock);
          writeMsgs(store, clock, 120, written);
          await store.flush();
          const old = readFileBytes(adapter.fs, joinPath(dir, CHECKPOINT))!;
          act(store);
          await store.sync();
          const before = snapshot(store);
          await store.close();
          writeFileBytes(adapter.fs, joinPath(dir, CHECKPOINT), old);
          const reopened = await openStore(adapter.fs, dir, clock);
          expect(snapshot(reopened)).toStrictEqual(before);
          expectConsistent(expect, reopened, written);
          expect(reopened.storeMsg("next", null, enc("n")).seq).toBe(121);
          await reopened.close();
        }));
    }
  });
}

// ---------------------------------------------------------------- compact

function compactTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("compact", () => {
    it("compact(6) past a tombstone-only sealed block leaves what MemStore leaves, also after reopen with and without the checkpoint", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        // Issue 11 item 3. With 4 KiB blocks: 1–3 on a | 4 (5000 B) | 2's tombstone alone | 5 (5000 B) | 6.
        const script = (store: StreamStore) => {
          for (let i = 1; i <= 3; i++) store.storeMsg("a", null, enc(`a${i}`));
          store.storeMsg("b", null, new Uint8Array(5000).fill(4));
          store.removeMsg(2);
          store.storeMsg("b", null, new Uint8Array(5000).fill(5));
          store.storeMsg("c", null, enc("c6"));
          return store.compact(6);
        };
        // Payloads as length and sum, so a failure prints a readable diff.
        const brief = (store: StreamStore) => {
          const snap = snapshot(store);
          const msgs = snap.msgs.map((m) => ({
            ...m,
            msg: `${m.msg.length} B, sum ${m.msg.reduce((a, b) => a + b, 0)}`,
          }));
          return { ...snap, msgs };
        };
        const mem = MemStore.create({ now: clock.now });
        const memCompacted = script(mem);
        const want = brief(mem);
        const store = await openStore(adapter.fs, dir, clock);
        expect({ compacted: script(store), ...brief(store) }).toStrictEqual({
          compacted: memCompacted,
          ...want,
        });
        await store.close();
        const reopened = await openStore(adapter.fs, dir, clock);
        expect(brief(reopened)).toStrictEqual(want);
        await reopened.close();
        adapter.fs.remove(joinPath(dir, CHECKPOINT));
        const rebuilt = await openStore(adapter.fs, dir, clock);
        expect(brief(rebuilt)).toStrictEqual(want);
        await rebuilt.close();
      }));
  });
}

// ---------------------------------------------------------------- erase

/** 64 bytes no other message carries. */
const MARKER = enc("<<ERASE-ME-0123456789>>".repeat(3).slice(0, 64));
const HDR_MARKER = enc("X-Secret: <<header-to-erase>>");

function eraseTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("eraseMsg", () => {
    for (const [where, durable] of [
      ["a sealed, flushed block", "flush"],
      ["a sealed, flushed block", "sync"],
      ["the unwritten tail of the active block", "flush"],
    ] as const) {
      it(`leaves no trace of the payload or headers on disk after ${durable}() when the message is in ${where}`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const written: Written = new Map();
          const store = await openStore(adapter.fs, dir, clock);
          writeMsgs(store, clock, where.startsWith("a sealed") ? 10 : 120, written);
          clock.t = 77_777n;
          const { seq, ts } = store.storeMsg("secret", HDR_MARKER, MARKER);
          writeMsgs(store, clock, where.startsWith("a sealed") ? 120 : 1, written);
          if (where.startsWith("a sealed")) {
            await store.flush();
            expect(filesContaining(adapter.fs, dir, MARKER)).toStrictEqual(["msgs/1.blk"]);
          } else {
            expect(filesContaining(adapter.fs, dir, MARKER)).toStrictEqual([]);
          }
          expect(plain(store.loadMsg(seq))).toStrictEqual(
            plain({ subject: "secret", hdr: HDR_MARKER, msg: MARKER, seq, ts }),
          );
          expect(store.eraseMsg(seq)).toBe(true);
          expect(codeOf(() => store.loadMsg(seq))).toBe("ErrStoreMsgNotFound");
          expect(store.eraseMsg(seq)).toBe(false);
          await store[durable]();
          expect(filesContaining(adapter.fs, dir, MARKER)).toStrictEqual([]);
          expect(filesContaining(adapter.fs, dir, HDR_MARKER)).toStrictEqual([]);
          expect(plain(store.loadMsg(seq - 1))).toStrictEqual(written.get(seq - 1));
          expect(plain(store.loadMsg(seq + 1))).toStrictEqual(written.get(seq + 1));
          expectConsistent(expect, store, written);
          await store.close();
          expect(filesContaining(adapter.fs, dir, MARKER)).toStrictEqual([]);
          const reopened = await openStore(adapter.fs, dir, clock);
          expect(codeOf(() => reopened.loadMsg(seq))).toBe("ErrStoreMsgNotFound");
          expect(reopened.state().deleted).toStrictEqual([seq]);
          expectConsistent(expect, reopened, written);
          await reopened.close();
        }));
    }
  });
}

// ---------------------------------------------------------------- lock

function lockTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("lock", () => {
    it("deletes the store's directory under its lock, leaving nothing beside it, and the path opens fresh", () =>
      inTempDir(adapter, async (parent) => {
        const dir = joinPath(parent, "store");
        const clock = testClock();
        const store = await openStore(adapter.fs, dir, clock);
        writeMsgs(store, clock, 30, new Map());
        await store.sync();
        await store.delete();
        expect(adapter.fs.list(parent)).toStrictEqual([]);
        const fresh = await openStore(adapter.fs, dir, clock);
        expect(fresh.fastState()).toMatchObject({ msgs: 0, lastSeq: 0 });
        await fresh.close();
      }));

    it("refuses a second open of the same directory in this process, leaving the first working", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const written: Written = new Map();
        const first = await openStore(adapter.fs, dir, clock);
        writeMsgs(first, clock, 5, written);
        await first.sync();
        const files = tree(adapter.fs, dir);
        for (const spelling of [dir, `${dir}/`, `${dir}/msgs/..`]) {
          expect(await codeOfAsync(() => openStore(adapter.fs, spelling, clock))).toBe(
            "ErrStoreLocked",
          );
        }
        expect(tree(adapter.fs, dir)).toStrictEqual(files);
        writeMsgs(first, clock, 50, written);
        await first.flush();
        expectConsistent(expect, first, written);
        await first.close();
        const second = await openStore(adapter.fs, dir, clock);
        expect(expectConsistent(expect, second, written).length).toBe(55);
        await second.close();
      }));
  });
}

/** `fs` with every asynchronous fsync started at once but settling only once released, while held. */
function heldSyncs(fs: FileSystem): { fs: FileSystem; hold(): void; release(): void } {
  let held = false;
  const waiting: Array<() => void> = [];
  const release = () => {
    held = false;
    for (const wake of waiting.splice(0)) wake();
  };
  const wrapHandle = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, key) {
        if (key === "syncAsync") {
          return async () => {
            const done = target.syncAsync();
            if (held) await new Promise<void>((wake) => waiting.push(wake));
            return done;
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const wrapped = new Proxy(fs, {
    get(target, key) {
      if (key === "open") {
        return (...args: Parameters<FileSystem["open"]>) => wrapHandle(target.open(...args));
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    fs: wrapped,
    hold: () => {
      held = true;
    },
    release,
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function closeRaceTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("close and delete racing other calls", () => {
    it("never acknowledges a write let in after close() began", () =>
      inTempDir(adapter, async (parent) => {
        // A sync() queued behind close()'s round resolves with it; code that stored and
        // synced again from there, a few turns later, was told its write was durable
        // while the close had already written its last checkpoint and freed the buffer.
        for (let turns = 0; turns < 8; turns++) {
          const dir = joinPath(parent, `s${turns}`);
          const clock = testClock();
          const store = await openStore(adapter.fs, dir, clock);
          store.storeMsg("a", null, enc("first"));
          const first = store.sync();
          const closing = store.close();
          const again = async (): Promise<number> => {
            for (let i = 0; i < turns; i++) await null;
            let seq: number;
            try {
              seq = store.storeMsg("late", null, enc("acknowledged?")).seq;
            } catch (err) {
              expect((err as JetStoreError).code).toBe("ErrStoreClosed");
              return 0;
            }
            return store.sync().then(
              () => seq,
              () => 0,
            );
          };
          const acknowledged = store.sync().then(again, again);
          await first;
          await closing;
          const seq = await acknowledged;
          const reopened = await openStore(adapter.fs, dir, clock);
          if (seq > 0) expect(reopened.loadMsg(seq).subject).toBe("late");
          expect(reopened.loadMsg(1).subject).toBe("a");
          await reopened.close();
        }
      }));

    it("settles concurrent close() calls as one; a delete() during a delete is refused, a close() waits it out", () =>
      inTempDir(adapter, async (parent) => {
        const dir = joinPath(parent, "s");
        const clock = testClock();
        const written: Written = new Map();
        const store = await openStore(adapter.fs, dir, clock);
        writeMsgs(store, clock, 20, written);
        await Promise.all([store.close(), store.close()]);
        await store.close();
        const again = await openStore(adapter.fs, dir, clock);
        expect(expectConsistent(expect, again, written).length).toBe(20);
        const deleting = again.delete();
        // A second delete would remove the directory again, after the first let its lock go.
        expect(await codeOfAsync(() => again.delete())).toBe("ErrStoreClosed");
        await again.close();
        expect(adapter.fs.stat(dir)).toBeNull();
        await deleting;
        expect(adapter.fs.list(parent)).toStrictEqual([]);
      }));

    it("lets a delete() take over a close() that waits for its consumer stores: both settle, the close as on a closed store", () =>
      inTempDir(adapter, async (parent) => {
        const dir = joinPath(parent, "s");
        const clock = testClock();
        const held = heldSyncs(adapter.fs);
        const store = await openStore(held.fs, dir, clock, { maxMsgs: 5 });
        const cs = store.consumerStore("c", { ackPolicy: "explicit" });
        cs.updateDelivered(1, 1, 1, clock.now());
        held.hold();
        cs.sync().catch(() => {});
        // Limit removals pending: the close's round has a tombstone to write.
        for (let i = 0; i < 100; i++) store.storeMsg("a", null, enc("x".repeat(100)));
        const closing = store.close().then(
          () => "done",
          (err: unknown) => (err as JetStoreError).code,
        );
        const deleting = store.delete();
        await pause(20);
        held.release();
        await deleting;
        // Not the removed directory's ErrNotFound, from a round run after the delete.
        expect(await closing).toBe("done");
        expect(adapter.fs.list(parent)).toStrictEqual([]);
      }));

    for (const streamEnd of ["delete", "close"] as const) {
      for (const consumerEnd of [
        "consumer store delete",
        "consumer store stop",
        "consumer delete",
      ]) {
        it(`finishes a ${consumerEnd} in flight before the stream's ${streamEnd} lets the directory go`, () =>
          inTempDir(adapter, async (parent) => {
            const dir = joinPath(parent, "s");
            const clock = testClock();
            const held = heldSyncs(adapter.fs);
            const store = await openStore(held.fs, dir, clock);
            store.storeMsg("a", null, enc("x"));
            await store.sync();
            let ending: Promise<void>;
            if (consumerEnd === "consumer delete") {
              const consumer = store.consumer("c", {});
              await consumer.fetch(1);
              held.hold();
              ending = consumer.delete();
            } else {
              const cs = store.consumerStore("c", { ackPolicy: "explicit" });
              cs.updateDelivered(1, 1, 1, clock.now());
              held.hold();
              if (consumerEnd === "consumer store delete") {
                ending = cs.delete();
              } else {
                // A round in flight, then one owing a snapshot: the stop's round writes files by path.
                cs.sync().catch(() => {});
                cs.forceUpdate(stateOf([3, 3], [3, 3]));
                ending = cs.stop();
              }
            }
            const ended = store[streamEnd]();
            const streamDone = await Promise.race([
              ended.then(() => true),
              pause(30).then(() => false),
            ]);
            if (!streamDone) {
              // Still the stream's: it waits for its consumer's files to settle.
              expect(await codeOfAsync(() => openStore(adapter.fs, dir, clock))).toBe(
                "ErrStoreLocked",
              );
              held.release();
              await ended;
            }
            // The next owner of the path writes a consumer of the same name.
            const next = await openStore(adapter.fs, dir, clock);
            const mine = next.consumerStore("c", { ackPolicy: "explicit" });
            const state = stateOf([7, 7], [5, 5], [[6, 6, 2_000_000_000n]]);
            mine.forceUpdate(state);
            await mine.sync();
            held.release();
            await ending;
            await mine.stop();
            await next.close();
            const reopened = await openStore(adapter.fs, dir, clock);
            const kept = reopened.consumerStore("c", { ackPolicy: "explicit" });
            expect(plainState(kept.state())).toStrictEqual(plainState(state));
            await kept.stop();
            await reopened.close();
          }));
      }
    }
  });
}

/** The command that runs `script` (ES module source) in a child of this runtime. */
export function childCommand(ctx: RuntimeContext): {
  cmd: string;
  args: (script: string) => string[];
} {
  const g = globalThis as { Deno?: { execPath(): string } };
  if (ctx.runtime === "deno") return { cmd: g.Deno!.execPath(), args: (s) => ["eval", s] };
  if (ctx.runtime === "bun") return { cmd: process.execPath, args: (s) => ["-e", s] };
  return { cmd: process.execPath, args: (s) => ["--input-type=module", "-e", s] };
}

/** The module a child imports FileStore from: TypeScript for Bun and Deno, the build for Node. */
export function childEntry(ctx: RuntimeContext): string {
  const rel = ctx.runtime === "node" ? "../../dist/src/index.js" : "../../src/index.ts";
  return new URL(rel, import.meta.url).href;
}

function crossProcessLockTests(
  { describe, it, expect }: TestApi,
  ctx: RuntimeContext,
  adapter: AdapterFixture,
): void {
  describe("lock across processes", () => {
    it(
      "refuses the store while another process holds it and takes it over once that one is killed",
      () =>
        inTempDir(adapter, async (dir) => {
          const entry = childEntry(ctx);
          if (!existsSync(new URL(entry))) {
            throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
          }
          const script = [
            `const { FileStore } = await import(${JSON.stringify(entry)});`,
            `const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
            `store.storeMsg("child", null, new Uint8Array([1, 2, 3]));`,
            "await store.sync();",
            `console.log("locked");`,
            "setInterval(() => {}, 60000);",
          ].join("\n");
          const { cmd, args } = childCommand(ctx);
          const child = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
          try {
            await waitForLine(child, "locked", 4000);
            const clock = testClock();
            expect(await codeOfAsync(() => openStore(adapter.fs, dir, clock))).toBe(
              "ErrStoreLocked",
            );
            const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
            child.kill("SIGKILL");
            await exited;
            const store = await openStore(adapter.fs, dir, clock);
            expect(store.state()).toMatchObject({ msgs: 1, lastSeq: 1 });
            expect(plain(store.loadMsg(1))).toMatchObject({ subject: "child", msg: [1, 2, 3] });
            await store.close();
            expect(adapter.fs.list(dir)).toStrictEqual([CHECKPOINT, "msgs"]);
          } finally {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          }
        }),
      15_000,
    );
  });
}

/** Resolves when `child` prints `line`; rejects with its output if it exits or `ms` pass first. */
function waitForLine(child: ChildProcess, line: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`child did not print ${line} within ${ms} ms: ${out} ${err}`)),
      ms,
    );
    child.stdout!.on("data", (d) => {
      out += String(d);
      if (out.split("\n").includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on("data", (d) => {
      err += String(d);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before printing ${line}: ${out} ${err}`));
    });
  });
}

// ---------------------------------------------------------------- bad directories

function badDirectoryTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("directories it does not understand", () => {
    /** Opens `path`, expects `code`, and checks `dir` is byte-for-byte as before and no handle leaked. */
    async function refuses(dir: string, path: string, code: string): Promise<void> {
      const before = tree(adapter.fs, dir);
      const { fs, stats } = counting(adapter.fs);
      expect(await codeOfAsync(() => openStore(fs, path, testClock()))).toBe(code);
      expect(tree(adapter.fs, dir)).toStrictEqual(before);
      expect(stats.openHandles).toBe(0);
    }

    it("refuses a path that is a file", () =>
      inTempDir(adapter, async (dir) => {
        writeFileBytes(adapter.fs, joinPath(dir, "f"), enc("not a directory"));
        await refuses(dir, joinPath(dir, "f"), "ErrNotAStore");
      }));

    it("refuses a directory holding unrelated files", () =>
      inTempDir(adapter, async (dir) => {
        writeFileBytes(adapter.fs, joinPath(dir, "notes.txt"), enc("my notes"));
        adapter.fs.mkdir(joinPath(dir, "photos"));
        await refuses(dir, dir, "ErrNotAStore");
      }));

    it("refuses a msgs directory holding files that are not blocks", () =>
      inTempDir(adapter, async (dir) => {
        adapter.fs.mkdir(joinPath(dir, "msgs"));
        writeFileBytes(adapter.fs, joinPath(dir, "msgs", "inbox.txt"), enc("dear diary"));
        await refuses(dir, dir, "ErrNotAStore");
      }));

    it("refuses a block of a newer format version wherever it is, changing nothing", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await busyStore(adapter.fs, dir, clock);
        const before = snapshot(store);
        await store.close();
        const blocks = blockPaths(adapter.fs, dir);
        const ckpt = readFileBytes(adapter.fs, joinPath(dir, CHECKPOINT))!;
        adapter.fs.remove(joinPath(dir, CHECKPOINT));
        for (const path of [blocks[0], blocks[blocks.length >> 1], blocks[blocks.length - 1]]) {
          const saved = readFileBytes(adapter.fs, path)!;
          const patched = saved.slice();
          patched[VERSION_OFFSET] = 3;
          writeFileBytes(adapter.fs, path, patched);
          await refuses(dir, dir, "ErrUnsupportedFormat");
          writeFileBytes(adapter.fs, path, saved);
        }
        writeFileBytes(adapter.fs, joinPath(dir, CHECKPOINT), ckpt);
        const reopened = await openStore(adapter.fs, dir, clock);
        expect(snapshot(reopened)).toStrictEqual(before);
        await reopened.close();
      }));

    it("writes a version 1 checkpoint while no message has a TTL, version 2 once one has", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await openStore(adapter.fs, dir, clock, { allowMsgTtl: true });
        store.storeMsg("a", null, enc("x"));
        await store.flush();
        expect(readFileBytes(adapter.fs, joinPath(dir, CHECKPOINT))![VERSION_OFFSET]).toBe(1);
        store.storeMsg("a", null, enc("y"), 60);
        await store.close();
        expect(readFileBytes(adapter.fs, joinPath(dir, CHECKPOINT))![VERSION_OFFSET]).toBe(2);
      }));

    it("takes a newer version in the header of a block the checkpoint vouches for as a damaged header", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await busyStore(adapter.fs, dir, clock);
        const before = snapshot(store);
        await store.close();
        const blocks = blockPaths(adapter.fs, dir);
        for (const path of [blocks[0], blocks[blocks.length >> 1], blocks[blocks.length - 1]]) {
          const saved = readFileBytes(adapter.fs, path)!;
          const ckpt = readFileBytes(adapter.fs, joinPath(dir, CHECKPOINT))!;
          const patched = saved.slice();
          patched[VERSION_OFFSET] ^= 0x02; // a flipped bit: version 3
          writeFileBytes(adapter.fs, path, patched);
          const reopened = await openStore(adapter.fs, dir, clock);
          // Read first: a plain store checks the header of a block the checkpoint vouches for
          // at its first use (vouched-blocks.ts), not at open.
          const msgs = snapshot(reopened).msgs;
          const { lost, ...state } = reopened.state();
          expect({ state, msgs }).toStrictEqual({
            state: before.state,
            msgs: before.msgs,
          });
          expect(lost).toStrictEqual({
            msgs: [],
            bytes: 16,
            damaged: [{ block: blockNumber(path), offset: 0, bytes: 16, msgs: [] }],
          });
          await reopened.close();
          writeFileBytes(adapter.fs, path, saved);
          writeFileBytes(adapter.fs, joinPath(dir, CHECKPOINT), ckpt);
        }
      }));

    it("refuses a checkpoint of a newer format version, changing nothing", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await busyStore(adapter.fs, dir, clock);
        await store.close();
        const path = joinPath(dir, CHECKPOINT);
        writeFileBytes(
          adapter.fs,
          path,
          await checkpointOfVersion(readFileBytes(adapter.fs, path)!, 3),
        );
        await refuses(dir, dir, "ErrUnsupportedFormat");
      }));

    it("takes a checkpoint whose version field is damaged for damage, not a newer format", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await busyStore(adapter.fs, dir, clock);
        const before = snapshot(store);
        await store.close();
        const path = joinPath(dir, CHECKPOINT);
        const ckpt = readFileBytes(adapter.fs, path)!;
        ckpt[VERSION_OFFSET] ^= 0x02; // the checksum no longer matches
        writeFileBytes(adapter.fs, path, ckpt);
        const reopened = await openStore(adapter.fs, dir, clock);
        expect(snapshot(reopened)).toStrictEqual(before);
        await reopened.close();
      }));
  });
}

// ---------------------------------------------------------------- cache

function cacheTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("block cache", () => {
    for (const cacheBytes of [0, 5000]) {
      it(`reads every message correctly with cacheBytes ${cacheBytes}`, () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const written: Written = new Map();
          const store = await openStore(adapter.fs, dir, clock, { cacheBytes });
          writeMsgs(store, clock, 300, written);
          store.removeMsg(150);
          written.delete(150);
          expectConsistent(expect, store, written);
          await store.close();
          expect(blockPaths(adapter.fs, dir).length).toBeGreaterThan(6);
          const reopened = await openStore(adapter.fs, dir, clock, { cacheBytes });
          // Forwards, backwards, and jumping between blocks.
          const seqs = [...written.keys()];
          const order = [
            ...seqs,
            ...seqs.slice().reverse(),
            ...seqs.map((_, i) => seqs[(i * 97) % seqs.length]),
          ];
          for (const seq of order) {
            expect(plain(reopened.loadMsg(seq))).toStrictEqual(written.get(seq));
          }
          expectConsistent(expect, reopened, written);
          await reopened.close();
        }));
    }

    it("a scan's messages are the caller's: changing one, erasing or evicting changes no other", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const written: Written = new Map();
        const store = await openStore(adapter.fs, dir, clock, { cacheBytes: 3 * BLOCK_SIZE });
        writeMsgs(store, clock, 300, written);
        await store.close();
        const reopened = await openStore(adapter.fs, dir, clock, { cacheBytes: 3 * BLOCK_SIZE });
        const scan = () => {
          const msgs = [];
          for (let seq = 1; seq <= 300; seq = msgs[msgs.length - 1].seq + 1) {
            msgs.push(reopened.loadNextMsg(">", true, seq));
          }
          return msgs;
        };
        const first = scan();
        for (const msg of first) msg.msg.fill(0xee);
        // The same message read twice in a row: two copies.
        const again = reopened.loadNextMsg(">", true, 7);
        reopened.loadNextMsg(">", true, 7).msg.fill(0xdd);
        expect(plain(again)).toStrictEqual(written.get(7));
        reopened.eraseMsg(100);
        written.delete(100);
        const second = scan();
        expect(second.map((m) => m.seq)).toStrictEqual([...written.keys()]);
        for (const msg of second) {
          if (!sameBytes(msg.msg, payloadOf(msg.seq)))
            expect(plain(msg)).toStrictEqual(written.get(msg.seq));
        }
        // A caller may transfer a message's buffer away; later reads are unaffected.
        const buffer = second[5].msg.buffer as ArrayBuffer;
        structuredClone(buffer, { transfer: [buffer] });
        expect(plain(reopened.loadNextMsg(">", true, 7))).toStrictEqual(written.get(7));
        expect(scan().length).toBe(299);
        await reopened.close();
      }));

    it("a block damaged on disk after it was indexed and evicted is verified again when read back", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const written: Written = new Map();
        const store = await openStore(adapter.fs, dir, clock, { cacheBytes: BLOCK_SIZE + 512 });
        writeMsgs(store, clock, 200, written);
        await store.close();
        const reopened = await openStore(adapter.fs, dir, clock, { cacheBytes: BLOCK_SIZE + 512 });
        // Scanning the first block indexes (and verifies) it; reading a later sealed block evicts it.
        expect(blockPaths(adapter.fs, dir).length).toBeGreaterThan(3);
        expect(plain(reopened.loadNextMsg(">", true, 1))).toStrictEqual(written.get(1));
        expect(plain(reopened.loadMsg(100))).toStrictEqual(written.get(100));
        const first = blockPaths(adapter.fs, dir)[0];
        const bytes = readFileBytes(adapter.fs, first) as Uint8Array;
        const tag = enc("<2>");
        const at = bytes.findIndex((_, i) => tag.every((b, j) => bytes[i + j] === b));
        expect(at).toBeGreaterThan(0);
        bytes[at + tag.length] ^= 0x01;
        writeFileBytes(adapter.fs, first, bytes);
        // Read one record at a time from the file (the block would not fit the cache)...
        expect(codeOf(() => reopened.loadNextMsg(">", true, 2))).toBe("ErrCorrupt");
        expect(codeOf(() => reopened.loadMsg(2))).toBe("ErrCorrupt");
        // ... and once a filtered scan has read the whole block back into the cache.
        reopened.loadNextMsg("orders.2", false, 1);
        expect(codeOf(() => reopened.loadMsg(2))).toBe("ErrCorrupt");
        expect(plain(reopened.loadMsg(3))).toStrictEqual(written.get(3));
        await reopened.close();
      }));
  });
}

// ---------------------------------------------------------------- block boundaries

function subjectSummaryTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("per-block subject summaries", () => {
    it("finds matches across blocks of disjoint subjects, before and after their summaries exist", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await openStore(adapter.fs, dir, clock, { cacheBytes: 0 });
        const payload = new Uint8Array(200);
        for (let i = 0; i < 120; i++) store.storeMsg(i < 100 ? "old.a" : "new.b", null, payload);
        expect(blockPaths(adapter.fs, dir).length).toBeGreaterThan(4);
        for (let round = 0; round < 2; round++) {
          expect(store.loadNextMsg("new.*", true, 1).seq).toBe(101);
          expect(store.loadNextMsg("new.b", false, 105).seq).toBe(105);
          expect(store.loadNextMsg("old.*", true, 37).seq).toBe(37);
          expect(codeOf(() => store.loadNextMsg("old.*", true, 101))).toBe("ErrStoreEOF");
        }
        // A new subject in an old block's place: the active block's summary grows with it.
        store.storeMsg("old.c", null, payload);
        expect(store.loadNextMsg("old.*", true, 101).seq).toBe(121);
        await store.close();
      }));
  });
}

function blockBoundaryTests({ describe, it, expect }: TestApi, adapter: AdapterFixture): void {
  describe("block boundaries", () => {
    // A block's offset index takes 4 bytes per sequence it spans: short skips must not
    // stretch one block over billions of sequences (one 2^20-sequence span per block).
    it("starts a new block once short skips would stretch one past 2^20 sequences", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const store = await openStore(adapter.fs, dir, clock, { blockSize: 1 << 20 });
        store.storeMsg("a", null, enc("first"));
        for (let i = 0; i < 600; i++) store.skipMsgs(store.fastState().lastSeq + 1, 4096);
        const last = store.storeMsg("a", null, enc("last")).seq;
        expect(last).toBe(2 + 600 * 4096);
        await store.flush();
        expect(blockPaths(adapter.fs, dir).length).toBe(3);
        const before = store.fastState();
        await store.close();
        const reopened = await openStore(adapter.fs, dir, clock, { blockSize: 1 << 20 });
        expect(reopened.fastState()).toStrictEqual(before);
        expect(before).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: last });
        expect(reopened.loadNextMsg("", false, 2).seq).toBe(last);
        expect(plain(reopened.loadMsg(last)).msg).toStrictEqual(Array.from(enc("last")));
        await reopened.close();
      }));

    it("truncates into a sealed block when the newest block holds only tombstones", () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const written: Written = new Map();
        const store = await openStore(adapter.fs, dir, clock);
        // Three 1.3 KB messages fill a block.
        for (let i = 1; i <= 30; i++) {
          clock.t = BigInt(i) * 1000n;
          const msg = new Uint8Array(1300).fill(i);
          const { seq, ts } = store.storeMsg("big", null, msg);
          written.set(seq, plain({ subject: "big", hdr: null, msg, seq, ts }));
        }
        await store.flush();
        // Remove from the end until a tombstone no longer fits and starts a block of its own.
        const blocks = blockPaths(adapter.fs, dir).length;
        let seq = 30;
        while (blockPaths(adapter.fs, dir).length === blocks) {
          store.removeMsg(seq--);
          await store.flush();
        }
        expect(seq).toBeGreaterThan(3);
        store.truncate(2);
        const state = store.state();
        expect(state).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: 2, deleted: [] });
        const kept = new Map([...written].filter(([s]) => s <= 2));
        expect(expectConsistent(expect, store, kept)).toStrictEqual([1, 2]);
        const before = snapshot(store);
        await store.close();
        const reopened = await openStore(adapter.fs, dir, clock);
        expect(snapshot(reopened)).toStrictEqual(before);
        clock.t = 99_000n;
        expect(reopened.storeMsg("next", null, enc("n")).seq).toBe(3);
        await reopened.close();
      }));
  });
}

// ---------------------------------------------------------------- power cuts

function powerCutTests({ it, expect }: TestApi): void {
  it("keeps exactly what sync() acknowledged through a power cut, and continues after it", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 150, written);
    await store.sync();
    writeMsgs(store, clock, 60, new Map());
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(reopened.state()).toMatchObject({ msgs: 150, firstSeq: 1, lastSeq: 150 });
    expect(expectConsistent(expect, reopened, written).length).toBe(150);
    writeMsgs(reopened, clock, 1, written);
    expect(reopened.fastState().lastSeq).toBe(151);
    await reopened.close();
  });

  it("keeps what sync() acknowledged in a store it created, directory entries included", async () => {
    const disk = memoryFileSystem();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/fresh/store", clock);
    writeMsgs(store, clock, 20, written);
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/fresh/store", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(20);
    await reopened.close();
  });

  it("keeps everything flushed through random power cuts and never returns a half-written message", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 100, written);
    await store.flush();
    // Unsynced work: removals and enough messages to seal blocks, so some of it is written out.
    store.removeMsg(10);
    writeMsgs(store, clock, 70, written);
    store.removeMsg(130);
    let torn = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const after = disk.crash({ lose: "random", seed });
      const reopened = await openStore(after, "/s", clock);
      const state = reopened.state();
      if ((state.lost?.bytes ?? 0) > 0) torn++;
      expect({ seed, lost: state.lost?.msgs ?? [] }).toStrictEqual({ seed, lost: [] });
      const live = expectConsistent(expect, reopened, written);
      for (let seq = 1; seq <= 100; seq++) {
        if (seq !== 10 && !live.includes(seq)) expect(`${seed}: ${seq} lost`).toBe("kept");
      }
      expect(state.lastSeq).toBeGreaterThanOrEqual(100);
      clock.t = 9_000_000n;
      expect(reopened.storeMsg("next", null, enc("n")).seq).toBe(state.lastSeq + 1);
      await reopened.close();
      // What the first open cut is gone for good: a second open finds nothing torn.
      const again = await openStore(after, "/s", clock);
      expect(again.state().lost).toBeUndefined();
      expect(again.fastState().lastSeq).toBe(state.lastSeq + 1);
      await again.close();
    }
    expect(torn).toBeGreaterThan(10);
  });

  it("keeps removals acknowledged by sync() through power cuts, erased bytes included", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 60, written);
    clock.t = 61_000n;
    store.storeMsg("secret", null, MARKER);
    writeMsgs(store, clock, 60, written);
    await store.flush();
    const removed = [1, 2, 3, 40, 61, 99, 121];
    for (const seq of removed) {
      if (seq === 61) store.eraseMsg(seq);
      else store.removeMsg(seq);
    }
    await store.sync();
    for (const seq of removed) written.delete(seq);
    for (const lose of ["unsynced", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const) {
      const after =
        lose === "unsynced" ? disk.crash({ lose }) : disk.crash({ lose: "random", seed: lose });
      const reopened = await openStore(after, "/s", clock);
      for (const seq of removed) {
        expect(`${lose}/${seq}: ${codeOf(() => reopened.loadMsg(seq))}`).toBe(
          `${lose}/${seq}: ErrStoreMsgNotFound`,
        );
      }
      expect(expectConsistent(expect, reopened, written).length).toBe(121 - removed.length);
      expect(reopened.fastState().lastSeq).toBe(121);
      expect(filesContaining(after, "/s", MARKER)).toStrictEqual([]);
      await reopened.close();
    }
  });

  it("rescans only what was written after the checkpoint when opening after a power cut", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 400, written);
    store.removeMsg(7);
    written.delete(7);
    await store.flush();
    writeMsgs(store, clock, 10, written);
    store.removeMsg(300);
    written.delete(300);
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    const total = totalBlockBytes(after, "/s");
    const blocks = blockPaths(after, "/s").length;
    expect(blocks).toBeGreaterThan(10);
    // The sync preallocated the last block: its zeros are read with it, as the rest of it.
    const zeros = trailingZeros(after, blockPaths(after, "/s").at(-1)!);
    expect(zeros).toBeGreaterThan(0);
    const { fs, stats } = counting(after);
    const reopened = await openStore(fs, "/s", clock);
    expect(stats.bytesRead - zeros).toBeLessThan((total - zeros) / 4);
    expect(expectConsistent(expect, reopened, written).length).toBe(408);
    const state = snapshot(reopened);
    await reopened.close();

    // The same power cut without a checkpoint: every block is read, and the state is the same.
    const again = disk.crash({ lose: "unsynced" });
    again.remove("/s/index.ckpt");
    const rebuilt = counting(again);
    const full = await openStore(rebuilt.fs, "/s", clock);
    expect(rebuilt.stats.bytesRead).toBeGreaterThanOrEqual(total);
    expect(snapshot(full)).toStrictEqual(state);
    await full.close();
  });
}

// ---------------------------------------------------------------- sync and group commit

function syncTests({ it, expect }: TestApi): void {
  for (const syncInline of [false, true]) {
    it(`sealing blocks ${syncInline ? "leaves their fsync to the next round with syncInline" : "starts their fsync early"}`, async () => {
      const disk = diskWithDir();
      const clock = testClock();
      const store = await openStore(disk, "/s", clock, { syncInline });
      const before = disk.counters.syncs;
      for (let i = 0; i < 200; i++) store.storeMsg("a", null, new Uint8Array(100));
      expect(store.state().msgs).toBe(200);
      const early = disk.counters.syncs - before;
      if (syncInline) expect(early).toBe(0);
      else expect(early).toBeGreaterThan(0);
      await store.sync();
      const after = disk.crash({ lose: "unsynced" });
      await store.close().catch(() => {});
      const reopened = await openStore(after, "/s", clock);
      expect(reopened.fastState().msgs).toBe(200);
      await reopened.close();
    });
  }

  for (const syncInline of [false, true]) {
    it(`group commit with syncInline ${syncInline}: 64 writers share fsyncs, ${syncInline ? "none" : "all"} on worker threads, every acknowledged write survives a power cut`, async () => {
      const disk = diskWithDir();
      let onWorkers = 0;
      const counting = new Proxy(disk, {
        get(target, key) {
          if (key === "open") {
            return (...args: Parameters<FileSystem["open"]>) => {
              const handle = target.open(...args);
              return new Proxy(handle, {
                get(h, k) {
                  if (k === "syncAsync") {
                    return () => {
                      onWorkers++;
                      return h.syncAsync();
                    };
                  }
                  const value = Reflect.get(h, k);
                  return typeof value === "function" ? value.bind(h) : value;
                },
              });
            };
          }
          const value = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const clock = testClock();
      const store = await openStore(counting, "/s", clock, { syncInline });
      const before = disk.counters.syncs;
      await Promise.all(
        Array.from({ length: 64 }, async (_, i) => {
          store.storeMsg(`w.${i}`, null, enc(`m${i}`));
          await store.sync();
        }),
      );
      const syncs = disk.counters.syncs - before;
      expect(syncs).toBeGreaterThan(0);
      expect(syncs).toBeLessThan(16);
      if (syncInline) expect(onWorkers).toBe(0);
      else expect(onWorkers).toBeGreaterThan(0);
      const after = disk.crash({ lose: "unsynced" });
      await store.close().catch(() => {});
      const reopened = await openStore(after, "/s", clock);
      expect(reopened.fastState().msgs).toBe(64);
      for (let seq = 1; seq <= 64; seq++)
        expect(reopened.loadMsg(seq).msg).toStrictEqual(enc(`m${seq - 1}`));
      await reopened.close();
    });
  }

  for (const lose of ["unsynced", "none"] as const) {
    it(`makes delete() durable: after a power cut (lose ${lose}) the path opens empty, nothing left beside it`, async () => {
      const disk = diskWithDir();
      const clock = testClock();
      let store = await openStore(disk, "/s", clock);
      for (let i = 0; i < 40; i++) store.storeMsg("a", null, new Uint8Array(300));
      await store.close();
      store = await openStore(disk, "/s", clock);
      await store.delete();
      const after = disk.crash({ lose, seed: 5 });
      expect(after.list("/")).toStrictEqual([]);
      const fresh = await openStore(after, "/s", clock);
      expect(fresh.fastState()).toMatchObject({ msgs: 0, lastSeq: 0 });
      await fresh.close();
    });
  }

  it("lets no unlink of a round in flight outlive delete(): a new store in the same place keeps its blocks", async () => {
    const disk = diskWithDir();
    let unlinkStarted: () => void = () => {};
    const slowUnlinks = new Proxy(disk, {
      get(target, key) {
        if (key === "removeAsync") {
          return async (path: string) => {
            unlinkStarted();
            await new Promise((resolve) => setTimeout(resolve, 20));
            return target.removeAsync(path);
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const clock = testClock();
    const store = await openStore(slowUnlinks, "/s", clock);
    for (let i = 0; i < 60; i++) store.storeMsg("a", null, new Uint8Array(200));
    const first = store.fastState().firstSeq;
    for (let seq = first; seq < first + 20; seq++) store.removeMsg(seq);
    const started = new Promise<void>((resolve) => {
      unlinkStarted = resolve;
    });
    const round = store.sync().catch(() => {});
    await started;
    await store.delete();
    const fresh = await openStore(disk, "/s", clock);
    fresh.storeMsg("b", null, enc("kept"));
    await fresh.sync();
    await round;
    await fresh.close();
    const reopened = await openStore(disk, "/s", clock);
    expect(reopened.fastState().msgs).toBe(1);
    await reopened.close();
  });

  for (const racer of ["flush", "close"] as const) {
    it(`lets no checkpoint of a ${racer} in flight outlive delete(): a new store in the same place keeps its blocks`, async () => {
      const disk = diskWithDir();
      const clock = testClock();
      const store = await openStore(disk, "/s", clock);
      const fill = (s: FileStore, subject: string) => {
        for (let i = 0; i < 100; i++) s.storeMsg(subject, null, new Uint8Array(200));
      };
      fill(store, "a");
      await store.flush();
      // Head blocks emptied: their unlinks wait for the next round or checkpoint.
      store.updateConfig({ maxMsgs: 5 });
      const racing = (racer === "flush" ? store.flush() : store.close()).then(
        () => "done",
        (err: unknown) => (err as { code?: string }).code,
      );
      await store.delete();
      // The lock is free: a new store takes the place, with block files of the same names.
      const fresh = await openStore(disk, "/s", clock);
      fill(fresh, "b");
      await fresh.flush();
      const raced = await racing;
      await fresh.close();
      const reopened = await openStore(disk, "/s", clock);
      try {
        const state = reopened.state();
        expect({ msgs: state.msgs, lost: state.lost }).toStrictEqual({
          msgs: 100,
          lost: undefined,
        });
        expect(reopened.loadMsg(1).subject).toBe("b");
      } finally {
        await reopened.close();
      }
      // The flush was cut short by delete; the close's store was closed by it.
      expect(raced).toBe(racer === "flush" ? "ErrStoreClosed" : "done");
    });
  }

  it("settles a close or sync in flight when delete() runs as on a closed store, not with the removed directory's ErrNotFound", async () => {
    const outcomes: Record<string, string> = {};
    for (const racer of ["close", "sync", "flush"] as const) {
      const disk = diskWithDir();
      const store = await openStore(disk, "/s", testClock());
      for (let i = 0; i < 100; i++) store.storeMsg("a", null, new Uint8Array(100));
      const racing = store[racer]().then(
        () => "done",
        (err: unknown) => (err as { code?: string }).code ?? String(err),
      );
      await store.delete();
      outcomes[racer] = await racing;
      expect(disk.stat("/s")).toBeNull();
    }
    // The flush's checkpoint was not written: the store was closed under it.
    expect(outcomes).toStrictEqual({ close: "done", sync: "done", flush: "ErrStoreClosed" });
  });

  it("lets a flush that the close running meanwhile overtook write no checkpoint over the close's", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const store = await openStore(disk, "/s", clock);
    for (let i = 0; i < 100; i++) store.storeMsg("a", null, new Uint8Array(100));
    const closing = store.close();
    // The close's round is under way: the flush waits for the next, which comes after the close.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const flushed = await store.flush().then(
      () => "done",
      (err: unknown) => (err as { code?: string }).code,
    );
    await closing;
    // Its checkpoint, written after the close released the store, listed no blocks.
    const checkpoint = decodeCheckpoint(disk.readFile("/s/index.ckpt") as Uint8Array, "index.ckpt");
    expect(checkpoint.blocks.map((b) => b.msgs)).toStrictEqual([29, 29, 29, 13]);
    expect(flushed).toBe("ErrStoreClosed");
  });

  it("brings back TTLs written after the checkpoint from the records after a power cut", async () => {
    const disk = diskWithDir();
    const clock = testClock(10_000_000_000n);
    const options = { allowMsgTtl: true, maxAgeMs: 100_000 };
    const store = await openStore(disk, "/s", clock, options);
    const payload = new Uint8Array(200);
    // Some TTLs are in the checkpoint, the rest only in records written after it.
    for (let i = 1; i <= 40; i++) store.storeMsg(`s.${i % 5}`, null, payload, ttlOf(i));
    await store.flush();
    for (let i = 41; i <= 80; i++) store.storeMsg(`s.${i % 5}`, null, payload, ttlOf(i));
    store.removeMsg(42);
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    clock.t = 15_000_000_000n;
    let reopened = await openStore(after, "/s", clock, options);
    expect(reopened.state().lost).toBeUndefined();
    // ttl 5 (i % 4 === 1) is gone; 42 was removed.
    expect(reopened.fastState().msgs).toBe(80 - 20 - 1);
    clock.t = 200_000_000_000n;
    await reopened.close();
    reopened = await openStore(after, "/s", clock, options);
    // Only "never" (i % 4 === 0) outlives maxAgeMs.
    expect(reopened.state()).toMatchObject({ msgs: 20, firstSeq: 4, lastSeq: 80 });
    await reopened.close();
  });

  it("keeps limit-driven head removals through a power cut once sync() covered them", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const store = await openStore(disk, "/s", clock, { maxMsgs: 50 });
    const payload = new Uint8Array(60);
    for (let i = 0; i < 200; i++) store.storeMsg(`s.${i % 7}`, null, payload);
    expect(store.fastState()).toMatchObject({ msgs: 50, firstSeq: 151, lastSeq: 200 });
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    // Reopened without the limit: nothing removed before the sync may come back.
    const reopened = await openStore(after, "/s", clock);
    expect(reopened.fastState()).toMatchObject({ msgs: 50, firstSeq: 151, lastSeq: 200 });
    expect(reopened.state().lost).toBeUndefined();
    expect(reopened.loadMsg(151).subject).toBe(`s.${150 % 7}`);
    await reopened.close();
  });

  it("keeps what sync() acknowledged when its block is sealed while the round waits", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const store = await openStore(disk, "/s", clock);
    const payload = new Uint8Array(100);
    for (let i = 0; i < 10; i++) store.storeMsg("a", null, payload);
    const acknowledged = store.sync();
    // Enough to seal the block holding 1..10 before the round above completes.
    for (let i = 0; i < 60; i++) store.storeMsg("b", null, payload);
    await acknowledged;
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(reopened.fastState().msgs).toBeGreaterThanOrEqual(10);
    for (let seq = 1; seq <= 10; seq++) expect(reopened.loadMsg(seq).subject).toBe("a");
    await reopened.close();
  });

  it("truncates into a sealed block that is not in the cache", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const store = await openStore(disk, "/s", clock, { cacheBytes: 0 });
    const payload = new Uint8Array(100).fill(7);
    for (let i = 0; i < 100; i++) store.storeMsg(`s.${i}`, null, payload);
    store.truncate(5);
    for (let seq = 1; seq <= 5; seq++) expect(store.loadMsg(seq).subject).toBe(`s.${seq - 1}`);
    expect(store.storeMsg("new", null, payload).seq).toBe(6);
    await store.close();
    const reopened = await openStore(disk, "/s", clock);
    expect(reopened.fastState()).toMatchObject({ msgs: 6, lastSeq: 6 });
    expect(reopened.loadMsg(6).subject).toBe("new");
    await reopened.close();
  });

  it("resolves many concurrent sync() callers with a few shared fsyncs", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    const syncsBefore = disk.counters.syncs;
    // 50 writers, each storing and awaiting sync() 6 times: 300 acknowledgements.
    let resolved = 0;
    const writer = async () => {
      for (let k = 0; k < 6; k++) {
        writeMsgs(store, clock, 1, written);
        await store.sync();
        resolved++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, writer));
    expect(resolved).toBe(300);
    // One round per wave of writers (a block fsync or two, and the directory when a block was added).
    expect(disk.counters.syncs - syncsBefore).toBeLessThanOrEqual(40);
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(300);
    await reopened.close();
  });

  it("makes a sync() that arrives during a round wait for a round that covers its data", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 5, written);
    const order: string[] = [];
    const first = store.sync().then(() => order.push("first"));
    writeMsgs(store, clock, 1, written);
    const second = store.sync().then(() => order.push("second"));
    await second;
    await first;
    expect(order).toStrictEqual(["first", "second"]);
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(6);
    await reopened.close();
  });

  it("makes every write durable before storeMsg returns with syncAlways", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock, { syncAlways: true });
    writeMsgs(store, clock, 80, written);
    store.removeMsg(10);
    written.delete(10);
    // No await anywhere: the power goes while the store is open.
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(79);
    expect(reopened.fastState().lastSeq).toBe(80);
    await reopened.close();
  });

  it("rejects sync() and flush() while fsync fails and makes the data durable once it works", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 50, written);
    disk.setFaults({ failSync: {} });
    const codes = await Promise.all([
      codeOfAsync(() => store.sync()),
      codeOfAsync(() => store.sync()),
      codeOfAsync(() => store.flush()),
    ]);
    expect(codes).toStrictEqual(["ErrIO", "ErrIO", "ErrIO"]);
    // Still failing: a retry is not reported as success either.
    expect(await codeOfAsync(() => store.sync())).toBe("ErrIO");
    disk.setFaults({ failSync: null });
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(50);
    await reopened.close();
  });

  it("never reports a sync() as done while the directory fsync fails", async () => {
    const disk = diskWithDir();
    const clock = testClock();
    const written: Written = new Map();
    const store = await openStore(disk, "/s", clock);
    writeMsgs(store, clock, 100, written);
    disk.setFaults({ failSync: { path: "/s/msgs" } });
    expect(await codeOfAsync(() => store.sync())).toBe("ErrIO");
    expect(await codeOfAsync(() => store.sync())).toBe("ErrIO");
    disk.setFaults({ failSync: null });
    await store.sync();
    const after = disk.crash({ lose: "unsynced" });
    const reopened = await openStore(after, "/s", clock);
    expect(expectConsistent(expect, reopened, written).length).toBe(100);
    await reopened.close();
  });
}

/** TTLs of the power-cut TTL test by message number: never, 5 s, 30 s, 60 s. */
function ttlOf(i: number): number {
  return [-1, 5, 30, 60][i % 4];
}
