// Restore's bulk path (src/filestore/bulk-load.ts): message records of a
// snapshot archive's Messages frame (FORMAT.md, "Snapshot archive") written
// as block records (FORMAT.md, "Record") into the active block's buffer, many
// per call, so a restore crosses the boundary once per run of plain messages
// rather than once per message. Only the plain case is handled here: the next
// sequence, no TTL, a timestamp in range, a subject of 1 to 65535 bytes, a
// record that fits; anything else stops the run and TypeScript writes that
// record through the store's own path, which checks and refuses as it always
// did. Lengths are checked against the source before a byte moves, so a
// forged record never reads outside [src, src + srcLen).
import {
  MAX_SEQ,
  REC_FLAG_TTL,
  REC_TTL_SIZE,
  MAX_SUBJECT_BYTES,
  REC_CHECKSUM_SIZE,
  REC_FLAG_HDR,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_HDR_LEN,
  REC_OFF_LENGTH,
  REC_OFF_RESERVED,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
} from "./format";
import { checkRecord, RECORD_KINDS, RECORD_LIMIT } from "./record";
import { hash64 } from "./xxhash64";

/** seq u64, ts i64, ttl i64, header length i32, subject length u32, payload length u32. */
const ARCHIVE_FIXED: u32 = 36;
/** u32s written to `meta` per record converted. */
const ARCHIVE_META_WORDS: u32 = 5;

// Result area: 0 source offset reached u32, 4 block bytes used u32, 8 why it stopped u32.
const RESULT: usize = memory.data(16, 8);

/** The source is used up. */
const ARCHIVE_STOP_END: u32 = 0;
/** The next record does not fit in the block. */
const ARCHIVE_STOP_FULL: u32 = 1;
/** The next record is not a plain message at the next sequence: the caller writes it. */
const ARCHIVE_STOP_OTHER: u32 = 2;
/** `meta` is full. */
const ARCHIVE_STOP_META: u32 = 3;

/** Address of the result area (layout above). */
export function archiveResult(): usize {
  return RESULT;
}

/**
 * Converts archive records from `src + at` (the source is `srcLen` bytes)
 * into block records at `dst + used` (the block buffer holds `cap` bytes),
 * the first at sequence `next`, then `next + 1`, …; stops at the first record
 * that is not a plain message at its turn, does not fit, or when `metaCap`
 * records are written. Per record, five u32 go to `meta`: its offset in the
 * block, its length, the low 32 bits of the xxHash64 of its subject, the
 * subject's offset in the source and its length. Returns the records written;
 * the result area says where it stopped and why.
 */
export function archiveToBlock(
  src: usize,
  srcLen: u32,
  at: u32,
  dst: usize,
  used: u32,
  cap: u32,
  next: f64,
  meta: usize,
  metaCap: u32,
): u32 {
  let n: u32 = 0;
  let seq = <u64>next;
  let why = ARCHIVE_STOP_END;
  while (at < srcLen) {
    if (n >= metaCap) {
      why = ARCHIVE_STOP_META;
      break;
    }
    why = ARCHIVE_STOP_OTHER;
    if (srcLen - at < ARCHIVE_FIXED) break;
    const p = src + <usize>at;
    const hdrLen = load<i32>(p, 24);
    const subjectLen = load<u32>(p, 28);
    const msgLen = load<u32>(p, 32);
    if (
      load<u64>(p) != seq ||
      <f64>seq > MAX_SEQ ||
      load<i64>(p, 8) < 0 ||
      load<i64>(p, 16) != 0 ||
      hdrLen < -1 ||
      subjectLen == 0 ||
      subjectLen > MAX_SUBJECT_BYTES
    ) {
      break;
    }
    const hdrBytes = <u64>(hdrLen < 0 ? 0 : hdrLen);
    const bytes = <u64>subjectLen + hdrBytes + <u64>msgLen;
    if (bytes > <u64>(srcLen - at - ARCHIVE_FIXED)) break;
    const total = <u64>(REC_HEADER_SIZE + REC_CHECKSUM_SIZE) + bytes;
    if (total > <u64>RECORD_LIMIT) break;
    if (total > <u64>(cap - used)) {
      why = ARCHIVE_STOP_FULL;
      break;
    }
    const length = <u32>total;
    const r = dst + <usize>used;
    store<u32>(r, length, REC_OFF_LENGTH);
    store<u16>(r, <u16>subjectLen, REC_OFF_SUBJECT_LEN);
    store<u8>(r, hdrLen < 0 ? 0 : <u8>REC_FLAG_HDR, REC_OFF_FLAGS);
    store<u8>(r, 0, REC_OFF_RESERVED);
    store<u64>(r, seq, REC_OFF_SEQ);
    store<u64>(r, load<u64>(p, 8), REC_OFF_TS);
    store<u32>(r, <u32>hdrBytes, REC_OFF_HDR_LEN);
    // Subject, headers and payload lie back to back in both formats.
    memory.copy(r + REC_HEADER_SIZE, p + ARCHIVE_FIXED, <usize>bytes);
    const body = <usize>(length - REC_CHECKSUM_SIZE);
    store<u64>(r + body, hash64(r, body, 0));
    const m = meta + <usize>(n * ARCHIVE_META_WORDS * 4);
    store<u32>(m, used);
    store<u32>(m, length, 4);
    store<u32>(m, <u32>hash64(p + ARCHIVE_FIXED, <usize>subjectLen, 0), 8);
    store<u32>(m, at + ARCHIVE_FIXED, 12);
    store<u32>(m, subjectLen, 16);
    used += length;
    at += ARCHIVE_FIXED + <u32>bytes;
    seq++;
    n++;
    why = ARCHIVE_STOP_END;
  }
  store<u32>(RESULT, at);
  store<u32>(RESULT, used, 4);
  store<u32>(RESULT, why, 8);
  return n;
}

