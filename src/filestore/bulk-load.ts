/**
 * Restore's bulk path: the message records of a snapshot archive's Messages
 * frame, already in core memory, appended to the active block in runs. One
 * WASM call (assembly/archive.ts) writes a run of records straight into the
 * write buffer, the same bytes `WriteBuffer.append` would write, and lists
 * each record's offset, length and subject; this layer then does per message
 * only what `appendMessage` does to the store's memory (the block's offset
 * index and counts, the stream's counts, the subject's totals), with no
 * string, object or BigInt made per message: subjects are interned by the
 * core's hash of their bytes, checked byte for byte. Write-outs, block rolls
 * and their early fsyncs are the write path's own.
 *
 * It takes only what needs no decision: a message with no TTL at the next
 * sequence (a gap before it is skipped as `skipMsgs` would), in a store
 * without limits, age or pending TTLs, not `syncAlways`, not on interest
 * (whether a message is stored depends on the consumers). At any other record
 * it stops and says where; the caller writes that one through `storeRawMsg`
 * / `skipMsgs`, which check and refuse as always, and goes on.
 *
 * Snapshot's bulk path is here too (`archiveRun`): a run of a block's
 * records verified and written as archive records by one WASM call; with
 * the hooks a snapshot of the store reads and seals through.
 */
import { sameBytes } from "../bytes.ts";
import { BLOCK_HEADER_SIZE } from "../format.ts";
import { type ArchiveSealing, storeSealing } from "../snapshot/archive-seal.ts";
import type { RecordWriter } from "../snapshot/record-writer.ts";
import type { ArchiveReader } from "../snapshot/removal-watch.ts";
import { checkOpen, checkSubject } from "../validate.ts";
import { getCore } from "../wasm/core.ts";
import type { SubjectEntry } from "./subject-totals.ts";
import { BlockWrites } from "./writes.ts";

/** Records per WASM call: the size of the list it fills. */
const RUN = 4096;
const WORDS = 5;
const STOP_FULL = 1;
const STOP_OTHER = 2;
/** Not the core's: a subject the store refuses stopped the run. */
const STOP_REFUSED = 4;
const TWO_32 = 0x1_0000_0000;
/** The fixed part of an archive record (record-writer.ts RECORD_FIXED). */
const ARCHIVE_FIXED = 36;
const decoder = new TextDecoder("utf-8", { fatal: true });

let bulkPaths = true;

/** Turns both bulk paths on or off (tests compare them with the per-message paths); returns the previous. @internal */
export function setBulkPaths(on: boolean): boolean {
  const previous = bulkPaths;
  bulkPaths = on;
  return previous;
}

interface Interned {
  /** The subject's bytes, to check a hash's hit against. */
  bytes: Uint8Array;
  subject: string;
  entry: SubjectEntry;
}

export abstract class BulkLoads extends BlockWrites {
  /** Where the core lists the records of a run (RUN × WORDS u32), allocated on first use. @internal */
  private bulkMeta = 0;
  /** Subjects by hash, valid while nothing but this path changed the store (`bulkMark`). @internal */
  private readonly bulkSubjects = new Map<number, Interned>();
  /** lastSeq and message count when the last bulk call returned. @internal */
  private bulkMark = [-1, -1];
  /** Core memory of snapshot runs (archiveRun). @internal */
  private runPtr = 0;
  private runCapacity = 0;

  /** Writes a checkpoint a failed truncate owes before anything else changes (filestore.ts). @internal */
  protected abstract settleCheckpoint(): void;

  /** Tells the consumer layer of `count` messages stored from `first` on, as each `storeRawMsg` does. @internal */
  protected abstract bulkStored(first: number, count: number): void;

  /** Whether the bulk path may take messages now. @internal */
  protected bulkAllowed(): boolean {
    const policy = this.policy;
    return (
      bulkPaths &&
      !this.options.syncAlways &&
      policy.limits.retention !== "interest" &&
      policy.limited === null &&
      policy.limits.maxAgeMs === 0 &&
      policy.expiry.ttls.pending === 0
    );
  }

  /**
   * Restore's bulk path: appends the plain message records among the `len`
   * bytes of archive records at `src` in core memory, from offset `at`
   * (skipping gaps before them); adds to `out` the messages taken and the
   * last one's sequence; returns where it stopped (`len`: all taken).
   * @internal
   */
  appendArchived(
    src: number,
    len: number,
    at: number,
    out: { msgs: number; lastMsg: number },
  ): number {
    checkOpen(this.closed, "restore");
    this.settleCheckpoint();
    if (!this.bulkAllowed()) return at;
    return this.bulkAppend(src, len, at, out);
  }

