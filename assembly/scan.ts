// Block scan = index rebuild: one call walks consecutive records, verifies
// every checksum and field rule (./record.ts), and writes struct-of-arrays
// output (seq, ts, offset, length, flags, optional 32-bit subject hash) into
// regions TypeScript allocated once with a capacity. It stops at the first torn
// or corrupt record and reports where and why, so recovery can truncate a torn
// tail or resynchronise past damage. Struct-of-arrays was chosen over an array
// of structs so each column is a plain typed array in JavaScript (no DataView
// per field), and so the verify-only path can skip columns it does not need.
import {
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
  STATUS_OK,
} from "./format";
import { checkRecord } from "./record";
import { hash64 } from "./xxhash64";

// Scan result area: 0 stop offset u32 (relative to the buffer) · 4 status i32.
const SCANNED: usize = memory.data(8, 8);

/** The subject hash the index groups by: the low 32 bits of xxHash64 (seed 0). */
// @ts-expect-error: decorator
@inline
function subjectHash32(ptr: usize, len: usize): u32 {
  return <u32>hash64(ptr, len, 0);
}

/** Low 32 bits of xxHash64 (seed 0) of `len` bytes at `ptr`: the scan's subject hash. */
export function subjectHash(ptr: usize, len: usize): u32 {
  return subjectHash32(ptr, len);
}

/** Address of the scan result area (layout above). */
export function scanResult(): usize {
  return SCANNED;
}

/**
 * Scans records from `buf + start` up to `buf + len`, at most `maxRecords`,
 * into the output columns (indexed from 0); returns how many records were
 * written. `hashOut` 0 skips the subject hash. The result area then holds the
 * stop offset (the first byte not consumed) and STATUS_OK, or the negated
 * failure's STATUS_* positive value with the stop offset at the bad record.
 * With STATUS_OK, a stop offset below `len` means `maxRecords` was reached.
 */
export function scanRecords(
  buf: usize,
  len: u32,
  start: u32,
  maxRecords: u32,
  seqOut: usize,
  tsOut: usize,
  offsetOut: usize,
  lengthOut: usize,
  flagsOut: usize,
  hashOut: usize,
): i32 {
  let offset = start;
  let count: u32 = 0;
  let status: i32 = STATUS_OK;
  while (offset < len && count < maxRecords) {
    const p = buf + <usize>offset;
    const length = checkRecord(p, len - offset);
    if (length < 0) {
      status = -length;
      break;
    }
    store<f64>(seqOut + (<usize>count << 3), <f64>load<u64>(p, REC_OFF_SEQ));
    store<u64>(tsOut + (<usize>count << 3), load<u64>(p, REC_OFF_TS));
    store<u32>(offsetOut + (<usize>count << 2), offset);
    store<u32>(lengthOut + (<usize>count << 2), <u32>length);
    const flags = load<u8>(p, REC_OFF_FLAGS);
    store<u8>(flagsOut + <usize>count, flags);
    if (hashOut != 0) {
      const subjectAt = p + REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
      const subjectLen = <usize>load<u16>(p, REC_OFF_SUBJECT_LEN);
      store<u32>(hashOut + (<usize>count << 2), subjectHash32(subjectAt, subjectLen));
    }
    offset += <u32>length;
    count++;
  }
  store<u32>(SCANNED, offset, 0);
  store<i32>(SCANNED, status, 4);
  return <i32>count;
}

/**
 * Builds a block's offset index in one call: verifies every record from
 * `buf + start` to `buf + len` as scanRecords does and writes the offset of
 * each message with sequence `first + i` (i < `count`) to `indexOut` (u32
 * each; 0xffffffff where no message is). Returns the records walked; the
 * result area holds the stop offset and status as scanRecords leaves them.
 * A block that does not verify to its end is the caller's to rescan slowly.
 */
export function indexRecords(
  buf: usize,
  len: u32,
  start: u32,
  first: f64,
  count: u32,
  indexOut: usize,
): i32 {
  memory.fill(indexOut, 0xff, <usize>count << 2);
  const low = <u64>first;
  let offset = start;
  let walked: i32 = 0;
  let status: i32 = STATUS_OK;
  while (offset < len) {
    const p = buf + <usize>offset;
    const length = checkRecord(p, len - offset);
    if (length < 0) {
      status = -length;
      break;
    }
    if ((load<u8>(p, REC_OFF_FLAGS) & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP)) == 0) {
      const i = load<u64>(p, REC_OFF_SEQ) - low;
      if (i < <u64>count) store<u32>(indexOut + (<usize>i << 2), offset);
    }
    offset += <u32>length;
    walked++;
  }
  store<u32>(SCANNED, offset, 0);
  store<i32>(SCANNED, status, 4);
  return walked;
}
