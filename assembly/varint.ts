// The flat ABI for unsigned LEB128 varints of u64 (the encoding and its rules
// live in leb128.ts: canonical only; truncated, over-long and overflowing input
// rejected). A u64 crosses the boundary as two u32 halves (hi, lo), or as an
// f64 when the caller knows it is a safe integer; exporting i64 was rejected
// because every call would then create a BigInt in JavaScript.
import { readVarint, varintSize64, varintValue, writeVarint } from "./leb128";

const MAX_SAFE: f64 = 9007199254740991;

/** Bytes the u64 (hi, lo) takes when encoded: 1 to 10. */
export function varintSize(hi: u32, lo: u32): i32 {
  return varintSize64((<u64>hi << 32) | <u64>lo);
}

/** Writes the u64 (hi, lo) at `ptr` (room for 10 bytes); returns the bytes written. */
export function varintWrite(ptr: usize, hi: u32, lo: u32): i32 {
  return writeVarint(ptr, (<u64>hi << 32) | <u64>lo);
}

/**
 * Writes `value`, a non-negative safe integer, at `ptr` (room for 8 bytes);
 * returns the bytes written, or 0 when `value` is not such an integer.
 */
export function varintWriteF64(ptr: usize, value: f64): i32 {
  if (!(value >= 0 && value <= MAX_SAFE) || value != Math.floor(value)) return 0;
  return writeVarint(ptr, <u64>value);
}

/**
 * Reads a varint from the `len` bytes at `ptr` and stores its value at `out`
 * as a little-endian u64 (low u32 first); returns the bytes consumed (1 to 10)
 * or a negated status (STATUS_TRUNCATED, STATUS_VARINT_OVERLONG,
 * STATUS_VARINT_OVERFLOW), leaving `out` untouched.
 */
export function varintRead(ptr: usize, len: i32, out: usize): i32 {
  let read = readVarint(ptr, ptr + <usize>max(len, 0));
  if (read > 0) store<u64>(out, varintValue);
  return read;
}
