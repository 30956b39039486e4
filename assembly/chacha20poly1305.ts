// ChaCha20-Poly1305, the AEAD of RFC 8439 (32-byte key, 12-byte nonce,
// 16-byte tag), on bytes in linear memory. It exists because Bun has no
// native ChaCha20 and @noble/ciphers is an order of magnitude slower than a
// native one; it must stay byte-identical to @noble/ciphers (the oracle).
//
// ChaCha20 runs four blocks at once: each v128 holds one state word of four
// consecutive counters, so a quarter round is plain lane-wise arithmetic, and
// a 4x4 transpose per row turns the result back into four blocks of bytes.
// The first call of a message makes counters 0..3: block 0 is the Poly1305
// key, blocks 1..3 cover the first 192 bytes, so no scalar block is needed.
//
// Poly1305 keeps the accumulator in 32-bit limbs inside u64 (h0..h3, and h4
// above 2^128). Clamping leaves r1..r3 multiples of 4 below 2^28, so a
// product that wraps past 2^128 folds back as h·(5·r/4) (2^130 = 5 mod p):
// 20 multiplies per 16-byte block and every partial sum stays below 2^64.
//
// The two run stitched in one pass: each group of four ChaCha blocks also
// absorbs 256 bytes into Poly1305 during its rounds (see `blocks4`), so a
// message is read once and the scalar multiplies overlap the vector work.
// Opening therefore decrypts before it knows the tag; a failed open zeroes
// what it wrote instead of never writing it.
//
// Key material lives in the static areas below only during a call; every
// export wipes them before returning.

const SIGMA0: u32 = 0x61707865; // "expand 32-byte k", little-endian words
const SIGMA1: u32 = 0x3320646e;
const SIGMA2: u32 = 0x79622d32;
const SIGMA3: u32 = 0x6b206574;
const MASK32: u64 = 0xffffffff;

/** The 16 input words, each splatted over four lanes (the counter row is rebuilt per call). */
const STATE: usize = memory.data(256, 16);
/** Counters 0..3, made at setup: block 0 is the Poly1305 key, read after the message is crypted. */
const KEYSTREAM: usize = memory.data(256, 16);
/** Keystream for the last partial group of four blocks. */
const TAIL: usize = memory.data(256, 16);
/** 256 zero bytes: XORed with the keystream to produce it alone. */
const ZEROS: usize = memory.data(256, 16);
/** A zero-padded partial block, the length block, or the computed tag. */
const BLOCK: usize = memory.data(16, 16);

// Poly1305 state between calls of `polyBlocks` (AAD, then ciphertext, then lengths).
let h0: u64 = 0;
let h1: u64 = 0;
let h2: u64 = 0;
let h3: u64 = 0;
let h4: u64 = 0;
let r0: u64 = 0;
let r1: u64 = 0;
let r2: u64 = 0;
let r3: u64 = 0;

