/**
 * The bookkeeping of "nothing acknowledged is ever lost": a ledger that
 * mirrors every operation a test makes on a store (what was written at each
 * sequence, what is live now) and records, whenever a `sync()`, `flush()` or
 * `close()` completes, what that acknowledgement covered. After a crash the
 * reopened store is checked against it:
 *
 * - every message live at the last acknowledgement, and not removed since, is
 *   present and byte-identical;
 * - nothing removed or skipped before the last acknowledgement comes back;
 * - whatever else is returned is exactly what was written at that sequence
 *   (no half-written, misplaced or invented message);
 * - `state()` agrees with a full scan, and sequences are never reused.
 *
 * The ledger models the operations itself (a removal drops the sequence, a
 * compact drops everything below, a literal purgeEx drops the subject) rather
 * than asking the store, so a store that forgets a removal cannot fool it.
 */
import type { StoredMsg, StreamStore } from "../../src/types.ts";
import type { Expect } from "../harness.ts";
import {
  codeOf,
  enc,
  expectedSize,
  type PlainMsg,
  plain,
  type TestClock,
} from "./store-helpers.ts";

/** What one acknowledgement promised: the live messages and the last sequence when it was asked for. */
export interface Acknowledged {
  live: ReadonlyMap<number, PlainMsg>;
  lastSeq: number;
  /** The order it was asked for in: a later request covers more, even after a truncate. */
  order: number;
}

/**
 * A payload unique to its sequence (tagged `<seq>`), 40 to 109 bytes unless
 * `size` is given, so a misplaced or torn read shows; after a truncate the
 * sequences it cut are stored again in a new `generation`, with other bytes.
 */
export function payloadFor(seq: number, generation = 0, size?: number): Uint8Array {
  const out = new Uint8Array(size ?? 40 + ((seq * 13) % 70));
  const tag = enc(generation === 0 ? `<${seq}>` : `<${seq}/${generation}>`);
  out.set(tag.subarray(0, out.length));
  for (let i = tag.length; i < out.length; i++) out[i] = (seq * 31 + i * 7 + generation) & 0xff;
  return out;
}

/** The subject the ledger's writers use for `seq`: 5 subjects. */
export function subjectFor(seq: number): string {
  return `orders.${seq % 5}`;
}

/** Headers on every third sequence. */
export function headersFor(seq: number): Uint8Array | null {
  return seq % 3 === 0 ? enc(`h:${seq}`) : null;
}

export class Ledger {
  /** Every message ever stored, by sequence. */
  readonly written = new Map<number, PlainMsg>();
  /** The TTL each sequence was written with, where it was not 0 (its record is 8 bytes longer). */
  readonly ttls = new Map<number, number>();
  /** The live messages as the test's own operations left them. */
  readonly live = new Map<number, PlainMsg>();
  lastSeq = 0;
  /** Bumped by a truncate: the sequences it cut are stored again with other bytes. */
  generation = 0;
  /** A truncate that was asked for and did not return: a crash may leave it done. */
  truncating: number | null = null;
  /** Durability requests made so far. */
  private requests = 0;
  /** What the last completed acknowledgement covered. */
  acked: Acknowledged = { live: new Map(), lastSeq: 0, order: 0 };
  /** With `syncAlways` every operation that returns is acknowledged. */
  readonly syncAlways: boolean;

  constructor(options?: { syncAlways?: boolean }) {
    this.syncAlways = options?.syncAlways ?? false;
  }

  /**
   * Stores the next message (subject, headers and payload derived from its
   * sequence). It is noted as written before the call: a call that fails may
   * still have reached the disk, and then it must come back exactly as sent.
   */
  store(store: StreamStore, clock: TestClock, size?: number): number {
    const next = this.lastSeq + 1;
    clock.t = BigInt(next) * 1000n + BigInt(this.generation);
    const subject = subjectFor(next);
    const hdr = headersFor(next);
    const msg = payloadFor(next, this.generation, size);
    this.written.set(next, plain({ subject, hdr, msg, seq: next, ts: clock.t }));
    const { seq, ts } = store.storeMsg(subject, hdr, msg);
    this.noteStored(plain({ subject, hdr, msg, seq, ts }));
    this.returned();
    return seq;
  }

