/**
 * Crash points of the removals nobody calls removeMsg for: per-message TTL
 * expiry (on a store, on updateConfig, on the timer, at open) with subject
 * delete markers and onExpire, maxAge, maxMsgs / maxBytes /
 * maxMsgsPerSubject trims (emptied head blocks unlinked in the background,
 * lowered limits trimmed at open), and the removals consumers' acks make on
 * work-queue and interest streams. Each scripted workload runs on a
 * FileStore (memory adapter) beside a MemStore given the same calls and the
 * same clock, which is the model: it says what is live after each call and
 * what a completed sync()/flush()/close() covered. The workload is run once
 * to count its writes and changes, then once per index with the power cut
 * there, torn inside each write (`crashAfterWrites`) and right after each
 * change of any kind (`crashAfterChanges`: write, truncate, fsync, create,
 * rename, unlink), each cut seen as a power failure, a killed process and a
 * random mix. The survivor is reopened with the same options at the same
 * instant (and its consumers with it, which settles acks whose removals the
 * cut lost) and must:
 *
 * - keep every acknowledged message the model still holds and that is not
 *   due to expire by then, byte for byte, with its TTL;
 * - bring back no acknowledged removal, and hold no message that is due;
 * - return nothing but what was written at that sequence (or a marker its
 *   own open wrote past the acknowledged end);
 * - hold a marker for every subject whose acknowledged last message expired
 *   and is gone, unless the marker's own TTL has run out;
 * - agree in state, subjects and TTLs with a MemStore rebuilt from the
 *   messages it returned, now and after each second of expiries that follow;
 * - read the same after two more reopens.
 */

