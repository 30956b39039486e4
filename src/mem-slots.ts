/**
 * MemStore's storage: messages in two parallel arrays ordered by sequence,
 * `seqs` and `recs`, where a removed message leaves an empty slot until
 * enough slots are dead to rebuild the arrays. Appends are pushes; a lookup
 * is one guess (`seq - first` slots ahead of the first live slot, right
 * whenever nothing was skipped) with a binary search behind it; each subject
 * keeps its live sequences in a `SubjectSeqs`. memstore.ts is the facade,
 * mem-queries.ts the subject queries.
 */
import { copyOut } from "./copy-pool.ts";
import type { RecordWriter } from "./snapshot/record-writer.ts";
import type { ArchivedMsg } from "./snapshot/types.ts";
import { Action, noMessageAt, notNextSequence, type StreamRange } from "./store-errors.ts";
import { StreamEngine } from "./stream-engine.ts";
import type { StreamPolicy } from "./stream-policy.ts";
import { SubjectSeqs } from "./subject-seqs.ts";
import type { StoredMsg, StreamState } from "./types.ts";

/** One stored message. @internal */
export interface MemRecord {
  subject: string;
  /** Headers followed by payload, copied once when stored. */
  data: Uint8Array;
  /** Length of the headers in `data`, or -1 for a message stored without headers. */
  hdrLen: number;
  ts: bigint;
  /** Seconds; 0 none, -1 never expires. Kept for expiry (a later issue). */
  ttl: number;
  /** Accounted bytes (msg-size.ts). */
  size: number;
}

/** Rebuild the arrays once this many slots are dead and they outnumber the live ones. */
const MIN_DEAD_TO_REBUILD = 64;

export abstract class MemSlots extends StreamEngine {
  /** Limits, age and TTL expiry: the rules every engine shares (stream-policy.ts). @internal */
  protected abstract readonly policy: StreamPolicy;
  /** @internal */
  protected seqs: number[] = [];
  /** @internal */
  protected recs: (MemRecord | undefined)[] = [];
  /** Per slot, the largest timestamp of any message stored at or before it (dead slots included). @internal */
  protected maxTs: bigint[] = [];
  /** Slot of the first live message while `msgs > 0`. @internal */
  protected head = 0;
  /** @internal */
  protected readonly subjects = new Map<string, SubjectSeqs>();
  /** @internal */
  protected get msgs(): number {
    return this.policy.msgs;
  }
  /** @internal */
  protected get bytes(): number {
    return this.policy.bytes;
  }
  /** @internal */
  protected first = 1;
  /** @internal */
  protected firstTs = 0n;
  /** @internal */
  protected last = 0;
  /** @internal */
  protected lastTs = 0n;

