/**
 * Block compression: Snappy's raw format (no framing; each chunk of a
 * sealed block is compressed on its own, FORMAT.md). snappyjs is the
 * portable implementation and the oracle (snappy-js.ts, not imported from
 * here: loading it was a tenth of importing jetstore); a faster kernel must
 * produce bytes snappyjs reads back, and read every stream snappyjs writes.
 *
 * Stores use the core's kernel (snappy-wasm.ts): it writes snappyjs's bytes
 * and measured faster in every case of `npm run bench:snappy`, on Node, Bun
 * and Deno, for JSON, random and W1 chunks of 16 and 64 KiB.
 */
import { snappyWasm } from "./snappy-wasm.ts";

/** A compression of chunk bodies. */
export interface Compressor {
  readonly name: string;
  /** The compressed form of `input` (which the caller keeps only when shorter). */
  compress(input: Uint8Array): Uint8Array;
  /** The `plainLength` bytes `compressed` holds; null when they are not a valid stream of that length. */
  uncompress(compressed: Uint8Array, plainLength: number): Uint8Array | null;
}

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
