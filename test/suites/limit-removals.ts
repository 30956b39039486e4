/**
 * Removals for limits on a FileStore: the oldest message goes by its block's
 * size and subject-id columns (no record read), a per-subject limit whose
 * oldest is the stream's first removes it as the head, and head removals
 * share one range tombstone per write-out. Checked two ways: long random runs
 * against MemStore (counts, bytes, subjects and every message, across block
 * rolls, headers, TTLs, removals in the middle, truncates and reopens), and a
 * power cut after every change of a limited workload (memory adapter), after
 * which the store must keep every acknowledged message and bring back no
 * acknowledged removal.
 */

import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StreamPolicy } from "../../src/stream-policy.ts";
import type { StoredMsg, StreamLimits, StreamStore } from "../../src/types.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { expectKeepsAcknowledged, Ledger, subjectFor } from "./durability-ledger.ts";
import { codeOf, enc, inTempDir, plain, type TestClock, testClock } from "./store-helpers.ts";

const BLOCK_SIZE = 4096;
const SUBJECTS = ["a.1", "a.2", "b.1", "b.2", "c", "d.x.y", "e"];

/** Limits each random run is held to: each removes from the head in its own way. */
const LIMITS: [string, StreamLimits][] = [
  ["maxMsgs", { maxMsgs: 37 }],
  ["maxBytes", { maxBytes: 6_000 }],
  ["maxMsgsPerSubject", { maxMsgsPerSubject: 3 }],
  [
    "all three, with TTLs",
    { maxMsgs: 50, maxBytes: 9_000, maxMsgsPerSubject: 9, allowMsgTtl: true },
  ],
];

function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** Every live message, by a scan. */
function messages(store: StreamStore): ReturnType<typeof plain>[] {
  const out: ReturnType<typeof plain>[] = [];
  for (let seq = 1; ; ) {
    let next: StoredMsg;
    try {
      next = store.loadNextMsg(">", true, seq);
    } catch {
      return out;
    }
    out.push(plain(next));
    seq = next.seq + 1;
  }
}

/** TTLs the engine's expiry wheel holds (internal: both engines keep one in their policy). */
function ttlsPending(store: StreamStore): number {
  return (store as unknown as { policy: StreamPolicy }).policy.expiry.ttls.pending;
}

