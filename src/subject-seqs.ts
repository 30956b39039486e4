/**
 * `SubjectSeqs`: the live sequences of one subject, ascending — MemStore's
 * per-subject index. It gives a literal subject's count, first and last in
 * O(1), and "count from", "first at or after" and "last at or before" a
 * sequence in a binary search plus a short walk, so no query on one subject
 * walks the whole stream.
 *
 * A removal marks its entry dead by negating it in place: sequences are ≥ 1,
 * so the sign is free and the magnitudes stay sorted, and removing from the
 * middle costs a binary search instead of a splice. Dead entries at either
 * end are dropped at once, so `seqs[head]` and the last entry are always
 * live; interior dead entries are squeezed out once they (with the consumed
 * head) outnumber the live ones. A Fenwick tree over positions (exact counts
 * in O(log n) despite interior removals) was rejected: it doubles the memory
 * per message for a query nats-server itself answers by scanning.
 */

/** Squeeze only once at least this many slots are wasted, so small lists never churn. */
const MIN_WASTE_TO_SQUEEZE = 32;

export class SubjectSeqs {
  private seqs: number[];
  /** Index of the first live entry. */
  private head = 0;
  /** Negated (removed) entries in (head, end). */
  private dead = 0;

  constructor(seq: number) {
    this.seqs = [seq];
  }

  /** How many messages the subject holds. */
  get msgs(): number {
    return this.seqs.length - this.head - this.dead;
  }

  get first(): number {
    return this.seqs[this.head];
  }

  get last(): number {
    return this.seqs[this.seqs.length - 1];
  }

  /** Appends `seq`, which is above every sequence held. */
  push(seq: number): void {
    this.seqs.push(seq);
  }

  /** Removes the live sequence `seq`; returns true when none is left. */
  remove(seq: number): boolean {
    const seqs = this.seqs;
    const i = this.lowerBound(seq);
    if (i === seqs.length - 1) {
      seqs.pop();
      while (seqs.length > this.head && seqs[seqs.length - 1] < 0) {
        seqs.pop();
        this.dead--;
      }
    } else if (i === this.head) {
      // The last entry is live, so this walk stops inside the array.
      this.head++;
      while (seqs[this.head] < 0) {
        this.head++;
        this.dead--;
      }
    } else {
      seqs[i] = -seq;
      this.dead++;
    }
    if (seqs.length === this.head) return true;
    this.maybeSqueeze();
    return false;
  }

  /** The first live sequence at or after `seq`, or 0. */
  firstFrom(seq: number): number {
    if (seq <= this.first) return this.first;
    const seqs = this.seqs;
    let i = this.lowerBound(seq);
    if (i === seqs.length) return 0;
    while (seqs[i] < 0) i++;
    return seqs[i];
  }

  /** The last live sequence at or before `seq`, or 0. */
  lastAtOrBefore(seq: number): number {
    if (seq >= this.last) return this.last;
    const seqs = this.seqs;
    let i = this.lowerBound(seq + 1) - 1;
    if (i < this.head) return 0;
    while (seqs[i] < 0) i--;
    return seqs[i];
  }

  /** How many live sequences are at or after `seq`. */
  countFrom(seq: number): number {
    if (seq <= this.first) return this.msgs;
    if (seq > this.last) return 0;
    const i = this.lowerBound(seq);
    const length = this.seqs.length;
    if (this.dead === 0) return length - i;
    // Count live entries on the shorter side of `i`.
    if (length - i <= i - this.head) return this.countLive(i, length);
    return this.msgs - this.countLive(this.head, i);
  }

  /** Up to `limit` live sequences below `bound`, oldest first. */
  oldest(limit: number, bound: number): number[] {
    const out: number[] = [];
    const seqs = this.seqs;
    for (let i = this.head; i < seqs.length && out.length < limit; i++) {
      const seq = seqs[i];
      if (seq >= bound) break;
      if (seq > 0) out.push(seq);
    }
    return out;
  }

  private countLive(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) if (this.seqs[i] > 0) n++;
    return n;
  }

  /** First index at or after `head` whose magnitude is ≥ `seq` (the length if none). */
  private lowerBound(seq: number): number {
    const seqs = this.seqs;
    let lo = this.head;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Math.abs(seqs[mid]) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private maybeSqueeze(): void {
    const waste = this.head + this.dead;
    if (waste < MIN_WASTE_TO_SQUEEZE || waste <= this.msgs) return;
    const live: number[] = [];
    for (let i = this.head; i < this.seqs.length; i++) {
      if (this.seqs[i] > 0) live.push(this.seqs[i]);
    }
    this.seqs = live;
    this.head = 0;
    this.dead = 0;
  }
}
