/**
 * The seam between a block's bytes and its file: every byte of a block file
 * that FileStore writes or reads passes here, and nothing else in
 * src/filestore touches a block's file handle for data. Format version 1
 * stores a block's bytes as they are (FORMAT.md), so today every method is
 * the plain positional read or write it always was: same bytes on disk,
 * same reads, same syscalls. A store with compression or a cipher writes
 * its blocks in the sealed format (version 2, sealed-file.ts) instead, and
 * reads either: each block's file says which it is.
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
import { PLAIN, type Sealer, sameFormat } from "../at-rest/sealer.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import { SEALED_HEADER_SIZE } from "../format.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import { BlockHandles } from "./block-handles.ts";
import { BlockRewrite } from "./block-rewrite.ts";
import { Preallocated } from "./preallocation.ts";
import { ReadHandles } from "./read-handles.ts";
import type { ScratchBuffer } from "./scratch-buffer.ts";
import { readFully, SealedFile } from "./sealed-file.ts";
import { parentOf } from "./store-directory.ts";
import { VouchedBlocks } from "./vouched-blocks.ts";

/** First read of a record read on its own; most records fit, larger ones take a second read. */
const DIRECT_READ_BYTES = 512;

/** One block's file as its fsync bookkeeping sees it (block-sync.ts): bytes go through the seam. */
export interface BlockFile {
  readonly path: string;
  /** Writes `bytes` at block offset `offset`: appended, or what the file holds there already. */
  write(bytes: Uint8Array, offset: number): void;
  /** Writes new bytes over old ones at `offset` (an erased record). */
  overwrite(bytes: Uint8Array, offset: number): void;
  sync(): void;
  syncAsync(): Promise<void>;
}

/** The block files of one store. */
export class BlockFiles {
  private readonly fs: FileSystem;
  private readonly fileMode: number;
  /** Read-only handles of sealed blocks, kept for random reads (read-handles.ts). */
  private readonly readers: ReadHandles;
  /** The writable handles blocks keep, bounded (block-handles.ts). */
  private readonly handles = new BlockHandles();
  readonly sealer: Sealer;
  /** Blocks whose files are in the sealed format, by number; every other block is plain. */
  private readonly sealed = new Map<number, SealedFile>();
  /** The number of the block appends go to (the store's active block). */
  appendingTo = 0;
  /** Bumped whenever a block's file changes other than by a rewrite finishing: a rewrite begun before is stale. */
  private readonly changes = new Map<number, number>();
  /** Zeros written past the active block's data (preallocation.ts); plain files only. */
  private readonly zeros = new Preallocated();
  /** Blocks open took on the checkpoint's word, checked at their first use (vouched-blocks.ts). */
  readonly vouched = new VouchedBlocks();

  constructor(fs: FileSystem, fileMode: number, sealer: Sealer) {
    this.fs = fs;
    this.fileMode = fileMode;
    this.readers = new ReadHandles(fs);
    this.sealer = sealer;
  }

  /** Creates the file of new block `n`, empty of records; its handle goes to the block once it exists. */
  create(path: string, n: number): FileHandle {
    const handle = this.fs.open(path, "create", this.fileMode);
    try {
      handle.truncate(0);
      this.dropState(n);
      if (this.sealer.sealsFiles) {
        this.sealed.set(n, SealedFile.create(handle, n, this.sealer, this.sealer.target, false));
      }
    } catch (err) {
      handle.close();
      // A sealed header cut short (ENOSPC) would be read by the next open as a damaged block
      // beyond the checkpoint: the write that failed was refused, so its file goes too.
      try {
        this.fs.remove(path);
      } catch {
        // Still read as damage by the next open, which a power cut here can leave as well.
      }
      throw err;
    }
    return handle;
  }

  /** Opens the existing file of `block` for writing, unless it has a handle already. */
  open(block: Block): void {
    this.writable(block);
  }

