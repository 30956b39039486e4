// A run of records located for a scan to serve one by one (src/filestore/scan-run.ts):
// one call per ~16 KiB of a block whose checksums were verified when it was read, where a
// call per record cost a scan more than its message's copy.
import {
  REC_CHECKSUM_SIZE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_HDR_LEN,
  REC_OFF_LENGTH,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
} from "./format";
import { findSubject } from "./intern";

/** Bytes per located record (TypeScript's RUN_ROW_BYTES). */
const RUN_ROW_SIZE: u32 = 48;

/**
 * Locates the consecutive records of verified bytes from `buf + start` that
 * end within `maxBytes` of it, at most `maxRecords`, writing a row of
 * RUN_ROW_SIZE bytes each at `out`: 0 seq · 8 timestamp · 16 flags · 20 the
 * subject's intern slot or -1 · 24 record start · 28 subject length · 32
 * subject · 36 headers · 40 headers length · 44 payload length, the payload
 * ending where the checksum starts (positions relative to `start`). Returns
 * the rows written; a length that does not fit the bytes, or fields that do
 * not fit their record (damage the block's index passed over), end the run.
 */
export function locateRun(
  buf: usize,
  len: u32,
  start: u32,
  maxBytes: u32,
  maxRecords: u32,
  out: usize,
): i32 {
  let offset = start;
  let count: u32 = 0;
  const end = len - start > maxBytes ? start + maxBytes : len;
  while (offset < end && count < maxRecords) {
    const p = buf + <usize>offset;
    if (end - offset < REC_MIN_SIZE) break;
    const length = load<u32>(p, REC_OFF_LENGTH);
    if (length < REC_MIN_SIZE || length > end - offset) break;
    const flags = <u32>load<u8>(p, REC_OFF_FLAGS);
    const subjectLen = <u32>load<u16>(p, REC_OFF_SUBJECT_LEN);
    const hdrLen = load<u32>(p, REC_OFF_HDR_LEN);
    const subjectAt = offset + REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
    const hdrAt = subjectAt + subjectLen;
    // Fields past the record's end: a damaged record the index passed over ends the run.
    if (<u64>hdrAt + <u64>hdrLen + REC_CHECKSUM_SIZE > <u64>offset + <u64>length) break;
    const row = out + <usize>count * RUN_ROW_SIZE;
    store<f64>(row, <f64>load<u64>(p, REC_OFF_SEQ), 0);
    store<u64>(row, load<u64>(p, REC_OFF_TS), 8);
    store<u32>(row, flags, 16);
    store<i32>(row, findSubject(buf + <usize>subjectAt, subjectLen), 20);
    store<u32>(row, offset - start, 24);
    store<u32>(row, subjectLen, 28);
    store<u32>(row, subjectAt - start, 32);
    store<u32>(row, hdrAt - start, 36);
    store<u32>(row, hdrLen, 40);
    store<u32>(row, offset + length - REC_CHECKSUM_SIZE - hdrAt - hdrLen, 44);
    offset += length;
    count++;
  }
  return <i32>count;
}