export function limitRemovalSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  for (const adapter of ctx.adapters) {
    describe(`removals for limits (${adapter.name})`, () => {
      for (const [name, limits] of LIMITS) {
        it(
          `${name}: counts, bytes, subjects and messages match MemStore over block rolls, removals, truncates and reopens`,
          () =>
            inTempDir(adapter, async (dir) => {
              const clock = testClock(1_000_000n);
              const options = { now: clock.now, ...limits };
              const open = () =>
                FileStore.open({
                  dir,
                  fs: adapter.fs,
                  blockSize: BLOCK_SIZE,
                  syncIntervalMs: 0,
                  ...options,
                });
              const model = MemStore.create(options);
              let store = await open();
              const random = xorshift(0x2545f491 + name.length);
              const pick = (n: number) => Math.floor(random() * n);
              try {
                for (let step = 0; step < 1_500; step++) {
                  clock.t += 1_000n;
                  const roll = random();
                  let op: string;
                  if (roll < 0.85) {
                    // Skewed subjects, so per-subject oldest is sometimes the head and sometimes not.
                    const subject =
                      SUBJECTS[Math.min(pick(SUBJECTS.length), pick(SUBJECTS.length))];
                    const hdr = pick(4) === 0 ? enc(`h:${step}`) : null;
                    const msg = new Uint8Array(pick(4) === 0 ? pick(700) : pick(120)).fill(
                      step & 0xff,
                    );
                    const ttl = limits.allowMsgTtl && pick(3) === 0 ? 3_600 : undefined;
                    op = `store ${subject} ${hdr?.length ?? 0}+${msg.length} ttl ${ttl}`;
                    expect({ step, op, r: store.storeMsg(subject, hdr, msg, ttl) }).toEqual({
                      step,
                      op,
                      r: model.storeMsg(subject, hdr, msg, ttl),
                    });
                  } else if (roll < 0.95) {
                    const { firstSeq, lastSeq } = model.fastState();
                    const seq = firstSeq + pick(Math.max(lastSeq - firstSeq + 1, 1));
                    op = `remove ${seq}`;
                    expect({ step, op, r: store.removeMsg(seq) }).toEqual({
                      step,
                      op,
                      r: model.removeMsg(seq),
                    });
                  } else if (roll < 0.97) {
                    // truncate keeps a live message: the newest one at or below a pick near the end.
                    const { lastSeq } = model.fastState();
                    let seq = 0;
                    for (let s = lastSeq - pick(5); s > 0 && seq === 0; s--) {
                      if (codeOf(() => model.loadMsg(s)) === "no error") seq = s;
                    }
                    op = seq === 0 ? "nothing to truncate" : `truncate ${seq}`;
                    if (seq !== 0) {
                      store.truncate(seq);
                      model.truncate(seq);
                    }
                  } else {
                    op = "reopen";
                    await store.close();
                    store = await open();
                  }
                  expect({ step, op, state: store.fastState() }).toEqual({
                    step,
                    op,
                    state: model.fastState(),
                  });
                  // A removed message's TTL leaves the wheel with it (the size column's TTL bit says it had one).
                  expect({ step, op, ttls: ttlsPending(store) }).toEqual({
                    step,
                    op,
                    ttls: ttlsPending(model),
                  });
                  if (step % 100 === 99) {
                    expect({ step, totals: store.subjectsTotals(">") }).toEqual({
                      step,
                      totals: model.subjectsTotals(">"),
                    });
                    expect({ step, msgs: messages(store) }).toEqual({
                      step,
                      msgs: messages(model),
                    });
                  }
                }
                // Enough happened: the limit removed most of what was stored, over many blocks.
                expect(model.fastState().firstSeq).toBeGreaterThan(300);
                await store.close();
                store = await open();
                expect(store.state()).toEqual(model.state());
                expect(messages(store)).toEqual(messages(model));
              } finally {
                await store.close();
                await model.delete();
              }
            }),
          60_000,
        );
      }

      it("maxMsgs across blocks of over 1024 messages, a removal above the head, a truncate and a reopen match MemStore", () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock(1_000_000n);
          const options = { now: clock.now, maxMsgs: 1_500 };
          // ~2,900 records of 44 bytes a block: the next block's columns start at that size, not 1024.
          const open = () =>
            FileStore.open({
              dir,
              fs: adapter.fs,
              blockSize: 128 * 1024,
              syncIntervalMs: 0,
              ...options,
            });
          const model = MemStore.create(options);
          let store = await open();
          const both = (fn: (s: StreamStore) => unknown) => expect(fn(store)).toEqual(fn(model));
          try {
            const payload = new Uint8Array(4);
            for (let i = 0; i < 7_000; i++) {
              clock.t += 1_000n;
              both((s) => s.storeMsg(SUBJECTS[i % SUBJECTS.length], null, payload));
              // A removal above the head: the head removals that reach it step over it.
              if (i === 4_000) both((s) => s.removeMsg(s.fastState().firstSeq + 700));
              if (i === 6_000) {
                // Cut into the newest block, then append again over the sequences it freed.
                both((s) => s.truncate(s.fastState().lastSeq - 50));
              }
              if (i % 500 === 0) both((s) => s.fastState());
            }
            both((s) => s.state());
            both((s) => s.subjectsTotals(">"));
            expect(messages(store)).toEqual(messages(model));
            await store.close();
            store = await open();
            both((s) => s.state());
            expect(messages(store)).toEqual(messages(model));
            // And on after the reopen, through the next block boundary.
            for (let i = 0; i < 4_000; i++) {
              clock.t += 1_000n;
              both((s) => s.storeMsg(SUBJECTS[i % SUBJECTS.length], null, payload));
            }
            both((s) => s.state());
            expect(messages(store)).toEqual(messages(model));
          } finally {
            await store.close();
            await model.delete();
          }
        }));
    });
  }

  describe("power cut while limits remove from the head (memory adapter)", () => {
    it("keeps every acknowledged message and brings back no acknowledged removal, at every change", async () => {
      const clean = await runLimited(freshDisk(), testClock(), new LimitedLedger());
      expect(clean.error).toBeNull();
      const before = freshDisk().changes;
      const points = clean.disk.changes - before;
      // Blocks rolled and emptied head blocks were unlinked: many changes to cut at.
      expect(points).toBeGreaterThan(100);
      let crashed = 0;
      for (let at = 1; at <= points; at++) {
        const disk = freshDisk();
        disk.setFaults({ crashAfterChanges: before + at });
        const clock = testClock();
        const ledger = new LimitedLedger();
        const run = await runLimited(disk, clock, ledger);
        if (run.error !== null) crashed++;
        for (const lose of ["unsynced", "none"] as const) {
          const where = `power cut after change ${at} of ${points}, lose ${lose}`;
          // Opened without limits: what is checked is what the removals left on disk.
          const store = await FileStore.open({
            dir: DIR,
            fs: disk.crash({ lose, seed: at }),
            blockSize: BLOCK_SIZE,
            syncIntervalMs: 0,
            now: clock.now,
          });
          const state = store.state();
          expectKeepsAcknowledged(expect, store, ledger, where);
          const next = store.storeMsg("after.cut", null, enc(where));
          expect({ where, seq: next.seq }).toStrictEqual({ where, seq: state.lastSeq + 1 });
          await store.close();
        }
      }
      expect(crashed).toBe(points);
    }, 120_000);
  });
}