  /** Records a message the store accepted. */
  noteStored(m: PlainMsg): void {
    this.written.set(m.seq, m);
    this.live.set(m.seq, m);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
  }

  /** Removals are noted before the call: one that fails may or may not have happened. */
  remove(store: StreamStore, seq: number, erase = false): void {
    const wasLive = this.live.delete(seq);
    const done = erase ? store.eraseMsg(seq) : store.removeMsg(seq);
    if (done !== wasLive) {
      throw new Error(`remove ${seq}: the store said ${done}, the ledger ${wasLive}`);
    }
    this.returned();
  }

  skip(store: StreamStore): void {
    this.lastSeq = store.skipMsg();
    this.returned();
  }

  /** compact(seq): everything below `seq` goes. */
  compact(store: StreamStore, seq: number): void {
    for (const s of [...this.live.keys()]) if (s < seq) this.live.delete(s);
    this.lastSeq = Math.max(this.lastSeq, seq - 1);
    store.compact(seq);
    this.returned();
  }

  /**
   * truncate(seq): everything after `seq` goes and its sequences are used
   * again. Durable when it returns (it writes a checkpoint), so it
   * acknowledges everything; a crash inside it may leave it done or not.
   */
  truncate(store: StreamStore, seq: number): void {
    for (const s of [...this.live.keys()]) if (s > seq) this.live.delete(s);
    this.lastSeq = seq;
    this.generation++;
    this.truncating = seq;
    store.truncate(seq);
    this.truncating = null;
    this.ackAll();
  }

  /** The first live sequence at or after `seq` (the test picks one to remove). */
  liveAtOrAfter(seq: number): number {
    for (let s = seq; s <= this.lastSeq; s++) if (this.live.has(s)) return s;
    throw new Error(`no live message at or after ${seq}`);
  }

  /** purge(): every message goes. */
  purgeAll(store: StreamStore): void {
    this.live.clear();
    store.purge();
    this.returned();
  }

  /** purgeEx on a literal subject: every message on it goes. */
  purgeSubject(store: StreamStore, subject: string): void {
    for (const [s, m] of [...this.live]) if (m.subject === subject) this.live.delete(s);
    store.purgeEx(subject, 0, 0);
    this.returned();
  }

  /** An operation returned: with syncAlways, that acknowledges it. */
  private returned(): void {
    if (this.syncAlways) this.ackAll();
  }

  /**
   * Runs a durability request and, once it completes, records what it
   * covered: everything the ledger held when it was asked for.
   */
  async acknowledge(request: Promise<void>): Promise<void> {
    const covered = this.covered();
    await request;
    if (covered.order > this.acked.order) this.acked = covered;
  }

  /** Everything now live counts as acknowledged (a clean close). */
  ackAll(): void {
    this.acked = this.covered();
  }

  private covered(): Acknowledged {
    return { live: new Map(this.live), lastSeq: this.lastSeq, order: ++this.requests };
  }
}

/**
 * Checks a reopened store against the ledger (see the module comment);
 * `where` names the case in failure messages. Returns the live sequences.
 */
