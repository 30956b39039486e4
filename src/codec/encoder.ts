/**
 * Encodes records straight into core memory: the subject is written as UTF-8
 * at its final address, headers and payload are `set()` once after it, and a
 * single `recordSeal` call writes the fixed header, TTL and checksum. The
 * timestamp is split into u32 halves through a BigInt64Array slot, which in
 * V8 costs less than `ts >> 32n` and `ts & 0xffffffffn` (each allocates).
 * Every argument is checked first (./validate.ts), so bad input writes nothing.
 */
import { JetStoreError } from "../errors.ts";
import { REC_FLAG_TTL, REC_HEADER_SIZE, REC_TTL_SIZE } from "../format.ts";
import type { WasmCore } from "../wasm/core.ts";
import { statusName } from "./status.ts";
import { writeUtf8 } from "./utf8.ts";
import { checkPointer, checkRecordArgs, fullFlags, recordSize } from "./validate.ts";

/** Writes records into a core's linear memory. */
export class RecordEncoder {
  readonly core: WasmCore;

  constructor(core: WasmCore) {
    this.core = core;
  }

  /**
   * Encodes a record at `ptr` in core memory, within `capacity` bytes;
   * returns its length. `ttl` null means none; `flags` adds TOMBSTONE, ERASED
   * or SKIP (HDR and TTL follow `hdr` and `ttl`).
   */
  encodeAt(
    ptr: number,
    capacity: number,
    subject: string,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    seq: number,
    ts: bigint,
    ttl: number | null = null,
    flags = 0,
  ): number {
    const subjectLen = checkRecordArgs(subject, hdr, msg, seq, ts, ttl, flags);
    const hdrLen = hdr === null ? 0 : hdr.length;
    const size = recordSize(subjectLen, hdrLen, msg.length, ttl !== null);
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new JetStoreError("ErrInvalidArgument", `Capacity ${capacity} is not a byte count`);
    }
    if (size > capacity) {
      throw new JetStoreError(
        "ErrOutOfRange",
        `Record of ${size} bytes does not fit in ${capacity} bytes`,
      );
    }
    const u8 = this.core.u8;
    checkPointer(ptr, size, u8.length);
    const all = fullFlags(hdr, ttl, flags);
    const subjectAt = ptr + REC_HEADER_SIZE + ((all & REC_FLAG_TTL) !== 0 ? REC_TTL_SIZE : 0);
    writeUtf8(u8, subjectAt, subject, subjectLen);
    if (hdr !== null && hdrLen > 0) u8.set(hdr, subjectAt + subjectLen);
    if (msg.length > 0) u8.set(msg, subjectAt + subjectLen + hdrLen);
    const length = this.core.abi.recordSeal(
      ptr,
      seq,
      ts,
      subjectLen,
      hdrLen,
      msg.length,
      all,
      ttl ?? 0,
    );
    if (length !== size) {
      throw new JetStoreError(
        "ErrInternal",
        `Core refused a checked record (${length < 0 ? statusName(-length) : `length ${length}`})`,
      );
    }
    return length;
  }
}
