/**
 * One record in plain TypeScript: encode into a Uint8Array, and measure,
 * verify and validate like assembly/record.ts. Field rules are the same code
 * paths in spirit (a differential test checks both agree on random and
 * damaged bytes); argument checks are shared with the WASM codec
 * (../codec/validate.ts). Multi-byte fields are assembled from bytes rather
 * than read through a DataView so the hot loop allocates nothing.
 */

import { corruptRecord } from "../codec/status.ts";
import type { DecodedRecord } from "../codec/types.ts";
import { readUtf8, writeUtf8 } from "../codec/utf8.ts";
import {
  checkRecordArgs,
  fullFlags,
  RECORD_LIMIT,
  recordSize,
  SKIP_PAYLOAD_SIZE,
} from "../codec/validate.ts";
import { corrupt, outOfRange } from "../errors.ts";
import {
  REC_CHECKSUM_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_HDR,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_FLAGS_KNOWN,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_HDR_LEN,
  REC_OFF_LENGTH,
  REC_OFF_RESERVED,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
  STATUS_BAD_CHECKSUM,
  STATUS_BAD_FIELDS,
  STATUS_BAD_LENGTH,
  STATUS_OK,
  STATUS_TRUNCATED,
} from "../format.ts";
import { resultHi, xxh64Parts } from "./xxhash64.ts";

const KINDS = REC_FLAG_TOMBSTONE | REC_FLAG_ERASED | REC_FLAG_SKIP;
/** High half of MAX_SEQ (2^53 - 1): any u64 with a larger high half is out of range. */
const MAX_SEQ_HI = 0x1fffff;
const TWO_32 = 0x100000000;

const tsSlot = new BigInt64Array(1);
const tsHalves = new Uint32Array(tsSlot.buffer);

/** Little-endian u32 at `p`. */
export function u32At(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
  b[p + 1] = v >>> 8;
  b[p + 2] = v >>> 16;
  b[p + 3] = v >>> 24;
}

/** Writes a u64 given as a safe integer. */
function putU64(b: Uint8Array, p: number, v: number): void {
  putU32(b, p, v >>> 0);
  putU32(b, p + 4, Math.floor(v / TWO_32));
}

/**
 * Encodes a record at `at` in `dst` (which must have room for it) and returns
 * its length; arguments as RecordEncoder.encodeAt.
 */
export function encodeRecordAt(
  dst: Uint8Array,
  at: number,
  subject: string,
  hdr: Uint8Array | null,
  msg: Uint8Array,
  seq: number,
  ts: bigint,
  ttl: number | null,
  flags: number,
): number {
  const subjectLen = checkRecordArgs(subject, hdr, msg, seq, ts, ttl, flags);
  const hdrLen = hdr === null ? 0 : hdr.length;
  const length = recordSize(subjectLen, hdrLen, msg.length, ttl !== null);
  if (!Number.isSafeInteger(at) || at < 0 || at + length > dst.length) {
    throw outOfRange(`Record of ${length} bytes does not fit at ${at} in ${dst.length} bytes`);
  }
  const all = fullFlags(hdr, ttl, flags);
  putU32(dst, at + REC_OFF_LENGTH, length);
  dst[at + REC_OFF_SUBJECT_LEN] = subjectLen;
  dst[at + REC_OFF_SUBJECT_LEN + 1] = subjectLen >>> 8;
  dst[at + REC_OFF_FLAGS] = all;
  dst[at + REC_OFF_RESERVED] = 0;
  putU64(dst, at + REC_OFF_SEQ, seq);
  tsSlot[0] = ts;
  putU32(dst, at + REC_OFF_TS, tsHalves[0]);
  putU32(dst, at + REC_OFF_TS + 4, tsHalves[1]);
  putU32(dst, at + REC_OFF_HDR_LEN, hdrLen);
  let p = at + REC_HEADER_SIZE;
  if (ttl !== null) {
    putU32(dst, p, ttl >>> 0);
    putU32(dst, p + 4, Math.floor(ttl / TWO_32) >>> 0);
    p += REC_TTL_SIZE;
  }
  writeUtf8(dst, p, subject, subjectLen);
  p += subjectLen;
  if (hdr !== null && hdrLen > 0) dst.set(hdr, p);
  if (msg.length > 0) dst.set(msg, p + hdrLen);
  const body = length - REC_CHECKSUM_SIZE;
  const lo = xxh64Parts(dst, at, body, 0, 0);
  putU32(dst, at + body, lo);
  putU32(dst, at + body + 4, resultHi());
  return length;
}

