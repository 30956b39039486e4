/**
 * Unsigned LEB128 varints of u64 for TypeScript callers (tools, tests, a
 * checkpoint writer), over the core's codec (assembly/leb128.ts): one spelling
 * per value, so truncated, over-long (`80 00` for 0) and overflowing (a 10th
 * byte above 0x01) input is ErrCorrupt. Values are bigint so the whole u64
 * range round-trips; a safe-integer `number` is accepted on encode. A second,
 * pure-TypeScript codec was rejected: the core's is the one whose bytes reach
 * disk inside encoded sequence sets, so this is the one worth exercising.
 */
import { corrupt, invalidArgument, outOfRange } from "./errors.ts";
import { STATUS_TRUNCATED, STATUS_VARINT_OVERFLOW, STATUS_VARINT_OVERLONG } from "./format.ts";
import { describeValue } from "./validate.ts";
import { type CoreVariant, getCore, type WasmCore } from "./wasm/core.ts";

/** Longest encoding of a u64. */
export const MAX_VARINT_BYTES = 10;

/** Largest value a varint holds. */
export const MAX_U64 = (1n << 64n) - 1n;

/** A decoded varint and the bytes it took. */
export interface DecodedVarint {
  value: bigint;
  length: number;
}

// Per core: 16 bytes of input or output, then the 8-byte result slot.
const SLOT = 16;
const scratches = new Map<WasmCore, number>();

function scratch(core: WasmCore): number {
  let ptr = scratches.get(core);
  if (ptr === undefined) {
    ptr = core.alloc(SLOT + 8);
    scratches.set(core, ptr);
  }
  return ptr;
}

function checkVariant(variant: unknown): CoreVariant {
  if (variant !== "release" && variant !== "debug") {
    throw invalidArgument(
      `Unknown core variant ${describeValue(variant)}: use "release" or "debug"`,
    );
  }
  return variant;
}

function checkValue(value: unknown): bigint | number {
  if (typeof value === "bigint") {
    if (value < 0n || value > MAX_U64) {
      throw outOfRange(`Cannot encode varint ${value}: a varint holds 0 to 2^64 - 1`);
    }
    return value;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalidArgument(`Cannot encode varint ${describeValue(value)}: expected an integer`);
  }
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw outOfRange(
      `Cannot encode varint ${describeValue(value)}: a number must be a safe integer >= 0 (use a bigint above 2^53 - 1)`,
    );
  }
  return value;
}

/** Bytes `value` takes when encoded: 1 to 10. */
export function varintLength(value: bigint | number, variant: CoreVariant = "release"): number {
  const v = BigInt(checkValue(value));
  const core = getCore(checkVariant(variant));
  return core.abi.varintSize(Number(v >> 32n), Number(v & 0xffff_ffffn));
}

/** Encodes `value` (0 to 2^64 - 1) as its canonical varint. */
export function encodeVarint(value: bigint | number, variant: CoreVariant = "release"): Uint8Array {
  const v = checkValue(value);
  const core = getCore(checkVariant(variant));
  const ptr = scratch(core);
  const length =
    typeof v === "number"
      ? core.abi.varintWriteF64(ptr, v)
      : core.abi.varintWrite(ptr, Number(v >> 32n), Number(v & 0xffff_ffffn));
  return core.u8.slice(ptr, ptr + length);
}

/**
 * Decodes the varint at `bytes[offset]`; bytes after it are ignored.
 * Truncated, over-long or overflowing input throws ErrCorrupt with `offset`.
 */
export function decodeVarint(
  bytes: Uint8Array,
  offset = 0,
  variant: CoreVariant = "release",
): DecodedVarint {
  if (!(bytes instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot decode varint from ${describeValue(bytes)}: expected a Uint8Array`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw outOfRange(
      `Cannot decode varint at offset ${describeValue(offset)}: expected an integer from 0 to ${bytes.length}`,
    );
  }
  const core = getCore(checkVariant(variant));
  const ptr = scratch(core);
  const available = Math.min(MAX_VARINT_BYTES, bytes.length - offset);
  core.u8.set(bytes.subarray(offset, offset + available), ptr);
  const read = core.abi.varintRead(ptr, available, ptr + SLOT);
  if (read < 0)
    throw corrupt(`Cannot decode varint at offset ${offset}: ${varintProblem(-read)}`, { offset });
  const slot = (ptr + SLOT) >>> 2;
  const u32 = core.u32;
  return { value: (BigInt(u32[slot + 1]) << 32n) | BigInt(u32[slot]), length: read };
}

/** Why the core rejected a varint, from its status code. */
export function varintProblem(status: number): string {
  switch (status) {
    case STATUS_TRUNCATED:
      return "the bytes end inside it";
    case STATUS_VARINT_OVERLONG:
      return "over-long encoding (a shorter one exists)";
    case STATUS_VARINT_OVERFLOW:
      return "the value exceeds 2^64 - 1";
    default:
      return `status ${status}`;
  }
}
