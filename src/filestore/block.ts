/**
 * One message block (`msgs/<n>.blk`) as the store sees it: its sequence range,
 * counts, deleted sequences (a WASM sequence set, so sealed blocks keep no
 * per-message JavaScript object) and, once read, an offset index from sequence
 * to record. The index is a Uint32Array indexed by `seq - first` (4 bytes a
 * message, built by one WASM scan when the block is first read); a Map was
 * rejected for its ~80 bytes an entry.
 *
 * A block's range [first, last] covers the message and skip records written
 * to it. Tombstones name sequences of this or earlier blocks and do not widen
 * the range. A block with no range yet sits at `first = last + 1` right after
 * its predecessor, so ranges stay sorted for binary search.
 */
import type { FileHandle } from "../../runtimes/fs.ts";
import { SequenceSet } from "../seqset.ts";
import { BlockSync } from "./block-sync.ts";
import { NO_SUBJECT } from "./subject-totals.ts";

/** An offset index entry for a sequence with no record in this block. */
export const NO_RECORD = 0xffffffff;

/** The flag of a `sizes` entry whose record has a TTL. */
export const SIZE_TTL = 0x8000_0000;
/** The largest record size a `sizes` entry holds. */
export const SIZE_MAX = 0x7fff_ffff;

export class Block {
  readonly n: number;
  readonly path: string;
  first: number;
  last: number;
  firstTs = 0n;
  lastTs = 0n;
  /**
   * Subject id (SubjectTotals.idOf) by `seq - first`, built when a filtered
   * scan first needs it and kept up by appends; meaningful for live messages only.
   */
  subjectIds: Uint32Array | null = null;
  /**
   * Record size by `seq - first`, with REMOVAL_TTL set for a record with a
   * TTL; 0 where unknown. Kept by appends to a block started under limits,
   * so removing the oldest message reads the columns, not its record, whose
   * bytes have left the CPU caches long ago (a miss per removal was the head
   * removal's largest cost).
   */
  sizes: Uint32Array | null = null;
  /** The distinct ids of `subjectIds` (a superset once messages are removed). */
  subjectIdSet: Set<number> | null = null;
  /** Whether any of `subjectIdSet` is set in `bits`: the last filter's answer, kept while `bits` is. */
  lastMatch: { bits: Uint8Array; any: boolean } | null = null;
  /** An upper bound of the live messages' timestamps, once a query needed it (getSeqFromTime). */
  maxTs: bigint | null = null;
  /** Live messages. */
  msgs = 0;
  /** Sum of the record sizes of live messages. */
  bytes = 0;
  /** Bytes of the block, written or still buffered. */
  length = 0;
  /** Bytes known to be in the file (the rest is in the active write buffer). */
  written = 0;
  /** Sequences in [first, last] with no live message: removed or skipped. */
  deleted: SequenceSet;
  /** Record offset by `seq - first`, or null until the block is read. */
  offsets: Uint32Array | null = null;
  /**
   * Stretches [offset, bytes] that failed verification when the offset index
   * was built (see damage.ts), or null: only blocks open did not scan get it.
   */
  damage: Array<[number, number]> | null = null;
  /** Tombstone records in this block, and the lowest sequence any of them names. */
  tombstones = 0;
  lowestTombstone = Number.MAX_SAFE_INTEGER;
  handle: FileHandle | null = null;
  /**
   * Started by an open that left the last block unread (store-load.ts): its
   * file is created by its first write-out of a record, so a session that
   * stores nothing creates no file, and checkpoints leave it out until then.
   */
  fileDeferred = false;
  /** Written since the last fsync. */
  dirty = false;
  /** fsyncs in flight that started with `dirty` cleared. */
  syncing = 0;
  /** How far fsyncs reached, and what to write again after a failed one. */
  readonly durability = new BlockSync();

  constructor(n: number, path: string, after: number) {
    this.n = n;
    this.path = path;
    this.first = after + 1;
    this.last = after;
    this.deleted = new SequenceSet();
  }

