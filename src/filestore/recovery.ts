/**
 * Opening a store: rebuild the in-memory view from the checkpoint and the
 * block files, reading as little as possible.
 *
 * - A block the checkpoint lists, whose file still has the recorded length
 *   and last checksum, is trusted as is: not read at all. In a store of
 *   plain files, one that is neither the checkpoint's last block nor the
 *   last is not even opened: its file is checked at its first use
 *   (vouched-blocks.ts).
 * - Bytes written after the checkpoint (a longer file, or blocks numbered
 *   past the checkpoint's) are scanned by the WASM core and replayed:
 *   messages, skips and tombstones.
 * - A block that fails those checks, or every block when there is no usable
 *   checkpoint, is scanned whole, and subject totals are rebuilt.
 * - A torn tail is cut at the last valid record and reported in `lost`;
 *   zeros after the last record (a block's preallocated room) are cut silently.
 * - Block files the checkpoint does not list, numbered below its last block,
 *   are leftovers of a removal or truncate that completed (the checkpoint is
 *   written before such files are removed) and are deleted; a listed block
 *   other than the last, longer than recorded, is cut back (a truncate's tail).
 * The last sequence is never lower than the checkpoint promised, so a crash
 * can never make the store hand out a sequence twice.
 */
import { hintCollection } from "../../runtimes/collection-hint.ts";
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { envelopeFormat, isEnvelope, type Sealer } from "../at-rest/sealer.ts";
import { sameBytes } from "../bytes.ts";
import { writeBlockHeader } from "../codec/block-header.ts";
import { isJetStoreError, JetStoreError } from "../errors.ts";
import { BLOCK_HEADER_SIZE } from "../format.ts";
import type { MessageTtls } from "../msg-ttls.ts";
import type { LostData } from "../types.ts";
import { getCore } from "../wasm/core.ts";
import { Block } from "./block.ts";
import type { BlockCache } from "./block-cache.ts";
import type { BlockFiles } from "./block-file.ts";
import { checkBlockHeader } from "./block-load.ts";
import {
  type BlockCheckpoint,
  CHECKPOINT_FILE,
  type Checkpoint,
  decodeCheckpoint,
} from "./checkpoint.ts";
import { allZeros } from "./preallocation.ts";
import { Recovery } from "./recovery-state.ts";
import type { SubjectTotals } from "./subject-totals.ts";
import { writeFinishedErase } from "./torn-erase.ts";
import type { WriteBuffer } from "./write-buffer.ts";

export const BLOCKS_DIR = "msgs";
const BLOCK_FILE = /^(\d+)\.blk$/;
const REWRITE_FILE = /^\d+\.blk\.tmp$/;

export interface Recovered {
  blocks: Block[];
  lastSeq: number;
  /** The record carrying the highest sequence seen, to read the last timestamp from. */
  lastRecord: { block: Block; offset: number; seq: number } | null;
  checkpointLastTs: bigint;
  subjects: SubjectTotals;
  lost: LostData | undefined;
  nextBlockNumber: number;
  /** The last block was trusted whole and left unread: appends go to a new block. */
  lastLeftUnread: boolean;
  /** The checkpoint file open read, when it was plain (unsealed) and usable. */
  checkpointBytes: Uint8Array | null;
  /** The format bits of the usable checkpoint open read (0 plain), or null when none was. */
  checkpointFormat: number | null;
}

export function blockPath(dir: string, n: number): string {
  return joinPath(dir, BLOCKS_DIR, `${n}.blk`);
}

/** The checkpoint, or null when there is none or it is damaged (then every block is rebuilt). */
export function readCheckpoint(fs: FileSystem, dir: string, sealer: Sealer): Checkpoint | null {
  return readCheckpointFile(fs, dir, sealer).checkpoint;
}

/** `readCheckpoint`, with the file's bytes when they are a plain (unsealed) checkpoint. */
function readCheckpointFile(
  fs: FileSystem,
  dir: string,
  sealer: Sealer,
): { checkpoint: Checkpoint | null; plain: Uint8Array | null; format: number | null } {
  const none = { checkpoint: null, plain: null, format: null };
  const path = joinPath(dir, CHECKPOINT_FILE);
  const stat = fs.stat(path);
  if (stat === null || !stat.isFile) return none;
  const handle = fs.open(path, "read");
  try {
    const bytes = new Uint8Array(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const n = handle.read(bytes.subarray(done), done);
      if (n <= 0) break;
      done += n;
    }
    const read = bytes.subarray(0, done);
    if (isEnvelope(read)) {
      const checkpoint = decodeCheckpoint(sealer.openEnvelope(read, path), path);
      return { checkpoint, plain: null, format: envelopeFormat(read) };
    }
    return { checkpoint: decodeCheckpoint(read, path), plain: read, format: 0 };
  } catch (err) {
    // Sealed under a key the store no longer has (it was converted to plain): every block is scanned.
    if (isJetStoreError(err, "ErrCorrupt") || isJetStoreError(err, "ErrBadKey")) return none;
    throw err;
  } finally {
    handle.close();
  }
}

