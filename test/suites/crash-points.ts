/**
 * Exhaustive crash points: one scripted workload (stores across several
 * blocks, removals, erases, purgeEx, compact, skips, checkpoints, a clean
 * close and a reopen, which replays and writes again, then the rewrite
 * paths: an erase in a block a checkpoint vouches for, a truncate that cuts
 * the block holding an acknowledged tombstone, a compact past a block that
 * holds only tombstones, a purge) is run once to count its writes and its
 * changes, then once per index with the memory adapter's power cut aimed
 * there: torn inside each write (`crashAfterWrites`), and right after each
 * change of any kind — write, truncate, fsync, create, rename, unlink
 * (`crashAfterChanges`). Each cut is examined three ways: as a power failure
 * (every unsynced byte lost), as a killed process (everything that reached
 * the OS kept, a cut write torn) and as a random mix. After each, the
 * store must reopen, keep every message a completed sync()/flush()/close()
 * acknowledged, byte-identical, bring back no acknowledged removal, return no
 * half-written message, agree with a full scan in `state()`, and take the
 * next sequence for a new write, which itself survives a clean reopen.
 */

import type { LoseMode } from "../../runtimes/memory.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { TestApi } from "../harness.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { enc, plain, type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/s";

export function crashPointSuite(api: TestApi): void {
  const { describe, it, expect } = api;
  describe("crash at every write (memory adapter)", () => {
    const modes: [string, SyncMode][] = [
      ["group commit", GROUP],
      ["group commit, syncInline", { syncAlways: false, syncInline: true }],
      ["syncAlways", { syncAlways: true, syncInline: false }],
    ];
    for (const [name, mode] of modes) {
      it(
        `keeps every acknowledged message at every crash point of a mixed workload (${name})`,
        () => crashEverywhere(expect, mode, "writes"),
        60_000,
      );
      it(
        `keeps every acknowledged message and removal when the power goes right after any change: write, truncate, fsync, create, rename, unlink (${name})`,
        () => crashEverywhere(expect, mode, "changes"),
        60_000,
      );
    }
  });
}

/** How the workload's writes become durable. */
interface SyncMode {
  syncAlways: boolean;
  syncInline: boolean;
}

const GROUP: SyncMode = { syncAlways: false, syncInline: false };

async function crashEverywhere(
  expect: TestApi["expect"],
  mode: SyncMode,
  aim: "writes" | "changes",
): Promise<void> {
  const { syncAlways } = mode;
  const clean = await runWorkload(freshDisk(), testClock(), new Ledger(), mode);
  expect(clean.error).toBeNull();
  // Making the store's parent directory is not the workload's.
  const before = aim === "writes" ? 0 : freshDisk().changes;
  const points = (aim === "writes" ? clean.disk.counters.writes : clean.disk.changes) - before;
  // Several blocks, checkpoints and a reopen: the script must stay big enough to mean something.
  expect(points).toBeGreaterThan(aim === "writes" ? 30 : 60);
  const outcomes = { crashed: 0, torn: 0 };
  for (let at = 1; at <= points; at++) {
    const disk = freshDisk();
    disk.setFaults(
      aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: before + at },
    );
    const clock = testClock();
    const ledger = new Ledger({ syncAlways });
    const run = await runWorkload(disk, clock, ledger, mode);
    expect({ at, crashed: disk.crashed }).toStrictEqual({ at, crashed: true });
    if (run.error !== null) outcomes.crashed++;
    const cases: [LoseMode, number][] = [
      ["unsynced", 0],
      ["none", 0],
    ];
    // With syncAlways nothing is unsynced but the cut write itself: the two above cover it.
    if (!syncAlways) cases.push(["random", at]);
    for (const [lose, seed] of cases) {
      const after = disk.crash({ lose, seed });
      const where = `crash at ${aim === "writes" ? "write" : "change"} ${at} of ${points}, lose ${lose}`;
      if (await reopenAndCheck(after, clock, ledger, where, expect)) outcomes.torn++;
    }
  }
  // Every cut surfaced as an error somewhere, and killed-process cuts inside writes left torn tails to cut.
  expect(outcomes.crashed).toBe(points);
  if (aim === "writes") expect(outcomes.torn).toBeGreaterThan(points / 4);
}

