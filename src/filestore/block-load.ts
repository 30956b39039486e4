/**
 * A sealed block in core memory: read whole through the cache on a miss
 * (by the seam, block-file.ts, straight into linear memory), its header
 * checked, and its offset index built by one WASM scan on first use (which
 * verifies every record, so reads of those bytes skip the checksum).
 */
import { blockHeaderVersion } from "../codec/block-header.ts";
import { JetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  FORMAT_VERSION,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  STATUS_OK,
} from "../format.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import type { BlockCache, CachedBlock } from "./block-cache.ts";
import type { BlockFiles } from "./block-file.ts";
import { scanBlock } from "./block-scan.ts";
import { finishTornErasesOf } from "./torn-erase.ts";

/** Checks a block header in core memory; throws ErrUnsupportedFormat for a newer version. */
export function checkBlockHeader(ptr: number, length: number, path: string): boolean {
  if (length < BLOCK_HEADER_SIZE) return false;
  const version = blockHeaderVersion(getCore().u8, ptr);
  if (version < 0) return false;
  if (version > FORMAT_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Block ${path} has format version ${version}; this jetstore reads up to ${FORMAT_VERSION}`,
      { file: path },
    );
  }
  return true;
}

/**
 * The block's bytes in core memory, read through the cache on a miss.
 * `pass`: a read in order over many blocks (a scan), whose blocks come in
 * provisionally and whose hits promote nothing (see BlockCache).
 */
export function loadBlock(
  files: BlockFiles,
  cache: BlockCache,
  block: Block,
  pass = false,
): CachedBlock {
  const hit = cache.get(block.n, !pass);
  if (hit !== undefined) return hit;
  const length = block.written;
  const ptr = cache.reserve(length);
  try {
    files.readBlock(block, ptr, length);
  } catch (err) {
    getCore().free(ptr);
    throw err;
  }
  const entry = cache.put(block.n, ptr, length, pass);
  if (block.offsets === null) {
    indexBlock(block, entry);
    finishTornErasesOf(files, block, entry);
    entry.verified = true;
  } else if (pass) {
    // A scan reads every record of a block indexed before (then evicted): verified in one
    // core call, its reads skip the checksum and are served from runs, as on its first load.
    entry.verified = verifiesToEnd(entry);
  }
  return entry;
}

/** True when every record of the cached block verifies, to its last byte. */
function verifiesToEnd(entry: CachedBlock): boolean {
  getCore().abi.indexRecords(entry.ptr, entry.length, BLOCK_HEADER_SIZE, 0, 0, 0);
  return scannedToEnd(entry);
}

/** The last core scan of the block's bytes verified every record to its last byte. */
function scannedToEnd(entry: CachedBlock): boolean {
  const core = getCore();
  const result = core.abi.scanResult() >>> 2;
  return core.i32[result + 1] === STATUS_OK && core.u32[result] === entry.length;
}

/** Builds the offset index of a block from its bytes; sequences are placed, counts untouched. */
export function indexBlock(block: Block, entry: CachedBlock): void {
  const count = Math.max(0, block.last - block.first + 1);
  block.damage = null;
  block.offsets = indexInCore(block.first, count, entry) ?? indexByScan(block, entry, count);
}

/**
 * The index built by one core call, or null when the block does not verify to
 * its end (the scan then finds and notes the damage). A visit per record in
 * JavaScript cost about as much as verifying it.
 */
function indexInCore(first: number, count: number, entry: CachedBlock): Uint32Array | null {
  const core = getCore();
  const out = core.alloc(Math.max(4, count * 4));
  try {
    core.abi.indexRecords(entry.ptr, entry.length, BLOCK_HEADER_SIZE, first, count, out);
    if (!scannedToEnd(entry)) return null;
    return core.u32.slice(out >>> 2, (out >>> 2) + count);
  } finally {
    core.free(out);
  }
}

function indexByScan(block: Block, entry: CachedBlock, count: number): Uint32Array {
  const first = block.first;
  const last = block.last;
  const index = new Uint32Array(count).fill(0xffffffff);
  // A damaged record keeps no index entry (reading its message reports it corrupt)
  // and is noted for the `lost` report.
  const note = (offset: number, length: number) => {
    block.damage ??= [];
    block.damage.push([offset, length]);
  };
  const outcome = scanBlock(
    entry.ptr,
    entry.length,
    BLOCK_HEADER_SIZE,
    (r) => {
      if (r.flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP)) return;
      if (r.seq >= first && r.seq <= last) index[r.seq - first] = r.offset;
    },
    note,
  );
  // Damage with no verified record after it (a checkpoint checks only a block's last 8 bytes).
  if (outcome.stop < entry.length) note(outcome.stop, entry.length - outcome.stop);
  return index;
}
