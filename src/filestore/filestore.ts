/**
 * FileStore: a stream of messages in block files, with the semantics of
 * nats-server's fileStore (server/filestore.go) and its own durability rules.
 *
 * Writes are synchronous and buffered: a record is encoded straight into the
 * active block's buffer in WASM memory and written out when 128 KiB (16 KiB
 * sealed) are pending or 8 ms after the first pending write. Durability is asynchronous:
 * `sync()` is group commit (every waiter resolved by one fsync that started
 * after its data was written), `flush()` also writes the checkpoint, and
 * `syncAlways` fsyncs each write before `storeMsg` returns.
 *
 * Removals append a tombstone to the newest block before they are reported,
 * so no crash and no stale checkpoint can bring a removed message back; purge
 * and compact write one range tombstone. Sealed blocks keep only their
 * metadata, a deleted-sequence set in WASM memory and, once read, a 4-byte
 * per-message offset index; their bytes come back through a bounded cache.
 *
 * This class is the public facade: it opens and closes the store, checks
 * every argument, and hands each call to the layer that owns it (the layers
 * are listed in store-base.ts).
 */

import { prepareCrypto } from "../../runtimes/aead.ts";
import { allocated } from "../../runtimes/collection-hint.ts";
import { atExit } from "../../runtimes/exit.ts";
import { type DirectoryLock, joinPath } from "../../runtimes/fs.ts";
import { backgroundInterval } from "../../runtimes/timers.ts";
import { resolveAtRest } from "../at-rest/open.ts";
import { type RekeyOptions, rekeyStore } from "../at-rest/rekey.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { writeSettings } from "../at-rest/settings.ts";
import { fileStoreConsumers } from "../consumers/file-store-consumers.ts";
import type { StreamConsumers } from "../consumers/registry.ts";
import { JetStoreError } from "../errors.ts";
import { recordSize } from "../msg-size.ts";
import { loadPrevMatching } from "../multi-calls.ts";
import { type RestoreOptions, restoreStore } from "../snapshot/restore.ts";
import type { ArchiveSource } from "../snapshot/types.ts";
import {
  Action,
  checkDeletedListed,
  deleteClosed,
  notConstructible,
  notNextSequence,
  pastTheEnd,
  purgeSeqAndKeep,
} from "../store-errors.ts";
import { checkFailed, type DeleteBlock, encodeStreamState } from "../stream-state.ts";
import { compileFilter } from "../subject-match.ts";
import { syncDeleted } from "../sync-deleted.ts";
import type { StoredMsg, StoreResult, StreamLimits, StreamState, StreamStore } from "../types.ts";
import {
  checkBoolean,
  checkFilter,
  checkHeaders,
  checkOpen,
  checkPayload,
  checkSeq,
  checkSeqRoom,
  checkSubject,
  checkTimestamp,
  checkTtl,
  type ResolvedLimits,
  readClock,
} from "../validate.ts";
import { lostReport } from "./damage.ts";
import {
  type FileStoreOptions,
  type ResolvedFileStoreOptions,
  resolveFileStoreOptions,
} from "./options.ts";
import { purgeTargets, seqFromTime } from "./queries.ts";
import { BLOCKS_DIR } from "./recovery.ts";
import {
  checkStoreDirectory,
  missingDirectories,
  parentOf,
  removeLockedDirectory,
} from "./store-directory.ts";
import { StoreLoad } from "./store-load.ts";

const _ALL = compileFilter("");
const NO_PAYLOAD = new Uint8Array(0);
/** About what a storeMsg result costs: the object and its timestamp. */
const STORE_RESULT_BYTES = 64;

/** What `open` hands the constructor: JavaScript's `new FileStore()` gets a JetStoreError, not a TypeError. */
const OPENING: unique symbol = Symbol("FileStore.open");

export type { FileStoreOptions } from "./options.ts";

export class FileStore extends StoreLoad implements StreamStore {
  /** The consumers open on the stream. @internal */
  protected readonly consumers: StreamConsumers;

  private constructor(
    opening: typeof OPENING,
    options: ResolvedFileStoreOptions,
    lock: DirectoryLock,
    sealer: Sealer,
  ) {
    if (opening !== OPENING) throw notConstructible("FileStore", "await FileStore.open({ dir })");
    super(options, lock, sealer);
    const where = { fs: this.fs, storeDir: this.dir, sealer };
    this.consumers = fileStoreConsumers(this, where, options, {
      retention: () => this.limits.retention,
      removals: this.removalWatches,
      isLive: (seq) => this.nextLiveSeq(seq) === seq,
    });
  }

