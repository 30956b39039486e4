/**
 * The shapes every record codec shares: the WASM-backed one (./wasm-codec.ts)
 * and the plain-TypeScript reference (../reference/). One interface lets one
 * test suite and one benchmark run against each implementation.
 */

/** What a record holds, as a caller gives it to `encodeRecord`. */
export interface RecordFields {
  /** UTF-8 subject; empty for tombstones and skips. */
  subject: string;
  /** NATS header bytes, or null when the message has none (empty differs from null). */
  hdr: Uint8Array | null;
  msg: Uint8Array;
  seq: number;
  /** Nanoseconds since the Unix epoch, within i64. */
  ts: bigint;
  /** TTL in seconds, or null / undefined for none. */
  ttl?: number | null;
  /** Kind flags (TOMBSTONE, ERASED, SKIP); HDR and TTL follow `hdr` and `ttl` and must agree if given. */
  flags?: number;
}

/** A verified record, with copies of its bytes. */
export interface DecodedRecord {
  /** Where the record starts in the bytes it was decoded from. */
  offset: number;
  /** Bytes of the whole record, checksum included. */
  length: number;
  seq: number;
  ts: bigint;
  /** Every flag bit as stored, HDR and TTL included. */
  flags: number;
  ttl: number | null;
  subject: string;
  hdr: Uint8Array | null;
  msg: Uint8Array;
}

/** Options of a scan over consecutive records. */
export interface ScanOptions {
  /** First byte to read (default 0 for records, BLOCK_HEADER_SIZE for blocks). */
  start?: number;
  /** Stop after this many records (default: all); resume from `stopOffset`. */
  maxRecords?: number;
  /** Also compute each record's 32-bit subject hash (default false). */
  subjectHashes?: boolean;
}

/**
 * Columns of a scan, one entry per verified record, in order. `status` is
 * STATUS_OK when the scan consumed every byte (`stopOffset` equals the length)
 * or stopped at `maxRecords` (`stopOffset` below it); otherwise the STATUS_* of
 * the record at `stopOffset`, which is not included.
 */
export interface ScanResult {
  count: number;
  status: number;
  stopOffset: number;
  seq: Float64Array;
  ts: BigInt64Array;
  offset: Uint32Array;
  length: Uint32Array;
  flags: Uint8Array;
  /** Low 32 bits of xxHash64 (seed 0) of each subject; null unless asked for. */
  subjectHash: Uint32Array | null;
}

/** A block file header as read. */
export interface BlockHeader {
  version: number;
  flags: number;
  blockNumber: number;
}

/** The record codec: encode, decode, scan and hash, on plain Uint8Arrays. */
export interface RecordCodec {
  /** Short name for test titles and benchmark tables. */
  readonly name: string;
  /** xxHash64 of `bytes` with `seed` (default 0), as an unsigned bigint. */
  xxh64(bytes: Uint8Array, seed?: bigint): bigint;
  /** The 32-bit subject hash the scan reports, for a subject string or its UTF-8 bytes. */
  subjectHash(subject: string | Uint8Array): number;
  /** Bytes the record would take, checksum included; validates like `encodeRecord`. */
  encodedSize(fields: RecordFields): number;
  encodeRecord(fields: RecordFields): Uint8Array;
  /** Verifies and decodes the record at `offset`; ErrCorrupt (with the offset) if it is damaged. */
  decodeRecord(bytes: Uint8Array, offset?: number): DecodedRecord;
  /** Verifies consecutive records; stops at the first damaged one and reports it. */
  scanRecords(bytes: Uint8Array, options?: ScanOptions): ScanResult;
  /** Checks the block header, then scans its records from BLOCK_HEADER_SIZE. */
  scanBlock(bytes: Uint8Array, options?: ScanOptions): ScanResult & { header: BlockHeader };
}
