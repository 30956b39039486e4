/**
 * MemStore: the StreamStore that keeps a stream in memory (nats-server's
 * memStore, server/memstore.go, for semantics). Messages live in two parallel
 * arrays ordered by sequence — `seqs` and `recs` — where a removed message
 * leaves an empty slot until enough slots are dead to rebuild the arrays.
 * Appends are pushes, a lookup is one guess (`seq - first` slots ahead of the
 * first live slot, right whenever nothing was skipped) with a binary search
 * behind it, and skips cost nothing however many sequences they cover. A
 * `Map<seq, record>` was rejected: it costs more per message, and walking
 * sequences one by one through a huge skipped range is slow.
 *
 * Rules shared with every engine (the contract suite checks them):
 * - sequences are never reused: `last` only grows, except `truncate`, and an
 *   empty stream has `first = last + 1`; a fresh one has first `firstSeq`
 *   (default 1) and last `firstSeq - 1` (nats-server reports 0 and 0);
 * - `firstTs` is the first message's timestamp, 0n when empty; `lastTs` is the
 *   time of the last sequence handed out (message or skip), kept by removes,
 *   purge and compact, and set to the kept message's time by `truncate`;
 * - `loadLastMsg("")` and `loadLastMsg(">")` return the newest message even
 *   when the last sequence was removed or skipped (nats-server answers "not
 *   found" there);
 * - `truncate(seq)` needs a message at `seq` (ErrStoreMsgNotFound otherwise);
 *   nats-server's `Truncate(0)` reset to sequence 0 is not offered, since
 *   sequences are never reused;
 * - loaded messages are copies; erasing zero-fills the copy held in memory.
 */
import { JetStoreError } from "./errors.ts";
import { recordSize } from "./msg-size.ts";
import { filterTokens, hasWildcard, matchesAll, subjectMatches } from "./subject-match.ts";
import type { StoredMsg, StoreOptions, StoreResult, StreamState, StreamStore } from "./types.ts";
import {
  checkBoolean,
  checkFilter,
  checkHeaders,
  checkOpen,
  checkPayload,
  checkRecordSize,
  checkSeq,
  checkSeqRoom,
  checkStoreOptions,
  checkSubject,
  checkTimestamp,
  checkTtl,
  describeValue,
  type ResolvedLimits,
  readClock,
} from "./validate.ts";

interface MemRecord {
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

interface SubjectInfo {
  msgs: number;
  /** Newest sequence on the subject, unless `lastStale` (that message was removed). */
  last: number;
  lastStale: boolean;
}

/** Rebuild the arrays once this many slots are dead and they outnumber the live ones. */
const MIN_DEAD_TO_REBUILD = 64;

/** A stream store held in memory; nothing survives `close()`. */
export class MemStore implements StreamStore {
  private readonly now: () => bigint;
  private readonly limits: ResolvedLimits;
  private seqs: number[] = [];
  private recs: (MemRecord | undefined)[] = [];
  /** Slot of the first live message while `msgs > 0`. */
  private head = 0;
  private readonly subjects = new Map<string, SubjectInfo>();
  private msgs = 0;
  private bytes = 0;
  private first: number;
  private firstTs = 0n;
  private last: number;
  private lastTs = 0n;
  private closed = false;

  /** Creates an empty in-memory store. */
  static create(options?: StoreOptions): MemStore {
    const { limits, now } = checkStoreOptions(options);
    return new MemStore(limits, now);
  }

  private constructor(limits: ResolvedLimits, now: () => bigint) {
    this.limits = limits;
    this.now = now;
    this.first = limits.firstSeq;
    this.last = limits.firstSeq - 1;
  }

