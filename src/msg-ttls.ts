/**
 * Per-message TTLs (nats-server 2.11's `Nats-TTL`), shared by both engines.
 *
 * A message with a TTL of n seconds expires n seconds after its timestamp;
 * one with TTL -1 never expires, not even by `maxAgeMs`. Pending expiries sit
 * in a hashed timing wheel of one-second slots: a slot holds the sequences due
 * in its second (modulo the wheel's span), so finding what has expired costs
 * the slots the clock moved past plus the entries due, never a scan of the
 * stream or of every TTL. A binary heap was rejected: O(log n) per message on
 * the append path, where a slot append is O(1).
 *
 * Removal is lazy: removing a message deletes its entry from `expiry`, and the
 * stale slot entry is dropped when its second comes. Within a slot entries are
 * kept in order of expiry (appends almost always arrive in order; a slot that
 * did not is sorted once when it is due), so a slot gives up its due entries
 * from the front without looking at the rest.
 *
 * Expiry instants are whole milliseconds rounded up, so a message is never
 * removed before its TTL has passed; at most a millisecond after.
 */

const TICK_MS = 1000;
const SLOTS = 4096;
const NS_PER_MS = 1_000_000n;

/** A TTL of this many seconds means "never expires". */
export const TTL_NEVER = -1;

interface Slot {
  seqs: number[];
  at: number[];
  /** Entries before this index were handed out or found stale. */
  head: number;
  sorted: boolean;
  /** Earliest `at` from `head` on (Infinity when none). */
  min: number;
}

/** When a message stored at `ts` (ns) with `ttl` seconds expires, in ms rounded up. */
export function expiresAtMs(ts: bigint, ttl: number): number {
  return Number((ts + BigInt(ttl) * 1_000_000_000n + NS_PER_MS - 1n) / NS_PER_MS);
}

export class MessageTtls {
  /** Live messages with a positive TTL: sequence → expiry (ms). */
  private readonly expiry = new Map<number, number>();
  private readonly wheel: (Slot | undefined)[] = new Array(SLOTS);
  /** Every entry due in a tick at or before this one has been handed out. */
  private doneTick = Number.NEGATIVE_INFINITY;
  /** Live messages whose TTL is "never". */
  private readonly never = new Set<number>();
  /**
   * Handed out by `due` and not yet removed: sequence → expiry (ms). A removal
   * made meanwhile (by an `onExpire` callback, say) takes its sequence out, so
   * the pass does not remove it again, or remove what a truncate stored there since.
   */
  private readonly passing = new Map<number, number>();
  /**
   * Where the next age check starts: every live message below it never
   * expires (expireByAge keeps it, so a stream of such messages is walked
   * once, not on every store).
   */
  ageCursor = 0;

  get pending(): number {
    return this.expiry.size;
  }

  get neverCount(): number {
    return this.never.size;
  }

  isNever(seq: number): boolean {
    return this.never.has(seq);
  }

  /**
   * Records the TTL of a message just stored; 0 (no TTL) is ignored. Returns
   * its expiry in ms, or 0 when it has none.
   */
  add(seq: number, ts: bigint, ttl: number): number {
    if (ttl === TTL_NEVER) this.never.add(seq);
    if (ttl <= 0) return 0;
    const at = expiresAtMs(ts, ttl);
    this.schedule(seq, at);
    return at;
  }

  /** Schedules `seq` to expire at `atMs` (also used to restore a saved wheel). */
  schedule(seq: number, atMs: number): void {
    this.expiry.set(seq, atMs);
    const tick = Math.floor(atMs / TICK_MS);
    // An expiry in a second already processed (a clock that went back, a
    // timestamp from the past) makes the next check look at that second again.
    if (tick <= this.doneTick) this.doneTick = tick - 1;
    const index = tick & (SLOTS - 1);
    let slot = this.wheel[index];
    if (slot === undefined) {
      slot = { seqs: [], at: [], head: 0, sorted: true, min: Number.POSITIVE_INFINITY };
      this.wheel[index] = slot;
    }
    const n = slot.at.length;
    if (n > slot.head && slot.at[n - 1] > atMs) slot.sorted = false;
    slot.seqs.push(seq);
    slot.at.push(atMs);
    if (atMs < slot.min) slot.min = atMs;
  }

  remove(seq: number): void {
    if (this.expiry.size > 0) this.expiry.delete(seq);
    if (this.never.size > 0) this.never.delete(seq);
    if (this.passing.size > 0) this.passing.delete(seq);
  }

  /** True while `seq`, handed out by `due`, is still to be removed by its pass. */
  isPassing(seq: number): boolean {
    return this.passing.has(seq);
  }

  /** The pass is done with `seq` (removed, or found gone). */
  passed(seq: number): void {
    this.passing.delete(seq);
  }

  /**
   * A pass ended early (a removal threw): `seqs[from..]` it had not removed are
   * scheduled again at their expiry, so the next pass tries them.
   */
  putBack(seqs: readonly number[], from: number): void {
    for (let i = from; i < seqs.length; i++) {
      const at = this.passing.get(seqs[i]);
      if (at === undefined) continue;
      this.passing.delete(seqs[i]);
      this.schedule(seqs[i], at);
    }
  }

