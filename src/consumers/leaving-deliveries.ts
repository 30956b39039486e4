/**
 * Deliveries whose messages leave the stream before their ack (a removal,
 * a purge, a compact, a limit, an expiry): nats-server's consumer is told of
 * each removal and stops awaiting those at once; left pending until their
 * redelivery fell due, they would hold maxAckPending slots, and new messages
 * back, for a whole ack wait. A removal tells the consumer before it is made
 * and may still fail (a tombstone the disk has no room for), so its
 * sequences are only noted here, and settled once it is done: at the
 * consumer's next call, or in a microtask.
 */
import { isJetStoreError } from "../errors.ts";
import type { PendingAcks, PendingEntry } from "./pending-acks.ts";
import type { ConsumerStore } from "./types.ts";

export class LeavingDeliveries {
  private noted: number[] = [];
  private queued = false;
  private readonly pending: PendingAcks;
  private readonly store: ConsumerStore;
  /** Ack policy all or none: an ack covers every delivery before it. */
  private readonly ackAll: boolean;
  /**
   * Ack policy all: the deliveries gone from the stream that the store still
   * holds pending (a delivery below them awaited its ack), stream sequence to
   * consumer sequence, until an ack of those below lets them be recorded.
   */
  private readonly unrecorded = new Map<number, number>();
  /**
   * The sequences of `unrecorded` as a min-heap: an ack or a settle takes off
   * the bottom only those now below every pending delivery, so each is taken
   * once; a walk of them all at each one that frees some is quadratic when
   * held removals and pending deliveries alternate.
   */
  private heldOrder: number[] = [];
  /** Settles what was noted (the consumer's `forgetGone`); a throw keeps it noted. */
  private readonly settleNoted: (seqs: number[]) => void;
  private readonly isClosed: () => boolean;

  constructor(
    pending: PendingAcks,
    store: ConsumerStore,
    ackAll: boolean,
    settleNoted: (seqs: number[]) => void,
    isClosed: () => boolean,
  ) {
    this.pending = pending;
    this.store = store;
    this.ackAll = ackAll;
    this.settleNoted = settleNoted;
    this.isClosed = isClosed;
  }

  /** Drops the pending deliveries `gone` (ascending), whose messages left the stream (`forgetDeliveries`). */
  forget(gone: number[]): void {
    const held = this.ackAll ? this.unrecorded : null;
    const before = held?.size ?? 0;
    forgetDeliveries(this.pending, this.store, this.ackAll, gone, held);
    if (held === null || held.size === 0) return;
    // Those held are new to it: a held one is no longer pending, so none of `gone` was held before.
    if (held.size > before)
      for (const seq of gone) if (held.has(seq)) heapPush(this.heldOrder, seq);
    // The deliveries that held earlier gone ones back may have been among these.
    this.ackedTo(0);
  }

  /** `seq` had its last delivery and leaves pending for good, which may free gone ones held above it. */
  exhausted(seq: number): void {
    this.pending.delete(seq);
    this.ackedTo(0);
  }

  /**
   * Ack policy all: the store acknowledged everything up to `seq` (0: nothing
   * new, a delivery below the held ones left pending otherwise). The gone
   * deliveries now below every one still pending are recorded as acks, as a
   * reopen records them (`forgetDeliveries` at its settle), so the ack floor
   * shown open is the one shown after a reopen.
   */
  ackedTo(seq: number): void {
    const held = this.unrecorded;
    if (held.size === 0) return;
    const lowest = this.pending.lowest();
    const order = this.heldOrder;
    // From the lowest held up: those the ack covered go, those below every pending one are recorded.
    let top = 0;
    let dseq = 0;
    while (order.length > 0) {
      const s = order[0];
      if (s > seq && lowest !== 0 && s >= lowest) break;
      heapPop(order);
      if (s > seq) {
        top = s;
        dseq = held.get(s) as number;
      }
      held.delete(s);
    }
    if (top === 0) return;
    try {
      this.store.updateAcks(dseq, top);
    } catch (err) {
      // No longer pending in the store (a purge took it): nothing to record.
      if (!isJetStoreError(err, "ErrStoreMsgNotFound")) throw err;
    }
  }

