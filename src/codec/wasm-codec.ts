/**
 * The RecordCodec interface over the WASM core, for callers holding plain
 * Uint8Arrays (tools, tests, fixtures): each call copies its input into a
 * scratch region of core memory and copies results out. The store's hot paths
 * use RecordEncoder / RecordDecoder / BlockScanner on core memory directly and
 * skip both copies; this wrapper trades them for a simple, safe interface.
 */
import { corrupt, invalidArgument } from "../errors.ts";
import { BLOCK_HEADER_SIZE, REC_MIN_SIZE, STATUS_OK } from "../format.ts";
import type { WasmCore } from "../wasm/core.ts";
import { readBlockHeader } from "./block-header.ts";
import { RecordDecoder } from "./decoder.ts";
import { RecordEncoder } from "./encoder.ts";
import { CoreHasher } from "./hash.ts";
import { BlockScanner } from "./scanner.ts";
import { corruptRecord } from "./status.ts";
import type {
  BlockHeader,
  DecodedRecord,
  RecordCodec,
  RecordFields,
  ScanOptions,
  ScanResult,
} from "./types.ts";
import { subjectBytes } from "./utf8.ts";
import {
  checkBytes,
  checkFields,
  checkOffset,
  checkRecordArgs,
  recordSize,
  scanOptions,
} from "./validate.ts";

/** Records per scan call of the convenience scan; results are gathered across calls. */
const SCAN_BATCH = 65536;

/** RecordCodec backed by one WASM core. */
export class WasmCodec implements RecordCodec {
  readonly name: string;
  readonly core: WasmCore;
  readonly encoder: RecordEncoder;
  readonly decoder: RecordDecoder;
  readonly hasher: CoreHasher;
  private scratch = 0;
  private scratchSize = 0;
  private scanner: BlockScanner | null = null;

  constructor(core: WasmCore) {
    this.core = core;
    this.name = `wasm-${core.variant}`;
    this.encoder = new RecordEncoder(core);
    this.decoder = new RecordDecoder(core);
    this.hasher = new CoreHasher(core);
  }

  xxh64(bytes: Uint8Array, seed = 0n): bigint {
    checkBytes(bytes);
    const ptr = this.copyIn(bytes, 0, bytes.length);
    return this.hasher.xxh64At(ptr, bytes.length, seed);
  }

  subjectHash(subject: string | Uint8Array): number {
    if (typeof subject !== "string") checkBytes(subject);
    const bytes = subjectBytes(subject);
    return this.hasher.subjectHashAt(this.copyIn(bytes, 0, bytes.length), bytes.length);
  }

  encodedSize(fields: RecordFields): number {
    const f = checkFields(fields);
    const subjectLen = checkRecordArgs(f.subject, f.hdr, f.msg, f.seq, f.ts, f.ttl, f.flags ?? 0);
    return recordSize(subjectLen, f.hdr === null ? 0 : f.hdr.length, f.msg.length, f.ttl != null);
  }

  encodeRecord(fields: RecordFields): Uint8Array {
    const size = this.encodedSize(fields);
    const ptr = this.reserve(size);
    const length = this.encoder.encodeAt(
      ptr,
      size,
      fields.subject,
      fields.hdr,
      fields.msg,
      fields.seq,
      fields.ts,
      fields.ttl ?? null,
      fields.flags ?? 0,
    );
    return this.core.u8.slice(ptr, ptr + length);
  }

  decodeRecord(bytes: Uint8Array, offset = 0): DecodedRecord {
    checkBytes(bytes);
    checkOffset(offset, bytes.length);
    // Copy only the record when its length field is plausible; the core re-checks it.
    const available = bytes.length - offset;
    let copy = available;
    if (available >= 4) {
      const length =
        bytes[offset] |
        (bytes[offset + 1] << 8) |
        (bytes[offset + 2] << 16) |
        (bytes[offset + 3] << 24);
      if (length >>> 0 >= REC_MIN_SIZE && length >>> 0 <= available) copy = length >>> 0;
    }
    const ptr = this.copyIn(bytes, offset, copy);
    const d = this.decoder;
    const length = d.decodeAt(ptr, copy);
    if (length < 0) throw corruptRecord(-length, offset);
    const subject = d.subject();
    if (subject === null)
      throw corrupt(`Record at offset ${offset} has a subject that is not UTF-8`, { offset });
    return {
      offset,
      length,
      seq: d.seq,
      ts: d.ts,
      flags: d.flags,
      ttl: d.ttl,
      subject,
      hdr: d.hdr(),
      msg: d.msg(),
    };
  }

