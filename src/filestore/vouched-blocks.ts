/**
 * Blocks open takes on the checkpoint's word without opening their files
 * (recovery.ts): in a store that holds plain files only, every block the
 * checkpoint lists other than its last and the store's last. Opening a store
 * then costs no file operation per block; the checks open made of each
 * (its length, its header) are made by the block's first use instead, in
 * block-file.ts, before anything reads or writes its file:
 *
 * - longer than the checkpoint recorded: the tail of a truncate that had not
 *   cut it yet, cut now (as open did);
 * - shorter: the bytes past its end read as zeros, so the indexing scan
 *   (block-load.ts) reports the records there lost, as it reports any damage
 *   it finds in a block open trusted; the next checkpoint then stops vouching
 *   for the block, and the next open rescans it;
 * - a damaged header (magic, or a version newer than this jetstore's in a
 *   file of the length the checkpoint recorded, which is damage, not a newer
 *   format): written again and fsynced, and reported in `lost` as open
 *   reported it; a newer version in a file of another length is a block a
 *   newer jetstore rewrote: ErrUnsupportedFormat, the file untouched.
 *
 * The last checksum is not compared at first use: the indexing scan verifies
 * every record, the last one too. A block still unchecked when a checkpoint
 * is written is checked then (durability.ts), its last checksum compared with
 * the one it was opened on: no checkpoint vouches for a block whose file no
 * open, first use or checkpoint of this process looked at. So a truncate's
 * tail left by a crash is cut by the first checkpoint written after it, as
 * the open after it did before (FORMAT.md, Truncate), if no read cut it first.
 */
import type { FileHandle } from "../../runtimes/fs.ts";
import { blockHeaderVersion, writeBlockHeader } from "../codec/block-header.ts";
import { JetStoreError } from "../errors.ts";
import { BLOCK_HEADER_SIZE, FORMAT_VERSION } from "../format.ts";

/** What the checkpoint recorded of a block open left unchecked. */
interface Vouched {
  length: number;
  lastChecksum: Uint8Array;
}

export class VouchedBlocks {
  private readonly unchecked = new Map<number, Vouched>();
  /** Checked blocks whose files end before the length the checkpoint recorded: where. */
  private readonly short = new Map<number, number>();
  /** Told when a first use wrote a damaged header again (the store reports it in `lost`). */
  onHeaderRepaired: (n: number) => void = () => {};

  /** Block `n` is taken as the checkpoint recorded it, its file unopened. */
  vouch(n: number, length: number, lastChecksum: Uint8Array): void {
    this.unchecked.set(n, { length, lastChecksum });
  }

  isUnchecked(n: number): boolean {
    return this.unchecked.has(n);
  }

  /** The length the checkpoint gave block `n` while it is unchecked. */
  recordedLength(n: number): number | undefined {
    return this.unchecked.get(n)?.length;
  }

  /** The last checksum the checkpoint gave block `n` while it is unchecked, else null. */
  lastChecksum(n: number): Uint8Array | null {
    return this.unchecked.get(n)?.lastChecksum ?? null;
  }

  /** Where the file of checked block `n` ends, when that is before its recorded length. */
  shortEnd(n: number): number | undefined {
    return this.short.get(n);
  }

  /** The checks open left to the first use of block `n` (file `path`), through its writable `handle`. */
  check(n: number, handle: FileHandle, path: string): void {
    const vouched = this.unchecked.get(n);
    if (vouched === undefined) return;
    const size = handle.size();
    const header = new Uint8Array(BLOCK_HEADER_SIZE);
    const read = size >= BLOCK_HEADER_SIZE ? handle.read(header, 0) : 0;
    const version = read === BLOCK_HEADER_SIZE ? blockHeaderVersion(header, 0) : -1;
    // A newer jetstore rewrote the block since the checkpoint (its length moved): not damage, not ours to touch.
    if (version > FORMAT_VERSION && size !== vouched.length) {
      throw new JetStoreError(
        "ErrUnsupportedFormat",
        `Block ${path} has format version ${version}; this jetstore reads up to ${FORMAT_VERSION}`,
        { file: path },
      );
    }
    if (size > vouched.length) handle.truncate(vouched.length);
    else if (size < vouched.length) this.short.set(n, size);
    if (size >= BLOCK_HEADER_SIZE) {
      if (version < 0 || version > FORMAT_VERSION) {
        writeBlockHeader(header, 0, n);
        handle.write(header, 0);
        // Durable before `lost` tells of it: no power cut undoes a repair reported. Rare, as damage is.
        handle.sync();
        this.onHeaderRepaired(n);
      }
    }
    this.unchecked.delete(n);
  }

  /** Block `n` left the store, or its file was replaced whole. */
  forget(n: number): void {
    this.unchecked.delete(n);
    this.short.delete(n);
  }

  clear(): void {
    this.unchecked.clear();
    this.short.clear();
  }
}
