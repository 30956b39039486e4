/**
 * The write path: a record is encoded straight into the active block's
 * buffer in WASM memory and written out to its file (through block-file.ts)
 * when 128 KiB (16 KiB sealed) are pending or 8 ms after the first pending write (with
 * syncAlways, fsynced before the call returns, or taken back if that fails).
 * A full block is sealed: its bytes move to the block cache as they are, its
 * fsync starts early on the runtime's I/O thread, and the next block's file
 * is created before anything changes, so a full disk refuses the write
 * cleanly. Also the fsync of one block, which first writes again what a
 * failed fsync may have dropped (block-sync.ts).
 */
import { type FileHandle, joinPath } from "../../runtimes/fs.ts";
import { backgroundTimeout } from "../../runtimes/timers.ts";
import { JetStoreError } from "../errors.ts";
import { BLOCK_HEADER_SIZE, REC_FLAG_SKIP, REC_FLAG_TOMBSTONE } from "../format.ts";
import { recordSize } from "../msg-size.ts";
import { readClock } from "../validate.ts";
import { getCore } from "../wasm/core.ts";
import { Block } from "./block.ts";
import { checkBlockHeader, loadBlock } from "./block-load.ts";
import { scanBlock } from "./block-scan.ts";
import { MessageTimes } from "./message-times.ts";
import { BLOCKS_DIR, blockPath } from "./recovery.ts";
import { NO_SUBJECT, type SubjectEntry } from "./subject-totals.ts";

/**
 * Pending bytes that start a write-out. A plain block file takes 128 KiB per
 * write: 170 MB written 16 KiB at a time cost 95 ms of system time here, 128
 * KiB at a time 45 ms (W1 writes that much). A sealed file keeps 16 KiB, as
 * each write-out is a chunk a random read opens whole until the block is packed.
 */
const FLUSH_BYTES_PLAIN = 128 * 1024;
const FLUSH_BYTES_SEALED = 16 * 1024;
const FLUSH_DELAY_MS = 8;
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

export abstract class BlockWrites extends MessageTimes {
  /** Pending bytes that start a write-out (FLUSH_BYTES_*); 0 until the first append asks. */
  private flushBytes = 0;

  /**
   * Appends a message record stamped `ts`. Returns the subject's entry,
   * which counts it.
   * @internal
   */
  protected appendMessage(
    seq: number,
    ts: bigint,
    subject: string,
    subjectBytes: number,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    ttl: number,
    entry: SubjectEntry | undefined,
  ): SubjectEntry {
    const size = recordSize(subjectBytes, hdr === null ? 0 : hdr.length, msg.length, ttl);
    this.makeRoom(size);
    const start = this.buffer.used;
    const offset = this.buffer.append(seq, ts, subject, hdr, msg, 0, ttl);
    if (this.options.syncAlways) this.commitAppend(start);
    const block = this.active;
    block.appendMessage(seq, offset, size);
    // The checkpoint carries it: a stream's first timestamp after a reopen, with no read.
    if (seq === block.first) block.firstTs = ts;
    if (block.maxTs !== null && ts > block.maxTs) block.maxTs = ts;
    block.length = this.buffer.used;
    const policy = this.policy;
    if (policy.msgs === 0) this.firstSeq = seq;
    policy.added(size);
    this.lastSeq = seq;
    this.lastTs = ts;
    const counted = this.subjects.add(subject, seq, entry, subjectBytes);
    if (block.subjectIds !== null) {
      const id = counted.id ?? this.subjects.idOf(subject, counted);
      if (block.sizes !== null) block.setColumns(seq, id, size, ttl !== 0);
      else block.setSubjectId(seq, id);
    } else if (block.sizes !== null) block.setSize(seq, size, ttl !== 0);
    this.afterWrite();
    return counted;
  }

