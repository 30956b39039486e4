/**
 * Offline verification of a FileStore directory: every record of every
 * block is read and its checksum checked, independently of the checkpoint
 * (which a clean open trusts without reading the blocks). Strictly read-only:
 * files are opened for reading, the store is not locked (a lock writes a
 * file) and nothing is truncated or repaired, so it can inspect a store
 * another process has open, or evidence that must not change.
 *
 * Damage is reported where it is: a damaged record (its neighbours verify),
 * a torn tail (the last bytes of a block end inside a record, as an
 * interrupted write leaves them; opening the store cuts them), or an
 * unreadable block. Sequences that damage swallowed are reported as lost
 * ranges, with the block and offset where they were, unless a tombstone or
 * skip accounts for them; sequences the checkpoint promised past the last
 * record found are lost too.
 *
 * Blocks are read through the same code a store reads them with
 * (block-file-reader.ts `BlockFileReader` over sealed-file.ts): a sealed block's
 * chunks are each opened and their tags checked, a chunk that fails is
 * reported with its block and offsets (plaintext and in the file), and the
 * records it held are left to the scan as unreadable bytes. An encrypted
 * store needs its key (`key`): without one verification stops with
 * ErrBadKey, saying so, as it does with a key that does not open the store.
 */

import { cryptoReady } from "../runtimes/aead.ts";
import { defaultFileSystem } from "../runtimes/detect.ts";
import type { FileSystem } from "../runtimes/fs.ts";
import { joinPath } from "../runtimes/fs.ts";
import { PLAIN, Sealer } from "./at-rest/sealer.ts";
import { readSettings, unwrapDataKey } from "./at-rest/settings.ts";
import { invalidArgument, isJetStoreError, JetStoreError } from "./errors.ts";
import { BlockFileReader } from "./filestore/block-file-reader.ts";
import { checkBlockHeader } from "./filestore/block-load.ts";
import { scanBlock } from "./filestore/block-scan.ts";
import type { Checkpoint } from "./filestore/checkpoint.ts";
import { checkFsOption, checkKeyOption } from "./filestore/options.ts";
import { allZeros } from "./filestore/preallocation.ts";
import { BLOCKS_DIR, readCheckpoint } from "./filestore/recovery.ts";
import { tombstoneCount } from "./filestore/tombstone.ts";
import {
  BLOCK_HEADER_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  SEALED_HEADER_SIZE,
  STATUS_OK,
} from "./format.ts";
import { SequenceSet } from "./seqset.ts";
import { describeValue } from "./validate.ts";
import { getCore } from "./wasm/core.ts";

const BLOCK_FILE = /^(\d+)\.blk$/;

/** Where verification stands, after each block. */
export interface VerifyProgress {
  blocksDone: number;
  blocks: number;
  bytesDone: number;
  bytes: number;
}

export interface VerifyOptions {
  /** The filesystem adapter; the runtime's own by default. */
  fs?: FileSystem | undefined;
  onProgress?: ((progress: VerifyProgress) => void) | undefined;
  /** The key of an encrypted store (32 bytes; not kept, not changed). */
  key?: Uint8Array | undefined;
}

/** Bytes that did not verify. */
export interface DamagedStretch {
  block: number;
  file: string;
  offset: number;
  length: number;
  kind: "record" | "torn tail" | "block header" | "unreadable" | "missing block" | "chunk";
  /** Sealed blocks: where the damaged chunk lies in the file (offset and length above are plaintext). */
  fileOffset?: number;
  fileLength?: number;
}

/** Consecutive sequences whose messages are gone, and where they were. */
export interface LostRange {
  first: number;
  last: number;
  block: number;
  file: string;
  offset: number;
}

export interface VerifyReport {
  dir: string;
  /** Block files scanned, and their total size. */
  blocks: number;
  blockBytes: number;
  /** Verified records of every kind. */
  records: number;
  /** Live messages (not removed by a tombstone, not erased) and their accounted bytes. */
  messages: number;
  messageBytes: number;
  /** Message records removed by a tombstone or erased. */
  removed: number;
  /** Lowest and highest sequence of a live message (0 when none). */
  firstSeq: number;
  lastSeq: number;
  /** Highest sequence any record or the checkpoint names. */
  highestSeq: number;
  checkpoint: "ok" | "missing" | "damaged";
  /** Block files below the checkpoint's first block: a removal that completed; not scanned. */
  leftoverBlocks: number;
  damaged: DamagedStretch[];
  lost: LostRange[];
  elapsedMs: number;
  /** True when every byte verified. */
  ok: boolean;
}