  /** @internal */
  protected snapshotLimits(): ResolvedLimits {
    return this.limits;
  }

  /** @internal */
  protected clockNow(): bigint {
    return this.now();
  }

  /**
   * Writes the store an archive holds into `dir`, which must not hold
   * anything, and opens it with the archive's limits overridden by
   * `options` (those of `open`: `key` and `cipher` for an encrypted one).
   * ErrCorrupt for a damaged or cut archive, and nothing is left at `dir`.
   */
  static restore(dir: string, source: ArchiveSource, options?: RestoreOptions): Promise<FileStore> {
    return restoreStore((o) => FileStore.open(o), dir, source, options);
  }

  /**
   * Changes the key of the encrypted store in `options.dir` (closed) from
   * `key` to `newKey`. Only the wrapped data key in the settings file is
   * rewritten, atomically; ErrBadKey if `key` does not open the store.
   */
  static rekey(options: RekeyOptions): Promise<void> {
    return rekeyStore(options);
  }

  /** Opens (creating if needed) the store in `options.dir`. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const resolved = resolveFileStoreOptions(options);
    const { fs, dir } = resolved;
    checkStoreDirectory(fs, dir);
    // A data key is only ever unwrapped or made with the caller's key.
    if (resolved.key !== null) await prepareCrypto();
    const atRest = resolveAtRest(fs, dir, resolved);
    const created = missingDirectories(fs, dir);
    fs.mkdir(joinPath(dir, BLOCKS_DIR), resolved.directoryMode);
    // A store in directories made here is only durable once their parents record them.
    for (const path of created) fs.syncDirectory(parentOf(path));
    const lock = fs.lock(dir, resolved.fileMode);
    let store: FileStore | undefined;
    try {
      if (atRest.settings !== null) writeSettings(fs, dir, atRest.settings, resolved.fileMode);
      store = new FileStore(OPENING, resolved, lock, atRest.sealer);
      store.load();
      store.expiry.rearm(readClock(store.now, "open store"));
    } catch (err) {
      // A clock that throws fails the open too: nothing may keep the lock or a timer.
      store?.policy.stop();
      store?.releaseMemory();
      atRest.sealer.wipe();
      lock.release();
      throw err;
    }
    store.policy.startAgeTimer();
    if (resolved.syncIntervalMs > 0) {
      store.syncTimer = backgroundInterval(() => {
        if (!store.closed && store.hasUnsynced()) store.commit.request().catch(() => {});
      }, resolved.syncIntervalMs);
    }
    store.leaveExit = atExit(() => store.closeAtExit());
    store.blockRewritten();
    try {
      await store.consumers.finishDeletions();
    } catch (err) {
      // The next open tries again: what it decided is recorded until done.
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  updateConfig(limits: StreamLimits): void {
    checkOpen(this.closed, "update config");
    this.settleCheckpoint();
    this.policy.update(limits, () => this.subjects.map.keys());
  }

  storeMsg(subject: string, hdr: Uint8Array | null, msg: Uint8Array, ttl?: number): StoreResult {
    checkOpen(this.closed, "store message");
    this.settleCheckpoint();
    // A subject with live messages was validated when they were stored.
    const entry = this.subjects.get(subject);
    const subjectBytes = entry?.bytes ?? checkSubject(subject, "store message");
    checkHeaders(hdr, "store message");
    checkPayload(msg, "store message");
    const policy = this.policy;
    const msgTtl = policy.ttlFor(checkTtl(ttl, policy.limits.allowMsgTtl, "store message"));
    checkSeqRoom(this.lastSeq, 1, "store message");
    if (this.consumers.unwanted(subject)) {
      const seq = this.lastSeq + 1;
      return { seq, ts: this.storeUnwanted(hdr, msg, seq, null, "store message") };
    }
    if (policy.admits) this.admit(subject, subjectBytes, hdr, msg, msgTtl, "store message");
    const ts = this.clock.read("store message");
    const seq = this.lastSeq + 1;
    if (entry !== undefined) entry.bytes = subjectBytes;
    const counted = this.appendMessage(seq, ts, subject, subjectBytes, hdr, msg, msgTtl, entry);
    policy.stored(subject, seq, ts, msgTtl, counted);
    this.consumers.stored(seq);
    // The result and its timestamp are garbage to most callers (see collection-hint.ts).
    allocated(STORE_RESULT_BYTES);
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
    checkOpen(this.closed, "store raw message");
    this.settleCheckpoint();
    const subjectBytes = checkSubject(subject, "store raw message");
    checkHeaders(hdr, "store raw message");
    checkPayload(msg, "store raw message");
    checkSeq(seq, "store raw message");
    checkTimestamp(ts, "store raw message");
    const msgTtl = this.policy.ttlFor(checkTtl(ttl, this.limits.allowMsgTtl, "store raw message"));
    if (seq !== this.lastSeq + 1) {
      throw notNextSequence(Action.storeRawMsg, seq, this.lastSeq + 1);
    }
    if (this.consumers.unwanted(subject)) {
      this.storeUnwanted(hdr, msg, seq, ts, "store raw message");
      return;
    }
    if (this.policy.admits)
      this.admit(subject, subjectBytes, hdr, msg, msgTtl, "store raw message");
    const entry = this.subjects.get(subject);
    const counted = this.appendMessage(seq, ts, subject, subjectBytes, hdr, msg, msgTtl, entry);
    this.policy.storedRaw(subject, seq, ts, msgTtl, "store raw message", counted);
    this.consumers.stored(seq);
  }

  /** @internal */
  protected storeMarker(subject: string, hdr: Uint8Array, ttl: number): void {
    this.storeMsg(subject, hdr, NO_PAYLOAD, ttl);
  }

