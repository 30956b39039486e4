// Unsigned LEB128 over u64, for use inside the core (varint.ts is the flat ABI
// over it; seqset.ts encodes with it). Not re-exported by index.ts, so u64
// parameters never reach the JS boundary, where they would cost a BigInt.
//
// Encoding: seven bits per byte, least significant group first, the high bit
// set on every byte but the last; 1 to 10 bytes. Decoding accepts exactly one
// byte sequence per value (the canonical, shortest one), so encoded data has
// one spelling and a checksum or a byte comparison never disagrees with the
// decoded value. Rejected:
//   - truncated: the input ends while the high bit says more bytes follow;
//   - over-long: a final byte of 0x00 after the first byte (the value fits in
//     fewer bytes), e.g. 80 00 for 0;
//   - overflow: a 10th byte above 0x01 (it holds bit 63 only), or a 10th byte
//     with its high bit set.
// Accepting non-canonical input and normalizing on write was rejected: two
// spellings of one value defeat byte-for-byte comparison of encoded sets.
import { STATUS_TRUNCATED, STATUS_VARINT_OVERFLOW, STATUS_VARINT_OVERLONG } from "./format";

/** Longest encoding of a u64. */
export const MAX_VARINT_BYTES: i32 = 10;

/** The value of the last successful `readVarint`. */
export let varintValue: u64 = 0;

/** Bytes `value` takes when encoded: 1 to 10. */
@inline
export function varintSize64(value: u64): i32 {
  return 1 + (63 - <i32>clz<u64>(value | 1)) / 7;
}

/** Writes `value` at `ptr`; returns the bytes written (1 to 10). */
export function writeVarint(ptr: usize, value: u64): i32 {
  let i = 0;
  while (value >= 0x80) {
    store<u8>(ptr + i, <u8>(value | 0x80));
    value >>= 7;
    i++;
  }
  store<u8>(ptr + i, <u8>value);
  return i + 1;
}

/**
 * Reads one varint from [ptr, end): returns the bytes consumed (1 to 10) and
 * leaves the value in `varintValue`, or returns a negated status and reads
 * nothing past `end`.
 */
export function readVarint(ptr: usize, end: usize): i32 {
  if (ptr >= end) return -STATUS_TRUNCATED;
  let b = <u64>load<u8>(ptr);
  if (b < 0x80) {
    varintValue = b;
    return 1;
  }
  let value = b & 0x7f;
  let shift: u64 = 7;
  for (let i = 1; i < MAX_VARINT_BYTES; i++) {
    if (ptr + i >= end) return -STATUS_TRUNCATED;
    b = <u64>load<u8>(ptr + i);
    if (i == MAX_VARINT_BYTES - 1) {
      if (b > 1) return -STATUS_VARINT_OVERFLOW;
      if (b == 0) return -STATUS_VARINT_OVERLONG;
      varintValue = value | (b << 63);
      return MAX_VARINT_BYTES;
    }
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      if (b == 0) return -STATUS_VARINT_OVERLONG;
      varintValue = value;
      return i + 1;
    }
    shift += 7;
  }
  return -STATUS_VARINT_OVERFLOW; // unreachable: the 10th byte always returns
}