  /** Live messages in [lo, hi] are about to leave the stream: notes those pending. */
  note(lo: number, hi: number): void {
    const entries = this.pending.entries;
    if (entries.size === 0) return;
    if (lo === hi) {
      if (!entries.has(lo)) return;
      this.noted.push(lo);
    } else {
      const before = this.noted.length;
      // From the lowest in pending's own order: a walk of the Map would pass the holes its deletes left.
      for (const seq of this.pending.upTo(hi)) if (seq >= lo) this.noted.push(seq);
      if (this.noted.length === before) return;
    }
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(this.settleSoon);
  }

  private readonly settleSoon = (): void => {
    this.queued = false;
    if (this.isClosed()) return;
    try {
      this.settle();
    } catch {
      // Noted still: the next call settles them, and throws what this could not tell anyone.
    }
  };

  /** Settles what removals noted. */
  settle(): void {
    if (this.noted.length === 0) return;
    const noted = this.noted;
    this.noted = [];
    try {
      this.settleNoted(noted);
    } catch (err) {
      this.noted = noted.concat(this.noted);
      throw err;
    }
  }

  /** The stream was cut after `seq`: what was noted past it named the old messages, and the store forgets those held. */
  cutAfter(seq: number): void {
    if (this.noted.length > 0) this.noted = this.noted.filter((s) => s <= seq);
    if (this.unrecorded.size === 0) return;
    for (const s of this.heldOrder) if (s > seq) this.unrecorded.delete(s);
    // Ascending is a min-heap.
    this.heldOrder = this.heldOrder.filter((s) => s <= seq).sort((a, b) => a - b);
  }
}

/**
 * Of `seqs`, the deliveries still pending whose messages the stream no
 * longer holds, ascending and each once (two removals may name one before a
 * settle: removeMsg, then a compact's range over it); null when none.
 */
export function goneOf(
  pending: PendingAcks,
  seqs: Iterable<number>,
  isLive: (seq: number) => boolean,
): number[] | null {
  let gone: number[] | null = null;
  for (const seq of seqs) {
    if (pending.get(seq) !== undefined && !isLive(seq)) (gone ??= []).push(seq);
  }
  if (gone === null) return null;
  gone.sort((a, b) => a - b);
  let n = 1;
  for (let i = 1; i < gone.length; i++) if (gone[i] !== gone[n - 1]) gone[n++] = gone[i];
  gone.length = n;
  return gone;
}

/**
 * Drops the pending deliveries `gone` (ascending), whose messages left the
 * stream, recording it in the consumer store as nats-server does, as an
 * ack. Under ack policy all an ack covers every delivery before it, so it
 * is recorded only for those below every delivery still awaiting its ack;
 * nats-server acknowledges those others too, which a removal must not do
 * here. The store keeps the rest pending until an ack covers them, and a
 * reopen drops them again; `held` takes them, with their consumer sequences.
 */
export function forgetDeliveries(
  pending: PendingAcks,
  store: ConsumerStore,
  ackAll: boolean,
  gone: number[],
  held: Map<number, number> | null = null,
): void {
  if (!ackAll) {
    for (const seq of gone) {
      const entry = pending.get(seq);
      if (entry === undefined) continue;
      store.updateAcks(entry.dseq, seq);
      pending.delete(seq);
    }
    return;
  }
  // The gone ones pending starts with are those below every delivery still awaiting its ack.
  const run = pending.leadingRun(gone);
  if (run > 0) {
    const floor = gone[run - 1];
    store.updateAcks((pending.get(floor) as PendingEntry).dseq, floor);
  }
  for (let i = 0; i < gone.length; i++) {
    const entry = pending.get(gone[i]);
    if (entry === undefined) continue;
    if (i >= run) held?.set(gone[i], entry.dseq);
    pending.delete(gone[i]);
  }
}

function heapPush(heap: number[], seq: number): void {
  let i = heap.length;
  heap.push(seq);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= seq) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = seq;
}

function heapPop(heap: number[]): void {
  const last = heap.pop() as number;
  const n = heap.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap[child + 1] < heap[child]) child++;
    if (heap[child] >= last) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
}