  /**
   * Interest, and no consumer wants the message: nothing of it is written (a
   * skip uses its sequence up, as nats-server 2.9 stores), so no crash can
   * keep it. It takes no room, so discard "new" at the limits lets it in, as
   * nats-server's skip. Stamped `ts`, or by the clock once admitted. @internal
   */
  protected storeUnwanted(
    hdr: Uint8Array | null,
    msg: Uint8Array,
    seq: number,
    ts: bigint | null,
    action: string,
  ): bigint {
    this.policy.admitSkipped((hdr === null ? 0 : hdr.length) + msg.length, action);
    const at = ts ?? this.clock.read(action);
    this.appendSkip(seq, 1, at);
    return at;
  }

  /** @internal */
  protected appendSkip(last: number, count: number, at?: bigint): void {
    const ts = at ?? readClock(this.now, "skip message");
    const active = this.active;
    if (active.hasRange && (count > SKIP_SPLIT || last - active.first >= SKIP_SPAN)) {
      this.rollBlock();
    }
    this.appendBareRecord(last, tsHigh(ts), tsLow(ts), u64Scratch(count), REC_FLAG_SKIP);
    this.active.appendSkip(last);
    this.active.length = this.buffer.used;
    this.lastSeq = last;
    this.lastTs = ts;
    if (this.msgs === 0) this.firstSeq = last + 1;
    this.afterWrite();
  }

  /** Appends a record with no subject or headers (a skip or a tombstone) to the active block. @internal */
  protected appendBareRecord(
    seq: number,
    hi: number,
    lo: number,
    payload: Uint8Array,
    flag: number,
  ): void {
    this.makeRoom(REC_MIN + payload.length);
    const start = this.buffer.used;
    this.buffer.appendBare(seq, hi, lo, payload, flag);
    // A tombstone is never taken back (a removed message must not return): see appendTombstone.
    if (this.options.syncAlways && flag !== REC_FLAG_TOMBSTONE) this.commitAppend(start);
  }

