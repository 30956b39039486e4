/**
 * Reads: from a sequence to its record. The active block's bytes are the
 * write buffer; a sealed block's come back from its file (block-file.ts)
 * whole through the block cache, or one record at a time when the block is
 * indexed but would evict another (uniform random reads over a store larger
 * than the cache). Filtered scans use a per-block subject-id column and
 * summary, so a block none of whose subjects match is skipped without
 * reading a record. A record that damage swallowed is skipped by scans and
 * reported by loadMsg (see damage.ts).
 */
import type { JetStoreError } from "../errors.ts";
import {
  REC_FLAG_HDR,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
} from "../format.ts";
import type { RecordWriter } from "../snapshot/record-writer.ts";
import type { ArchivedMsg } from "../snapshot/types.ts";
import {
  Action,
  lostToDamage,
  noLastMatch,
  noMatchFrom,
  noMessageAt,
  nothingBefore,
  type StreamRange,
} from "../store-errors.ts";
import {
  compileFilter,
  filterMatches,
  filterTokens,
  matchesAll,
  subjectMatches,
} from "../subject-match.ts";
import type { StoredMsg } from "../types.ts";
import { getCore } from "../wasm/core.ts";
import { type Block, NO_RECORD } from "./block.ts";
import type { CachedBlock } from "./block-cache.ts";
import { loadBlock } from "./block-load.ts";
import { isLost, missingRecord, unlessLost } from "./damage.ts";
import {
  decodeFields,
  readArchived,
  readMessage,
  readSubject,
  readVerified,
} from "./message-reader.ts";
import { located, type RecordLocation } from "./record-location.ts";
import { blockPath } from "./recovery.ts";
import { runMessage } from "./scan-run.ts";
import { FileStoreBase } from "./store-base.ts";
import { fillSubjectColumn } from "./subject-column.ts";
import { lastRecordOffset } from "./tail-record.ts";

export abstract class BlockReads extends FileStoreBase {
  /** The cache entry a read found last, and its block: a scan's next read starts there. */
  private passed: CachedBlock | null = null;
  private passedBlock: Block | null = null;