/**
 * Rebuilds a store's view from `dir`. Pending TTLs go into `ttls`: the
 * checkpoint's and those of replayed records, including some of messages
 * removed since; the caller keeps only live ones.
 */
export function recover(
  fs: FileSystem,
  files: BlockFiles,
  dir: string,
  cache: BlockCache,
  buffer: WriteBuffer,
  ttls: MessageTtls,
  leaveLastFrom = Number.POSITIVE_INFINITY,
): Recovered {
  const {
    checkpoint,
    plain: checkpointBytes,
    format: checkpointFormat,
  } = readCheckpointFile(fs, dir, files.sealer);
  // A checkpoint write cut before its rename: never read, and written in the format of its
  // day, so a plain one would keep subjects in plaintext in a store converted to a cipher
  // until the next checkpoint write reuses the name.
  const checkpointTemp = joinPath(dir, `${CHECKPOINT_FILE}.tmp`);
  if (fs.stat(checkpointTemp) !== null) {
    fs.remove(checkpointTemp);
    fs.syncDirectory(dir);
  }
  const names = fs.list(joinPath(dir, BLOCKS_DIR)).filter((name) => {
    // A block rewritten beside its file (block-file.ts) when the process stopped: the block file is whole.
    if (!REWRITE_FILE.test(name)) return true;
    fs.remove(joinPath(dir, BLOCKS_DIR, name));
    return false;
  });
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
  const r = new Recovery(files, cache, checkpoint, ttls);
  // Checked once every tombstone is replayed: a later block may remove what an earlier one lost.
  const promised: Array<{ block: Block | null; cp: BlockCheckpoint }> = [];
  const scanned = new Set<Block>();

  // Core memory read for a sealed block and not yet owned by the cache; freed if open fails.
  let loose: number | null = null;
  // A block not yet in `r.blocks`, whose handle and deleted set a failure would leave behind.
  let unlisted: Block | null = null;
  let lastLeftUnread = false;
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
      unlisted = block;
      const cp = listed.get(n);
      if (
        cp !== undefined &&
        n < highestListed &&
        !isLast &&
        files.checksOnFirstUse &&
        (cp.lastChecksum.length > 0 || cp.length <= BLOCK_HEADER_SIZE)
      ) {
        // Neither the block appends went to when the checkpoint was written nor the
        // last, and vouched for (no checksum for records is damage found since open,
        // durability.ts): taken on the checkpoint's word, its file checked at first use.
        listed.delete(n);
        takeCheckpoint(block, cp);
        block.length = block.written = cp.length;
        files.vouched.vouch(n, cp.length, cp.lastChecksum);
        r.blocks.push(block);
        unlisted = null;
        if (cp.msgs > 0 || cp.last >= cp.first) r.passTrusted(cp.first, cp.last);
        continue;
      }
      let size = files.length(block);
      // Only the checkpoint's last block grows after it: bytes past another's
      // recorded length are what a truncate cut and had not removed yet.
      if (cp !== undefined && n !== highestListed && size > cp.length) {
        files.truncate(block, cp.length);
        size = cp.length;
      }
      listed.delete(n);
      const trusted =
        cp !== undefined &&
        size >= cp.length &&
        lastChecksumMatches(files, block, cp.length, cp.lastChecksum);
      if (trusted) {
        takeCheckpoint(block, cp);
      } else if (cp !== undefined) {
        r.rebuildSubjects = true;
      }
      r.blocks.push(block);
      unlisted = null;
      // A last block the checkpoint vouches for whole and large enough to be worth a
      // block of its own is left unread too: nothing at open is sized by the store.
      // Not one the packer would rewrite once it stops growing: that reads it all.
      const leave =
        isLast &&
        size >= leaveLastFrom &&
        size > BLOCK_HEADER_SIZE &&
        !files.needsConversion(block);
      if (trusted && size === cp.length && (!isLast || leave)) {
        lastLeftUnread = isLast;
        block.length = block.written = size;
        if (size >= BLOCK_HEADER_SIZE && !trustedHeaderIntact(files, block)) {
          r.noteHeader(n);
          repairHeader(files, block, null);
        }
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
      files.readBlock(block, ptr, size);
      // Each block scanned leaves its batches' garbage behind.
      hintCollection();
      const headerIntact = trusted
        ? headerOfTrusted(ptr, size, path)
        : checkBlockHeader(ptr, size, path);
      // Zeros alone: preallocated (preallocation.ts) before its header reached the disk.
      // A sealed file reads damage as zeros: only a plain one is ever preallocated.
      const plain = files.isPlain(block);
      const blank = plain && !headerIntact && allZeros(getCore().u8, ptr, ptr + size);
      if (!headerIntact && size >= BLOCK_HEADER_SIZE && !blank) r.noteHeader(n);
      if (!headerIntact && (size < BLOCK_HEADER_SIZE || blank)) {
        // Torn while the block was being created: nothing in it was ever acknowledged.
        files.truncate(block, 0);
        if (size > 0 && !blank) r.noteDamage(n, 0, size);
        else r.damaged = true;
        block.length = block.written = 0;
        if (isLast) buffer.reset(n);
        else getCore().free(ptr);
        loose = null;
        if (cp !== undefined) promised.push({ block: null, cp });
        continue;
      }
      const replayFrom = trusted ? cp.length : BLOCK_HEADER_SIZE;
      // A block of its header alone (the one the last open started) has nothing to scan.
      const stop = size === BLOCK_HEADER_SIZE ? size : r.scan(block, ptr, size, replayFrom);
      scanned.add(block);
      // A block with neither its header nor any record verifying was torn at its first
      // write-out (a sealed block's first chunk holds the header): it holds nothing. Not
      // only the last: one that rolled before its first fsync is torn the same way, and
      // kept as a zeroed header it would be reported as damage at every open.
      const keep = !headerIntact && stop <= BLOCK_HEADER_SIZE ? 0 : stop;
      if (stop < size || keep < stop) {
        // A torn or damaged tail: keep what verified, cut the rest, report it.
        // Only bytes are counted: after a power cut this is unacknowledged data, not damage.
        // Zeros alone are the active block's preallocated room (preallocation.ts): nothing was there.
        if (stop < size && !(plain && allZeros(getCore().u8, ptr + stop, ptr + size))) {
          r.noteCut(n, stop, size - stop);
        }
        files.truncate(block, keep);
      }
      block.length = block.written = keep;
      if (trusted && !headerIntact && keep >= BLOCK_HEADER_SIZE) repairHeader(files, block, ptr);
      if (cp !== undefined && !trusted) r.applyRemovals(block, ptr, stop, cp.deleted);
      if (isLast) buffer.used = keep;
      else if (keep === 0) getCore().free(ptr);
      else cache.put(n, ptr, size, true);
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
    unlisted?.dispose();
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
  if (r.rebuildSubjects || r.blocks.some((b) => b.damage !== null))
    r.rebuildAllSubjects(lastLeftUnread ? null : buffer);
  r.readTombstonesOfUnscanned(scanned);
  r.finishTornErases((block, offset, bytes) => writeFinishedErase(files, block, offset, bytes));
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
    lastLeftUnread,
    checkpointBytes,
    checkpointFormat,
  };
}

