/**
 * Decodes records in core memory: one `recordDecode` call measures, verifies
 * and locates the fields; the getters read the core's result area through
 * typed views, so a hot caller (loadMsg) pays for exactly the fields it uses.
 * The status is returned, not thrown, on the hot path; `decodeAtOrThrow` turns
 * it into ErrCorrupt for callers that give up on damage.
 */
import { invalidArgument } from "../errors.ts";
import { REC_FLAG_HDR, REC_FLAG_TTL } from "../format.ts";
import type { WasmCore } from "../wasm/core.ts";
import { corruptRecord } from "./status.ts";
import { readUtf8 } from "./utf8.ts";
import { checkPointer, describe } from "./validate.ts";

// Offsets in the decode result area (assembly/record.ts).
const SEQ = 0;
const TS = 8;
const TTL = 16;
const LENGTH = 24;
const FLAGS = 28;
const SUBJECT_AT = 32;
const SUBJECT_LEN = 36;
const HDR_AT = 40;
const HDR_LEN = 44;
const MSG_AT = 48;
const MSG_LEN = 52;

/** Reads records from a core's linear memory; the getters describe the last successful decode. */
export class RecordDecoder {
  readonly core: WasmCore;
  private readonly area: number;

  constructor(core: WasmCore) {
    this.core = core;
    this.area = core.abi.recordDecoded();
  }

  /**
   * Verifies the record at `ptr` with `available` readable bytes; returns its
   * length, or a negated STATUS_* (never reads outside the range).
   */
  decodeAt(ptr: number, available: number): number {
    if (!Number.isSafeInteger(available) || available < 0) {
      throw invalidArgument(`Available byte count ${describe(available)} is not a length`);
    }
    checkPointer(ptr, available, this.core.u8.length);
    return this.core.abi.recordDecode(ptr, available);
  }

  /** `decodeAt`, throwing ErrCorrupt at `offset` (of `file`) on damage. */
  decodeAtOrThrow(ptr: number, available: number, offset: number, file?: string): number {
    const length = this.decodeAt(ptr, available);
    if (length < 0) throw corruptRecord(-length, offset, file);
    return length;
  }

  get seq(): number {
    return this.core.f64[(this.area + SEQ) >>> 3];
  }

  get ts(): bigint {
    return this.core.view.getBigInt64(this.area + TS, true);
  }

  /** Low and high u32 halves of the timestamp, for callers that avoid BigInt. */
  get tsLo(): number {
    return this.core.u32[(this.area + TS) >>> 2];
  }

  get tsHi(): number {
    return this.core.u32[(this.area + TS + 4) >>> 2];
  }

  /** TTL in seconds, or null when the record has none. */
  get ttl(): number | null {
    if ((this.flags & REC_FLAG_TTL) === 0) return null;
    return this.core.f64[(this.area + TTL) >>> 3];
  }

  get length(): number {
    return this.core.u32[(this.area + LENGTH) >>> 2];
  }

  get flags(): number {
    return this.core.u32[(this.area + FLAGS) >>> 2];
  }

  get subjectAt(): number {
    return this.core.u32[(this.area + SUBJECT_AT) >>> 2];
  }

  get subjectLength(): number {
    return this.core.u32[(this.area + SUBJECT_LEN) >>> 2];
  }

  get hdrAt(): number {
    return this.core.u32[(this.area + HDR_AT) >>> 2];
  }

  get hdrLength(): number {
    return this.core.u32[(this.area + HDR_LEN) >>> 2];
  }

  get msgAt(): number {
    return this.core.u32[(this.area + MSG_AT) >>> 2];
  }

  get msgLength(): number {
    return this.core.u32[(this.area + MSG_LEN) >>> 2];
  }

  /** The subject as a string, or null if its bytes are not valid UTF-8. */
  subject(): string | null {
    return readUtf8(this.core.u8, this.subjectAt, this.subjectLength);
  }

  /** A copy of the headers, or null when the record has none. */
  hdr(): Uint8Array | null {
    if ((this.flags & REC_FLAG_HDR) === 0) return null;
    const at = this.hdrAt;
    return this.core.u8.slice(at, at + this.hdrLength);
  }

  /** A copy of the payload. */
  msg(): Uint8Array {
    const at = this.msgAt;
    return this.core.u8.slice(at, at + this.msgLength);
  }
}
