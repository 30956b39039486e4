/**
 * Per-subject message count and first / last sequence of the FileStore.
 * First and last are kept exact on append; a removal that takes a subject's
 * first or last message marks that bound stale, and it is recomputed on
 * demand by the caller's lookup. Recomputing eagerly would scan the stream on
 * every removal — what makes nats-server's removals slow on big streams.
 */
export interface SubjectEntry {
  msgs: number;
  /** 0 when stale. */
  first: number;
  /** 0 when stale. */
  last: number;
}

export class SubjectTotals {
  readonly map = new Map<string, SubjectEntry>();

  get size(): number {
    return this.map.size;
  }

  add(subject: string, seq: number): void {
    const entry = this.map.get(subject);
    if (entry === undefined) {
      this.map.set(subject, { msgs: 1, first: seq, last: seq });
    } else {
      entry.msgs++;
      entry.last = seq;
    }
  }

  remove(subject: string, seq: number): void {
    const entry = this.map.get(subject);
    if (entry === undefined) return;
    if (--entry.msgs === 0) {
      this.map.delete(subject);
      return;
    }
    if (entry.first === seq) entry.first = 0;
    if (entry.last === seq) entry.last = 0;
  }

  get(subject: string): SubjectEntry | undefined {
    return this.map.get(subject);
  }

  clear(): void {
    this.map.clear();
  }
}