const DIR = "/s";

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 11 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

/** The ledger, with the limits of `runLimited` applied to its own model after each store. */
class LimitedLedger extends Ledger {
  limits: { maxMsgs: number; maxMsgsPerSubject: number } = { maxMsgs: 0, maxMsgsPerSubject: 0 };

  storeLimited(store: StreamStore, clock: TestClock, size?: number): void {
    const seq = this.store(store, clock, size);
    this.enforce(subjectFor(seq));
  }

  /** What the store does after a message on `subject` (all subjects when null), as limits.ts describes it. */
  enforce(subject: string | null): void {
    const { maxMsgs, maxMsgsPerSubject } = this.limits;
    const subjects =
      subject === null ? new Set([...this.live.values()].map((m) => m.subject)) : [subject];
    for (const s of subjects) {
      const seqs = [...this.live].filter(([, m]) => m.subject === s).map(([seq]) => seq);
      while (maxMsgsPerSubject > 0 && seqs.length > maxMsgsPerSubject)
        this.live.delete(seqs.shift()!);
    }
    while (maxMsgs > 0 && this.live.size > maxMsgs) this.live.delete(Math.min(...this.live.keys()));
  }
}

/**
 * Stores in small acknowledged batches under `maxMsgs`, then under a
 * per-subject limit (applied at reopen, then after each store), with a
 * removal in the middle now and then. Stops at the first error.
 */
async function runLimited(
  disk: MemoryFileSystem,
  clock: TestClock,
  ledger: LimitedLedger,
): Promise<{ disk: MemoryFileSystem; error: unknown }> {
  let store: FileStore | null = null;
  const open = (limits: StreamLimits) =>
    FileStore.open({
      dir: DIR,
      fs: disk,
      blockSize: BLOCK_SIZE,
      syncIntervalMs: 0,
      now: clock.now,
      ...limits,
    });
  const batches = async (n: number, size: number) => {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < size; k++) ledger.storeLimited(store!, clock);
      if (i % 3 === 2) ledger.remove(store!, ledger.liveAtOrAfter(ledger.lastSeq - 4));
      await ledger.acknowledge(store!.sync());
    }
  };
  try {
    ledger.limits = { maxMsgs: 12, maxMsgsPerSubject: 0 };
    store = await open({ maxMsgs: 12 });
    await batches(12, 9);
    await store.close();
    ledger.ackAll();
    // Five subjects at two each: the per-subject limit now bites first. Open
    // applies it, so the ledger drops what it removes before asking.
    ledger.limits = { maxMsgs: 12, maxMsgsPerSubject: 2 };
    ledger.enforce(null);
    store = await open({ maxMsgs: 12, maxMsgsPerSubject: 2 });
    await ledger.acknowledge(store.sync());
    await batches(10, 8);
    await store.close();
    ledger.ackAll();
    store = null;
    return { disk, error: null };
  } catch (error) {
    await store?.close().catch(() => {});
    return { disk, error };
  }
}