export function expectKeepsAcknowledged(
  expect: Expect,
  store: StreamStore,
  ledger: Ledger,
  where: string,
): number[] {
  const state = store.state();
  const acked = ledger.acked;
  const problems: string[] = [];
  const floor = Math.min(acked.lastSeq, ledger.truncating ?? acked.lastSeq);
  if (state.lastSeq < floor) {
    problems.push(`lastSeq ${state.lastSeq} is below the acknowledged ${floor}`);
  }
  const live: number[] = [];
  let bytes = 0;
  const subjects = new Map<string, number>();
  const top = Math.max(state.lastSeq, acked.lastSeq);
  for (let seq = 1; seq <= top; seq++) {
    let got: StoredMsg | null = null;
    const code = codeOf(() => {
      got = store.loadMsg(seq);
    });
    const mustExist = acked.live.has(seq) && ledger.live.has(seq);
    const mustBeGone = seq <= acked.lastSeq && !acked.live.has(seq);
    if (got === null) {
      if (code !== "ErrStoreMsgNotFound" && code !== "ErrStoreEOF") {
        problems.push(`${seq}: ${code}`);
      } else if (mustExist) {
        problems.push(`${seq}: acknowledged but lost (${code})`);
      }
      continue;
    }
    const m = plain(got);
    const expected = ledger.written.get(seq);
    if (mustBeGone) problems.push(`${seq}: removal acknowledged but the message is back`);
    if (expected === undefined) problems.push(`${seq}: returned but never written`);
    else if (!samePlain(m, expected)) problems.push(`${seq}: returned bytes differ from written`);
    live.push(seq);
    bytes += expectedSize(m.subject, m.hdr?.length ?? 0, m.msg.length, ledger.ttls.get(seq) ?? 0);
    subjects.set(m.subject, (subjects.get(m.subject) ?? 0) + 1);
  }
  const lost = state.lost?.msgs ?? [];
  for (const seq of lost) {
    if (acked.live.has(seq) && ledger.live.has(seq))
      problems.push(`${seq}: acknowledged, reported lost`);
    // A removal the store acknowledged is known to it: it was removed, not lost.
    if (seq <= acked.lastSeq && !acked.live.has(seq) && ledger.written.has(seq))
      problems.push(`${seq}: removal acknowledged, reported lost`);
  }
  expect({ where, problems }).toStrictEqual({ where, problems: [] });
  expectStateMatchesScan(expect, store, live, bytes, subjects, where);
  return live;
}

/** `state()` (counts, first, deleted list, subjects) against what reading every sequence found. */
function expectStateMatchesScan(
  expect: Expect,
  store: StreamStore,
  live: number[],
  bytes: number,
  subjects: Map<string, number>,
  where: string,
): void {
  const state = store.state();
  // A store that never handed out a sequence reports first 0, as nats-server does.
  const first = live[0] ?? (state.lastSeq === 0 ? 0 : state.lastSeq + 1);
  const deleted: number[] = [];
  for (let seq = first, k = 0; seq <= state.lastSeq && live.length > 0; seq++) {
    if (live[k] === seq) k++;
    else deleted.push(seq);
  }
  const scanned: number[] = [];
  for (let seq = 1; ; ) {
    let next: StoredMsg | null = null;
    codeOf(() => {
      next = store.loadNextMsg(">", true, seq);
    });
    if (next === null) break;
    scanned.push((next as StoredMsg).seq);
    seq = (next as StoredMsg).seq + 1;
  }
  expect({
    where,
    msgs: state.msgs,
    bytes: state.bytes,
    firstSeq: state.firstSeq,
    numSubjects: state.numSubjects,
    numDeleted: state.numDeleted,
    deleted: state.deleted,
    scanned,
    totals: store.subjectsTotals(">"),
  }).toStrictEqual({
    where,
    msgs: live.length,
    bytes,
    firstSeq: first,
    numSubjects: subjects.size,
    numDeleted: deleted.length,
    deleted,
    scanned: live,
    totals: Object.fromEntries([...subjects].sort(([a], [b]) => (a < b ? -1 : 1))),
  });
}

function samePlain(a: PlainMsg, b: PlainMsg): boolean {
  return (
    a.seq === b.seq &&
    a.ts === b.ts &&
    a.subject === b.subject &&
    sameNumbers(a.msg, b.msg) &&
    (a.hdr === null ? b.hdr === null : b.hdr !== null && sameNumbers(a.hdr, b.hdr))
  );
}

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
