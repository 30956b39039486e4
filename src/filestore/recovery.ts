/**
 * Opening a store: rebuild the in-memory view from the checkpoint and the
 * block files, reading as little as possible.
 *
 * - A block the checkpoint lists, whose file still has the recorded length
 *   and last checksum, is trusted as is: not read at all.
 * - Bytes written after the checkpoint (a longer file, or blocks numbered
 *   past the checkpoint's) are scanned by the WASM core and replayed:
 *   messages, skips and tombstones.
 * - A block that fails those checks, or every block when there is no usable
 *   checkpoint, is scanned whole, and subject totals are rebuilt.
 * - A torn tail is cut at the last valid record and reported in `lost`.
 * - Block files the checkpoint does not list, numbered below its last block,
 *   are leftovers of a removal or truncate that completed (the checkpoint is
 *   written before such files are removed) and are deleted; a listed block
 *   other than the last, longer than recorded, is cut back (a truncate's tail).
 * The last sequence is never lower than the checkpoint promised, so a crash
 * can never make the store hand out a sequence twice.
 */
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { isJetStoreError, JetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_TS,
} from "../format.ts";
import type { MessageTtls } from "../msg-ttls.ts";
import { SequenceSet } from "../seqset.ts";
import type { DamagedBytes, LostData } from "../types.ts";
import { getCore } from "../wasm/core.ts";
import { Block, NO_RECORD } from "./block.ts";
import type { BlockCache } from "./block-cache.ts";
import { checkBlockHeader, loadBlock, readInto } from "./block-io.ts";
import { type ScannedRecord, scanBlock, subjectSpan } from "./block-scan.ts";
import {
  type BlockCheckpoint,
  CHECKPOINT_FILE,
  type Checkpoint,
  decodeCheckpoint,
} from "./checkpoint.ts";
import { damagedMessages } from "./damage.ts";
import { decodeFields, readSubject } from "./message-reader.ts";
import { SubjectTotals } from "./subject-totals.ts";
import { tombstoneCount } from "./tombstone.ts";
import type { WriteBuffer } from "./write-buffer.ts";

export const BLOCKS_DIR = "msgs";
const BLOCK_FILE = /^(\d+)\.blk$/;

export interface Recovered {
  blocks: Block[];
  lastSeq: number;
  /** The record carrying the highest sequence seen, to read the last timestamp from. */
  lastRecord: { block: Block; offset: number; seq: number } | null;
  checkpointLastTs: bigint;
  subjects: SubjectTotals;
  lost: LostData | undefined;
  nextBlockNumber: number;
}

export function blockPath(dir: string, n: number): string {
  return joinPath(dir, BLOCKS_DIR, `${n}.blk`);
}

/** The checkpoint, or null when there is none or it is damaged (then every block is rebuilt). */
export function readCheckpoint(fs: FileSystem, dir: string): Checkpoint | null {
  const path = joinPath(dir, CHECKPOINT_FILE);
  const stat = fs.stat(path);
  if (stat === null || !stat.isFile) return null;
  const handle = fs.open(path, "read");
  try {
    const bytes = new Uint8Array(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const n = handle.read(bytes.subarray(done), done);
      if (n <= 0) break;
      done += n;
    }
    return decodeCheckpoint(bytes.subarray(0, done), path);
  } catch (err) {
    if (isJetStoreError(err, "ErrCorrupt")) return null;
    throw err;
  } finally {
    handle.close();
  }
}

class Recovery {
  readonly blocks: Block[] = [];
  readonly subjects = new SubjectTotals();
  readonly lostSeqs = new Set<number>();
  lostBytes = 0;
  /** Where the damage was, in the order found. */
  readonly damage: DamagedBytes[] = [];
  /** The latest damage, until the next verified message tells which sequences it took. */
  private pending: DamagedBytes | null = null;
  /** Every sequence a replayed tombstone names, so a removal is never reported as lost. */
  readonly tombstoned = new SequenceSet();
  lastSeq: number;
  lastRecord: Recovered["lastRecord"] = null;
  rebuildSubjects: boolean;
  /**
   * The last message or skip sequence scanned, and whether damage was skipped
   * or cut since: carried across blocks, so damage at a block's edge is named too.
   */
  prevSeq = 0;
  damaged = false;
  /** A trusted block not scanned: damage cut before it ends where it starts. */
  passTrusted(first: number, last: number): void {
    this.loseGapBefore(first);
    if (last >= first) this.prevSeq = last;
  }