  /** @internal */
  protected summary(): StreamState {
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      // nats-server reports a stream that never had a sequence as first 0.
      firstSeq: this.last === 0 ? 0 : this.first,
      firstTs: this.firstTs,
      lastSeq: this.last,
      lastTs: this.lastTs,
      numSubjects: this.subjects.size,
      numDeleted: this.last - this.first + 1 - this.msgs,
      consumers: 0,
    };
  }

  /** The runs of sequences between first and last that hold no message, ascending. @internal */
  protected *deletedRuns(): Generator<[number, number]> {
    if (this.msgs === 0) return;
    let next = this.first;
    for (let slot = this.head; slot < this.recs.length; slot++) {
      if (this.recs[slot] === undefined) continue;
      const seq = this.seqs[slot];
      if (next < seq) yield [next, seq - 1];
      next = seq + 1;
    }
    if (next <= this.last) yield [next, this.last];
  }

  /** Where the stream stands, for "no message" errors. @internal */
  protected range(): StreamRange {
    return { msgs: this.msgs, first: this.first, last: this.last };
  }

  /** @internal */
  protected checkNext(seq: number, action: string): void {
    if (seq !== this.last + 1) throw notNextSequence(action, seq, this.last + 1);
  }

  /** @internal */
  protected append(
    seq: number,
    ts: bigint,
    subject: string,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    ttl: number,
    size: number,
  ): void {
    let data: Uint8Array;
    if (hdr === null || hdr.length === 0) {
      data = msg.slice();
    } else {
      data = new Uint8Array(hdr.length + msg.length);
      data.set(hdr);
      data.set(msg, hdr.length);
    }
    this.seqs.push(seq);
    this.recs.push({ subject, data, hdrLen: hdr === null ? -1 : hdr.length, ts, ttl, size });
    const prevMax = this.maxTs.length === 0 ? ts : this.maxTs[this.maxTs.length - 1];
    this.maxTs.push(ts > prevMax ? ts : prevMax);
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.policy.added(size);
    this.last = seq;
    this.lastTs = ts;
    const list = this.subjects.get(subject);
    if (list === undefined) this.subjects.set(subject, new SubjectSeqs(seq));
    else list.push(seq);
  }

  /** Hands out `count` sequences without messages. @internal */
  protected advance(count: number, ts: bigint): void {
    this.last += count;
    this.lastTs = ts;
    if (this.msgs === 0) this.first = this.last + 1;
  }

  /** Empties a live slot and its accounting; the caller fixes `head` and `first`. @internal */
  protected drop(slot: number): void {
    const rec = this.recs[slot] as MemRecord;
    const seq = this.seqs[slot];
    this.removalWatches.removing(seq, seq);
    this.recs[slot] = undefined;
    this.policy.removed(seq, rec.size, rec.ttl !== 0);
    if ((this.subjects.get(rec.subject) as SubjectSeqs).remove(seq)) {
      this.subjects.delete(rec.subject);
    }
  }

  /** Moves `head` to the first live slot at or after `from` (one exists) and updates `first`. @internal */
  protected settleHead(from: number): void {
    let slot = from;
    while (this.recs[slot] === undefined) slot++;
    this.head = slot;
    this.first = this.seqs[slot];
    this.firstTs = (this.recs[slot] as MemRecord).ts;
  }

  /** Drops every message; the stream continues at `first`. @internal */
  protected clear(first: number): void {
    if (this.msgs > 0) this.removalWatches.removing(this.first, this.last);
    this.seqs = [];
    this.recs = [];
    this.maxTs = [];
    this.head = 0;
    this.subjects.clear();
    this.policy.emptied();
    this.first = first;
    this.firstTs = 0n;
  }

  /** The first live sequence at or after `seq`, or 0. @internal */
  protected nextLiveSeq(seq: number): number {
    if (this.msgs === 0) return 0;
    const slot = this.nextLive(this.lowerBound(seq));
    return slot < 0 ? 0 : this.seqs[slot];
  }

  /** The live message `seq`, which the index names: memory loses nothing. @internal */
  protected indexedMessage(seq: number): StoredMsg {
    const slot = this.slotOf(seq);
    if (slot < 0) throw noMessageAt(Action.loadMsg, seq, this.range());
    return this.toStored(slot);
  }

  /** The live message `seq` with its TTL, its bytes copied (erase zeroes the store's), for a snapshot. @internal */
  protected archiveRecord(seq: number): ArchivedMsg | null {
    const slot = this.slotOf(seq);
    if (slot < 0) return null;
    const rec = this.recs[slot] as MemRecord;
    const data = rec.data.slice();
    const hdrLen = rec.hdrLen;
    return {
      subject: rec.subject,
      hdr: hdrLen < 0 ? null : data.subarray(0, hdrLen),
      msg: hdrLen <= 0 ? data : data.subarray(hdrLen),
      seq,
      ts: rec.ts,
      ttl: rec.ttl,
    };
  }

  /** Writes the live message `seq` into a snapshot's frame; false when there is none. @internal */
  protected archiveInto(seq: number, out: RecordWriter): boolean {
    const slot = this.slotOf(seq);
    if (slot < 0) return false;
    const rec = this.recs[slot] as MemRecord;
    const hdr = rec.hdrLen < 0 ? null : rec.data.subarray(0, rec.hdrLen);
    const msg = rec.hdrLen <= 0 ? rec.data : rec.data.subarray(rec.hdrLen);
    out.addMsg({ subject: rec.subject, hdr, msg, seq, ts: rec.ts, ttl: rec.ttl });
    return true;
  }

  /** Squeezes out dead slots once they outnumber live messages. @internal */
  protected maybeRebuild(): void {
    const dead = this.recs.length - this.msgs;
    if (dead < MIN_DEAD_TO_REBUILD || dead <= this.msgs) return;
    const seqs: number[] = [];
    const recs: MemRecord[] = [];
    const maxTs: bigint[] = [];
    for (let slot = this.head; slot < this.recs.length; slot++) {
      const rec = this.recs[slot];
      if (rec !== undefined) {
        seqs.push(this.seqs[slot]);
        recs.push(rec);
        const prev = maxTs.length === 0 ? rec.ts : maxTs[maxTs.length - 1];
        maxTs.push(rec.ts > prev ? rec.ts : prev);
      }
    }
    this.seqs = seqs;
    this.recs = recs;
    this.maxTs = maxTs;
    this.head = 0;
  }

  /** First slot at or after `head` whose sequence is ≥ `seq` (the length if none). @internal */
  protected lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The live slot holding `seq`, or -1. @internal */
  protected slotOf(seq: number): number {
    if (this.msgs === 0 || seq < this.first || seq > this.last) return -1;
    // Without skips since the first live message, `seq` sits exactly this far ahead.
    let slot = this.head + (seq - this.first);
    if (slot >= this.seqs.length || this.seqs[slot] !== seq) {
      slot = this.lowerBound(seq);
      if (slot >= this.seqs.length || this.seqs[slot] !== seq) return -1;
    }
    return this.recs[slot] === undefined ? -1 : slot;
  }

  /** The slot of sequence `seq` found in a subject index (so live), or -1 for 0. @internal */
  protected slotOfFirst(seq: number): number {
    return seq === 0 ? -1 : this.slotOf(seq);
  }

  /** The first live slot at or after `slot`, or -1. @internal */
  protected nextLive(slot: number): number {
    const recs = this.recs;
    for (let i = slot; i < recs.length; i++) if (recs[i] !== undefined) return i;
    return -1;
  }

  /** Removes the given live sequences; returns how many. @internal */
  protected removeSeqs(seqs: number[]): number {
    if (seqs.length === 0) return 0;
    for (const seq of seqs) this.drop(this.slotOf(seq));
    if (this.msgs === 0) this.clear(this.last + 1);
    else if (this.recs[this.head] === undefined) this.settleHead(this.head);
    this.maybeRebuild();
    return seqs.length;
  }

  /** @internal */
  protected toStored(slot: number): StoredMsg {
    const rec = this.recs[slot] as MemRecord;
    const copy = copyOut(rec.data, 0, rec.data.length);
    const hdrLen = rec.hdrLen;
    return {
      subject: rec.subject,
      hdr: hdrLen < 0 ? null : copy.subarray(0, hdrLen),
      msg: hdrLen <= 0 ? copy : copy.subarray(hdrLen),
      seq: this.seqs[slot],
      ts: rec.ts,
    };
  }
}
