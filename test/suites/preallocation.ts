/**
 * The active block's preallocated zeros (src/filestore/preallocation.ts):
 * a sync round writes zeros past the data so durable appends overwrite
 * allocated bytes; the file is cut back to its data when the block is sealed
 * and when a checkpoint is written. Here: the zeros are there while the store
 * is open and gone after a roll and a clean close; zeros after the last
 * record are read as the end of the data, never as messages or damage, while
 * a torn record before them is still a torn tail; and a power cut at every
 * change and inside every write of a durable append sequence (one writer,
 * then writers sharing group-commit rounds, across block rolls) keeps every
 * acknowledged message, invents none, and leaves a store verify calls clean.
 */

import type { LoseMode, MemoryFileSystem } from "../../runtimes/memory.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { PREALLOCATE_BYTES } from "../../src/filestore/preallocation.ts";
import { verifyStore } from "../../src/verify.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { enc, type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/p";
const BLOCK = `${DIR}/msgs/1.blk`;

export function preallocationSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  describe("preallocated active block", () => {
    for (const adapter of ctx.adapters) {
      it(`writes zeros past the data at a sync and cuts them at a roll and at close (${adapter.name})`, async () => {
        const { dir, cleanup } = adapter.tempDir();
        try {
          const path = `${dir}/msgs/1.blk`;
          const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
          store.storeMsg("a", null, enc("one"));
          await store.sync();
          const data = 16 + recordLength("a", 3);
          const size = adapter.fs.stat(path)?.size ?? 0;
          // The sync left room: the next appends overwrite zeros the file already has.
          expect(size).toBeGreaterThanOrEqual(data + PREALLOCATE_BYTES / 2);
          const tail = new Uint8Array(size - data);
          const handle = adapter.fs.open(path, "read");
          handle.read(tail, data);
          handle.close();
          expect(tail.every((b) => b === 0)).toBe(true);
          await store.close();
          expect(adapter.fs.stat(path)?.size).toBe(data);
          const again = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
          expect(again.state().lost).toBeUndefined();
          expect(again.loadMsg(1).msg).toStrictEqual(enc("one"));
          await again.close();
        } finally {
          cleanup();
        }
      });
    }

    it("cuts a sealed block back to its data when the next block starts", async () => {
      const fs = freshDisk();
      const store = await open(fs, testClock());
      store.storeMsg("a", null, new Uint8Array(100));
      await store.sync();
      expect(fs.stat(BLOCK)?.size).toBe(8192);
      for (let i = 0; i < 80; i++) store.storeMsg("a", null, new Uint8Array(100));
      await store.sync();
      const sealed = fs.stat(BLOCK)?.size ?? 0;
      expect(sealed).toBeLessThan(8192);
      expect((sealed - 16) % recordLength("a", 100)).toBe(0);
      expect(fs.stat(`${DIR}/msgs/2.blk`)?.size).toBe(8192);
      await store.close();
      expect(verifyStore(DIR, { fs }).ok).toBe(true);
    });

    it("reads zeros after the last record as the end of the data, and a torn record before them as a torn tail", async () => {
      const data = 16 + 3 * recordLength("a", 2);
      const crashed = await crashWithZeros();
      expect(crashed.stat(BLOCK)?.size).toBe(8192);
      const report = verifyStore(DIR, { fs: crashed });
      expect({ ok: report.ok, damaged: report.damaged }).toStrictEqual({ ok: true, damaged: [] });
      const clean = await open(crashed, testClock());
      expect(clean.state().lost).toBeUndefined();
      expect(clean.state().msgs).toBe(3);
      // Cut back to its data at open.
      expect(crashed.stat(BLOCK)?.size).toBe(data);
      await clean.close();

      const torn = await crashWithZeros();
      // Half a record's bytes landed at the end of the data, zeros after them.
      const handle = torn.open(BLOCK, "write");
      handle.write(Uint8Array.of(60, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0), data);
      handle.close();
      const tornReport = verifyStore(DIR, { fs: torn });
      expect(tornReport.damaged.map((d) => [d.kind, d.offset])).toStrictEqual([
        ["torn tail", data],
      ]);
      const reopened = await open(torn, testClock());
      expect(reopened.state().lost?.bytes).toBe(8192 - data);
      expect(reopened.state().msgs).toBe(3);
      await reopened.close();
      expect(torn.stat(BLOCK)?.size).toBe(data);
    });

    for (const aim of ["changes", "writes"] as const) {
      it(
        `keeps every acknowledged durable append when the power goes ${aim === "changes" ? "right after any change" : "inside any write"}`,
        () => crashEverywhere(expect, aim),
        60_000,
      );
    }
  });
}

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 11 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

