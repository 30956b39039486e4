/**
 * The active block's bytes in WebAssembly linear memory. Records are encoded
 * straight into it (subject UTF-8 written in place, headers and payload
 * `set()` once, header and checksum by one WASM call), recent reads decode
 * from it, and a flush writes a view of it to the block file — so a record is
 * never copied between encode and disk. One buffer per store: a header's
 * room until the records outgrow it, then the block size at once (an open
 * that only reads takes no block of core memory: V8 counts core memory
 * against its heap limit, and growing it by a block at open brought the
 * first full collection into the open); after that it grows only for a
 * record larger than a block.
 */
import { JetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  BLOCK_MAGIC,
  BLOCK_OFF_FLAGS,
  BLOCK_OFF_MAGIC,
  BLOCK_OFF_NUMBER,
  BLOCK_OFF_VERSION,
  FORMAT_VERSION,
  REC_CHECKSUM_SIZE,
  REC_FLAG_HDR,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_TTL_SIZE,
} from "../format.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";

const encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

/** Room held until the records outgrow it: a block's header and a small record or two. */
const BEFORE_FIRST_RECORD = 256;

export class WriteBuffer {
  private readonly core: WasmCore = getCore();
  ptr: number;
  capacity: number;
  /** Bytes of the active block held here (header included). */
  used = 0;
  /** The room taken at the first growth: a whole block, so appends never copy it on the way up. */
  private readonly blockCapacity: number;

  constructor(blockCapacity: number) {
    this.blockCapacity = blockCapacity;
    this.capacity = Math.min(blockCapacity, BEFORE_FIRST_RECORD);
    this.ptr = this.core.alloc(this.capacity);
  }

  /** Starts a new block: writes its header at offset 0. */
  reset(blockNumber: number): void {
    const view = this.core.view;
    const p = this.ptr;
    view.setUint32(p + BLOCK_OFF_MAGIC, BLOCK_MAGIC, true);
    view.setUint16(p + BLOCK_OFF_VERSION, FORMAT_VERSION, true);
    view.setUint16(p + BLOCK_OFF_FLAGS, 0, true);
    view.setUint32(p + BLOCK_OFF_NUMBER, blockNumber % TWO_32, true);
    view.setUint32(p + BLOCK_OFF_NUMBER + 4, Math.floor(blockNumber / TWO_32), true);
    this.used = BLOCK_HEADER_SIZE;
  }

  /** Replaces the contents with `bytes` (an existing block read back from disk). */
  load(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.core.u8.set(bytes, this.ptr);
    this.used = bytes.length;
  }

  /** Makes room for `total` bytes, keeping what is there. */
  ensure(total: number): void {
    if (total <= this.capacity) return;
    const capacity = Math.max(total, this.capacity * 2, this.blockCapacity);
    const next = this.core.alloc(capacity);
    this.core.u8.copyWithin(next, this.ptr, this.ptr + this.used);
    this.core.free(this.ptr);
    this.ptr = next;
    this.capacity = capacity;
  }

  /**
   * Encodes a record at the end of the buffer; returns its offset in the
   * block. The caller checked that `maxSize` bytes fit. `ts` is in nanoseconds.
   */
  append(
    seq: number,
    ts: bigint,
    subject: string,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    flags: number,
    ttl: number,
  ): number {
    const core = this.core;
    const at = this.ptr + this.used;
    let fieldsAt = at + REC_HEADER_SIZE;
    if (ttl !== 0) {
      flags |= REC_FLAG_TTL;
      fieldsAt += REC_TTL_SIZE;
    }
    const u8 = core.u8;
    let subjectLen = subject.length;
    for (let i = 0; i < subjectLen; i++) {
      const c = subject.charCodeAt(i);
      if (c > 0x7f) {
        subjectLen = encoder.encodeInto(
          subject,
          u8.subarray(fieldsAt, fieldsAt + subject.length * 3),
        ).written;
        break;
      }
      u8[fieldsAt + i] = c;
    }
    let hdrLen = 0;
    if (hdr !== null) {
      flags |= REC_FLAG_HDR;
      hdrLen = hdr.length;
      u8.set(hdr, fieldsAt + subjectLen);
    }
    u8.set(msg, fieldsAt + subjectLen + hdrLen);
    return this.sealed(
      core.abi.recordSeal(at, seq, ts, subjectLen, hdrLen, msg.length, flags, ttl),
      seq,
    );
  }

  /** `append` of a tombstone or a skip, its time in halves (no BigInt per removal). @internal */
  appendBare(seq: number, tsHi: number, tsLo: number, payload: Uint8Array, flags: number): number {
    const at = this.ptr + this.used;
    if (payload.length > 0) this.core.u8.set(payload, at + REC_HEADER_SIZE);
    return this.sealed(
      this.core.abi.recordSealBare(at, seq, tsHi, tsLo, payload.length, flags),
      seq,
    );
  }

  /** Takes the record the core sealed at the end, `length` bytes (negated status if refused); returns its offset. */
  private sealed(length: number, seq: number): number {
    if (length < 0) {
      throw new JetStoreError(
        "ErrInternal",
        `Record ${seq} could not be sealed (status ${-length})`,
      );
    }
    const offset = this.used;
    this.used = offset + length;
    return offset;
  }

  /** The largest record `append` may write for these parts. */
  static maxRecordSize(subject: string, hdr: Uint8Array | null, msg: Uint8Array): number {
    return (
      REC_HEADER_SIZE +
      REC_TTL_SIZE +
      subject.length * 3 +
      (hdr === null ? 0 : hdr.length) +
      msg.length +
      REC_CHECKSUM_SIZE
    );
  }

  /** A view of bytes [from, to) of the block; valid until memory grows. */
  view(from: number, to: number): Uint8Array {
    return this.core.u8.subarray(this.ptr + from, this.ptr + to);
  }

  /** Hands the current bytes to the caller (who must free them) and starts on fresh memory. */
  handOff(): { ptr: number; length: number } {
    const out = { ptr: this.ptr, length: this.used };
    this.ptr = this.core.alloc(this.capacity);
    this.used = 0;
    return out;
  }

  dispose(): void {
    this.core.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
    this.used = 0;
  }
}