  get hasRange(): boolean {
    return this.last >= this.first;
  }

  /**
   * Extends the range to `seq`, recording `offset` (or NO_RECORD) in the
   * index. Sequences jumped over inside the block count as deleted; a jump
   * at the start of a block falls between blocks, which is deleted anyway.
   */
  place(seq: number, offset: number): void {
    if (!this.hasRange) {
      this.first = seq;
      this.last = seq - 1;
    } else if (seq > this.last + 1) {
      this.deleted.addRange(this.last + 1, seq - 1);
    }
    const index = this.ensureIndexRoom(seq - this.first + 1);
    for (let s = this.last + 1; s < seq; s++) index[s - this.first] = NO_RECORD;
    index[seq - this.first] = offset;
    this.last = seq;
  }

  /** Records the subject id of `seq` in the column, if the block has one. */
  setSubjectId(seq: number, id: number): void {
    let column = this.subjectIds;
    if (column === null) return;
    const i = seq - this.first;
    if (i >= column.length) {
      const grown = new Uint32Array(Math.max(i + 1, column.length * 2)).fill(NO_SUBJECT);
      grown.set(column);
      column = grown;
      this.subjectIds = grown;
    }
    column[i] = id;
    if (this.subjectIdSet !== null && !this.subjectIdSet.has(id)) {
      this.subjectIdSet.add(id);
      this.lastMatch = null;
    }
  }

  /** Records the size of `seq`'s record (and whether it has a TTL) in the column, if the block has one. */
  setSize(seq: number, size: number, ttl: boolean): void {
    let column = this.sizes;
    if (column === null) return;
    const i = seq - this.first;
    if (i >= column.length) {
      const grown = new Uint32Array(Math.max(i + 1, column.length * 2));
      grown.set(column);
      column = grown;
      this.sizes = grown;
    }
    // A size past SIZE_MAX is left unknown (0): the removal reads the record then.
    column[i] = size > SIZE_MAX ? 0 : ttl ? size | SIZE_TTL : size;
  }

  /**
   * setSubjectId and setSize at once, for an append to a block started
   * under limits: one call and one bounds check on a path taken per message.
   */
  setColumns(seq: number, id: number, size: number, ttl: boolean): void {
    const i = seq - this.first;
    const ids = this.subjectIds;
    const sizes = this.sizes;
    if (ids === null || sizes === null || i >= ids.length || i >= sizes.length) {
      this.setSubjectId(seq, id);
      this.setSize(seq, size, ttl);
      return;
    }
    ids[i] = id;
    sizes[i] = size > SIZE_MAX ? 0 : ttl ? size | SIZE_TTL : size;
    if (this.subjectIdSet !== null && !this.subjectIdSet.has(id)) {
      this.subjectIdSet.add(id);
      this.lastMatch = null;
    }
  }

  /** False when no message of the block can match the filter whose subject ids are `bits`. */
  mayMatch(bits: Uint8Array): boolean {
    const ids = this.subjectIdSet;
    if (ids === null) return true;
    if (this.lastMatch?.bits === bits) return this.lastMatch.any;
    let any = false;
    for (const id of ids) {
      if (id < bits.length && bits[id] === 1) {
        any = true;
        break;
      }
    }
    this.lastMatch = { bits, any };
    return any;
  }

  /** A message record at `offset` of `length` bytes. */
  appendMessage(seq: number, offset: number, length: number): void {
    this.place(seq, offset);
    this.msgs++;
    this.bytes += length;
  }

  /**
   * `count` message records at `seq`, `seq + 1`, … (restore's bulk path,
   * bulk-load.ts), their offsets and lengths at `list[at]`, `list[at + 1]`,
   * then every `stride` entries; returns their bytes.
   */
  appendMessageRun(
    seq: number,
    count: number,
    list: Uint32Array,
    at: number,
    stride: number,
  ): number {
    this.place(seq, list[at]);
    const index = this.ensureIndexRoom(seq + count - this.first);
    const base = seq - this.first;
    let bytes = list[at + 1];
    for (let i = 1, m = at + stride; i < count; i++, m += stride) {
      index[base + i] = list[m];
      bytes += list[m + 1];
    }
    this.last = seq + count - 1;
    this.msgs += count;
    this.bytes += bytes;
    return bytes;
  }

