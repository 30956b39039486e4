/**
 * One block file in the sealed format (FORMAT.md, "Sealed blocks"): a plain
 * 40-byte header (magic, version 2, format bits, block number, the salt of
 * the block's key, a checksum), then chunks. Each chunk has a plain header
 * (its plaintext offset and length, its stored length, flags, a nonce with a
 * cipher, a check) and a body: the plaintext, compressed when that is
 * shorter, then sealed with an AEAD tag that also covers the header. The
 * chunks' plaintexts, end to end, are a version 1 block byte for byte, so
 * everything above block-file.ts keeps plaintext offsets.
 *
 * Damage stays local. A chunk whose tag or check fails reads as zeros (which
 * fail record verification) over its plaintext range; a chunk header that
 * fails its check is skipped by searching forward for the next valid one,
 * whose plaintext offset says where it belongs; bytes at the end that form
 * no whole chunk read as zeros as long as they are, so open cuts them as a
 * torn tail.
 */

import { NONCE_BYTES, randomBytes, TAG_BYTES } from "../../runtimes/aead.ts";
import type { FileHandle } from "../../runtimes/fs.ts";
import { type FileFormat, formatBits, formatOfBits, type Sealer } from "../at-rest/sealer.ts";
import { sameBytes } from "../bytes.ts";
import { xxh64 } from "../codec/index.ts";
import { JetStoreError } from "../errors.ts";
import {
  BLOCK_MAGIC,
  CHUNK_CHECK_SIZE,
  CHUNK_FIXED_SIZE,
  CHUNK_FLAG_COMPRESSED,
  SALT_BYTES,
  SEALED_BLOCK_VERSION,
  SEALED_FLAG_PACKED,
  SEALED_HEADER_SIZE,
  SEALED_OFF_CHECKSUM,
  SEALED_OFF_SALT,
} from "../format.ts";

/** Largest plaintext of one chunk an append writes; a larger write-out becomes several. */
export const APPEND_CHUNK_MAX = 64 * 1024;
/**
 * Plaintext per chunk when a block is packed (compressed and sealed whole,
 * off the hot path). A random read opens one chunk, so smaller is faster to
 * read and compresses worse. W10 on disk, snappy ÷ plain: 0.49 with 4 KiB
 * chunks, 0.41 with 16 KiB; W3 on a packed store 0.26× plain with 4 KiB,
 * 0.22× with 16 KiB (`npm run bench`, BENCH_ONLY=W9a-W3,W10s, 2026-12-02):
 * a random read's cost is mostly the read, allocations and copies around
 * the chunk, not its size, so compression wins.
 */
export const PACK_CHUNK = 16 * 1024;
/** No chunk holds more: a header claiming more is damage. */
const CHUNK_PLAIN_MAX = 1 << 30;

interface Chunk {
  plainStart: number;
  plainLength: number;
  /** Offset of the chunk's header in the file; for a hole, where its unreadable bytes start. */
  fileStart: number;
  /** Bytes after the header (tag included); for a hole, the unreadable bytes. */
  storedLength: number;
  /** CHUNK_FLAG_*; -1 marks a hole: bytes that read as zeros. */
  flags: number;
  nonce: Uint8Array | null;
}

/** A stretch of a sealed file that cannot be read (`SealedFile.checkChunks`). */
export interface ChunkDamage {
  plainStart: number;
  plainLength: number;
  fileStart: number;
  fileLength: number;
  /** "tag": the chunk fails its tag (or does not uncompress); "unreadable": bytes with no valid chunk header; "torn": the last chunk ends past the file. */
  why: "tag" | "unreadable" | "torn";
}