/**
 * Snapshot's bulk path, the other way: the block records at the `count`
 * offsets listed at `offsets` (u32 each) of the block at `block` (`blockLen`
 * bytes), sequences `first`, `first + 1`, …, written as archive records at
 * `dst`, which has room for `cap` bytes. Each record is verified (checksum and
 * fields, as every read does) and must be a message at its sequence; the run
 * stops at the first that is not, or that does not fit, and leaves it to the
 * caller's read path. Returns the records written; the result area's second
 * word holds the bytes written.
 */
export function blockToArchive(
  block: usize,
  blockLen: u32,
  offsets: usize,
  count: u32,
  first: f64,
  dst: usize,
  cap: u32,
): u32 {
  let seq = <u64>first;
  let out: u32 = 0;
  let n: u32 = 0;
  for (; n < count; n++) {
    const offset = load<u32>(offsets + (<usize>n << 2));
    if (offset >= blockLen) break;
    const p = block + <usize>offset;
    const length = checkRecord(p, blockLen - offset);
    if (length < 0) break;
    const flags = <u32>load<u8>(p, REC_OFF_FLAGS);
    if ((flags & RECORD_KINDS) != 0 || load<u64>(p, REC_OFF_SEQ) != seq) break;
    const subjectLen = <u32>load<u16>(p, REC_OFF_SUBJECT_LEN);
    const hdrLen = load<u32>(p, REC_OFF_HDR_LEN);
    let fieldsAt = p + REC_HEADER_SIZE;
    let ttl: i64 = 0;
    if (flags & REC_FLAG_TTL) {
      ttl = load<i64>(fieldsAt);
      fieldsAt += REC_TTL_SIZE;
    }
    const bytes = <u32>(p + <usize>length - REC_CHECKSUM_SIZE - fieldsAt);
    const msgLen = bytes - subjectLen - hdrLen;
    if (<u64>ARCHIVE_FIXED + <u64>bytes > <u64>(cap - out)) break;
    const r = dst + <usize>out;
    store<u64>(r, seq);
    store<u64>(r, load<u64>(p, REC_OFF_TS), 8);
    store<i64>(r, ttl, 16);
    store<i32>(r, flags & REC_FLAG_HDR ? <i32>hdrLen : -1, 24);
    store<u32>(r, subjectLen, 28);
    store<u32>(r, msgLen, 32);
    memory.copy(r + ARCHIVE_FIXED, fieldsAt, <usize>bytes);
    out += ARCHIVE_FIXED + bytes;
    seq++;
  }
  store<u32>(RESULT, 0);
  store<u32>(RESULT, out, 4);
  store<u32>(RESULT, 0, 8);
  return n;
}
