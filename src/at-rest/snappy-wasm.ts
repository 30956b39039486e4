/**
 * Snappy's raw format over the WebAssembly core (assembly/snappy.ts): the
 * compressor is snappyjs's algorithm, so it writes the same bytes, and the
 * decompressor refuses every malformed stream without touching memory
 * outside its buffers.
 *
 * Two levels. `CoreSnappy` works on bytes already in core memory (a sealed
 * block in the cache, a chunk read into scratch) with no copy across the
 * boundary; the caller owns both buffers. `snappyWasm` is the `Compressor`
 * over it for bytes in JavaScript, copying in and out through scratch memory
 * it keeps for the next call.
 */

import { checkPointer, describe } from "../codec/validate.ts";
import { invalidArgument } from "../errors.ts";
import { type CoreVariant, getCore, type WasmCore } from "../wasm/core.ts";
import type { Compressor } from "./compression.ts";

/** Lengths cross into the core as u32; the core's allocator stops below 2 GiB anyway. */
const MAX_PLAIN = 0x7fff_0000 - 64 * 1024;

/**
 * Largest plain length a stream of `n` bytes can declare and fill: its
 * densest element, a 3-byte copy, yields 64 bytes. Checked before allocating
 * so a forged length cannot make the wrapper reserve gigabytes.
 */
const maxExpansion = (n: number): number => Math.floor((n * 64) / 3);

/** Bytes `compressInCore` may write for `len` plain bytes: the room its destination needs. */
export function maxCompressedLength(len: number): number {
  return 32 + len + Math.floor(len / 6);
}

function checkLength(len: number, what: string): void {
  if (!Number.isSafeInteger(len) || len < 0 || len > MAX_PLAIN) {
    throw invalidArgument(`${what} ${describe(len)} is not a byte count below ${MAX_PLAIN}`);
  }
}

function checkDisjoint(a: number, aLen: number, b: number, bLen: number): void {
  if (a < b + bLen && b < a + aLen) {
    throw invalidArgument(`Snappy source and destination overlap (${a}+${aLen}, ${b}+${bLen})`);
  }
}

/** Snappy on ranges of one core's linear memory. */
export class CoreSnappy {
  readonly core: WasmCore;

  constructor(core: WasmCore) {
    this.core = core;
  }

  /**
   * Compresses the `len` bytes at `srcPtr` into `dstPtr`, which has room for
   * `maxCompressedLength(len)` bytes and does not overlap the source; returns
   * the compressed length (possibly longer than `len`: the caller decides
   * whether to keep it). `fast` takes the core's faster matcher (an integer
   * hash): a valid stream any reader takes, but not snappyjs's bytes, so only
   * for output nothing compares with snappyjs's (snapshot archive frames).
   */
  compressInCore(srcPtr: number, len: number, dstPtr: number, fast = false): number {
    checkLength(len, "Plain length");
    const room = maxCompressedLength(len);
    const size = this.core.u8.length;
    checkPointer(srcPtr, len, size);
    checkPointer(dstPtr, room, size);
    checkDisjoint(srcPtr, len, dstPtr, room);
    const abi = this.core.abi;
    return fast
      ? abi.snappyCompressFast(srcPtr, len, dstPtr)
      : abi.snappyCompress(srcPtr, len, dstPtr);
  }

  /**
   * Uncompresses the `len` bytes at `srcPtr` into the `plainLen` bytes at
   * `dstPtr` (not overlapping). True when they are a valid stream of exactly
   * `plainLen` bytes; false otherwise, with the destination partly written.
   */
  uncompressInCore(srcPtr: number, len: number, dstPtr: number, plainLen: number): boolean {
    checkLength(len, "Compressed length");
    checkLength(plainLen, "Plain length");
    const size = this.core.u8.length;
    checkPointer(srcPtr, len, size);
    checkPointer(dstPtr, plainLen, size);
    checkDisjoint(srcPtr, len, dstPtr, plainLen);
    return this.core.abi.snappyUncompress(srcPtr, len, dstPtr, plainLen) === 0;
  }
}

const coreSnappies = new Map<WasmCore, CoreSnappy>();

/** The `CoreSnappy` of `core` (default: the release core). */
export function coreSnappy(core: WasmCore = getCore()): CoreSnappy {
  let snappy = coreSnappies.get(core);
  if (snappy === undefined) {
    snappy = new CoreSnappy(core);
    coreSnappies.set(core, snappy);
  }
  return snappy;
}

/**
 * A `Compressor` over the core of `variant`, copying through scratch memory
 * that grows to the largest call and is kept. The core is instantiated on
 * first use, not here.
 */
export function wasmSnappy(variant: CoreVariant = "release"): Compressor {
  let snappy: CoreSnappy | undefined;
  let scratch = 0;
  let capacity = 0;
  /** Scratch of at least `size` bytes; may grow memory, so views are taken after. */
  const reserve = (size: number): number => {
    snappy ??= coreSnappy(getCore(variant));
    if (size > capacity) {
      snappy.core.free(scratch);
      scratch = 0;
      capacity = Math.max(size, 64 * 1024, capacity * 2);
      scratch = snappy.core.alloc(capacity);
    }
    return scratch;
  };
  const checkBytes = (bytes: unknown, what: string): void => {
    if (!(bytes instanceof Uint8Array))
      throw invalidArgument(`${what} must be a Uint8Array, not ${describe(bytes)}`);
  };
  return {
    name: variant === "release" ? "jetstore-wasm" : `jetstore-wasm-${variant}`,
    compress(input) {
      checkBytes(input, "Input");
      checkLength(input.length, "Plain length");
      const src = reserve(input.length + maxCompressedLength(input.length));
      const dst = src + input.length;
      const core = snappy!.core;
      core.u8.set(input, src);
      const n = core.abi.snappyCompress(src, input.length, dst);
      return core.u8.slice(dst, dst + n);
    },
    uncompress(compressed, plainLength) {
      checkBytes(compressed, "Compressed input");
      checkLength(compressed.length, "Compressed length");
      checkLength(plainLength, "Plain length");
      if (plainLength > maxExpansion(compressed.length)) return null;
      const src = reserve(compressed.length + plainLength);
      const dst = src + compressed.length;
      const core = snappy!.core;
      core.u8.set(compressed, src);
      if (core.abi.snappyUncompress(src, compressed.length, dst, plainLength) !== 0) return null;
      return core.u8.slice(dst, dst + plainLength);
    },
  };
}

/** The release core's Snappy for bytes in JavaScript. */
export const snappyWasm: Compressor = wasmSnappy("release");