export class SealedFile {
  readonly format: FileFormat;
  readonly packed: boolean;
  private readonly sealer: Sealer;
  private key: Uint8Array | null;
  private readonly chunkHeader: number;
  /** The file's 40-byte header, as written or read; null for an unreadable file. */
  private readonly head: Uint8Array | null;
  private readonly chunks: Chunk[] = [];
  /** Plaintext bytes the chunks (and holes) cover. */
  plainEnd = 0;
  /** Where the next chunk goes. */
  fileEnd = SEALED_HEADER_SIZE;
  /** The last chunk opened, kept for the read that follows (a long record's rest). */
  private recent: { chunk: Chunk; plain: Uint8Array | null } | null = null;

  private constructor(
    sealer: Sealer,
    format: FileFormat,
    salt: Uint8Array,
    packed: boolean,
    head: Uint8Array | null,
  ) {
    this.sealer = sealer;
    this.format = format;
    this.packed = packed;
    this.head = head;
    this.key = format.cipher === "none" ? null : sealer.fileKey(format.cipher, salt, "block");
    this.chunkHeader =
      CHUNK_FIXED_SIZE + (format.cipher === "none" ? 0 : NONCE_BYTES) + CHUNK_CHECK_SIZE;
  }

  /** Writes the header of a new sealed file for block `n` into `handle` (empty). */
  static create(
    handle: FileHandle,
    n: number,
    sealer: Sealer,
    format: FileFormat,
    packed: boolean,
  ): SealedFile {
    const salt = format.cipher === "none" ? new Uint8Array(SALT_BYTES) : randomBytes(SALT_BYTES);
    const head = headerBytes(n, format, salt, packed);
    const file = new SealedFile(sealer, format, salt, packed, head);
    handle.write(head, 0);
    return file;
  }

  /** The sealed file in `handle` (`size` bytes), its chunks walked; null when it is not one. */
  static open(handle: FileHandle, n: number, size: number, sealer: Sealer): SealedFile | null {
    if (size < SEALED_HEADER_SIZE) return null;
    const head = new Uint8Array(SEALED_HEADER_SIZE);
    if (handle.read(head, 0) < SEALED_HEADER_SIZE) return null;
    const view = new DataView(head.buffer);
    if (view.getUint32(0, true) !== BLOCK_MAGIC) return null;
    if (view.getUint16(4, true) !== SEALED_BLOCK_VERSION) return null;
    const sum = view.getBigUint64(SEALED_OFF_CHECKSUM, true);
    if (xxh64(head.subarray(0, SEALED_OFF_CHECKSUM)) !== sum) return null;
    const bits = view.getUint16(6, true);
    const format = formatOfBits(bits & 0xf);
    if (format === null || bits & ~(0xf | SEALED_FLAG_PACKED)) {
      throw new JetStoreError(
        "ErrUnsupportedFormat",
        `${handle.path} is sealed in a format this jetstore does not know (flags ${bits})`,
        { file: handle.path },
      );
    }
    const number = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
    if (number !== n) return null;
    const salt = head.slice(SEALED_OFF_SALT, SEALED_OFF_SALT + SALT_BYTES);
    const file = new SealedFile(sealer, format, salt, (bits & SEALED_FLAG_PACKED) !== 0, head);
    file.walk(handle, size);
    return file;
  }

  /** A sealed file whose own header is damaged: nothing in it can be opened, so all of it reads as zeros. */
  static unreadable(sealer: Sealer, size: number): SealedFile {
    const file = new SealedFile(
      sealer,
      { compression: "none", cipher: "none" },
      new Uint8Array(SALT_BYTES),
      false,
      null,
    );
    file.hole(0, size, size);
    file.fileEnd = size;
    return file;
  }

  /** True when `head` (a file's first bytes) names the sealed version. */
  static isSealed(head: Uint8Array): boolean {
    if (head.length < 6) return false;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    return (
      view.getUint32(0, true) === BLOCK_MAGIC && view.getUint16(4, true) === SEALED_BLOCK_VERSION
    );
  }

