/**
 * Block compression: Snappy's raw format (no framing; each chunk of a
 * sealed block is compressed on its own, FORMAT.md). snappyjs is the
 * portable implementation and the oracle; a faster kernel must produce
 * bytes snappyjs reads back, and read every stream snappyjs writes.
 *
 * Stores use the core's kernel (snappy-wasm.ts): it writes snappyjs's bytes
 * and measured faster in every case of `npm run bench:snappy`, on Node, Bun
 * and Deno, for JSON, random and W1 chunks of 16 and 64 KiB.
 */
import SnappyJS from "snappyjs";
import { snappyWasm } from "./snappy-wasm.ts";

/** A compression of chunk bodies. */
export interface Compressor {
  readonly name: string;
  /** The compressed form of `input` (which the caller keeps only when shorter). */
  compress(input: Uint8Array): Uint8Array;
  /** The `plainLength` bytes `compressed` holds; null when they are not a valid stream of that length. */
  uncompress(compressed: Uint8Array, plainLength: number): Uint8Array | null;
}

/** snappyjs: runs everywhere; the oracle. */
export const snappyJs: Compressor = {
  name: "snappyjs",
  // Casts: under Deno, snappyjs's published types return a union with ArrayBuffer.
  compress: (input) => SnappyJS.compress(input) as Uint8Array,
  uncompress: (compressed, plainLength) => {
    try {
      const out = SnappyJS.uncompress(compressed, plainLength) as Uint8Array;
      return out.length === plainLength ? out : null;
    } catch {
      return null;
    }
  },
};

let chosen: Compressor = snappyWasm;

/** The Snappy implementation stores use. */
export function snappy(): Compressor {
  return chosen;
}

/** Replaces it (a faster kernel, or a test's recorder); returns the previous one. */
export function setSnappy(compressor: Compressor): Compressor {
  const previous = chosen;
  chosen = compressor;
  return previous;
}
