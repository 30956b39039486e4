/**
 * Reading sealed blocks back: the whole file into core memory through the
 * cache (one positional read straight into linear memory, no staging copy),
 * and the offset index built by one WASM scan on first use.
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  BLOCK_MAGIC,
  BLOCK_OFF_MAGIC,
  BLOCK_OFF_VERSION,
  FORMAT_VERSION,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
} from "../format.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import type { BlockCache, CachedBlock } from "./block-cache.ts";
import { scanBlock } from "./block-scan.ts";

/** Reads `length` bytes of a file from offset 0 into core memory at `ptr`. */
export function readInto(fs: FileSystem, block: Block, ptr: number, length: number): void {
  const handle = block.handle ?? fs.open(block.path, "read");
  try {
    let done = 0;
    while (done < length) {
      const n = handle.read(getCore().u8.subarray(ptr + done, ptr + length), done);
      if (n <= 0)
        throw corrupt(`Block ${block.path} ended at ${done} bytes; expected ${length}`, {
          file: block.path,
          offset: done,
        });
      done += n;
    }
  } finally {
    if (block.handle === null) handle.close();
  }
}

/** Checks a block header in core memory; throws ErrUnsupportedFormat for a newer version. */
export function checkBlockHeader(ptr: number, length: number, path: string): boolean {
  if (length < BLOCK_HEADER_SIZE) return false;
  const view = getCore().view;
  if (view.getUint32(ptr + BLOCK_OFF_MAGIC, true) !== BLOCK_MAGIC) return false;
  const version = view.getUint16(ptr + BLOCK_OFF_VERSION, true);
  if (version > FORMAT_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Block ${path} has format version ${version}; this jetstore reads up to ${FORMAT_VERSION}`,
      { file: path },
    );
  }
  return true;
}

/** The block's bytes in core memory, read through the cache on a miss. */
export function loadBlock(fs: FileSystem, cache: BlockCache, block: Block): CachedBlock {
  const hit = cache.get(block.n);
  if (hit !== undefined) return hit;
  const length = block.written;
  const ptr = cache.reserve(length);
  try {
    readInto(fs, block, ptr, length);
  } catch (err) {
    getCore().free(ptr);
    throw err;
  }
  const entry = cache.put(block.n, ptr, length);
  if (block.offsets === null) indexBlock(block, entry);
  return entry;
}

/** Builds the offset index of a block from its bytes; sequences are placed, counts untouched. */
export function indexBlock(block: Block, entry: CachedBlock): void {
  const first = block.first;
  const last = block.last;
  const index = new Uint32Array(Math.max(0, last - first + 1)).fill(0xffffffff);
  block.damage = null;
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
  block.offsets = index;
}