function open(fs: MemoryFileSystem, clock: TestClock): Promise<FileStore> {
  return FileStore.open({ dir: DIR, fs, blockSize: 8192, syncIntervalMs: 0, now: clock.now });
}

/** Three messages made durable, then a power cut with the store open: its block keeps its zeros. */
async function crashWithZeros(): Promise<MemoryFileSystem> {
  const fs = freshDisk();
  const store = await open(fs, testClock());
  for (let i = 0; i < 3; i++) store.storeMsg("a", null, enc(`m${i}`));
  await store.sync();
  const crashed = fs.crash({ lose: "unsynced" });
  await store.close().catch(() => {});
  return crashed;
}

/** Bytes of a record without headers or TTL (FORMAT.md, "Record"). */
function recordLength(subject: string, payload: number): number {
  return 28 + subject.length + payload + 8;
}

/** Durable appends: one writer awaiting each sync, then four sharing rounds, across block rolls. */
async function durableAppends(
  disk: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
): Promise<unknown> {
  let store: FileStore | null = null;
  try {
    store = await open(disk, clock);
    for (let i = 0; i < 30; i++) {
      ledger.store(store, clock);
      await ledger.acknowledge(store.sync());
    }
    const writer = async (s: FileStore) => {
      for (let i = 0; i < 12; i++) {
        ledger.store(s, clock);
        await ledger.acknowledge(s.sync());
      }
    };
    await Promise.all([writer(store), writer(store), writer(store), writer(store)]);
    await store.close();
    ledger.ackAll();
    return null;
  } catch (error) {
    await store?.close().catch(() => {});
    return error;
  }
}

async function crashEverywhere(expect: TestApi["expect"], aim: "changes" | "writes") {
  const clean = freshDisk();
  const cleanLedger = new Ledger();
  expect(await durableAppends(clean, testClock(), cleanLedger)).toBeNull();
  // More than one block: the rolls' cuts are among the crash points.
  expect(clean.stat(`${DIR}/msgs/2.blk`)).not.toBeNull();
  const before = aim === "writes" ? 0 : freshDisk().changes;
  const points = (aim === "writes" ? clean.counters.writes : clean.changes) - before;
  expect(points).toBeGreaterThan(40);
  let torn = 0;
  for (let at = 1; at <= points; at++) {
    const disk = freshDisk();
    disk.setFaults(
      aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: before + at },
    );
    const clock = testClock();
    const ledger = new Ledger();
    await durableAppends(disk, clock, ledger);
    expect({ at, crashed: disk.crashed }).toStrictEqual({ at, crashed: true });
    const cases: [LoseMode, number][] = [
      ["unsynced", 0],
      ["none", 0],
      ["random", at],
    ];
    for (const [lose, seed] of cases) {
      const after = disk.crash({ lose, seed });
      const where = `crash at ${aim === "writes" ? "write" : "change"} ${at} of ${points}, lose ${lose}`;
      // Whole writes only (every unsynced one lost, or all kept after a completed change):
      // zeros after the data are never damage, before the reopen (verify) or at it. A random
      // cut may tear its oldest undone write, and a cut inside a write tears it: torn tails.
      const whole = lose === "unsynced" || (aim === "changes" && lose === "none");
      if (whole && after.stat(`${DIR}/msgs`) !== null) {
        // A block file created and not yet written is a (zero-length) bad header, as before.
        const damaged = verifyStore(DIR, { fs: after }).damaged.filter((d) => d.length > 0);
        expect({ where, damaged }).toStrictEqual({ where, damaged: [] });
      }
      const store = await open(after, clock);
      expectKeepsAcknowledged(expect, store, ledger, where);
      const lost = store.state().lost;
      if (whole) expect({ where, lost }).toStrictEqual({ where, lost: undefined });
      else if ((lost?.bytes ?? 0) > 0) torn++;
      await store.close();
      const report = verifyStore(DIR, { fs: after });
      expect({ where, ok: report.ok, damaged: report.damaged }).toStrictEqual({
        where,
        ok: true,
        damaged: [],
      });
    }
  }
  // A write torn inside a record, zeros after it, is still a torn tail.
  expect(torn).toBeGreaterThan(0);
}
