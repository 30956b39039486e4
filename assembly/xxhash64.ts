// xxHash64 (seeded), bit-exact with the reference algorithm. It owns the
// record checksum, so it is the hottest loop of the core: four u64 lanes over
// 32-byte stripes with unaligned `load<u64>` and immediate offsets, no bounds
// checks (the host's guard pages already trap out-of-memory reads).
// `hash64` returns u64 for callers inside the core (inlined into the record and
// scan loops); the export writes its result into a static 8-byte slot so the
// JavaScript side never receives an i64 (a BigInt per call is slow).

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

const RESULT: usize = memory.data(8, 8);

// @ts-expect-error: decorator
@inline
function round(acc: u64, lane: u64): u64 {
  return rotl<u64>(acc + lane * P2, 31) * P1;
}

// @ts-expect-error: decorator
@inline
function merge(acc: u64, lane: u64): u64 {
  return (acc ^ round(0, lane)) * P1 + P4;
}

/** xxHash64 of `len` bytes at `ptr` with `seed`. */
// @ts-expect-error: decorator
@inline
export function hash64(ptr: usize, len: usize, seed: u64): u64 {
  const end = ptr + len;
  let h: u64;
  if (len >= 32) {
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    const limit = end - 32;
    do {
      v1 = round(v1, load<u64>(ptr));
      v2 = round(v2, load<u64>(ptr, 8));
      v3 = round(v3, load<u64>(ptr, 16));
      v4 = round(v4, load<u64>(ptr, 24));
      ptr += 32;
    } while (ptr <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = seed + P5;
  }
  h += <u64>len;
  while (ptr + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(ptr)), 27) * P1 + P4;
    ptr += 8;
  }
  if (ptr + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(ptr) * P1), 23) * P2 + P3;
    ptr += 4;
  }
  while (ptr < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(ptr) * P5), 11) * P1;
    ptr++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/** Address of the 8-byte slot where `xxh64` leaves its result (little-endian u64). */
export function xxh64Result(): usize {
  return RESULT;
}

/** Hashes `len` bytes at `ptr` with the seed given as two u32 halves; result in `xxh64Result()`. */
export function xxh64(ptr: usize, len: usize, seedHi: u32, seedLo: u32): void {
  store<u64>(RESULT, hash64(ptr, len, (<u64>seedHi << 32) | <u64>seedLo));
}