/** Verifies every record of the store in `dir`, changing nothing. */
export function verifyStore(dir: string, options: VerifyOptions = {}): VerifyReport {
  const started = performance.now();
  checkVerifyOptions(dir, options);
  const fs = options.fs ?? defaultFileSystem();
  checkHoldsStore(fs, dir);
  const sealer = storeSealer(fs, dir, options.key);
  try {
    return verifyWith(fs, dir, sealer, options, started);
  } finally {
    sealer.wipe();
  }
}

const VERIFY_OPTIONS = ["fs", "onProgress", "key"];

/**
 * ErrInvalidArgument for a bad argument, before any file is read: a bad
 * option would otherwise surface as a TypeError halfway through, or (a key of
 * the wrong size) as ErrBadKey, which says the key is wrong, not malformed.
 */
function checkVerifyOptions(dir: unknown, options: unknown): void {
  if (typeof dir !== "string" || dir.length === 0) {
    throw invalidArgument(
      `Invalid verifyStore dir: must be a non-empty string, got ${describeValue(dir)}`,
    );
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `Invalid verifyStore options: expected an object, got ${describeValue(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!VERIFY_OPTIONS.includes(name))
      throw invalidArgument(`Invalid verifyStore option ${name}: no such option`);
  }
  const { fs, onProgress, key } = options as VerifyOptions;
  if (fs !== undefined) checkFsOption("verifyStore", fs);
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw invalidArgument(
      `Invalid verifyStore option onProgress: must be a function, got ${describeValue(onProgress)}`,
    );
  }
  if (key !== undefined) checkKeyOption("verifyStore", "key", key);
}

/** ErrNotFound unless `dir` exists, ErrNotAStore unless it is a directory holding a store's `msgs/`. */
export function checkHoldsStore(fs: FileSystem, dir: string): void {
  const stat = fs.stat(dir);
  if (stat === null) throw new JetStoreError("ErrNotFound", `${dir} does not exist`);
  if (!stat.isDirectory) throw new JetStoreError("ErrNotAStore", `${dir} is not a directory`);
  if (fs.stat(joinPath(dir, BLOCKS_DIR))?.isDirectory !== true) {
    throw new JetStoreError(
      "ErrNotAStore",
      `${dir} is not a jetstore store: it has no ${BLOCKS_DIR}/ directory`,
    );
  }
}

/**
 * The means of reading `dir`'s files: its at-rest settings, the data key
 * unwrapped with `key`. ErrBadKey when the store is encrypted and `key` is
 * missing or does not open it.
 */
export function storeSealer(fs: FileSystem, dir: string, key: Uint8Array | undefined): Sealer {
  const stored = readSettings(fs, dir);
  if (stored === null) return new Sealer(PLAIN, null, false);
  const format = { compression: stored.compression, cipher: stored.cipher };
  if (stored.wrapped === null) return new Sealer(format, null);
  if (key === undefined) {
    throw new JetStoreError(
      "ErrBadKey",
      `${dir} is encrypted (${stored.cipher}): its key is needed to verify it (--key-file)`,
    );
  }
  if (!cryptoReady()) {
    throw new JetStoreError(
      "ErrNotImplemented",
      `${dir} is encrypted (${stored.cipher}) and this runtime has no working cipher of its own: await prepareCrypto() (from jetstore) before verifyStore, which is synchronous and cannot load @noble/ciphers itself`,
    );
  }
  const copy = key.slice();
  try {
    return new Sealer(format, unwrapDataKey(stored, copy));
  } finally {
    copy.fill(0);
  }
}

function verifyWith(
  fs: FileSystem,
  dir: string,
  sealer: Sealer,
  options: VerifyOptions,
  started: number,
): VerifyReport {
  const checkpoint = readCheckpointSafely(fs, dir, sealer);
  const blocksDir = joinPath(dir, BLOCKS_DIR);
  const numbers = fs
    .list(blocksDir)
    .map((name) => BLOCK_FILE.exec(name))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const lowestListed = checkpoint.value?.blocks[0]?.n ?? 0;
  const scanned = numbers.filter((n) => checkpoint.value === null || n >= lowestListed);
  const sizes = scanned.map((n) => fs.stat(joinPath(blocksDir, `${n}.blk`))?.size ?? 0);
  const scan = new StoreScan();
  const progress: VerifyProgress = {
    blocksDone: 0,
    blocks: scanned.length,
    bytesDone: 0,
    bytes: sizes.reduce((a, b) => a + b, 0),
  };
  options.onProgress?.({ ...progress });
  const core = getCore();
  let capacity = BLOCK_HEADER_SIZE;
  let ptr = core.alloc(capacity);
  try {
    for (let i = 0; i < scanned.length; i++) {
      const n = scanned[i];
      const file = joinPath(BLOCKS_DIR, `${n}.blk`);
      const reader = openReader(fs, joinPath(dir, file), n, sealer);
      if (reader === null) {
        scan.damage({ block: n, file, offset: 0, length: sizes[i], kind: "unreadable" });
      } else {
        try {
          if (reader.headerDamaged) {
            // A sealed header torn at creation (shorter than 40 bytes) or damaged.
            const torn = reader.size < SEALED_HEADER_SIZE;
            scan.damage({
              block: n,
              file,
              offset: 0,
              length: reader.size,
              kind: torn ? "torn tail" : "block header",
            });
          } else {
            if (reader.length > capacity) {
              core.free(ptr);
              capacity = reader.length;
              ptr = core.alloc(capacity);
            }
            const chunks = reader.checkChunks().map(
              (c): DamagedStretch => ({
                block: n,
                file,
                offset: c.plainStart,
                length: c.plainLength,
                kind: c.why === "torn" ? "torn tail" : "chunk",
                fileOffset: c.fileStart,
                fileLength: c.fileLength,
              }),
            );
            const length = reader.read(ptr);
            scan.block(n, file, ptr, length, chunks, reader.sealed === null);
          }
        } finally {
          reader.close();
        }
      }
      progress.blocksDone++;
      progress.bytesDone += sizes[i];
      options.onProgress?.({ ...progress });
    }
  } finally {
    core.free(ptr);
  }
  // Removals the checkpoint recorded count as removals, even if their tombstones are gone.
  for (const b of checkpoint.value?.blocks ?? []) scan.removedByCheckpoint(b.deleted);
  const present = new Set(numbers);
  for (const b of checkpoint.value?.blocks ?? []) {
    if (!present.has(b.n) && b.msgs > 0) scan.missing(b.n, joinPath(BLOCKS_DIR, `${b.n}.blk`), b);
  }
  const report = scan.finish(checkpoint.value);
  return {
    dir,
    blocks: scanned.length,
    blockBytes: progress.bytes,
    ...report,
    checkpoint: checkpoint.status,
    leftoverBlocks: numbers.length - scanned.length,
    elapsedMs: performance.now() - started,
    ok: report.damaged.length === 0 && report.lost.length === 0 && checkpoint.status !== "damaged",
  };
}

/** A block file opened read-only, or null when it cannot be opened or read. */
function openReader(
  fs: FileSystem,
  path: string,
  n: number,
  sealer: Sealer,
): BlockFileReader | null {
  try {
    return new BlockFileReader(fs, path, n, sealer);
  } catch (err) {
    if (isJetStoreError(err) && err.code !== "ErrBadKey" && err.code !== "ErrUnsupportedFormat")
      return null;
    throw err;
  }
}

type ScanResult = Pick<
  VerifyReport,
  | "records"
  | "messages"
  | "messageBytes"
  | "removed"
  | "firstSeq"
  | "lastSeq"
  | "highestSeq"
  | "damaged"
  | "lost"
>;

/** What the records of every block add up to. */
class StoreScan {
  private records = 0;
  /** Message records in scan order: sequence and size. */
  private readonly seqs: number[] = [];
  private readonly sizes: number[] = [];
  private erased = 0;
  /** Sequence ranges tombstones and skips account for. */
  private readonly covered: [number, number][] = [];
  private readonly damaged: DamagedStretch[] = [];
  /** Sequences between verified neighbours of damage: lost unless covered. */
  private readonly gaps: LostRange[] = [];
  /** Blocks the checkpoint lists whose files are gone, with their sequences. */
  private readonly missingBlocks: LostRange[] = [];
  /** The lowest sequence a message, skip or erased record of each block held. */
  private readonly lowestHeld = new Map<number, number>();
  private highest = 0;
  /** The last message or skip sequence seen, and the damage met since, if any. */
  private prevSeq = 0;
  private pendingDamage: DamagedStretch | null = null;

  /** The encoded deleted-sequence set of a checkpoint block. */
  removedByCheckpoint(encoded: Uint8Array): void {
    const set = SequenceSet.decode(encoded);
    try {
      for (const [lo, hi] of set.runs()) this.covered.push([lo, hi]);
    } finally {
      set.dispose();
    }
  }

  /** A block the checkpoint lists, with messages, whose file is gone. */
  missing(block: number, file: string, range: { first: number; last: number }): void {
    this.missingBlocks.push({ first: range.first, last: range.last, block, file, offset: 0 });
  }

  damage(d: DamagedStretch): void {
    this.damaged.push(d);
    this.pendingDamage ??= d;
  }

  /** `plain`: a version 1 file, which may end in preallocated zeros (a sealed one reads damage as zeros). */
  block(
    n: number,
    file: string,
    ptr: number,
    length: number,
    chunks: DamagedStretch[] = [],
    plain = true,
  ): void {
    // Damaged chunks are reported as such; the records whose bytes they held are not reported again.
    for (const c of chunks) this.damaged.push(c);
    const inChunk = (offset: number, size: number) =>
      chunks.find((c) => offset < c.offset + c.length && c.offset < offset + size);
    const damage = (d: DamagedStretch) => {
      const c = inChunk(d.offset, d.length);
      if (c === undefined) this.damage(d);
      else this.pendingDamage ??= c;
    };
    let header = false;
    try {
      header = checkBlockHeader(ptr, length, file);
    } catch (err) {
      if (!isJetStoreError(err)) throw err;
    }
    if (!header) {
      damage({ block: n, file, offset: 0, length, kind: "block header" });
      if (length <= BLOCK_HEADER_SIZE || inChunk(0, BLOCK_HEADER_SIZE) === undefined) return;
    }
    const outcome = scanBlock(
      ptr,
      length,
      BLOCK_HEADER_SIZE,
      (r) => {
        this.records++;
        this.highest = Math.max(this.highest, r.seq);
        if (r.flags & REC_FLAG_TOMBSTONE) {
          const count = tombstoneCount(ptr + r.offset, r.length);
          this.covered.push([r.seq - count + 1, r.seq]);
          return;
        }
        let lowest = r.seq;
        if (r.flags & REC_FLAG_SKIP) {
          const count = tombstoneCount(ptr + r.offset, r.length);
          this.covered.push([r.seq - count + 1, r.seq]);
          lowest = r.seq - count + 1;
        } else if (r.flags & REC_FLAG_ERASED) {
          this.erased++;
          this.covered.push([r.seq, r.seq]);
        } else {
          this.seqs.push(r.seq);
          this.sizes.push(r.length);
        }
        this.lowestHeld.set(n, Math.min(this.lowestHeld.get(n) ?? lowest, lowest));
        this.met(r.seq);
      },
      (offset, size) => damage({ block: n, file, offset, length: size, kind: "record" }),
    );
    // Zeros after the last record are the active block's preallocated room, not a torn tail.
    const zeroTail =
      plain && outcome.stop < length && allZeros(getCore().u8, ptr + outcome.stop, ptr + length);
    if ((outcome.status !== STATUS_OK || outcome.stop < length) && !zeroTail) {
      damage({
        block: n,
        file,
        offset: outcome.stop,
        length: length - outcome.stop,
        kind: "torn tail",
      });
    }
  }

  /** A verified message or skip at `seq`: sequences damage swallowed before it are candidates. */
  private met(seq: number): void {
    const d = this.pendingDamage;
    if (d !== null && seq > this.prevSeq + 1) {
      this.gaps.push({
        first: this.prevSeq + 1,
        last: seq - 1,
        block: d.block,
        file: d.file,
        offset: d.offset,
      });
    }
    this.pendingDamage = null;
    if (seq > this.prevSeq) this.prevSeq = seq;
  }

  finish(checkpoint: Checkpoint | null): ScanResult {
    // Damage at the very end swallowed whatever the checkpoint promised past the last record.
    const promised = checkpoint?.lastSeq ?? 0;
    const tail = this.pendingDamage ?? this.damaged.at(-1);
    if (promised > this.highest && tail !== undefined) {
      this.gaps.push({
        first: this.prevSeq + 1,
        last: promised,
        block: tail.block,
        file: tail.file,
        offset: tail.offset,
      });
    }
    const covered = mergeRanges(this.covered);
    for (const m of this.missingBlocks) {
      // Every sequence removed by a tombstone written since the checkpoint: a compact or
      // purge cut off while it unlinked the files it emptied, which open finishes. Not damage.
      // The block may have held more than the checkpoint saw (it was the active one then):
      // everything up to the next block still there must be removed too, as the range
      // tombstone of a compact or purge removes it.
      let next = Number.POSITIVE_INFINITY;
      for (const [n, lowest] of this.lowestHeld) if (n > m.block) next = Math.min(next, lowest);
      const through = Number.isFinite(next) ? Math.max(m.last, next - 1) : m.last;
      if (uncovered(covered, m.first, through).length === 0) continue;
      this.damaged.push({
        block: m.block,
        file: m.file,
        offset: 0,
        length: 0,
        kind: "missing block",
      });
      this.gaps.push({ ...m, last: through });
    }
    let messages = 0;
    let messageBytes = 0;
    let firstSeq = 0;
    let lastSeq = 0;
    for (let i = 0; i < this.seqs.length; i++) {
      const seq = this.seqs[i];
      if (isCovered(covered, seq)) continue;
      messages++;
      messageBytes += this.sizes[i];
      if (firstSeq === 0 || seq < firstSeq) firstSeq = seq;
      lastSeq = Math.max(lastSeq, seq);
    }
    const lost: LostRange[] = [];
    for (const gap of this.gaps) {
      for (const [first, last] of uncovered(covered, gap.first, gap.last)) {
        lost.push({ ...gap, first, last });
      }
    }
    return {
      records: this.records,
      messages,
      messageBytes,
      removed: this.seqs.length - messages + this.erased,
      firstSeq,
      lastSeq,
      highestSeq: Math.max(this.highest, promised),
      // Block by block, in file order (chunk damage is found before the records' scan).
      damaged: this.damaged
        .map((d, i) => ({ d, i }))
        .sort((a, b) => a.d.block - b.d.block || a.d.offset - b.d.offset || a.i - b.i)
        .map(({ d }) => d),
      lost,
    };
  }
}

function readCheckpointSafely(
  fs: FileSystem,
  dir: string,
  sealer: Sealer,
): { value: Checkpoint | null; status: VerifyReport["checkpoint"] } {
  const present = fs.stat(joinPath(dir, "index.ckpt")) !== null;
  const value = readCheckpoint(fs, dir, sealer);
  return { value, status: value !== null ? "ok" : present ? "damaged" : "missing" };
}

/** Sorted, non-overlapping, non-adjacent ranges. */
function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Index of the merged range holding `seq`, by binary search; -1 when none does. */
function rangeAt(ranges: [number, number][], seq: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid][1] < seq) lo = mid + 1;
    else if (ranges[mid][0] > seq) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function isCovered(ranges: [number, number][], seq: number): boolean {
  return rangeAt(ranges, seq) >= 0;
}

/** The parts of [first, last] no range covers. */
function uncovered(ranges: [number, number][], first: number, last: number): [number, number][] {
  const out: [number, number][] = [];
  let from = first;
  for (const [lo, hi] of ranges) {
    if (hi < from) continue;
    if (lo > last) break;
    if (lo > from) out.push([from, lo - 1]);
    from = hi + 1;
    if (from > last) break;
  }
  if (from <= last) out.push([from, last]);
  return out;
}