  /** Appends `bytes` (plaintext offset `plainEnd`) as chunks of at most `max` bytes, in one write. */
  append(handle: FileHandle, bytes: Uint8Array, compress: boolean, max = APPEND_CHUNK_MAX): void {
    const last = this.chunks.at(-1);
    if (last !== undefined && last.flags < 0) {
      throw new JetStoreError(
        "ErrInternal",
        `${handle.path}: append after unreadable bytes that were not cut`,
      );
    }
    const parts: Uint8Array[] = [];
    const added: Chunk[] = [];
    let at = this.fileEnd;
    for (let from = 0; from < bytes.length; from += max) {
      const plain = bytes.subarray(from, Math.min(bytes.length, from + max));
      const nonce = this.format.cipher === "none" ? null : this.sealer.nonce();
      const chunk: Chunk = {
        plainStart: this.plainEnd + from,
        plainLength: plain.length,
        fileStart: at,
        storedLength: 0,
        flags: 0,
        nonce,
      };
      const sealed = this.seal(chunk, plain, compress);
      parts.push(sealed);
      added.push(chunk);
      at += sealed.length;
    }
    handle.write(parts.length === 1 ? parts[0] : concat(parts, at - this.fileEnd), this.fileEnd);
    this.chunks.push(...added);
    this.plainEnd += bytes.length;
    this.fileEnd = at;
  }

