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
  /**
   * UTF-8 length of the subject once it has been validated as a published
   * subject, so appends on a known subject skip validation.
   */
  bytes?: number;
}

export class SubjectTotals {
  readonly map = new Map<string, SubjectEntry>();

  get size(): number {
    return this.map.size;
  }

  /** Counts a message; `entry` is `get(subject)` when the caller already has it. */
  add(subject: string, seq: number, entry = this.map.get(subject), bytes?: number): void {
    if (entry === undefined) {
      this.map.set(subject, { msgs: 1, first: seq, last: seq, bytes });
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