  storeMsg(subject: string, hdr: Uint8Array | null, msg: Uint8Array, ttl?: number): StoreResult {
    const action = "store message";
    checkOpen(this.closed, action);
    const subjectBytes = checkSubject(subject, action);
    checkHeaders(hdr, action);
    checkPayload(msg, action);
    const ttlSeconds = checkTtl(ttl, this.limits.allowMsgTtl, action);
    checkSeqRoom(this.last, 1, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    const seq = this.last + 1;
    const ts = readClock(this.now, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
    return { seq, ts };
  }

  storeRawMsg(
    subject: string,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    seq: number,
    ts: bigint,
    ttl?: number,
  ): void {
    const action = "store raw message";
    checkOpen(this.closed, action);
    const subjectBytes = checkSubject(subject, action);
    checkHeaders(hdr, action);
    checkPayload(msg, action);
    checkSeq(seq, action);
    checkTimestamp(ts, action);
    const ttlSeconds = checkTtl(ttl, this.limits.allowMsgTtl, action);
    this.checkNext(seq, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
  }

  skipMsg(): number {
    const action = "skip message";
    checkOpen(this.closed, action);
    checkSeqRoom(this.last, 1, action);
    const ts = readClock(this.now, action);
    this.advance(1, ts);
    return this.last;
  }

  skipMsgs(seq: number, num: number): void {
    const action = "skip messages";
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    checkSeq(num, action, "count");
    this.checkNext(seq, action);
    if (num === 0) return;
    checkSeqRoom(this.last, num, action);
    this.advance(num, readClock(this.now, action));
  }

  loadMsg(seq: number): StoredMsg {
    const action = "load message";
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) {
      if (seq > this.last) {
        throw new JetStoreError(
          "ErrStoreEOF",
          `Cannot load message ${seq}: last sequence is ${this.last}`,
        );
      }
      throw new JetStoreError(
        "ErrStoreMsgNotFound",
        `Cannot load message ${seq}: no message there (${this.describeRange()})`,
      );
    }
    return this.toStored(slot);
  }

  loadNextMsg(filter: string, wildcard: boolean, start: number): StoredMsg {
    const action = "load next message";
    checkOpen(this.closed, action);
    checkFilter(filter, action);
    checkBoolean(wildcard, "wildcard", action);
    checkSeq(start, action, "start");
    const from = Math.max(start, this.first);
    if (this.msgs > 0 && from <= this.last) {
      const slot = this.nextMatch(filter, wildcard, this.lowerBound(from));
      if (slot >= 0) return this.toStored(slot);
    }
    throw new JetStoreError(
      "ErrStoreEOF",
      `No message matching ${describeValue(filter)} at or after sequence ${start}: last sequence is ${this.last}`,
    );
  }

  loadLastMsg(subject: string): StoredMsg {
    const action = "load last message";
    checkOpen(this.closed, action);
    checkFilter(subject, action);
    const slot = this.lastMatch(subject);
    if (slot < 0) {
      throw new JetStoreError(
        "ErrStoreMsgNotFound",
        `No message on ${describeValue(subject)} (${this.describeRange()})`,
      );
    }
    return this.toStored(slot);
  }

  loadPrevMsg(start: number): StoredMsg {
    const action = "load previous message";
    checkOpen(this.closed, action);
    checkSeq(start, action, "start");
    if (this.msgs > 0 && start >= this.first) {
      // The first message is live and at or before `start`, so the walk ends on a message.
      let slot = this.lowerBound(Math.min(start, this.last) + 1) - 1;
      while (this.recs[slot] === undefined) slot--;
      return this.toStored(slot);
    }
    throw new JetStoreError(
      "ErrStoreEOF",
      `No message at or before sequence ${start}: ${this.describeRange()}`,
    );
  }

  removeMsg(seq: number): boolean {
    return this.remove(seq, "remove message", false);
  }

  eraseMsg(seq: number): boolean {
    return this.remove(seq, "erase message", true);
  }

  purge(): number {
    checkOpen(this.closed, "purge");
    const purged = this.msgs;
    this.clear(this.last + 1);
    return purged;
  }

  compact(seq: number): number {
    const action = "compact";
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    if (seq === 0) return this.purge();
    if (seq > this.last + 1) {
      // Past the end: as nats-server, everything goes and the next message gets `seq`.
      const purged = this.msgs;
      this.last = seq - 1;
      this.clear(seq);
      return purged;
    }
    if (this.msgs === 0) return 0;
    const end = this.lowerBound(seq);
    const before = this.msgs;
    for (let slot = this.head; slot < end; slot++) {
      if (this.recs[slot] !== undefined) this.drop(slot);
    }
    const purged = before - this.msgs;
    if (this.msgs === 0) this.clear(this.last + 1);
    else this.settleHead(end);
    this.maybeRebuild();
    return purged;
  }

  truncate(seq: number): void {
    const action = "truncate";
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) {
      throw new JetStoreError(
        "ErrStoreMsgNotFound",
        `Cannot truncate to sequence ${seq}: no message there (${this.describeRange()})`,
      );
    }
    for (let i = this.recs.length - 1; i > slot; i--) {
      if (this.recs[i] !== undefined) this.drop(i);
    }
    this.seqs.length = slot + 1;
    this.recs.length = slot + 1;
    this.last = seq;
    this.lastTs = (this.recs[slot] as MemRecord).ts;
  }

  state(): StreamState {
    checkOpen(this.closed, "read state");
    const deleted: number[] = [];
    if (this.msgs > 0) {
      let next = this.first;
      for (let slot = this.head; slot < this.recs.length; slot++) {
        if (this.recs[slot] === undefined) continue;
        const seq = this.seqs[slot];
        while (next < seq) deleted.push(next++);
        next = seq + 1;
      }
      while (next <= this.last) deleted.push(next++);
    }
    return { ...this.summary(), deleted };
  }

  fastState(): StreamState {
    checkOpen(this.closed, "read state");
    return this.summary();
  }

  async flush(): Promise<void> {
    checkOpen(this.closed, "flush");
  }

  async sync(): Promise<void> {
    checkOpen(this.closed, "sync");
  }

  async close(): Promise<void> {
    this.closed = true;
    this.seqs = [];
    this.recs = [];
    this.subjects.clear();
  }

  async delete(): Promise<void> {
    if (!this.closed) this.clear(this.last + 1);
    await this.close();
  }

  private summary(): StreamState {
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      firstSeq: this.first,
      firstTs: this.firstTs,
      lastSeq: this.last,
      lastTs: this.lastTs,
      numSubjects: this.subjects.size,
      numDeleted: this.last - this.first + 1 - this.msgs,
      consumers: 0,
    };
  }