  /** Bytes of block `n` from `offset` that failed verification, were cut, or are missing. */
  noteDamage(n: number, offset: number, bytes: number): DamagedBytes {
    const stretch: DamagedBytes = { block: n, offset, bytes, msgs: [] };
    this.damage.push(stretch);
    this.lostBytes += bytes;
    this.damaged = true;
    this.pending = stretch;
    return stretch;
  }

  /** A damaged block header: reported; the records after it are read all the same. */
  noteHeader(n: number): void {
    this.noteCut(n, 0, BLOCK_HEADER_SIZE);
  }

  /**
   * Bytes cut off the end of block `n`. After a power cut they are unsynced
   * writes, not damage, so the sequences up to the next block are not
   * reported on their own account: only what a checkpoint promised is.
   */
  noteCut(n: number, offset: number, bytes: number): void {
    this.noteDamage(n, offset, bytes);
    this.damaged = false;
    this.pending = null;
  }

  /** The next verified message is `seq`: what lies between it and the last one went with the damage. */
  private loseGapBefore(seq: number): void {
    if (this.damaged && this.prevSeq > 0 && this.pending !== null) {
      for (let s = this.prevSeq + 1; s < seq; s++) this.lose(s, this.pending);
    }
    this.damaged = false;
    this.pending = null;
  }

  private lastDamageOf(n: number): DamagedBytes | undefined {
    for (let i = this.damage.length - 1; i >= 0; i--)
      if (this.damage[i].block === n) return this.damage[i];
    return undefined;
  }

  private lose(seq: number, stretch: DamagedBytes): void {
    if (this.lostSeqs.has(seq)) return;
    this.lostSeqs.add(seq);
    stretch.msgs.push(seq);
  }

  /**
   * What is lost, once every tombstone is replayed: a sequence a later
   * tombstone removed was not lost to the damage.
   */
  report(): LostData | undefined {
    const kept = (seq: number) => !this.tombstoned.has(seq);
    for (const d of this.damage) d.msgs = d.msgs.filter(kept).sort((a, b) => a - b);
    const msgs = [...this.lostSeqs].filter(kept).sort((a, b) => a - b);
    if (msgs.length === 0 && this.lostBytes === 0 && this.damage.length === 0) return undefined;
    return { msgs, bytes: this.lostBytes, damaged: this.damage };
  }

  /** The block being scanned and where its bytes are. */
  current: { block: Block; ptr: number; length: number } | null = null;
  /**
   * Only a checkpoint's subject totals can turn out stale (a block it lists
   * no longer matches), so only then are scanned subjects kept for a rebuild.
   */
  private readonly keepNames: boolean;
  /** Message subjects of scanned blocks, for a subject rebuild. */
  readonly names = new Map<Block, { seqs: number[]; subjects: string[] }>();
  private readonly fs: FileSystem;
  private readonly cache: BlockCache;
  private readonly ttls: MessageTtls;

  constructor(fs: FileSystem, cache: BlockCache, checkpoint: Checkpoint | null, ttls: MessageTtls) {
    this.fs = fs;
    this.cache = cache;
    this.ttls = ttls;
    // Entries of messages removed since are dropped once every block is known (see recover).
    for (const [seq, at] of checkpoint?.ttls ?? []) ttls.schedule(seq, at);
    for (const seq of checkpoint?.never ?? []) ttls.add(seq, 0n, -1);
    this.lastSeq = checkpoint?.lastSeq ?? 0;
    // Without a checkpoint every record is replayed and counted as it is met.
    this.rebuildSubjects = false;
    this.keepNames = checkpoint !== null;
    for (const s of checkpoint?.subjects ?? []) {
      this.subjects.restore(s.subject, { msgs: s.msgs, first: s.first, last: s.last });
    }
  }

  findBlock(seq: number): Block | undefined {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.blocks[mid].last < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    const b = this.blocks[lo];
    return b?.contains(seq) ? b : undefined;
  }

  noteSeq(block: Block, offset: number, seq: number): void {
    if (seq >= this.lastSeq) {
      this.lastSeq = seq;
      this.lastRecord = { block, offset, seq };
    }
  }

  /** Applies a tombstone for `from`…`to` to whichever blocks hold those sequences. */
  removeRange(from: number, to: number): void {
    for (const b of this.blocks) {
      if (!b.hasRange || b.last < from || b.first > to) continue;
      for (
        let seq = b.nextLive(Math.max(from, b.first));
        seq !== 0 && seq <= to;
        seq = b.nextLive(seq + 1)
      ) {
        this.removeOne(b, seq);
      }
    }
  }

