/**
 * The seam between a block's bytes and its file: every byte of a block file
 * that FileStore writes or reads passes here, and nothing else in
 * src/filestore touches a block's file handle for data. Format version 1
 * stores a block's bytes as they are (FORMAT.md), so today every method is
 * the plain positional read or write it always was: same bytes on disk,
 * same reads, same syscalls.
 *
 * Compression and encryption at rest (DESIGN.md, "At rest") plug in here
 * and nowhere else: `write`, `truncate` and `seal` on the way out;
 * `length`, `readBlock`, `readRange` (under `readRecord`) and `readTail` on
 * the way back. What a transform must preserve:
 *
 * - Offsets are plaintext offsets. Everything above the seam is plaintext
 *   (the write buffer, the block cache, the scratch area) and counts bytes
 *   of a block as FORMAT.md lays them out: the offset index, `Block.written`,
 *   damage offsets, the checkpoint's block lengths and last checksums (the
 *   last 8 bytes). Mapping them to positions in a file of chunks is the
 *   transform's business alone.
 * - `write` gets appends at the end (a write-out); the same bytes again
 *   after a failed fsync (block-sync.ts); and new bytes over old ones:
 *   erase's in-place overwrite of a record, and an append after syncAlways
 *   took a record back whose cut failed. Only the last kind changes
 *   plaintext already written, so it is where a chunk is sealed again under
 *   a fresh nonce: a (key, nonce) pair never seals two different plaintexts.
 * - Once `write` returns, the file reads back as the bytes written: an fsync
 *   or a crash can come next, and the last block is never sealed. `seal`
 *   (the block will not grow again) is an optional chance to finish it.
 * - Reads land straight in core memory at the pointer given (the WASM core
 *   verifies and decodes records where they lie); no staging copy.
 * - A random read asks for a range (`readRange`): a transform opens only the
 *   chunks that cover it, never the whole block.
 * - Damage surfaces as it does today. A chunk that fails its tag reads as
 *   bytes that fail record verification, at the same offsets (never thrown,
 *   never shifting what follows), so the scan reports those sequences lost
 *   and goes on; a torn last chunk reads short or as failing bytes, and
 *   open cuts it as a torn tail. `readTail` reads what is there, so a
 *   checkpoint whose last checksum no longer matches sends the block to a
 *   rescan. A file shorter than asked is ErrCorrupt, as below.
 * - `truncate` may cut inside a chunk: the kept part is sealed again.
 * - Per-block state (a chunk table, a key derived from the block number) is
 *   dropped by `release`, which runs when a block leaves the store, before
 *   its file is removed, and by `releaseAll` at close.
 */
import type { FileHandle, FileSystem } from "../../runtimes/fs.ts";
import { corrupt } from "../errors.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import { ReadHandles } from "./read-handles.ts";
import type { ScratchBuffer } from "./scratch-buffer.ts";

/** First read of a record read on its own; most records fit, larger ones take a second read. */
const DIRECT_READ_BYTES = 512;

/** One block's file as its fsync bookkeeping sees it (block-sync.ts): bytes go through the seam. */
export interface BlockFile {
  readonly path: string;
  /** Writes `bytes` at block offset `offset`. */
  write(bytes: Uint8Array, offset: number): void;
  sync(): void;
  syncAsync(): Promise<void>;
}

/** The block files of one store. */
export class BlockFiles {
  private readonly fs: FileSystem;
  private readonly fileMode: number;
  /** Read-only handles of sealed blocks, kept for random reads (read-handles.ts). */
  private readonly readers: ReadHandles;

  constructor(fs: FileSystem, fileMode: number) {
    this.fs = fs;
    this.fileMode = fileMode;
    this.readers = new ReadHandles(fs);
  }

  /** Creates the file of a new block, empty; its handle goes to the block once it exists. */
  create(path: string): FileHandle {
    const handle = this.fs.open(path, "create", this.fileMode);
    try {
      handle.truncate(0);
    } catch (err) {
      handle.close();
      throw err;
    }
    return handle;
  }

  /** Opens the existing file of `block` for writing, unless it has a handle already. */
  open(block: Block): void {
    this.writable(block);
  }

  /** How many bytes `block`'s file holds (read at open), opening it as `open` does. */
  length(block: Block): number {
    return this.writable(block).size();
  }

