/**
 * Block scan in plain TypeScript, with the WASM scanner's contract: verify
 * every record from `start`, fill reusable columns, stop at the first damaged
 * record with its status and offset. Timestamps go into the i64 column as two
 * u32 words through an aliasing Uint32Array, so no BigInt is made per record.
 */
import { invalidArgument } from "../errors.ts";
import {
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SEQ,
  REC_OFF_SUBJECT_LEN,
  REC_OFF_TS,
  REC_TTL_SIZE,
  STATUS_OK,
} from "../format.ts";
import { checkRecord, u32At } from "./record.ts";
import { xxh64Parts } from "./xxhash64.ts";

/** Reusable scan output columns for up to `capacity` records. */
export class ReferenceScanner {
  readonly capacity: number;
  readonly seq: Float64Array;
  readonly ts: BigInt64Array;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly flags: Uint8Array;
  readonly subjectHash: Uint32Array | null;
  status = STATUS_OK;
  stopOffset = 0;
  private readonly tsWords: Uint32Array;

  constructor(capacity: number, subjectHashes = false) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw invalidArgument(`Scan capacity ${capacity} is not a positive record count`);
    }
    this.capacity = capacity;
    this.seq = new Float64Array(capacity);
    this.ts = new BigInt64Array(capacity);
    this.tsWords = new Uint32Array(this.ts.buffer);
    this.offset = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.subjectHash = subjectHashes ? new Uint32Array(capacity) : null;
  }

  /** Scans `bytes[start, len)`, at most `maxRecords`; returns the count (then see status / stopOffset). */
  scan(
    bytes: Uint8Array,
    len: number,
    start = 0,
    maxRecords = this.capacity,
    subjectHashes = this.subjectHash !== null,
  ): number {
    if (maxRecords > this.capacity)
      throw invalidArgument(
        `Scan of ${maxRecords} records exceeds the capacity of ${this.capacity}`,
      );
    const hashes = subjectHashes ? this.subjectHash : null;
    let at = start;
    let count = 0;
    let status = STATUS_OK;
    while (at < len && count < maxRecords) {
      const length = checkRecord(bytes, at, len - at);
      if (length < 0) {
        status = -length;
        break;
      }
      this.seq[count] =
        u32At(bytes, at + REC_OFF_SEQ + 4) * 0x100000000 + u32At(bytes, at + REC_OFF_SEQ);
      this.tsWords[2 * count] = u32At(bytes, at + REC_OFF_TS);
      this.tsWords[2 * count + 1] = u32At(bytes, at + REC_OFF_TS + 4);
      this.offset[count] = at;
      this.length[count] = length;
      const flags = bytes[at + REC_OFF_FLAGS];
      this.flags[count] = flags;
      if (hashes !== null) {
        const subjectAt = at + REC_HEADER_SIZE + ((flags & REC_FLAG_TTL) !== 0 ? REC_TTL_SIZE : 0);
        const subjectLen =
          bytes[at + REC_OFF_SUBJECT_LEN] | (bytes[at + REC_OFF_SUBJECT_LEN + 1] << 8);
        hashes[count] = xxh64Parts(bytes, subjectAt, subjectLen, 0, 0);
      }
      at += length;
      count++;
    }
    this.status = status;
    this.stopOffset = at;
    return count;
  }
}
