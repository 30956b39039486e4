/**
 * Argument checks shared by every codec implementation: a record is refused
 * before a byte is written if any field is of the wrong type, out of range, or
 * contradicts its kind. The rules mirror what the decoder accepts (see
 * assembly/record.ts `checkFields`), so whatever encodes also decodes:
 * - at most one kind flag (TOMBSTONE, ERASED, SKIP);
 * - a message has a 1..65535-byte subject; an erased record keeps any subject;
 * - tombstones and skips have no subject, headers or TTL; a tombstone has no
 *   payload and a skip's payload is its 8-byte count.
 */
import { invalidArgument, outOfRange } from "../errors.ts";
import {
  MAX_SEQ,
  MAX_SUBJECT_BYTES,
  REC_FLAG_ERASED,
  REC_FLAG_HDR,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_FLAGS_KNOWN,
  REC_MIN_SIZE,
  REC_TTL_SIZE,
} from "../format.ts";
import type { RecordFields, ScanOptions } from "./types.ts";
import { utf8Length } from "./utf8.ts";

/** Lengths cross the WASM boundary as i32, so a record stays below 2 GiB. */
export const RECORD_LIMIT = 0x7fffffff;
/** Payload size of a skip record: its u64 count. */
export const SKIP_PAYLOAD_SIZE = 8;

const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
const KINDS = REC_FLAG_TOMBSTONE | REC_FLAG_ERASED | REC_FLAG_SKIP;

/** Bytes of a record with these part sizes, checksum included. */
export function recordSize(
  subjectBytes: number,
  hdrLen: number,
  msgLen: number,
  ttl: boolean,
): number {
  return REC_MIN_SIZE + (ttl ? REC_TTL_SIZE : 0) + subjectBytes + hdrLen + msgLen;
}

/** The full flag byte: `flags` plus HDR and TTL as `hdr` and `ttl` imply. */
export function fullFlags(
  hdr: Uint8Array | null,
  ttl: number | null | undefined,
  flags: number,
): number {
  return flags | (hdr === null ? 0 : REC_FLAG_HDR) | (ttl == null ? 0 : REC_FLAG_TTL);
}

/**
 * Checks every field of a record to encode and returns its subject's UTF-8
 * byte length; throws ErrInvalidArgument or ErrOutOfRange otherwise.
 */
export function checkRecordArgs(
  subject: string,
  hdr: Uint8Array | null,
  msg: Uint8Array,
  seq: number,
  ts: bigint,
  ttl: number | null | undefined,
  flags: number,
): number {
  if (typeof subject !== "string")
    throw invalidArgument(`Subject must be a string, not ${describe(subject)}`);
  if (hdr !== null && !(hdr instanceof Uint8Array)) {
    throw invalidArgument(`Headers must be a Uint8Array or null, not ${describe(hdr)}`);
  }
  if (!(msg instanceof Uint8Array))
    throw invalidArgument(`Payload must be a Uint8Array, not ${describe(msg)}`);
  checkCount("Sequence", seq);
  if (typeof ts !== "bigint")
    throw invalidArgument(`Timestamp must be a bigint, not ${describe(ts)}`);
  if (ts < MIN_I64 || ts > MAX_I64)
    throw outOfRange(`Timestamp ${ts} does not fit in a signed 64-bit integer`);
  // TTL -1 is nats-server's "never expires".
  if (ttl != null && ttl !== -1) checkCount("TTL", ttl);
  if (
    typeof flags !== "number" ||
    !Number.isInteger(flags) ||
    flags < 0 ||
    (flags & ~REC_FLAGS_KNOWN) !== 0
  ) {
    throw invalidArgument(`Flags ${describe(flags)} hold bits this format does not know`);
  }
  if ((flags & REC_FLAG_HDR) !== 0 && hdr === null)
    throw invalidArgument("Flag HDR is set but headers are null");
  if ((flags & REC_FLAG_TTL) !== 0 && ttl == null)
    throw invalidArgument("Flag TTL is set but no TTL is given");
  const kind = flags & KINDS;
  if ((kind & (kind - 1)) !== 0) {
    throw invalidArgument(`Flags ${flags} combine more than one of TOMBSTONE, ERASED and SKIP`);
  }
  const bytes = subject.length === 0 ? 0 : utf8Length(subject);
  if (bytes < 0) throw invalidArgument(`Subject ${JSON.stringify(subject)} holds a lone surrogate`);
  if (bytes > MAX_SUBJECT_BYTES) {
    throw outOfRange(`Subject of ${bytes} UTF-8 bytes exceeds the limit of ${MAX_SUBJECT_BYTES}`);
  }
  if (kind === 0 && bytes === 0) throw invalidArgument("Subject of a message must not be empty");
  if (kind === REC_FLAG_TOMBSTONE || kind === REC_FLAG_SKIP) {
    const name = kind === REC_FLAG_SKIP ? "skip" : "tombstone";
    if (bytes !== 0 || hdr !== null || ttl != null) {
      throw invalidArgument(`A ${name} record has no subject, headers or TTL`);
    }
    const fits =
      msg.length === SKIP_PAYLOAD_SIZE || (kind === REC_FLAG_TOMBSTONE && msg.length === 0);
    if (!fits) {
      const want = kind === REC_FLAG_SKIP ? "8" : "0 or 8";
      throw invalidArgument(`A ${name} record's payload is ${want} bytes, not ${msg.length}`);
    }
  }
  const size = recordSize(bytes, hdr === null ? 0 : hdr.length, msg.length, ttl != null);
  if (size > RECORD_LIMIT)
    throw outOfRange(`Record of ${size} bytes exceeds the limit of ${RECORD_LIMIT}`);
  return bytes;
}