  /** Writes `bytes` at `offset` of `block`, creating the file if it has no handle (the active block). */
  write(block: Block, offset: number, bytes: Uint8Array): void {
    block.handle ??= this.fs.open(block.path, "create", this.fileMode);
    block.handle.write(bytes, offset);
  }

  /** Cuts `block`'s file to `length` bytes. */
  truncate(block: Block, length: number): void {
    this.writable(block).truncate(length);
  }

  /**
   * `block` will not grow again (it rolled over): called after its last
   * write-out, before its fsync; its bytes are in the file and the cache.
   * Nothing to do for plain bytes.
   */
  seal(_block: Block): void {}

  /**
   * `block`'s file for its fsync bookkeeping (block-sync.ts), which writes
   * erased records and what a failed fsync dropped through it. `block` must
   * be open.
   */
  of(block: Block): BlockFile {
    const handle = block.handle as FileHandle;
    return {
      path: handle.path,
      write: (bytes, offset) => this.write(block, offset, bytes),
      sync: () => handle.sync(),
      syncAsync: () => handle.syncAsync(),
    };
  }

  /** Reads bytes [0, `length`) of `block` (the whole block, or its header) into core memory at `ptr`. */
  readBlock(block: Block, ptr: number, length: number): void {
    const handle = block.handle ?? this.fs.open(block.path, "read");
    try {
      const done = this.readRange(handle, 0, ptr, length);
      if (done < length)
        throw corrupt(`Block ${block.path} ended at ${done} bytes; expected ${length}`, {
          file: block.path,
          offset: done,
        });
    } finally {
      if (block.handle === null) handle.close();
    }
  }

  /**
   * Reads the record at `offset` of a sealed block into `scratch` (at its
   * start) and returns the bytes read: one read for most records, a second
   * for the rest of a long one. A file that ends inside it is ErrCorrupt.
   */
  readRecord(block: Block, offset: number, scratch: ScratchBuffer): number {
    const handle = this.readers.of(block);
    const room = block.written - offset;
    if (room <= 0) return 0;
    let got = this.readRecordPart(handle, scratch, offset, Math.min(room, DIRECT_READ_BYTES), 0);
    const length = got >= 4 ? getCore().view.getUint32(scratch.ptr, true) : 0;
    if (length > got && length <= room) {
      got += this.readRecordPart(handle, scratch, offset + got, length - got, got);
    }
    return got;
  }

  /**
   * Reads the `out.length` bytes of `block` that end at `end` (the last
   * checksum a checkpoint records) into `out`; returns how many it read.
   */
  readTail(block: Block, end: number, out: Uint8Array): number {
    const handle = block.handle ?? this.fs.open(block.path, "read");
    try {
      return handle.read(out, end - out.length);
    } finally {
      if (block.handle === null) handle.close();
    }
  }

  /** Drops what is kept for block `n` (before its file is removed or rewritten). */
  release(n: number): void {
    this.readers.drop(n);
  }

  /** Drops what is kept for every block (the store closes). */
  releaseAll(): void {
    this.readers.clear();
  }

  private writable(block: Block): FileHandle {
    block.handle ??= this.fs.open(block.path, "write");
    return block.handle;
  }

  /** Reads `length` bytes of a record at `position` into `scratch` at `at`, keeping the `at` bytes before. */
  private readRecordPart(
    handle: FileHandle,
    scratch: ScratchBuffer,
    position: number,
    length: number,
    at: number,
  ): number {
    scratch.reserve(at + length, at);
    const done = this.readRange(handle, position, scratch.ptr + at, length);
    if (done < length) {
      throw corrupt(`${handle.path} ended at ${position + done} bytes, inside a record`, {
        file: handle.path,
        offset: position,
      });
    }
    return done;
  }

  /**
   * Reads bytes [position, position + length) of a block through `handle`
   * into core memory at `ptr`; returns how many it read (fewer only where the
   * file ends). Where a transform's reads plug in: it opens the chunks that
   * cover the range and lands their plaintext at `ptr`.
   */
  private readRange(handle: FileHandle, position: number, ptr: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = handle.read(getCore().u8.subarray(ptr + done, ptr + length), position + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }
}
