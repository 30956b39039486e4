/**
 * Blocks taken on the checkpoint's word (src/filestore/vouched-blocks.ts): in
 * a store of plain files, open opens no file of a block the checkpoint lists
 * other than its last and the store's last; the block's first use, or else
 * the next checkpoint written, checks its file. Damage done to such a block after a
 * clean close is found by its first read and reported in `lost`, the next
 * open rescans the block, and `verify` agrees; a damaged header is written
 * again; bytes past the recorded length (a truncate's tail) are cut.
 */
import { type FileHandle, type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { verifyStore } from "../../src/verify.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { codeOf, enc, inTempDir, readFileBytes, writeFileBytes } from "./store-helpers.ts";

const BLOCK_SIZE = 4096;
const HEADER = 16;
const MSGS = 400;

const payload = (i: number) => enc(`message ${i} `.padEnd(40 + (i % 7) * 13, "."));

/** `fs`, noting the path of every file it opens. */
function watched(fs: FileSystem): { fs: FileSystem; opened: string[] } {
  const opened: string[] = [];
  const proxy = new Proxy(fs, {
    get(target, key) {
      if (key === "open") {
        return (path: string, ...rest: unknown[]): FileHandle => {
          opened.push(path);
          return (target.open as (...a: unknown[]) => FileHandle)(path, ...rest);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { fs: proxy, opened };
}

/** Sequence and offset of each record of a block file, by FORMAT.md (none is a tombstone here). */
function records(bytes: Uint8Array): Array<{ seq: number; offset: number; length: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let offset = HEADER; offset + 16 <= bytes.length; ) {
    const length = view.getUint32(offset, true);
    out.push({ seq: Number(view.getBigUint64(offset + 8, true)), offset, length });
    offset += length;
  }
  return out;
}

export function firstUseChecksSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  for (const adapter of ctx.adapters) {
    const open = (dir: string, fs: FileSystem = adapter.fs) =>
      FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
    const blockPath = (dir: string, n: number) => joinPath(dir, "msgs", `${n}.blk`);

    /** A closed store of MSGS messages over many blocks; block 2's records. */
    const build = async (dir: string) => {
      const store = await open(dir);
      for (let i = 1; i <= MSGS; i++) store.storeMsg(`s.${i % 5}`, null, payload(i));
      await store.close();
      const second = readFileBytes(adapter.fs, blockPath(dir, 2))!;
      expect(adapter.fs.list(joinPath(dir, "msgs")).length).toBeGreaterThan(5);
      return { second, recs: records(second) };
    };

    describe(`blocks checked at first use (${adapter.name})`, () => {
      it("opens no file of a vouched block until its first read or the next checkpoint", () =>
        inTempDir(adapter, async (dir) => {
          const { recs } = await build(dir);
          const { fs, opened } = watched(adapter.fs);
          let store = await open(dir, fs);
          const blocks = (path: string) => path.includes(`${joinPath("msgs", "")}`);
          const openedBlocks = () => opened.filter(blocks).map((p) => p.slice(dir.length + 1));
          expect(openedBlocks()).not.toContain(joinPath("msgs", "1.blk"));
          expect(openedBlocks()).not.toContain(joinPath("msgs", "2.blk"));
          expect(store.loadMsg(recs[0].seq).msg).toStrictEqual(payload(recs[0].seq));
          expect(openedBlocks()).toContain(joinPath("msgs", "2.blk"));
          expect(openedBlocks()).not.toContain(joinPath("msgs", "3.blk"));
          // Checked before the checkpoint written at close (a message makes it one to write) vouches for it again.
          store.storeMsg("s.new", null, enc("new"));
          await store.close();
          expect(openedBlocks()).toContain(joinPath("msgs", "3.blk"));
          opened.length = 0;
          store = await open(dir, fs);
          expect(openedBlocks()).not.toContain(joinPath("msgs", "1.blk"));
          for (let seq = 1; seq <= MSGS; seq++)
            expect(store.loadMsg(seq).msg).toStrictEqual(payload(seq));
          expect(store.state().lost).toBeUndefined();
          await store.close();
        }));

      it("writes no checkpoint, and opens no vouched block, closing a session that changed nothing", () =>
        inTempDir(adapter, async (dir) => {
          const { recs } = await build(dir);
          const files = adapter.fs.list(joinPath(dir, "msgs"));
          const { fs, opened } = watched(adapter.fs);
          const checkpointWrites = () => opened.filter((p) => p.endsWith("index.ckpt.tmp")).length;
          let store = await open(dir, fs);
          expect(store.loadMsg(recs[0].seq).msg).toStrictEqual(payload(recs[0].seq));
          await store.flush();
          await store.close();
          expect(checkpointWrites()).toBe(0);
          expect(opened).not.toContain(blockPath(dir, 3));
          // The block started after the full last one (left unread) got no file: it held nothing.
          expect(adapter.fs.list(joinPath(dir, "msgs"))).toStrictEqual(files);
          // One message changes it: written again, every vouched block checked first.
          store = await open(dir, fs);
          store.storeMsg("s.new", null, enc("new"));
          await store.close();
          expect(checkpointWrites()).toBe(1);
          expect(opened).toContain(blockPath(dir, 3));
          store = await open(dir);
          expect(store.state()).toMatchObject({ msgs: MSGS + 1, lastSeq: MSGS + 1 });
          expect(store.loadMsg(MSGS + 1).msg).toStrictEqual(enc("new"));
          await store.close();
        }));

      it("runs no background sync round while a session that stores nothing stays open", () =>
        inTempDir(adapter, async (dir) => {
          await build(dir);
          const store = await FileStore.open({
            dir,
            fs: adapter.fs,
            blockSize: BLOCK_SIZE,
            syncIntervalMs: 5,
          });
          // The rounds themselves: an idle one touches no file, so the filesystem cannot count them.
          const inner = store as unknown as { syncRound(): Promise<void> };
          const round = inner.syncRound.bind(store);
          let rounds = 0;
          inner.syncRound = () => {
            rounds++;
            return round();
          };
          store.loadMsg(MSGS);
          await new Promise((resolve) => setTimeout(resolve, 200));
          // Open's own directory fsync takes one; a block with nothing but its header pending takes none.
          expect(rounds).toBeLessThanOrEqual(1);
          await store.close();
        }));

      it("finds a vouched block's damaged last record at its first read; the next open and verify agree", () =>
        inTempDir(adapter, async (dir) => {
          const { second, recs } = await build(dir);
          const last = recs.at(-1)!;
          // A payload byte of the block's last record: the checkpoint's last checksum still matches.
          second[second.length - 8 - 3] ^= 0x40;
          writeFileBytes(adapter.fs, blockPath(dir, 2), second);
          let store = await open(dir);
          expect(codeOf(() => store.loadMsg(last.seq))).toBe("ErrCorrupt");
          expect(store.loadMsg(last.seq - 1).msg).toStrictEqual(payload(last.seq - 1));
          expect(store.state().lost?.msgs).toStrictEqual([last.seq]);
          await store.close();
          const report = verifyStore(dir, { fs: adapter.fs });
          expect(report.ok).toBe(false);
          expect(report.lost).toMatchObject([{ first: last.seq, last: last.seq, block: 2 }]);
          // Reported by open now: the checkpoint written after the damage was found does not vouch for it.
          store = await open(dir);
          expect(store.state().lost?.msgs).toStrictEqual([last.seq]);
          expect(store.state().msgs).toBe(MSGS - 1);
          await store.close();
        }));

      it("does not vouch, in the checkpoint a change writes at close, for a vouched block damaged while open and never read", () =>
        inTempDir(adapter, async (dir) => {
          const { second, recs } = await build(dir);
          const last = recs.at(-1)!;
          let store = await open(dir);
          // A byte of the last record's checksum: the last 8 bytes the checkpoint recorded.
          second[second.length - 2] ^= 0x40;
          writeFileBytes(adapter.fs, blockPath(dir, 2), second);
          store.storeMsg("s.new", null, enc("new"));
          await store.close();
          // Rescanned, as the checkpoint's last checksum for the block no longer matched at close.
          store = await open(dir);
          expect(store.state().lost?.msgs).toStrictEqual([last.seq]);
          expect(store.state().msgs).toBe(MSGS);
          await store.close();
        }));

      it("leaves the checkpoint's word after a session that changed nothing: damage done while open is found at the first read", () =>
        inTempDir(adapter, async (dir) => {
          const { second, recs } = await build(dir);
          const last = recs.at(-1)!;
          // The first open starts a block after the full last one: that session's close records it.
          await (await open(dir)).close();
          let store = await open(dir);
          second[second.length - 2] ^= 0x40;
          writeFileBytes(adapter.fs, blockPath(dir, 2), second);
          await store.close();
          // No checkpoint was written, so none checked the block: the one before still vouches
          // for it, and the damage shows as damage done after that close would.
          store = await open(dir);
          expect(store.state().lost).toBeUndefined();
          expect(codeOf(() => store.loadMsg(last.seq))).toBe("ErrCorrupt");
          expect(store.state().lost?.msgs).toStrictEqual([last.seq]);
          await store.close();
        }));

      it("reads what is left of a vouched block cut short, the rest reported lost", () =>
        inTempDir(adapter, async (dir) => {
          const { second, recs } = await build(dir);
          const cut = recs[Math.floor(recs.length / 2)];
          writeFileBytes(adapter.fs, blockPath(dir, 2), second.subarray(0, cut.offset + 10));
          const gone = recs.filter((r) => r.seq >= cut.seq).map((r) => r.seq);
          let store = await open(dir);
          for (const r of recs.filter((r) => r.seq < cut.seq))
            expect(store.loadMsg(r.seq).msg).toStrictEqual(payload(r.seq));
          expect(codeOf(() => store.loadMsg(cut.seq))).toBe("ErrCorrupt");
          expect(store.state().lost?.msgs).toStrictEqual(gone);
          // The next block is whole.
          expect(store.loadMsg(gone.at(-1)! + 1).msg).toStrictEqual(payload(gone.at(-1)! + 1));
          await store.close();
          const report = verifyStore(dir, { fs: adapter.fs });
          expect(report.ok).toBe(false);
          expect(report.lost).toMatchObject([{ first: cut.seq, last: gone.at(-1), block: 2 }]);
          // The next open rescans the block (and cuts its torn end): reported there.
          store = await open(dir);
          expect(store.state().lost?.msgs).toStrictEqual(gone);
          expect(store.state().msgs).toBe(MSGS - gone.length);
          await store.close();
        }));

      // A newer version in a block the checkpoint vouches for is damage, not a newer format.
      for (const [what, at] of [
        ["version", 4],
        ["magic", 1],
      ] as const)
        it(`writes a vouched block's damaged header (${what}) again at its first use, and reports it`, () =>
          inTempDir(adapter, async (dir) => {
            const { second, recs } = await build(dir);
            const pristine = second.slice(0, HEADER);
            second[at] = 0x7f;
            writeFileBytes(adapter.fs, blockPath(dir, 2), second);
            let store = await open(dir);
            expect(store.loadMsg(recs[0].seq).msg).toStrictEqual(payload(recs[0].seq));
            expect(store.state().lost).toMatchObject({
              msgs: [],
              damaged: [{ block: 2, offset: 0, bytes: HEADER, msgs: [] }],
            });
            await store.close();
            expect(readFileBytes(adapter.fs, blockPath(dir, 2))!.subarray(0, HEADER)).toStrictEqual(
              pristine,
            );
            // Without the checkpoint every block is scanned: the header no longer refuses the store.
            adapter.fs.remove(joinPath(dir, "index.ckpt"));
            store = await open(dir);
            expect(store.state().msgs).toBe(MSGS);
            expect(store.state().lost).toBeUndefined();
            await store.close();
          }));

      it("refuses, untouched, a vouched block a newer jetstore rewrote (newer version, another length)", () =>
        inTempDir(adapter, async (dir) => {
          const { second, recs } = await build(dir);
          const rewritten = second.slice(0, second.length - recs.at(-1)!.length);
          rewritten[4] = 0x7f;
          writeFileBytes(adapter.fs, blockPath(dir, 2), rewritten);
          const store = await open(dir);
          expect(codeOf(() => store.loadMsg(recs[0].seq))).toBe("ErrUnsupportedFormat");
          expect(readFileBytes(adapter.fs, blockPath(dir, 2))).toStrictEqual(rewritten);
          await store.close().catch(() => {});
          expect(readFileBytes(adapter.fs, blockPath(dir, 2))).toStrictEqual(rewritten);
        }));

      /**
       * The store `build` left, truncated in block 2 and written on past the
       * cut; then block 2's file as it was before the truncate: what a crash
       * after the checkpoint's rename, before the holder's file was cut,
       * leaves (FORMAT.md, Truncate). Its tail holds the sequences after the
       * cut as they were, which the store now holds with other payloads.
       */
      const truncatedLeavingTail = async (dir: string) => {
        const { second, recs } = await build(dir);
        const keep = recs[Math.floor(recs.length / 2)].seq;
        const last = keep + 3;
        const store = await open(dir);
        store.truncate(keep);
        for (let seq = keep + 1; seq <= last; seq++)
          store.storeMsg("s.new", null, enc(`new ${seq}`));
        await store.close();
        const cutLength = adapter.fs.stat(blockPath(dir, 2))!.size;
        expect(cutLength).toBeLessThan(second.length);
        writeFileBytes(adapter.fs, blockPath(dir, 2), second);
        return { first: recs[0].seq, keep, last, cutLength };
      };

      /** The stream after the truncate: nothing of the old tail, the new messages after `keep`. */
      const expectTruncated = (store: FileStore, keep: number, last: number) => {
        expect(store.state()).toMatchObject({ msgs: last, lastSeq: last });
        expect(store.state().lost).toBeUndefined();
        for (let seq = keep - 1; seq <= last; seq++)
          expect(store.loadMsg(seq).msg).toStrictEqual(
            seq <= keep ? payload(seq) : enc(`new ${seq}`),
          );
        expect(codeOf(() => store.loadMsg(last + 1))).not.toBe("no error");
      };

      it("cuts a truncate's tail, later sequences, from a vouched block at its first use", () =>
        inTempDir(adapter, async (dir) => {
          const { first, keep, last, cutLength } = await truncatedLeavingTail(dir);
          let store = await open(dir);
          expect(store.loadMsg(first).msg).toStrictEqual(payload(first));
          expect(adapter.fs.stat(blockPath(dir, 2))!.size).toBe(cutLength);
          expectTruncated(store, keep, last);
          await store.close();
          // Without the checkpoint every block is scanned: the old messages after the cut stay gone.
          adapter.fs.remove(joinPath(dir, "index.ckpt"));
          store = await open(dir);
          expectTruncated(store, keep, last);
          await store.close();
        }));

      it("or by the checkpoint written at close when nothing read the block", () =>
        inTempDir(adapter, async (dir) => {
          const { keep, last, cutLength } = await truncatedLeavingTail(dir);
          let store = await open(dir);
          await store.close();
          expect(adapter.fs.stat(blockPath(dir, 2))!.size).toBe(cutLength);
          adapter.fs.remove(joinPath(dir, "index.ckpt"));
          store = await open(dir);
          expectTruncated(store, keep, last);
          await store.close();
        }));
    });
  }

  describe("blocks checked at first use, and power cuts", () => {
    it("fsyncs a header it writes again before reporting it: a power cut keeps the repair", async () => {
      const built = memoryFileSystem();
      const dir = "/s";
      built.mkdir(dir);
      const open = (fs: FileSystem) =>
        FileStore.open({ dir, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
      let store = await open(built);
      for (let i = 1; i <= MSGS; i++) store.storeMsg(`s.${i % 5}`, null, payload(i));
      await store.close();
      // Everything so far kept (the test's own mkdir too): only what the store does next is at stake.
      const disk = built.crash({ lose: "none" });
      const path = joinPath(dir, "msgs", "2.blk");
      const second = disk.readFile(path)!;
      const pristine = second.slice(0, HEADER);
      second[1] = 0x7f;
      disk.writeFile(path, second);
      store = await open(disk);
      const first = records(second)[0].seq;
      expect(store.loadMsg(first).msg).toStrictEqual(payload(first));
      expect(store.state().lost?.damaged).toMatchObject([{ block: 2, offset: 0, bytes: HEADER }]);
      // The power goes with the store open and nothing else written: every unsynced change is lost.
      const after = disk.crash({ lose: "unsynced" });
      expect(after.readFile(path)!.subarray(0, HEADER)).toStrictEqual(pristine);
    });
  });
}