  /** Forgets every message in [from, to]. */
  removeRange(from: number, to: number): void {
    if (to < from) return;
    if (to - from + 1 <= this.expiry.size + this.never.size) {
      for (let seq = from; seq <= to; seq++) this.remove(seq);
      return;
    }
    for (const seq of this.expiry.keys()) if (seq >= from && seq <= to) this.expiry.delete(seq);
    for (const seq of this.never) if (seq >= from && seq <= to) this.never.delete(seq);
    for (const seq of this.passing.keys()) if (seq >= from && seq <= to) this.passing.delete(seq);
  }

  /** After a truncate to `seq`: later sequences are gone and may be handed out again. */
  truncatedTo(seq: number): void {
    for (const s of this.expiry.keys()) if (s > seq) this.expiry.delete(s);
    for (const s of this.never) if (s > seq) this.never.delete(s);
    for (const s of this.passing.keys()) if (s > seq) this.passing.delete(s);
    if (this.ageCursor > seq + 1) this.ageCursor = seq + 1;
  }

  /** Forgets every message (purge). */
  clear(): void {
    this.passing.clear();
    if (this.expiry.size === 0 && this.never.size === 0) return;
    this.expiry.clear();
    this.never.clear();
    this.wheel.fill(undefined);
    this.doneTick = Number.NEGATIVE_INFINITY;
  }

  /** Keeps only the messages `isLive` accepts (after recovery). */
  retain(isLive: (seq: number) => boolean): void {
    for (const seq of this.expiry.keys()) if (!isLive(seq)) this.expiry.delete(seq);
    for (const seq of this.never) if (!isLive(seq)) this.never.delete(seq);
  }

  /**
   * Takes out and returns, in ascending order, the sequences whose expiry is
   * at or before `nowNs`.
   */
  due(nowNs: bigint): number[] {
    if (this.expiry.size === 0) return [];
    const nowMs = Number(nowNs / NS_PER_MS);
    const nowTick = Math.floor(nowMs / TICK_MS);
    if (nowTick <= this.doneTick) return [];
    const out: number[] = [];
    const all = nowTick - this.doneTick >= SLOTS;
    const from = all ? 0 : this.doneTick + 1;
    const to = all ? SLOTS - 1 : nowTick;
    for (let tick = from; tick <= to; tick++) {
      const index = tick & (SLOTS - 1);
      const slot = this.wheel[index];
      if (slot === undefined || slot.min > nowMs) continue;
      this.takeDue(slot, nowMs, out);
      if (slot.head === slot.at.length) this.wheel[index] = undefined;
    }
    // The current second may still hold entries due later in it.
    this.doneTick = nowTick - 1;
    if (out.length > 1) out.sort((a, b) => a - b);
    return out;
  }

  private takeDue(slot: Slot, nowMs: number, out: number[]): void {
    if (!slot.sorted) sortSlot(slot);
    const { seqs, at } = slot;
    let i = slot.head;
    for (; i < at.length && at[i] <= nowMs; i++) {
      const seq = seqs[i];
      // Removed, or rescheduled (a truncate handed the sequence out again).
      if (this.expiry.get(seq) !== at[i]) continue;
      this.expiry.delete(seq);
      this.passing.set(seq, at[i]);
      out.push(seq);
    }
    slot.head = i;
    slot.min = i < at.length ? at[i] : Number.POSITIVE_INFINITY;
    if (i > 1024 && i * 2 > at.length) {
      slot.seqs = seqs.slice(i);
      slot.at = at.slice(i);
      slot.head = 0;
    }
  }

  /** Milliseconds from `nowNs` until the next expiry (0 if overdue), or null when none is pending. */
  msUntilNext(nowNs: bigint): number | null {
    if (this.expiry.size === 0) return null;
    let min = Number.POSITIVE_INFINITY;
    for (const slot of this.wheel) if (slot !== undefined && slot.min < min) min = slot.min;
    if (min === Number.POSITIVE_INFINITY) return null;
    return Math.max(0, min - Number(nowNs / NS_PER_MS));
  }

  /** Pending expiries as [sequence, expiry ms] pairs, for a checkpoint. */
  *scheduled(): IterableIterator<[number, number]> {
    yield* this.expiry.entries();
    // A checkpoint written inside a pass (a truncate in `onExpire`) must not forget them.
    yield* this.passing.entries();
  }

  /** Sequences that never expire, for a checkpoint. */
  neverSeqs(): IterableIterator<number> {
    return this.never.values();
  }
}

function sortSlot(slot: Slot): void {
  const order: number[] = [];
  for (let i = slot.head; i < slot.at.length; i++) order.push(i);
  order.sort((a, b) => slot.at[a] - slot.at[b]);
  slot.seqs = order.map((i) => slot.seqs[i]);
  slot.at = order.map((i) => slot.at[i]);
  slot.head = 0;
  slot.sorted = true;
}
