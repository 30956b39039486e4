/**
 * Opening without reading the last block: when the checkpoint vouches for a
 * last block of at least half a block (or 1 MiB), open leaves it unread,
 * appends go to a new block, and its newest message is read from the end of
 * the file. A smaller last block is read and appended to as before.
 */

import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { codeOf, enc, inTempDir, watchBunGc } from "./store-helpers.ts";

const BLOCK_SIZE = 4096;

function blockSizes(fs: FileSystem, dir: string): Map<number, number> {
  const sizes = new Map<number, number>();
  for (const name of fs.list(joinPath(dir, "msgs"))) {
    const m = /^(\d+)\.blk$/.exec(name);
    if (m !== null) sizes.set(Number(m[1]), fs.stat(joinPath(dir, "msgs", name))!.size);
  }
  return new Map([...sizes].sort((a, b) => a[0] - b[0]));
}

const payload = (i: number) => enc(`message ${i} `.padEnd(40 + (i % 7) * 13, "."));

export function lazyOpenSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  for (const adapter of ctx.adapters) {
    const open = (dir: string, fs: FileSystem = adapter.fs) =>
      FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });

    describe(`opening past a large last block (${adapter.name})`, () => {
      it("leaves it as it is: the newest message reads from its end, appends go to a new block", () =>
        inTempDir(adapter, async (dir) => {
          let store = await open(dir);
          // Ends with a block well past half full.
          let n = 0;
          while (n < 30 || store.fastState().bytes % BLOCK_SIZE < BLOCK_SIZE * 0.6) {
            n++;
            store.storeMsg(`s.${n % 3}`, n % 5 === 0 ? enc(`h${n}`) : null, payload(n));
          }
          await store.close();
          const before = blockSizes(adapter.fs, dir);
          const [lastBlock, lastSize] = [...before].at(-1)!;
          expect(lastSize).toBeGreaterThanOrEqual(BLOCK_SIZE / 2);

          store = await open(dir);
          const newest = store.loadMsg(n);
          expect([newest.subject, newest.msg]).toStrictEqual([`s.${n % 3}`, payload(n)]);
          expect(store.state()).toMatchObject({ msgs: n, firstSeq: 1, lastSeq: n });
          store.storeMsg("after", null, enc("a1"));
          store.storeMsg("after", null, enc("a2"));
          await store.close();
          const after = blockSizes(adapter.fs, dir);
          expect(after.get(lastBlock)).toBe(lastSize);
          expect([...after.keys()]).toStrictEqual([...before.keys(), lastBlock + 1]);

          // The new block is small: the next open appends to it instead of starting another.
          store = await open(dir);
          store.storeMsg("after", null, enc("a3"));
          await store.close();
          expect([...blockSizes(adapter.fs, dir).keys()]).toStrictEqual([...after.keys()]);

          store = await open(dir);
          for (let seq = 1; seq <= n; seq++)
            expect(store.loadMsg(seq).msg).toStrictEqual(payload(seq));
          expect(store.loadNextMsg("after", false, 1).msg).toStrictEqual(enc("a1"));
          expect(store.subjectsTotals("after")).toStrictEqual({ after: 3 });
          await store.close();
        }));

      it("reads the newest message by indexing when the block ends with a tombstone", () =>
        inTempDir(adapter, async (dir) => {
          let store = await open(dir);
          for (let i = 1; i <= 60; i++) store.storeMsg("s", null, payload(i));
          store.removeMsg(2);
          await store.close();
          store = await open(dir);
          expect(store.loadMsg(60).msg).toStrictEqual(payload(60));
          expect(codeOf(() => store.loadMsg(2))).toBe("ErrStoreMsgNotFound");
          expect(store.state()).toMatchObject({ msgs: 59, deleted: [2] });
          await store.close();
        }));
    });
  }

  describe("the stream's first timestamp after a reopen (memory adapter)", () => {
    it("comes from the checkpoint while the first message is its block's first, read from the block once the head moves", async () => {
      const fs = memoryFileSystem();
      const dir = "/first-ts";
      let t = 5_000n;
      const now = () => t;
      const open = () => FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0, now });
      let store = await open();
      for (let i = 1; i <= 120; i++) {
        t += 1_000n + BigInt(i);
        store.storeMsg("s", null, payload(i));
      }
      const stamps = [1, 2].map((seq) => store.loadMsg(seq).ts);
      await store.close();

      store = await open();
      const reads = fs.counters.reads;
      expect(store.fastState().firstTs).toBe(stamps[0]);
      expect(fs.counters.reads).toBe(reads);
      store.removeMsg(1);
      await store.close();

      store = await open();
      expect(store.fastState()).toMatchObject({ firstSeq: 2, firstTs: stamps[1] });
      await store.close();
    });
  });

  describe("opening past a large last block (memory adapter faults)", () => {
    it("never hands back a damaged newest message: it is reported lost on first read", async () => {
      const fs = memoryFileSystem();
      const dir = "/lazy";
      let store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
      for (let i = 1; i <= 60; i++) store.storeMsg("s", null, payload(i));
      await store.close();
      const sizes = blockSizes(fs, dir);
      const [last, size] = [...sizes].at(-1)!;
      expect(size).toBeGreaterThanOrEqual(BLOCK_SIZE / 2);
      // A payload byte of message 60, the block's last record: its checksum (the last 8 bytes) is intact.
      const path = joinPath(dir, "msgs", `${last}.blk`);
      const bytes = fs.readFile(path)!;
      bytes[size - 8 - 3] ^= 0x40;
      fs.writeFile(path, bytes);
      store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
      expect(codeOf(() => store.loadMsg(60))).toBe("ErrCorrupt");
      expect(store.loadMsg(59).msg).toStrictEqual(payload(59));
      expect(store.state().lost?.msgs).toStrictEqual([60]);
      await store.close();
    });

    it("keeps what was synced to the new block through a power cut", async () => {
      const fs = memoryFileSystem();
      const dir = "/lazy";
      let store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
      for (let i = 1; i <= 60; i++) store.storeMsg("s", null, payload(i));
      await store.close();
      store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
      for (let i = 61; i <= 70; i++) store.storeMsg("t", null, payload(i));
      await store.sync();
      store.storeMsg("t", null, payload(71));
      const cut = fs.crash({ lose: "unsynced" });
      const again = await FileStore.open({
        dir,
        fs: cut,
        blockSize: BLOCK_SIZE,
        syncIntervalMs: 0,
      });
      const state = again.state();
      expect(state.lastSeq).toBeGreaterThanOrEqual(70);
      for (let seq = 1; seq <= 70; seq++)
        expect(again.loadMsg(seq).msg).toStrictEqual(payload(seq));
      expect(again.subjectsTotals("")).toMatchObject({ s: 60 });
      expect(state.lost).toBeUndefined();
      await again.close();
    });
  });
  if (ctx.runtime === "bun") {
    describe("collection hints while opening (Bun)", () => {
      it("asks Bun for a collection per block it scans, when no checkpoint vouches for them", () =>
        inTempDir(ctx.adapters[0], async (dir) => {
          const fs = ctx.adapters[0].fs;
          let store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
          for (let i = 0; i < 400; i++) store.storeMsg(`s.${i % 5}`, null, payload(i));
          await store.close();
          const blocks = blockSizes(fs, dir).size;
          expect(blocks).toBeGreaterThan(5);
          fs.remove(joinPath(dir, "index.ckpt"));
          const { calls, restore } = watchBunGc();
          try {
            store = await FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
          } finally {
            restore();
          }
          expect(store.fastState().msgs).toBe(400);
          await store.close();
          expect(calls.length).toBeGreaterThanOrEqual(blocks);
          expect(calls.every((force) => force === false)).toBe(true);
        }));
    });
  }
}