import type { LoseMode } from "../../runtimes/memory.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import type { Consumer } from "../../src/consumers/consumer.ts";
import type { ConsumerOptions } from "../../src/consumers/consumer-options.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import { isDeleteMarker } from "../../src/subject-delete-markers.ts";
import type { ExpiredMsg, StoredMsg, StreamLimits, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { type PlainMsg, plain, type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/s";
const SEC = 1_000_000_000n;
const BLOCK_SIZE = 4096;

interface Scenario {
  name: string;
  limits: StreamLimits;
  /** Consumers opened (on both stores) before the script and again after each cut. */
  consumers: [string, ConsumerOptions][];
  script(run: Run): Promise<void>;
}

/** What one acknowledgement covered: the model's live messages and last sequence when it was asked for. */
interface Covered {
  live: Set<number>;
  lastSeq: number;
  order: number;
}

/**
 * One run of a workload: the FileStore under test, the MemStore model, the
 * clock and what has been acknowledged. Every operation is made on the
 * model first, then on the store; the first error of the store ends the run.
 */
class Run {
  store: FileStore | null = null;
  readonly model: MemStore;
  readonly clock: TestClock;
  readonly disk: MemoryFileSystem;
  /** The scenario with the limits in force now (a script lowers them). */
  readonly scenario: Scenario;
  /** Sequences the script removed by a call. */
  readonly removedByCall = new Set<number>();
  /** Every message either store ever held, by sequence (the model's copy), with its TTL. */
  readonly written = new Map<number, { msg: PlainMsg; ttl: number }>();
  /** The model's live sequences before the operation in progress, and after it. */
  before = new Set<number>();
  after = new Set<number>();
  /** What onExpire told of, on the model and on the store. */
  readonly expired: number[] = [];
  readonly storeExpired: number[] = [];
  acked: Covered = { live: new Set(), lastSeq: 0, order: 0 };
  /** Stream sequences whose consumer acks a completed sync covered, per consumer. */
  ackedByConsumer = new Map<string, Set<number>>();
  private ackedPending = new Map<string, Set<number>>();
  private requests = 0;
  storeConsumers = new Map<string, Consumer>();
  /** Consumers whose deletion was asked for (a cut may leave it done or not). */
  readonly deleting = new Set<string>();
  modelConsumers = new Map<string, Consumer>();

  constructor(disk: MemoryFileSystem, scenario: Scenario) {
    this.disk = disk;
    this.scenario = { ...scenario, limits: { ...scenario.limits } };
    this.clock = testClock(1_000n * SEC);
    this.model = MemStore.create({
      ...scenario.limits,
      now: this.clock.now,
      onExpire: (e) => this.expired.push(e.seq),
    });
    for (const [name] of scenario.consumers) {
      this.ackedByConsumer.set(name, new Set());
      this.ackedPending.set(name, new Set());
    }
  }

  /** Opens the store; a change the caller made to the model's limits first is the open's. */
  async open(): Promise<void> {
    this.begin();
    this.end();
    this.store = await openStore(this.disk, this.clock, this.scenario, (e) =>
      this.storeExpired.push(e.seq),
    );
    for (const [name, options] of this.scenario.consumers)
      this.storeConsumers.set(name, this.store.consumer(name, options));
    this.end();
  }

  openModelConsumers(): void {
    for (const [name, options] of this.scenario.consumers)
      this.modelConsumers.set(name, this.model.consumer(name, options));
  }

  private begin(): void {
    this.before = this.after;
  }

  /** After an operation: the model's live set, and every new message noted as written. */
  private end(): void {
    const live = new Set<number>();
    const last = this.model.fastState().lastSeq;
    for (let seq = this.model.fastState().firstSeq; seq <= last && seq > 0; seq++) {
      let m: StoredMsg;
      try {
        m = this.model.loadMsg(seq);
      } catch {
        continue;
      }
      live.add(seq);
      if (!this.written.has(seq))
        this.written.set(seq, { msg: plain(m), ttl: this.model.msgTtl(seq) });
    }
    this.after = live;
  }

  private op(both: (s: StreamStore) => void): void {
    this.begin();
    both(this.model);
    this.end();
    both(this.store!);
  }

  put(subject: string, size: number, ttl = 0): void {
    const payload = new Uint8Array(size);
    const seq = this.model.fastState().lastSeq + 1;
    for (let i = 0; i < size; i++) payload[i] = (seq * 7 + i) & 0xff;
    const hdr = seq % 3 === 0 ? new TextEncoder().encode(`h:${seq}`) : null;
    this.op((s) => {
      s.storeMsg(subject, hdr, payload, ttl);
    });
  }

  remove(seq: number): void {
    this.removedByCall.add(seq);
    this.op((s) => {
      s.removeMsg(seq);
    });
  }

  /** Moves the clock, then has both stores expire what is due (updateConfig applies the limits now). */
  jump(ms: number): void {
    this.clock.t += BigInt(ms) * 1_000_000n;
    this.op((s) => s.updateConfig(this.scenario.limits));
  }

  /** Lowers (or raises) the limits of both stores now. */
  setLimits(limits: StreamLimits): void {
    this.scenario.limits = limits;
    this.op((s) => s.updateConfig(limits));
  }

  /** Moves the clock and lets the expiry timers (which read it) run. */
  async sleep(ms: number): Promise<void> {
    this.clock.t += BigInt(ms) * 1_000_000n;
    this.begin();
    this.model.updateConfig(this.scenario.limits);
    this.end();
    await new Promise((resolve) => setTimeout(resolve, 15));
    // A timer that has not fired yet has its expiry made by the call instead.
    this.store!.updateConfig(this.scenario.limits);
  }

  async fetchAck(name: string, max: number, ack: (seq: number) => boolean): Promise<void> {
    this.begin();
    const mine = await this.modelConsumers.get(name)!.fetch(max, { expiresMs: 0 });
    for (const m of mine) if (ack(m.seq)) this.modelConsumers.get(name)!.ack(m.seq);
    this.end();
    const theirs = await this.storeConsumers.get(name)!.fetch(max, { expiresMs: 0 });
    const same = theirs.map((m) => m.seq).join() === mine.map((m) => m.seq).join();
    if (!same)
      throw new Error(
        `fetch ${name}: the store gave ${theirs.map((m) => m.seq)}, the model ${mine.map((m) => m.seq)}`,
      );
    for (const m of theirs) {
      if (!ack(m.seq)) continue;
      this.ackedPending.get(name)!.add(m.seq);
      this.storeConsumers.get(name)!.ack(m.seq);
    }
  }

  /** Deletes a consumer on both; once the store's delete resolves, it is acknowledged. */
  async deleteConsumer(name: string): Promise<void> {
    this.begin();
    await this.modelConsumers.get(name)!.delete();
    this.end();
    this.deleting.add(name);
    await this.storeConsumers.get(name)!.delete();
  }

  /**
   * A durability request: what it covers is the model's state when it was
   * asked for (the stream's, unless `consumersOnly`), and the acks recorded so far.
   */
  async acknowledge(
    request: (s: FileStore) => Promise<void>,
    consumersOnly = false,
  ): Promise<void> {
    const covered = {
      live: new Set(this.after),
      lastSeq: this.model.fastState().lastSeq,
      order: ++this.requests,
    };
    const acks = new Map([...this.ackedPending].map(([k, v]) => [k, new Set(v)]));
    await request(this.store!);
    if (!consumersOnly && covered.order > this.acked.order) this.acked = covered;
    for (const [k, v] of acks) for (const seq of v) this.ackedByConsumer.get(k)!.add(seq);
  }

  /** A consumer's sync: its acks are durable, the stream's removals they made need not be. */
  async syncConsumer(name: string): Promise<void> {
    await this.acknowledge(() => this.storeConsumers.get(name)!.sync(), true);
  }

  async close(): Promise<void> {
    await this.acknowledge((s) => s.close());
    this.store = null;
  }
}

function openStore(
  fs: MemoryFileSystem,
  clock: TestClock,
  scenario: Scenario,
  onExpire?: (e: ExpiredMsg) => void,
): Promise<FileStore> {
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: BLOCK_SIZE,
    syncIntervalMs: 0,
    now: clock.now,
    onExpire,
    ...scenario.limits,
  });
}

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 13 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

