/**
 * Removals: a tombstone first, then the drop from every count (message,
 * byte, subject and TTL accounting), so a removal that cannot be written
 * changes nothing. Removals from the head for a limit share one range
 * tombstone per write-out, and a message whose block keeps a subject-id
 * column and sits in memory is dropped without decoding its record. Leading
 * blocks left empty are unlinked, in the background, once a range tombstone
 * through the new head is durable: the tombstones that emptied them may sit
 * in blocks unlinked with them.
 */
import {
  REC_FLAG_TTL,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_LENGTH,
  REC_OFF_SEQ,
  REC_OFF_TS,
} from "../format.ts";
import type { EngineView } from "../stream-policy.ts";
import type { StoredMsg } from "../types.ts";
import { getCore } from "../wasm/core.ts";
import { type Block, NO_RECORD, SIZE_MAX, SIZE_TTL } from "./block.ts";
import { BulkLoads } from "./bulk-load.ts";
import { isLost, unlessLost } from "./damage.ts";
import { decodedTsHigh, decodedTsLow, decodeFields, readSubject } from "./message-reader.ts";
import { resolved } from "./queries.ts";
import type { RecordLocation } from "./record-location.ts";
import { NO_SUBJECT, type SubjectEntry, SubjectTotals } from "./subject-totals.ts";

/**
 * Skips that would stretch a block over more sequences than this start a new
 * one: a block's offset index takes 4 bytes per sequence it spans, and many
 * short skips would otherwise grow it by gigabytes within one block file.
 */
const TWO_32 = 0x1_0000_0000;

