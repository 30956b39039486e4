/**
 * What open learns while it replays blocks: the blocks and their counts,
 * subject totals, the highest sequence, every sequence a tombstone removed,
 * and what damage took (the `lost` report). recovery.ts drives it, block by
 * block, from the checkpoint and the files.
 */
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
import { type Block, NO_RECORD } from "./block.ts";
import type { BlockCache } from "./block-cache.ts";
import type { BlockFiles } from "./block-file.ts";
import { loadBlock } from "./block-load.ts";
import { type ScannedRecord, scanBlock, subjectSpan } from "./block-scan.ts";
import type { BlockCheckpoint, Checkpoint } from "./checkpoint.ts";
import { damagedMessages } from "./damage.ts";
import { decodeFields, readSubject } from "./message-reader.ts";
import type { Recovered } from "./recovery.ts";
import { SubjectTotals } from "./subject-totals.ts";
import { tombstoneCount } from "./tombstone.ts";
import { finishedErase, type TornErase, tornEraseSeq } from "./torn-erase.ts";
import type { WriteBuffer } from "./write-buffer.ts";

export class Recovery {
  readonly blocks: Block[] = [];
  readonly subjects = new SubjectTotals();
  readonly lostSeqs = new Set<number>();
  lostBytes = 0;
  /** Damaged records that an erase was writing when a crash tore it (torn-erase.ts). */
  private readonly tornErases: TornErase[] = [];
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
  private readonly files: BlockFiles;
  private readonly cache: BlockCache;
  private readonly ttls: MessageTtls;

  constructor(
    files: BlockFiles,
    cache: BlockCache,
    checkpoint: Checkpoint | null,
    ttls: MessageTtls,
  ) {
    this.files = files;
    this.cache = cache;
    this.ttls = ttls;
    // Entries of messages removed since are dropped once every block is known (see recover).
    for (const [seq, at] of checkpoint?.ttls ?? []) ttls.schedule(seq, at);
    for (const seq of checkpoint?.never ?? []) ttls.add(seq, 0n, -1);
    this.lastSeq = checkpoint?.lastSeq ?? 0;
    // Without a checkpoint every record is replayed and counted as it is met.
    this.rebuildSubjects = false;
    this.keepNames = checkpoint !== null;
    if (checkpoint !== null) this.subjects.restore(checkpoint.subjects);
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
      ({ ptr, length } = loadBlock(this.files, this.cache, block));
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
      const stretch = this.noteDamage(block.n, offset, size);
      const seq = tornEraseSeq(ptr + offset, size);
      if (seq > 0) {
        const bytes = getCore().u8.slice(ptr + offset, ptr + offset + size);
        this.tornErases.push({ block, offset, seq, bytes, stretch });
      }
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

  /**
   * Finishes the erases a crash tore whose tombstones were replayed, through
   * `write` (torn-erase.ts writeFinishedErase: false when it cannot), and
   * takes them out of the damage report: the message was removed.
   */
  finishTornErases(write: (block: Block, offset: number, bytes: Uint8Array) => boolean): void {
    for (const t of this.tornErases) {
      const { stretch } = t;
      if (!this.tombstoned.has(t.seq)) continue;
      // Damage that took other messages too is more than this record.
      if (stretch.msgs.some((seq) => !this.tombstoned.has(seq))) continue;
      const bytes = finishedErase(t.bytes);
      if (bytes === null || !write(t.block, t.offset, bytes)) continue;
      this.damage.splice(this.damage.indexOf(stretch), 1);
      this.lostBytes -= stretch.bytes;
    }
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
      const { ptr, length } = loadBlock(this.files, this.cache, block);
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

  /**
   * Subjects of every live message, from scans or by reading trusted blocks;
   * `buffer` holds the last block unless open left it unread (null).
   */
  rebuildAllSubjects(buffer: WriteBuffer | null): void {
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
        block === active && buffer !== null
          ? { ptr: buffer.ptr, length: buffer.used }
          : loadBlock(this.files, this.cache, block);
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
      // A tombstone replayed for a counted record that failed verification (a torn
      // erase) took the message off without its bytes, which only this read knows.
      else block.bytes = liveBytes;
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