  /**
   * How many bytes `block` holds (read at open), opening it as `open` does:
   * for a sealed file its plaintext, damaged and torn chunks included.
   */
  length(block: Block): number {
    const handle = this.writable(block);
    const size = handle.size();
    const head = new Uint8Array(6);
    if (
      this.sealer.mayHoldSealed &&
      size >= head.length &&
      handle.read(head, 0) === head.length &&
      SealedFile.isSealed(head)
    ) {
      // A header shorter than its 40 bytes was torn while the block was created: nothing
      // in it was ever written, so it holds nothing, as a torn plain header (recovery.ts).
      const file =
        size < SEALED_HEADER_SIZE
          ? SealedFile.unreadable(this.sealer, 0)
          : (SealedFile.open(handle, block.n, size, this.sealer) ??
            SealedFile.unreadable(this.sealer, size));
      this.dropState(block.n);
      this.sealed.set(block.n, file);
      return file.plainEnd;
    }
    return size;
  }

  /**
   * True when open may leave block files unopened on the checkpoint's word
   * (vouched-blocks.ts): the store holds plain files only, whose length and
   * header are all there is to check before a first read.
   */
  get checksOnFirstUse(): boolean {
    return !this.sealer.mayHoldSealed;
  }

  /** True when `block`'s file is plain (version 1), not sealed. */
  isPlain(block: Block): boolean {
    return !this.sealed.has(block.n);
  }

  /** True when new bytes appended to `block` would not be in the store's format. */
  formatDiffers(block: Block): boolean {
    return !sameFormat(this.sealed.get(block.n)?.format ?? PLAIN, this.sealer.target);
  }

  /** True when some block of `blocks` is sealed with a cipher. */
  anyEncrypted(blocks: readonly Block[]): boolean {
    return blocks.some((b) => (this.sealed.get(b.n)?.format.cipher ?? "none") !== "none");
  }

  /** True when `block`'s file is in another format than the store writes now. */
  needsConversion(block: Block): boolean {
    const file = this.sealed.get(block.n);
    if (file === undefined) return this.sealer.sealsFiles;
    return !sameFormat(file.format, this.sealer.target) || (this.packs && !file.packed);
  }

  /** True when sealed blocks are packed once full: compressed in large chunks. */
  get packs(): boolean {
    return this.sealer.target.compression !== "none";
  }

  /** Writes `bytes` at `offset` of `block`, creating the file if it has no handle (the active block). */
  write(block: Block, offset: number, bytes: Uint8Array): void {
    if (block.handle === null) {
      block.handle = this.fs.open(block.path, "create", this.fileMode);
      this.handles.hold(block, this.appendingTo);
    }
    this.checked(block);
    this.changed(block.n);
    const handle = block.handle;
    let file = this.sealed.get(block.n);
    if (offset === 0 && (file === undefined ? this.sealer.sealsFiles : file.plainEnd === 0)) {
      file = this.formatEmpty(block, handle, file);
    }
    if (file === undefined) {
      handle.write(bytes, offset);
      return;
    }
    if (offset > file.plainEnd) {
      throw new JetStoreError(
        "ErrInternal",
        `${block.path}: a write at ${offset} past the sealed file's end at ${file.plainEnd}`,
      );
    }
    const below = Math.min(bytes.length, file.plainEnd - offset);
    if (below > 0) file.rewrite(handle, offset, bytes.subarray(0, below));
    if (below < bytes.length) file.append(handle, bytes.subarray(below), false);
  }

  /** Writes new bytes over old ones: in place for a plain file, by rewriting a sealed one. */
  overwrite(block: Block, offset: number, bytes: Uint8Array): void {
    if (!this.sealed.has(block.n)) {
      this.write(block, offset, bytes);
      return;
    }
    this.rewriteFile(block, block.written, { offset, bytes });
  }