  private describeRange(): string {
    return this.msgs === 0
      ? `the store is empty, last sequence is ${this.last}`
      : `first sequence is ${this.first}, last is ${this.last}`;
  }

  private checkNext(seq: number, action: string): void {
    if (seq !== this.last + 1) {
      throw new JetStoreError(
        "ErrSequenceMismatch",
        `Cannot ${action} at sequence ${seq}: the next sequence is ${this.last + 1}`,
      );
    }
  }

  private append(
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
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;
    const info = this.subjects.get(subject);
    if (info === undefined) {
      this.subjects.set(subject, { msgs: 1, last: seq, lastStale: false });
    } else {
      info.msgs++;
      info.last = seq;
      info.lastStale = false;
    }
  }

  /** Hands out `count` sequences without messages. */
  private advance(count: number, ts: bigint): void {
    this.last += count;
    this.lastTs = ts;
    if (this.msgs === 0) this.first = this.last + 1;
  }

  private remove(seq: number, action: string, erase: boolean): boolean {
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) return false;
    if (erase) (this.recs[slot] as MemRecord).data.fill(0);
    this.drop(slot);
    if (this.msgs === 0) this.clear(this.last + 1);
    else if (slot === this.head) this.settleHead(slot + 1);
    this.maybeRebuild();
    return true;
  }

