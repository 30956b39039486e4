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
 *
 * Subjects: each subject keeps its live sequences in a `SubjectSeqs`
 * (subject-seqs.ts), so a literal subject's count, first and last are O(1)
 * and "from sequence n" queries cost a binary search; a wildcard filter
 * walks the subjects (not the messages) and matches each. `maxTs` holds, per
 * slot, the largest timestamp stored up to that slot, so `getSeqFromTime` is
 * a binary search that stays exact when `storeRawMsg` stamps out of order.
 *
 * Subject queries follow nats-server (memstore.go, filestore.go, 2.9 and
 * later); where it is vague or inconsistent the choice is noted on the method.
 */

import { recordSize } from "./msg-size.ts";
import {
  Action,
  checkDeletedListed,
  deleteClosed,
  filtersNotArray,
  noLastMatch,
  noMatchFrom,
  noMessageAt,
  notConstructible,
  nothingBefore,
  notNextSequence,
  pastTheEnd,
  purgeSeqAndKeep,
  type StreamRange,
  tooManyLastSeqs,
} from "./store-errors.ts";
import { StreamPolicy } from "./stream-policy.ts";
import { type CompiledFilter, compileFilter, subjectMatches } from "./subject-match.ts";
import { SubjectSeqs } from "./subject-seqs.ts";
import type {
  SimpleState,
  StoredMsg,
  StoreOptions,
  StoreResult,
  StreamLimits,
  StreamState,
  StreamStore,
} from "./types.ts";
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

const NO_MATCH: SimpleState = { msgs: 0, first: 0, last: 0 };

/** Rebuild the arrays once this many slots are dead and they outnumber the live ones. */
const MIN_DEAD_TO_REBUILD = 64;

/** What `create` hands the constructor: JavaScript's `new MemStore()` gets a JetStoreError, not a TypeError. */
const CREATING: unique symbol = Symbol("MemStore.create");

/** A stream store held in memory; nothing survives `close()`. */
export class MemStore implements StreamStore {
  private readonly now: () => bigint;
  /** Limits, age and TTL expiry: the rules every engine shares (stream-policy.ts). */
  private readonly policy: StreamPolicy;
  private seqs: number[] = [];
  private recs: (MemRecord | undefined)[] = [];
  /** Per slot, the largest timestamp of any message stored at or before it (dead slots included). */
  private maxTs: bigint[] = [];
  /** Slot of the first live message while `msgs > 0`. */
  private head = 0;
  private readonly subjects = new Map<string, SubjectSeqs>();
  private msgs = 0;
  private bytes = 0;
  private first: number;
  private firstTs = 0n;
  private last: number;
  private lastTs = 0n;
  private closed = false;
  /** The filter of the last query, checked and compiled (see `filterOf`). */
  private lastFilter: CompiledFilter = compileFilter("");

  /** Creates an empty in-memory store. */
  static create(options?: StoreOptions): MemStore {
    const { limits, now } = checkStoreOptions(options);
    return new MemStore(CREATING, limits, now);
  }

  private constructor(creating: typeof CREATING, limits: ResolvedLimits, now: () => bigint) {
    if (creating !== CREATING) throw notConstructible("MemStore", "MemStore.create()");
    this.now = now;
    this.first = limits.firstSeq;
    this.last = limits.firstSeq - 1;
    const store = this;
    this.policy = new StreamPolicy(limits, now, {
      limitedView: (ttls) => ({
        get limitMsgs() {
          return store.msgs;
        },
        get limitBytes() {
          return store.bytes;
        },
        subjectCount: (subject) => this.subjects.get(subject)?.msgs ?? 0,
        removeOldest: () => this.removeMsg(this.first),
        removeOldestOf: (subject) => {
          const list = this.subjects.get(subject);
          if (list !== undefined) this.removeMsg(list.first);
        },
        oldestTimestamp: () => (this.msgs === 0 ? null : this.firstTs),
        ttls,
        nextLive: (seq) => {
          const slot = this.nextLive(this.lowerBound(seq));
          return slot < 0 ? 0 : this.seqs[slot];
        },
        timestampOf: (seq) => (this.recs[this.slotOf(seq)] as MemRecord).ts,
        removeSeq: (seq) => this.removeMsg(seq),
      }),
      removeExpired: (seq) => this.removeMsg(seq),
      // Removing a message from memory cannot fail once the store is open.
      onBackgroundError: () => {},
      isClosed: () => this.closed,
    });
    this.policy.startAgeTimer();
  }

  updateConfig(limits: StreamLimits): void {
    checkOpen(this.closed, Action.updateConfig);
    this.policy.update(limits, () => this.subjects.keys());
  }

