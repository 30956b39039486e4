// Snappy's raw format (no framing): a varint of the plain length, then
// literal and copy elements. One chunk of a sealed block is one stream.
//
// The compressor is snappyjs 0.7.0's algorithm step for step (64 KiB
// fragments, a u16 hash table of up to 2^14 entries sized to the fragment,
// the skip heuristic that looks at every (skip >> 5)th byte, snappyjs's copy
// splitting), so its output is byte-identical to the oracle's and the tests
// compare bytes, not just round trips. A stronger matcher (C++ snappy's 4-byte
// hash over a larger table) was rejected for that reason: both would read each
// other's output, but a drift could then only be caught by round trips.
// Only the work per step is faster: matches are extended 8 bytes at a time and
// short literals copied as two u64 stores.
// `snappyCompressFast` is the same algorithm with an integer multiply for the
// hash (no f64 rounding to match): other bytes, the same format and bound,
// ~1.35x faster on W1's archive frames. It is used only where no output is
// compared with snappyjs's (snapshot archive frames); its tests are round
// trips through both decoders.
//
// The decompressor trusts nothing in the stream: every length and offset is
// checked against what is left of the input and the output before a byte
// moves, so a hostile stream fails (a negated STATUS_*) without reading or
// writing outside [src, src + srcLen) and [dst, dst + dstLen), and a stream
// succeeds only when it fills the output exactly. Pointers themselves are the
// TypeScript wrapper's to check, as for every kernel of the core.
import { STATUS_BAD_FIELDS, STATUS_BAD_LENGTH, STATUS_OK, STATUS_TRUNCATED } from "./format";
import { readVarint, varintValue, writeVarint } from "./leb128";

/** snappyjs compresses each 64 KiB of input on its own (BLOCK_LOG 16). */
const FRAGMENT: u32 = 65536;
/** Largest hash table: 2^14 u16 positions, relative to the fragment's start. */
const MAX_TABLE_BITS: u32 = 14;
const TABLE: usize = memory.data(2 << MAX_TABLE_BITS, 16);
/** snappyjs stops looking for matches this close to a fragment's end. */
const INPUT_MARGIN: u32 = 15;
const HASH_MULTIPLIER: f64 = 0x1e35a7bd;

/** Bytes `snappyCompress` may write for `len` input bytes (snappyjs's bound). */
export function snappyMaxCompressedLength(len: u32): u32 {
  return 32 + len + len / 6;
}

/**
 * Compresses the `len` bytes at `src` into `dst`, which has room for
 * `snappyMaxCompressedLength(len)` bytes and does not overlap `src`; returns
 * the compressed length.
 */
export function snappyCompress(src: usize, len: u32, dst: usize): u32 {
  return compressWith(src, len, dst, false);
}

/**
 * `snappyCompress` with an integer hash: the same format and bound, other
 * bytes than snappyjs's (a match may be found at another candidate), for
 * output nothing compares byte for byte (snapshot archive frames).
 */
export function snappyCompressFast(src: usize, len: u32, dst: usize): u32 {
  return compressWith(src, len, dst, true);
}

// @ts-expect-error: decorator
@inline
function compressWith(src: usize, len: u32, dst: usize, fast: bool): u32 {
  const dstLimit = dst + <usize>snappyMaxCompressedLength(len);
  const srcEnd = src + <usize>len;
  let op = dst + <usize>writeVarint(dst, <u64>len);
  let pos = src;
  while (pos < srcEnd) {
    const size = <u32>min<usize>(srcEnd - pos, FRAGMENT);
    op = compressFragment(pos, size, srcEnd, op, dstLimit, fast);
    pos += size;
  }
  return <u32>(op - dst);
}

/**
 * snappyjs's hash: the four bytes as a signed i32 times 0x1e35a7bd in double
 * precision (the product, up to 2^60, is rounded to 53 bits), then ToUint32,
 * then the top bits. An exact 32-bit multiply would pick other slots
 * whenever the rounding carries into the kept bits, and other output.
 */
// @ts-expect-error: decorator
@inline
function hashAt(p: usize, shift: u32): usize {
  return <usize>(<u32>(<i64>(<f64>load<i32>(p) * HASH_MULTIPLIER)) >>> shift);
}

// @ts-expect-error: decorator
@inline
function fastHashAt(p: usize, shift: u32): usize {
  return <usize>((load<u32>(p) * 0x1e35a7bd) >>> shift);
}

// @ts-expect-error: decorator
@inline
function hashOf(p: usize, shift: u32, fast: bool): usize {
  return fast ? fastHashAt(p, shift) : hashAt(p, shift);
}

// @ts-expect-error: decorator
@inline
function slot(hash: usize): usize {
  return TABLE + (hash << 1);
}

/**
 * Inlined into each exported compressor with `fast` a constant, so the
 * optimizer keeps one hash per copy and no branch in the loop.
 */