  /**
   * Writes again the chunks that hold [offset, offset + bytes.length), which
   * must be the plaintext they already hold (what a failed fsync may have
   * dropped): sealed under their own nonces, they come out as the same bytes.
   * From the start, the file's header too: a failed first fsync of a new
   * file may have dropped it with the chunks, and without it the next open
   * finds no sealed file there, so none of its records.
   */
  rewrite(handle: FileHandle, offset: number, bytes: Uint8Array): void {
    if (offset === 0 && this.head !== null) handle.write(this.head, 0);
    const end = offset + bytes.length;
    for (let i = this.indexAt(offset); i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c.plainStart >= end) break;
      if (c.flags < 0) continue;
      let plain: Uint8Array;
      if (c.plainStart >= offset && c.plainStart + c.plainLength <= end) {
        plain = bytes.subarray(c.plainStart - offset, c.plainStart - offset + c.plainLength);
        // Where the file still reads back, it must hold these very bytes: the nonce may seal nothing else.
        const current = this.plainOf(handle, c);
        const same =
          current?.length === plain.length && sameBytes(current, 0, plain, 0, plain.length);
        if (current !== null && !same) {
          throw new JetStoreError(
            "ErrInternal",
            `${handle.path}: new bytes written over a sealed chunk in place`,
          );
        }
      } else {
        const current = this.plainOf(handle, c);
        if (current === null) {
          throw new JetStoreError(
            "ErrIO",
            `${handle.path}: a chunk to write again cannot be read back`,
            {
              file: handle.path,
              offset: c.fileStart,
            },
          );
        }
        plain = current.slice();
        const from = Math.max(offset, c.plainStart);
        const to = Math.min(end, c.plainStart + c.plainLength);
        plain.set(bytes.subarray(from - offset, to - offset), from - c.plainStart);
      }
      const again = { ...c };
      const sealed = this.seal(again, plain, (c.flags & CHUNK_FLAG_COMPRESSED) !== 0);
      if (sealed.length !== this.chunkHeader + c.storedLength) {
        throw new JetStoreError(
          "ErrInternal",
          `${handle.path}: a chunk written again changed its length`,
        );
      }
      handle.write(sealed, c.fileStart);
    }
  }

  /**
   * Cuts to `length` plaintext bytes when that is a chunk boundary and
   * returns true; false when it falls inside a chunk (the caller rewrites
   * the file: a chunk is never sealed again in place under its nonce).
   */
  cut(handle: FileHandle, length: number): boolean {
    if (length >= this.plainEnd) {
      if (length > this.plainEnd) return false;
      handle.truncate(this.fileEnd);
      return true;
    }
    const i = this.indexAt(length);
    const c = this.chunks[i];
    if (c.plainStart !== length) return false;
    // Forgotten before the file is cut: if the cut fails, what follows is
    // appended over the old chunks as new chunks under fresh nonces, never
    // sealed again in place under theirs.
    this.chunks.length = i;
    this.plainEnd = length;
    this.fileEnd = c.fileStart;
    this.recent = null;
    handle.truncate(c.fileStart);
    return true;
  }

  /**
   * Reads plaintext [position, position + length) into `out` at `at`;
   * returns how many bytes there were (fewer only past the end).
   */
  read(
    handle: FileHandle,
    position: number,
    length: number,
    out: () => Uint8Array,
    at: number,
  ): number {
    const end = Math.min(position + length, this.plainEnd);
    if (position >= end) return 0;
    const first = this.indexAt(position);
    let last = first;
    while (last + 1 < this.chunks.length && this.chunks[last + 1].plainStart < end) last++;
    // One read of the file for every chunk in the range, unless the one wanted was just opened.
    const single = first === last && this.recent?.chunk === this.chunks[first];
    let raw: Uint8Array | null = null;
    let rawStart = 0;
    if (!single) {
      rawStart = this.chunks[first].fileStart;
      const lastChunk = this.chunks[last];
      const rawEnd =
        lastChunk.fileStart + (lastChunk.flags < 0 ? 0 : this.chunkHeader) + lastChunk.storedLength;
      raw = rawBuffer(rawEnd - rawStart);
      readFully(handle, raw, rawStart);
    }
    for (let i = first; i <= last; i++) {
      const c = this.chunks[i];
      let plain: Uint8Array | null;
      if (raw === null) plain = (this.recent as { plain: Uint8Array | null }).plain;
      else {
        plain = c.flags < 0 ? null : this.openChunk(c, raw.subarray(c.fileStart - rawStart));
        if (i === last) {
          // A raw chunk without a cipher is a view of the shared read buffer: kept as a copy.
          const kept = plain !== null && plain.buffer === raw.buffer ? plain.slice() : plain;
          this.recent = { chunk: c, plain: kept };
        }
      }
      const from = Math.max(position, c.plainStart);
      const to = Math.min(end, c.plainStart + c.plainLength);
      const dest = at + (from - position);
      // Fetched per chunk: opening one may grow core memory and detach an older view.
      if (plain === null) out().fill(0, dest, dest + (to - from));
      else out().set(plain.subarray(from - c.plainStart, to - c.plainStart), dest);
    }
    return end - position;
  }

  /**
   * Read-only (verify.ts): opens every chunk, checking its tag, and returns
   * the plaintext ranges that cannot be read: a chunk that fails its tag or
   * does not uncompress, bytes between chunks whose headers fail their
   * check, and a torn last chunk.
   */
  checkChunks(handle: FileHandle): ChunkDamage[] {
    const out: ChunkDamage[] = [];
    const last = this.chunks.at(-1);
    for (const c of this.chunks) {
      const fileLength = (c.flags < 0 ? 0 : this.chunkHeader) + c.storedLength;
      const at = {
        plainStart: c.plainStart,
        plainLength: c.plainLength,
        fileStart: c.fileStart,
        fileLength,
      };
      if (c.flags < 0) out.push({ ...at, why: c === last ? "torn" : "unreadable" });
      else if (this.plainOf(handle, c) === null) out.push({ ...at, why: "tag" });
    }
    return out;
  }

  /** Overwrites the block key (the block leaves the store or the store closes). */
  wipe(): void {
    this.key?.fill(0);
    this.key = null;
    this.recent = null;
  }

  /** The chunk holding plaintext offset `offset` (the last one at or past the end). */
  private indexAt(offset: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunks[mid].plainStart <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Header and body of `chunk` holding `plain`; fills in its stored length and flags. */
  private seal(chunk: Chunk, plain: Uint8Array, compress: boolean): Uint8Array {
    let body = plain;
    chunk.flags = 0;
    if (compress) {
      const c = this.sealer.compressor.compress(plain);
      if (c.length < plain.length) {
        body = c;
        chunk.flags = CHUNK_FLAG_COMPRESSED;
      }
    }
    const tag = this.key === null ? 0 : TAG_BYTES;
    chunk.storedLength = body.length + tag;
    const head = new Uint8Array(this.chunkHeader);
    const view = new DataView(head.buffer);
    view.setUint32(0, chunk.plainStart, true);
    view.setUint32(4, chunk.plainLength, true);
    view.setUint32(8, chunk.storedLength, true);
    head[12] = chunk.flags;
    if (chunk.nonce !== null) head.set(chunk.nonce, CHUNK_FIXED_SIZE);
    const checkAt = this.chunkHeader - CHUNK_CHECK_SIZE;
    view.setUint32(checkAt, Number(xxh64(head.subarray(0, checkAt)) & 0xffffffffn), true);
    const out = new Uint8Array(head.length + chunk.storedLength);
    out.set(head);
    if (this.key === null) out.set(body, head.length);
    else {
      const sealed = this.sealer
        .aead(this.format.cipher as Exclude<FileFormat["cipher"], "none">)
        .seal(this.key, chunk.nonce as Uint8Array, body, head.subarray(0, checkAt));
      out.set(sealed, head.length);
    }
    return out;
  }

  /** The plaintext of `chunk` from `raw` (its header onward); null when it fails its tag or does not uncompress. */
  private openChunk(chunk: Chunk, raw: Uint8Array): Uint8Array | null {
    const checkAt = this.chunkHeader - CHUNK_CHECK_SIZE;
    let body: Uint8Array | null = raw.subarray(
      this.chunkHeader,
      this.chunkHeader + chunk.storedLength,
    );
    if (this.key !== null) {
      body = this.sealer
        .aead(this.format.cipher as Exclude<FileFormat["cipher"], "none">)
        .open(this.key, chunk.nonce as Uint8Array, body, raw.subarray(0, checkAt));
      if (body === null) return null;
    }
    if (chunk.flags & CHUNK_FLAG_COMPRESSED)
      return this.sealer.compressor.uncompress(body, chunk.plainLength);
    return body.length === chunk.plainLength ? body : null;
  }

  /** The plaintext of `chunk` read from the file, or null when it is unreadable. */
  private plainOf(handle: FileHandle, chunk: Chunk): Uint8Array | null {
    if (chunk.flags < 0) return null;
    const raw = new Uint8Array(this.chunkHeader + chunk.storedLength);
    readFully(handle, raw, chunk.fileStart);
    return this.openChunk(chunk, raw);
  }

  /**
   * Builds the chunk table from the file's chunk headers. A header that
   * fails its check is skipped: the next valid one is searched for, and the
   * bytes between become a hole over the plaintext they held.
   */
  private walk(handle: FileHandle, size: number): void {
    const head = new Uint8Array(this.chunkHeader);
    let pos = SEALED_HEADER_SIZE;
    while (pos < size) {
      const chunk = this.headerAt(handle, head, pos, size);
      if (chunk !== null) {
        this.chunks.push(chunk);
        this.plainEnd = chunk.plainStart + chunk.plainLength;
        pos += this.chunkHeader + chunk.storedLength;
        if (pos > size) {
          // Torn: the header made it, the body did not.
          chunk.flags = -1;
          chunk.storedLength = size - chunk.fileStart;
          pos = size;
        }
        continue;
      }
      const next = this.resync(handle, pos + 1, size);
      if (next === null) {
        this.hole(pos, size - pos, size - pos);
        pos = size;
      } else {
        this.hole(pos, next.plainStart - this.plainEnd, next.fileStart - pos);
        pos = next.fileStart;
      }
    }
    this.fileEnd = pos;
  }

  private hole(fileStart: number, plainLength: number, fileLength: number): void {
    if (plainLength <= 0) return;
    this.chunks.push({
      plainStart: this.plainEnd,
      plainLength,
      fileStart,
      storedLength: fileLength,
      flags: -1,
      nonce: null,
    });
    this.plainEnd += plainLength;
  }

  /** The chunk whose header is at `pos`, or null when there is none there. */
  private headerAt(handle: FileHandle, head: Uint8Array, pos: number, size: number): Chunk | null {
    if (pos + head.length > size) return null;
    if (handle.read(head, pos) < head.length) return null;
    return this.parseHeader(head, pos, this.plainEnd, false);
  }

  private parseHeader(
    head: Uint8Array,
    pos: number,
    expected: number,
    resync: boolean,
  ): Chunk | null {
    const view = new DataView(head.buffer, head.byteOffset, this.chunkHeader);
    const plainStart = view.getUint32(0, true);
    const plainLength = view.getUint32(4, true);
    const storedLength = view.getUint32(8, true);
    const flags = head[12];
    if (resync ? plainStart < expected : plainStart !== expected) return null;
    if (plainLength === 0 || plainLength > CHUNK_PLAIN_MAX || flags & ~CHUNK_FLAG_COMPRESSED)
      return null;
    if (head[13] !== 0 || head[14] !== 0 || head[15] !== 0) return null;
    const checkAt = this.chunkHeader - CHUNK_CHECK_SIZE;
    if (view.getUint32(checkAt, true) !== Number(xxh64(head.subarray(0, checkAt)) & 0xffffffffn))
      return null;
    const nonce =
      this.key === null ? null : head.slice(CHUNK_FIXED_SIZE, CHUNK_FIXED_SIZE + NONCE_BYTES);
    return { plainStart, plainLength, fileStart: pos, storedLength, flags, nonce };
  }

  /** The next valid chunk header at or after `from`, searched byte by byte (only after damage). */
  private resync(handle: FileHandle, from: number, size: number): Chunk | null {
    const window = new Uint8Array(64 * 1024);
    for (
      let base = from;
      base + this.chunkHeader <= size;
      base += window.length - this.chunkHeader
    ) {
      const got = handle.read(window, base);
      for (let i = 0; i + this.chunkHeader <= got; i++) {
        const chunk = this.parseHeader(window.subarray(i), base + i, this.plainEnd, true);
        if (chunk !== null && base + i + this.chunkHeader + chunk.storedLength <= size)
          return chunk;
      }
      if (got < window.length) break;
    }
    return null;
  }
}