/** STATUS_OK if the fixed-header fields agree with each other and `length`, else STATUS_BAD_FIELDS. */
function checkFields(b: Uint8Array, p: number, length: number): number {
  const flags = b[p + REC_OFF_FLAGS];
  if ((flags & ~REC_FLAGS_KNOWN) !== 0 || b[p + REC_OFF_RESERVED] !== 0) return STATUS_BAD_FIELDS;
  if (u32At(b, p + REC_OFF_SEQ + 4) > MAX_SEQ_HI) return STATUS_BAD_FIELDS;
  const subjectLen = b[p + REC_OFF_SUBJECT_LEN] | (b[p + REC_OFF_SUBJECT_LEN + 1] << 8);
  const hdrLen = u32At(b, p + REC_OFF_HDR_LEN);
  let fixed = REC_MIN_SIZE;
  if ((flags & REC_FLAG_TTL) !== 0) {
    fixed += REC_TTL_SIZE;
    if (fixed > length) return STATUS_BAD_FIELDS;
    const ttlHi = u32At(b, p + REC_HEADER_SIZE + 4);
    const ttlLo = u32At(b, p + REC_HEADER_SIZE);
    const never = ttlHi === 0xffffffff && ttlLo === 0xffffffff;
    if (ttlHi > MAX_SEQ_HI && !never) return STATUS_BAD_FIELDS;
  }
  const used = fixed + subjectLen + hdrLen;
  if (used > length) return STATUS_BAD_FIELDS;
  if (hdrLen !== 0 && (flags & REC_FLAG_HDR) === 0) return STATUS_BAD_FIELDS;
  const kind = flags & KINDS;
  if (kind === 0) return subjectLen === 0 ? STATUS_BAD_FIELDS : STATUS_OK;
  if (kind === REC_FLAG_ERASED) return STATUS_OK;
  const msgLen = length - used;
  const bare = subjectLen === 0 && (flags & (REC_FLAG_HDR | REC_FLAG_TTL)) === 0;
  if (kind === REC_FLAG_TOMBSTONE) {
    return bare && (msgLen === 0 || msgLen === SKIP_PAYLOAD_SIZE) ? STATUS_OK : STATUS_BAD_FIELDS;
  }
  if (kind === REC_FLAG_SKIP)
    return bare && msgLen === SKIP_PAYLOAD_SIZE ? STATUS_OK : STATUS_BAD_FIELDS;
  return STATUS_BAD_FIELDS;
}

/**
 * Measures and verifies the record at `p` with `available` readable bytes:
 * its length, or a negated STATUS_*. Never reads outside [p, p + available).
 */
export function checkRecord(b: Uint8Array, p: number, available: number): number {
  if (available < 4) return -STATUS_TRUNCATED;
  const length = u32At(b, p + REC_OFF_LENGTH);
  if (length < REC_MIN_SIZE || length > RECORD_LIMIT) return -STATUS_BAD_LENGTH;
  if (length > available) return -STATUS_TRUNCATED;
  const body = length - REC_CHECKSUM_SIZE;
  const lo = xxh64Parts(b, p, body, 0, 0);
  if (lo !== u32At(b, p + body) || resultHi() !== u32At(b, p + body + 4))
    return -STATUS_BAD_CHECKSUM;
  const fields = checkFields(b, p, length);
  return fields === STATUS_OK ? length : -fields;
}

/** Verifies and decodes the record at `offset`; ErrCorrupt with the offset if it is damaged. */
export function decodeRecordAt(b: Uint8Array, offset: number): DecodedRecord {
  const length = checkRecord(b, offset, b.length - offset);
  if (length < 0) throw corruptRecord(-length, offset);
  const flags = b[offset + REC_OFF_FLAGS];
  const subjectLen = b[offset + REC_OFF_SUBJECT_LEN] | (b[offset + REC_OFF_SUBJECT_LEN + 1] << 8);
  const hdrLen = u32At(b, offset + REC_OFF_HDR_LEN);
  let p = offset + REC_HEADER_SIZE;
  let ttl: number | null = null;
  if ((flags & REC_FLAG_TTL) !== 0) {
    ttl = (u32At(b, p + 4) | 0) * TWO_32 + u32At(b, p);
    p += REC_TTL_SIZE;
  }
  const subject = readUtf8(b, p, subjectLen);
  if (subject === null)
    throw corrupt(`Record at offset ${offset} has a subject that is not UTF-8`, { offset });
  p += subjectLen;
  const hdr = (flags & REC_FLAG_HDR) !== 0 ? b.slice(p, p + hdrLen) : null;
  p += hdrLen;
  tsHalves[0] = u32At(b, offset + REC_OFF_TS);
  tsHalves[1] = u32At(b, offset + REC_OFF_TS + 4);
  return {
    offset,
    length,
    seq: u32At(b, offset + REC_OFF_SEQ + 4) * TWO_32 + u32At(b, offset + REC_OFF_SEQ),
    ts: tsSlot[0],
    flags,
    ttl,
    subject,
    hdr,
    msg: b.slice(p, offset + length - REC_CHECKSUM_SIZE),
  };
}