  /** @internal */
  protected admit(
    subject: string,
    subjectBytes: number,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    ttl: number,
    action: string,
  ): void {
    const hdrLen = hdr === null ? 0 : hdr.length;
    const size = recordSize(subjectBytes, hdrLen, msg.length, ttl);
    this.policy.admit(subject, hdrLen + msg.length, size, action);
  }

  skipMsg(): number {
    checkOpen(this.closed, "skip message");
    this.settleCheckpoint();
    checkSeqRoom(this.lastSeq, 1, "skip message");
    const seq = this.lastSeq + 1;
    this.appendSkip(seq, 1);
    return seq;
  }

  /** @internal */
  protected bulkStored(first: number, count: number): void {
    for (let seq = first; seq < first + count; seq++) this.consumers.stored(seq);
  }

  skipMsgs(seq: number, num: number): void {
    checkOpen(this.closed, "skip messages");
    this.settleCheckpoint();
    checkSeq(seq, "skip messages");
    checkSeq(num, "skip messages", "count");
    if (seq !== this.lastSeq + 1) throw notNextSequence(Action.skipMsgs, seq, this.lastSeq + 1);
    if (num === 0) return;
    checkSeqRoom(this.lastSeq, num, "skip messages");
    this.appendSkip(seq + num - 1, num);
  }

  loadMsg(seq: number): StoredMsg {
    checkOpen(this.closed, "load message");
    checkSeq(seq, "load message");
    if (seq > this.lastSeq) throw pastTheEnd(Action.loadMsg, seq, this.lastSeq);
    const block = this.findBlock(seq);
    if (block === undefined || seq < this.firstSeq || !block.isLive(seq)) {
      throw this.noMessageAt(Action.loadMsg, seq);
    }
    return this.readAt(block, seq);
  }

  loadNextMsg(filter: string, wildcard: boolean, start: number): StoredMsg {
    checkOpen(this.closed, "load next message");
    checkFilter(filter, "load next message");
    checkBoolean(wildcard, "wildcard", "load next message");
    checkSeq(start, "load next message", "start");
    return this.nextMessage(filter, wildcard, start);
  }

  loadLastMsg(subject: string): StoredMsg {
    checkOpen(this.closed, "load last message");
    checkFilter(subject, "load last message");
    return this.lastMessage(subject);
  }

  loadPrevMsg(start: number, filter?: string): StoredMsg {
    if (filter !== undefined) return loadPrevMatching(this.multi, start, filter);
    checkOpen(this.closed, "load previous message");
    checkSeq(start, "load previous message", "start");
    return this.prevMessage(start);
  }

