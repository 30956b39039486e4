/**
 * Rebuilds a block's index in one core call per batch: `scanRecords` verifies
 * every checksum and fills struct-of-arrays columns this class allocated once
 * in core memory with a fixed capacity. Views over the columns are re-taken
 * only when memory has grown. Per-record calls from JavaScript were rejected:
 * the boundary crossing would cost more than hashing a small record.
 */
import { invalidArgument, outOfRange } from "../errors.ts";
import type { WasmCore } from "../wasm/core.ts";
import { checkPointer, describe } from "./validate.ts";

/** Bytes of the columns per record: seq f64, ts i64, offset u32, length u32, flags u8, hash u32. */
const BYTES_PER_RECORD = 8 + 8 + 4 + 4 + 1 + 4;

/** Scans blocks in core memory into reusable columns. */
export class BlockScanner {
  readonly core: WasmCore;
  readonly capacity: number;
  /** Core addresses of the columns; `hashPtr` is 0 when subject hashes were not requested. */
  readonly seqPtr: number;
  readonly tsPtr: number;
  readonly offsetPtr: number;
  readonly lengthPtr: number;
  readonly flagsPtr: number;
  readonly hashPtr: number;
  private region: number;
  private readonly resultArea: number;
  private buffer: ArrayBufferLike | null = null;
  private views!: {
    seq: Float64Array;
    ts: BigInt64Array;
    offset: Uint32Array;
    length: Uint32Array;
    flags: Uint8Array;
    subjectHash: Uint32Array | null;
  };
  private lastStatus = 0;
  private lastStop = 0;

  /** Allocates columns for `capacity` records (with a subject-hash column if `subjectHashes`). */
  constructor(core: WasmCore, capacity: number, subjectHashes = false) {
    if (
      !Number.isSafeInteger(capacity) ||
      capacity < 1 ||
      capacity * BYTES_PER_RECORD > 0x7fff0000
    ) {
      throw invalidArgument(
        `Scan capacity ${describe(capacity)} is not a record count between 1 and 2^26`,
      );
    }
    this.core = core;
    this.capacity = capacity;
    // One region: 8-byte columns first, so every column stays aligned to its element size.
    const size = capacity * (subjectHashes ? BYTES_PER_RECORD : BYTES_PER_RECORD - 4);
    const base = core.alloc(size);
    this.region = base;
    this.seqPtr = base;
    this.tsPtr = base + 8 * capacity;
    this.offsetPtr = base + 16 * capacity;
    this.lengthPtr = base + 20 * capacity;
    this.hashPtr = subjectHashes ? base + 24 * capacity : 0;
    this.flagsPtr = base + (subjectHashes ? 28 : 24) * capacity;
    this.resultArea = core.abi.scanResult();
  }

  /**
   * Scans records from `ptr + start` to `ptr + len` in core memory, at most
   * `maxRecords` (default: the capacity); returns the count. Then `status`
   * and `stopOffset` tell why it stopped (see ScanResult).
   */
  scan(
    ptr: number,
    len: number,
    start = 0,
    maxRecords = this.capacity,
    subjectHashes = this.hashPtr !== 0,
  ): number {
    if (this.region === 0) throw invalidArgument("Scanner was freed");
    if (!Number.isSafeInteger(len) || len < 0 || len > 0x7fffffff) {
      throw invalidArgument(`Scan length ${describe(len)} is not a byte count below 2 GiB`);
    }
    checkPointer(ptr, len, this.core.u8.length);
    if (!Number.isSafeInteger(start) || start < 0 || start > len) {
      throw outOfRange(`Scan start ${describe(start)} is not within the ${len} bytes`);
    }
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 0 || maxRecords > this.capacity) {
      throw outOfRange(
        `Scan of ${describe(maxRecords)} records exceeds the capacity of ${this.capacity}`,
      );
    }
    if (subjectHashes && this.hashPtr === 0) {
      throw invalidArgument("Scanner was created without a subject-hash column");
    }
    const abi = this.core.abi;
    const count = abi.scanRecords(
      ptr,
      len,
      start,
      maxRecords,
      this.seqPtr,
      this.tsPtr,
      this.offsetPtr,
      this.lengthPtr,
      this.flagsPtr,
      subjectHashes ? this.hashPtr : 0,
    );
    const i32 = this.core.i32;
    this.lastStop = i32[this.resultArea >>> 2] >>> 0;
    this.lastStatus = i32[(this.resultArea >>> 2) + 1];
    return count;
  }

  /** STATUS_* of the last scan. */
  get status(): number {
    return this.lastStatus;
  }

  /** Offset (from the scanned buffer's start) where the last scan stopped. */
  get stopOffset(): number {
    return this.lastStop;
  }

  get seq(): Float64Array {
    return this.columns().seq;
  }

  get ts(): BigInt64Array {
    return this.columns().ts;
  }

  get offset(): Uint32Array {
    return this.columns().offset;
  }

  get length(): Uint32Array {
    return this.columns().length;
  }

  get flags(): Uint8Array {
    return this.columns().flags;
  }

  /** Subject hashes, or null if this scanner has no hash column. */
  get subjectHash(): Uint32Array | null {
    return this.columns().subjectHash;
  }

  /** Returns the columns to the core; the scanner is unusable afterwards. */
  free(): void {
    this.core.free(this.region);
    this.region = 0;
    this.buffer = null;
  }

  private columns(): BlockScanner["views"] {
    const buffer = this.core.u8.buffer;
    if (buffer !== this.buffer) {
      if (this.region === 0) throw invalidArgument("Scanner was freed");
      const n = this.capacity;
      this.views = {
        seq: new Float64Array(buffer, this.seqPtr, n),
        ts: new BigInt64Array(buffer, this.tsPtr, n),
        offset: new Uint32Array(buffer, this.offsetPtr, n),
        length: new Uint32Array(buffer, this.lengthPtr, n),
        flags: new Uint8Array(buffer, this.flagsPtr, n),
        subjectHash: this.hashPtr === 0 ? null : new Uint32Array(buffer, this.hashPtr, n),
      };
      this.buffer = buffer;
    }
    return this.views;
  }
}