  private bulkAppend(
    src: number,
    len: number,
    at: number,
    out: { msgs: number; lastMsg: number },
  ): number {
    const core = getCore();
    if (this.bulkMeta === 0) this.bulkMeta = core.alloc(RUN * WORDS * 4);
    const policy = this.policy;
    if (this.bulkMark[0] !== this.lastSeq || this.bulkMark[1] !== policy.msgs) {
      // Something else changed the store: a cached entry may have been dropped.
      this.bulkSubjects.clear();
    }
    const abi = core.abi;
    const result = abi.archiveResult();
    const meta = this.bulkMeta >>> 2;
    while (at < len) {
      const buffer = this.buffer;
      const first = this.lastSeq + 1;
      // The core writes up to a block: the buffer holds a header's room until the first record.
      buffer.ensure(Math.max(this.options.blockSize, buffer.used));
      const n = abi.archiveToBlock(
        src,
        len,
        at,
        buffer.ptr,
        buffer.used,
        Math.max(this.options.blockSize, buffer.used),
        first,
        this.bulkMeta,
        RUN,
      );
      const view = core.view;
      let why = view.getUint32(result + 8, true);
      at = view.getUint32(result, true);
      const used = view.getUint32(result + 4, true);
      if (n > 0) {
        const taken = this.indexRun(src, first, n);
        const u32 = core.u32;
        if (taken < n) {
          // A subject the store refuses: its record is taken back and left to the caller.
          const m = meta + taken * WORDS;
          buffer.used = u32[m];
          at = u32[m + 3] - ARCHIVE_FIXED;
          why = STOP_REFUSED;
        } else {
          buffer.used = used;
        }
        if (taken > 0) {
          const last = src + u32[meta + (taken - 1) * WORDS + 3] - ARCHIVE_FIXED;
          this.lastTs = core.view.getBigInt64(last + 8, true);
          const block = this.active;
          // As the write path records it (writes.ts appendMessage), so the checkpoints match.
          if (first === block.first) {
            const head = src + u32[meta + 3] - ARCHIVE_FIXED;
            block.firstTs = core.view.getBigInt64(head + 8, true);
          }
          if (block.maxTs !== null) block.maxTs = null;
          block.length = buffer.used;
          this.afterWrite();
          out.msgs += taken;
          out.lastMsg = this.lastSeq;
          this.bulkStored(first, taken);
        }
      }
      if (why === STOP_FULL) {
        // A record bigger than an empty block goes through the write path, which grows the buffer.
        if (this.buffer.used <= BLOCK_HEADER_SIZE) break;
        this.rollBlock();
      } else if (why === STOP_OTHER) {
        // Sequences no record holds before this one: skipped as skipMsgs would, then the run goes on.
        const seq = len - at >= ARCHIVE_FIXED ? this.seqAt(src + at) : 0;
        if (seq <= this.lastSeq + 1 || !Number.isSafeInteger(seq)) break;
        this.appendSkip(seq - 1, seq - 1 - this.lastSeq);
      } else if (why === STOP_REFUSED) {
        break;
      }
    }
    this.bulkMark[0] = this.lastSeq;
    this.bulkMark[1] = policy.msgs;
    return at;
  }

  /** The sequence of the archive record at `ptr` (a u64; past 2^53 it is not a safe integer). */
  private seqAt(ptr: number): number {
    const view = getCore().view;
    return view.getUint32(ptr, true) + view.getUint32(ptr + 4, true) * TWO_32;
  }

  /**
   * What `appendMessage` does to memory, for the `n` records of a run from
   * sequence `first`; returns how many it took (fewer at a subject the store
   * refuses, which is left to the caller's write path to refuse).
   */
  private indexRun(src: number, first: number, n: number): number {
    const core = getCore();
    const u32 = core.u32;
    const u8 = core.u8;
    const cache = this.bulkSubjects;
    const meta = this.bulkMeta >>> 2;
    // Subjects first: a refused one ends the run there.
    let taken = n;
    for (let i = 0, m = meta; i < n; i++, m += WORDS) {
      const seq = first + i;
      const subjectAt = src + u32[m + 3];
      const subjectLen = u32[m + 4];
      const hit = cache.get(u32[m + 2]);
      if (hit?.bytes.length === subjectLen && sameBytes(u8, subjectAt, hit.bytes, 0, subjectLen)) {
        hit.entry.msgs++;
        hit.entry.last = seq;
      } else if (this.intern(u8, subjectAt, subjectLen, u32[m + 2], seq) === null) {
        taken = i;
        break;
      }
    }
    if (taken === 0) return 0;
    const block = this.active;
    const policy = this.policy;
    if (policy.msgs === 0) this.firstSeq = first;
    policy.addedAll(taken, block.appendMessageRun(first, taken, u32, meta, WORDS));
    if (block.subjectIds !== null) {
      // A store with subject-id columns (none is built during a restore, but kept right).
      const subjects = this.subjects;
      for (let i = 0, m = meta; i < taken; i++, m += WORDS) {
        const at = src + u32[m + 3];
        const len = u32[m + 4];
        const hit = cache.get(u32[m + 2]);
        const subject =
          hit?.bytes.length === len && sameBytes(u8, at, hit.bytes, 0, len)
            ? hit.subject
            : decoder.decode(u8.subarray(at, at + len));
        const entry = subjects.get(subject) as SubjectEntry;
        block.setSubjectId(first + i, subjects.idOf(subject, entry));
      }
    }
    this.lastSeq = first + taken - 1;
    return taken;
  }