  /** Cuts `block`'s file to `length` bytes. */
  truncate(block: Block, length: number): void {
    const handle = this.writable(block);
    this.changed(block.n);
    const file = this.sealed.get(block.n);
    this.zeros.forget(block.n);
    if (file === undefined) {
      handle.truncate(length);
    } else if (length === 0) {
      // Nothing left to keep: the next write starts the file over in the store's format.
      this.dropState(block.n);
      handle.truncate(0);
    } else if (!file.cut(handle, length)) {
      this.rewriteFile(block, length, null);
    }
  }

  /**
   * `block` will not grow again (it rolled over): called after its last
   * write-out, before its fsync; its bytes are in the file and the cache.
   * A plain file is cut back to its data if zeros were written past it.
   */
  seal(block: Block): void {
    this.trimZeros(block);
    this.retired(block);
  }

  /**
   * `block` is no longer appended to (it rolled over, or a truncate sealed
   * it): its handle joins the bounded ones, closed once it owes its file
   * nothing. The active block's handle is left out of them until then.
   */
  retired(block: Block): void {
    if (block.handle !== null) this.handles.hold(block, this.appendingTo);
  }

  /**
   * Writes zeros past the data of `block` (the active block, plain files
   * only) when few are left, so its durable appends overwrite bytes the file
   * already has (preallocation.ts). True when it wrote: the block needs an fsync.
   */
  preallocate(block: Block, blockSize: number): boolean {
    if (block.handle === null || this.sealer.sealsFiles || this.sealed.has(block.n)) return false;
    return this.zeros.extend(block.handle, block.n, block.written, blockSize);
  }

  /** Cuts `block`'s file back to its data if zeros were written past it; true when it did. */
  trimZeros(block: Block): boolean {
    if (block.handle === null) return false;
    return this.zeros.trim(block.handle, block.n, block.written);
  }

  /**
   * `block`'s file for its fsync bookkeeping (block-sync.ts), which writes
   * erased records and what a failed fsync dropped through it. `block` must
   * be open.
   */
  of(block: Block): BlockFile {
    return {
      path: block.path,
      write: (bytes, offset) => this.write(block, offset, bytes),
      overwrite: (bytes, offset) => this.overwrite(block, offset, bytes),
      sync: () => (block.handle as FileHandle).sync(),
      syncAsync: () => (block.handle as FileHandle).syncAsync(),
    };
  }