  private removeOne(block: Block, seq: number): void {
    let ptr: number;
    let length: number;
    if (this.current !== null && this.current.block === block) {
      ({ ptr, length } = this.current);
    } else {
      ({ ptr, length } = loadBlock(this.fs, this.cache, block));
    }
    const offset = block.offsetOf(seq);
    if (offset < 0) return;
    if (offset === NO_RECORD) {
      // Its record failed verification; removed all the same. Its subject is unknown: rebuild them.
      block.deleted.add(seq);
      block.msgs--;
      this.rebuildSubjects = true;
      return;
    }
    const f = decodeFields(ptr + offset, length - offset, block.path, offset);
    block.deleted.add(seq);
    block.msgs--;
    block.bytes -= f.length;
    if (!this.rebuildSubjects) this.subjects.remove(readSubject(f.subjectAt, f.subjectLen), seq);
  }

  /**
   * Applies the removals a checkpoint recorded for a block it no longer
   * vouches for: their tombstones may sit in later blocks that are trusted,
   * and so not replayed.
   */
  applyRemovals(block: Block, ptr: number, length: number, encoded: Uint8Array): void {
    const removed = SequenceSet.decode(encoded);
    this.current = { block, ptr, length };
    try {
      for (const [lo, hi] of removed.runs(block.first)) {
        if (lo > block.last) break;
        const to = Math.min(hi, block.last);
        for (let seq = block.nextLive(lo); seq !== 0 && seq <= to; seq = block.nextLive(seq + 1))
          this.removeOne(block, seq);
      }
    } finally {
      this.current = null;
      removed.dispose();
    }
  }

  /** Scans `block` (bytes at `ptr`), counting records at or after `replayFrom`. */
  scan(block: Block, ptr: number, length: number, replayFrom: number): number {
    this.current = { block, ptr, length };
    const names = { seqs: [] as number[], subjects: [] as string[] };
    // A block the checkpoint vouches for in part is read again by a rebuild
    // (rare); keeping its subjects would cost every clean open a string per record.
    const keepNames = this.keepNames && replayFrom <= BLOCK_HEADER_SIZE;
    if (keepNames) this.names.set(block, names);
    // A damaged record skipped by the scan costs itself only: the sequences
    // between its verified neighbours are reported lost.
    const onDamaged = (offset: number, size: number) => {
      this.noteDamage(block.n, offset, size);
      // Counts the checkpoint gave for this block include the damaged record.
      if (offset < replayFrom) this.rebuildSubjects = true;
    };
    const visit = (r: ScannedRecord) => {
      const recordPtr = ptr + r.offset;
      if (!(r.flags & REC_FLAG_TOMBSTONE)) {
        this.loseGapBefore(r.seq);
        this.prevSeq = r.seq;
      }
      if (r.offset < replayFrom) {
        if (r.flags & REC_FLAG_TOMBSTONE) this.noteTombstoned(recordPtr, r);
        else if (!(r.flags & REC_FLAG_SKIP)) block.indexRecord(r.seq, r.offset);
        return;
      }
      if (r.flags & REC_FLAG_TOMBSTONE) {
        const count = this.noteTombstoned(recordPtr, r);
        block.noteTombstone(r.seq - count + 1);
        this.noteSeq(block, r.offset, r.seq);
        this.removeRange(r.seq - count + 1, r.seq);
      } else if (r.flags & REC_FLAG_SKIP) {
        block.appendSkip(r.seq);
        this.noteSeq(block, r.offset, r.seq);
      } else if (r.flags & REC_FLAG_ERASED) {
        block.appendErased(r.seq, r.offset);
        this.noteSeq(block, r.offset, r.seq);
      } else {
        block.appendMessage(r.seq, r.offset, r.length);
        this.noteSeq(block, r.offset, r.seq);
        const [at, len] = subjectSpan(recordPtr, r.flags);
        const subject = readSubject(at, len);
        if (keepNames) {
          names.seqs.push(r.seq);
          names.subjects.push(subject);
        }
        if (!this.rebuildSubjects) this.subjects.add(subject, r.seq);
        if (r.flags & REC_FLAG_TTL) {
          const view = getCore().view;
          const ttl = Number(view.getBigInt64(recordPtr + REC_HEADER_SIZE, true));
          this.ttls.add(r.seq, view.getBigInt64(recordPtr + REC_OFF_TS, true), ttl);
        }
      }
    };
    const outcome = scanBlock(ptr, length, BLOCK_HEADER_SIZE, visit, onDamaged);
    this.current = null;
    return outcome.stop;
  }

