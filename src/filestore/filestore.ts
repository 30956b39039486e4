/**
 * FileStore: a stream of messages in block files, with the semantics of
 * nats-server's fileStore (server/filestore.go) and its own durability rules.
 *
 * Writes are synchronous and buffered: a record is encoded straight into the
 * active block's buffer in WASM memory and written out when 16 KiB are
 * pending or 8 ms after the first pending write. Durability is asynchronous:
 * `sync()` is group commit (every waiter resolved by one fsync that started
 * after its data was written), `flush()` also writes the checkpoint, and
 * `syncAlways` fsyncs each write before `storeMsg` returns.
 *
 * Removals append a tombstone to the newest block before they are reported,
 * so no crash and no stale checkpoint can bring a removed message back; purge
 * and compact write one range tombstone. Sealed blocks keep only their
 * metadata, a deleted-sequence set in WASM memory and, once read, a 4-byte
 * per-message offset index; their bytes come back through a bounded cache.
 */

import { atExit } from "../../runtimes/exit.ts";
import {
  type DirectoryLock,
  type FileHandle,
  type FileSystem,
  joinPath,
} from "../../runtimes/fs.ts";
import { backgroundInterval, backgroundTimeout } from "../../runtimes/timers.ts";
import { isJetStoreError, JetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  REC_CHECKSUM_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_LENGTH,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
} from "../format.ts";
import {
  admit,
  ageCheckIntervalMs,
  enforce,
  enforceAll,
  expireByAge,
  expireDue,
  type LimitedStore,
} from "../limits.ts";
import { recordSize } from "../msg-size.ts";
import {
  Action,
  checkDeletedListed,
  deleteClosed,
  filtersNotArray,
  lostToDamage,
  noLastMatch,
  noMatchFrom,
  noMessageAt,
  notConstructible,
  nothingBefore,
  notNextSequence,
  pastTheEnd,
  purgeSeqAndKeep,
  type StreamRange,
} from "../store-errors.ts";
import {
  compileFilter,
  filterMatches,
  filterTokens,
  matchesAll,
  subjectMatches,
} from "../subject-match.ts";
import { Timestamps } from "../timestamps.ts";
import { TtlExpiry } from "../ttl-expiry.ts";
import type {
  LostData,
  SimpleState,
  StoredMsg,
  StoreResult,
  StreamLimits,
  StreamState,
  StreamStore,
} from "../types.ts";
import {
  checkBoolean,
  checkFilter,
  checkHeaders,
  checkLimitsUpdate,
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
import { getCore } from "../wasm/core.ts";
import { Block, NO_RECORD } from "./block.ts";
import { BlockCache } from "./block-cache.ts";
import { checkBlockHeader, loadBlock } from "./block-io.ts";
import { scanBlock } from "./block-scan.ts";
import { CHECKPOINT_FILE, type Checkpoint, encodeCheckpoint } from "./checkpoint.ts";
import { damagedMessages, lostReport } from "./damage.ts";
import { GroupCommit } from "./group-commit.ts";
import {
  type DecodedFields,
  decodedTimestamp,
  decodeFields,
  readMessage,
  readSubject,
} from "./message-reader.ts";
import {
  type FileStoreOptions,
  type ResolvedFileStoreOptions,
  resolveFileStoreOptions,
} from "./options.ts";
import {
  allLastSeqs,
  filteredState,
  multiLastSeqs,
  numPending,
  purgeTargets,
  type QuerySource,
  resolved,
  seqFromTime,
  subjectsState,
  subjectsTotals,
} from "./queries.ts";
import { ReadHandles } from "./read-handles.ts";
import { BLOCKS_DIR, blockPath, recover } from "./recovery.ts";
import { ScratchBuffer } from "./scratch-buffer.ts";
import { NO_SUBJECT, type SubjectEntry, SubjectTotals } from "./subject-totals.ts";
import { WriteBuffer } from "./write-buffer.ts";

export type { FileStoreOptions } from "./options.ts";

const FLUSH_BYTES = 16 * 1024;
const FLUSH_DELAY_MS = 8;
/** First read of a record read on its own; most records fit, larger ones take a second read. */
const DIRECT_READ_BYTES = 512;
/** A skip longer than this starts a new block, so no offset index spans a huge gap. */
const SKIP_SPLIT = 4096;
/**
 * Skips that would stretch a block over more sequences than this start a new
 * one: a block's offset index takes 4 bytes per sequence it spans, and many
 * short skips would otherwise grow it by gigabytes within one block file.
 */
const SKIP_SPAN = 1 << 20;
const TWO_32 = 0x1_0000_0000;
const EMPTY = new Uint8Array(0);
/** What `open` hands the constructor: JavaScript's `new FileStore()` gets a JetStoreError, not a TypeError. */
const OPENING: unique symbol = Symbol("FileStore.open");

export class FileStore implements StreamStore {
  private readonly fs: FileSystem;
  private readonly dir: string;
  private readonly options: ResolvedFileStoreOptions;
  private limits: ResolvedLimits;
  private readonly now: () => bigint;
  private readonly clock: Timestamps;
  private readonly lock: DirectoryLock;
  private readonly buffer: WriteBuffer;
  private readonly cache: BlockCache;
  private readonly commit: GroupCommit;
  private readonly readHandles: ReadHandles;
  private readonly queries: QuerySource;
  /** The store as the limit rules see it; null when no limit is set. */
  private limited: LimitedStore | null = null;
  /** Subject ids by the core's subject hash, checked against the bytes on use. */
  private readonly idsByHash = new Map<number, number>();
  private lastMatch: {
    filter: string;
    wildcard: boolean;
    generation: number;
    subjects: SubjectTotals;
    bits: Uint8Array;
  } | null = null;
  /** fsyncs of sealed blocks started early (see syncSealedEarly), and the first that failed. */
  private readonly earlySyncs = new Set<Promise<void>>();
  private earlySyncError: unknown = null;
  /** Head removals (see removeHead) whose range tombstone is not written yet: through this sequence. */
  private headRemovedThrough = 0;
  /** Erased messages whose records are overwritten once their tombstones are durable (overwriteErased). */
  private pendingErases: PendingErase[] = [];
  /** Emptied head blocks whose files wait for the next sync round or checkpoint. */
  private pendingUnlinks: Block[] = [];
  /** Unlinks in flight: close and delete wait for them, so none outlives the lock. */
  private readonly unlinking = new Set<Promise<unknown>>();
  /** firstTimestamp()'s answer, valid while the first sequence is `firstTsOf`. */
  private firstTsOf = 0;
  private firstTs = 0n;
  private readonly scratch = new ScratchBuffer();
  private blocks: Block[] = [];
  private active!: Block;
  private subjects = new SubjectTotals();
  private nextBlockNumber = 1;
  private firstSeq = 1;
  private lastSeq = 0;
  private lastTs = 0n;
  private msgs = 0;
  private bytes = 0;
  private lost: LostData | undefined;
  private closed = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private syncTimer: ReturnType<typeof setInterval> | null = null;
  private ageTimer: ReturnType<typeof setInterval> | null = null;
  /** The directory's entries changed since its last fsync. */
  private dirDirty = false;
  /** A background write failed; the next durability request reports it. */
  private writeError: unknown = null;
  private readonly expiry: TtlExpiry;
  /** Takes the store out of the exit registry (runtimes/exit.ts); set while open. */
  private leaveExit: () => void = () => {};

  private constructor(
    opening: typeof OPENING,
    options: ResolvedFileStoreOptions,
    lock: DirectoryLock,
  ) {
    if (opening !== OPENING) throw notConstructible("FileStore", "await FileStore.open({ dir })");
    this.options = options;
    this.fs = options.fs;
    this.dir = options.dir;
    this.limits = options.limits;
    this.now = options.now;
    this.clock = new Timestamps(options.now);
    this.lock = lock;
    this.buffer = new WriteBuffer(options.blockSize + BLOCK_HEADER_SIZE);
    this.cache = new BlockCache(options.cacheBytes);
    this.commit = new GroupCommit(() => this.syncRound());
    this.readHandles = new ReadHandles(this.fs);
    this.expiry = new TtlExpiry(
      (seq) => this.removeForLimit(seq),
      () => readClock(this.now, "expire messages"),
      (err) => {
        this.writeError ??= err;
      },
    );
    const store = this;
    this.configureLimits();
    this.queries = {
      get subjects() {
        return store.subjects;
      },
      get firstSeq() {
        return store.firstSeq;
      },
      get lastSeq() {
        return store.lastSeq;
      },
      scanForward: (from, to, visit) => this.scanLive(from, to, true, visit),
      scanBackward: (from, to, visit) => this.scanLive(from, to, false, visit),
      nextLive: (seq) => this.nextLiveSeq(seq),
      timestampOf: (seq) => this.timestampOf(this.findBlock(seq) as Block, seq),
      blocksFrom: (seq) => this.blocksFrom(seq),
      maxTimestamp: (block) => this.maxTimestamp(block as Block),
    };
  }

  /** Opens (creating if needed) the store in `options.dir`. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const resolved = resolveFileStoreOptions(options);
    const { fs, dir } = resolved;
    checkStoreDirectory(fs, dir);
    const created = missingDirectories(fs, dir);
    fs.mkdir(joinPath(dir, BLOCKS_DIR), resolved.directoryMode);
    // A store in directories made here is only durable once their parents record them.
    for (const path of created) fs.syncDirectory(parentOf(path));
    const lock = fs.lock(dir, resolved.fileMode);
    let store: FileStore | undefined;
    try {
      store = new FileStore(OPENING, resolved, lock);
      store.load();
    } catch (err) {
      store?.releaseMemory();
      lock.release();
      throw err;
    }
    store.startAgeTimer();
    store.expiry.rearm(readClock(store.now, "open store"));
    if (resolved.syncIntervalMs > 0) {
      store.syncTimer = backgroundInterval(() => {
        if (!store.closed && store.hasUnsynced()) store.commit.request().catch(() => {});
      }, resolved.syncIntervalMs);
    }
    store.leaveExit = atExit(() => store.closeAtExit());
    return store;
  }

  // ---------------------------------------------------------------- open

  private load(): void {
    const r = recover(this.fs, this.dir, this.cache, this.buffer, this.expiry.ttls);
    this.blocks = r.blocks;
    this.subjects = r.subjects;
    this.lost = r.lost;
    this.nextBlockNumber = r.nextBlockNumber;
    this.lastSeq = r.lastSeq;
    for (const b of this.blocks) {
      this.msgs += b.msgs;
      this.bytes += b.bytes;
      b.durability.synced = b.written;
    }
    if (this.blocks.length === 0) {
      this.startBlock();
    } else {
      this.active = this.blocks[this.blocks.length - 1];
      if (this.active.length < BLOCK_HEADER_SIZE) {
        this.buffer.reset(this.active.n);
        this.active.length = this.buffer.used;
        this.active.written = 0;
      }
    }
    this.lastTs = r.checkpointLastTs;
    if (r.lastRecord !== null && r.lastRecord.seq === this.lastSeq) {
      this.lastTs = this.timestampAt(r.lastRecord.block, r.lastRecord.offset);
    }
    // An empty new store starting past 1 records where it starts.
    if (this.lastSeq === 0 && this.limits.firstSeq > 1) {
      this.appendTombstone(this.limits.firstSeq - 1, 1, 0n);
    }
    this.recomputeFirst();
    this.dropEmptyHeadBlocks();
    this.expiry.ttls.retain((seq) => this.findBlock(seq)?.isLive(seq) === true);
    // Limits may be lower than when the store was written, and time has passed.
    if (this.limited !== null) enforceAll(this.limits, this.limited, [...this.subjects.map.keys()]);
    expireDue(this.limits, this.limited, this.expiry, readClock(this.now, "open store"));
  }

  updateConfig(limits: StreamLimits): void {
    checkOpen(this.closed, "update config");
    this.limits = checkLimitsUpdate(limits, this.limits);
    this.configureLimits();
    this.startAgeTimer();
    if (this.limited !== null) enforceAll(this.limits, this.limited, [...this.subjects.map.keys()]);
    expireDue(this.limits, this.limited, this.expiry, readClock(this.now, "update config"));
  }

  /** The store as the limit rules see it, or null when no limit is set (the append path skips them). */
  private configureLimits(): void {
    const { maxMsgs, maxBytes, maxMsgsPerSubject, maxMsgSize, maxAgeMs } = this.limits;
    if (maxMsgs + maxBytes + maxMsgsPerSubject + maxMsgSize + maxAgeMs === 0) {
      this.limited = null;
      return;
    }
    const store = this;
    this.limited = {
      get limitMsgs() {
        return store.msgs;
      },
      get limitBytes() {
        return store.bytes;
      },
      subjectCount: (subject) => this.subjects.get(subject)?.msgs ?? 0,
      removeOldest: () => this.removeHead(),
      removeOldestOf: (subject) => {
        const entry = this.subjects.get(subject);
        // The subject's oldest is often the stream's: then its removal joins the head range tombstone.
        if (entry !== undefined) this.removeForLimit(this.firstOf(subject, entry));
      },
      oldestTimestamp: () => (this.msgs === 0 ? null : this.firstTimestamp()),
      ttls: this.expiry.ttls,
      nextLive: (seq) => this.nextLiveSeq(seq),
      timestampOf: (seq) => this.timestampOf(this.findBlock(seq) as Block, seq),
      removeSeq: (seq) => this.removeForLimit(seq),
    };
  }

  private startAgeTimer(): void {
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
    if (this.limits.maxAgeMs === 0) return;
    this.ageTimer = backgroundInterval(() => {
      if (this.closed || this.limited === null) return;
      try {
        expireByAge(this.limits, this.limited, readClock(this.now, "expire messages"));
      } catch (err) {
        this.writeError ??= err;
      }
    }, ageCheckIntervalMs(this.limits.maxAgeMs));
  }

  // ---------------------------------------------------------------- writes

  storeMsg(subject: string, hdr: Uint8Array | null, msg: Uint8Array, ttl?: number): StoreResult {
    checkOpen(this.closed, "store message");
    // A subject with live messages was validated when they were stored.
    const entry = this.subjects.get(subject);
    const subjectBytes = entry?.bytes ?? checkSubject(subject, "store message");
    checkHeaders(hdr, "store message");
    checkPayload(msg, "store message");
    const msgTtl = checkTtl(ttl, this.limits.allowMsgTtl, "store message");
    checkSeqRoom(this.lastSeq, 1, "store message");
    if (this.limited !== null) this.admit(subject, subjectBytes, hdr, msg, msgTtl, "store message");
    const ts = this.clock.read("store message");
    const seq = this.lastSeq + 1;
    if (entry !== undefined) entry.bytes = subjectBytes;
    this.appendMessage(seq, ts, subject, subjectBytes, hdr, msg, msgTtl, entry);
    if (msgTtl !== 0) this.expiry.added(seq, ts, msgTtl, ts);
    if (this.limited !== null) enforce(this.limits, this.limited, subject);
    expireDue(this.limits, this.limited, this.expiry, ts);
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
    const subjectBytes = checkSubject(subject, "store raw message");
    checkHeaders(hdr, "store raw message");
    checkPayload(msg, "store raw message");
    checkSeq(seq, "store raw message");
    checkTimestamp(ts, "store raw message");
    const msgTtl = checkTtl(ttl, this.limits.allowMsgTtl, "store raw message");
    if (seq !== this.lastSeq + 1) {
      throw notNextSequence(Action.storeRawMsg, seq, this.lastSeq + 1);
    }
    if (this.limited !== null)
      this.admit(subject, subjectBytes, hdr, msg, msgTtl, "store raw message");
    this.clock.split(ts);
    this.appendMessage(
      seq,
      ts,
      subject,
      subjectBytes,
      hdr,
      msg,
      msgTtl,
      this.subjects.get(subject),
    );
    if (this.limited !== null) enforce(this.limits, this.limited, subject);
    if (this.limits.maxAgeMs > 0 || this.expiry.ttls.pending > 0 || msgTtl !== 0) {
      const now = readClock(this.now, "store raw message");
      if (msgTtl !== 0) this.expiry.added(seq, ts, msgTtl, now);
      expireDue(this.limits, this.limited, this.expiry, now);
    }
  }

  private admit(
    subject: string,
    subjectBytes: number,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    ttl: number,
    action: string,
  ): void {
    const hdrLen = hdr === null ? 0 : hdr.length;
    const size = recordSize(subjectBytes, hdrLen, msg.length, ttl);
    admit(this.limits, this.limited as LimitedStore, subject, hdrLen + msg.length, size, action);
  }

  /** Appends a message record; the caller has set `this.clock`'s halves to `ts`. */
  private appendMessage(
    seq: number,
    ts: bigint,
    subject: string,
    subjectBytes: number,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    ttl: number,
    entry: SubjectEntry | undefined,
  ): void {
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttl);
    this.makeRoom(size);
    const start = this.buffer.used;
    const offset = this.buffer.append(seq, this.clock.hi, this.clock.lo, subject, hdr, msg, 0, ttl);
    if (this.options.syncAlways) this.commitAppend(start);
    const block = this.active;
    block.appendMessage(seq, offset, size);
    if (block.maxTs !== null && ts > block.maxTs) block.maxTs = ts;
    block.length = this.buffer.used;
    if (this.msgs === 0) this.firstSeq = seq;
    this.msgs++;
    this.bytes += size;
    this.lastSeq = seq;
    this.lastTs = ts;
    const counted = this.subjects.add(subject, seq, entry, subjectBytes);
    if (block.subjectIds !== null) block.setSubjectId(seq, this.subjects.idOf(subject, counted));
    this.afterWrite();
  }

  skipMsg(): number {
    checkOpen(this.closed, "skip message");
    checkSeqRoom(this.lastSeq, 1, "skip message");
    const seq = this.lastSeq + 1;
    this.appendSkip(seq, 1);
    return seq;
  }

  skipMsgs(seq: number, num: number): void {
    checkOpen(this.closed, "skip messages");
    checkSeq(seq, "skip messages");
    checkSeq(num, "skip messages", "count");
    if (seq !== this.lastSeq + 1) throw notNextSequence(Action.skipMsgs, seq, this.lastSeq + 1);
    if (num === 0) return;
    checkSeqRoom(this.lastSeq, num, "skip messages");
    this.appendSkip(seq + num - 1, num);
  }

  private appendSkip(last: number, count: number): void {
    const ts = readClock(this.now, "skip message");
    const active = this.active;
    if (active.hasRange && (count > SKIP_SPLIT || last - active.first >= SKIP_SPAN)) {
      this.rollBlock();
    }
    this.appendBareRecord(last, ts, u64Bytes(count), REC_FLAG_SKIP);
    this.active.appendSkip(last);
    this.active.length = this.buffer.used;
    this.lastSeq = last;
    this.lastTs = ts;
    if (this.msgs === 0) this.firstSeq = last + 1;
    this.afterWrite();
  }

  /** Appends a record with no subject or headers (a skip or a tombstone) to the active block. */
  private appendBareRecord(seq: number, ts: bigint, payload: Uint8Array, flag: number): void {
    this.makeRoom(REC_MIN + payload.length);
    const hi = Number(ts >> 32n);
    const lo = Number(ts & 0xffffffffn);
    const start = this.buffer.used;
    this.buffer.append(seq, hi, lo, "", null, payload, flag, 0);
    // A tombstone is never taken back (a removed message must not return): see appendTombstone.
    if (this.options.syncAlways && flag !== REC_FLAG_TOMBSTONE) this.commitAppend(start);
  }

  /**
   * With syncAlways: makes the record just appended at `start` durable, or
   * takes it back and throws, so a write that fails changes nothing.
   */
  private commitAppend(start: number): void {
    const block = this.active;
    try {
      this.writeOut();
      this.syncBlock(block);
      this.syncDirectoryIfNeeded();
    } catch (err) {
      this.buffer.used = start;
      if (block.written > start) {
        block.written = start;
        block.durability.cut(start);
        try {
          block.handle?.truncate(start);
        } catch {
          // The next record is written at `start` over what is left.
        }
      }
      throw err;
    }
  }

  /** Appends a tombstone for `count` sequences ending at `seq`; `ts` is what it records. */
  /**
   * With syncAlways the tombstone is made durable here unless `commit` is
   * false (the caller commits once its removal is complete in memory). If
   * that fails the removal stays in effect, its tombstone waits for the next
   * write-out, and the error is thrown: the removal is not durable yet.
   */
  private appendTombstone(seq: number, count: number, ts: bigint, commit = true): void {
    this.appendBareRecord(seq, ts, count === 1 ? EMPTY : u64Bytes(count), REC_FLAG_TOMBSTONE);
    this.active.noteTombstone(seq - count + 1);
    this.active.length = this.buffer.used;
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.lastTs = ts;
    }
    this.afterWrite();
    if (commit && this.options.syncAlways) this.commitTombstones();
  }

  /** With syncAlways: makes the tombstones written so far durable; throws (keeping them) if it cannot. */
  private commitTombstones(): void {
    this.writeOut();
    this.syncBlock(this.active);
    this.syncDirectoryIfNeeded();
  }

  /** Seals the active block when `size` more bytes would not fit. */
  private makeRoom(size: number): void {
    const used = this.buffer.used;
    if (used > BLOCK_HEADER_SIZE && used + size > this.options.blockSize) this.rollBlock();
    this.buffer.ensure(this.buffer.used + size + REC_TTL_AND_SLACK);
  }

  private afterWrite(): void {
    // With syncAlways each record made itself durable (commitAppend).
    if (this.options.syncAlways) return;
    const pending = this.buffer.used - this.active.written;
    if (pending >= FLUSH_BYTES) {
      this.writeOutInBackground();
    } else if (this.flushTimer === null) {
      this.flushTimer = backgroundTimeout(() => {
        this.flushTimer = null;
        this.writeOutInBackground();
      }, FLUSH_DELAY_MS);
    }
  }

  private writeOutInBackground(): void {
    try {
      this.flushHeadRemovals();
      this.writeOut();
    } catch (err) {
      this.writeError = err;
    }
  }

  /** Writes the buffered tail of the active block to its file. */
  private writeOut(): void {
    if (this.closed && this.active === undefined) return;
    const block = this.active;
    const from = block.written;
    const to = this.buffer.used;
    if (to <= from) return;
    if (block.handle === null) {
      block.handle = this.fs.open(block.path, "create", this.options.fileMode);
    }
    block.handle.write(this.buffer.view(from, to), from);
    block.written = to;
    block.dirty = true;
    this.writeError = null;
  }

  /** Seals the active block and starts the next one. */
  private rollBlock(): void {
    this.writeOut();
    // Created before anything changes: a disk too full for a new file refuses the write cleanly.
    const next = this.createBlockFile();
    const sealed = this.active;
    this.syncSealedEarly(sealed);
    // The sealed block's bytes move to the cache as they are: no copy.
    const { ptr, length } = this.buffer.handOff();
    this.cache.put(sealed.n, ptr, length);
    this.startBlock(next);
  }

  /**
   * Starts the fsync of a block just sealed on the runtime's I/O thread, so
   * the disk works while appends go on and the next flush finds little left
   * to sync. A failure is kept and reported by the next durability round.
   */
  private syncSealedEarly(block: Block): void {
    const handle = block.handle;
    if (handle === null || !block.dirty) return;
    block.dirty = false;
    block.syncing++;
    const early: Promise<void> = this.syncBlockAsync(block).then(
      () => {
        block.syncing--;
        this.earlySyncs.delete(early);
      },
      (err: unknown) => {
        block.syncing--;
        block.dirty = true;
        this.earlySyncs.delete(early);
        this.earlySyncError ??= err;
      },
    );
    this.earlySyncs.add(early);
  }

  /** Creates the file of the next block, empty. */
  private createBlockFile(): FileHandle {
    const path = blockPath(this.dir, this.nextBlockNumber);
    const handle = this.fs.open(path, "create", this.options.fileMode);
    try {
      handle.truncate(0);
    } catch (err) {
      handle.close();
      throw err;
    }
    return handle;
  }

  private startBlock(file: FileHandle = this.createBlockFile()): void {
    const n = this.nextBlockNumber++;
    const prev = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1].last : this.lastSeq;
    const block = new Block(n, blockPath(this.dir, n), Math.max(prev, this.lastSeq));
    block.handle = file;
    this.buffer.reset(n);
    block.offsets = new Uint32Array(1024);
    // Under limits the oldest messages are removed one by one: a subject-id
    // column lets that happen without reading their records (see dropInMemory).
    if (this.limited !== null) block.subjectIds = new Uint32Array(1024).fill(NO_SUBJECT);
    block.length = this.buffer.used;
    this.blocks.push(block);
    this.active = block;
    this.dirDirty = true;
  }

  // ---------------------------------------------------------------- reads

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
    const all = matchesAll(filter);
    if (!all && !wildcard && this.subjects.get(filter) === undefined) {
      throw noMatchFrom(filter, start, this.range());
    }
    let i = this.blockIndexAtOrAfter(Math.max(start, this.firstSeq));
    for (; i < this.blocks.length; i++) {
      const block = this.blocks[i];
      if (block.msgs === 0) continue;
      const column = all ? null : this.subjectColumn(block);
      const bits = column === null ? null : this.matchBits(filter, wildcard);
      // Per-block subject summary: skip a block none of whose subjects match.
      if (bits !== null && !block.mayMatch(bits)) continue;
      for (
        let seq = block.nextLive(Math.max(start, block.first));
        seq !== 0;
        seq = block.nextLive(seq + 1)
      ) {
        if (column !== null && bits !== null) {
          const id = column[seq - block.first];
          if (id >= bits.length || bits[id] !== 1) continue;
        }
        const msg = this.readLive(block, seq);
        if (msg !== null) return msg;
      }
    }
    throw noMatchFrom(filter, start, this.range());
  }

  loadLastMsg(subject: string): StoredMsg {
    checkOpen(this.closed, "load last message");
    checkFilter(subject, "load last message");
    const all = matchesAll(subject);
    const tokens = all ? null : filterTokens(subject);
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const block = this.blocks[i];
      if (block.msgs === 0) continue;
      for (let seq = block.prevLive(block.last); seq !== 0; seq = block.prevLive(seq - 1)) {
        if (tokens !== null) {
          const subject = this.liveSubjectAt(block, seq);
          if (subject === null || !subjectMatches(subject, tokens)) continue;
        }
        const msg = this.readLive(block, seq);
        if (msg !== null) return msg;
      }
    }
    throw noLastMatch(subject, this.range());
  }

  filteredState(seq: number, filter: string): SimpleState {
    this.checkQuery(Action.filteredState, filter);
    checkSeq(seq, Action.filteredState);
    return filteredState(this.queries, seq, compileFilter(filter));
  }

  subjectsState(filter: string): Record<string, SimpleState> {
    this.checkQuery(Action.subjectsState, filter);
    return subjectsState(this.queries, compileFilter(filter));
  }

  subjectsTotals(filter: string): Record<string, number> {
    this.checkQuery(Action.subjectsTotals, filter);
    return subjectsTotals(this.queries, compileFilter(filter));
  }

  numPending(
    seq: number,
    filter: string,
    lastPerSubject: boolean,
  ): { total: number; validThrough: number } {
    this.checkQuery(Action.numPending, filter);
    checkSeq(seq, Action.numPending);
    checkBoolean(lastPerSubject, "lastPerSubject", Action.numPending);
    return numPending(this.queries, seq, compileFilter(filter), lastPerSubject);
  }

  multiLastSeqs(filters: string[], maxSeq: number, maxAllowed: number): number[] {
    checkOpen(this.closed, Action.lastSeqs);
    if (!Array.isArray(filters)) throw filtersNotArray(filters);
    for (const f of filters) checkFilter(f, Action.lastSeqs);
    checkSeq(maxSeq, Action.lastSeqs, "maxSeq");
    checkSeq(maxAllowed, Action.lastSeqs, "maxAllowed");
    const compiled = filters.map((f) => compileFilter(f));
    return multiLastSeqs(this.queries, compiled, maxSeq, maxAllowed);
  }

  allLastSeqs(): number[] {
    checkOpen(this.closed, Action.lastSeqs);
    return allLastSeqs(this.queries);
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
    checkSeq(seq, Action.purge);
    checkSeq(keep, Action.purge, "keep");
    if (seq > 0 && keep > 0) throw purgeSeqAndKeep(seq, keep);
    const f = compileFilter(filter);
    if (f.all && keep === 0) return seq === 0 ? this.purge() : this.compact(seq);
    const targets = purgeTargets(this.queries, f, seq, keep);
    for (const target of targets) this.remove(target, false);
    return targets.length;
  }

  private checkQuery(action: string, filter: string): void {
    checkOpen(this.closed, action);
    checkFilter(filter, action);
  }

  /** Live messages in [from, to] (ascending) or [to, from] (descending) with their subjects. */
  private scanLive(
    from: number,
    to: number,
    ascending: boolean,
    visit: (seq: number, subject: string) => boolean,
  ): void {
    if (ascending) {
      for (
        let i = this.blockIndexAtOrAfter(Math.max(from, this.firstSeq));
        i < this.blocks.length;
        i++
      ) {
        const block = this.blocks[i];
        if (block.msgs === 0) continue;
        for (
          let seq = block.nextLive(Math.max(from, block.first));
          seq !== 0;
          seq = block.nextLive(seq + 1)
        ) {
          if (seq > to) return;
          const subject = this.liveSubjectAt(block, seq);
          if (subject !== null && !visit(seq, subject)) return;
        }
      }
      return;
    }
    for (let i = Math.min(this.blockIndexAtOrAfter(from), this.blocks.length - 1); i >= 0; i--) {
      const block = this.blocks[i];
      if (block.msgs === 0 || block.first > from) continue;
      for (
        let seq = block.prevLive(Math.min(from, block.last));
        seq !== 0;
        seq = block.prevLive(seq - 1)
      ) {
        if (seq < to) return;
        const subject = this.liveSubjectAt(block, seq);
        if (subject !== null && !visit(seq, subject)) return;
      }
    }
  }

  private *blocksFrom(seq: number): Generator<Block> {
    for (let i = this.blockIndexAtOrAfter(seq); i < this.blocks.length; i++) {
      if (this.blocks[i].msgs > 0) yield this.blocks[i];
    }
  }

  /** The block's largest live timestamp, found once and raised by later appends. */
  private maxTimestamp(block: Block): bigint {
    if (block.maxTs === null) {
      let max = -1n;
      for (let seq = block.nextLive(block.first); seq !== 0; seq = block.nextLive(seq + 1)) {
        const ts = this.timestampOf(block, seq);
        if (ts > max) max = ts;
      }
      block.maxTs = max;
    }
    return block.maxTs;
  }

  /**
   * The block's subject-id column (see Block.subjectIds), built on first use
   * by one WASM scan that hashes every subject: a hash already seen maps to
   * its id after a byte comparison, so most records cost no string at all.
   */
  private subjectColumn(block: Block): Uint32Array {
    if (block.subjectIds !== null) return block.subjectIds;
    const column = new Uint32Array(Math.max(1, block.last - block.first + 1)).fill(NO_SUBJECT);
    const { ptr, length } = this.bytesOf(block);
    const subjects = this.subjects;
    const idsByHash = this.idsByHash;
    const ids = new Set<number>();
    scanBlock(
      ptr,
      length,
      BLOCK_HEADER_SIZE,
      (r) => {
        if (r.flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP | REC_FLAG_ERASED)) return;
        if (r.seq < block.first || r.seq > block.last) return;
        // Taken per record: the scan's first use may grow core memory.
        const u8 = getCore().u8;
        const p = ptr + r.offset;
        const len = u8[p + REC_OFF_SUBJECT_LEN] | (u8[p + REC_OFF_SUBJECT_LEN + 1] << 8);
        const at = p + REC_HEADER_SIZE + (r.flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
        let id = idsByHash.get(r.subjectHash);
        const known = id === undefined ? undefined : subjects.subjectOf(id);
        if (id === undefined || known === undefined || !sameSubject(u8, known, at, len)) {
          const subject = readSubject(at, len);
          const entry = subjects.get(subject);
          // A removed message whose subject has no message left.
          if (entry === undefined) return;
          id = subjects.idOf(subject, entry);
          idsByHash.set(r.subjectHash, id);
        }
        column[r.seq - block.first] = id;
        ids.add(id);
      },
      skipDamaged,
      true,
    );
    block.subjectIds = column;
    block.subjectIdSet = ids;
    block.lastMatch = null;
    return column;
  }

  /** Which subject ids a filter matches, kept until ids change. */
  private matchBits(filter: string, wildcard: boolean): Uint8Array {
    const cached = this.lastMatch;
    const generation = this.subjects.generation;
    if (
      cached !== null &&
      cached.filter === filter &&
      cached.wildcard === wildcard &&
      cached.generation === generation &&
      cached.subjects === this.subjects
    ) {
      return cached.bits;
    }
    const compiled = compileFilter(filter);
    const bits = this.subjects.matchBits(
      wildcard ? (s) => filterMatches(compiled, s) : (s) => s === filter,
    );
    this.lastMatch = { filter, wildcard, generation, subjects: this.subjects, bits };
    return bits;
  }

  /** The first live sequence at or after `seq`, or 0. */
  private nextLiveSeq(seq: number): number {
    for (
      let i = this.blockIndexAtOrAfter(Math.max(seq, this.firstSeq));
      i < this.blocks.length;
      i++
    ) {
      const found = this.blocks[i].nextLive(Math.max(seq, this.blocks[i].first));
      if (found !== 0) return found;
    }
    return 0;
  }

  loadPrevMsg(start: number): StoredMsg {
    checkOpen(this.closed, "load previous message");
    checkSeq(start, "load previous message", "start");
    const from = Math.min(start, this.lastSeq);
    for (let i = this.blockIndexAtOrAfter(from); i >= 0; i--) {
      const block = this.blocks[Math.min(i, this.blocks.length - 1)];
      if (block === undefined || block.msgs === 0) continue;
      for (
        let seq = block.prevLive(Math.min(from, block.last));
        seq !== 0;
        seq = block.prevLive(seq - 1)
      ) {
        const msg = this.readLive(block, seq);
        if (msg !== null) return msg;
      }
    }
    throw nothingBefore(start, this.range());
  }

  /** Where the stream stands, for "no message" errors. */
  private range(): StreamRange {
    return { msgs: this.msgs, first: this.firstSeq, last: this.lastSeq };
  }

  /** Nothing is at `seq`: lost to damage if open reported it so (state().lost), else removed or never stored. */
  private noMessageAt(action: string, seq: number): JetStoreError {
    for (const d of this.lost?.damaged ?? []) {
      if (d.msgs.includes(seq)) {
        const where = { file: blockPath(this.dir, d.block), offset: d.offset };
        return lostToDamage("ErrStoreMsgNotFound", seq, where);
      }
    }
    return noMessageAt(action, seq, this.range());
  }

  /** Bytes of `block` in core memory: the write buffer for the active block, else the cache. */
  private bytesOf(block: Block): { ptr: number; length: number } {
    if (block === this.active) return { ptr: this.buffer.ptr, length: this.buffer.used };
    return loadBlock(this.fs, this.cache, block);
  }

  private recordPtr(block: Block, seq: number): { ptr: number; available: number; offset: number } {
    if (this.readsDirectly(block)) return this.readRecordDirect(block, seq);
    const { ptr, length } = this.bytesOf(block);
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
    return { ptr: ptr + offset, available: length - offset, offset };
  }

  /**
   * A sealed, already indexed block that is not cached and would evict
   * another block: one record is read instead of the whole block. Uniform
   * random reads over a store larger than the cache would otherwise read a
   * whole block per message; scans still load whole blocks while they fit.
   */
  private readsDirectly(block: Block): boolean {
    return (
      block !== this.active &&
      block.offsets !== null &&
      !this.cache.holds(block.n) &&
      !this.cache.fits(block.written)
    );
  }

  private readRecordDirect(
    block: Block,
    seq: number,
  ): { ptr: number; available: number; offset: number } {
    const offset = block.offsetOf(seq);
    if (offset === NO_RECORD) throw missingRecord(block, seq);
    // Read first: the scratch area may move as it grows.
    const available = this.readRecordAt(block, offset);
    return { ptr: this.scratch.ptr, available, offset };
  }

  /** Reads the record at `offset` of a sealed block into the scratch area; returns the bytes read. */
  private readRecordAt(block: Block, offset: number): number {
    const handle = this.readHandles.of(block);
    const room = block.written - offset;
    if (room <= 0) return 0;
    let got = this.scratch.readFrom(handle, offset, Math.min(room, DIRECT_READ_BYTES), 0);
    const length = got >= 4 ? getCore().view.getUint32(this.scratch.ptr, true) : 0;
    if (length > got && length <= room) {
      got += this.scratch.readFrom(handle, offset + got, length - got, got);
    }
    return got;
  }

  private readAt(block: Block, seq: number): StoredMsg {
    const { ptr, available, offset } = this.recordPtr(block, seq);
    return readMessage(ptr, available, block.path, offset);
  }

  /** A live message, or null when its record failed verification (lost, see damage.ts): reads skip it. */
  private readLive(block: Block, seq: number): StoredMsg | null {
    return unlessLost(block, seq, () => this.readAt(block, seq));
  }

  /** The subject of a live message, or null when its record failed verification (lost, see damage.ts). */
  private liveSubjectAt(block: Block, seq: number): string | null {
    return unlessLost(block, seq, () => this.subjectAt(block, seq));
  }

  private subjectAt(block: Block, seq: number): string {
    const peeked = this.peekSubject(block, seq);
    if (peeked !== null) return peeked;
    const { ptr, available, offset } = this.recordPtr(block, seq);
    const f = decodeFields(ptr, available, block.path, offset);
    return readSubject(f.subjectAt, f.subjectLen);
  }

  /**
   * The subject of a record already in core memory, read from its header
   * without verifying the checksum: filters test many records and return
   * few, and a returned message is verified when it is read. Null when the
   * block is not in memory or the header does not fit the block.
   */
  private peekSubject(block: Block, seq: number): string | null {
    let ptr: number;
    let length: number;
    if (block === this.active) {
      ptr = this.buffer.ptr;
      length = this.buffer.used;
    } else {
      const cached = this.cache.get(block.n);
      if (cached === undefined) return null;
      ptr = cached.ptr;
      length = cached.length;
    }
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD || offset + REC_HEADER_SIZE + REC_TTL_SIZE > length)
      return null;
    const view = getCore().view;
    const at = ptr + offset;
    const subjectLen = view.getUint16(at + REC_OFF_SUBJECT_LEN, true);
    const flags = view.getUint8(at + REC_OFF_FLAGS);
    const subjectAt = at + REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
    if (subjectAt + subjectLen > ptr + length) return null;
    return readSubject(subjectAt, subjectLen);
  }

  private timestampOf(block: Block, seq: number): bigint {
    const { ptr, available, offset } = this.recordPtr(block, seq);
    decodeFields(ptr, available, block.path, offset);
    return decodedTimestamp();
  }

  private timestampAt(block: Block, offset: number): bigint {
    const { ptr, length } = this.bytesOf(block);
    decodeFields(ptr + offset, length - offset, block.path, offset);
    return decodedTimestamp();
  }

  /** The block whose range holds `seq`, or undefined when `seq` falls between blocks. */
  private findBlock(seq: number): Block | undefined {
    const b = this.blocks[this.blockIndexAtOrAfter(seq)];
    return b?.contains(seq) ? b : undefined;
  }

  /** Index of the first block whose range ends at or after `seq` (blocks.length if none). */
  private blockIndexAtOrAfter(seq: number): number {
    const blocks = this.blocks;
    const active = blocks.length - 1;
    if (active >= 0 && blocks[active].hasRange && seq >= blocks[active].first) return active;
    let lo = 0;
    let hi = active;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (blocks[mid].last < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return lo;
  }

  // ---------------------------------------------------------------- removals

  removeMsg(seq: number): boolean {
    checkOpen(this.closed, "remove message");
    checkSeq(seq, "remove message");
    return this.remove(seq, false);
  }

  eraseMsg(seq: number): boolean {
    checkOpen(this.closed, "erase message");
    checkSeq(seq, "erase message");
    return this.remove(seq, true);
  }

  private remove(seq: number, erase: boolean): boolean {
    const block = this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) return false;
    const at = erase ? -1 : this.peekInMemory(block, seq);
    if (at >= 0) {
      const view = getCore().view;
      const ts = view.getBigInt64(at + REC_OFF_TS, true);
      const size = view.getUint32(at + REC_OFF_LENGTH, true);
      const flags = view.getUint8(at + REC_OFF_FLAGS);
      // The tombstone first: if there is no room for it, nothing has changed.
      this.appendTombstone(seq, 1, ts, false);
      this.dropPeeked(block, seq, size, flags);
      if (seq === this.firstSeq) this.moveFirstPast(block, seq);
      if (this.options.syncAlways) this.commitTombstones();
      return true;
    }
    const record = this.recordInfo(block, seq);
    this.appendTombstone(seq, 1, record?.ts ?? this.lastTs, false);
    if (record === null) this.dropLost(block, [seq]);
    else this.dropRecord(block, seq, record);
    // A lost record's extent is unknown (see damage.ts): it cannot be overwritten.
    const erasing = erase && record !== null;
    if (erasing) this.pendingErases.push({ block, seq, offset: record.offset, ts: record.ts });
    if (seq === this.firstSeq) this.moveFirstPast(block, seq);
    if (this.options.syncAlways) {
      this.commitTombstones();
      if (erasing) this.eraseNow();
    } else if (erasing && !this.closed) {
      // Soon, not at the next flush: the bytes are to leave the disk.
      this.commit.request().catch(() => {});
    }
    return true;
  }

  /**
   * Overwrites the records of erased messages whose tombstones are durable:
   * a crash before that keeps the message intact (and removed), never a
   * message of random bytes that a checkpoint still counts. Returns the
   * blocks written, for the caller to fsync.
   */
  private overwriteErased(erases: PendingErase[]): Block[] {
    const written = new Set<Block>();
    for (const e of erases) {
      // Gone with a purge, a compaction or a truncate since: nothing left to overwrite.
      if (this.findBlock(e.seq) !== e.block || e.block.offsetOf(e.seq) !== e.offset) continue;
      try {
        this.overwrite(e.block, e.seq, e.offset, e.ts);
      } catch (err) {
        // Damaged since it was removed: its extent is unknown, so it cannot be overwritten.
        if (isJetStoreError(err, "ErrCorrupt")) continue;
        throw err;
      }
      written.add(e.block);
    }
    return [...written];
  }

  /** With syncAlways: the tombstones are durable; overwrite and fsync now. */
  private eraseNow(): void {
    const erases = this.pendingErases;
    this.pendingErases = [];
    for (const b of this.overwriteErased(erases)) {
      this.syncBlock(b);
      b.dirty = false;
    }
  }

  /** In a sync round, once this round's tombstones are durable. */
  private async eraseDurably(erases: PendingErase[]): Promise<void> {
    const written = this.overwriteErased(erases);
    for (const b of written) b.dirty = false;
    const outcomes = await Promise.allSettled(written.map((b) => this.syncBlockAsync(b)));
    const failure = outcomes.find((o) => o.status === "rejected");
    if (failure !== undefined) {
      for (const b of written) b.dirty = true;
      throw failure.reason;
    }
  }

  /** After removing the first message `seq` of `block`: the next live one is usually `seq + 1`. */
  private moveFirstPast(block: Block, seq: number): void {
    const next = seq + 1;
    if (block.contains(next) && !block.deleted.has(next)) this.firstSeq = next;
    else this.recomputeFirst();
    if (block.msgs === 0) this.dropEmptyHeadBlocks();
  }

  /**
   * The first live message on `subject`. A stale first is found from the
   * subject-id columns when every block to search has one (no record is
   * read), else by reading subjects.
   */
  private firstOf(subject: string, entry: SubjectEntry): number {
    if (entry.first !== 0 || entry.id === undefined)
      return resolved(this.queries, subject, entry).first;
    const id = entry.id;
    const from = Math.max(this.firstSeq, entry.firstAtLeast ?? 0);
    for (let i = this.blockIndexAtOrAfter(from); i < this.blocks.length; i++) {
      const block = this.blocks[i];
      const column = block.subjectIds;
      if (column === null) return resolved(this.queries, subject, entry).first;
      if (block.msgs === 0) continue;
      const end = Math.min(block.last - block.first + 1, column.length);
      for (let k = Math.max(from - block.first, 0); k < end; k++) {
        // An id is reused once its subject is gone: only a live message counts.
        if (column[k] === id && !block.deleted.has(block.first + k)) {
          entry.first = block.first + k;
          return entry.first;
        }
      }
    }
    return resolved(this.queries, subject, entry).first;
  }

  /** Removes a message for a limit or an expiry: from the head with a shared range tombstone when it is first. */
  private removeForLimit(seq: number): void {
    if (seq === this.firstSeq) this.removeHead();
    else this.remove(seq, false);
  }

  /**
   * Removes the first message for a limit. Its tombstone is folded into one
   * range tombstone ("everything through seq") written just before the next
   * write-out, so a discard-old stream writes one per flush, not one per
   * message; as durable as any write once a sync round covers it.
   */
  private removeHead(): void {
    if (this.options.syncAlways) {
      this.remove(this.firstSeq, false);
      return;
    }
    const seq = this.firstSeq;
    const head = this.blocks[0];
    const block = head?.contains(seq) ? head : this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) return;
    const at = this.peekInMemory(block, seq);
    if (at < 0) this.dropMessage(block, seq);
    else {
      const view = getCore().view;
      this.dropPeeked(
        block,
        seq,
        view.getUint32(at + REC_OFF_LENGTH, true),
        view.getUint8(at + REC_OFF_FLAGS),
      );
    }
    this.headRemovedThrough = seq;
    this.moveFirstPast(block, seq);
    // Make sure a write-out (and with it the tombstone) follows soon.
    if (this.flushTimer === null) this.afterWrite();
  }

  /**
   * The address in core memory of live message `seq`'s record, when it can
   * be removed without decoding the record (-1 otherwise, and the caller
   * decodes): its block keeps a subject-id column and its bytes are in
   * memory. Size, flags and time are then read from the fixed header (the
   * sequence checked) and the subject comes from the column (dropPeeked).
   */
  private peekInMemory(block: Block, seq: number): number {
    const ids = block.subjectIds;
    const offset = block.offsetOf(seq);
    if (ids === null || offset < 0 || offset === NO_RECORD) return -1;
    let base = this.buffer.ptr;
    let length = this.buffer.used;
    if (block !== this.active) {
      const cached = this.cache.get(block.n);
      if (cached === undefined) return -1;
      base = cached.ptr;
      length = cached.length;
    }
    const view = getCore().view;
    const at = base + offset;
    const size = view.getUint32(at + REC_OFF_LENGTH, true);
    const recordSeq =
      view.getUint32(at + REC_OFF_SEQ, true) + view.getUint32(at + REC_OFF_SEQ + 4, true) * TWO_32;
    const sane = recordSeq === seq && size >= REC_MIN_SIZE && size <= length - offset;
    return sane && ids[seq - block.first] !== NO_SUBJECT ? at : -1;
  }

  /** Takes a message found by peekInMemory out of every count. */
  private dropPeeked(block: Block, seq: number, size: number, flags: number): void {
    block.deleted.add(seq);
    this.subjects.removeById((block.subjectIds as Uint32Array)[seq - block.first], seq);
    this.uncount(block, seq, size, flags);
  }

  /** Takes the live message `seq` out of every count; returns where its record is and its time. */
  private dropMessage(block: Block, seq: number): RecordInfo | null {
    const record = this.recordInfo(block, seq);
    if (record === null) this.dropLost(block, [seq]);
    else this.dropRecord(block, seq, record);
    return record;
  }

  /**
   * Where the record of live message `seq` is, its time, subject and size;
   * null for a message whose record damage swallowed (see damage.ts).
   */
  private recordInfo(block: Block, seq: number): RecordInfo | null {
    const at = unlessLost(block, seq, () => this.recordPtr(block, seq));
    if (at === null) return null;
    const { ptr, available, offset } = at;
    const f = decodeFields(ptr, available, block.path, offset);
    const subject = readSubject(f.subjectAt, f.subjectLen);
    return { offset, ts: decodedTimestamp(), subject, length: f.length, flags: f.flags };
  }

  private dropRecord(block: Block, seq: number, record: RecordInfo): void {
    block.deleted.add(seq);
    this.subjects.remove(record.subject, seq);
    this.uncount(block, seq, record.length, record.flags);
  }

  /** Takes a removed message's record out of the counts and its TTL out of the wheel. */
  private uncount(block: Block, seq: number, size: number, flags: number): void {
    block.msgs--;
    block.bytes -= size;
    this.msgs--;
    this.bytes -= size;
    if (flags & REC_FLAG_TTL) this.expiry.ttls.remove(seq);
  }

  /** Writes the range tombstone of the head removals made since the last one. */
  private flushHeadRemovals(): void {
    const through = this.headRemovedThrough;
    if (through === 0) return;
    this.headRemovedThrough = 0;
    this.appendTombstone(through, through, this.lastTs);
  }

  /** Rewrites a record in place with random payload bytes and the ERASED flag. */
  private overwrite(block: Block, seq: number, offset: number, ts: bigint): void {
    const core = getCore();
    const { ptr, available } = this.recordPtr(block, seq);
    const f = decodeFields(ptr, available, block.path, offset);
    const random = new Uint8Array(f.msgLen + f.hdrLen);
    fillRandom(random);
    const hdrAt = f.hdrAt;
    const subjectLen = f.subjectLen;
    const hdrLen = f.hdrLen;
    const msgLen = f.msgLen;
    const flags = (f.flags | REC_FLAG_ERASED) & 0xff;
    const ttl = f.flags & REC_FLAG_TTL ? f.ttl : 0;
    core.u8.set(random, hdrAt);
    const length = core.abi.recordSeal(
      ptr,
      seq,
      Number(ts >> 32n),
      Number(ts & 0xffffffffn),
      subjectLen,
      hdrLen,
      msgLen,
      flags,
      ttl,
    );
    if (length < 0)
      throw new JetStoreError(
        "ErrInternal",
        `Message ${seq} could not be erased (status ${-length})`,
      );
    if (block !== this.active || offset < block.written) {
      const bytes = core.u8.slice(ptr, ptr + length);
      if (block.handle === null) block.handle = this.fs.open(block.path, "write");
      block.dirty = true;
      try {
        block.durability.overwrite(block.handle, offset, bytes);
      } catch (err) {
        // Kept, and written again before the block's next fsync, whose round reports a lasting failure.
        if (this.options.syncAlways) throw err;
      }
    }
  }

  purge(): number {
    checkOpen(this.closed, "purge");
    this.flushHeadRemovals();
    const purged = this.msgs;
    this.removeEverythingThrough(this.lastSeq);
    return purged;
  }

  compact(seq: number): number {
    checkOpen(this.closed, "compact");
    checkSeq(seq, "compact");
    this.flushHeadRemovals();
    if (seq === 0) return this.purge();
    const before = this.msgs;
    if (seq > this.lastSeq) {
      // Past the end: everything goes and the next message gets `seq`.
      this.removeEverythingThrough(seq - 1);
      return before;
    }
    if (this.msgs === 0 || seq <= this.firstSeq) return 0;
    for (const b of this.blocks) {
      // A block holding only tombstones has no range; the blocks after it still count.
      if (!b.hasRange) continue;
      if (b.first >= seq) break;
      this.dropLive(b, b.first, Math.min(b.last, seq - 1));
    }
    this.appendTombstone(seq - 1, seq - 1, this.lastTs, false);
    this.recomputeFirst();
    this.dropEmptyHeadBlocks();
    if (this.options.syncAlways) this.commitTombstones();
    return before - this.msgs;
  }

  /**
   * Cuts the stream after `seq`. The block holding `seq` is sealed where its
   * record ends and a new block takes the writes, so no file grows again
   * past a cut. Crash-safe in this order: the new block, holding tombstones
   * that re-assert every removal whose tombstone is cut, is made durable;
   * then the checkpoint that no longer lists what is cut; only then are
   * files cut and unlinked (after a crash, open finishes that: see recovery.ts).
   */
  truncate(seq: number): void {
    checkOpen(this.closed, "truncate");
    checkSeq(seq, "truncate");
    this.flushHeadRemovals();
    const holder = this.findBlock(seq);
    if (holder === undefined || !holder.isLive(seq)) throw this.noMessageAt(Action.truncate, seq);
    if (seq === this.lastSeq) return;
    this.writeOut();
    const lastTs = this.timestampOf(holder, seq);
    const end = this.recordEnd(holder, seq);
    // Created before anything changes: a disk too full for a new file refuses the truncate cleanly.
    const file = this.createBlockFile();
    const keep = this.blocks.indexOf(holder) + 1;
    // Blocks holding only tombstones have no range; they go with what is cut.
    const cut = this.blocks.slice(keep);
    // Tombstones in what is cut may name messages that stay: re-asserted below.
    let reassertFrom = Number.MAX_SAFE_INTEGER;
    for (const b of cut) reassertFrom = Math.min(reassertFrom, b.lowestTombstone);
    if (end < holder.written) reassertFrom = Math.min(reassertFrom, holder.lowestTombstone);
    if (holder.last > seq) this.dropLive(holder, seq + 1, holder.last);
    for (const b of cut) this.dropLive(b, b.first, b.last);
    this.sealAt(holder, seq, end);
    this.blocks = this.blocks.slice(0, keep);
    for (const b of cut) {
      this.cache.drop(b.n);
      this.readHandles.drop(b.n);
      b.dispose();
    }
    this.lastSeq = seq;
    this.lastTs = lastTs;
    this.startBlock(file);
    this.reassertRemovals(reassertFrom);
    this.expiry.ttls.truncatedTo(seq);
    this.recomputeFirst();
    this.writeOut();
    this.syncBlock(this.active);
    this.active.dirty = false;
    this.syncDirectoryIfNeeded();
    this.writeCheckpointNow();
    this.cutFiles(holder, end, cut);
  }

  /** Where the record of `seq` ends in `block`. */
  private recordEnd(block: Block, seq: number): number {
    // The whole block, not recordPtr: that may hand back a lone record read past the cache.
    const { ptr, length } = this.bytesOf(block);
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
    return offset + decodeFields(ptr + offset, length - offset, block.path, offset).length;
  }

  /** Seals `block` (in memory) right after `seq`'s record, which ends at `end`. */
  private sealAt(block: Block, seq: number, end: number): void {
    if (block === this.active) {
      // Its bytes move to the cache as they are, as when a block rolls.
      this.buffer.used = end;
      const { ptr } = this.buffer.handOff();
      this.cache.put(block.n, ptr, end);
    }
    block.cutAfter(seq);
    block.length = block.written = end;
    block.durability.cut(end);
    block.maxTs = null;
  }

  /**
   * Writes tombstones for every removal of a surviving message at or after
   * `from`, and for the sequences below the first surviving block, whose
   * files may still be on disk waiting to be unlinked.
   */
  private reassertRemovals(from: number): void {
    const first = this.blocks[0];
    if (first !== undefined && from < first.first) {
      this.appendTombstone(first.first - 1, first.first - from, this.lastTs, false);
    }
    for (const b of this.blocks) {
      if (!b.hasRange || b.last < from) continue;
      for (const [lo, hi] of b.deleted.runs(Math.max(b.first, from))) {
        const to = Math.min(hi, b.last);
        if (lo <= to) this.appendTombstone(to, to - lo + 1, this.lastTs, false);
      }
    }
  }

  /**
   * Cuts the holder's file and unlinks the cut blocks, once the checkpoint
   * that no longer lists them is durable. A failure leaves the store right:
   * open cuts a listed block back to its recorded length and removes
   * unlisted files below the checkpoint's last block (recovery.ts).
   */
  private cutFiles(holder: Block, end: number, cut: Block[]): void {
    try {
      holder.handle ??= this.fs.open(holder.path, "write");
      holder.handle.truncate(end);
      for (const b of cut) this.fs.remove(b.path);
      this.dirDirty = true;
      this.syncDirectoryIfNeeded();
    } catch {
      // Finished by the next open, as after a crash here.
    }
  }

  /** Removes every live message of `block` in [from, to] from the counts (no tombstone). */
  private dropLive(block: Block, from: number, to: number): void {
    if (from > to) return;
    if (block.msgs === 0) {
      block.deleted.addRange(from, to);
      return;
    }
    const { ptr, length } = this.bytesOf(block);
    const lost: number[] = [];
    for (let seq = block.nextLive(from); seq !== 0 && seq <= to; seq = block.nextLive(seq + 1)) {
      const offset = block.offsetOf(seq);
      if (offset === NO_RECORD) {
        lost.push(seq);
        continue;
      }
      const f = decodeFields(ptr + offset, length - offset, block.path, offset);
      this.subjects.remove(readSubject(f.subjectAt, f.subjectLen), seq);
      this.uncount(block, seq, f.length, f.flags);
    }
    if (lost.length > 0) this.dropLost(block, lost);
    block.deleted.addRange(from, to);
  }

  /**
   * Takes live messages whose records failed verification after open (see
   * damage.ts) out of every count. Their sizes are what the block's bytes
   * hold beyond its verified records, shared among them; their subjects are
   * unknown, so the subject totals are rebuilt from the verified records: a
   * total left one too high would make a per-subject limit trim forever.
   */
  private dropLost(block: Block, seqs: number[]): void {
    const { ptr, length } = this.bytesOf(block);
    let verifiedBytes = 0;
    let unverified = 0;
    for (let seq = block.nextLive(block.first); seq !== 0; seq = block.nextLive(seq + 1)) {
      const offset = block.offsetOf(seq);
      if (offset === NO_RECORD) unverified++;
      else verifiedBytes += decodeFields(ptr + offset, length - offset, block.path, offset).length;
    }
    let bytes = Math.max(0, block.bytes - verifiedBytes);
    for (const seq of seqs) {
      const share = unverified <= 1 ? bytes : Math.floor(bytes / unverified);
      unverified--;
      bytes -= share;
      block.deleted.add(seq);
      block.msgs--;
      block.bytes -= share;
      this.msgs--;
      this.bytes -= share;
    }
    this.rebuildSubjectTotals();
  }

  /** Subject totals from the verified records of every live message; subject-id caches restart. */
  private rebuildSubjectTotals(): void {
    const totals = new SubjectTotals();
    for (const b of this.blocks) {
      b.subjectIds = null;
      b.subjectIdSet = null;
      b.lastMatch = null;
      for (let seq = b.nextLive(b.first); seq !== 0; seq = b.nextLive(seq + 1)) {
        const subject = this.liveSubjectAt(b, seq);
        if (subject !== null) totals.add(subject, seq);
      }
    }
    this.subjects = totals;
    this.lastMatch = null;
  }

  /** Purge semantics: no message remains, the last sequence becomes `last`. */
  private removeEverythingThrough(last: number): void {
    this.writeOut();
    // Created before anything changes: a disk too full for a new file refuses the purge cleanly.
    const file = this.createBlockFile();
    const old = this.blocks;
    // As MemStore: the last timestamp stays that of the last message written, even past the end.
    const lastTs = this.lastTs;
    this.blocks = [];
    this.lastSeq = Math.max(this.lastSeq, last);
    this.startBlock(file);
    if (last > 0) this.appendTombstone(last, last, lastTs, false);
    this.lastSeq = last;
    this.lastTs = lastTs;
    this.msgs = 0;
    this.bytes = 0;
    this.subjects.clear();
    this.expiry.ttls.clear();
    this.firstSeq = last + 1;
    for (const b of old) {
      this.cache.drop(b.n);
      this.readHandles.drop(b.n);
      b.dispose();
    }
    // The old files go once the range tombstone is durable: here, or, if this
    // fails, at the next sync round or checkpoint that succeeds.
    this.pendingUnlinks.push(...old);
    this.writeOut();
    this.syncBlock(this.active);
    this.active.dirty = false;
    this.writeCheckpointNow();
  }

  private recomputeFirst(): void {
    // No message lives below the current first: searching from it, not from
    // each block's start, keeps removing the head (discard old) O(1).
    const seq = this.nextLiveSeq(this.firstSeq);
    this.firstSeq = seq === 0 ? this.lastSeq + 1 : seq;
  }

  /** Deletes files of leading blocks with no live message (checkpoint first, then files). */
  private dropEmptyHeadBlocks(): void {
    let n = 0;
    while (n < this.blocks.length - 1 && this.blocks[n].msgs === 0) n++;
    if (n === 0) return;
    const gone = this.blocks.slice(0, n);
    this.blocks = this.blocks.slice(n);
    for (const b of gone) {
      this.cache.drop(b.n);
      this.readHandles.drop(b.n);
      b.dispose();
    }
    // The files go once the tombstones that emptied them are on disk: at the
    // next sync round or checkpoint, not here with a synchronous fsync each.
    this.pendingUnlinks.push(...gone);
    // A round now, in the background, so a stream trimmed by its limits does
    // not leave every emptied file for the next flush to wait on. A failure
    // leaves them pending and is retried (and reported) by the next round.
    if (!this.options.syncAlways && !this.closed) this.commit.request().catch(() => {});
  }

  /**
   * Removes the files of emptied head blocks, whose tombstones this round made
   * durable, without holding up the round: nothing acknowledged depends on
   * the removal (a file that survives a crash is replayed, its messages
   * already removed). A failure leaves them for the next round.
   */
  private unlinkInBackground(blocks: Block[]): void {
    const removal = Promise.all(blocks.map((b) => this.fs.removeAsync(b.path))).then(
      () => {
        this.dirDirty = true;
      },
      () => {
        this.pendingUnlinks.unshift(...blocks);
      },
    );
    this.unlinking.add(removal);
    removal.finally(() => this.unlinking.delete(removal));
  }

  /** Removes the files of emptied head blocks; their tombstones are durable by now. */
  private unlinkEmptied(blocks: Block[]): void {
    for (const b of blocks) this.fs.remove(b.path);
    if (blocks.length > 0) this.dirDirty = true;
  }

  // ---------------------------------------------------------------- state

  state(): StreamState {
    checkOpen(this.closed, "read state");
    const state = this.fastState();
    checkDeletedListed(state.numDeleted);
    const deleted: number[] = [];
    if (this.msgs > 0) {
      let expect = this.firstSeq;
      for (const b of this.blocks) {
        if (!b.hasRange || b.last < this.firstSeq) continue;
        for (let s = expect; s < b.first; s++) deleted.push(s);
        for (const [lo, hi] of b.deleted.runs(Math.max(b.first, this.firstSeq))) {
          for (let s = lo; s <= Math.min(hi, this.lastSeq); s++) deleted.push(s);
        }
        expect = b.last + 1;
      }
      for (let s = expect; s <= this.lastSeq; s++) deleted.push(s);
    }
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
      firstSeq: this.firstSeq,
      firstTs: empty ? 0n : this.firstTimestamp(),
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      numSubjects: this.subjects.size,
      numDeleted: empty ? 0 : this.lastSeq - this.firstSeq + 1 - this.msgs,
      consumers: 0,
    };
  }

  private firstTimestamp(): bigint {
    const seq = this.firstSeq;
    if (this.firstTsOf === seq) return this.firstTs;
    const block = this.findBlock(seq);
    if (block === undefined) return 0n;
    let ts: bigint | null = null;
    if (block !== this.active && !this.cache.holds(block.n))
      ts = this.timestampAtBlockStart(block, seq);
    if (ts === null) {
      try {
        ts = this.timestampOf(block, seq);
      } catch (err) {
        if (!isJetStoreError(err, "ErrCorrupt") || block.offsetOf(seq) !== NO_RECORD) throw err;
        // A lost first message (see damage.ts): its block's first timestamp from the checkpoint stands in.
        ts = block.firstTs;
      }
    }
    this.firstTsOf = seq;
    this.firstTs = ts;
    return ts;
  }

  /**
   * The timestamp of `seq` if it is the first record of `block`, read on its
   * own: a block usually starts with its first message, and reading one record
   * spares an open from loading and indexing a whole block for fastState().
   */
  private timestampAtBlockStart(block: Block, seq: number): bigint | null {
    const got = this.readRecordAt(block, BLOCK_HEADER_SIZE);
    if (got === 0) return null;
    let f: DecodedFields;
    try {
      f = decodeFields(this.scratch.ptr, got, block.path, BLOCK_HEADER_SIZE);
    } catch {
      // A damaged first record may be a removed message's: the indexed read decides.
      return null;
    }
    if (f.seq !== seq || f.flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP | REC_FLAG_ERASED))
      return null;
    return decodedTimestamp();
  }

  // ---------------------------------------------------------------- durability

  private hasUnsynced(): boolean {
    if (this.buffer.used > this.active.written || this.dirDirty) return true;
    if (this.earlySyncs.size > 0 || this.earlySyncError !== null) return true;
    if (this.pendingUnlinks.length > 0 || this.headRemovedThrough > 0) return true;
    if (this.pendingErases.length > 0) return true;
    return this.blocks.some((b) => b.dirty);
  }

  /** One group-commit round: write out, fsync every dirty block and the directory. */
  private async syncRound(): Promise<void> {
    this.flushHeadRemovals();
    if (this.writeError !== null) {
      const err = this.writeError;
      this.writeError = null;
      this.writeOut(); // retry; throws again if the cause persists
      if (this.buffer.used > this.active.written) throw err;
    }
    this.writeOut();
    // What this round covers is fixed before its first await: a block sealed
    // while it waits must not drop out of it with its early fsync unawaited.
    const dirty = this.blocks.filter((b) => b.dirty && b.handle !== null);
    for (const b of dirty) b.dirty = false;
    // An early fsync that already failed left its block dirty: this round syncs it again.
    this.earlySyncError = null;
    const early = [...this.earlySyncs];
    const emptied = this.pendingUnlinks;
    this.pendingUnlinks = [];
    // Erases whose tombstones this round writes: overwritten once those are durable.
    const erases = this.pendingErases;
    this.pendingErases = [];
    try {
      // Every fsync settles before the round does: one still running must not overlap the next round's.
      const outcomes = await Promise.allSettled([
        ...early,
        ...dirty.map((b) => this.syncBlockAsync(b)),
      ]);
      const failure = outcomes.find((o) => o.status === "rejected");
      if (failure !== undefined) {
        for (const b of dirty) b.dirty = true;
        this.pendingUnlinks.unshift(...emptied);
        throw failure.reason;
      }
      if (!this.closed && emptied.length > 0) this.unlinkInBackground(emptied);
      else this.pendingUnlinks.unshift(...emptied);
      if (this.earlySyncError !== null) {
        const err = this.earlySyncError;
        this.earlySyncError = null;
        throw err;
      }
      this.syncDirectoryIfNeeded();
    } catch (err) {
      this.pendingErases.unshift(...erases);
      throw err;
    }
    // Their tombstones are durable now, directory entry included.
    if (erases.length > 0) await this.eraseDurably(erases);
  }

  /** fsyncs a block file, first writing again what a failed fsync may have dropped (block-sync.ts). */
  private syncBlock(block: Block): void {
    if (block.handle === null) return;
    block.durability.sync(block.handle, block.written, (from, to) =>
      this.bytesToRewrite(block, from, to),
    );
  }

  private syncBlockAsync(block: Block): Promise<void> {
    if (block.handle === null) return Promise.resolve();
    return block.durability.syncAsync(block.handle, block.written, (from, to) =>
      this.bytesToRewrite(block, from, to),
    );
  }

  /**
   * Bytes [from, to) of `block` to write again after a failed fsync: the
   * write buffer for the active block; for a sealed one the cache, or a read
   * of the file (the kernel keeps the dropped pages readable, but may have
   * evicted them since), accepted only if every record from `from` verifies.
   */
  private bytesToRewrite(block: Block, from: number, to: number): Uint8Array {
    if (block === this.active) return this.buffer.view(from, to);
    const { ptr, length } = loadBlock(this.fs, this.cache, block);
    const start = Math.max(from, BLOCK_HEADER_SIZE);
    const intact =
      length >= to &&
      checkBlockHeader(ptr, to, block.path) &&
      (start >= to || scanBlock(ptr, to, start, () => {}).stop === to);
    if (!intact) {
      throw new JetStoreError(
        "ErrIO",
        `Bytes ${from} to ${to} of ${block.path} were dropped by a failed fsync and cannot be written again`,
        { file: block.path, offset: from },
      );
    }
    return getCore().u8.subarray(ptr + from, ptr + to);
  }

  private syncDirectoryIfNeeded(): void {
    if (!this.dirDirty) return;
    this.fs.syncDirectory(joinPath(this.dir, BLOCKS_DIR));
    this.fs.syncDirectory(this.dir);
    // Only now: a failed directory fsync must leave the next round to try again.
    this.dirDirty = false;
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
    await this.commit.request();
    this.writeCheckpointNow();
  }

  /** Writes the checkpoint atomically: temp file, fsync, rename, directory fsync. */
  private writeCheckpointNow(): void {
    this.flushHeadRemovals();
    this.writeOut();
    for (const b of this.blocks) {
      if ((b.dirty || b.syncing > 0) && b.handle !== null) {
        this.syncBlock(b);
        b.dirty = false;
      }
    }
    // Every block the checkpoint lists must survive a power cut that keeps its rename.
    this.syncDirectoryIfNeeded();
    if (this.pendingErases.length > 0) this.eraseNow();
    const bytes = encodeCheckpoint(this.checkpoint());
    const path = joinPath(this.dir, CHECKPOINT_FILE);
    const temp = `${path}.tmp`;
    const handle = this.fs.open(temp, "create", this.options.fileMode);
    try {
      handle.truncate(0);
      handle.write(bytes, 0);
      handle.sync();
    } finally {
      handle.close();
    }
    this.fs.rename(temp, path);
    this.dirDirty = true;
    const emptied = this.pendingUnlinks;
    this.pendingUnlinks = [];
    this.unlinkEmptied(emptied);
    this.syncDirectoryIfNeeded();
  }

  private checkpoint(): Checkpoint {
    return {
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      blocks: this.blocks.map((b) => ({
        n: b.n,
        first: b.first,
        last: b.last,
        firstTs: b.firstTs,
        lastTs: b.lastTs,
        msgs: b.msgs,
        bytes: b.bytes,
        length: b.written,
        lastChecksum: this.lastChecksumOf(b),
        tombstones: b.tombstones,
        lowestTombstone: b.lowestTombstone,
        deleted: b.deleted.encode(),
      })),
      subjects: [...this.subjects.map].map(([subject, e]) => ({
        subject,
        msgs: e.msgs,
        first: e.first,
        last: e.last,
      })),
      ttls: [...this.expiry.ttls.scheduled()],
      never: [...this.expiry.ttls.neverSeqs()],
    };
  }

  private lastChecksumOf(block: Block): Uint8Array {
    if (block.written <= BLOCK_HEADER_SIZE) return EMPTY;
    // Damage found since open (see damage.ts): a checksum that cannot match, so the next open rescans the block.
    if (block.damage !== null) return this.readLastChecksum(block).map((b) => b ^ 0xff);
    return this.readLastChecksum(block);
  }

  private readLastChecksum(block: Block): Uint8Array {
    const out = new Uint8Array(REC_CHECKSUM_SIZE);
    if (block === this.active) {
      out.set(this.buffer.view(block.written - REC_CHECKSUM_SIZE, block.written));
    } else {
      const cached = this.cache.get(block.n);
      if (cached !== undefined) {
        out.set(getCore().u8.subarray(cached.ptr + block.written - 8, cached.ptr + block.written));
      } else {
        const handle = block.handle ?? this.fs.open(block.path, "read");
        handle.read(out, block.written - REC_CHECKSUM_SIZE);
        if (block.handle === null) handle.close();
      }
    }
    return out;
  }

  /** Flushes, writes the checkpoint and releases the store. Later calls fail with ErrStoreClosed. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.commit.request();
      this.writeCheckpointNow();
    } finally {
      this.closed = true;
      this.leaveExit();
      this.stopTimers();
      this.releaseMemory();
      await Promise.allSettled(this.unlinking);
      this.lock.release();
    }
  }

  /**
   * What a normal exit does to a store left open: what close() does, but
   * synchronously (exit listeners cannot wait). Buffered records are written
   * and fsynced, the checkpoint recorded and the lock released; on failure
   * whatever could be written is, and the next open recovers the rest.
   */
  private closeAtExit(): void {
    if (this.closed) return;
    try {
      this.writeCheckpointNow();
    } catch {
      try {
        this.flushHeadRemovals();
        this.writeOut();
      } catch {
        // Nothing more can be done at exit; recovery reads what reached the file.
      }
    } finally {
      this.closed = true;
      this.lock.release();
    }
  }

  /**
   * Closes the store and removes its directory, while it still holds the lock.
   * A closed handle rejects with ErrStoreClosed: the directory may be another
   * handle's by now.
   */
  async delete(): Promise<void> {
    if (this.closed) throw deleteClosed();
    this.closed = true;
    this.leaveExit();
    this.stopTimers();
    this.releaseMemory();
    try {
      // A removal from a round still in flight would take a later store's file of the same name.
      await Promise.allSettled(this.unlinking);
      removeLockedDirectory(this.fs, this.dir);
    } finally {
      this.lock.release();
    }
  }

  private stopTimers(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.expiry.stop();
    this.ageTimer = null;
    this.flushTimer = null;
    this.syncTimer = null;
  }

  private releaseMemory(): void {
    for (const b of this.blocks) b.dispose();
    this.blocks = [];
    this.cache.clear();
    this.readHandles.clear();
    this.scratch.dispose();
    this.buffer.dispose();
  }
}

