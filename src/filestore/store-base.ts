/**
 * What every FileStore layer shares: the store's state (blocks, the active
 * block's write buffer, the block cache, counts, pending removals and
 * unlinks) and finding the block of a sequence.
 *
 * FileStore is built in layers, each a class extending the one below and
 * owning one responsibility: reads.ts (from a sequence to its bytes),
 * writes.ts (appending records, rolling blocks, fsync of one block),
 * removals.ts (tombstones and the accounting of a removal), rewrites.ts
 * (erase, purge, compact, truncate), durability.ts (sync rounds and the
 * checkpoint), store-load.ts (taking in what recovery found at open) and
 * filestore.ts, the public facade. A layer calls down freely;
 * the few calls up are the abstract methods declared here.
 */
import type { DirectoryLock, FileSystem } from "../../runtimes/fs.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { BLOCK_HEADER_SIZE } from "../format.ts";
import type { LimitedStore } from "../limits.ts";
import type { MultiIndex } from "../multi-queries.ts";
import { StreamEngine } from "../stream-engine.ts";
import { type EngineView, StreamPolicy } from "../stream-policy.ts";
import { Timestamps } from "../timestamps.ts";
import type { TtlExpiry } from "../ttl-expiry.ts";
import type { LostData, StoredMsg } from "../types.ts";
import type { ResolvedLimits } from "../validate.ts";
import type { Block } from "./block.ts";
import { BlockCache } from "./block-cache.ts";
import { BlockFiles } from "./block-file.ts";
import { BlockPacker } from "./block-packer.ts";
import { lostInIndexed } from "./damage.ts";
import { GroupCommit } from "./group-commit.ts";
import type { ResolvedFileStoreOptions } from "./options.ts";
import { type QuerySource, subjectIndex } from "./queries.ts";
import { ScratchBuffer } from "./scratch-buffer.ts";
import { SubjectTotals } from "./subject-totals.ts";
import { WriteBuffer } from "./write-buffer.ts";