async function runScenario(
  disk: MemoryFileSystem,
  scenario: Scenario,
): Promise<{ run: Run; error: unknown }> {
  const run = new Run(disk, scenario);
  run.openModelConsumers();
  try {
    await run.open();
    await scenario.script(run);
    return { run, error: null };
  } catch (error) {
    await run.store?.close().catch(() => {});
    return { run, error };
  }
}

const SCENARIOS: Scenario[] = [
  {
    name: "per-message TTLs with subject delete markers, maxAge and onExpire",
    limits: { allowMsgTtl: true, subjectDeleteMarkerTtl: 2, maxAgeMs: 20_000 },
    consumers: [],
    async script(run) {
      const subjects = ["k.a", "k.b", "k.c", "k.d", "k.e"];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 12; i++) {
          const ttl = i % 4 === 0 ? 0 : i % 4 === 1 ? -1 : 2 + ((i + round) % 3);
          run.put(subjects[(i + round) % subjects.length], 60 + ((i * 37) % 120), ttl);
        }
        await run.acknowledge((s) => s.sync());
        if (round === 2) run.remove([...run.after][3]);
        // Expiry on the next store (markers placed after its pass), on updateConfig and on the timer.
        run.clock.t += 2_500_000_000n;
        run.put("k.z", 40, 2);
        run.jump(1_200);
        await run.acknowledge((s) => s.sync());
        // Once, the expiry timer's turn (it reads the moved clock): a real wait costs every crash point.
        if (round === 4) await run.sleep(1_000);
        if (round === 3) {
          await run.close();
          // Expiry at open, after time passed while it was closed.
          run.clock.t += 3n * SEC;
          run.model.updateConfig(run.scenario.limits);
          await run.open();
        }
        if (round % 2 === 1) await run.acknowledge((s) => s.flush());
      }
      // maxAge takes the rest that has no TTL of -1.
      run.jump(21_000);
      await run.acknowledge((s) => s.sync());
      run.put("k.a", 50, 0);
      await run.close();
    },
  },
  {
    name: "maxMsgs, maxBytes and maxMsgsPerSubject trims, lowered by updateConfig and at open",
    limits: { allowMsgTtl: true, maxMsgs: 40, maxBytes: 9_000, maxMsgsPerSubject: 12 },
    consumers: [],
    async script(run) {
      const subjects = ["l.a", "l.b", "l.c", "l.d"];
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 14; i++) {
          const ttl = i % 5 === 4 ? 3 : 0;
          run.put(subjects[(i * 3 + round) % 4], 40 + ((i * 53 + round * 11) % 200), ttl);
        }
        await run.acknowledge((s) => s.sync());
        if (round === 3) {
          run.setLimits({ allowMsgTtl: true, maxMsgs: 30, maxBytes: 6_000, maxMsgsPerSubject: 6 });
          await run.acknowledge((s) => s.sync());
        }
        if (round === 5) {
          await run.close();
          // Opened with lower limits than it was written with: trimmed at open.
          run.scenario.limits = {
            allowMsgTtl: true,
            maxMsgs: 20,
            maxBytes: 4_000,
            maxMsgsPerSubject: 4,
          };
          run.model.updateConfig(run.scenario.limits);
          await run.open();
        }
        run.clock.t += 1n * SEC;
      }
      run.jump(4_000);
      await run.close();
    },
  },
  {
    name: "work-queue acks remove messages",
    limits: { retention: "workqueue" },
    consumers: [["w", { ackWaitMs: 60_000 }]],
    async script(run) {
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 16; i++) run.put(`w.${i % 3}`, 60 + ((i * 41) % 150));
        await run.acknowledge((s) => s.sync());
        await run.fetchAck("w", 14, (seq) => seq % 5 !== 2);
        if (round % 2 === 0) await run.acknowledge((s) => s.sync());
        else await run.syncConsumer("w");
      }
      await run.close();
    },
  },
  {
    name: "interest acks of two consumers remove messages",
    limits: { retention: "interest" },
    consumers: [
      ["i1", { ackWaitMs: 60_000 }],
      ["i2", { ackWaitMs: 60_000 }],
    ],
    async script(run) {
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 18; i++) run.put(`i.${i % 4}`, 60 + ((i * 29) % 150));
        await run.acknowledge((s) => s.sync());
        await run.fetchAck("i1", 16, (seq) => seq % 4 !== 1);
        await run.syncConsumer("i1");
        await run.fetchAck("i2", 16, (seq) => seq % 6 !== 3);
        await run.acknowledge((s) => s.sync());
      }
      await run.close();
    },
  },
  {
    name: "interest: deleting a consumer removes what only it needed",
    limits: { retention: "interest" },
    consumers: [
      ["a", { filter: "d.a", ackWaitMs: 60_000 }],
      ["b", { filter: "d.b", ackWaitMs: 60_000 }],
    ],
    async script(run) {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 20; i++) run.put(i % 2 === 0 ? "d.a" : "d.b", 60 + ((i * 29) % 150));
        await run.acknowledge((s) => s.sync());
        await run.fetchAck("a", 8, (seq) => seq % 3 === 0);
        await run.fetchAck("b", 8, (seq) => seq % 3 !== 0);
        await run.syncConsumer("a");
      }
      await run.deleteConsumer("a");
      // Nobody wants d.a now: stored and removed at once.
      for (let i = 0; i < 6; i++) run.put(i % 2 === 0 ? "d.a" : "d.b", 70);
      await run.acknowledge((s) => s.sync());
      await run.close();
    },
  },
];