/** What the checkpoint recorded of a block it vouches for. */
function takeCheckpoint(block: Block, cp: BlockCheckpoint): void {
  block.first = cp.first;
  block.last = cp.last;
  block.firstTs = cp.firstTs;
  block.lastTs = cp.lastTs;
  block.msgs = cp.msgs;
  block.bytes = cp.bytes;
  block.tombstones = cp.tombstones;
  block.lowestTombstone = cp.lowestTombstone;
  block.restoreDeleted(cp.deleted);
}

/** The header of a trusted block that open does not otherwise read: false when damaged. */
function trustedHeaderIntact(files: BlockFiles, block: Block): boolean {
  const core = getCore();
  const ptr = core.alloc(BLOCK_HEADER_SIZE);
  try {
    files.readBlock(block, ptr, BLOCK_HEADER_SIZE);
    return headerOfTrusted(ptr, BLOCK_HEADER_SIZE, block.path);
  } finally {
    core.free(ptr);
  }
}

/**
 * Writes the header of a trusted block again (it is fully determined by the
 * block's number), on disk and in the copy at `ptr` when there is one. Left
 * damaged, it would be refused as a newer format by the next open that does
 * not trust the block: after any damage found in its records, the checkpoint
 * stops vouching for it.
 */
function repairHeader(files: BlockFiles, block: Block, ptr: number | null): void {
  const header = new Uint8Array(BLOCK_HEADER_SIZE);
  writeBlockHeader(header, 0, block.n);
  files.overwrite(block, 0, header);
  if (ptr !== null) getCore().u8.set(header, ptr);
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

function lastChecksumMatches(
  files: BlockFiles,
  block: Block,
  length: number,
  expected: Uint8Array,
): boolean {
  if (expected.length === 0) return length <= BLOCK_HEADER_SIZE;
  if (length < expected.length) return false;
  const actual = new Uint8Array(expected.length);
  if (files.readTail(block, length, actual) !== expected.length) return false;
  return sameBytes(actual, 0, expected, 0, expected.length);
}
