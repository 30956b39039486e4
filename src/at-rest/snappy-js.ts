/**
 * snappyjs, the portable Snappy and the oracle the core's kernel is checked
 * against (test/suites/snappy.ts, `npm run bench:snappy`). Stores do not use
 * it, so the package's import does not load it (compression.ts).
 */
import SnappyJS from "snappyjs";
import type { Compressor } from "./compression.ts";

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