export function expiryCrashPointSuite(api: TestApi): void {
  const { describe, it, expect } = api;
  describe("crash at every write and change of expiry, limit and ack removals (memory adapter)", () => {
    for (const scenario of SCENARIOS) {
      for (const aim of ["changes", "writes"] as const) {
        it(`${scenario.name}: power cut at every ${aim === "writes" ? "write" : "change"}`, async () => {
          const clean = await runScenario(freshDisk(), scenario);
          expect(clean.error).toBeNull();
          // Uncut, the store expired what the model did, in the same order, and told onExpire so.
          expect(clean.run.storeExpired).toStrictEqual(clean.run.expired);
          const before = aim === "writes" ? 0 : freshDisk().changes;
          const points =
            (aim === "writes" ? clean.run.disk.counters.writes : clean.run.disk.changes) - before;
          expect(points).toBeGreaterThan(aim === "writes" ? 10 : 40);
          const reread = await openStore(clean.run.disk, clean.run.clock, clean.run.scenario);
          expect(summary(reread)).toStrictEqual(summary(clean.run.model));
          await reread.close();
          let crashed = 0;
          for (let at = 1; at <= points; at++) {
            const disk = freshDisk();
            disk.setFaults(
              aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: before + at },
            );
            const { run, error } = await runScenario(disk, scenario);
            if (error !== null) crashed++;
            // A random mix matters where a cut tears a write; after a whole change the two ends suffice.
            const modes: LoseMode[] =
              aim === "writes" ? ["unsynced", "none", "random"] : ["unsynced", "none"];
            for (const lose of modes) {
              const where = `${aim} ${at} of ${points}, lose ${lose}`;
              await checkSurvivor(
                expect,
                run,
                disk.crash({ lose, seed: at }),
                where,
                lose === "unsynced",
              );
            }
          }
          // Timers may move a cut by a change or two; nearly every one must land inside the workload.
          expect(crashed).toBeGreaterThan(points - 3);
        }, 120_000);
      }
    }
  });
}