  /** Records what a tombstone removes, so it is never reported lost; returns its count. */
  noteTombstoned(ptr: number, r: ScannedRecord): number {
    const count = tombstoneCount(ptr, r.length);
    this.tombstoned.addRange(r.seq - count + 1, r.seq);
    return count;
  }

  /**
   * Reads the tombstones of blocks open trusted without reading, when damage
   * took sequences they may name: a removed message is not lost (verifyStore,
   * which reads every tombstone, says the same). Costs nothing without damage.
   */
  readTombstonesOfUnscanned(scanned: ReadonlySet<Block>): void {
    if (this.lostSeqs.size === 0) return;
    let highestLost = 0;
    for (const seq of this.lostSeqs) {
      if (!this.tombstoned.has(seq)) highestLost = Math.max(highestLost, seq);
    }
    for (const block of this.blocks) {
      if (scanned.has(block) || block.tombstones === 0) continue;
      if (block.lowestTombstone > highestLost) continue;
      const { ptr, length } = loadBlock(this.fs, this.cache, block);
      scanBlock(
        ptr,
        length,
        BLOCK_HEADER_SIZE,
        (r) => {
          if (r.flags & REC_FLAG_TOMBSTONE) this.noteTombstoned(ptr + r.offset, r);
        },
        () => {},
      );
    }
  }

  /**
   * Live sequences the checkpoint promised in `cp` that have no record any
   * more, and not removed by a tombstone (a checkpoint older than a removal
   * still lists the blocks the removal deleted). Returns how many.
   */
  collectLost(block: Block | null, cp: BlockCheckpoint): number {
    const promisedDeleted = SequenceSet.decode(cp.deleted);
    const missing: number[] = [];
    try {
      for (let seq = cp.first; seq <= cp.last && cp.msgs > 0; seq++) {
        if (promisedDeleted.has(seq) || this.tombstoned.has(seq) || this.lostSeqs.has(seq))
          continue;
        const offset = block === null || !block.contains(seq) ? NO_RECORD : block.offsetOf(seq);
        if (offset === NO_RECORD || offset < 0) missing.push(seq);
      }
    } finally {
      promisedDeleted.dispose();
    }
    if (missing.length > 0) {
      // Told to the block's last damage, or to its end (the records were cut) or its absence.
      const where =
        this.lastDamageOf(cp.n) ??
        this.noteDamage(cp.n, block === null ? 0 : block.length, block === null ? cp.bytes : 0);
      for (const seq of missing) this.lose(seq, where);
      this.damaged = false;
      this.pending = null;
    }
    return missing.length;
  }

  /** Subjects of every live message, from scans or by reading trusted blocks. */
  rebuildAllSubjects(buffer: WriteBuffer): void {
    this.subjects.clear();
    const active = this.blocks[this.blocks.length - 1];
    for (const block of this.blocks) {
      const names = this.names.get(block);
      if (names !== undefined) {
        for (let k = 0; k < names.seqs.length; k++) {
          const seq = names.seqs[k];
          if (block.isLive(seq)) this.subjects.add(names.subjects[k], seq);
        }
        continue;
      }
      const { ptr, length } =
        block === active
          ? { ptr: buffer.ptr, length: buffer.used }
          : loadBlock(this.fs, this.cache, block);
      const unverified: number[] = [];
      let liveBytes = 0;
      for (let seq = block.nextLive(block.first); seq !== 0; seq = block.nextLive(seq + 1)) {
        const offset = block.offsetOf(seq);
        if (offset === NO_RECORD || offset < 0) {
          unverified.push(seq);
          continue;
        }
        const f = decodeFields(ptr + offset, length - offset, block.path, offset);
        liveBytes += f.length;
        this.subjects.add(readSubject(f.subjectAt, f.subjectLen), seq);
      }
      if (unverified.length > 0 || block.damage !== null)
        this.dropDamaged(block, unverified, liveBytes);
    }
  }