  /** Live messages in [from, to] (ascending) or [to, from] (descending) with their subjects. @internal */
  protected scanLive(
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

  /** @internal */
  protected *blocksFrom(seq: number): Generator<Block> {
    for (let i = this.blockIndexAtOrAfter(seq); i < this.blocks.length; i++) {
      if (this.blocks[i].msgs > 0) yield this.blocks[i];
    }
  }

  /**
   * The block's subject-id column (see Block.subjectIds), built on first
   * use from its bytes (subject-column.ts).
   * @internal
   */
  protected subjectColumn(block: Block, pass = false): Uint32Array {
    if (block.subjectIds !== null) return block.subjectIds;
    // The active block's records were sealed here or verified by open's scan of it (recovery.ts).
    const bytes =
      block === this.active
        ? { ptr: this.buffer.ptr, length: this.buffer.used, verified: true }
        : loadBlock(this.files, this.cache, block, pass);
    return fillSubjectColumn(block, bytes, this.subjects, this.idsByHash);
  }

  /** Which subject ids a filter matches, kept until ids change. @internal */
  protected matchBits(filter: string, wildcard: boolean): Uint8Array {
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

  /**
   * Calls `visit` for each live message in [low, high] on one of
   * `subjects`, ascending or descending, until it returns false: by the
   * blocks' subject-id columns, skipping blocks none of whose subjects match
   * (the multi-filter queries, for subjects the index cannot answer alone).
   * @internal
   */
  protected scanMatching(
    low: number,
    high: number,
    ascending: boolean,
    subjects: readonly string[],
    visit: (seq: number) => boolean,
  ): void {
    if (low > high) return;
    let bits: Uint8Array | null = null;
    let generation = -1;
    const first = this.blockIndexAtOrAfter(Math.max(low, this.firstSeq));
    const last = Math.min(this.blockIndexAtOrAfter(high), this.blocks.length - 1);
    for (let n = 0; n <= last - first; n++) {
      const block = this.blocks[ascending ? first + n : last - n];
      if (block.msgs === 0) continue;
      const column = this.subjectColumn(block);
      // Building a column may give subjects new ids: bits made before miss them.
      if (bits === null || generation !== this.subjects.generation) {
        bits = this.subjects.bitsOf(subjects);
        generation = this.subjects.generation;
      }
      if (!block.mayMatch(bits)) continue;
      const from = ascending ? Math.max(low, block.first) : Math.min(high, block.last);
      for (
        let seq = ascending ? block.nextLive(from) : block.prevLive(from);
        seq !== 0 && seq >= low && seq <= high;
        seq = ascending ? block.nextLive(seq + 1) : block.prevLive(seq - 1)
      ) {
        const id = column[seq - block.first];
        if (id < bits.length && bits[id] === 1 && !visit(seq)) return;
      }
    }
  }

  /** The runs of sequences between first and last that hold no message, ascending. @internal */
  protected *deletedRuns(): Generator<[number, number]> {
    if (this.msgs === 0) return;
    let expect = this.firstSeq;
    for (const b of this.blocks) {
      if (!b.hasRange || b.last < this.firstSeq) continue;
      if (expect < b.first) yield [expect, b.first - 1];
      for (const [lo, hi] of b.deleted.runs(Math.max(b.first, this.firstSeq))) {
        if (lo <= this.lastSeq) yield [lo, Math.min(hi, this.lastSeq)];
      }
      expect = b.last + 1;
    }
    if (expect <= this.lastSeq) yield [expect, this.lastSeq];
  }

  /** The first live sequence at or after `seq`, or 0. @internal */
  protected nextLiveSeq(seq: number): number {
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

  /**
   * Bytes of `block` in core memory: the write buffer for the active block,
   * else the cache (`pass`: see loadBlock). @internal
   */
  protected bytesOf(block: Block, pass = false): { ptr: number; length: number } {
    if (block === this.active) return { ptr: this.buffer.ptr, length: this.buffer.used };
    return loadBlock(this.files, this.cache, block, pass);
  }

  /**
   * Where `seq`'s record is in core memory. The result is one object reused
   * by every call (a read per message allocated one each): use it before
   * the next read.
   * @internal
   */
  protected recordPtr(block: Block, seq: number, pass = false): RecordLocation {
    const last = this.passed;
    if (pass && last !== null && block === this.passedBlock && last.held) {
      // A scan's next record in the block it read last: no cache lookups.
      const offset = block.offsetOf(seq);
      if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
      return located(last.ptr + offset, last.length - offset, offset, last.verified ? last : null);
    }
    if (this.readsDirectly(block)) return this.readRecordDirect(block, seq);
    if (seq === block.last && block.offsets === null && !this.cache.holds(block.n)) {
      // Not read since open (recovery.ts leaves a large last block unread): its newest
      // message is found from the end instead of indexing the whole block.
      const offset = lastRecordOffset(this.files, block, this.scratch);
      if (offset !== NO_RECORD) {
        return located(this.scratch.ptr, block.written - offset, offset, null);
      }
    }
    let ptr: number;
    let length: number;
    let trusted: CachedBlock | null = null;
    if (block === this.active) {
      ptr = this.buffer.ptr;
      length = this.buffer.used;
    } else {
      const cached = loadBlock(this.files, this.cache, block, pass);
      ptr = cached.ptr;
      length = cached.length;
      if (cached.verified) trusted = cached;
      this.passed = cached;
      this.passedBlock = block;
    }
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
    return located(ptr + offset, length - offset, offset, trusted);
  }

  /**
   * A sealed, already indexed block that is not cached and would evict
   * another block: one record is read instead of the whole block. Uniform
   * random reads over a store larger than the cache would otherwise read a
   * whole block per message; scans still load whole blocks while they fit.
   * @internal
   */
  protected readsDirectly(block: Block): boolean {
    return (
      block !== this.active &&
      block.offsets !== null &&
      !this.cache.holds(block.n) &&
      !this.cache.fits(block.written)
    );
  }

  /** @internal */
  protected readRecordDirect(block: Block, seq: number): RecordLocation {
    const offset = block.offsetOf(seq);
    if (offset === NO_RECORD) throw missingRecord(block, seq);
    // Read first: the scratch area may move as it grows.
    const available = this.files.readRecord(block, offset, this.scratch);
    return located(this.scratch.ptr, available, offset, null);
  }

  /**
   * `ahead`: a scan, whose blocks are a pass (loadBlock) and whose copies are
   * served from runs (scan-run.ts) unless `fromRuns` says otherwise.
   * @internal
   */
  protected readAt(block: Block, seq: number, ahead = false, fromRuns = ahead): StoredMsg {
    if (!ahead && !fromRuns && block !== this.active) {
      // What recordPtr and readMessage do for a verified cached block, in fewer steps.
      const hit = this.cache.get(block.n);
      if (hit?.verified) {
        this.passed = hit;
        this.passedBlock = block;
        const offset = block.offsetOf(seq);
        if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
        return readVerified(hit.ptr + offset, hit.length - offset, block.path, offset);
      }
    }
    const { ptr, available, offset, trusted } = this.recordPtr(block, seq, ahead);
    return readMessage(ptr, available, block.path, offset, trusted, fromRuns);
  }

  /** The live message `seq`, which the index names; null when lost to damage: reads skip it. @internal */
  protected indexedMessage(seq: number): StoredMsg | null {
    const block = this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) throw this.noMessageAt(Action.loadMsg, seq);
    return this.readLive(block, seq);
  }

  /** The live message `seq` with its TTL, for a snapshot; null when removed or lost. @internal */
  protected archiveRecord(seq: number): ArchivedMsg | null {
    const block = this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) return null;
    return unlessLost(block, seq, () => {
      // A snapshot is a pass over the store (see loadBlock).
      const { ptr, available, offset } = this.recordPtr(block, seq, true);
      return readArchived(ptr, available, block.path, offset);
    });
  }

  /** Writes the live message `seq` into a snapshot's frame straight from core memory; false when lost. @internal */
  protected archiveInto(seq: number, out: RecordWriter): boolean {
    const block = this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) return false;
    const written = unlessLost(block, seq, () => {
      const { ptr, available, offset } = this.recordPtr(block, seq, true);
      const f = decodeFields(ptr, available, block.path, offset);
      const hdrLen = f.flags & REC_FLAG_HDR ? f.hdrLen : -1;
      const mem = getCore().u8;
      out.addRecord(mem, seq, ptr + REC_OFF_TS, f.ttl, f.subjectAt, f.subjectLen, hdrLen, f.msgLen);
      return true;
    });
    return written === true;
  }

