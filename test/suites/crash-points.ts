/**
 * Exhaustive crash points: one scripted workload (stores across several
 * blocks, removals, an erase, purgeEx, compact, skips, checkpoints, a clean
 * close and a reopen, which replays and writes again) is run once to count
 * its writes, then once per write index with the memory adapter's power cut
 * aimed at that write. Each cut is examined three ways: as a power failure
 * (every unsynced byte lost), as a killed process (everything that reached
 * the OS kept, the cut write torn) and as a random mix. After each, the
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
    for (const syncAlways of [false, true]) {
      const mode = syncAlways ? "syncAlways" : "group commit";
      it(
        `keeps every acknowledged message at every crash point of a mixed workload (${mode})`,
        () => crashEverywhere(expect, syncAlways),
        60_000,
      );
    }
  });
}

async function crashEverywhere(expect: TestApi["expect"], syncAlways: boolean): Promise<void> {
  const clean = await runWorkload(freshDisk(), testClock(), new Ledger(), syncAlways);
  expect(clean.error).toBeNull();
  const writes = clean.disk.counters.writes;
  // Several blocks, checkpoints and a reopen: the script must stay big enough to mean something.
  expect(writes).toBeGreaterThan(30);
  const outcomes = { crashed: 0, torn: 0 };
  for (let at = 1; at <= writes; at++) {
    const disk = freshDisk();
    disk.setFaults({ crashAfterWrites: at });
    const clock = testClock();
    const ledger = new Ledger({ syncAlways });
    const run = await runWorkload(disk, clock, ledger, syncAlways);
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
      const where = `crash at write ${at} of ${writes}, lose ${lose}`;
      if (await reopenAndCheck(after, clock, ledger, where, expect)) outcomes.torn++;
    }
  }
  // Every cut surfaced as an error somewhere, and killed-process cuts left torn tails to cut.
  expect(outcomes.crashed).toBe(writes);
  expect(outcomes.torn).toBeGreaterThan(writes / 4);
}

/** A memory disk with the store's parent directory made durable. */
function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 7 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

function open(fs: MemoryFileSystem, clock: TestClock, syncAlways = false): Promise<FileStore> {
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    syncAlways,
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
  syncAlways: boolean,
): Promise<{ disk: MemoryFileSystem; error: unknown }> {
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
    store = await open(disk, clock, syncAlways);
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
    store = await open(disk, clock, syncAlways);
    await batches(5, 5);
    ledger.remove(store, 150);
    await ledger.acknowledge(store.sync());
    ledger.compact(store, 60);
    many(5);
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