async function checkSurvivor(
  expect: TestApi["expect"],
  run: Run,
  fs: MemoryFileSystem,
  where: string,
  thorough: boolean,
): Promise<void> {
  const { scenario, clock } = run;
  const limits = scenario.limits;
  const store = await openStore(fs, clock, scenario);
  const problems: string[] = [];
  // Consumers still on disk are reopened, which settles what their synced acks removed.
  const kept = new Set(fs.stat(`${DIR}/consumers`) === null ? [] : fs.list(`${DIR}/consumers`));
  const reopened = scenario.consumers
    .filter(([name]) => kept.has(name))
    .map(([name, options]) => store.consumer(name, options));
  const gone = scenario.consumers.filter(([name]) => !kept.has(name)).map(([name]) => name);
  if (gone.some((name) => !run.deleting.has(name) && run.storeConsumers.has(name)))
    problems.push(`consumers ${gone} gone, never deleted`);
  const now = clock.t;
  const state = store.state();
  const acked = run.acked;
  const markerTtl = limits.subjectDeleteMarkerTtl ?? 0;
  const found = new Map<number, PlainMsg>();
  const maxAge = BigInt(limits.maxAgeMs ?? 0) * 1_000_000n;
  // When the TTL or maxAge takes a message (a TTL of -1 outlives maxAge); null: never.
  const dueAt = (m: PlainMsg, ttl: number): bigint | null => {
    const byTtl = ttl > 0 ? m.ts + BigInt(ttl) * SEC : null;
    const byAge = ttl !== -1 && maxAge > 0n ? m.ts + maxAge : null;
    if (byTtl === null) return byAge;
    return byAge === null || byTtl < byAge ? byTtl : byAge;
  };
  // Reopening a consumer removes what it acknowledged up to its ack floor (README,
  // Retention): above it, a synced ack whose removal a cut lost may leave the message.
  const floor = Math.max(0, ...reopened.map((c) => c.info().ackFloor.stream));
  const consumerAcked = (seq: number): boolean => {
    if (limits.retention !== "workqueue" && limits.retention !== "interest") return false;
    return seq <= floor && [...run.ackedByConsumer.values()].every((acks) => acks.has(seq));
  };
  for (let seq = 1; seq <= Math.max(state.lastSeq, acked.lastSeq); seq++) {
    let got: StoredMsg | null = null;
    try {
      got = store.loadMsg(seq);
    } catch {}
    const w = run.written.get(seq);
    const due = w === undefined ? null : dueAt(w.msg, w.ttl);
    const mustExist =
      acked.live.has(seq) &&
      run.before.has(seq) &&
      run.after.has(seq) &&
      (due === null || due > now) &&
      !consumerAcked(seq);
    if (got === null) {
      if (mustExist) problems.push(`${seq}: acknowledged, not removed, lost`);
      continue;
    }
    const m = plain(got);
    const ttl = store.msgTtl(seq);
    found.set(seq, m);
    const openMarker =
      seq > acked.lastSeq && isDeleteMarker(got.hdr) && got.msg.length === 0 && ttl === markerTtl;
    if (seq <= acked.lastSeq && !acked.live.has(seq))
      problems.push(`${seq}: removal acknowledged, back`);
    if (consumerAcked(seq))
      problems.push(`${seq}: ack synced, message back after the consumers reopened`);
    // On an interest stream a message that no consumer left can take must not outlive a deletion.
    if (limits.retention === "interest" && gone.length > 0) {
      const wanted = scenario.consumers.some(
        ([name, o]) => kept.has(name) && (o.filter === undefined || o.filter === m.subject),
      );
      if (!wanted) problems.push(`${seq}: ${m.subject} outlived the deletion of ${gone}`);
    }
    if (!openMarker) {
      if (w === undefined) problems.push(`${seq}: returned, never written`);
      else if (JSON.stringify(m, big) !== JSON.stringify(w.msg, big) || ttl !== w.ttl)
        problems.push(`${seq}: differs from what was written`);
    }
    const d = dueAt(m, ttl);
    if (d !== null && d <= now) problems.push(`${seq}: due at ${d}, still there at ${now}`);
  }
  if (markerTtl > 0) {
    // A subject left empty whose acknowledged last message expired: its marker must be there.
    const lastOf = new Map<string, number>();
    for (const seq of acked.live) {
      const subject = run.written.get(seq)!.msg.subject;
      lastOf.set(subject, Math.max(lastOf.get(subject) ?? 0, seq));
    }
    const held = new Set([...found.values()].map((m) => m.subject));
    for (const [subject, seq] of lastOf) {
      const w = run.written.get(seq)!;
      const due = dueAt(w.msg, w.ttl);
      if (held.has(subject) || run.removedByCall.has(seq) || due === null || due > now) continue;
      // A marker's expiry leaves none behind; a marker, written once its message expired, may have expired in turn.
      if (isDeleteMarker(w.msg.hdr === null ? null : Uint8Array.from(w.msg.hdr))) continue;
      if (now >= due + BigInt(markerTtl) * SEC) continue;
      problems.push(`${subject}: last message ${seq} expired, no marker`);
    }
  }
  expect({ where, problems }).toStrictEqual({ where, problems: [] });
  // The state against a MemStore holding exactly what came back.
  const rebuilt = rebuild(store, found, limits, clock);
  expect({ where, got: summary(store) }).toStrictEqual({ where, got: summary(rebuilt) });
  if (thorough) {
    await store.close();
    for (let i = 0; i < 2; i++) {
      const again = await openStore(fs, clock, scenario);
      expect({ where, reopen: i, got: summary(again) }).toStrictEqual({
        where,
        reopen: i,
        got: summary(rebuilt),
      });
      await again.close();
    }
    const last = await openStore(fs, clock, scenario);
    // TTLs recovered: the same messages expire, with the same markers, second by second.
    const start = clock.t;
    for (let s = 1; s <= 8; s++) {
      clock.t = start + BigInt(s) * SEC;
      last.updateConfig(limits);
      rebuilt.updateConfig({ ...limits, retention: "limits" });
      expect({ where, second: s, got: summary(last) }).toStrictEqual({
        where,
        second: s,
        got: summary(rebuilt),
      });
    }
    clock.t = start;
    await last.close();
  } else {
    await store.close();
  }
  await rebuilt.delete();
}