// @ts-expect-error: decorator
@inline
function rotl16(x: v128): v128 {
  return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

// @ts-expect-error: decorator
@inline
function rotl8(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}

// @ts-expect-error: decorator
@inline
function rotl12(x: v128): v128 {
  return v128.or(i32x4.shl(x, 12), i32x4.shr_u(x, 20));
}

// @ts-expect-error: decorator
@inline
function rotl7(x: v128): v128 {
  return v128.or(i32x4.shl(x, 7), i32x4.shr_u(x, 25));
}

/**
 * Transposes one row of four words (`a` … `d`, one lane per block) into the
 * four blocks' 16 bytes at `off`, XORed with `src` into `dst`. Each store
 * follows its own load, so `src == dst` is safe.
 */
// @ts-expect-error: decorator
@inline
function emitRow(a: v128, b: v128, c: v128, d: v128, src: usize, dst: usize): void {
  const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(dst, v128.xor(v128.load(src), i64x2.shuffle(ab01, cd01, 0, 2)));
  v128.store(dst, v128.xor(v128.load(src, 64), i64x2.shuffle(ab01, cd01, 1, 3)), 64);
  v128.store(dst, v128.xor(v128.load(src, 128), i64x2.shuffle(ab23, cd23, 0, 2)), 128);
  v128.store(dst, v128.xor(v128.load(src, 192), i64x2.shuffle(ab23, cd23, 1, 3)), 192);
}

/**
 * XORs 256 bytes at `src` with the keystream of counters `ctr` … `ctr + 3`
 * into `dst`. When `mac` is not 0, also absorbs the 256 bytes at `mac` into
 * Poly1305, two blocks per double round: the MAC's scalar multiplies run on
 * other execution units than ChaCha's vector lanes, so stitched into one
 * loop they cost little more than ChaCha alone. (The absorb step repeats
 * `polyBlocks`'s body because a helper cannot update the caller's limbs.)
 */
function blocks4(ctr: u32, src: usize, dst: usize, mac: usize): void {
  const R0 = r0;
  const R1 = r1;
  const R2 = r2;
  const R3 = r3;
  const S1 = R1 + (R1 >> 2);
  const S2 = R2 + (R2 >> 2);
  const S3 = R3 + (R3 >> 2);
  let a0 = h0;
  let a1 = h1;
  let a2 = h2;
  let a3 = h3;
  let a4 = h4;
  let p = mac;
  const end: usize = mac == 0 ? 0 : mac + 256;
  const counters = i32x4.add(i32x4.splat(ctr), i32x4(0, 1, 2, 3));
  let x0 = v128.load(STATE);
  let x1 = v128.load(STATE, 16);
  let x2 = v128.load(STATE, 32);
  let x3 = v128.load(STATE, 48);
  let x4 = v128.load(STATE, 64);
  let x5 = v128.load(STATE, 80);
  let x6 = v128.load(STATE, 96);
  let x7 = v128.load(STATE, 112);
  let x8 = v128.load(STATE, 128);
  let x9 = v128.load(STATE, 144);
  let x10 = v128.load(STATE, 160);
  let x11 = v128.load(STATE, 176);
  let x12 = counters;
  let x13 = v128.load(STATE, 208);
  let x14 = v128.load(STATE, 224);
  let x15 = v128.load(STATE, 240);
  // The four quarter rounds of each half are independent: written step by
  // step across all four so the engine can overlap them.
  for (let i = 0; i < 10; i++) {
    // Columns: (0 4 8 12) (1 5 9 13) (2 6 10 14) (3 7 11 15).
    x0 = i32x4.add(x0, x4); x1 = i32x4.add(x1, x5); x2 = i32x4.add(x2, x6); x3 = i32x4.add(x3, x7);
    x12 = rotl16(v128.xor(x12, x0)); x13 = rotl16(v128.xor(x13, x1));
    x14 = rotl16(v128.xor(x14, x2)); x15 = rotl16(v128.xor(x15, x3));
    x8 = i32x4.add(x8, x12); x9 = i32x4.add(x9, x13); x10 = i32x4.add(x10, x14); x11 = i32x4.add(x11, x15);
    x4 = rotl12(v128.xor(x4, x8)); x5 = rotl12(v128.xor(x5, x9));
    x6 = rotl12(v128.xor(x6, x10)); x7 = rotl12(v128.xor(x7, x11));
    x0 = i32x4.add(x0, x4); x1 = i32x4.add(x1, x5); x2 = i32x4.add(x2, x6); x3 = i32x4.add(x3, x7);
    x12 = rotl8(v128.xor(x12, x0)); x13 = rotl8(v128.xor(x13, x1));
    x14 = rotl8(v128.xor(x14, x2)); x15 = rotl8(v128.xor(x15, x3));
    x8 = i32x4.add(x8, x12); x9 = i32x4.add(x9, x13); x10 = i32x4.add(x10, x14); x11 = i32x4.add(x11, x15);
    x4 = rotl7(v128.xor(x4, x8)); x5 = rotl7(v128.xor(x5, x9));
    x6 = rotl7(v128.xor(x6, x10)); x7 = rotl7(v128.xor(x7, x11));
    // Diagonals: (0 5 10 15) (1 6 11 12) (2 7 8 13) (3 4 9 14).
    x0 = i32x4.add(x0, x5); x1 = i32x4.add(x1, x6); x2 = i32x4.add(x2, x7); x3 = i32x4.add(x3, x4);
    x15 = rotl16(v128.xor(x15, x0)); x12 = rotl16(v128.xor(x12, x1));
    x13 = rotl16(v128.xor(x13, x2)); x14 = rotl16(v128.xor(x14, x3));
    x10 = i32x4.add(x10, x15); x11 = i32x4.add(x11, x12); x8 = i32x4.add(x8, x13); x9 = i32x4.add(x9, x14);
    x5 = rotl12(v128.xor(x5, x10)); x6 = rotl12(v128.xor(x6, x11));
    x7 = rotl12(v128.xor(x7, x8)); x4 = rotl12(v128.xor(x4, x9));
    x0 = i32x4.add(x0, x5); x1 = i32x4.add(x1, x6); x2 = i32x4.add(x2, x7); x3 = i32x4.add(x3, x4);
    x15 = rotl8(v128.xor(x15, x0)); x12 = rotl8(v128.xor(x12, x1));
    x13 = rotl8(v128.xor(x13, x2)); x14 = rotl8(v128.xor(x14, x3));
    x10 = i32x4.add(x10, x15); x11 = i32x4.add(x11, x12); x8 = i32x4.add(x8, x13); x9 = i32x4.add(x9, x14);
    x5 = rotl7(v128.xor(x5, x10)); x6 = rotl7(v128.xor(x6, x11));
    x7 = rotl7(v128.xor(x7, x8)); x4 = rotl7(v128.xor(x4, x9));
    for (let j = 0; j < 2 && p < end; j++) {
      a0 += <u64>load<u32>(p);
      a1 += <u64>load<u32>(p, 4);
      a2 += <u64>load<u32>(p, 8);
      a3 += <u64>load<u32>(p, 12);
      a4 += 1;
      let d0 = a0 * R0 + a1 * S3 + a2 * S2 + a3 * S1;
      let d1 = a0 * R1 + a1 * R0 + a2 * S3 + a3 * S2 + a4 * S1;
      let d2 = a0 * R2 + a1 * R1 + a2 * R0 + a3 * S3 + a4 * S2;
      let d3 = a0 * R3 + a1 * R2 + a2 * R1 + a3 * R0 + a4 * S3;
      let d4 = a4 * R0;
      d1 += d0 >> 32;
      d2 += d1 >> 32;
      d3 += d2 >> 32;
      d4 += d3 >> 32;
      a0 = (d0 & MASK32) + (d4 >> 2) * 5;
      a1 = d1 & MASK32;
      a2 = d2 & MASK32;
      a3 = d3 & MASK32;
      a4 = d4 & 3;
      p += 16;
    }
  }
  h0 = a0;
  h1 = a1;
  h2 = a2;
  h3 = a3;
  h4 = a4;
  emitRow(
    i32x4.add(x0, v128.load(STATE)),
    i32x4.add(x1, v128.load(STATE, 16)),
    i32x4.add(x2, v128.load(STATE, 32)),
    i32x4.add(x3, v128.load(STATE, 48)),
    src,
    dst,
  );
  emitRow(
    i32x4.add(x4, v128.load(STATE, 64)),
    i32x4.add(x5, v128.load(STATE, 80)),
    i32x4.add(x6, v128.load(STATE, 96)),
    i32x4.add(x7, v128.load(STATE, 112)),
    src + 16,
    dst + 16,
  );
  emitRow(
    i32x4.add(x8, v128.load(STATE, 128)),
    i32x4.add(x9, v128.load(STATE, 144)),
    i32x4.add(x10, v128.load(STATE, 160)),
    i32x4.add(x11, v128.load(STATE, 176)),
    src + 32,
    dst + 32,
  );
  emitRow(
    i32x4.add(x12, counters),
    i32x4.add(x13, v128.load(STATE, 208)),
    i32x4.add(x14, v128.load(STATE, 224)),
    i32x4.add(x15, v128.load(STATE, 240)),
    src + 48,
    dst + 48,
  );
}

/** `dst[i] = src[i] ^ ks[i]` for `len` bytes (at most 256, the keystream buffer). */
function xorKeystream(src: usize, ks: usize, dst: usize, len: usize): void {
  let i: usize = 0;
  for (; i + 16 <= len; i += 16) {
    v128.store(dst + i, v128.xor(v128.load(src + i), v128.load(ks + i)));
  }
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i) ^ load<u8>(ks + i));
}

