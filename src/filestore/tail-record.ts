/**
 * Finding a block's last record from the block's end, without reading or
 * indexing the block: what lets a store read its newest message right after
 * an open that left the last block unread. A record starts with its length
 * and ends with a 64-bit checksum, so in the block's last bytes the record
 * that ends at the block's end is the one whose length field reaches there,
 * whose sequence is the block's last, and that verifies; a chance match of
 * all three is negligible.
 */
import {
  BLOCK_HEADER_SIZE,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_LENGTH,
  REC_OFF_SEQ,
} from "../format.ts";
import { getCore } from "../wasm/core.ts";
import { type Block, NO_RECORD } from "./block.ts";
import type { BlockFiles } from "./block-file.ts";
import type { ScratchBuffer } from "./scratch-buffer.ts";

/** How far back from the end the record is looked for; a longer last record is found by indexing. */
const TAIL_BYTES = 64 * 1024;

/**
 * The offset of the record of message `block.last` when it is the last record
 * of `block`, else NO_RECORD (the block ends with a tombstone or a skip, the
 * record is longer than the bytes looked at, or they do not verify). The
 * bytes are left at `scratch.ptr`.
 */
export function lastRecordOffset(files: BlockFiles, block: Block, scratch: ScratchBuffer): number {
  const end = block.written;
  const size = Math.min(end - BLOCK_HEADER_SIZE, TAIL_BYTES);
  if (size < REC_MIN_SIZE) return NO_RECORD;
  const tail = new Uint8Array(size);
  if (files.readTail(block, end, tail) !== size) return NO_RECORD;
  const view = new DataView(tail.buffer);
  const last = BigInt(block.last);
  for (let at = size - REC_MIN_SIZE; at >= 0; at--) {
    if (view.getUint32(at + REC_OFF_LENGTH, true) !== size - at) continue;
    if (view.getBigUint64(at + REC_OFF_SEQ, true) !== last) continue;
    if (tail[at + REC_OFF_FLAGS] & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP)) continue;
    const core = getCore();
    scratch.reserve(size - at, 0);
    core.u8.set(tail.subarray(at), scratch.ptr);
    if (core.abi.recordDecode(scratch.ptr, size - at) === size - at) return end - size + at;
  }
  return NO_RECORD;
}
