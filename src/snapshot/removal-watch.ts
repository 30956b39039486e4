/**
 * What every removal path of an engine tells first: the watches of removals.
 * Two kinds listen. A running snapshot (`RemovalWatch`) keeps its archive
 * point-in-time while writes go on: it notes the last sequence S and then
 * reads messages through the store's own read path, a batch per event-loop
 * turn. Appends after S are simply not read; a removal of a message at or
 * below S that the snapshot has not read yet would make it vanish from the
 * archive, so the watch copies what it still needs before it goes
 * (copy-on-remove). A truncate below S also lowers the ceiling up to which
 * the store may be read at all: sequences above it are reused. The durable
 * consumers (consumers/durables.ts) listen while one is open, to stop
 * awaiting acks for messages that leave the stream.
 *
 * The cost of a removal during a snapshot is reading the messages it removes
 * that the snapshot has not read yet, held in memory until streamed; with no
 * snapshot running and no consumer open it is one length check.
 */
import type { RecordWriter } from "./record-writer.ts";
import type { ArchivedMsg } from "./types.ts";

/** What a watch reads of its engine. @internal */
export interface ArchiveReader {
  /** The first live sequence at or after `seq`, or 0. */
  nextLiveSeq(seq: number): number;
  /** The live message `seq` with its TTL, its bytes the caller's; null when it cannot be read (lost). */
  archiveRecord(seq: number): ArchivedMsg | null;
  /** Writes the live message `seq` into `out`; false (nothing written) when it cannot be read (lost). */
  archiveInto(seq: number, out: RecordWriter): boolean;
  /**
   * Writes live messages from `from` (live) on, through at most `to`, as
   * many as one call can take cheaply, into `out` until it holds about
   * `maxBytes`; returns the last sequence written, or `from - 1` when it
   * wrote none (`archiveInto` then takes `from`). Optional: FileStore's bulk path.
   */
  archiveRun?(from: number, to: number, out: RecordWriter, maxBytes: number): number;
}

/** One running snapshot's view of removals. @internal */
export class RemovalWatch implements RemovalListener {
  /** The next sequence the snapshot reads from the store. */
  cursor: number;
  /** The noted last sequence: nothing above it belongs to the snapshot. */
  readonly last: number;
  /** The store may be read up to here (below `last` after a truncate). */
  ceiling: number;
  private readonly reader: ArchiveReader;
  /** Messages removed before they were read, in ascending order from `head` once `sort` ran. */
  private saved: ArchivedMsg[] = [];
  private head = 0;
  private sorted = true;

  constructor(reader: ArchiveReader, first: number, last: number) {
    this.reader = reader;
    this.cursor = first;
    this.last = last;
    this.ceiling = last;
  }

  /** Live messages in [lo, hi] are about to be removed. */
  removing(lo: number, hi: number): void {
    const from = Math.max(lo, this.cursor);
    const to = Math.min(hi, this.ceiling);
    if (from > to) return;
    const reader = this.reader;
    for (let s = reader.nextLiveSeq(from); s !== 0 && s <= to; s = reader.nextLiveSeq(s + 1)) {
      const msg = reader.archiveRecord(s);
      if (msg === null) continue;
      const n = this.saved.length;
      if (n > this.head && this.saved[n - 1].seq >= s) this.sorted = false;
      this.saved.push(msg);
    }
  }

  /** Everything after `seq` is about to be cut, and its sequences handed out again. */
  truncating(seq: number): void {
    this.removing(seq + 1, this.ceiling);
    this.ceiling = Math.min(this.ceiling, seq);
  }

  /**
   * Writes the next messages of the snapshot into `out`, in sequence order
   * (the store's and the saved ones merged), until it holds `maxBytes` or
   * more; writes nothing when the snapshot has read everything.
   */
  nextBatch(out: RecordWriter, maxBytes: number): void {
    if (!this.sorted) this.sortSaved();
    const reader = this.reader;
    const limit = this.ceiling;
    let e = this.cursor <= limit ? reader.nextLiveSeq(this.cursor) : 0;
    if (e > limit) e = 0;
    while (out.length < maxBytes) {
      const p = this.head < this.saved.length ? this.saved[this.head].seq : 0;
      if (p !== 0 && (e === 0 || p <= e)) {
        const msg = this.saved[this.head++];
        // A removal that failed after it was seen leaves the message in the store too.
        if (p === e) e = this.nextEngine(e + 1, limit);
        this.cursor = p + 1;
        // The same message saved twice (a removal that failed, then another).
        if (out.count > 0 && out.lastSeq === p) continue;
        out.addMsg(msg);
      } else if (e !== 0) {
        // A run of the store's messages up to the next saved one, when the engine has a bulk path.
        const last =
          reader.archiveRun === undefined
            ? e - 1
            : reader.archiveRun(e, p !== 0 ? Math.min(p - 1, limit) : limit, out, maxBytes);
        if (last >= e) {
          this.cursor = last + 1;
          e = this.nextEngine(last + 1, limit);
          continue;
        }
        this.cursor = e + 1;
        reader.archiveInto(e, out);
        e = this.nextEngine(e + 1, limit);
      } else break;
    }
    if (this.head > 1024 && this.head * 2 > this.saved.length) {
      this.saved = this.saved.slice(this.head);
      this.head = 0;
    }
  }

  private nextEngine(seq: number, limit: number): number {
    if (seq > limit) return 0;
    const s = this.reader.nextLiveSeq(seq);
    return s > limit ? 0 : s;
  }

  private sortSaved(): void {
    const rest = this.saved.slice(this.head).sort((a, b) => a.seq - b.seq);
    this.saved = rest;
    this.head = 0;
    this.sorted = true;
  }
}

/**
 * Told before live messages leave the stream; the removal may still fail
 * after (a tombstone the disk has no room for), so a listener that acts on
 * it checks afterwards that the messages are gone.
 * @internal
 */
export interface RemovalListener {
  /** Live messages in [lo, hi] are about to be removed. */
  removing(lo: number, hi: number): void;
  /** Everything after `seq` is about to be cut, and its sequences handed out again. */
  truncating(seq: number): void;
}

/** The listeners of one engine's removals; every removal path calls `removing` or `truncating` first. @internal */
export class RemovalWatches {
  private list: RemovalListener[] = [];

  add(listener: RemovalListener): void {
    this.list = [...this.list, listener];
  }

  delete(listener: RemovalListener): void {
    this.list = this.list.filter((w) => w !== listener);
  }

  removing(lo: number, hi: number): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) list[i].removing(lo, hi);
  }

  truncating(seq: number): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) list[i].truncating(seq);
  }

  /** The store closed: running snapshots fail at their next read. */
  clear(): void {
    this.list = [];
  }
}