/** Loads the key and nonce into STATE and makes counters 0..3 into KEYSTREAM. */
function setup(key: usize, nonce: usize): void {
  v128.store(STATE, i32x4.splat(SIGMA0));
  v128.store(STATE, i32x4.splat(SIGMA1), 16);
  v128.store(STATE, i32x4.splat(SIGMA2), 32);
  v128.store(STATE, i32x4.splat(SIGMA3), 48);
  for (let i: usize = 0; i < 8; i++) {
    v128.store(STATE + 64 + i * 16, i32x4.splat(load<u32>(key + i * 4)));
  }
  for (let i: usize = 0; i < 3; i++) {
    v128.store(STATE + 208 + i * 16, i32x4.splat(load<u32>(nonce + i * 4)));
  }
  blocks4(0, ZEROS, KEYSTREAM, 0);
}

/**
 * XORs `len` bytes at `src` with the keystream from counter 1 into `dst`
 * and absorbs the ciphertext (`src` when `opening`, else `dst`) into
 * Poly1305, padded. Each group of 256 ciphertext bytes is absorbed while
 * ChaCha works on the next group to crypt: when opening, the group about
 * to be decrypted (read before it is overwritten, so `dst == src` works);
 * when sealing, the group last written. Needs `setup` and `polyStart`.
 */