  subjectForSeq(seq: number): string {
    checkOpen(this.closed, Action.subjectForSeq);
    checkSeq(seq, Action.subjectForSeq);
    const block = this.findBlock(seq);
    if (block === undefined || seq < this.firstSeq || !block.isLive(seq)) {
      throw this.noMessageAt(Action.subjectForSeq, seq);
    }
    return this.subjectAt(block, seq);
  }

  getSeqFromTime(ts: bigint): number {
    checkOpen(this.closed, Action.getSeqFromTime);
    checkTimestamp(ts, Action.getSeqFromTime);
    return seqFromTime(this.queries, ts);
  }

  purgeEx(filter: string, seq: number, keep: number): number {
    this.checkQuery("purge", filter);
    this.settleCheckpoint();
    checkSeq(seq, Action.purge);
    checkSeq(keep, Action.purge, "keep");
    if (seq > 0 && keep > 0) throw purgeSeqAndKeep(seq, keep);
    const f = compileFilter(filter);
    if (f.all && keep === 0) return this.purgeBelow(seq);
    const targets = purgeTargets(this.queries, f, seq, keep);
    for (const target of targets) this.remove(target, false);
    if (f.all) this.consumers.purged();
    return targets.length;
  }

  /** @internal */
  protected checkQuery(action: string, filter: string): void {
    checkOpen(this.closed, action);
    checkFilter(filter, action);
  }

  removeMsg(seq: number): boolean {
    checkOpen(this.closed, "remove message");
    this.settleCheckpoint();
    checkSeq(seq, "remove message");
    return this.remove(seq, false);
  }

  eraseMsg(seq: number): boolean {
    checkOpen(this.closed, "erase message");
    this.settleCheckpoint();
    checkSeq(seq, "erase message");
    return this.remove(seq, true);
  }

  purge(): number {
    checkOpen(this.closed, "purge");
    this.settleCheckpoint();
    return this.purgeBelow(0);
  }

  compact(seq: number): number {
    checkOpen(this.closed, "compact");
    this.settleCheckpoint();
    checkSeq(seq, "compact");
    return this.purgeBelow(seq);
  }

  /** compactTo (everything when `seq` is 0), then the consumers move past what went. */
  private purgeBelow(seq: number): number {
    const purged = this.compactTo(seq);
    this.consumers.purged();
    return purged;
  }

  truncate(seq: number): void {
    checkOpen(this.closed, "truncate");
    this.settleCheckpoint();
    checkSeq(seq, "truncate");
    // The consumers take the cut before it is made (rewrites.ts): they follow it even when a
    // checkpoint or file cut fails after the cut in memory and this throws.
    this.truncateAfter(seq);
  }

  /**
   * Writes the checkpoint a failed truncate owes before anything else changes,
   * and, first after the open, has the closed consumers forget deliveries past
   * the stream's end (a tail a power cut lost, durables.ts settleLostTail);
   * throws while it cannot. @internal
   */
  protected settleCheckpoint(): void {
    if (this.checkpointOwed) this.writeCheckpointNow();
    // Once per open: the consumer layer keeps that it was done.
    this.consumers.settleLostTail();
  }

  state(): StreamState {
    checkOpen(this.closed, "read state");
    const state = this.fastState();
    checkDeletedListed(state.numDeleted);
    const deleted: number[] = [];
    for (const [lo, hi] of this.deletedRuns()) for (let s = lo; s <= hi; s++) deleted.push(s);
    state.deleted = deleted;
    const lost = lostReport(this.lost, this.blocks);
    if (lost !== undefined) state.lost = lost;
    return state;
  }