function big(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** A MemStore holding `msgs` at their sequences, with the store's first and last sequence. */
function rebuild(
  store: StreamStore,
  msgs: Map<number, PlainMsg>,
  limits: StreamLimits,
  clock: TestClock,
): MemStore {
  const { lastSeq, firstSeq } = store.state();
  const model = MemStore.create({
    ...limits,
    retention: "limits",
    now: clock.now,
    ...(firstSeq > 1 ? { firstSeq } : {}),
  });
  let next = firstSeq > 1 ? firstSeq : 1;
  for (const [seq, m] of [...msgs].sort(([a], [b]) => a - b)) {
    if (seq > next) model.skipMsgs(next, seq - next);
    const hdr = m.hdr === null ? null : Uint8Array.from(m.hdr);
    model.storeRawMsg(m.subject, hdr, Uint8Array.from(m.msg), seq, m.ts, store.msgTtl(seq));
    next = seq + 1;
  }
  if (lastSeq >= next) model.skipMsgs(next, lastSeq - next + 1);
  return model;
}

/** What must agree: counts, bounds, subjects, the messages and their TTLs. */
function summary(store: StreamStore): unknown {
  const { lost: _lost, consumers: _consumers, lastTs: _lastTs, ...state } = store.state();
  const msgs: string[] = [];
  for (let seq = state.firstSeq; seq <= state.lastSeq && state.msgs > 0; seq++) {
    try {
      const m = store.loadMsg(seq);
      msgs.push(`${seq}:${m.subject}:${m.msg.length}:${store.msgTtl(seq)}`);
    } catch {}
  }
  return {
    state: JSON.parse(JSON.stringify(state, big)),
    subjects: store.subjectsState(">"),
    totals: store.subjectsTotals(">"),
    msgs,
  };
}