  /**
   * With syncAlways: makes the record just appended at `start` durable, or
   * takes it back and throws, so a write that fails changes nothing.
   * @internal
   */
  protected commitAppend(start: number): void {
    const block = this.active;
    try {
      this.writeOut();
      this.files.preallocate(block, this.options.blockSize);
      this.syncBlock(block);
      this.syncDirectoryIfNeeded();
    } catch (err) {
      this.buffer.used = start;
      if (block.written > start) {
        block.written = start;
        block.durability.cut(start);
        try {
          this.files.truncate(block, start);
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
   * @internal
   */
  protected appendTombstone(seq: number, count: number, ts: bigint, commit = true): void {
    this.appendTombstoneAt(seq, count, tsHigh(ts), tsLow(ts), commit);
  }

  /** appendTombstone with the time in halves: no BigInt per removal. @internal */
  protected appendTombstoneAt(
    seq: number,
    count: number,
    hi: number,
    lo: number,
    commit = true,
  ): void {
    this.appendBareRecord(seq, hi, lo, count === 1 ? EMPTY : u64Scratch(count), REC_FLAG_TOMBSTONE);
    this.active.noteTombstone(seq - count + 1);
    this.active.length = this.buffer.used;
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.lastTs = (BigInt(hi) << 32n) + BigInt(lo);
    }
    this.afterWrite();
    if (commit && this.options.syncAlways) this.commitTombstones();
  }

  /** With syncAlways: makes the tombstones written so far durable; throws (keeping them) if it cannot. @internal */
  protected commitTombstones(): void {
    this.writeOut();
    this.files.preallocate(this.active, this.options.blockSize);
    this.syncBlock(this.active);
    this.syncDirectoryIfNeeded();
  }

  /** Seals the active block when `size` more bytes would not fit. @internal */
  protected makeRoom(size: number): void {
    const used = this.buffer.used;
    if (used > BLOCK_HEADER_SIZE && used + size > this.options.blockSize) this.rollBlock();
    this.buffer.ensure(this.buffer.used + size + REC_TTL_AND_SLACK);
  }

  /** @internal */
  protected afterWrite(): void {
    // With syncAlways each record made itself durable (commitAppend).
    if (this.options.syncAlways) return;
    const pending = this.buffer.used - this.active.written;
    // Asked once: the sealer's target is fixed while the store is open.
    if (this.flushBytes === 0)
      this.flushBytes = this.files.sealer.sealsFiles ? FLUSH_BYTES_SEALED : FLUSH_BYTES_PLAIN;
    if (pending >= this.flushBytes) {
      this.writeOutInBackground();
    } else if (this.flushTimer === null) {
      this.flushTimer = backgroundTimeout(() => {
        this.flushTimer = null;
        this.writeOutInBackground();
      }, FLUSH_DELAY_MS);
    }
  }

  /** @internal */
  protected writeOutInBackground(): void {
    try {
      this.flushHeadRemovals();
      this.writeOut();
    } catch (err) {
      this.writeError = err;
    }
  }

  /**
   * True when `writeOut` has bytes to write: a deferred block's header alone
   * is none, or an idle store that left it so would run a sync round at every tick.
   * @internal
   */
  protected hasPendingWrite(): boolean {
    const active = this.active;
    return this.buffer.used > (active.fileDeferred ? BLOCK_HEADER_SIZE : active.written);
  }

  /** Writes the buffered tail of the active block to its file. @internal */
  protected writeOut(): void {
    if (this.closed && this.active === undefined) return;
    const block = this.active;
    const from = block.written;
    const to = this.buffer.used;
    if (to <= from) return;
    if (block.fileDeferred) {
      // Its header alone is no reason for a file.
      if (to <= BLOCK_HEADER_SIZE) return;
      block.handle = this.files.create(block.path, block.n);
      block.fileDeferred = false;
      this.dirDirty = true;
    }
    this.files.write(block, from, this.buffer.view(from, to));
    block.written = to;
    block.dirty = true;
    this.writeError = null;
  }

  /** Seals the active block and starts the next one. @internal */
  protected rollBlock(): void {
    this.writeOut();
    // Created before anything changes: a disk too full for a new file refuses the write cleanly.
    const next = this.createBlockFile();
    const sealed = this.active;
    this.files.seal(sealed);
    this.syncSealedEarly(sealed);
    if (this.files.needsConversion(sealed)) this.packer.add(sealed);
    // The sealed block's bytes move to the cache as they are: no copy. Verified: each
    // record was sealed by this process or verified by open's scan of the block (recovery.ts),
    // so reads and scans of what was just written need no checksum pass.
    const { ptr, length } = this.buffer.handOff();
    this.cache.put(sealed.n, ptr, length, true).verified = true;
    this.startBlock(next);
  }

  /**
   * Starts the fsync of a block just sealed on the runtime's I/O thread, so
   * the disk works while appends go on and the next flush finds little left
   * to sync. A failure is kept and reported by the next durability round.
   * @internal
   */
  protected syncSealedEarly(block: Block): void {
    // In the calling thread it would only hold up the append: the next round syncs the block.
    if (block.handle === null || !block.dirty || this.options.syncInline) return;
    block.dirty = false;
    const early: Promise<void> = this.syncInFlight(block).then(
      () => {
        this.earlySyncs.delete(early);
      },
      (err: unknown) => {
        block.dirty = true;
        this.earlySyncs.delete(early);
        this.earlySyncError ??= err;
      },
    );
    this.earlySyncs.add(early);
  }

  /** Creates the file of the next block, empty. @internal */
  protected createBlockFile(): FileHandle {
    return this.files.create(blockPath(this.dir, this.nextBlockNumber), this.nextBlockNumber);
  }

  /** Starts the next block in `file`, or with its file deferred (`Block.fileDeferred`) when null. @internal */
  protected startBlock(file: FileHandle | null = this.createBlockFile()): void {
    const n = this.nextBlockNumber++;
    const last = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1] : undefined;
    const prev = last !== undefined ? last.last : this.lastSeq;
    const block = new Block(n, blockPath(this.dir, n), Math.max(prev, this.lastSeq));
    block.handle = file;
    block.fileDeferred = file === null;
    this.buffer.reset(n);
    // Sized for the live messages of the block before (never for its skips),
    // so the columns of a stream of like messages are not grown six times per block.
    const held = last?.msgs ?? 0;
    const room = Math.min(Math.max(1024, held + (held >>> 4)), COLUMN_ROOM_MAX);
    block.offsets = new Uint32Array(room);
    // Under limits the oldest messages are removed one by one: a subject-id
    // column and a size column let that happen without reading their records
    // (see removeHead).
    if (this.limited !== null) {
      block.subjectIds = new Uint32Array(room).fill(NO_SUBJECT);
      block.sizes = new Uint32Array(room);
    }
    block.length = this.buffer.used;
    this.blocks.push(block);
    this.active = block;
    this.files.appendingTo = n;
    if (file !== null) this.dirDirty = true;
  }

  /** fsyncs a block file, first writing again what a failed fsync may have dropped (block-sync.ts). @internal */
  protected syncBlock(block: Block): void {
    if (block.handle === null) return;
    block.durability.sync(this.files.of(block), block.written, (from, to) =>
      this.bytesToRewrite(block, from, to),
    );
  }

  /**
   * An asynchronous fsync counted in `block.syncing` while it runs, so a
   * checkpoint written meanwhile (a truncate, the exit hook) fsyncs the block
   * itself rather than vouch for bytes not yet durable.
   * @internal
   */
  protected async syncInFlight(block: Block): Promise<void> {
    block.syncing++;
    try {
      await this.syncBlockAsync(block);
    } finally {
      block.syncing--;
      this.files.fsynced();
    }
  }

  /** @internal */
  protected syncBlockAsync(block: Block): Promise<void> {
    if (block.handle === null) return Promise.resolve();
    if (this.options.syncInline) {
      try {
        this.syncBlock(block);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return block.durability.syncAsync(this.files.of(block), block.written, (from, to) =>
      this.bytesToRewrite(block, from, to),
    );
  }

  /**
   * Bytes [from, to) of `block` to write again after a failed fsync: the
   * write buffer for the active block; for a sealed one the cache, or a read
   * of the file (the kernel keeps the dropped pages readable, but may have
   * evicted them since), accepted only if every record from `from` verifies.
   * @internal
   */
  protected bytesToRewrite(block: Block, from: number, to: number): Uint8Array {
    if (block === this.active) return this.buffer.view(from, to);
    const { ptr, length } = loadBlock(this.files, this.cache, block);
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

  /**
   * Before a sync round fsyncs the active block: zeros past its data when
   * few are left (preallocation.ts), so the appends of the rounds after it
   * overwrite allocated bytes and their fsyncs flush data alone.
   * @internal
   */
  protected preallocateActive(): void {
    const active = this.active;
    // Zeros the checkpoint right after this round would cut again are not worth writing.
    if (active === undefined || this.checkpointNext > 0) return;
    if (this.files.preallocate(active, this.options.blockSize)) active.dirty = true;
  }

  /** @internal */
  protected syncDirectoryIfNeeded(): void {
    if (!this.dirDirty) return;
    this.fs.syncDirectory(joinPath(this.dir, BLOCKS_DIR));
    this.fs.syncDirectory(this.dir);
    // Only now: a failed directory fsync must leave the next round to try again.
    this.dirDirty = false;
  }
}

const REC_MIN = 36;

/** The most entries a new block's columns start with (1 MiB each): more grow as needed. */
const COLUMN_ROOM_MAX = 1 << 18;

/** Room for a TTL field and rounding, so `append` never writes past the buffer. */
const REC_TTL_AND_SLACK = 16;

const SCRATCH = new Uint8Array(8);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);

/**
 * `value` as 8 little-endian bytes in one shared array, for a record payload
 * `append` copies at once: a limited stream writes one range tombstone per
 * write-out, and a fresh array and view each time showed in its profile.
 */
function u64Scratch(value: number): Uint8Array {
  SCRATCH_VIEW.setUint32(0, value % TWO_32, true);
  SCRATCH_VIEW.setUint32(4, Math.floor(value / TWO_32), true);
  return SCRATCH;
}

/** A time's halves: high signed, low unsigned. */
const tsHigh = (ts: bigint): number => Number(ts >> 32n);
const tsLow = (ts: bigint): number => Number(ts & 0xffffffffn);