  scanRecords(bytes: Uint8Array, options: ScanOptions = {}): ScanResult {
    checkBytes(bytes);
    if (bytes.length > 0x7fffffff)
      throw invalidArgument(`Cannot scan ${bytes.length} bytes: the limit is 2 GiB`);
    const { start, maxRecords, subjectHashes } = scanOptions(options, 0, bytes.length);
    const ptr = this.copyIn(bytes, 0, bytes.length);
    const scanner = this.scannerFor();
    const parts: ScanResult[] = [];
    let at = start;
    let left = maxRecords;
    for (;;) {
      const count = scanner.scan(ptr, bytes.length, at, Math.min(left, SCAN_BATCH), subjectHashes);
      parts.push(copyColumns(scanner, count, subjectHashes));
      left -= count;
      at = scanner.stopOffset;
      if (scanner.status !== STATUS_OK || at >= bytes.length || left === 0) break;
    }
    return joinColumns(parts, scanner.status, at, subjectHashes);
  }

  scanBlock(bytes: Uint8Array, options: ScanOptions = {}): ScanResult & { header: BlockHeader } {
    const header = readBlockHeader(bytes);
    return {
      ...this.scanRecords(bytes, { ...options, start: options.start ?? BLOCK_HEADER_SIZE }),
      header,
    };
  }

  /** A scratch address with room for `size` bytes, growing (and moving) the region when needed. */
  private reserve(size: number): number {
    if (size > this.scratchSize || this.scratch === 0) {
      if (this.scratch !== 0) this.core.free(this.scratch);
      this.scratch = 0;
      const want = Math.max(65536, 2 ** Math.ceil(Math.log2(Math.max(size, 1))));
      this.scratch = this.core.alloc(want);
      this.scratchSize = want;
    }
    return this.scratch;
  }

  private copyIn(bytes: Uint8Array, from: number, length: number): number {
    const ptr = this.reserve(length);
    this.core.u8.set(bytes.subarray(from, from + length), ptr);
    return ptr;
  }

  private scannerFor(): BlockScanner {
    if (this.scanner === null) this.scanner = new BlockScanner(this.core, SCAN_BATCH, true);
    return this.scanner;
  }
}

const codecs = new Map<WasmCore, WasmCodec>();

/** The convenience codec of a core (one per core, sharing its scratch region). */
export function wasmCodec(core: WasmCore): WasmCodec {
  let codec = codecs.get(core);
  if (codec === undefined) {
    codec = new WasmCodec(core);
    codecs.set(core, codec);
  }
  return codec;
}

function copyColumns(scanner: BlockScanner, count: number, hashes: boolean): ScanResult {
  return {
    count,
    status: scanner.status,
    stopOffset: scanner.stopOffset,
    seq: scanner.seq.slice(0, count),
    ts: scanner.ts.slice(0, count),
    offset: scanner.offset.slice(0, count),
    length: scanner.length.slice(0, count),
    flags: scanner.flags.slice(0, count),
    subjectHash: hashes ? scanner.subjectHash!.slice(0, count) : null,
  };
}

/** Concatenates per-batch columns into one result. */
export function joinColumns(
  parts: ScanResult[],
  status: number,
  stopOffset: number,
  hashes: boolean,
): ScanResult {
  if (parts.length === 1) return { ...parts[0], status, stopOffset };
  const count = parts.reduce((n, p) => n + p.count, 0);
  const out: ScanResult = {
    count,
    status,
    stopOffset,
    seq: new Float64Array(count),
    ts: new BigInt64Array(count),
    offset: new Uint32Array(count),
    length: new Uint32Array(count),
    flags: new Uint8Array(count),
    subjectHash: hashes ? new Uint32Array(count) : null,
  };
  let at = 0;
  for (const p of parts) {
    out.seq.set(p.seq, at);
    out.ts.set(p.ts, at);
    out.offset.set(p.offset, at);
    out.length.set(p.length, at);
    out.flags.set(p.flags, at);
    if (out.subjectHash !== null) out.subjectHash.set(p.subjectHash!, at);
    at += p.count;
  }
  return out;
}