const REC_MIN = 36;

/** What `read` gives, or null when it fails because damage swallowed `seq`'s record (see damage.ts). */
function unlessLost<T>(block: Block, seq: number, read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    if (isJetStoreError(err, "ErrCorrupt") && block.offsetOf(seq) === NO_RECORD) return null;
    throw err;
  }
}

interface PendingErase {
  block: Block;
  seq: number;
  offset: number;
  ts: bigint;
}

interface RecordInfo {
  offset: number;
  ts: bigint;
  subject: string;
  length: number;
  flags: number;
}
/** Room for a TTL field and rounding, so `append` never writes past the buffer. */
const REC_TTL_AND_SLACK = 16;

function u64Bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, value % TWO_32, true);
  view.setUint32(4, Math.floor(value / TWO_32), true);
  return out;
}

function fillRandom(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
  }
}

/** Refuses a directory that holds something other than a jetstore store. */
function checkStoreDirectory(fs: FileSystem, dir: string): void {
  const stat = fs.stat(dir);
  if (stat === null) return;
  if (!stat.isDirectory) {
    throw new JetStoreError(
      "ErrNotAStore",
      `Cannot open store: ${dir} exists and is not a directory`,
    );
  }
  const entries = fs.list(dir);
  const known = new Set([BLOCKS_DIR, CHECKPOINT_FILE, `${CHECKPOINT_FILE}.tmp`, "LOCK"]);
  const foreign = entries.filter((e) => !known.has(e) && !e.startsWith("LOCK"));
  if (foreign.length > 0 && !entries.includes(BLOCKS_DIR)) {
    throw new JetStoreError(
      "ErrNotAStore",
      `Cannot open store: ${dir} holds other files (${foreign.slice(0, 3).join(", ")}) and no jetstore data`,
    );
  }
}