  /** A live message, or null when its record failed verification (lost, see damage.ts): reads skip it. @internal */
  protected readLive(block: Block, seq: number, ahead = false, fromRuns = ahead): StoredMsg | null {
    // unlessLost inlined: a closure per message was a scan's largest allocation after the message.
    try {
      return this.readAt(block, seq, ahead, fromRuns);
    } catch (err) {
      if (isLost(err, block, seq)) return null;
      throw err;
    }
  }

  /** The subject of a live message, or null when its record failed verification (lost, see damage.ts). @internal */
  protected liveSubjectAt(block: Block, seq: number): string | null {
    return unlessLost(block, seq, () => this.subjectAt(block, seq));
  }

  /** @internal */
  protected subjectAt(block: Block, seq: number): string {
    const peeked = this.peekSubject(block, seq);
    if (peeked !== null) return peeked;
    const { ptr, available, offset } = this.recordPtr(block, seq);
    const f = decodeFields(ptr, available, block.path, offset);
    return readSubject(f.subjectAt, f.subjectLen, f.subjectSlot);
  }

  /**
   * The subject of a record already in core memory, read from its header
   * without verifying the checksum: filters test many records and return
   * few, and a returned message is verified when it is read. Null when the
   * block is not in memory or the header does not fit the block.
   * @internal
   */
  protected peekSubject(block: Block, seq: number): string | null {
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

  /** Where the stream stands, for "no message" errors. @internal */
  protected range(): StreamRange {
    return { msgs: this.msgs, first: this.firstSeq, last: this.lastSeq };
  }

  /** Nothing is at `seq`: lost to damage if open reported it so (state().lost), else removed or never stored. @internal */
  protected noMessageAt(action: string, seq: number): JetStoreError {
    for (const d of this.lost?.damaged ?? []) {
      if (d.msgs.includes(seq)) {
        const where = { file: blockPath(this.dir, d.block), offset: d.offset };
        return lostToDamage("ErrStoreMsgNotFound", seq, where);
      }
    }
    return noMessageAt(action, seq, this.range());
  }

  /** Where the last nextMessage read: a scan's next call most often starts in the same block. */
  private lastNextBlock = 0;

  /** blockIndexAtOrAfter(seq), trying the block of the last nextMessage first (checked, so never stale). */
  private nextBlockIndex(seq: number): number {
    const blocks = this.blocks;
    const i = this.lastNextBlock;
    if (i < blocks.length && blocks[i].last >= seq && (i === 0 || blocks[i - 1].last < seq)) {
      return i;
    }
    return this.blockIndexAtOrAfter(seq);
  }

  /**
   * A scan's next message, when it comes from the run of the block the scan
   * read last (the usual call of a scan over all subjects): the block search,
   * the cache lookups and the record's location taken by nextMessage's way
   * were a fifth of such a scan's time. Null when that way must answer.
   */
  private nextInRun(start: number): StoredMsg | null {
    const block = this.passedBlock;
    const entry = this.passed;
    if (block === null || entry === null || !entry.held || !entry.verified) return null;
    if (block !== this.blocks[this.lastNextBlock] || block === this.active) return null;
    if (start < block.first || start < this.firstSeq) return null;
    const seq = block.nextLive(start);
    if (seq === 0) return null;
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) return null;
    return runMessage(entry, offset);
  }