function cryptMac(src: usize, len: usize, dst: usize, opening: bool): void {
  const ct = opening ? src : dst;
  let macked = ct; // Poly1305 has absorbed the ciphertext below this address.
  // Counters 1..3 were made by setup, behind the Poly1305 key: 192 bytes, whole blocks.
  let off: usize = len < 192 ? len : 192;
  if (opening) {
    polyPadded(ct, off);
    macked += off;
  }
  xorKeystream(src, KEYSTREAM + 64, dst, off);
  let ctr: u32 = 4;
  for (; off + 256 <= len; off += 256) {
    let mac: usize = 0;
    if (opening || macked + 256 <= dst + off) {
      mac = macked;
      macked += 256;
    }
    blocks4(ctr, src + off, dst + off, mac);
    ctr += 4;
  }
  if (off < len) {
    if (opening) {
      polyPadded(macked, ct + len - macked);
      macked = ct + len;
    }
    blocks4(ctr, ZEROS, TAIL, 0);
    xorKeystream(src + off, TAIL, dst + off, len - off);
  }
  polyPadded(macked, ct + len - macked);
}

/** Starts a MAC with the one-time key r at `key` (its s half is read by `polyFinish`). */
function polyStart(key: usize): void {
  r0 = <u64>(load<u32>(key) & 0x0fffffff);
  r1 = <u64>(load<u32>(key, 4) & 0x0ffffffc);
  r2 = <u64>(load<u32>(key, 8) & 0x0ffffffc);
  r3 = <u64>(load<u32>(key, 12) & 0x0ffffffc);
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
}

/**
 * Absorbs the 16-byte blocks from `p` to `end`, each with its 2^128 bit.
 * Limbs stay partly carried between blocks (h0 below 2^33, h4 below 8),
 * which the bounds in the header allow.
 */
function polyBlocks(p: usize, end: usize): void {
  const R0 = r0;
  const R1 = r1;
  const R2 = r2;
  const R3 = r3;
  const S1 = R1 + (R1 >> 2);
  const S2 = R2 + (R2 >> 2);
  const S3 = R3 + (R3 >> 2);
  let a0 = h0;
  let a1 = h1;
  let a2 = h2;
  let a3 = h3;
  let a4 = h4;
  while (p < end) {
    a0 += <u64>load<u32>(p);
    a1 += <u64>load<u32>(p, 4);
    a2 += <u64>load<u32>(p, 8);
    a3 += <u64>load<u32>(p, 12);
    a4 += 1;
    let d0 = a0 * R0 + a1 * S3 + a2 * S2 + a3 * S1;
    let d1 = a0 * R1 + a1 * R0 + a2 * S3 + a3 * S2 + a4 * S1;
    let d2 = a0 * R2 + a1 * R1 + a2 * R0 + a3 * S3 + a4 * S2;
    let d3 = a0 * R3 + a1 * R2 + a2 * R1 + a3 * R0 + a4 * S3;
    let d4 = a4 * R0;
    d1 += d0 >> 32;
    d2 += d1 >> 32;
    d3 += d2 >> 32;
    d4 += d3 >> 32;
    a0 = (d0 & MASK32) + (d4 >> 2) * 5;
    a1 = d1 & MASK32;
    a2 = d2 & MASK32;
    a3 = d3 & MASK32;
    a4 = d4 & 3;
    p += 16;
  }
  h0 = a0;
  h1 = a1;
  h2 = a2;
  h3 = a3;
  h4 = a4;
}

/** Absorbs `len` bytes at `p`, the last partial block zero-padded (RFC 8439 §2.8). */
function polyPadded(p: usize, len: usize): void {
  const whole = len & ~(<usize>15);
  polyBlocks(p, p + whole);
  if (whole < len) {
    v128.store(BLOCK, v128.splat<i32>(0));
    memory.copy(BLOCK, p + whole, len - whole);
    polyBlocks(BLOCK, BLOCK + 16);
  }
}