/** A memory disk with the store's parent directory made durable. */
function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 7 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

function open(fs: MemoryFileSystem, clock: TestClock, mode: SyncMode = GROUP): Promise<FileStore> {
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    ...mode,
    now: clock.now,
  });
}

/**
 * The scripted workload. Stops at the first error, as a process whose disk
 * died would; the store is then closed (which fails, but frees its memory).
 */
async function runWorkload(
  disk: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
  mode: SyncMode,
): Promise<{ disk: MemoryFileSystem; error: unknown }> {
  const { syncAlways } = mode;
  let store: FileStore | null = null;
  const many = (n: number) => {
    for (let i = 0; i < n; i++) ledger.store(store!, clock);
  };
  // Many small acknowledged batches: each is its own write-out, so its own crash points.
  const batches = async (n: number, size: number) => {
    for (let i = 0; i < n; i++) {
      many(size);
      // With syncAlways every write is its own acknowledgement; awaiting adds only timer turns.
      if (!syncAlways) await ledger.acknowledge(store!.sync());
    }
  };
  try {
    store = await open(disk, clock, mode);
    await batches(10, 7);
    ledger.remove(store, 5);
    ledger.remove(store, 6);
    ledger.remove(store, 31);
    ledger.remove(store, 40, true);
    await ledger.acknowledge(store.sync());
    many(40);
    ledger.purgeSubject(store, "orders.3");
    await ledger.acknowledge(store.flush());
    ledger.compact(store, 20);
    ledger.skip(store);
    await batches(6, 5);
    ledger.remove(store, 100);
    ledger.remove(store, 141, true);
    many(10);
    await store.close();
    ledger.ackAll();
    store = await open(disk, clock, mode);
    await batches(5, 5);
    ledger.remove(store, 150);
    await ledger.acknowledge(store.sync());
    ledger.compact(store, 60);
    many(5);
    // An erase in a sealed block the checkpoint vouches for: intact or gone after a crash, never changed.
    await ledger.acknowledge(store.flush());
    ledger.remove(store, ledger.liveAtOrAfter(100), true);
    many(3);
    await ledger.acknowledge(store.sync());
    // A truncate that cuts the block holding an acknowledged tombstone of a message it keeps.
    const base = ledger.lastSeq;
    many(90);
    ledger.remove(store, base + 2);
    await ledger.acknowledge(store.sync());
    ledger.truncate(store, base + 3);
    many(4);
    await ledger.acknowledge(store.sync());
    // A compact past a sealed block holding only a tombstone (big messages fill blocks alone).
    many(3);
    const small = ledger.lastSeq - 1;
    ledger.store(store, clock, 5000);
    ledger.remove(store, small);
    ledger.store(store, clock, 5000);
    many(1);
    ledger.compact(store, ledger.lastSeq);
    await ledger.acknowledge(store.sync());
    many(5);
    ledger.purgeAll(store);
    many(2);
    await store.close();
    ledger.ackAll();
    store = null;
    return { disk, error: null };
  } catch (error) {
    await store?.close().catch(() => {});
    return { disk, error };
  }
}

/**
 * Reopens the survivor of a cut and checks it against the ledger, then
 * writes one more message and checks it survives a clean reopen. Returns
 * whether the reopen found a torn tail.
 */
async function reopenAndCheck(
  fs: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
  where: string,
  expect: TestApi["expect"],
): Promise<boolean> {
  const store = await open(fs, clock);
  const state = store.state();
  expectKeepsAcknowledged(expect, store, ledger, where);
  clock.t = 9_000_000_000n;
  const next = store.storeMsg("after.crash", null, enc(where));
  expect({ where, seq: next.seq }).toStrictEqual({ where, seq: state.lastSeq + 1 });
  await store.close();
  const again = await open(fs, clock);
  expect({ where, msg: plain(again.loadMsg(next.seq)) }).toStrictEqual({
    where,
    msg: plain({ subject: "after.crash", hdr: null, msg: enc(where), ...next }),
  });
  expect({ where, lost: again.state().lost }).toStrictEqual({ where, lost: undefined });
  expect({ where, msgs: again.fastState().msgs }).toStrictEqual({ where, msgs: state.msgs + 1 });
  await again.close();
  return (state.lost?.bytes ?? 0) > 0;
}