/**
 * Removes a store directory whose lock the caller holds. It is renamed away
 * first, in one step, so an opener that comes once the lock file is gone
 * finds no directory (and makes a fresh one) rather than a half-removed store
 * whose removal would go on to take its new lock and files. Where the rename
 * fails (a directory that cannot be renamed, such as "."), it is removed in place.
 */
function removeLockedDirectory(fs: FileSystem, dir: string): void {
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  );
  const doomed = `${dir.replace(/\/+$/, "")}.deleting-${suffix.join("")}`;
  try {
    fs.rename(dir, doomed);
  } catch {
    fs.remove(dir);
    return;
  }
  fs.remove(doomed);
}

/** `dir` and its ancestors that do not exist yet, deepest first. */
function missingDirectories(fs: FileSystem, dir: string): string[] {
  const missing: string[] = [];
  for (let path = dir; fs.stat(path) === null; path = parentOf(path)) {
    missing.push(path);
    if (parentOf(path) === path) break;
  }
  return missing;
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}

/** A live message whose record a scan found damaged and skipped (see damage.ts). */
function missingRecord(block: Block, seq: number): JetStoreError {
  const stretch = damagedMessages(block).find((d) => d.msgs.includes(seq));
  return lostToDamage("ErrCorrupt", seq, { file: block.path, offset: stretch?.offset });
}

/** A scan's damaged records stay out of the subject column. */
function skipDamaged(): void {}

/** True when the ASCII or UTF-8 bytes at `at` spell `subject`. */
function sameSubject(u8: Uint8Array, subject: string, at: number, len: number): boolean {
  // Only an all-ASCII subject has as many UTF-16 units as UTF-8 bytes.
  if (subject.length !== len) return readSubject(at, len) === subject;
  for (let i = 0; i < len; i++) if (subject.charCodeAt(i) !== u8[at + i]) return false;
  return true;
}