/** Writes the tag (h mod p, plus s mod 2^128) to `out`; `s` is the key's second half. */
function polyFinish(s: usize, out: usize): void {
  // Carry fully, fold the bits above 2^130, carry again: h < 2p.
  let a0 = h0;
  let a1 = h1 + (a0 >> 32);
  a0 &= MASK32;
  let a2 = h2 + (a1 >> 32);
  a1 &= MASK32;
  let a3 = h3 + (a2 >> 32);
  a2 &= MASK32;
  let a4 = h4 + (a3 >> 32);
  a3 &= MASK32;
  a0 += (a4 >> 2) * 5;
  a4 &= 3;
  a1 += a0 >> 32;
  a0 &= MASK32;
  a2 += a1 >> 32;
  a1 &= MASK32;
  a3 += a2 >> 32;
  a2 &= MASK32;
  a4 += a3 >> 32;
  a3 &= MASK32;
  // h >= p exactly when h + 5 reaches 2^130; pick h + 5 - 2^130 then, without a branch.
  let g0 = a0 + 5;
  let g1 = a1 + (g0 >> 32);
  let g2 = a2 + (g1 >> 32);
  let g3 = a3 + (g2 >> 32);
  const g4 = a4 + (g3 >> 32);
  const take = <u64>0 - (g4 >> 2);
  a0 = (a0 & ~take) | (g0 & take);
  a1 = (a1 & ~take) | (g1 & take);
  a2 = (a2 & ~take) | (g2 & take);
  a3 = (a3 & ~take) | (g3 & take);
  let t = (a0 & MASK32) + <u64>load<u32>(s);
  store<u32>(out, <u32>t);
  t = (a1 & MASK32) + <u64>load<u32>(s, 4) + (t >> 32);
  store<u32>(out, <u32>t, 4);
  t = (a2 & MASK32) + <u64>load<u32>(s, 8) + (t >> 32);
  store<u32>(out, <u32>t, 8);
  t = (a3 & MASK32) + <u64>load<u32>(s, 12) + (t >> 32);
  store<u32>(out, <u32>t, 12);
}

/** Writes the tag to `out` once the AAD and the ciphertext are absorbed. */
function macFinish(aadLen: usize, ctLen: usize, out: usize): void {
  store<u64>(BLOCK, <u64>aadLen);
  store<u64>(BLOCK, <u64>ctLen, 8);
  polyBlocks(BLOCK, BLOCK + 16);
  polyFinish(KEYSTREAM + 16, out);
}

/** Leaves no key, keystream or accumulator behind. */
function wipe(): void {
  memory.fill(STATE, 0, 256);
  memory.fill(KEYSTREAM, 0, 256);
  memory.fill(TAIL, 0, 256);
  memory.fill(BLOCK, 0, 16);
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
  r0 = 0;
  r1 = 0;
  r2 = 0;
  r3 = 0;
}

/**
 * Seals `len` bytes at `src` under the 32-byte key at `key` and the 12-byte
 * nonce at `nonce`, authenticating `aadLen` bytes at `aad`: writes the
 * ciphertext and then the 16-byte tag at `dst` (`len + 16` bytes). `dst` may
 * equal `src`; other overlaps (with `src` or the AAD) are not allowed.
 */
export function chachaSeal(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: usize,
  src: usize,
  len: usize,
  dst: usize,
): void {
  setup(key, nonce);
  polyStart(KEYSTREAM);
  polyPadded(aad, aadLen);
  cryptMac(src, len, dst, false);
  macFinish(aadLen, len, dst + len);
  wipe();
}

/**
 * Opens `sealedLen` bytes at `src` (ciphertext then tag) sealed by
 * `chachaSeal`: returns 1 with the `sealedLen - 16` plaintext bytes at `dst`
 * when the tag matches (compared in constant time), else 0 with those bytes
 * zeroed. Decrypting while authenticating reads the ciphertext once; the
 * price is that a failed open has overwritten `dst` (the ciphertext too when
 * `dst == src`), never with plaintext. Other overlaps are not allowed.
 */
export function chachaOpen(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: usize,
  src: usize,
  sealedLen: usize,
  dst: usize,
): i32 {
  if (sealedLen < 16) return 0;
  const len = sealedLen - 16;
  setup(key, nonce);
  polyStart(KEYSTREAM);
  polyPadded(aad, aadLen);
  cryptMac(src, len, dst, true);
  macFinish(aadLen, len, BLOCK);
  const tag = src + len; // after the plaintext's bytes, so decrypting in place leaves it
  const ok = ((load<u64>(BLOCK) ^ load<u64>(tag)) | (load<u64>(BLOCK, 8) ^ load<u64>(tag, 8))) == 0;
  if (!ok) memory.fill(dst, 0, len);
  wipe();
  return ok ? 1 : 0;
}