/** The 40-byte header of a sealed block file. */
export function headerBytes(
  n: number,
  format: FileFormat,
  salt: Uint8Array,
  packed: boolean,
): Uint8Array {
  const head = new Uint8Array(SEALED_HEADER_SIZE);
  const view = new DataView(head.buffer);
  view.setUint32(0, BLOCK_MAGIC, true);
  view.setUint16(4, SEALED_BLOCK_VERSION, true);
  view.setUint16(6, formatBits(format) | (packed ? SEALED_FLAG_PACKED : 0), true);
  view.setUint32(8, n % 0x1_0000_0000, true);
  view.setUint32(12, Math.floor(n / 0x1_0000_0000), true);
  head.set(salt, SEALED_OFF_SALT);
  view.setBigUint64(SEALED_OFF_CHECKSUM, xxh64(head.subarray(0, SEALED_OFF_CHECKSUM)), true);
  return head;
}

/** Reads of up to this many bytes reuse one buffer (a random read's chunk); larger ones allocate. */
const SHARED_READ_BYTES = 256 * 1024;
let sharedRead = new Uint8Array(0);

/** A buffer of `length` bytes for file bytes about to be opened: the shared one when it is small. */
function rawBuffer(length: number): Uint8Array {
  if (length > SHARED_READ_BYTES) return new Uint8Array(length);
  if (sharedRead.length < length) sharedRead = new Uint8Array(SHARED_READ_BYTES);
  return sharedRead.subarray(0, length);
}

/** Reads up to `out.length` bytes at `position`; returns how many the file had. */
export function readFully(handle: FileHandle, out: Uint8Array, position: number): number {
  let done = 0;
  while (done < out.length) {
    const n = handle.read(out.subarray(done), position + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
