/**
 * xxHash64 and the 32-bit subject hash over bytes already in core memory.
 * The 64-bit result is read from the core's result slot as a bigint only
 * here, at the edge; the core itself never returns an i64.
 */

import { invalidArgument, outOfRange } from "../errors.ts";
import type { WasmCore } from "../wasm/core.ts";
import { checkPointer, describe } from "./validate.ts";

const MAX_U64 = (1n << 64n) - 1n;

/** Hashes ranges of a core's linear memory. */
export class CoreHasher {
  readonly core: WasmCore;
  private readonly slot: number;

  constructor(core: WasmCore) {
    this.core = core;
    this.slot = core.abi.xxh64Result();
  }

  /** xxHash64 of `len` bytes at `ptr`, seeded with `seed` (default 0), unsigned. */
  xxh64At(ptr: number, len: number, seed = 0n): bigint {
    if (typeof seed !== "bigint")
      throw invalidArgument(`Seed must be a bigint, not ${describe(seed)}`);
    if (seed < 0n || seed > MAX_U64)
      throw outOfRange(`Seed ${seed} does not fit in an unsigned 64-bit integer`);
    checkLength(len);
    checkPointer(ptr, len, this.core.u8.length);
    this.core.abi.xxh64(ptr, len, Number(seed >> 32n), Number(seed & 0xffffffffn));
    return this.core.view.getBigUint64(this.slot, true);
  }

  /** Low 32 bits of xxHash64 (seed 0) of `len` bytes at `ptr`: the scan's subject hash. */
  subjectHashAt(ptr: number, len: number): number {
    checkLength(len);
    checkPointer(ptr, len, this.core.u8.length);
    return this.core.abi.subjectHash(ptr, len) >>> 0;
  }
}

function checkLength(len: number): void {
  if (!Number.isSafeInteger(len) || len < 0)
    throw invalidArgument(`Length ${describe(len)} is not a byte count`);
}
