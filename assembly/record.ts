// One record of a block: seal (fixed header + TTL + checksum around bytes the
// caller already placed) and decode (measure, verify, validate, locate fields).
// Layout and flags are src/format.ts's (twin: ./format.ts). TypeScript writes
// subject, headers and payload straight to their final addresses and calls
// `recordSeal` once, so nothing is staged or copied twice; the alternative of
// passing the parts in a scratch region and copying them here was rejected as
// a second copy of every payload. Decode treats the bytes as hostile: every
// length is checked against `available` before it is used, the checksum before
// any field, and statuses are explicit code (release builds strip asserts).
import {
  MAX_SEQ,
  MAX_SUBJECT_BYTES,
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
} from "./format";
import { findSubject } from "./intern";
import { hash64 } from "./xxhash64";

/** Lengths travel as i32 through the ABI, so a record (and a block) stays below 2 GiB. */
export const RECORD_LIMIT: u32 = 0x7fffffff;
/** The payload of a skip record: a u64 count of skipped sequences. */
const SKIP_PAYLOAD_SIZE: u32 = 8;
const MAX_SEQ_U64: u64 = <u64>MAX_SEQ;
/** The flags that make a record something other than a plain message. */
export const RECORD_KINDS: u32 = REC_FLAG_TOMBSTONE | REC_FLAG_ERASED | REC_FLAG_SKIP;

// Decode result area, read by TypeScript through typed views (offsets in bytes).
//   0 seq f64 · 8 ts i64 · 16 ttl f64 (0 without TTL: read flags) · 24 length u32 · 28 flags u32
//   32 subject address · 36 subject length · 40 headers address · 44 headers length
//   48 payload address · 52 payload length · 56 the subject's slot in intern.ts, or -1:
//   a reader then has the string without building it
const DECODED: usize = memory.data(64, 8);
// Where `recordSeal` assembles a header to check it before touching `dst`.
const STAGED: usize = memory.data(REC_HEADER_SIZE + REC_TTL_SIZE, 8);

/**
 * Checks that fixed-header fields agree with each other and with `length`;
 * returns STATUS_OK or STATUS_BAD_FIELDS. `length` is already known to cover
 * at least REC_MIN_SIZE readable bytes, and the TTL field is only read when
 * the record is long enough to hold it.
 */
// @ts-expect-error: decorator
@inline
export function checkFields(p: usize, length: u32): i32 {
  const flags = <u32>load<u8>(p, REC_OFF_FLAGS);
  if ((flags & ~REC_FLAGS_KNOWN) | <u32>load<u8>(p, REC_OFF_RESERVED)) return STATUS_BAD_FIELDS;
  if (load<u64>(p, REC_OFF_SEQ) > MAX_SEQ_U64) return STATUS_BAD_FIELDS;
  const subjectLen = <u64>load<u16>(p, REC_OFF_SUBJECT_LEN);
  const hdrLen = <u64>load<u32>(p, REC_OFF_HDR_LEN);
  let fixed = <u64>(REC_HEADER_SIZE + REC_CHECKSUM_SIZE);
  if (flags & REC_FLAG_TTL) {
    fixed += REC_TTL_SIZE;
    if (fixed > <u64>length) return STATUS_BAD_FIELDS;
    const ttl = load<i64>(p, REC_HEADER_SIZE);
    if (ttl < -1 || ttl > <i64>MAX_SEQ) return STATUS_BAD_FIELDS;
  }
  const used = fixed + subjectLen + hdrLen;
  if (used > <u64>length) return STATUS_BAD_FIELDS;
  if (hdrLen != 0 && (flags & REC_FLAG_HDR) == 0) return STATUS_BAD_FIELDS;
  const kind = flags & RECORD_KINDS;
  if (kind == 0) return subjectLen == 0 ? STATUS_BAD_FIELDS : STATUS_OK;
  if (kind == REC_FLAG_ERASED) return STATUS_OK;
  // Tombstones and skips carry no subject, headers or TTL; a skip's payload is its count.
  const msgLen = <u64>length - used;
  const bare = subjectLen == 0 && (flags & (REC_FLAG_HDR | REC_FLAG_TTL)) == 0;
  // A tombstone's payload is empty (one sequence) or a u64 count ending at its sequence.
  if (kind == REC_FLAG_TOMBSTONE) {
    return bare && (msgLen == 0 || msgLen == <u64>SKIP_PAYLOAD_SIZE) ? STATUS_OK : STATUS_BAD_FIELDS;
  }
  if (kind == REC_FLAG_SKIP) {
    return bare && msgLen == <u64>SKIP_PAYLOAD_SIZE ? STATUS_OK : STATUS_BAD_FIELDS;
  }
  return STATUS_BAD_FIELDS;
}