  storeMsg(subject: string, hdr: Uint8Array | null, msg: Uint8Array, ttl?: number): StoreResult {
    const action = Action.storeMsg;
    checkOpen(this.closed, action);
    const subjectBytes = checkSubject(subject, action);
    checkHeaders(hdr, action);
    checkPayload(msg, action);
    const ttlSeconds = checkTtl(ttl, this.policy.limits.allowMsgTtl, action);
    checkSeqRoom(this.last, 1, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    this.policy.admit(subject, (hdr === null ? 0 : hdr.length) + msg.length, size, action);
    const seq = this.last + 1;
    const ts = readClock(this.now, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
    this.policy.stored(subject, seq, ts, ttlSeconds);
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
    const action = Action.storeRawMsg;
    checkOpen(this.closed, action);
    const subjectBytes = checkSubject(subject, action);
    checkHeaders(hdr, action);
    checkPayload(msg, action);
    checkSeq(seq, action);
    checkTimestamp(ts, action);
    const ttlSeconds = checkTtl(ttl, this.policy.limits.allowMsgTtl, action);
    this.checkNext(seq, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    this.policy.admit(subject, (hdr === null ? 0 : hdr.length) + msg.length, size, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
    this.policy.storedRaw(subject, seq, ts, ttlSeconds, action);
  }

  skipMsg(): number {
    const action = Action.skipMsg;
    checkOpen(this.closed, action);
    checkSeqRoom(this.last, 1, action);
    const ts = readClock(this.now, action);
    this.advance(1, ts);
    return this.last;
  }

  skipMsgs(seq: number, num: number): void {
    const action = Action.skipMsgs;
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    checkSeq(num, action, "count");
    this.checkNext(seq, action);
    if (num === 0) return;
    checkSeqRoom(this.last, num, action);
    this.advance(num, readClock(this.now, action));
  }

  loadMsg(seq: number): StoredMsg {
    const action = Action.loadMsg;
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) {
      if (seq > this.last) throw pastTheEnd(action, seq, this.last);
      throw noMessageAt(action, seq, this.range());
    }
    return this.toStored(slot);
  }

  loadNextMsg(filter: string, wildcard: boolean, start: number): StoredMsg {
    const action = Action.loadNextMsg;
    checkOpen(this.closed, action);
    const compiled = this.filterOf(filter, action);
    checkBoolean(wildcard, "wildcard", action);
    checkSeq(start, action, "start");
    const from = Math.max(start, this.first);
    if (this.msgs > 0 && from <= this.last) {
      const slot = this.nextMatch(compiled, wildcard, from);
      if (slot >= 0) return this.toStored(slot);
    }
    throw noMatchFrom(filter, start, this.range());
  }

  loadLastMsg(subject: string): StoredMsg {
    const action = Action.loadLastMsg;
    checkOpen(this.closed, action);
    const slot = this.lastMatch(this.filterOf(subject, action));
    if (slot < 0) throw noLastMatch(subject, this.range());
    return this.toStored(slot);
  }

  loadPrevMsg(start: number): StoredMsg {
    const action = Action.loadPrevMsg;
    checkOpen(this.closed, action);
    checkSeq(start, action, "start");
    if (this.msgs > 0 && start >= this.first) {
      // The first message is live and at or before `start`, so the walk ends on a message.
      let slot = this.lowerBound(Math.min(start, this.last) + 1) - 1;
      while (this.recs[slot] === undefined) slot--;
      return this.toStored(slot);
    }
    throw nothingBefore(start, this.range());
  }

  removeMsg(seq: number): boolean {
    return this.remove(seq, Action.removeMsg, false);
  }

  eraseMsg(seq: number): boolean {
    return this.remove(seq, Action.eraseMsg, true);
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
    if (slot < 0) throw noMessageAt(action, seq, this.range());
    for (let i = this.recs.length - 1; i > slot; i--) {
      if (this.recs[i] !== undefined) this.drop(i);
    }
    this.seqs.length = slot + 1;
    this.recs.length = slot + 1;
    this.maxTs.length = slot + 1;
    this.policy.expiry.ttls.truncatedTo(seq);
    this.last = seq;
    this.lastTs = (this.recs[slot] as MemRecord).ts;
  }

  /**
   * `first` and `last` are sequences of matching messages, all three 0 when
   * none matches (nats' filestore reports the raw range `[seq, last]` for "").
   */
  filteredState(seq: number, filter: string): SimpleState {
    const action = Action.filteredState;
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    return this.stateFrom(seq, this.filterOf(filter, action));
  }

  subjectsState(filter: string): Record<string, SimpleState> {
    const action = Action.subjectsState;
    checkOpen(this.closed, action);
    const compiled = this.filterOf(filter, action);
    const entries: [string, SimpleState][] = [];
    this.forEachMatch(compiled, (subject, list) => {
      entries.push([subject, { msgs: list.msgs, first: list.first, last: list.last }]);
    });
    // fromEntries defines own properties, so a subject named "__proto__" stays a key.
    return Object.fromEntries(entries);
  }

  subjectsTotals(filter: string): Record<string, number> {
    const action = Action.subjectsTotals;
    checkOpen(this.closed, action);
    const compiled = this.filterOf(filter, action);
    const entries: [string, number][] = [];
    this.forEachMatch(compiled, (subject, list) => {
      entries.push([subject, list.msgs]);
    });
    return Object.fromEntries(entries);
  }

  /**
   * `validThrough` is the stream's last sequence, as nats'; with
   * `lastPerSubject`, the count of matching subjects whose last message is at
   * or after `seq`.
   */
  numPending(
    seq: number,
    filter: string,
    lastPerSubject: boolean,
  ): { total: number; validThrough: number } {
    const action = Action.numPending;
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const compiled = this.filterOf(filter, action);
    checkBoolean(lastPerSubject, "lastPerSubject", action);
    if (!lastPerSubject)
      return { total: this.stateFrom(seq, compiled).msgs, validThrough: this.last };
    const from = Math.max(seq, this.first);
    let total = 0;
    if (this.msgs > 0 && from <= this.last) {
      this.forEachMatch(compiled, (_, list) => {
        if (list.last >= from) total++;
      });
    }
    return { total, validThrough: this.last };
  }

  /**
   * "" matches everything, as in every other query (nats' subject tree matches
   * nothing for ""); `maxAllowed` counts distinct sequences, as nats does.
   */
  multiLastSeqs(filters: string[], maxSeq: number, maxAllowed: number): number[] {
    const action = Action.lastSeqs;
    checkOpen(this.closed, action);
    if (!Array.isArray(filters)) throw filtersNotArray(filters);
    const compiled = filters.map((filter) => this.filterOf(filter, action));
    checkSeq(maxSeq, action, "maxSeq");
    checkSeq(maxAllowed, action, "maxAllowed");
    if (this.msgs === 0) return [];
    const bound = maxSeq === 0 ? this.last : maxSeq;
    const found = new Set<number>();
    for (const filter of compiled) {
      this.forEachMatch(filter, (_, list) => {
        const seq = list.lastAtOrBefore(bound);
        if (seq > 0) found.add(seq);
      });
      // Past the limit after one filter stays past it: fail before matching the rest.
      if (maxAllowed > 0 && found.size > maxAllowed) {
        throw tooManyLastSeqs(maxAllowed);
      }
    }
    return Array.from(found).sort(ascending);
  }

  allLastSeqs(): number[] {
    checkOpen(this.closed, Action.lastSeqs);
    const seqs: number[] = [];
    for (const list of this.subjects.values()) seqs.push(list.last);
    return seqs.sort(ascending);
  }

  /**
   * ErrStoreMsgNotFound for every sequence without a message, past the last
   * one too (as nats; never ErrStoreEOF).
   */
  subjectForSeq(seq: number): string {
    const action = Action.subjectForSeq;
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) throw noMessageAt(action, seq, this.range());
    return (this.recs[slot] as MemRecord).subject;
  }

  /**
   * Exact even when `storeRawMsg` stamped out of order: the first live
   * message whose timestamp is at or after `ts` (nats binary-searches as if
   * timestamps only rose, and may answer a later sequence then). A binary
   * search over `maxTs` finds where the first such message can start; the walk
   * from there is short unless a removed message held a far larger stamp.
   */
  getSeqFromTime(ts: bigint): number {
    const action = Action.getSeqFromTime;
    checkOpen(this.closed, action);
    checkTimestamp(ts, action);
    if (this.msgs === 0) return this.last + 1;
    // No slot before the first whose running maximum reaches `ts` holds such a message.
    let lo = this.head;
    let hi = this.maxTs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.maxTs[mid] < ts) lo = mid + 1;
      else hi = mid;
    }
    for (let slot = lo; slot < this.recs.length; slot++) {
      const rec = this.recs[slot];
      if (rec !== undefined && rec.ts >= ts) return this.seqs[slot];
    }
    return this.last + 1;
  }

