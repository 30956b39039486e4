/**
 * The record codec over the WASM core. Hot paths (the store) use the classes
 * on core memory: RecordEncoder, RecordDecoder, BlockScanner, CoreHasher.
 * Tools and tests use the functions below on plain Uint8Arrays, served by the
 * release core; `wasmCodec(getCore("debug"))` gives the same over the debug core.
 */
import { getCore } from "../wasm/core.ts";
import type { BlockHeader, DecodedRecord, RecordFields, ScanOptions, ScanResult } from "./types.ts";
import { wasmCodec } from "./wasm-codec.ts";

export { readBlockHeader, writeBlockHeader } from "./block-header.ts";
export { RecordDecoder } from "./decoder.ts";
export { RecordEncoder } from "./encoder.ts";
export { CoreHasher } from "./hash.ts";
export { BlockScanner } from "./scanner.ts";
export { corruptRecord, statusName } from "./status.ts";
export type {
  BlockHeader,
  DecodedRecord,
  RecordCodec,
  RecordFields,
  ScanOptions,
  ScanResult,
} from "./types.ts";
export { readUtf8, utf8Length, writeUtf8 } from "./utf8.ts";
export { RECORD_LIMIT, recordSize } from "./validate.ts";
export { WasmCodec, wasmCodec } from "./wasm-codec.ts";

/** Encodes one record into a new Uint8Array. */
export function encodeRecord(fields: RecordFields): Uint8Array {
  return wasmCodec(getCore()).encodeRecord(fields);
}

/** Bytes `encodeRecord` would produce for `fields`. */
export function encodedSize(fields: RecordFields): number {
  return wasmCodec(getCore()).encodedSize(fields);
}

/** Verifies and decodes the record at `offset` of `bytes`; ErrCorrupt with the offset if damaged. */
export function decodeRecord(bytes: Uint8Array, offset = 0): DecodedRecord {
  return wasmCodec(getCore()).decodeRecord(bytes, offset);
}

/** Verifies a block file's header and every record; reports where and why it stopped. */
export function scanBlock(
  bytes: Uint8Array,
  options?: ScanOptions,
): ScanResult & { header: BlockHeader } {
  return wasmCodec(getCore()).scanBlock(bytes, options);
}

/** Verifies consecutive records (no block header) from `options.start`. */
export function scanRecords(bytes: Uint8Array, options?: ScanOptions): ScanResult {
  return wasmCodec(getCore()).scanRecords(bytes, options);
}

/** xxHash64 of `bytes` with `seed` (default 0). */
export function xxh64(bytes: Uint8Array, seed?: bigint): bigint {
  return wasmCodec(getCore()).xxh64(bytes, seed);
}

/** The 32-bit subject hash that scans report. */
export function subjectHash(subject: string | Uint8Array): number {
  return wasmCodec(getCore()).subjectHash(subject);
}