/** Checks that [ptr, ptr + size) is inside `memorySize` bytes of core memory and not at address 0. */
export function checkPointer(ptr: number, size: number, memorySize: number): void {
  if (!Number.isSafeInteger(ptr) || ptr <= 0)
    throw invalidArgument(`Pointer ${describe(ptr)} is not a core address`);
  if (ptr + size > memorySize) {
    throw outOfRange(
      `Range of ${size} bytes at ${ptr} ends beyond core memory (${memorySize} bytes)`,
    );
  }
}

/** Validated scan options with defaults filled in. */
export function scanOptions(
  options: ScanOptions,
  defaultStart: number,
  length: number,
): { start: number; maxRecords: number; subjectHashes: boolean } {
  if (options === null || typeof options !== "object") {
    throw invalidArgument(`Scan options must be an object, not ${describe(options)}`);
  }
  const start = options.start ?? defaultStart;
  checkOffset(start, length);
  const maxRecords = options.maxRecords ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 0) {
    throw invalidArgument(`Scan maxRecords ${describe(maxRecords)} is not a non-negative integer`);
  }
  const subjectHashes = options.subjectHashes ?? false;
  if (typeof subjectHashes !== "boolean") {
    throw invalidArgument(`Scan subjectHashes ${describe(subjectHashes)} is not a boolean`);
  }
  return { start, maxRecords, subjectHashes };
}

/** Throws ErrInvalidArgument unless `bytes` is a Uint8Array. */
export function checkBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgument(`Bytes must be a Uint8Array, not ${describe(bytes)}`);
}

/** Throws unless `offset` is an integer within [0, length]. */
export function checkOffset(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > length) {
    throw invalidArgument(`Offset ${describe(offset)} is not within the ${length} bytes`);
  }
}

/** Throws unless `fields` is an object; returns it typed. */
export function checkFields(fields: RecordFields): RecordFields {
  if (fields === null || typeof fields !== "object") {
    throw invalidArgument(`Record fields must be an object, not ${describe(fields)}`);
  }
  return fields;
}

function checkCount(what: string, value: number): void {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalidArgument(`${what} must be an integer, not ${describe(value)}`);
  }
  if (value < 0 || value > MAX_SEQ)
    throw outOfRange(`${what} ${value} is not between 0 and ${MAX_SEQ}`);
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== "object") return String(value);
  return value.constructor?.name ?? "an object";
}