  /** How a snapshot of this store reads runs of records (archiveRun). @internal */
  protected override archiveRunOf(): ArchiveReader["archiveRun"] {
    return (from, to, out, max) => this.archiveRun(from, to, out, max);
  }

  /** How a snapshot of this store seals its archive, as its files are sealed. @internal */
  protected snapshotSealing(): ArchiveSealing | null {
    return storeSealing(this.fs, this.dir, this.files.sealer);
  }

  /**
   * Snapshot's bulk path (removal-watch.ts `archiveRun`): the live messages
   * from `from` through `to` that follow it without a gap in its block,
   * verified and written as archive records by one WASM call, as many as fit
   * in what `out` lacks of `maxBytes`; returns the last sequence written, or
   * `from - 1` (a block read record by record, a record that fails
   * verification: `archiveInto` decides).
   * @internal
   */
  protected archiveRun(from: number, to: number, out: RecordWriter, maxBytes: number): number {
    const block = this.findBlock(from);
    const room = maxBytes - out.length;
    if (
      !bulkPaths ||
      block === undefined ||
      room <= 0 ||
      !block.isLive(from) ||
      this.readsDirectly(block)
    ) {
      return from - 1;
    }
    const { ptr, length } = this.bytesOf(block, true);
    const offsets = block.offsets;
    if (offsets === null) return from - 1;
    let end = Math.min(to, block.last);
    for (const [lo] of block.deleted.runs(from)) {
      if (lo - 1 < end) end = lo - 1;
      break;
    }
    const count = Math.min(end - from + 1, 1 + Math.floor(room / ARCHIVE_FIXED));
    if (count <= 0) return from - 1;
    const core = getCore();
    const scratch = this.runScratch(count * 4 + room);
    const at = from - block.first;
    core.u32.set(offsets.subarray(at, at + count), scratch >>> 2);
    const dst = scratch + count * 4;
    const n = core.abi.blockToArchive(ptr, length, scratch, count, from, dst, room);
    if (n === 0) return from - 1;
    const bytes = core.view.getUint32(core.abi.archiveResult() + 4, true);
    out.addRaw(core.u8.subarray(dst, dst + bytes), n, from + n - 1);
    return from + n - 1;
  }

  /** Frees the core memory of both bulk paths (at close). @internal */
  protected releaseBulkMemory(): void {
    const core = getCore();
    if (this.bulkMeta !== 0) core.free(this.bulkMeta);
    if (this.runPtr !== 0) core.free(this.runPtr);
    this.bulkMeta = 0;
    this.runPtr = 0;
    this.runCapacity = 0;
    this.bulkSubjects.clear();
  }

  /** Core memory for a snapshot run (offsets, then records), kept and grown. */
  private runScratch(size: number): number {
    if (size > this.runCapacity) {
      const core = getCore();
      if (this.runPtr !== 0) core.free(this.runPtr);
      this.runPtr = 0;
      this.runCapacity = Math.max(size, 2 * 1024 * 1024);
      this.runPtr = core.alloc(this.runCapacity);
    }
    return this.runPtr;
  }

  /** A subject seen for the first time in this run of calls: checked, counted, cached. */
  private intern(
    u8: Uint8Array,
    at: number,
    len: number,
    hash: number,
    seq: number,
  ): Interned | null {
    const bytes = u8.slice(at, at + len);
    let subject: string;
    let subjectBytes: number;
    try {
      subject = decoder.decode(bytes);
      subjectBytes = checkSubject(subject, "store raw message");
    } catch {
      return null;
    }
    const entry = this.subjects.add(subject, seq, this.subjects.get(subject), subjectBytes);
    const interned = { bytes, subject, entry };
    this.bulkSubjects.set(hash, interned);
    return interned;
  }
}
