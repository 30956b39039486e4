/**
 * Tombstones name removed sequences: a bare tombstone removes its own
 * sequence; one with an 8-byte payload removes `count` sequences ending at
 * its sequence (purge and compact write one record, not one per message).
 */
import { REC_CHECKSUM_SIZE, REC_HEADER_SIZE } from "../format.ts";
import { getCore } from "../wasm/core.ts";

export const TOMBSTONE_COUNT_SIZE = 8;

/** How many sequences the tombstone record at `ptr` (of `length` bytes) removes. */
export function tombstoneCount(ptr: number, length: number): number {
  if (length < REC_HEADER_SIZE + TOMBSTONE_COUNT_SIZE + REC_CHECKSUM_SIZE) return 1;
  const view = getCore().view;
  const at = ptr + REC_HEADER_SIZE;
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}