/**
 * Measures and verifies the record at `p` with `available` readable bytes:
 * returns its length, or a negated STATUS_* (truncated, bad length, bad
 * checksum, bad fields). Never reads outside [p, p + available).
 */
// @ts-expect-error: decorator
@inline
export function checkRecord(p: usize, available: u32): i32 {
  if (available < 4) return -STATUS_TRUNCATED;
  const length = load<u32>(p, REC_OFF_LENGTH);
  if (length < REC_MIN_SIZE || length > RECORD_LIMIT) return -STATUS_BAD_LENGTH;
  if (length > available) return -STATUS_TRUNCATED;
  const body = <usize>(length - REC_CHECKSUM_SIZE);
  if (hash64(p, body, 0) != load<u64>(p + body)) return -STATUS_BAD_CHECKSUM;
  const fields = checkFields(p, length);
  return fields == STATUS_OK ? <i32>length : -fields;
}

/** Address of the decode result area (layout above). */
export function recordDecoded(): usize {
  return DECODED;
}

/**
 * Verifies the record at `ptr` (at most `available` bytes) and, on success,
 * fills the decode result area; returns the record length or a negated STATUS_*.
 */
export function recordDecode(ptr: usize, available: u32): i32 {
  const length = checkRecord(ptr, available);
  if (length < 0) return length;
  fillDecoded(ptr, length);
  return length;
}

/**
 * recordDecode for bytes whose checksum was verified since they were read
 * (a block the scan that indexed it verified whole): lengths and fields are
 * still checked, so a wrong offset cannot read outside the record.
 */
export function recordLocate(ptr: usize, available: u32): i32 {
  if (available < 4) return -STATUS_TRUNCATED;
  const length = load<u32>(ptr, REC_OFF_LENGTH);
  if (length < REC_MIN_SIZE || length > RECORD_LIMIT) return -STATUS_BAD_LENGTH;
  if (length > available) return -STATUS_TRUNCATED;
  const fields = checkFields(ptr, length);
  if (fields != STATUS_OK) return -fields;
  fillDecoded(ptr, <i32>length);
  return <i32>length;
}

// @ts-expect-error: decorator
@inline
function fillDecoded(ptr: usize, length: i32): void {
  const flags = <u32>load<u8>(ptr, REC_OFF_FLAGS);
  const subjectLen = <u32>load<u16>(ptr, REC_OFF_SUBJECT_LEN);
  const hdrLen = load<u32>(ptr, REC_OFF_HDR_LEN);
  let fieldsAt = ptr + REC_HEADER_SIZE;
  let ttl: f64 = 0;
  if (flags & REC_FLAG_TTL) {
    ttl = <f64>load<i64>(fieldsAt);
    fieldsAt += REC_TTL_SIZE;
  }
  const hdrAt = fieldsAt + subjectLen;
  const msgAt = hdrAt + hdrLen;
  store<f64>(DECODED, <f64>load<u64>(ptr, REC_OFF_SEQ), 0);
  store<u64>(DECODED, load<u64>(ptr, REC_OFF_TS), 8);
  store<f64>(DECODED, ttl, 16);
  store<u32>(DECODED, <u32>length, 24);
  store<u32>(DECODED, flags, 28);
  store<u32>(DECODED, <u32>fieldsAt, 32);
  store<u32>(DECODED, subjectLen, 36);
  store<u32>(DECODED, <u32>hdrAt, 40);
  store<u32>(DECODED, hdrLen, 44);
  store<u32>(DECODED, <u32>msgAt, 48);
  store<u32>(DECODED, <u32>(ptr + <usize>length - REC_CHECKSUM_SIZE - msgAt), 52);
  store<i32>(DECODED, findSubject(fieldsAt, subjectLen), 56);
}

