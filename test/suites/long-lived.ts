/**
 * What a long-lived process embedding stores must not accumulate. Here: the
 * file handles one open store holds stay bounded however many blocks it
 * writes, reads or opens (src/filestore/block-handles.ts), plain or sealed;
 * every block used to keep its writable handle until the store closed. A store whose
 * limits remove its oldest blocks keeps nothing for the blocks it no longer
 * has (block-file.ts kept a change count for every block number it ever
 * used). And a failed open closes every file it opened: a read error right after open
 * looked at a block left that block's handle (and its deleted set in core
 * memory) behind (recovery.ts).
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { JetStoreError } from "../../src/errors.ts";
import type { Block } from "../../src/filestore/block.ts";
import { BlockHandles } from "../../src/filestore/block-handles.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { counting } from "./filestore.ts";
import { enc } from "./store-helpers.ts";

/** Enough 4 KiB blocks that one handle each would be far past the bound. */
const MESSAGES = 3_000;
/** The read handles (read-handles.ts) and the writable ones (block-handles.ts), 32 each, and a few more. */
const MOST_HANDLES = 70;

export function longLivedSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("long-lived process", () => {
    for (const adapter of ctx.adapters) {
      for (const sealed of [false, true]) {
        const kind = sealed ? "sealed" : "plain";
        it(`a ${kind} store holds a bounded number of file handles however many blocks it writes and reads (${adapter.name})`, async () => {
          const { dir, cleanup } = adapter.tempDir();
          try {
            const { fs, stats } = counting(adapter.fs);
            const options = {
              dir,
              fs,
              blockSize: 4096,
              syncIntervalMs: 0,
              ...(sealed
                ? { cipher: "chacha20-poly1305" as const, key: new Uint8Array(32).fill(7) }
                : {}),
            };
            const payload = enc("x".repeat(200));
            const store = await FileStore.open(options);
            for (let i = 0; i < MESSAGES; i++) {
              store.storeMsg(`s.${i % 7}`, null, payload);
              if (i % 500 === 499) await store.flush();
            }
            await store.flush();
            const blocks = fs.list(`${dir}/msgs`).length;
            expect(blocks).toBeGreaterThan(2 * MOST_HANDLES);
            expect(stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
            await store.close();
            expect(stats.openHandles).toBe(0);

            // A sealed store looks at every block at open; a plain one at each block's first use.
            const again = await FileStore.open(options);
            expect(stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
            for (let seq = 1; seq <= MESSAGES; seq += 3) {
              expect(again.loadMsg(seq).msg).toStrictEqual(payload);
            }
            expect(stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
            // Erases and a compact rewrite and remove blocks through their handles.
            let kept = MESSAGES / 2 + 1;
            for (let seq = 2; seq <= MESSAGES; seq += 40) {
              again.eraseMsg(seq);
              if (seq >= MESSAGES / 2) kept--;
            }
            again.compact(MESSAGES / 2);
            await again.flush();
            expect(stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
            expect(again.state().msgs).toBe(kept);
            await again.close();
            expect(stats.openHandles).toBe(0);
            const last = await FileStore.open(options);
            expect(last.loadMsg(MESSAGES).msg).toStrictEqual(payload);
            await last.close();
          } finally {
            cleanup();
          }
        });
      }
    }

    for (const sealed of [false, true]) {
      const kind = sealed ? "sealed" : "plain";
      it(`an open of a ${kind} store failed by a read error at any of its reads closes every file it opened`, async () => {
        const disk = memoryFileSystem();
        disk.mkdir("/s");
        const options = {
          dir: "/s/store",
          blockSize: 4096,
          syncIntervalMs: 0,
          ...(sealed ? { cipher: "aes-256-gcm" as const, key: new Uint8Array(32).fill(3) } : {}),
        };
        const store = await FileStore.open({ ...options, fs: disk });
        for (let i = 0; i < 300; i++) store.storeMsg(`s.${i % 5}`, null, enc("x".repeat(60)));
        await store.close();
        const before = disk.counters.reads;
        await (await FileStore.open({ ...options, fs: disk })).close();
        const reads = disk.counters.reads - before;
        expect(reads).toBeGreaterThan(1);
        let failed = 0;
        for (let k = 1; k <= reads; k++) {
          const { fs, stats } = counting(disk);
          disk.setFaults({ failRead: { index: disk.counters.reads + k } });
          try {
            await (await FileStore.open({ ...options, fs })).close();
          } catch {
            failed++;
          }
          disk.setFaults({ failRead: null });
          expect({ k, open: stats.openHandles }).toStrictEqual({ k, open: 0 });
        }
        expect(failed).toBeGreaterThan(0);
        const again = await FileStore.open({ ...options, fs: disk });
        expect(again.state().msgs).toBe(300);
        await again.close();
      });
    }

    it("a store truncated again and again holds a bounded number of file handles", async () => {
      const { fs, stats } = counting(memoryFileSystem());
      fs.mkdir("/s");
      const store = await FileStore.open({ dir: "/s/store", fs, syncIntervalMs: 0 });
      // Each truncate inside the block appends go to seals that block and starts another.
      for (let i = 0; i < 2 * MOST_HANDLES; i++) {
        store.storeMsg("a", null, enc("kept"));
        store.storeMsg("b", null, enc("cut"));
        store.truncate(store.state().lastSeq - 1);
      }
      await store.flush();
      expect(fs.list("/s/store/msgs").length).toBeGreaterThan(2 * MOST_HANDLES);
      expect(stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
      expect(store.state().msgs).toBe(2 * MOST_HANDLES);
      await store.close();
      expect(stats.openHandles).toBe(0);
    });

    it("bounding the handles costs linear time through a burst of blocks whose fsyncs are in flight", () => {
      // A burst of appends rolls blocks faster than their early fsyncs come back (those finish
      // only when the event loop turns): none of their handles may be closed meanwhile.
      const blocks = 10_000;
      let looks = 0;
      let closed = 0;
      const held: Block[] = [];
      const handles = new BlockHandles();
      for (let n = 1; n <= blocks; n++) {
        let syncing = 1;
        const block = {
          n,
          handle: { close: () => closed++ },
          disposed: false,
          dirty: false,
          durability: { settled: true },
          get syncing() {
            looks++;
            return syncing;
          },
          set syncing(value: number) {
            syncing = value;
          },
        };
        held.push(block as unknown as Block);
        handles.hold(block as unknown as Block, n + 1);
      }
      expect(closed).toBe(0);
      // A few looks per block, not one at every later hold (50 million).
      expect(looks).toBeLessThan(10 * blocks);
      // The fsyncs are done: the next block's handle closes all but the bound, round or not.
      for (const b of held) b.syncing = 0;
      handles.fsynced();
      const next = { ...held[0], n: blocks + 1, handle: { close: () => closed++ }, syncing: 0 };
      handles.hold(next as unknown as Block, blocks + 2);
      expect(closed).toBe(blocks + 1 - 32);
      expect(held.filter((b) => b.handle !== null).length).toBe(31);
    });

    it("a close that reports an error, of a handle kept past the bound, fails nothing the store was asked", async () => {
      const counted = counting(memoryFileSystem());
      let failCloses = true;
      const fs: FileSystem = {
        ...counted.fs,
        open(path, mode, permissions) {
          const handle = counted.fs.open(path, mode, permissions);
          return {
            ...handle,
            close() {
              handle.close();
              // As close(2) may (EIO on NFS): the descriptor is freed all the same.
              if (failCloses && path.endsWith(".blk")) throw new JetStoreError("ErrIO", "close");
            },
          };
        },
      };
      fs.mkdir("/s");
      const store = await FileStore.open({
        dir: "/s/store",
        fs,
        blockSize: 4096,
        syncIntervalMs: 0,
      });
      const payload = enc("x".repeat(200));
      for (let i = 0; i < MESSAGES; i++) {
        store.storeMsg(`s.${i % 7}`, null, payload);
        if (i % 500 === 499) await store.flush();
      }
      await store.flush();
      expect(fs.list("/s/store/msgs").length).toBeGreaterThan(2 * MOST_HANDLES);
      expect(counted.stats.openHandles).toBeLessThanOrEqual(MOST_HANDLES);
      expect(store.loadMsg(1).msg).toStrictEqual(payload);
      failCloses = false;
      await store.close();
      expect(counted.stats.openHandles).toBe(0);
    });

    it("a store whose limits remove its blocks keeps nothing per block it had", async () => {
      const disk = memoryFileSystem();
      disk.mkdir("/s");
      const store = await FileStore.open({
        dir: "/s/store",
        fs: disk,
        blockSize: 4096,
        maxMsgs: 200,
        syncIntervalMs: 0,
      });
      const inner = store as unknown as {
        blocks: unknown[];
        files: { changes: Map<number, number> };
      };
      for (let i = 0; i < MESSAGES; i++) {
        store.storeMsg(`s.${i % 5}`, null, enc("x".repeat(200)));
        if (i % 500 === 499) await store.flush();
      }
      await store.flush();
      expect(inner.files.changes.size).toBeLessThanOrEqual(inner.blocks.length + 1);
      await store.close();
    });
  });
}