export abstract class FileStoreBase extends StreamEngine {
  /**
   * The store is letting go of its memory and lock, or has: no round or
   * checkpoint may touch them (`closed`, which refuses calls, is set when
   * close() or delete() begins). @internal
   */
  protected released = false;
  /** While close() or delete() runs: what a close() called meanwhile returns. @internal */
  protected ending: Promise<void> | null = null;
  /** Settles once a delete() begun is done (it never rejects); null until one is. @internal */
  protected deleting: Promise<void> | null = null;
  /** Takes the store out of the exit registry (runtimes/exit.ts); set while open. @internal */
  protected leaveExit: () => void = () => {};
  /** @internal */
  protected readonly fs: FileSystem;
  /** @internal */
  protected readonly dir: string;
  /** @internal */
  protected readonly options: ResolvedFileStoreOptions;
  /** Limits, age and TTL expiry: the rules every engine shares (stream-policy.ts). @internal */
  protected readonly policy: StreamPolicy;
  /** @internal */
  protected readonly now: () => bigint;
  /** @internal */
  protected readonly clock: Timestamps;
  /** @internal */
  protected readonly lock: DirectoryLock;
  /** @internal */
  protected readonly buffer: WriteBuffer;
  /** @internal */
  protected readonly cache: BlockCache;
  /** @internal */
  protected readonly commit: GroupCommit;
  /** Every byte of a block file goes to disk and comes back through here (block-file.ts). @internal */
  protected readonly files: BlockFiles;
  /** Rewrites sealed blocks in the store's format in the background (compression, conversion). @internal */
  protected readonly packer: BlockPacker;
  /** @internal */
  /** The per-subject index as the shared subject queries see it. @internal */
  protected readonly index: MultiIndex;
  protected readonly queries: QuerySource;
  /** Subject ids by the core's subject hash, checked against the bytes on use. @internal */
  protected readonly idsByHash = new Map<number, number>();
  /** @internal */
  protected lastMatch: {
    filter: string;
    wildcard: boolean;
    generation: number;
    subjects: SubjectTotals;
    bits: Uint8Array;
  } | null = null;
  /** fsyncs of sealed blocks started early (see syncSealedEarly), and the first that failed. @internal */
  protected readonly earlySyncs = new Set<Promise<void>>();
  /** @internal */
  protected earlySyncError: unknown = null;
  /** Head removals (see removeHead) whose range tombstone is not written yet: through this sequence. @internal */
  protected headRemovedThrough = 0;
  /** Erased messages whose records are overwritten once their tombstones are durable (overwriteErased). @internal */
  protected pendingErases: PendingErase[] = [];
  /** Emptied head blocks whose files wait for the next sync round or checkpoint. @internal */
  protected pendingUnlinks: Block[] = [];
  /** Unlinks in flight: close and delete wait for them, so none outlives the lock. @internal */
  protected readonly unlinking = new Set<Promise<unknown>>();
  /** firstTimestamp()'s answer, valid while the first sequence is `firstTsOf`. @internal */
  protected firstTsOf = 0;
  /** @internal */
  protected firstTs = 0n;
  /** @internal */
  protected readonly scratch = new ScratchBuffer();
  /** @internal */
  protected blocks: Block[] = [];
  /** @internal */
  protected active!: Block;
  /** @internal */
  protected subjects = new SubjectTotals();
  /** @internal */
  protected nextBlockNumber = 1;
  /** @internal */
  protected firstSeq = 1;
  /** @internal */
  protected lastSeq = 0;
  /** @internal */
  protected lastTs = 0n;
  /** @internal */
  protected get msgs(): number {
    return this.policy.msgs;
  }
  /** @internal */
  protected get bytes(): number {
    return this.policy.bytes;
  }
  /** @internal */
  protected lost: LostData | undefined;
  /** @internal */
  protected flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** @internal */
  protected syncTimer: ReturnType<typeof setInterval> | null = null;
  /** The directory's entries changed since its last fsync. @internal */
  protected dirDirty = false;
  /**
   * A truncate changed the store in memory but its checkpoint failed: it is
   * written before any further change or acknowledgement (settleCheckpoint).
   * @internal
   */
  protected checkpointOwed = false;
  /**
   * The plain checkpoint file as open read it or this process last wrote it
   * (its length and checksum), with what a change since would have moved, or
   * null (sealed, none, or unusable): one equal to it is not written again
   * (durability.ts checkpointUnchanged).
   * @internal
   */
  protected checkpointOnDisk: CheckpointOnDisk | null = null;
  /**
   * The checkpoint file is in another format than the store writes now (a
   * conversion): written again once no block is left in another format, so
   * a plain one holds no subject in plaintext past the conversion.
   * @internal
   */
  protected checkpointStale = false;
  /** Callers awaiting a round a checkpoint follows at once (flush, close): it writes no zeros. @internal */
  protected checkpointNext = 0;
  /** A background write failed; the next durability request reports it. @internal */
  protected writeError: unknown = null;
  /** @internal */
  protected get limits(): ResolvedLimits {
    return this.policy.limits;
  }

  /** The store as the limit rules see it; null when no limit is set. @internal */
  protected get limited(): LimitedStore | null {
    return this.policy.limited;
  }

  /** The packer put a block in place (see durability.ts). @internal */
  protected abstract blockRewritten(): void;

  /** @internal */
  protected get expiry(): TtlExpiry {
    return this.policy.expiry;
  }