// @ts-expect-error: decorator
@inline
function isSafeCount(value: f64): bool {
  return value >= 0 && value <= MAX_SEQ && Math.floor(value) == value;
}

/**
 * Writes the fixed header (and TTL) of a record at `dst` whose subject,
 * headers and payload the caller has already written in place, then the
 * checksum; returns the record length, or a negated STATUS_BAD_FIELDS /
 * STATUS_BAD_LENGTH for arguments no decoder would accept (nothing written).
 */
export function recordSeal(
  dst: usize,
  seq: f64,
  ts: i64,
  subjectLen: u32,
  hdrLen: u32,
  msgLen: u32,
  flags: u32,
  ttl: f64,
): i32 {
  if (!isSafeCount(seq) || subjectLen > MAX_SUBJECT_BYTES) return -STATUS_BAD_FIELDS;
  // TTL -1 is nats-server's "never expires".
  if ((flags & REC_FLAG_TTL) != 0 && ttl != -1 && !isSafeCount(ttl)) return -STATUS_BAD_FIELDS;
  const ttlSize: u64 = flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0;
  const total =
    <u64>REC_MIN_SIZE + ttlSize + <u64>subjectLen + <u64>hdrLen + <u64>msgLen;
  if (total > <u64>RECORD_LIMIT) return -STATUS_BAD_LENGTH;
  const length = <u32>total;
  // Field rules are checked on the header as it would be written, before writing it.
  const header = STAGED;
  store<u8>(header, <u8>flags, REC_OFF_FLAGS);
  store<u8>(header, 0, REC_OFF_RESERVED);
  store<u16>(header, <u16>subjectLen, REC_OFF_SUBJECT_LEN);
  store<u64>(header, <u64>seq, REC_OFF_SEQ);
  store<u32>(header, hdrLen, REC_OFF_HDR_LEN);
  if (ttlSize) store<i64>(header, <i64>ttl, REC_HEADER_SIZE);
  if (flags > 0xff || checkFields(header, length) != STATUS_OK) return -STATUS_BAD_FIELDS;

  store<u32>(dst, length, REC_OFF_LENGTH);
  store<u16>(dst, <u16>subjectLen, REC_OFF_SUBJECT_LEN);
  store<u8>(dst, <u8>flags, REC_OFF_FLAGS);
  store<u8>(dst, 0, REC_OFF_RESERVED);
  store<u64>(dst, <u64>seq, REC_OFF_SEQ);
  store<i64>(dst, ts, REC_OFF_TS);
  store<u32>(dst, hdrLen, REC_OFF_HDR_LEN);
  if (ttlSize) store<i64>(dst, <i64>ttl, REC_HEADER_SIZE);
  const body = <usize>(length - REC_CHECKSUM_SIZE);
  store<u64>(dst + body, hash64(dst, body, 0));
  return <i32>length;
}

/**
 * `recordSeal` for a tombstone or a skip (no subject, headers or TTL; `msgLen`
 * payload bytes already in place), its timestamp in halves: a removal reads
 * them from the removed record and builds no BigInt.
 */
export function recordSealBare(
  dst: usize,
  seq: f64,
  tsHi: i32,
  tsLo: u32,
  msgLen: u32,
  flags: u32,
): i32 {
  return recordSeal(dst, seq, (<i64>tsHi << 32) | <i64>tsLo, 0, 0, msgLen, flags, 0);
}