  /**
   * As nats-server: `keep` keeps the newest `keep` messages matching the
   * filter as a whole, not per subject. With "" or ">", `seq` > 0 is
   * `compact(seq)`, so past the end the next message gets `seq` (as nats), and
   * `keep` compacts up to the newest `keep` messages (nats compacts at
   * `last - keep + 1`, keeping fewer when the tail has gaps). `seq` = 1
   * removes nothing, as nothing is below it (nats treats 1 as "no bound").
   */
  purgeEx(filter: string, seq: number, keep: number): number {
    const action = "purge";
    checkOpen(this.closed, action);
    const compiled = this.filterOf(filter, action);
    checkSeq(seq, action);
    checkSeq(keep, action, "keep");
    if (seq > 0 && keep > 0) throw purgeSeqAndKeep(seq, keep);
    if (compiled.all) {
      if (keep > 0) return this.keepNewest(keep);
      return seq === 0 ? this.purge() : this.compact(seq);
    }
    return this.removeSeqs(this.purgeTargets(compiled, seq, keep));
  }

  state(): StreamState {
    checkOpen(this.closed, "read state");
    const summary = this.summary();
    checkDeletedListed(summary.numDeleted);
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
    return { ...summary, deleted };
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
    this.policy.stop();
    this.seqs = [];
    this.recs = [];
    this.maxTs = [];
    this.subjects.clear();
  }