  /** Empties a live slot and its accounting; the caller fixes `head` and `first`. */
  private drop(slot: number): void {
    const rec = this.recs[slot] as MemRecord;
    const seq = this.seqs[slot];
    this.recs[slot] = undefined;
    this.msgs--;
    this.bytes -= rec.size;
    const info = this.subjects.get(rec.subject) as SubjectInfo;
    if (--info.msgs === 0) this.subjects.delete(rec.subject);
    else if (info.last === seq) info.lastStale = true;
  }

  /** Moves `head` to the first live slot at or after `from` (one exists) and updates `first`. */
  private settleHead(from: number): void {
    let slot = from;
    while (this.recs[slot] === undefined) slot++;
    this.head = slot;
    this.first = this.seqs[slot];
    this.firstTs = (this.recs[slot] as MemRecord).ts;
  }

  /** Drops every message; the stream continues at `first`. */
  private clear(first: number): void {
    this.seqs = [];
    this.recs = [];
    this.head = 0;
    this.subjects.clear();
    this.msgs = 0;
    this.bytes = 0;
    this.first = first;
    this.firstTs = 0n;
  }

  /** Squeezes out dead slots once they outnumber live messages. */
  private maybeRebuild(): void {
    const dead = this.recs.length - this.msgs;
    if (dead < MIN_DEAD_TO_REBUILD || dead <= this.msgs) return;
    const seqs: number[] = [];
    const recs: MemRecord[] = [];
    for (let slot = this.head; slot < this.recs.length; slot++) {
      const rec = this.recs[slot];
      if (rec !== undefined) {
        seqs.push(this.seqs[slot]);
        recs.push(rec);
      }
    }
    this.seqs = seqs;
    this.recs = recs;
    this.head = 0;
  }

  /** First slot at or after `head` whose sequence is ≥ `seq` (the length if none). */
  private lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The live slot holding `seq`, or -1. */
  private slotOf(seq: number): number {
    if (this.msgs === 0 || seq < this.first || seq > this.last) return -1;
    // Without skips since the first live message, `seq` sits exactly this far ahead.
    let slot = this.head + (seq - this.first);
    if (slot >= this.seqs.length || this.seqs[slot] !== seq) {
      slot = this.lowerBound(seq);
      if (slot >= this.seqs.length || this.seqs[slot] !== seq) return -1;
    }
    return this.recs[slot] === undefined ? -1 : slot;
  }

  private nextMatch(filter: string, wildcard: boolean, from: number): number {
    const recs = this.recs;
    if (matchesAll(filter)) {
      for (let slot = from; slot < recs.length; slot++) if (recs[slot] !== undefined) return slot;
    } else if (!wildcard) {
      if (!this.subjects.has(filter)) return -1;
      for (let slot = from; slot < recs.length; slot++)
        if (recs[slot]?.subject === filter) return slot;
    } else {
      const tokens = filterTokens(filter);
      for (let slot = from; slot < recs.length; slot++) {
        const rec = recs[slot];
        if (rec !== undefined && subjectMatches(rec.subject, tokens)) return slot;
      }
    }
    return -1;
  }

  private lastMatch(filter: string): number {
    if (this.msgs === 0) return -1;
    const recs = this.recs;
    if (matchesAll(filter)) {
      let slot = recs.length - 1;
      while (recs[slot] === undefined) slot--;
      return slot;
    }
    if (!hasWildcard(filter)) {
      const info = this.subjects.get(filter);
      if (info === undefined) return -1;
      if (!info.lastStale) return this.slotOf(info.last);
      for (let slot = this.lowerBound(info.last) - 1; slot >= this.head; slot--) {
        if (recs[slot]?.subject === filter) {
          info.last = this.seqs[slot];
          info.lastStale = false;
          return slot;
        }
      }
      return -1;
    }
    const tokens = filterTokens(filter);
    for (let slot = recs.length - 1; slot >= this.head; slot--) {
      const rec = recs[slot];
      if (rec !== undefined && subjectMatches(rec.subject, tokens)) return slot;
    }
    return -1;
  }

  private toStored(slot: number): StoredMsg {
    const rec = this.recs[slot] as MemRecord;
    const copy = rec.data.slice();
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
