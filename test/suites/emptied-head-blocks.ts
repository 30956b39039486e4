/**
 * Emptied head blocks whose removals chain: the tombstones that emptied one
 * block sit in the next, which is emptied in turn and unlinked with it, while
 * the last checkpoint, written before either, still lists the first. After a
 * power cut the store must know those messages were removed, not lost, and
 * so must it when the fsync of a block holding such tombstones failed before
 * the block was emptied and dropped (the round that unlinks it never syncs it).
 */

import type { LoseMode, MemoryFileSystem } from "../../runtimes/memory.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { TestApi } from "../harness.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/s";
/** About 35 of the ledger's messages fill one block. */
const BLOCK_SIZE = 4096;
const PER_ROUND = 35;
const ROUNDS = 5;

export function emptiedHeadBlockSuite(api: TestApi): void {
  const { describe, it, expect } = api;
  describe("emptied head blocks holding each other's tombstones (memory adapter)", () => {
    it("reopen after a power cut with no removal reported lost, the checkpoint listing blocks long unlinked", async () => {
      const disk = freshDisk();
      const clock = testClock();
      const ledger = new Ledger();
      const run = await chainOfRemovals(disk, clock, ledger);
      expect(run.error).toBeNull();
      // The chain did unlink blocks the checkpoint lists: the case is there to be got wrong.
      const files = disk.list(`${DIR}/msgs`).filter((f) => f.endsWith(".blk"));
      expect(files).not.toContain("1.blk");
      expect(files).not.toContain("2.blk");
      const modes: LoseMode[] = ["unsynced", "none"];
      const survivors = await cutPower(run, modes, 1);
      for (const [i, after] of survivors.entries()) {
        const store = await reopen(after, clock);
        expectKeepsAcknowledged(expect, store, ledger, `lose ${modes[i]}`);
        expect(store.state().lost).toBeUndefined();
        expect(store.state().firstSeq).toBe(ROUNDS * PER_ROUND - PER_ROUND + 1);
        await store.close();
      }
    });

    it("keeps every acknowledged removal when the power goes right after any change of the chain", async () => {
      const clean = await chainOfRemovals(freshDisk(), testClock(), new Ledger());
      await cutPower(clean, [], 0);
      const before = freshDisk().changes;
      const points = clean.disk.changes - before;
      expect(points).toBeGreaterThan(40);
      for (let at = 1; at <= points; at++) {
        const disk = freshDisk();
        disk.setFaults({ crashAfterChanges: before + at });
        const clock = testClock();
        const ledger = new Ledger();
        const run = await chainOfRemovals(disk, clock, ledger);
        const modes: LoseMode[] = ["unsynced", "none", "random"];
        const survivors = await cutPower(run, modes, at);
        for (const [i, after] of survivors.entries()) {
          const store = await reopen(after, clock);
          const where = `change ${at} of ${points}, lose ${modes[i]}`;
          expectKeepsAcknowledged(expect, store, ledger, where);
          await store.close();
        }
      }
    }, 120_000);

    it("keeps every acknowledged removal when any one fsync fails and drops its writes (fsyncgate)", async () => {
      const clean = await chainOfRemovals(freshDisk(), testClock(), new Ledger());
      await cutPower(clean, [], 0);
      const before = freshDisk().counters.syncs;
      const syncs = clean.disk.counters.syncs - before;
      expect(syncs).toBeGreaterThan(10);
      let refused = 0;
      for (let at = 1; at <= syncs; at++) {
        const disk = freshDisk();
        disk.setFaults({ failSync: { index: before + at }, dropUnsyncedOnSyncFailure: true });
        const clock = testClock();
        const ledger = new Ledger();
        const run = await chainOfRemovals(disk, clock, ledger, { tolerateSyncFailures: true });
        expect(run.error).toBeNull();
        refused += run.refused;
        const [after] = await cutPower(run, ["unsynced"], at);
        const store = await reopen(after, clock);
        expectKeepsAcknowledged(expect, store, ledger, `fsync ${at} of ${syncs} failed`);
        await store.close();
      }
      // Failed fsyncs were reported, not swallowed (some fail in the background: early fsyncs of sealed blocks).
      expect(refused).toBeGreaterThan(0);
    }, 120_000);
  });
}

interface Chain {
  disk: MemoryFileSystem;
  error: unknown;
  /** Syncs that failed (with `tolerateSyncFailures`). */
  refused: number;
  /** Left open for the power cut; null if it did not open. */
  store: FileStore | null;
}

/** Cuts the power on `run.disk` with each mode, then lets go of the store left open. */
async function cutPower(run: Chain, modes: LoseMode[], seed: number): Promise<MemoryFileSystem[]> {
  const after = modes.map((lose) => run.disk.crash({ lose, seed }));
  await run.store?.close().catch(() => {});
  return after;
}

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 5 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

function reopen(fs: MemoryFileSystem, clock: TestClock): Promise<FileStore> {
  return FileStore.open({ dir: DIR, fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0, now: clock.now });
}

/**
 * A checkpoint, then rounds of "store about a block, remove the oldest block's
 * worth one by one, sync": each block holds the tombstones that emptied the
 * block before it, then is emptied itself. Ends without a close, so the
 * checkpoint on disk is the first one: the caller cuts the power, then closes
 * the store (which fails on the dead disk but frees its memory). With
 * `tolerateSyncFailures`, a sync that fails is counted and the workload goes
 * on, unacknowledged.
 */
async function chainOfRemovals(
  disk: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
  options: { tolerateSyncFailures?: boolean } = {},
): Promise<Chain> {
  let store: FileStore | null = null;
  let refused = 0;
  const acknowledge = async (request: Promise<void>) => {
    try {
      await ledger.acknowledge(request);
    } catch (err) {
      if (!options.tolerateSyncFailures) throw err;
      refused++;
    }
  };
  try {
    store = await reopen(disk, clock);
    for (let i = 0; i < PER_ROUND; i++) ledger.store(store, clock);
    await acknowledge(store.flush());
    let oldest = 1;
    for (let round = 1; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) ledger.store(store, clock);
      for (let i = 0; i < PER_ROUND; i++) ledger.remove(store, oldest++);
      await acknowledge(store.sync());
    }
    // The unlinks run in the background after a round: let them land, then make their entries durable.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await acknowledge(store.sync());
    await acknowledge(store.sync());
    return { disk, error: null, refused, store };
  } catch (error) {
    return { disk, error, refused, store };
  }
}