  fastState(): StreamState {
    checkOpen(this.closed, "read state");
    const empty = this.msgs === 0;
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      // nats-server reports a stream that never had a sequence as first 0.
      firstSeq: this.lastSeq === 0 ? 0 : this.firstSeq,
      firstTs: empty ? 0n : this.firstTimestamp(),
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      numSubjects: this.subjects.size,
      numDeleted: empty ? 0 : this.lastSeq - this.firstSeq + 1 - this.msgs,
      consumers: this.consumers.count,
    };
  }

  encodedStreamState(failed = 0): Uint8Array {
    checkOpen(this.closed, "encode stream state");
    const state = this.fastState();
    return encodeStreamState({ ...state, deletedRuns: this.deletedRuns() }, checkFailed(failed));
  }

  syncDeleted(blocks: DeleteBlock[]): number {
    checkOpen(this.closed, "sync deleted sequences");
    this.settleCheckpoint();
    const store = this;
    return syncDeleted(blocks, {
      get lastSeq() {
        return store.lastSeq;
      },
      nextLive: (seq) => this.nextLiveSeq(seq),
      remove: (seq) => this.removeMsg(seq),
    });
  }

  /** Group commit: resolves once everything stored before the call is on disk. */
  sync(): Promise<void> {
    if (this.closed)
      return Promise.reject(
        new JetStoreError("ErrStoreClosed", "Cannot sync: the store is closed"),
      );
    return this.commit.request();
  }

  /** Writes everything out, fsyncs it and records a checkpoint. */
  async flush(): Promise<void> {
    if (this.closed)
      return Promise.reject(
        new JetStoreError("ErrStoreClosed", "Cannot flush: the store is closed"),
      );
    if (!(await this.syncAndCheckpoint()))
      throw new JetStoreError("ErrStoreClosed", "Cannot flush: the store was closed meanwhile");
  }

  /**
   * Flushes, writes the checkpoint and releases the store. Calls made once it
   * has begun fail with ErrStoreClosed; a close() meanwhile returns this one's
   * promise (during a delete(), one that settles when the delete does).
   */
  close(): Promise<void> {
    if (this.ending !== null) return this.ending;
    if (this.closed) return Promise.resolve();
    // Refused from now, not once the round is done: a write let in meanwhile could be
    // acknowledged by a round that runs after the memory holding it is released.
    this.closed = true;
    const done = this.shutDown();
    this.ending = done;
    return done;
  }

  /** @internal */
  private async shutDown(): Promise<void> {
    try {
      // A consumer store that fails to stop (its error is the close's) must not keep the
      // stream's own buffered writes and checkpoint from the disk.
      const stopped = await this.consumers.stopAll().then(
        () => null,
        (err: unknown) => ({ err }),
      );
      await this.syncAndCheckpoint();
      if (stopped !== null) throw stopped.err;
    } finally {
      // A delete() begun meanwhile lets the store go, and removes it, on its own.
      if (this.deleting !== null) await this.deleting;
      else await this.letGo(false);
      // A close() from now on finds the store closed and resolves, whatever this one did.
      this.ending = null;
    }
  }

  /**
   * Closes the store and removes its directory, while it still holds the lock;
   * during a close() it takes over, and that close settles once it is done.
   * A closed handle (or one already deleting) rejects with ErrStoreClosed: the
   * directory may be another handle's by now.
   */
  delete(): Promise<void> {
    if (this.released || this.deleting !== null) return Promise.reject(deleteClosed());
    this.closed = true;
    const done = this.removeAll();
    let ended: () => void = () => {};
    this.deleting = new Promise((resolve) => {
      ended = resolve;
    });
    this.ending ??= this.deleting;
    return done.finally(ended);
  }

  /** @internal */
  private async removeAll(): Promise<void> {
    // Consumer stores stopping or deleting finish first: their files are under the directory.
    await this.consumers.stopAll().catch(() => {});
    await this.letGo(true);
  }

  /**
   * Releases the store's memory and its lock, first removing its directory
   * when `remove`; from its first step no round or checkpoint touches either.
   * @internal
   */
  private async letGo(remove: boolean): Promise<void> {
    this.released = true;
    this.leaveExit();
    this.stopTimers();
    try {
      await this.packer.settled();
      this.releaseMemory();
      // A removal from a round still in flight would take a later store's file of the same name.
      await Promise.allSettled(this.unlinking);
      if (remove) removeLockedDirectory(this.fs, this.dir);
    } finally {
      this.lock.release();
    }
  }

  /** @internal */
  protected override closeAtExit(): void {
    if (!this.released) this.consumers.stopAllNow();
    super.closeAtExit();
  }

  /** @internal */
  protected stopTimers(): void {
    this.packer.stop();
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    this.policy.stop();
    this.flushTimer = null;
    this.syncTimer = null;
  }

  /** @internal */
  protected releaseMemory(): void {
    for (const b of this.blocks) b.dispose();
    this.blocks = [];
    this.cache.clear();
    this.files.releaseAll();
    this.scratch.dispose();
    this.buffer.dispose();
    this.releaseBulkMemory();
  }
}