  /** Reads bytes [0, `length`) of `block` (the whole block, or its header) into core memory at `ptr`. */
  readBlock(block: Block, ptr: number, length: number): void {
    this.checked(block);
    const handle = block.handle ?? this.fs.open(block.path, "read");
    try {
      const done = this.readRange(block, handle, 0, ptr, length);
      const end = this.vouched.shortEnd(block.n);
      // Cut short since the checkpoint vouched for it: what is missing reads as damage.
      if (done < length && end !== undefined && done >= end) {
        getCore().u8.fill(0, ptr + done, ptr + length);
      } else if (done < length)
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
    this.checked(block);
    const handle = this.readers.of(block);
    const room = block.written - offset;
    if (room <= 0) return 0;
    let got = this.readRecordPart(
      block,
      handle,
      scratch,
      offset,
      Math.min(room, DIRECT_READ_BYTES),
      0,
    );
    const length = got >= 4 ? getCore().view.getUint32(scratch.ptr, true) : 0;
    if (length > got && length <= room) {
      got += this.readRecordPart(block, handle, scratch, offset + got, length - got, got);
    }
    return got;
  }

  /**
   * Reads the `out.length` bytes of `block` that end at `end` (the last
   * checksum a checkpoint records) into `out`; returns how many it read.
   */
  readTail(block: Block, end: number, out: Uint8Array): number {
    this.checked(block);
    const handle = block.handle ?? this.fs.open(block.path, "read");
    try {
      const file = this.sealed.get(block.n);
      if (file !== undefined) return file.read(handle, end - out.length, out.length, () => out, 0);
      return handle.read(out, end - out.length);
    } finally {
      if (block.handle === null) handle.close();
    }
  }

  /** Drops what is kept for block `n`, which leaves the store (before its file is removed). */
  release(n: number): void {
    this.readers.drop(n);
    this.handles.forget(n);
    this.dropState(n);
    this.vouched.forget(n);
    // Not kept for a number never used again: a store open for long would hold one per block it
    // ever had. A rewrite of the block is stale all the same: the block is disposed (isCurrent).
    this.changes.delete(n);
  }

  /** An asynchronous fsync of a block finished: its handle may be closed at the next open. */
  fsynced(): void {
    this.handles.fsynced();
  }

  /** Closes the handles of blocks past the bound that owe their files nothing (after a sync round). */
  trimHandles(): void {
    this.handles.trim(this.appendingTo);
  }

  /** Drops what is kept for every block, keys included (the store closes). */
  releaseAll(): void {
    this.readers.clear();
    this.handles.clear();
    this.vouched.clear();
    for (const file of this.sealed.values()) file.wipe();
    this.sealed.clear();
    this.sealer.wipe();
  }

  /**
   * Replaces `block`'s file by one holding its first `length` bytes (with
   * `patch` written over them) in the store's format, under a fresh key:
   * written beside it, fsynced, renamed over it, the directory fsynced. A
   * crash leaves the old file or the new one, each whole.
   */
  private rewriteFile(
    block: Block,
    length: number,
    patch: { offset: number; bytes: Uint8Array } | null,
  ): void {
    const plain = new Uint8Array(length);
    this.readPlain(block, 0, plain);
    if (patch !== null) plain.set(patch.bytes, patch.offset);
    this.changed(block.n);
    // Packed unless it is the block appends go to, whose later chunks will not be compressed.
    const rewrite = this.beginRewrite(block, length, this.packs && block.n !== this.appendingTo);
    try {
      rewrite.append(plain);
      rewrite.handle.sync();
    } catch (err) {
      this.abandonRewrite(rewrite);
      throw err;
    }
    this.finishRewrite(rewrite);
  }

  /**
   * Starts writing `block`'s first `length` bytes again, in the store's
   * format, to a file beside it (`<n>.blk.tmp`): by `rewriteFile` at once,
   * or a little at a time by the packer (block-packer.ts).
   */
  beginRewrite(block: Block, length: number, packed: boolean): BlockRewrite {
    const temp = `${block.path}.tmp`;
    const handle = this.fs.open(temp, "create", this.fileMode);
    try {
      handle.truncate(0);
      const file = this.sealer.sealsFiles
        ? SealedFile.create(handle, block.n, this.sealer, this.sealer.target, packed)
        : undefined;
      return new BlockRewrite(
        block,
        temp,
        handle,
        file,
        length,
        this.changes.get(block.n) ?? 0,
        this.packs,
      );
    } catch (err) {
      handle.close();
      this.fs.remove(temp);
      throw err;
    }
  }

  /** Reads `out.length` bytes of `block` from `offset`, as a rewrite copies them. */
  readPlain(block: Block, offset: number, out: Uint8Array): void {
    this.checked(block);
    const handle = this.readers.of(block);
    const file = this.sealed.get(block.n);
    const done =
      file !== undefined
        ? file.read(handle, offset, out.length, () => out, 0)
        : readFully(handle, out, offset);
    if (done < out.length) {
      throw corrupt(
        `${block.path} ended at ${offset + done} bytes; expected ${offset + out.length}`,
        {
          file: block.path,
          offset: offset + done,
        },
      );
    }
  }

  /** True when `rewrite` still copies what `block`'s file holds (nothing changed it since it began). */
  isCurrent(rewrite: BlockRewrite): boolean {
    const { block } = rewrite;
    return !block.disposed && (this.changes.get(block.n) ?? 0) === rewrite.change;
  }

  /**
   * Puts a rewrite's file (written whole and fsynced) in place of the
   * block's: rename, then the block's handles and state follow the new
   * file, then the directory is fsynced, unless `syncDirectory` is false:
   * the old file and the new hold the same bytes, so the packer leaves that
   * fsync to the store's next sync round rather than stall the event loop.
   */
  finishRewrite(rewrite: BlockRewrite, syncDirectory = true): void {
    const { block } = rewrite;
    try {
      this.fs.rename(rewrite.temp, block.path);
    } catch (err) {
      this.abandonRewrite(rewrite);
      throw err;
    }
    block.handle?.close();
    block.handle = rewrite.handle;
    this.handles.hold(block, this.appendingTo);
    this.readers.drop(block.n);
    this.dropState(block.n);
    this.vouched.forget(block.n);
    if (rewrite.file !== undefined) this.sealed.set(block.n, rewrite.file);
    if (syncDirectory) this.fs.syncDirectory(parentOf(block.path));
  }

  /** Drops a rewrite: its file goes (or is removed by the next open). */
  abandonRewrite(rewrite: BlockRewrite): void {
    rewrite.file?.wipe();
    try {
      rewrite.handle.close();
      this.fs.remove(rewrite.temp);
    } catch {
      // Removed by the next open.
    }
  }

  /** Starts an empty block's file over in the store's format; returns its sealed state, if any. */
  private formatEmpty(
    block: Block,
    handle: FileHandle,
    file: SealedFile | undefined,
  ): SealedFile | undefined {
    if (file !== undefined && sameFormat(file.format, this.sealer.target) && !file.packed)
      return file;
    // A write at offset 0 starts the block over: whatever the file holds goes, state first.
    this.dropState(block.n);
    handle.truncate(0);
    if (!this.sealer.sealsFiles) return undefined;
    const fresh = SealedFile.create(handle, block.n, this.sealer, this.sealer.target, false);
    this.sealed.set(block.n, fresh);
    return fresh;
  }

  private changed(n: number): void {
    this.changes.set(n, (this.changes.get(n) ?? 0) + 1);
  }

  private dropState(n: number): void {
    this.changed(n);
    this.zeros.forget(n);
    this.sealed.get(n)?.wipe();
    this.sealed.delete(n);
  }

  private writable(block: Block): FileHandle {
    const handle = this.opened(block);
    this.checked(block);
    return handle;
  }

  /** `block`'s writable handle, opened if it has none. */
  private opened(block: Block): FileHandle {
    if (block.handle !== null) return block.handle;
    const handle = this.fs.open(block.path, "write");
    block.handle = handle;
    this.handles.hold(block, this.appendingTo);
    return handle;
  }

  /** Makes the checks open left to `block`'s first use (vouched-blocks.ts), once. */
  private checked(block: Block): void {
    if (!this.vouched.isUnchecked(block.n)) return;
    this.vouched.check(block.n, this.opened(block), block.path);
  }

  /** Reads `length` bytes of a record at `position` into `scratch` at `at`, keeping the `at` bytes before. */
  private readRecordPart(
    block: Block,
    handle: FileHandle,
    scratch: ScratchBuffer,
    position: number,
    length: number,
    at: number,
  ): number {
    scratch.reserve(at + length, at);
    const done = this.readRange(block, handle, position, scratch.ptr + at, length);
    if (done < length) {
      throw corrupt(`${handle.path} ended at ${position + done} bytes, inside a record`, {
        file: handle.path,
        offset: position,
      });
    }
    return done;
  }

  /**
   * Reads bytes [position, position + length) of `block` through `handle`
   * into core memory at `ptr`; returns how many it read (fewer only where the
   * file ends). A sealed file opens the chunks that cover the range.
   */
  private readRange(
    block: Block,
    handle: FileHandle,
    position: number,
    ptr: number,
    length: number,
  ): number {
    const file = this.sealed.get(block.n);
    if (file !== undefined) return file.read(handle, position, length, () => getCore().u8, ptr);
    let done = 0;
    while (done < length) {
      const n = handle.read(getCore().u8.subarray(ptr + done, ptr + length), position + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }
}