  /** Drops everything and closes; a closed store rejects with ErrStoreClosed, as a FileStore does. */
  async delete(): Promise<void> {
    if (this.closed) throw deleteClosed();
    this.clear(this.last + 1);
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

  /** Where the stream stands, for "no message" errors. */
  private range(): StreamRange {
    return { msgs: this.msgs, first: this.first, last: this.last };
  }

  private checkNext(seq: number, action: string): void {
    if (seq !== this.last + 1) throw notNextSequence(action, seq, this.last + 1);
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
    const prevMax = this.maxTs.length === 0 ? ts : this.maxTs[this.maxTs.length - 1];
    this.maxTs.push(ts > prevMax ? ts : prevMax);
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;
    const list = this.subjects.get(subject);
    if (list === undefined) this.subjects.set(subject, new SubjectSeqs(seq));
    else list.push(seq);
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
    if (rec.ttl !== 0) this.policy.expiry.ttls.remove(seq);
    if ((this.subjects.get(rec.subject) as SubjectSeqs).remove(seq)) {
      this.subjects.delete(rec.subject);
    }
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
    this.maxTs = [];
    this.head = 0;
    this.subjects.clear();
    this.policy.expiry.ttls.clear();
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

  /** The slot of the first message at or after sequence `from` matching `filter`, or -1. */
  private nextMatch(filter: CompiledFilter, wildcard: boolean, from: number): number {
    const start = this.lowerBound(from);
    if (filter.all) return this.nextLive(start);
    if (!wildcard || filter.literal) {
      const list = this.subjects.get(filter.text);
      return list === undefined ? -1 : this.slotOfFirst(list.firstFrom(from));
    }
    // Walk the messages while that is cheaper than asking every subject; a
    // consumer stepping through a busy wildcard finds its next match nearby.
    const recs = this.recs;
    const budgetEnd = Math.min(recs.length, start + this.subjects.size);
    for (let slot = start; slot < budgetEnd; slot++) {
      const rec = recs[slot];
      if (rec !== undefined && subjectMatches(rec.subject, filter.tokens)) return slot;
    }
    if (budgetEnd === recs.length) return -1;
    let best = 0;
    this.forEachMatch(filter, (_, list) => {
      const seq = list.firstFrom(from);
      if (seq > 0 && (best === 0 || seq < best)) best = seq;
    });
    return this.slotOfFirst(best);
  }

  /** The slot of the newest message matching `filter`, or -1. */
  private lastMatch(filter: CompiledFilter): number {
    if (this.msgs === 0) return -1;
    if (filter.all) {
      let slot = this.recs.length - 1;
      while (this.recs[slot] === undefined) slot--;
      return slot;
    }
    let best = 0;
    this.forEachMatch(filter, (_, list) => {
      if (list.last > best) best = list.last;
    });
    return this.slotOfFirst(best);
  }

  /** The slot of sequence `seq` found in a subject index (so live), or -1 for 0. */
  private slotOfFirst(seq: number): number {
    return seq === 0 ? -1 : this.slotOf(seq);
  }

  /** The first live slot at or after `slot`, or -1. */
  private nextLive(slot: number): number {
    const recs = this.recs;
    for (let i = slot; i < recs.length; i++) if (recs[i] !== undefined) return i;
    return -1;
  }

  /**
   * Checks a filter and compiles it, keeping the last one: a consumer asks
   * with the same filter call after call, and a text equal to the kept one
   * was checked when it was kept.
   */
  private filterOf(filter: unknown, action: string): CompiledFilter {
    if (filter !== this.lastFilter.text) {
      checkFilter(filter, action);
      this.lastFilter = compileFilter(filter as string);
    }
    return this.lastFilter;
  }

  /** Calls `visit` for every subject matching `filter`. */
  private forEachMatch(
    filter: CompiledFilter,
    visit: (subject: string, list: SubjectSeqs) => void,
  ): void {
    if (filter.all) {
      for (const [subject, list] of this.subjects) visit(subject, list);
    } else if (filter.literal) {
      const list = this.subjects.get(filter.text);
      if (list !== undefined) visit(filter.text, list);
    } else {
      for (const [subject, list] of this.subjects) {
        if (subjectMatches(subject, filter.tokens)) visit(subject, list);
      }
    }
  }

  /** Count and first / last of the messages at or after `seq` matching `filter`. */
  private stateFrom(seq: number, filter: CompiledFilter): SimpleState {
    const from = Math.max(seq, this.first);
    if (this.msgs === 0 || from > this.last) return { ...NO_MATCH };
    if (filter.all) return this.rangeState(from);
    let msgs = 0;
    let first = 0;
    let last = 0;
    this.forEachMatch(filter, (_, list) => {
      if (list.last < from) return;
      const head = list.firstFrom(from);
      msgs += list.countFrom(from);
      if (first === 0 || head < first) first = head;
      if (list.last > last) last = list.last;
    });
    return { msgs, first, last };
  }

  /** Count and first / last of every message at or after `from`, a sequence in [first, last]. */
  private rangeState(from: number): SimpleState {
    const recs = this.recs;
    let lastSlot = recs.length - 1;
    while (recs[lastSlot] === undefined) lastSlot--;
    const last = this.seqs[lastSlot];
    if (from <= this.first) return { msgs: this.msgs, first: this.first, last };
    const start = this.lowerBound(from);
    if (start > lastSlot) return { ...NO_MATCH };
    const first = this.seqs[this.nextLive(start)];
    const length = recs.length;
    let msgs: number;
    if (length - this.head === this.msgs) {
      msgs = length - start; // no dead slot: plain arithmetic
    } else if (length - start <= start - this.head) {
      msgs = this.countLiveSlots(start, length);
    } else {
      msgs = this.msgs - this.countLiveSlots(this.head, start);
    }
    return { msgs, first, last };
  }

  private countLiveSlots(from: number, to: number): number {
    let n = 0;
    for (let slot = from; slot < to; slot++) if (this.recs[slot] !== undefined) n++;
    return n;
  }

  /** Sequences purgeEx removes for a filter that is not "all". */
  private purgeTargets(filter: CompiledFilter, seq: number, keep: number): number[] {
    const lists: SubjectSeqs[] = [];
    this.forEachMatch(filter, (_, list) => {
      lists.push(list);
    });
    if (keep === 0) {
      const bound = seq > 0 ? seq : Number.POSITIVE_INFINITY;
      return lists.flatMap((list) => list.oldest(Number.POSITIVE_INFINITY, bound));
    }
    const total = lists.reduce((sum, list) => sum + list.msgs, 0);
    if (keep >= total) return [];
    const doomed = total - keep;
    if (lists.length === 1) return lists[0].oldest(doomed, Number.POSITIVE_INFINITY);
    // The oldest across several subjects: each list is sorted, their union is not.
    const all = lists.flatMap((list) =>
      list.oldest(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
    );
    return all.sort(ascending).slice(0, doomed);
  }

  /** Removes the given live sequences; returns how many. */
  private removeSeqs(seqs: number[]): number {
    if (seqs.length === 0) return 0;
    for (const seq of seqs) this.drop(this.slotOf(seq));
    if (this.msgs === 0) this.clear(this.last + 1);
    else if (this.recs[this.head] === undefined) this.settleHead(this.head);
    this.maybeRebuild();
    return seqs.length;
  }

  /** purgeEx on every subject with `keep`: compacts up to the newest `keep` messages. */
  private keepNewest(keep: number): number {
    if (keep >= this.msgs) return 0;
    const recs = this.recs;
    let slot: number;
    if (recs.length - this.head === this.msgs) {
      slot = recs.length - keep;
    } else {
      slot = recs.length;
      for (let kept = 0; kept < keep; ) if (recs[--slot] !== undefined) kept++;
    }
    return this.compact(this.seqs[slot]);
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

function ascending(a: number, b: number): number {
  return a - b;
}
