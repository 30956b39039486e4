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
 *   empty stream has `first = last + 1`; a fresh one reports first and
 *   last 0 as nats-server does, or with `firstSeq` n > 1 first n and last
 *   n - 1 (nats-server purges to FirstSeq at creation);
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
 *
 * In layers, as FileStore: mem-slots.ts (the arrays and lookups),
 * mem-queries.ts (subject queries), and this facade (argument checks, writes,
 * removals, lifecycle); limits and expiry are the shared stream-policy.ts.
 */

import { ConsumerMemStore } from "./consumers/consumer-mem-store.ts";
import { StreamConsumers } from "./consumers/registry.ts";
import { MemQueries } from "./mem-queries.ts";
import type { MemRecord } from "./mem-slots.ts";
import { recordSize } from "./msg-size.ts";
import { loadPrevMatching } from "./multi-calls.ts";
import {
  Action,
  checkDeletedListed,
  deleteClosed,
  noLastMatch,
  noMatchFrom,
  noMessageAt,
  notConstructible,
  nothingBefore,
  pastTheEnd,
  purgeSeqAndKeep,
} from "./store-errors.ts";
import { StreamPolicy } from "./stream-policy.ts";
import { checkFailed, type DeleteBlock, encodeStreamState } from "./stream-state.ts";
import { compileFilter } from "./subject-match.ts";
import type { SubjectSeqs } from "./subject-seqs.ts";
import { syncDeleted } from "./sync-deleted.ts";
import type {
  ExpiredMsg,
  StoredMsg,
  StoreOptions,
  StoreResult,
  StreamLimits,
  StreamState,
  StreamStore,
} from "./types.ts";
import {
  checkBoolean,
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

const _ALL = compileFilter("");

/** What `create` hands the constructor: JavaScript's `new MemStore()` gets a JetStoreError, not a TypeError. */
const CREATING: unique symbol = Symbol("MemStore.create");

const NO_PAYLOAD = new Uint8Array(0);

/** A stream store held in memory; nothing survives `close()`. */
export class MemStore extends MemQueries implements StreamStore {
  private readonly now: () => bigint;
  /** Limits, age and TTL expiry: the rules every engine shares (stream-policy.ts). @internal */
  protected readonly policy: StreamPolicy;
  /** The consumers open on the stream. @internal */
  protected readonly consumers: StreamConsumers;

  /** While close() runs: what a close() called meanwhile returns. */
  private ending: Promise<void> | null = null;
  private deleting = false;

  /** Creates an empty in-memory store. */
  static create(options?: StoreOptions): MemStore {
    const { limits, now, onExpire } = checkStoreOptions(options);
    return new MemStore(CREATING, limits, now, onExpire);
  }

  private constructor(
    creating: typeof CREATING,
    limits: ResolvedLimits,
    now: () => bigint,
    onExpire: ((expired: ExpiredMsg) => void) | null,
  ) {
    if (creating !== CREATING) throw notConstructible("MemStore", "MemStore.create()");
    super();
    this.now = now;
    this.first = limits.firstSeq;
    this.last = limits.firstSeq - 1;
    this.policy = new StreamPolicy(limits, now, {
      limitedView: () => ({
        subjectCount: (subject) => this.subjects.get(subject)?.msgs ?? 0,
        subjectOldestSize: (subject) => {
          const first = (this.subjects.get(subject) as SubjectSeqs).first;
          return (this.recs[this.slotOf(first)] as MemRecord).size;
        },
        removeOldest: () => this.removeMsg(this.first),
        trimSubject: (subject, keep) => {
          const list = this.subjects.get(subject);
          if (list === undefined) return;
          // The list goes once its last message does: `keep` is at least 1, so it is never reached.
          while (list.msgs > keep) this.removeMsg(list.first);
        },
        oldestTimestamp: () => (this.msgs === 0 ? null : this.firstTs),
        nextLive: (seq) => {
          const slot = this.nextLive(this.lowerBound(seq));
          return slot < 0 ? 0 : this.seqs[slot];
        },
        timestampOf: (seq) => (this.recs[this.slotOf(seq)] as MemRecord).ts,
        removeSeq: (seq) => this.removeMsg(seq),
      }),
      removeExpired: (seq) => this.removeMsg(seq),
      readMsg: (which) =>
        which === "first" ? this.loadNextMsg(">", true, this.first) : this.loadMsg(which),
      storeMarker: (subject, hdr, ttl) => this.storeMsg(subject, hdr, NO_PAYLOAD, ttl),
      onExpire,
      // Removing a message from memory cannot fail once the store is open.
      onBackgroundError: () => {},
      isClosed: () => this.closed,
    });
    this.policy.startAgeTimer();
    this.consumers = new StreamConsumers(
      this,
      (name, config, onStop) => new ConsumerMemStore(name, config, { now, onStop }),
      now,
      {
        retention: () => this.policy.limits.retention,
        removals: this.removalWatches,
        isLive: (seq) => this.slotOf(seq) >= 0,
      },
    );
  }

  /** @internal */
  protected snapshotLimits(): ResolvedLimits {
    return this.policy.limits;
  }

  /** @internal */
  protected snapshotSealing(): null {
    return null;
  }

  /** @internal */
  protected clockNow(): bigint {
    return this.now();
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
    const ttlSeconds = this.policy.ttlFor(checkTtl(ttl, this.policy.limits.allowMsgTtl, action));
    checkSeqRoom(this.last, 1, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    const payloadBytes = (hdr === null ? 0 : hdr.length) + msg.length;
    const seq = this.last + 1;
    if (this.consumers.unwanted(subject)) {
      // Interest, and no consumer wants it: the sequence is used up, as FileStore's skip.
      this.policy.admitSkipped(payloadBytes, action);
      const ts = readClock(this.now, action);
      this.advance(1, ts);
      return { seq, ts };
    }
    this.policy.admit(subject, payloadBytes, size, action);
    const ts = readClock(this.now, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
    this.policy.stored(subject, seq, ts, ttlSeconds);
    this.consumers.stored(seq);
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
    const ttlSeconds = this.policy.ttlFor(checkTtl(ttl, this.policy.limits.allowMsgTtl, action));
    this.checkNext(seq, action);
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttlSeconds);
    checkRecordSize(size, action);
    const payloadBytes = (hdr === null ? 0 : hdr.length) + msg.length;
    if (this.consumers.unwanted(subject)) {
      // As storeMsg: the sequence is used up at the message's time.
      this.policy.admitSkipped(payloadBytes, action);
      this.advance(1, ts);
      return;
    }
    this.policy.admit(subject, payloadBytes, size, action);
    this.append(seq, ts, subject, hdr, msg, ttlSeconds, size);
    this.policy.storedRaw(subject, seq, ts, ttlSeconds, action);
    this.consumers.stored(seq);
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

  loadPrevMsg(start: number, filter?: string): StoredMsg {
    if (filter !== undefined) return loadPrevMatching(this.multi, start, filter);
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
    this.consumers.purged();
    return purged;
  }

  compact(seq: number): number {
    const action = "compact";
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    if (seq === 0) return this.purge();
    const purged = this.compactTo(seq);
    this.consumers.purged();
    return purged;
  }

  private compactTo(seq: number): number {
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
    if (seq < this.last) {
      this.consumers.truncating(seq);
      this.removalWatches.truncating(seq);
    }
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
      if (keep > 0) {
        const purged = this.keepNewest(keep);
        this.consumers.purged();
        return purged;
      }
      return seq === 0 ? this.purge() : this.compact(seq);
    }
    return this.removeSeqs(this.purgeTargets(compiled, seq, keep));
  }

  state(): StreamState {
    checkOpen(this.closed, "read state");
    const summary = this.summary();
    checkDeletedListed(summary.numDeleted);
    const deleted: number[] = [];
    for (const [lo, hi] of this.deletedRuns()) for (let s = lo; s <= hi; s++) deleted.push(s);
    return { ...summary, deleted, consumers: this.consumers.count };
  }

  fastState(): StreamState {
    checkOpen(this.closed, "read state");
    return { ...this.summary(), consumers: this.consumers.count };
  }

  encodedStreamState(failed = 0): Uint8Array {
    checkOpen(this.closed, "encode stream state");
    const runs = this.deletedRuns();
    return encodeStreamState({ ...this.summary(), deletedRuns: runs }, checkFailed(failed));
  }

  syncDeleted(blocks: DeleteBlock[]): number {
    checkOpen(this.closed, "sync deleted sequences");
    const store = this;
    return syncDeleted(blocks, {
      get lastSeq() {
        return store.last;
      },
      nextLive: (seq) => {
        const slot = this.nextLive(this.lowerBound(seq));
        return slot < 0 ? 0 : this.seqs[slot];
      },
      remove: (seq) => this.removeMsg(seq),
    });
  }

  async flush(): Promise<void> {
    checkOpen(this.closed, "flush");
  }

  async sync(): Promise<void> {
    checkOpen(this.closed, "sync");
  }

  /**
   * Drops everything. Calls made once it has begun fail with ErrStoreClosed;
   * a close() meanwhile returns this one's promise.
   */
  close(): Promise<void> {
    if (this.ending !== null) return this.ending;
    if (this.closed) return Promise.resolve();
    // Refused from now, as a FileStore does: nothing may open on a store that is going.
    this.closed = true;
    const done = this.shutDown();
    this.ending = done;
    return done;
  }

  private async shutDown(): Promise<void> {
    try {
      await this.consumers.stopAll();
    } finally {
      this.policy.stop();
      this.seqs = [];
      this.recs = [];
      this.maxTs = [];
      this.subjects.clear();
      this.ending = null;
    }
  }

  /**
   * Drops everything and closes; during a close() it takes over, as a
   * FileStore's does. A closed store (or one already deleting) rejects with
   * ErrStoreClosed, as a FileStore does.
   */
  async delete(): Promise<void> {
    if ((this.closed && this.ending === null) || this.deleting) throw deleteClosed();
    this.deleting = true;
    this.clear(this.last + 1);
    await this.close();
  }

  private remove(seq: number, action: string, erase: boolean): boolean {
    checkOpen(this.closed, action);
    checkSeq(seq, action);
    const slot = this.slotOf(seq);
    if (slot < 0) return false;
    const rec = this.recs[slot] as MemRecord;
    // Dropped first: a running snapshot copies the bytes before they are zeroed.
    this.drop(slot);
    if (erase) rec.data.fill(0);
    if (this.msgs === 0) this.clear(this.last + 1);
    else if (slot === this.head) this.settleHead(slot + 1);
    this.maybeRebuild();
    return true;
  }
}