  /**
   * Live messages of a block whose records failed verification, in a block
   * whose counts a checkpoint gave: they are lost, reported, and no longer counted.
   */
  private dropDamaged(block: Block, seqs: number[], liveBytes: number): void {
    for (const stretch of damagedMessages(block)) {
      this.damage.push(stretch);
      this.lostBytes += stretch.bytes;
      for (const seq of stretch.msgs) this.lostSeqs.add(seq);
    }
    // Now in the report made at open, not again in later states.
    block.damage = null;
    for (const seq of seqs) {
      block.deleted.add(seq);
      block.msgs--;
      if (this.lostSeqs.has(seq)) continue;
      const where = this.lastDamageOf(block.n) ?? this.noteDamage(block.n, block.length, 0);
      this.lose(seq, where);
    }
    block.bytes = liveBytes;
  }
}

/**
 * Rebuilds a store's view from `dir`. Pending TTLs go into `ttls`: the
 * checkpoint's and those of replayed records, including some of messages
 * removed since; the caller keeps only live ones.
 */
export function recover(
  fs: FileSystem,
  dir: string,
  cache: BlockCache,
  buffer: WriteBuffer,
  ttls: MessageTtls,
): Recovered {
  const checkpoint = readCheckpoint(fs, dir);
  const names = fs.list(joinPath(dir, BLOCKS_DIR));
  const numbers = names
    .map((name) => BLOCK_FILE.exec(name))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (checkpoint === null && numbers.length === 0 && names.length > 0) {
    // Someone else's `msgs` directory: writing blocks into it would mix our files with theirs.
    throw new JetStoreError(
      "ErrNotAStore",
      `Cannot open store: ${joinPath(dir, BLOCKS_DIR)} holds other files (${names.slice(0, 3).join(", ")}) and no jetstore block`,
    );
  }
  const listed = new Map(checkpoint?.blocks.map((b) => [b.n, b]) ?? []);
  const highestListed = checkpoint?.blocks.at(-1)?.n ?? 0;
  const r = new Recovery(fs, cache, checkpoint, ttls);
  // Checked once every tombstone is replayed: a later block may remove what an earlier one lost.
  const promised: Array<{ block: Block | null; cp: BlockCheckpoint }> = [];
  const scanned = new Set<Block>();

  // Core memory read for a sealed block and not yet owned by the cache; freed if open fails.
  let loose: number | null = null;
  try {
    for (let i = 0; i < numbers.length; i++) {
      const n = numbers[i];
      const path = blockPath(dir, n);
      // Below the checkpoint's last block, a file it does not list is the leftover of a
      // purge, an emptied head or a truncate, all written into the checkpoint before files go.
      if (checkpoint !== null && n < highestListed && !listed.has(n)) {
        fs.remove(path);
        continue;
      }
      const isLast = i === numbers.length - 1;
      const prev = r.blocks.length > 0 ? r.blocks[r.blocks.length - 1].last : 0;
      const block = new Block(n, path, prev);
      block.handle = fs.open(path, "write");
      let size = block.handle.size();
      const cp = listed.get(n);
      // Only the checkpoint's last block grows after it: bytes past another's
      // recorded length are what a truncate cut and had not removed yet.
      if (cp !== undefined && n !== highestListed && size > cp.length) {
        block.handle.truncate(cp.length);
        size = cp.length;
      }
      listed.delete(n);
      const trusted =
        cp !== undefined &&
        size >= cp.length &&
        lastChecksumMatches(block, cp.length, cp.lastChecksum);
      if (trusted) {
        block.first = cp.first;
        block.last = cp.last;
        block.firstTs = cp.firstTs;
        block.lastTs = cp.lastTs;
        block.msgs = cp.msgs;
        block.bytes = cp.bytes;
        block.tombstones = cp.tombstones;
        block.lowestTombstone = cp.lowestTombstone;
        block.restoreDeleted(cp.deleted);
      } else if (cp !== undefined) {
        r.rebuildSubjects = true;
      }
      r.blocks.push(block);
      if (trusted && size === cp.length && !isLast) {
        if (size >= BLOCK_HEADER_SIZE && !trustedHeaderIntact(fs, block)) r.noteHeader(n);
        block.length = block.written = size;
        if (cp.msgs > 0 || cp.last >= cp.first) r.passTrusted(cp.first, cp.last);
        continue;
      }

      // Read the whole block: the last one into the write buffer, others into private memory.
      let ptr: number;
      if (isLast) {
        buffer.ensure(Math.max(size, BLOCK_HEADER_SIZE));
        ptr = buffer.ptr;
      } else {
        ptr = cache.reserve(size);
        loose = ptr;
      }
      readInto(fs, block, ptr, size);
      const headerIntact = trusted
        ? headerOfTrusted(ptr, size, path)
        : checkBlockHeader(ptr, size, path);
      if (!headerIntact && size >= BLOCK_HEADER_SIZE) r.noteHeader(n);
      if (!headerIntact && size < BLOCK_HEADER_SIZE) {
        // Torn while the block was being created: nothing in it was ever acknowledged.
        block.handle.truncate(0);
        if (size > 0) r.noteDamage(n, 0, size);
        else r.damaged = true;
        block.length = block.written = 0;
        if (isLast) buffer.reset(n);
        else getCore().free(ptr);
        loose = null;
        if (cp !== undefined) promised.push({ block: null, cp });
        continue;
      }
      const replayFrom = trusted ? cp.length : BLOCK_HEADER_SIZE;
      const stop = r.scan(block, ptr, size, replayFrom);
      scanned.add(block);
      if (stop < size) {
        // A torn or damaged tail: keep what verified, cut the rest, report it.
        // Only bytes are counted: after a power cut this is unacknowledged data, not damage.
        r.noteCut(n, stop, size - stop);
        block.handle.truncate(stop);
      }
      block.length = block.written = stop;
      if (cp !== undefined && !trusted) r.applyRemovals(block, ptr, stop, cp.deleted);
      if (isLast) buffer.used = stop;
      else cache.put(n, ptr, size);
      loose = null;
      if (cp !== undefined && !trusted) promised.push({ block, cp });
      else if (trusted && stop < cp.length) {
        // The cut reached bytes the checkpoint vouched for: damage, not a torn write.
        promised.push({ block, cp });
        r.rebuildSubjects = true;
      }
    }
  } catch (err) {
    // Open fails (e.g. a block of a newer format): release every handle and byte taken so far.
    if (loose !== null) getCore().free(loose);
    for (const b of r.blocks) b.dispose();
    r.tombstoned.dispose();
    throw err;
  }

  for (const { block, cp } of promised) r.collectLost(block, cp);
  // Blocks the checkpoint promised whose files are gone.
  for (const cp of listed.values()) {
    r.collectLost(null, cp);
    // The checkpoint's subject totals still count its messages.
    r.rebuildSubjects = true;
  }
  // Damage found while replaying tombstones into trusted blocks also leaves their counts stale.
  if (r.rebuildSubjects || r.blocks.some((b) => b.damage !== null)) r.rebuildAllSubjects(buffer);
  r.readTombstonesOfUnscanned(scanned);
  const lost = r.report();
  r.tombstoned.dispose();
  const highest = Math.max(
    numbers[numbers.length - 1] ?? 0,
    ...(checkpoint?.blocks.map((b) => b.n) ?? []),
  );
  return {
    blocks: r.blocks,
    lastSeq: r.lastSeq,
    lastRecord: r.lastRecord,
    checkpointLastTs: checkpoint?.lastTs ?? 0n,
    subjects: r.subjects,
    lost,
    nextBlockNumber: highest + 1,
  };
}