  /** A skip record ending at `seq`: everything from the current end through `seq` is skipped. */
  appendSkip(seq: number): void {
    const from = this.hasRange ? this.last + 1 : seq;
    this.place(seq, NO_RECORD);
    this.deleted.addRange(from, seq);
  }

  /** An erased message record: it keeps its place but is not a message. */
  appendErased(seq: number, offset: number): void {
    this.place(seq, offset);
    this.deleted.add(seq);
  }

  /** Indexes an already-counted record (the trusted part of a block being replayed). */
  indexRecord(seq: number, offset: number): void {
    if (seq < this.first || seq > this.last) return;
    this.ensureIndexRoom(this.last - this.first + 1)[seq - this.first] = offset;
  }

  /** Records that a tombstone naming `from`…`to` lives in this block. */
  noteTombstone(from: number): void {
    this.tombstones++;
    if (from < this.lowestTombstone) this.lowestTombstone = from;
  }

  private ensureIndexRoom(size: number): Uint32Array {
    let index = this.offsets;
    // Unset entries read NO_RECORD: a trusted record that failed verification is never indexed.
    if (index === null) {
      index = new Uint32Array(Math.max(1024, size)).fill(NO_RECORD);
      this.offsets = index;
    } else if (index.length < size) {
      const grown = new Uint32Array(Math.max(size, index.length * 2)).fill(NO_RECORD);
      grown.set(index);
      index = grown;
      this.offsets = index;
    }
    return index;
  }

  /** The record offset of `seq`, NO_RECORD, or -1 when the index is not built. */
  offsetOf(seq: number): number {
    if (this.offsets === null) return -1;
    return this.offsets[seq - this.first];
  }

  contains(seq: number): boolean {
    return seq >= this.first && seq <= this.last;
  }

  isLive(seq: number): boolean {
    return this.contains(seq) && !this.deleted.has(seq);
  }

  /** The lowest live sequence at or after `from`, or 0. */
  nextLive(from: number): number {
    let seq = Math.max(from, this.first);
    if (seq > this.last) return 0;
    if (!this.deleted.has(seq)) return seq;
    seq = this.deleted.nextAbsent(seq);
    return seq <= this.last ? seq : 0;
  }

  /** The highest live sequence at or before `from`, or 0. */
  prevLive(from: number): number {
    let seq = Math.min(from, this.last);
    while (seq >= this.first) {
      if (!this.deleted.has(seq)) return seq;
      seq--;
    }
    return 0;
  }

  /** Ends the block at `seq` (a truncate): later sequences are forgotten, not deleted. */
  cutAfter(seq: number): void {
    const kept = new SequenceSet();
    for (const [lo, hi] of this.deleted.runs()) {
      if (lo > seq) break;
      kept.addRange(lo, Math.min(hi, seq));
    }
    this.deleted.dispose();
    this.deleted = kept;
    // Sequences past `seq` are handed out again, maybe to records no append sizes.
    this.sizes?.fill(0, Math.max(seq - this.first + 1, 0));
    this.last = seq;
  }

  /** Replaces the deleted set with one decoded from a checkpoint. */
  restoreDeleted(encoded: Uint8Array): void {
    // Most blocks have none: the empty set's encoding (version 1, no runs) decodes to what is held.
    if (encoded.length === 2 && encoded[0] === 1 && encoded[1] === 0 && this.deleted.size === 0)
      return;
    const restored = SequenceSet.decode(encoded);
    this.deleted.dispose();
    this.deleted = restored;
  }

  /** Set once the block has left the store (its memory is freed). */
  disposed = false;

  dispose(): void {
    this.disposed = true;
    this.handle?.close();
    this.handle = null;
    this.deleted.dispose();
    this.offsets = null;
  }
}
