/**
 * The plain-TypeScript record codec: the differential oracle for the WASM
 * core and the baseline of bench/core.ts. It implements the same RecordCodec
 * interface, with the same argument checks and result shapes.
 */

import { readBlockHeader } from "../codec/block-header.ts";
import type {
  BlockHeader,
  DecodedRecord,
  RecordCodec,
  RecordFields,
  ScanOptions,
  ScanResult,
} from "../codec/types.ts";
import { subjectBytes } from "../codec/utf8.ts";
import {
  checkBytes,
  checkFields,
  checkOffset,
  checkRecordArgs,
  describe,
  recordSize,
  scanOptions,
} from "../codec/validate.ts";
import { invalidArgument, outOfRange } from "../errors.ts";
import { BLOCK_HEADER_SIZE } from "../format.ts";
import { decodeRecordAt, encodeRecordAt } from "./record.ts";
import { ReferenceScanner } from "./scan.ts";
import { xxh64, xxh64Parts } from "./xxhash64.ts";

export { checkRecord, decodeRecordAt, encodeRecordAt } from "./record.ts";
export { ReferenceScanner } from "./scan.ts";
export { resultHi, xxh64, xxh64Parts } from "./xxhash64.ts";

const MAX_U64 = (1n << 64n) - 1n;
const SCAN_BATCH = 65536;

/** RecordCodec in plain TypeScript. */
export const referenceCodec: RecordCodec = {
  name: "reference",

  xxh64(bytes: Uint8Array, seed = 0n): bigint {
    checkBytes(bytes);
    if (typeof seed !== "bigint")
      throw invalidArgument(`Seed must be a bigint, not ${describe(seed)}`);
    if (seed < 0n || seed > MAX_U64)
      throw outOfRange(`Seed ${seed} does not fit in an unsigned 64-bit integer`);
    return xxh64(bytes, seed);
  },

  subjectHash(subject: string | Uint8Array): number {
    if (typeof subject !== "string") checkBytes(subject);
    const bytes = subjectBytes(subject);
    return xxh64Parts(bytes, 0, bytes.length, 0, 0);
  },

  encodedSize(fields: RecordFields): number {
    const f = checkFields(fields);
    const subjectLen = checkRecordArgs(f.subject, f.hdr, f.msg, f.seq, f.ts, f.ttl, f.flags ?? 0);
    return recordSize(subjectLen, f.hdr === null ? 0 : f.hdr.length, f.msg.length, f.ttl != null);
  },

  encodeRecord(fields: RecordFields): Uint8Array {
    const out = new Uint8Array(this.encodedSize(fields));
    encodeRecordAt(
      out,
      0,
      fields.subject,
      fields.hdr,
      fields.msg,
      fields.seq,
      fields.ts,
      fields.ttl ?? null,
      fields.flags ?? 0,
    );
    return out;
  },

  decodeRecord(bytes: Uint8Array, offset = 0): DecodedRecord {
    checkBytes(bytes);
    checkOffset(offset, bytes.length);
    return decodeRecordAt(bytes, offset);
  },

  scanRecords(bytes: Uint8Array, options: ScanOptions = {}): ScanResult {
    checkBytes(bytes);
    const { start, maxRecords, subjectHashes } = scanOptions(options, 0, bytes.length);
    const upper = Math.min(maxRecords, Math.floor((bytes.length - start) / 36) + 1, SCAN_BATCH);
    const scanner = new ReferenceScanner(Math.max(1, upper), subjectHashes);
    const seq: number[] = [];
    const ts: bigint[] = [];
    const offset: number[] = [];
    const length: number[] = [];
    const flags: number[] = [];
    const hashes: number[] = [];
    let at = start;
    let left = maxRecords;
    for (;;) {
      const count = scanner.scan(
        bytes,
        bytes.length,
        at,
        Math.min(left, scanner.capacity),
        subjectHashes,
      );
      for (let i = 0; i < count; i++) {
        seq.push(scanner.seq[i]);
        ts.push(scanner.ts[i]);
        offset.push(scanner.offset[i]);
        length.push(scanner.length[i]);
        flags.push(scanner.flags[i]);
        if (subjectHashes) hashes.push(scanner.subjectHash![i]);
      }
      left -= count;
      at = scanner.stopOffset;
      if (scanner.status !== 0 || at >= bytes.length || left === 0) break;
    }
    return {
      count: seq.length,
      status: scanner.status,
      stopOffset: at,
      seq: Float64Array.from(seq),
      ts: BigInt64Array.from(ts),
      offset: Uint32Array.from(offset),
      length: Uint32Array.from(length),
      flags: Uint8Array.from(flags),
      subjectHash: subjectHashes ? Uint32Array.from(hashes) : null,
    };
  },

  scanBlock(bytes: Uint8Array, options: ScanOptions = {}): ScanResult & { header: BlockHeader } {
    const header = readBlockHeader(bytes);
    return {
      ...this.scanRecords(bytes, { ...options, start: options.start ?? BLOCK_HEADER_SIZE }),
      header,
    };
  },
};