// @ts-expect-error: decorator
@inline
function compressFragment(
  input: usize,
  inputSize: u32,
  srcEnd: usize,
  op: usize,
  dstLimit: usize,
  fast: bool,
): usize {
  let bits: u32 = 1;
  while (<u32>(1 << bits) <= inputSize && bits <= MAX_TABLE_BITS) bits++;
  bits--;
  const shift = 32 - bits;
  memory.fill(TABLE, 0, <usize>(2 << bits));

  const ipEnd = input + <usize>inputSize;
  let nextEmit = input;
  if (inputSize >= INPUT_MARGIN) {
    const ipLimit = ipEnd - INPUT_MARGIN;
    let ip = input + 1;
    let nextHash = hashOf(ip, shift, fast);
    let candidate: usize = 0;
    // AssemblyScript has no labelled break: each inner loop says whether the
    // outer one goes on.
    while (true) {
      // Look for a 4-byte match, stepping further the longer none is found.
      let skip: u32 = 32;
      let nextIp = ip;
      let found = false;
      while (true) {
        ip = nextIp;
        const hash = nextHash;
        nextIp = ip + <usize>(skip >>> 5);
        skip++;
        if (ip > ipLimit) break;
        // Past ipLimit the next round stops before using the hash (snappyjs
        // reads it anyway, possibly past the input; its value never counts).
        if (nextIp <= ipLimit) nextHash = hashOf(nextIp, shift, fast);
        candidate = input + <usize>load<u16>(slot(hash));
        store<u16>(slot(hash), <u16>(ip - input));
        if (load<u32>(ip) == load<u32>(candidate)) {
          found = true;
          break;
        }
      }
      if (!found) break;

      op = emitLiteral(nextEmit, <u32>(ip - nextEmit), op, srcEnd, dstLimit);

      // Emit copies while the position right after one starts another match.
      let searchAgain = false;
      while (true) {
        const base = ip;
        ip = extendMatch(ip + 4, candidate + 4, ipEnd);
        op = emitCopy(op, <u32>(base - candidate), <u32>(ip - base));
        nextEmit = ip;
        if (ip >= ipLimit) break;
        store<u16>(slot(hashOf(ip - 1, shift, fast)), <u16>(ip - 1 - input));
        const hash = hashOf(ip, shift, fast);
        candidate = input + <usize>load<u16>(slot(hash));
        store<u16>(slot(hash), <u16>(ip - input));
        if (load<u32>(ip) != load<u32>(candidate)) {
          searchAgain = true;
          break;
        }
      }
      if (!searchAgain) break;

      ip++;
      nextHash = hashOf(ip, shift, fast);
    }
  }
  if (nextEmit < ipEnd) {
    op = emitLiteral(nextEmit, <u32>(ipEnd - nextEmit), op, srcEnd, dstLimit);
  }
  return op;
}

/** End of the match of `a` against the earlier `b`, at most `end`. */
// @ts-expect-error: decorator
@inline
function extendMatch(a: usize, b: usize, end: usize): usize {
  while (a + 8 <= end) {
    const diff = load<u64>(a) ^ load<u64>(b);
    if (diff != 0) return a + <usize>(ctz<u64>(diff) >> 3);
    a += 8;
    b += 8;
  }
  while (a < end && load<u8>(a) == load<u8>(b)) {
    a++;
    b++;
  }
  return a;
}

function emitLiteral(from: usize, len: u32, op: usize, srcEnd: usize, dstLimit: usize): usize {
  const n = len - 1;
  if (len <= 60) {
    store<u8>(op, <u8>(n << 2));
    op += 1;
  } else if (len < 256) {
    store<u8>(op, 60 << 2);
    store<u8>(op, <u8>n, 1);
    op += 2;
  } else {
    store<u8>(op, 61 << 2);
    store<u16>(op, <u16>n, 1);
    op += 3;
  }
  // Short literals dominate on compressible data; two u64 moves beat a
  // memory.copy call when both buffers have the slack.
  if (len <= 16 && from + 16 <= srcEnd && op + 16 <= dstLimit) {
    store<u64>(op, load<u64>(from));
    store<u64>(op, load<u64>(from, 8), 8);
  } else {
    memory.copy(op, from, len);
  }
  return op + <usize>len;
}

// @ts-expect-error: decorator
@inline
function emitCopyUpTo64(op: usize, offset: u32, len: u32): usize {
  if (len < 12 && offset < 2048) {
    store<u8>(op, <u8>(1 + ((len - 4) << 2) + ((offset >>> 8) << 5)));
    store<u8>(op, <u8>offset, 1);
    return op + 2;
  }
  store<u8>(op, <u8>(2 + ((len - 1) << 2)));
  store<u16>(op, <u16>offset, 1);
  return op + 3;
}