  /** The first live message at or after `start` matching `filter` (loadNextMsg). @internal */
  protected nextMessage(filter: string, wildcard: boolean, start: number): StoredMsg {
    const all = matchesAll(filter);
    if (all) {
      const msg = this.nextInRun(start);
      if (msg !== null) return msg;
    }
    if (!all && !wildcard && this.subjects.get(filter) === undefined) {
      throw noMatchFrom(filter, start, this.range());
    }
    let i = this.nextBlockIndex(Math.max(start, this.firstSeq));
    for (; i < this.blocks.length; i++) {
      const block = this.blocks[i];
      if (block.msgs === 0) continue;
      this.lastNextBlock = i;
      const column = all ? null : this.subjectColumn(block, true);
      const bits = column === null ? null : this.matchBits(filter, wildcard);
      if (column !== null && bits !== null) {
        // Per-block subject summary: skip a block none of whose subjects match.
        if (!block.mayMatch(bits)) continue;
        const msg = this.nextMatchIn(block, column, bits, start);
        if (msg !== null) return msg;
        continue;
      }
      for (
        let seq = block.nextLive(Math.max(start, block.first));
        seq !== 0;
        seq = block.nextLive(seq + 1)
      ) {
        const msg = this.readLive(block, seq, true);
        if (msg !== null) return msg;
      }
    }
    throw noMatchFrom(filter, start, this.range());
  }

  /**
   * The first live message of `block` at or after `start` whose subject id
   * is set in `bits`, or null. The column is tested first, so only a match
   * is looked up in the deleted set (a filter matching one record in four
   * looked up every record).
   */
  private nextMatchIn(
    block: Block,
    column: Uint32Array,
    bits: Uint8Array,
    start: number,
  ): StoredMsg | null {
    const first = block.first;
    // Appends keep the column up to the block's last message; skips after it have none.
    const end = Math.min(block.last - first + 1, column.length);
    for (let i = Math.max(start, first) - first; i < end; i++) {
      const id = column[i];
      if (id >= bits.length || bits[id] !== 1) continue;
      const seq = first + i;
      if (block.deleted.has(seq)) {
        // Removed messages keep their ids: a removed run is passed in one step.
        i = block.deleted.nextAbsent(seq) - first - 1;
        continue;
      }
      // Copying ahead pays where matches follow one another; a match further on is copied
      // alone (copying ahead for W4b's one match in four copied mostly bytes never returned).
      const msg = this.readLive(block, seq, true, seq === start);
      if (msg !== null) return msg;
    }
    return null;
  }

  /** The newest live message matching `subject`, a filter (loadLastMsg). @internal */
  protected lastMessage(subject: string): StoredMsg {
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

  /** The newest live message at or before `start` (loadPrevMsg). @internal */
  protected prevMessage(start: number): StoredMsg {
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
}
