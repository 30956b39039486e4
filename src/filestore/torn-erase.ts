/**
 * An erase torn by a crash. eraseMsg overwrites a record in place only once
 * its tombstone is durable (FORMAT.md, "Removals"); a power cut inside that
 * write leaves a prefix of the new record over the old one: the same length
 * and header but for the ERASED flag, part of the payload random, part still
 * the message's, and a checksum that fails. Open sees damage there. When a
 * tombstone names the record's sequence, open finishes the erase instead of
 * reporting it (at every open, since the bytes stay): the payload is made
 * random and the record sealed again. A record whose flag was flipped by
 * damage alone has no tombstone and stays reported.
 */
import {
  REC_CHECKSUM_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_FLAGS_KNOWN,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_HDR_LEN,
  REC_OFF_LENGTH,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
} from "../format.ts";
import type { DamagedBytes } from "../types.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import type { CachedBlock } from "./block-cache.ts";
import type { BlockFiles } from "./block-file.ts";

/** A damaged record whose header says an erase was writing it. */
export interface TornErase {
  block: Block;
  offset: number;
  seq: number;
  /** The damaged bytes as read (the whole record). */
  bytes: Uint8Array;
  /** Its entry in the damage report. */
  stretch: DamagedBytes;
}

/**
 * The sequence of the damaged `size` bytes at `ptr` (core memory) when they
 * are one record, by its own length, flagged ERASED; otherwise 0.
 */
export function tornEraseSeq(ptr: number, size: number): number {
  if (size < REC_MIN_SIZE) return 0;
  const view = getCore().view;
  const flags = view.getUint8(ptr + REC_OFF_FLAGS);
  if (view.getUint32(ptr + REC_OFF_LENGTH, true) !== size) return 0;
  if ((flags & REC_FLAG_ERASED) === 0 || (flags & ~REC_FLAGS_KNOWN) !== 0) return 0;
  if ((flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP)) !== 0) return 0;
  const seq = Number(view.getBigUint64(ptr + REC_OFF_SEQ, true));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/** The record `bytes` erased as eraseMsg would have: random headers and payload, sealed; null if its sizes do not add up. */
export function finishedErase(bytes: Uint8Array): Uint8Array | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const flags = view.getUint8(REC_OFF_FLAGS);
  const ttlSize = flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0;
  const subjectLen = view.getUint16(REC_OFF_SUBJECT_LEN, true);
  const hdrLen = view.getUint32(REC_OFF_HDR_LEN, true);
  const hdrAt = REC_HEADER_SIZE + ttlSize + subjectLen;
  const msgLen = bytes.length - hdrAt - hdrLen - REC_CHECKSUM_SIZE;
  if (msgLen < 0) return null;
  const ttl = ttlSize > 0 ? Number(view.getBigInt64(REC_HEADER_SIZE, true)) : 0;
  const core = getCore();
  const ptr = core.alloc(bytes.length);
  try {
    core.u8.set(bytes, ptr);
    const random = core.u8.subarray(ptr + hdrAt, ptr + hdrAt + hdrLen + msgLen);
    for (let i = 0; i < random.length; i += 65536)
      crypto.getRandomValues(random.subarray(i, Math.min(random.length, i + 65536)));
    const seq = Number(view.getBigUint64(REC_OFF_SEQ, true));
    const ts = view.getBigInt64(REC_OFF_TS, true);
    const length = core.abi.recordSeal(ptr, seq, ts, subjectLen, hdrLen, msgLen, flags, ttl);
    return length === bytes.length ? core.u8.slice(ptr, ptr + length) : null;
  } finally {
    core.free(ptr);
  }
}

/**
 * Writes a finished erase over the torn record, fsynced; false for a sealed
 * file, which is rewritten whole, never in place (its damage stays reported).
 */
export function writeFinishedErase(
  files: BlockFiles,
  block: Block,
  offset: number,
  bytes: Uint8Array,
): boolean {
  if (!files.isPlain(block)) return false;
  files.overwrite(block, offset, bytes);
  files.of(block).sync();
  return true;
}

/**
 * The damage that indexing a block found (`block.damage`, the block in core
 * memory at `entry`) less the erases a crash tore whose tombstones open
 * replayed, each finished as open finishes those it scans (written again,
 * fsynced, and in memory). A block open took on the checkpoint's word
 * (vouched-blocks.ts) is first read here, so its torn erase would otherwise
 * be reported at every open.
 */
export function finishTornErasesOf(files: BlockFiles, block: Block, entry: CachedBlock): void {
  if (block.damage === null) return;
  const kept: [number, number][] = [];
  for (const [offset, size] of block.damage) {
    const ptr = entry.ptr + offset;
    const seq = offset + size <= entry.length ? tornEraseSeq(ptr, size) : 0;
    const removed = seq >= block.first && seq <= block.last && block.deleted.has(seq);
    const bytes = removed ? finishedErase(getCore().u8.slice(ptr, ptr + size)) : null;
    if (bytes === null || !writeFinishedErase(files, block, offset, bytes)) {
      kept.push([offset, size]);
      continue;
    }
    getCore().u8.set(bytes, ptr);
  }
  block.damage = kept.length > 0 ? kept : null;
}
