/**
 * xxHash64 in plain TypeScript, on u32 halves with Math.imul: the oracle the
 * WASM core is checked against and the baseline it is benchmarked against.
 * BigInt arithmetic was rejected: it allocates per operation and would make
 * the baseline a straw man. A 64-bit value is a (hi, lo) pair of u32 numbers;
 * helpers return the low half and leave the high half in `hi`.
 */

// The five primes of xxHash64, as [hi, lo].
const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

/** High half of the last helper's result. */
let hi = 0;

/** (aH, aL) * (bH, bL) mod 2^64. */
function mul(aH: number, aL: number, bH: number, bL: number): number {
  const a0 = aL & 0xffff;
  const a1 = aL >>> 16;
  const b0 = bL & 0xffff;
  const b1 = bL >>> 16;
  // High 32 bits of the 64-bit product aL * bL, from 16-bit partial products (all exact in doubles).
  const carry = Math.floor((a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16)) / 65536);
  hi = (a1 * b1 + carry + Math.imul(aH, bL) + Math.imul(aL, bH)) >>> 0;
  return Math.imul(aL, bL) >>> 0;
}

/** (aH, aL) + (bH, bL) mod 2^64. */
function add(aH: number, aL: number, bH: number, bL: number): number {
  const lo = aL + bL;
  hi = (aH + bH + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  return lo >>> 0;
}

/** Rotates (h, l) left by 0 < r < 32. */
function rotl(h: number, l: number, r: number): number {
  hi = ((h << r) | (l >>> (32 - r))) >>> 0;
  return ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1. */
function round(accH: number, accL: number, laneH: number, laneL: number): number {
  let l = mul(laneH, laneL, P2H, P2L);
  l = add(accH, accL, hi, l);
  l = rotl(hi, l, 31);
  return mul(hi, l, P1H, P1L);
}

function read32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/**
 * xxHash64 of `bytes[at, at + len)` with seed (seedHi, seedLo); returns the
 * low half and leaves the high half for `resultHi()`.
 */
export function xxh64Parts(
  bytes: Uint8Array,
  at: number,
  len: number,
  seedHi: number,
  seedLo: number,
): number {
  const end = at + len;
  let p = at;
  let hH: number;
  let hL: number;
  if (len >= 32) {
    let v1L = add(seedHi, seedLo, P1H, P1L);
    let v1H = hi;
    v1L = add(v1H, v1L, P2H, P2L);
    v1H = hi;
    let v2L = add(seedHi, seedLo, P2H, P2L);
    let v2H = hi;
    let v3H = seedHi;
    let v3L = seedLo;
    // seed - P1 = seed + (2^64 - P1)
    let v4L = add(seedHi, seedLo, ~P1H >>> 0, (~P1L + 1) >>> 0);
    let v4H = hi;
    const limit = end - 32;
    do {
      v1L = round(v1H, v1L, read32(bytes, p + 4), read32(bytes, p));
      v1H = hi;
      v2L = round(v2H, v2L, read32(bytes, p + 12), read32(bytes, p + 8));
      v2H = hi;
      v3L = round(v3H, v3L, read32(bytes, p + 20), read32(bytes, p + 16));
      v3H = hi;
      v4L = round(v4H, v4L, read32(bytes, p + 28), read32(bytes, p + 24));
      v4H = hi;
      p += 32;
    } while (p <= limit);
    hL = rotl(v1H, v1L, 1);
    hH = hi;
    let tL = rotl(v2H, v2L, 7);
    hL = add(hH, hL, hi, tL);
    hH = hi;
    tL = rotl(v3H, v3L, 12);
    hL = add(hH, hL, hi, tL);
    hH = hi;
    tL = rotl(v4H, v4L, 18);
    hL = add(hH, hL, hi, tL);
    hH = hi;
    hL = merge(hH, hL, v1H, v1L);
    hH = hi;
    hL = merge(hH, hL, v2H, v2L);
    hH = hi;
    hL = merge(hH, hL, v3H, v3L);
    hH = hi;
    hL = merge(hH, hL, v4H, v4L);
    hH = hi;
  } else {
    hL = add(seedHi, seedLo, P5H, P5L);
    hH = hi;
  }
  // len < 2^53, so its high half is len / 2^32.
  hL = add(hH, hL, Math.floor(len / 0x100000000), len >>> 0);
  hH = hi;
  while (p + 8 <= end) {
    const kL = round(0, 0, read32(bytes, p + 4), read32(bytes, p));
    hL = rotl(hH ^ hi, hL ^ kL, 27);
    hL = mul(hi, hL, P1H, P1L);
    hL = add(hi, hL, P4H, P4L);
    hH = hi;
    p += 8;
  }
  if (p + 4 <= end) {
    const kL = mul(0, read32(bytes, p), P1H, P1L);
    hL = rotl(hH ^ hi, hL ^ kL, 23);
    hL = mul(hi, hL, P2H, P2L);
    hL = add(hi, hL, P3H, P3L);
    hH = hi;
    p += 4;
  }
  while (p < end) {
    const kL = mul(0, bytes[p], P5H, P5L);
    hL = rotl(hH ^ hi, hL ^ kL, 11);
    hL = mul(hi, hL, P1H, P1L);
    hH = hi;
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hL = (hL ^ (hH >>> 1)) >>> 0;
  hL = mul(hH, hL, P2H, P2L);
  hH = hi;
  hL = (hL ^ ((hL >>> 29) | (hH << 3))) >>> 0;
  hH = (hH ^ (hH >>> 29)) >>> 0;
  hL = mul(hH, hL, P3H, P3L);
  hH = hi;
  hL = (hL ^ hH) >>> 0;
  hi = hH;
  return hL;
}

/** mergeRound: (acc ^ round(0, lane)) * P1 + P4. */
function merge(accH: number, accL: number, laneH: number, laneL: number): number {
  const rL = round(0, 0, laneH, laneL);
  const l = mul(accH ^ hi, (accL ^ rL) >>> 0, P1H, P1L);
  return add(hi, l, P4H, P4L);
}

/** High half of the last `xxh64Parts` result. */
export function resultHi(): number {
  return hi;
}

/** xxHash64 of `bytes` with `seed` (an unsigned 64-bit bigint), as an unsigned bigint. */
export function xxh64(bytes: Uint8Array, seed = 0n): bigint {
  const lo = xxh64Parts(bytes, 0, bytes.length, Number(seed >> 32n), Number(seed & 0xffffffffn));
  return (BigInt(hi) << 32n) | BigInt(lo);
}