/** The header of a trusted block that open does not otherwise read: false when damaged. */
function trustedHeaderIntact(fs: FileSystem, block: Block): boolean {
  const core = getCore();
  const ptr = core.alloc(BLOCK_HEADER_SIZE);
  try {
    readInto(fs, block, ptr, BLOCK_HEADER_SIZE);
    return headerOfTrusted(ptr, BLOCK_HEADER_SIZE, block.path);
  } finally {
    core.free(ptr);
  }
}

/**
 * A block the checkpoint vouches for (same length, same last checksum) holds
 * the bytes this version wrote, so a header claiming a newer format there is
 * a damaged header, not a newer block: reported, not refused. A newer
 * jetstore writes new blocks and a newer checkpoint; neither is vouched for
 * by ours, so those are still refused (FORMAT.md).
 */
function headerOfTrusted(ptr: number, length: number, path: string): boolean {
  try {
    return checkBlockHeader(ptr, length, path);
  } catch (err) {
    if (isJetStoreError(err, "ErrUnsupportedFormat")) return false;
    throw err;
  }
}

function lastChecksumMatches(block: Block, length: number, expected: Uint8Array): boolean {
  if (expected.length === 0) return length <= BLOCK_HEADER_SIZE;
  if (length < expected.length || block.handle === null) return false;
  const actual = new Uint8Array(expected.length);
  if (block.handle.read(actual, length - expected.length) !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}