  /** @internal */
  protected constructor(options: ResolvedFileStoreOptions, lock: DirectoryLock, sealer: Sealer) {
    super();
    this.options = options;
    this.fs = options.fs;
    this.dir = options.dir;
    this.now = options.now;
    this.clock = new Timestamps(options.now);
    this.lock = lock;
    this.buffer = new WriteBuffer(options.blockSize + BLOCK_HEADER_SIZE);
    this.cache = new BlockCache(options.cacheBytes);
    this.commit = new GroupCommit(() => this.syncRound());
    this.files = new BlockFiles(this.fs, options.fileMode, sealer);
    // A damaged header the first use of a block open left unchecked found: reported as open would.
    this.files.vouched.onHeaderRepaired = (n) => {
      this.lost ??= { msgs: [], bytes: 0, damaged: [] };
      this.lost.damaged.push({ block: n, offset: 0, bytes: BLOCK_HEADER_SIZE, msgs: [] });
      this.lost.bytes += BLOCK_HEADER_SIZE;
    };
    this.packer = new BlockPacker(this.files, () => this.blockRewritten());
    this.policy = new StreamPolicy(options.limits, options.now, {
      limitedView: () => this.limitedView(),
      removeExpired: (seq) => this.removeForLimit(seq),
      readMsg: (which) => this.readForExpiry(which),
      storeMarker: (subject, hdr, ttl) => this.storeMarker(subject, hdr, ttl),
      onExpire: options.onExpire,
      onBackgroundError: (err) => {
        this.writeError ??= err;
      },
      isClosed: () => this.closed,
    });
    const store = this;
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
      scanMatching: (low, high, ascending, subjects, visit) =>
        this.scanMatching(low, high, ascending, subjects, visit),
      nextLive: (seq) => this.nextLiveSeq(seq),
      knownLost: (seq) => {
        const block = this.findBlock(seq);
        return block !== undefined && lostInIndexed(block, seq);
      },
      timestampOf: (seq) => this.timestampOf(this.findBlock(seq) as Block, seq),
      blocksFrom: (seq) => this.blocksFrom(seq),
      maxTimestamp: (block) => this.maxTimestamp(block as Block),
    };
    this.index = subjectIndex(this.queries);
  }

  // Implemented by the layers above (reads, removals, rewrites, durability, the facade).
  /** @internal */
  protected abstract scanLive(
    from: number,
    to: number,
    ascending: boolean,
    visit: (seq: number, subject: string) => boolean,
  ): void;
  /** @internal */
  protected abstract scanMatching(
    low: number,
    high: number,
    ascending: boolean,
    subjects: readonly string[],
    visit: (seq: number) => boolean,
  ): void;
  /** @internal */
  protected abstract timestampOf(block: Block, seq: number): bigint;
  /** @internal */
  protected abstract blocksFrom(seq: number): Generator<Block>;
  /** @internal */
  protected abstract maxTimestamp(block: Block): bigint;
  /** @internal */
  protected abstract flushHeadRemovals(): void;
  /** @internal */
  protected abstract removeForLimit(seq: number): void;
  /** The live message at `which`, or the first, for an expiry that is watched. @internal */
  protected abstract readForExpiry(which: number | "first"): StoredMsg | null;
  /** Stores a subject delete marker. @internal */
  protected abstract storeMarker(subject: string, hdr: Uint8Array, ttl: number): void;
  /** @internal */
  protected abstract eraseNow(): void;
  /** @internal */
  protected abstract writeCheckpointNow(): void;
  /** @internal */
  protected abstract syncRound(): Promise<void>;
  /** @internal */
  protected abstract limitedView(): EngineView;

  /** The block whose range holds `seq`, or undefined when `seq` falls between blocks. @internal */
  protected findBlock(seq: number): Block | undefined {
    const b = this.blocks[this.blockIndexAtOrAfter(seq)];
    return b?.contains(seq) ? b : undefined;
  }

  /** Index of the first block whose range ends at or after `seq` (blocks.length if none). @internal */
  protected blockIndexAtOrAfter(seq: number): number {
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
}

/** @internal */
export interface PendingErase {
  block: Block;
  seq: number;
  offset: number;
  ts: bigint;
}

/** See `FileStoreBase.checkpointOnDisk`. @internal */
export interface CheckpointOnDisk {
  /** The plain checkpoint's length and its trailing checksum (a copy). */
  length: number;
  checksum: Uint8Array;
  lastSeq: number;
  blocks: number;
  activeN: number;
  activeWritten: number;
}