export abstract class Removals extends BulkLoads {
  /** @internal */
  protected remove(seq: number, erase: boolean): boolean {
    const block = this.findBlock(seq);
    if (block === undefined || !block.isLive(seq)) return false;
    this.removalWatches.removing(seq, seq);
    const at = erase ? -1 : this.peekInMemory(block, seq);
    if (at >= 0) {
      const view = getCore().view;
      const size = view.getUint32(at + REC_OFF_LENGTH, true);
      const flags = view.getUint8(at + REC_OFF_FLAGS);
      // The tombstone first: if there is no room for it, nothing has changed.
      const hi = view.getInt32(at + REC_OFF_TS + 4, true);
      this.appendTombstoneAt(seq, 1, hi, view.getUint32(at + REC_OFF_TS, true), false);
      this.dropPeeked(block, seq, size, flags);
      if (seq === this.firstSeq) this.moveFirstPast(block, seq);
      if (this.options.syncAlways) this.commitTombstones();
      return true;
    }
    const record = this.recordInfo(block, seq);
    if (record === null) this.appendTombstone(seq, 1, this.lastTs, false);
    else this.appendTombstoneAt(seq, 1, record.tsHi, record.tsLo, false);
    if (record === null) this.dropLost(block, [seq]);
    else this.dropRecord(block, seq, record);
    // A lost record's extent is unknown (see damage.ts): it cannot be overwritten.
    const erasing = erase && record !== null;
    if (erasing) {
      const { offset, tsHi, tsLo } = record;
      this.pendingErases.push({ block, seq, offset, ts: (BigInt(tsHi) << 32n) + BigInt(tsLo) });
    }
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

  /** The store as the limit rules see it (stream-policy.ts). @internal */
  protected limitedView(): EngineView {
    return {
      subjectCount: (subject) => this.subjects.get(subject)?.msgs ?? 0,
      subjectOldestSize: (subject) => this.oldestSizeOf(subject),
      removeOldest: () => this.removeHead(),
      trimSubject: (subject, keep, entry) =>
        this.trimSubject(subject, keep, entry as SubjectEntry | undefined),
      oldestTimestamp: () => (this.msgs === 0 ? null : this.firstTimestamp()),
      nextLive: (seq) => this.nextLiveSeq(seq),
      timestampOf: (seq) => this.ageTimestampOf(seq),
      removeSeq: (seq) => this.removeForLimit(seq),
    };
  }

  /** The message an expiry removes, read first for `onExpire` or a marker; null when damage took it. @internal */
  protected readForExpiry(which: number | "first"): StoredMsg | null {
    // Exactly the message the expiry removes: a scan from the first would skip a lost one.
    const seq = which === "first" ? this.firstSeq : which;
    const block = this.findBlock(seq);
    if (block === undefined) return this.loadMsg(seq);
    return unlessLost(block, seq, () => this.loadMsg(seq));
  }

  /** After removing the first message `seq` of `block`: the next live one is usually `seq + 1`. @internal */
  protected moveFirstPast(block: Block, seq: number, dropEmpty = true): void {
    const next = seq + 1;
    if (block.contains(next) && !block.deleted.has(next)) this.firstSeq = next;
    else this.recomputeFirst();
    if (dropEmpty && block.msgs === 0) this.dropEmptyHeadBlocks();
  }

  /**
   * The first live message on `subject`. A stale first is found from the
   * subject-id columns when every block to search has one (no record is
   * read), else by reading subjects.
   * @internal
   */
  protected firstOf(subject: string, entry: SubjectEntry): number {
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

  /**
   * Removes the oldest messages on `subject` until `keep` are left, for a
   * per-subject limit, finding the subject once (not at all when the append
   * that counted it hands its entry over). The oldest is often the
   * stream's first, as the head block's subject-id column tells without a
   * search; its removal then joins the head range tombstone.
   * @internal
   */
  protected trimSubject(subject: string, keep: number, known?: SubjectEntry): void {
    let entry = known ?? this.subjects.get(subject);
    while (entry !== undefined && entry.msgs > keep) {
      const totals = this.subjects;
      this.removeOldestOf(subject, entry);
      // Damage found by the removal rebuilds the totals (dropLost): the entry is another one then.
      if (this.subjects !== totals) entry = this.subjects.get(subject);
    }
  }

  /**
   * The accounted bytes of the oldest message on `subject` (which has one):
   * discard new's question at the subject limit, whether the room that
   * message gives back is enough. From the block's size column, else its
   * record; a lost record gives back nothing anyone can count on.
   * @internal
   */
  protected oldestSizeOf(subject: string): number {
    const seq = this.firstOf(subject, this.subjects.get(subject) as SubjectEntry);
    const block = this.findBlock(seq) as Block;
    const i = seq - block.first;
    const sizes = block.sizes;
    const sized = sizes !== null && i < sizes.length ? sizes[i] & SIZE_MAX : 0;
    if (sized !== 0) return sized;
    return this.recordInfo(block, seq)?.length ?? Number.POSITIVE_INFINITY;
  }

  /** Removes the oldest message on `subject`, whose entry is `entry`. @internal */
  protected removeOldestOf(subject: string, entry: SubjectEntry): void {
    const seq = this.firstSeq;
    const head = this.blocks[0];
    const ids = head?.contains(seq) ? head.subjectIds : null;
    if (entry.id !== undefined && ids !== null && ids[seq - head.first] === entry.id) {
      this.removeHead();
    } else {
      this.removeForLimit(this.firstOf(subject, entry));
    }
  }

  /** Removes a message for a limit or an expiry: from the head with a shared range tombstone when it is first. @internal */
  protected removeForLimit(seq: number): void {
    if (seq === this.firstSeq) this.removeHead();
    else this.remove(seq, false);
  }

  /**
   * Removes the first message for a limit. Its tombstone is folded into one
   * range tombstone ("everything through seq") written just before the next
   * write-out, so a discard-old stream writes one per flush, not one per
   * message; as durable as any write once a sync round covers it.
   * @internal
   */
  protected removeHead(): void {
    if (this.options.syncAlways) {
      this.remove(this.firstSeq, false);
      return;
    }
    const seq = this.firstSeq;
    const head = this.blocks[0];
    const block = head?.contains(seq) ? head : this.findBlock(seq);
    if (block === undefined) return;
    this.removalWatches.removing(seq, seq);
    const i = seq - block.first;
    const sizes = block.sizes;
    const ids = block.subjectIds;
    const sized = sizes !== null && i < sizes.length ? sizes[i] : 0;
    const columns = sized !== 0 && ids !== null && ids[i] !== NO_SUBJECT;
    // The usual case, the next of a run of head removals: one step, with
    // `seq` known live and `seq + 1` known not removed (addAtHead).
    if (columns && block.deleted.addAtHead(seq)) {
      this.dropSized(block, seq, ids[i], sized);
      if (seq < block.last) this.firstSeq = seq + 1;
      else this.recomputeFirst();
    } else {
      if (block.deleted.has(seq)) return;
      if (columns) {
        block.deleted.add(seq);
        this.dropSized(block, seq, ids[i], sized);
      } else {
        this.dropHeadRecord(block, seq);
      }
      this.moveFirstPast(block, seq, false);
    }
    this.headRemovedThrough = seq;
    if (block.msgs === 0) this.dropEmptyHeadBlocks();
    // Make sure a write-out (and with it the tombstone) follows soon.
    if (this.flushTimer === null) this.afterWrite();
  }

  /** Takes `seq`, marked removed in `block`, out of every count, from its columns' entries. @internal */
  protected dropSized(block: Block, seq: number, id: number, sized: number): void {
    this.subjects.removeById(id, seq);
    const size = sized & SIZE_MAX;
    block.msgs--;
    block.bytes -= size;
    this.policy.removed(seq, size, (sized & SIZE_TTL) !== 0);
  }

  /** removeHead's way for a message whose size the block's columns do not hold: from its record. @internal */
  protected dropHeadRecord(block: Block, seq: number): void {
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
  }

  /**
   * The address in core memory of live message `seq`'s record, when it can
   * be removed without decoding the record (-1 otherwise, and the caller
   * decodes): its block keeps a subject-id column and its bytes are in
   * memory. Size, flags and time are then read from the fixed header (the
   * sequence checked) and the subject comes from the column (dropPeeked).
   * @internal
   */
  protected peekInMemory(block: Block, seq: number): number {
    const ids = block.subjectIds;
    if (ids === null) return -1;
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) return -1;
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

  /** Takes a message found by peekInMemory out of every count. @internal */
  protected dropPeeked(block: Block, seq: number, size: number, flags: number): void {
    block.deleted.add(seq);
    this.subjects.removeById((block.subjectIds as Uint32Array)[seq - block.first], seq);
    this.uncount(block, seq, size, flags);
  }

  /** Takes the live message `seq` out of every count; returns where its record is and its time. @internal */
  protected dropMessage(block: Block, seq: number): RecordInfo | null {
    const record = this.recordInfo(block, seq);
    if (record === null) this.dropLost(block, [seq]);
    else this.dropRecord(block, seq, record);
    return record;
  }

  /**
   * Where the record of live message `seq` is, its time, subject and size;
   * null for a message whose record damage swallowed (see damage.ts).
   * @internal
   */
  protected recordInfo(block: Block, seq: number): RecordInfo | null {
    // Not unlessLost: no closure per removal.
    let at: RecordLocation;
    try {
      at = this.recordPtr(block, seq);
    } catch (err) {
      if (isLost(err, block, seq)) return null;
      throw err;
    }
    const { ptr, available, offset } = at;
    const f = decodeFields(ptr, available, block.path, offset, at.trusted !== null);
    const subject = readSubject(f.subjectAt, f.subjectLen, f.subjectSlot);
    const tsHi = decodedTsHigh();
    return { offset, tsHi, tsLo: decodedTsLow(), subject, length: f.length, flags: f.flags };
  }

  /** @internal */
  protected dropRecord(block: Block, seq: number, record: RecordInfo): void {
    block.deleted.add(seq);
    this.subjects.remove(record.subject, seq);
    this.uncount(block, seq, record.length, record.flags);
  }

  /** Takes a removed message's record out of the counts and its TTL out of the wheel. @internal */
  protected uncount(block: Block, seq: number, size: number, flags: number): void {
    block.msgs--;
    block.bytes -= size;
    this.policy.removed(seq, size, (flags & REC_FLAG_TTL) !== 0);
  }

  /** Writes the range tombstone of the head removals made since the last one. @internal */
  protected flushHeadRemovals(): void {
    const through = this.headRemovedThrough;
    if (through === 0) return;
    this.headRemovedThrough = 0;
    try {
      this.appendTombstone(through, through, this.lastTs);
    } catch (err) {
      // Owed still: the round that would unlink emptied blocks without it fails on this first.
      this.headRemovedThrough = Math.max(this.headRemovedThrough, through);
      throw err;
    }
  }

  /** Removes every live message of `block` in [from, to] from the counts (no tombstone). @internal */
  protected dropLive(block: Block, from: number, to: number): void {
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
   * @internal
   */
  protected dropLost(block: Block, seqs: number[]): void {
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
      // Whether it had a TTL is in the record damage took: forget one it may have had,
      // or an expiry watched by `onExpire` or markers would read it after the removal.
      this.policy.removed(seq, share, true);
    }
    this.rebuildSubjectTotals();
  }

  /** Subject totals from the verified records of every live message; subject-id caches restart. @internal */
  protected rebuildSubjectTotals(): void {
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

  /** @internal */
  protected recomputeFirst(): void {
    // No message lives below the current first: searching from it, not from
    // each block's start, keeps removing the head (discard old) O(1).
    const seq = this.nextLiveSeq(this.firstSeq);
    this.firstSeq = seq === 0 ? this.lastSeq + 1 : seq;
  }

  /** Deletes files of leading blocks with no live message (checkpoint first, then files). @internal */
  protected dropEmptyHeadBlocks(): void {
    let n = 0;
    while (n < this.blocks.length - 1 && this.blocks[n].msgs === 0) n++;
    if (n === 0) return;
    const gone = this.blocks.slice(0, n);
    this.blocks = this.blocks.slice(n);
    for (const b of gone) {
      this.cache.drop(b.n);
      this.files.release(b.n);
      b.dispose();
    }
    // The tombstones that emptied a block may sit in a block dropped with it,
    // and a checkpoint older than both still lists the first: one range
    // tombstone through the new head, in the active block, says for all of
    // them that what they held was removed, not lost. It is written before
    // the round that unlinks them fsyncs (flushHeadRemovals).
    this.headRemovedThrough = Math.max(this.headRemovedThrough, this.firstSeq - 1);
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
   * @internal
   */
  protected unlinkInBackground(blocks: Block[]): void {
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

  /** Removes the files of emptied head blocks; their tombstones are durable by now. @internal */
  protected unlinkEmptied(blocks: Block[]): void {
    for (const b of blocks) this.fs.remove(b.path);
    if (blocks.length > 0) this.dirDirty = true;
  }
}

/** @internal */
export interface RecordInfo {
  offset: number;
  /** The timestamp's halves: high signed, low unsigned. */
  tsHi: number;
  tsLo: number;
  subject: string;
  length: number;
  flags: number;
}
