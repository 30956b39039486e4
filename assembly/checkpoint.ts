// The checkpoint's subject entries (FORMAT.md, "Checkpoint"): each a u32
// length, the subject's bytes, then u64 msgs, first and last. Open walks them
// once (src/filestore/checkpoint-subjects.ts); a byte loop in JavaScript runs
// there cold, in the interpreter, which was most of reading a clean store's
// checkpoint. The host checks the UTF-8 of the few subjects flagged here.

const FNV_OFFSET: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;
/** u32 subject length, then u64 msgs, first and last around the subject bytes. */
const FIXED: u64 = 28;

/** 0 the failing entry's index u32, 4 the offset where it fails u32. */
const RESULT: usize = memory.data(8, 4);

const WALK_ENDS_EARLY: i32 = -1;
const WALK_OUT_OF_RANGE: i32 = -2;

/**
 * Walks `count` entries of the `len` bytes at `bytes`, from offset `at`.
 * Per entry: its offset (in `bytes`) into the u32s at `starts`, the
 * FNV-1a hash of its subject into the u32s at `hashes`, and into the bytes at
 * `nonAscii` 1 when its subject holds a byte of 0x80 or more, else 0. Returns
 * how many entries hold such a byte, or WALK_ENDS_EARLY (an entry runs past
 * `len`) or WALK_OUT_OF_RANGE (msgs, first or last is 2^53 or more), the
 * entry's index and offset then in `subjectsWalkResult()`; the entries
 * before it are written.
 */
export function subjectsWalk(
  bytes: usize,
  len: u32,
  at: u32,
  count: u32,
  starts: usize,
  hashes: usize,
  nonAscii: usize,
): i32 {
  let offset = <u64>at;
  const end = <u64>len;
  let flagged: i32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (offset + FIXED > end) return fail(i, offset, WALK_ENDS_EARLY);
    store<u32>(starts + ((<usize>i) << 2), <u32>offset);
    const length = <u64>load<u32>(bytes + <usize>offset);
    const from = offset + 4;
    const to = from + length;
    // A length of 2^31 or more reads as negative on the host: ends early there too.
    if (length >= 0x8000_0000 || to + 24 > end) return fail(i, offset, WALK_ENDS_EARLY);
    let h = FNV_OFFSET;
    let high: u32 = 0;
    for (let p = bytes + <usize>from, stop = bytes + <usize>to; p < stop; p++) {
      const b = <u32>load<u8>(p);
      high |= b;
      h = (h ^ b) * FNV_PRIME;
    }
    store<u32>(hashes + ((<usize>i) << 2), h);
    const wide: u8 = high >= 0x80 ? 1 : 0;
    store<u8>(nonAscii + <usize>i, wide);
    flagged += wide;
    // msgs, first and last must be safe integers: the high halves below 2^21.
    const ints = bytes + <usize>to;
    if (load<u8>(ints, 7) >= 0x20 || load<u8>(ints, 15) >= 0x20 || load<u8>(ints, 23) >= 0x20)
      return fail(i, to, WALK_OUT_OF_RANGE);
    offset = to + 24;
  }
  store<u32>(starts + ((<usize>count) << 2), <u32>offset);
  return flagged;
}

export function subjectsWalkResult(): usize {
  return RESULT;
}

function fail(index: u32, offset: u64, why: i32): i32 {
  store<u32>(RESULT, index);
  store<u32>(RESULT, <u32>offset, 4);
  return why;
}
