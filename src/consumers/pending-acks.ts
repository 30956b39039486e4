/**
 * A consumer's deliveries awaiting an ack: each one's first consumer
 * sequence, delivery count and redelivery deadline, the deadlines in a
 * binary min-heap, and the queue of messages due for redelivery (nats-server's
 * `pending`, `rdc` and `rdq`, with `checkPending` as `expire`).
 *
 * One timer per pending message (nats-server keeps one timer per consumer
 * and walks every pending entry on each tick) was rejected: a consumer that
 * keeps up acknowledges within microseconds, and a timer or a walk per ack
 * would cost more than the rest of the ack. The heap is lazy: an ack or a new
 * deadline leaves the old heap entry behind, recognised as stale when it
 * reaches the top (its deadline no longer the entry's), and the heap is
 * rebuilt from the live entries once stale ones outnumber them. A consumer
 * that acks in order keeps the heap as small as its pending set, since the
 * stale top is pruned on every look.
 *
 * Deadlines are milliseconds on the stream's clock, as doubles.
 */

/**
 * Nanoseconds to milliseconds as a double, exact to the nanosecond's share:
 * `Number(ns) / 1e6` would round the nanoseconds first (2^53 ns is 104 days).
 */
export function toMs(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/** One delivered, unacknowledged message. */
export interface PendingEntry {
  /** The consumer sequence of its first delivery (what the consumer store keeps). */
  dseq: number;
  /** How many times it was delivered. */
  dc: number;
  /** When it is due for redelivery, in ms on the stream's clock. */
  deadline: number;
  /** On the redelivery queue (its heap entry, if any, is stale). */
  queued: boolean;
}

/** Stale heap entries tolerated before a rebuild, beyond the live ones. */
const HEAP_SLACK = 1024;

export class PendingAcks {
  /** By stream sequence, in the order of first delivery, which is ascending. */
  readonly entries = new Map<number, PendingEntry>();
  /**
   * The entries' sequences as they were added (ascending: first deliveries
   * follow the stream, and a truncate cuts the tail before it hands
   * sequences out again), deleted ones left among them; `front` is past
   * those at the start. Walks from the lowest use it: a V8 Map's iteration
   * passes over every hole its deletes left until it rehashes, so walking
   * `entries` from its start after each removal at the head is quadratic.
   */
  private order: number[] = [];
  private front = 0;
  private heapDeadlines: number[] = [];
  private heapSeqs: number[] = [];
  private queue: number[] = [];
  private queueHead = 0;

  get size(): number {
    return this.entries.size;
  }

  get(seq: number): PendingEntry | undefined {
    return this.entries.get(seq);
  }

  /** A delivery of `seq`, not pending (the `dc`-th, first as `dseq`), due at `deadline`. */
  add(seq: number, dseq: number, deadline: number, dc = 1): void {
    // Acks in any order leave deleted sequences behind: kept within a multiple of the live ones.
    if (this.order.length - this.front > 2 * this.entries.size + HEAP_SLACK) this.compactOrder();
    this.order.push(seq);
    this.entries.set(seq, { dseq, dc, deadline, queued: false });
    this.push(deadline, seq);
  }

  /** Forgets `seq` (acked, terminated, dropped); its heap and queue entries go stale. */
  delete(seq: number): void {
    this.entries.delete(seq);
  }

  private compactOrder(): void {
    const live: number[] = [];
    const order = this.order;
    for (let i = this.front; i < order.length; i++)
      if (this.entries.has(order[i])) live.push(order[i]);
    this.order = live;
    this.front = 0;
  }

  /** The lowest sequence pending, or 0 when none is. */
  lowest(): number {
    const order = this.order;
    let i = this.front;
    while (i < order.length && !this.entries.has(order[i])) i++;
    if (i === order.length) {
      this.order = [];
      this.front = 0;
      return 0;
    }
    this.front = i;
    if (i > 1024 && i * 2 > order.length) {
      this.order = order.slice(i);
      this.front = 0;
    }
    return order[i];
  }

  /** The sequences pending at or below `seq`, ascending. */
  upTo(seq: number): number[] {
    const out: number[] = [];
    if (this.lowest() === 0) return out;
    const order = this.order;
    for (let i = this.front; i < order.length && order[i] <= seq; i++) {
      if (this.entries.has(order[i])) out.push(order[i]);
    }
    return out;
  }

  /**
   * How many of `seqs` (ascending, pending or not) are the lowest pending
   * ones, in order: the walk stops at the first that is not, so a removal
   * above the lowest costs a step, not the pending set below it.
   */
  leadingRun(seqs: readonly number[]): number {
    if (seqs.length === 0 || this.lowest() === 0) return 0;
    const order = this.order;
    let run = 0;
    for (let i = this.front; i < order.length && run < seqs.length; i++) {
      if (!this.entries.has(order[i])) continue;
      if (order[i] !== seqs[run]) break;
      run++;
    }
    return run;
  }

  /** Forgets every entry above `seq` (a truncate); true when there was one. */
  deleteAfter(seq: number): boolean {
    const order = this.order;
    let cut = false;
    while (order.length > this.front && order[order.length - 1] > seq) {
      cut = this.entries.delete(order.pop() as number) || cut;
    }
    return cut;
  }

  /** `entry` (of `seq`) is due again at `deadline`, off the redelivery queue. */
  schedule(seq: number, entry: PendingEntry, deadline: number): void {
    entry.deadline = deadline;
    entry.queued = false;
    this.push(deadline, seq);
  }

  /** Puts `entry` (of `seq`) on the redelivery queue now, unless it is there. */
  enqueue(seq: number, entry: PendingEntry): void {
    if (entry.queued) return;
    entry.queued = true;
    this.queue.push(seq);
  }

  /**
   * Moves every entry due at `now` to the redelivery queue, in stream order
   * (as nats-server sorts them), or hands it to `exhausted` when it was
   * already delivered `maxDeliver` times (> 0). Returns how many were queued.
   */
  expire(
    now: number,
    maxDeliver: number,
    exhausted: (seq: number, entry: PendingEntry) => void,
  ): number {
    const due: number[] = [];
    for (;;) {
      this.pruneTop();
      if (this.heapSeqs.length === 0 || this.heapDeadlines[0] > now) break;
      const seq = this.heapSeqs[0];
      const entry = this.entries.get(seq)!;
      this.pop();
      if (maxDeliver > 0 && entry.dc >= maxDeliver) {
        // Marked queued first, so a stale heap copy is never taken for it.
        entry.queued = true;
        exhausted(seq, entry);
      } else {
        entry.queued = true;
        due.push(seq);
      }
    }
    if (due.length > 1) due.sort((a, b) => a - b);
    for (let i = 0; i < due.length; i++) this.queue.push(due[i]);
    return due.length;
  }

  /** The next sequence due for redelivery, taken off the queue; 0 when none. */
  takeQueued(): number {
    while (this.queueHead < this.queue.length) {
      const seq = this.queue[this.queueHead++];
      const entry = this.entries.get(seq);
      if (entry?.queued) {
        entry.queued = false;
        this.compactQueue();
        return seq;
      }
    }
    this.queue = [];
    this.queueHead = 0;
    return 0;
  }

  /** True when a live entry waits on the redelivery queue. */
  hasQueued(): boolean {
    while (this.queueHead < this.queue.length) {
      const entry = this.entries.get(this.queue[this.queueHead]);
      if (entry?.queued) return true;
      this.queueHead++;
    }
    return false;
  }

  /** The earliest deadline of an entry not yet queued, or Infinity. */
  nextDeadline(): number {
    this.pruneTop();
    return this.heapSeqs.length === 0 ? Number.POSITIVE_INFINITY : this.heapDeadlines[0];
  }

  /** Entries in the order of first delivery (ascending stream sequence). */
  [Symbol.iterator](): IterableIterator<[number, PendingEntry]> {
    return this.entries.entries();
  }

  private pruneTop(): void {
    const deadlines = this.heapDeadlines;
    const seqs = this.heapSeqs;
    while (seqs.length > 0) {
      const entry = this.entries.get(seqs[0]);
      if (entry !== undefined && !entry.queued && entry.deadline === deadlines[0]) return;
      this.pop();
    }
  }

  private push(deadline: number, seq: number): void {
    if (this.heapSeqs.length > 2 * this.entries.size + HEAP_SLACK) this.rebuild();
    const deadlines = this.heapDeadlines;
    const seqs = this.heapSeqs;
    let i = seqs.length;
    deadlines.push(deadline);
    seqs.push(seq);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(deadline, seq, deadlines[parent], seqs[parent])) break;
      deadlines[i] = deadlines[parent];
      seqs[i] = seqs[parent];
      i = parent;
    }
    deadlines[i] = deadline;
    seqs[i] = seq;
  }

  private pop(): void {
    const deadlines = this.heapDeadlines;
    const seqs = this.heapSeqs;
    const lastDeadline = deadlines.pop()!;
    const lastSeq = seqs.pop()!;
    const n = seqs.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (
        child + 1 < n &&
        earlier(deadlines[child + 1], seqs[child + 1], deadlines[child], seqs[child])
      ) {
        child++;
      }
      if (!earlier(deadlines[child], seqs[child], lastDeadline, lastSeq)) break;
      deadlines[i] = deadlines[child];
      seqs[i] = seqs[child];
      i = child;
    }
    deadlines[i] = lastDeadline;
    seqs[i] = lastSeq;
  }

  /** The heap again from the live, unqueued entries only. */
  private rebuild(): void {
    this.heapDeadlines = [];
    this.heapSeqs = [];
    const live: Array<[number, number]> = [];
    for (const [seq, entry] of this.entries) {
      if (!entry.queued) live.push([entry.deadline, seq]);
    }
    live.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    // A sorted array is a valid heap.
    for (const [deadline, seq] of live) {
      this.heapDeadlines.push(deadline);
      this.heapSeqs.push(seq);
    }
  }

  private compactQueue(): void {
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }
}

function earlier(d1: number, s1: number, d2: number, s2: number): boolean {
  return d1 < d2 || (d1 === d2 && s1 < s2);
}
