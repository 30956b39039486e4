/**
 * Little-endian byte writer and reader for metadata files (checkpoints,
 * consumer state), and the one byte comparison the stores share. Records are
 * encoded by the WebAssembly core; these small files are not hot, so plain
 * DataView code keeps them readable. The reader treats its input as hostile:
 * every read is bounds-checked and fails with ErrCorrupt, never with a
 * RangeError.
 */
import { corrupt } from "./errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  /** `capacity`: the bytes expected, so a large file is not grown (and copied) by doubling. */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(capacity, 16));
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }

  /** A safe non-negative integer as a u64. */
  u64(v: number): this {
    this.reserve(8);
    this.view.setUint32(this.length, v % 0x1_0000_0000, true);
    this.view.setUint32(this.length + 4, Math.floor(v / 0x1_0000_0000), true);
    this.length += 8;
    return this;
  }

  i64(v: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
    return this;
  }

  /** A u32 length, then the bytes. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  string(s: string): this {
    return this.bytes(encoder.encode(s));
  }

  raw(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** The bytes written so far, not copied: valid until the next write. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export class ByteReader {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly what: string;
  /** The file `buf` came from, named by every ErrCorrupt this reader throws. */
  private readonly file: string | undefined;
  offset = 0;

  constructor(buf: Uint8Array, what: string, file?: string) {
    this.buf = buf;
    this.what = what;
    this.file = file;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number): number {
    if (this.offset + n > this.buf.length) {
      throw corrupt(`${this.what} ends early: needed ${n} bytes at offset ${this.offset}`, {
        file: this.file,
        offset: this.offset,
      });
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /** A u64 that must be a safe integer. */
  u64(): number {
    const at = this.need(8);
    const value = this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 0x1_0000_0000;
    if (!Number.isSafeInteger(value)) {
      throw corrupt(`${this.what} holds an out-of-range integer at offset ${at}`, {
        file: this.file,
        offset: at,
      });
    }
    return value;
  }

  i64(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }

  /** The next `length` bytes, copied. */
  fixed(length: number): Uint8Array {
    const at = this.need(length);
    return this.buf.slice(at, at + length);
  }

  bytes(): Uint8Array {
    const length = this.u32();
    const at = this.need(length);
    return this.buf.subarray(at, at + length);
  }

  string(): string {
    const bytes = this.bytes();
    try {
      return decoder.decode(bytes);
    } catch {
      throw corrupt(`${this.what} holds invalid UTF-8 at offset ${this.offset - bytes.length}`, {
        file: this.file,
        offset: this.offset - bytes.length,
      });
    }
  }
}

/**
 * Whether `a` from `aOffset` and `b` from `bOffset` hold the same `length`
 * bytes; false where either range runs past its array's end. A plain loop:
 * the compared runs are short (subjects, checksums), where it beats making
 * subarrays, and the engines inline it at the hot call sites (bulk-load.ts).
 */
export function sameBytes(
  a: Uint8Array,
  aOffset: number,
  b: Uint8Array,
  bOffset: number,
  length: number,
): boolean {
  if (aOffset + length > a.length || bOffset + length > b.length) return false;
  for (let i = 0; i < length; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}