function emitCopy(op: usize, offset: u32, len: u32): usize {
  while (len >= 68) {
    op = emitCopyUpTo64(op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyUpTo64(op, offset, 60);
    len -= 60;
  }
  return emitCopyUpTo64(op, offset, len);
}

/**
 * Uncompresses the `srcLen` bytes at `src` into the `dstLen` bytes at `dst`
 * (not overlapping `src`). Returns STATUS_OK when the stream is valid and
 * declares and fills exactly `dstLen` bytes; else a negated status, with
 * `dst` partly written: STATUS_TRUNCATED (the input ends inside an element
 * or the header), STATUS_BAD_LENGTH (declared length not `dstLen`, or an
 * element or the whole stream over- or undershooting it), STATUS_BAD_FIELDS
 * (a copy's offset 0 or before the start of the output).
 */
export function snappyUncompress(src: usize, srcLen: u32, dst: usize, dstLen: u32): i32 {
  const ipEnd = src + <usize>srcLen;
  const header = readVarint(src, ipEnd);
  if (header < 0) return header;
  if (varintValue != <u64>dstLen) return -STATUS_BAD_LENGTH;
  let ip = src + <usize>header;
  let op = dst;
  const opEnd = dst + <usize>dstLen;
  while (ip < ipEnd) {
    const tag = <u32>load<u8>(ip);
    ip++;
    const kind = tag & 3;
    if (kind == 0) {
      let len = <usize>(tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (ipEnd - ip < extra) return -STATUS_TRUNCATED;
        // 1 to 4 little-endian bytes of length - 1.
        let raw: usize = load<u8>(ip);
        if (extra > 1) raw |= <usize>load<u8>(ip, 1) << 8;
        if (extra > 2) raw |= <usize>load<u8>(ip, 2) << 16;
        if (extra > 3) raw |= <usize>load<u8>(ip, 3) << 24;
        ip += extra;
        // Compared before adding 1, which would wrap at 2^32 - 1.
        if (raw >= ipEnd - ip) return -STATUS_TRUNCATED;
        if (raw >= opEnd - op) return -STATUS_BAD_LENGTH;
        len = raw + 1;
      } else {
        if (len > ipEnd - ip) return -STATUS_TRUNCATED;
        if (len > opEnd - op) return -STATUS_BAD_LENGTH;
      }
      if (len <= 16 && ipEnd - ip >= 16 && opEnd - op >= 16) {
        store<u64>(op, load<u64>(ip));
        store<u64>(op, load<u64>(ip, 8), 8);
      } else {
        memory.copy(op, ip, len);
      }
      ip += len;
      op += len;
      continue;
    }
    let len: usize;
    let offset: usize;
    if (kind == 1) {
      if (ip >= ipEnd) return -STATUS_TRUNCATED;
      len = <usize>((tag >>> 2) & 7) + 4;
      offset = (<usize>(tag >>> 5) << 8) | <usize>load<u8>(ip);
      ip += 1;
    } else if (kind == 2) {
      if (ipEnd - ip < 2) return -STATUS_TRUNCATED;
      len = <usize>(tag >>> 2) + 1;
      offset = <usize>load<u16>(ip);
      ip += 2;
    } else {
      if (ipEnd - ip < 4) return -STATUS_TRUNCATED;
      len = <usize>(tag >>> 2) + 1;
      offset = <usize>load<u32>(ip);
      ip += 4;
    }
    if (offset == 0 || offset > op - dst) return -STATUS_BAD_FIELDS;
    if (len > opEnd - op) return -STATUS_BAD_LENGTH;
    copyWithin(op, op - offset, len, opEnd);
    op += len;
  }
  return op == opEnd ? STATUS_OK : -STATUS_BAD_LENGTH;
}

/**
 * Copies `len` (1 to 64) bytes from `from` to `op`, where they may overlap
 * (offset < len repeats the last `offset` bytes). With 16 bytes of slack
 * before `opEnd` it moves u64s and may scribble up to 15 bytes past
 * `op + len` (never past `opEnd`), on bytes later elements overwrite; else it
 * goes byte by byte.
 */
// @ts-expect-error: decorator
@inline
function copyWithin(op: usize, from: usize, len: usize, opEnd: usize): void {
  if (opEnd - op < len + 16) {
    for (let i: usize = 0; i < len; i++) store<u8>(op + i, load<u8>(from + i));
    return;
  }
  let left = <isize>len;
  // Short offsets: double the distance until a u64 load sees only bytes
  // already written (snappy's IncrementalCopyFastPath).
  while (op - from < 8) {
    store<u64>(op, load<u64>(from));
    const step = op - from;
    left -= <isize>step;
    op += step;
  }
  // From here the distance is at least 8, so each u64 load reads bytes
  // already final, the ones the store before it wrote included.
  while (left > 0) {
    store<u64>(op, load<u64>(from));
    store<u64>(op, load<u64>(from, 8), 8);
    from += 16;
    op += 16;
    left -= 16;
  }
}
