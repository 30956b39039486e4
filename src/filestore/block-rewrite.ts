/**
 * A block file being written again beside the original: what a rewrite
 * (conversion or packing, block-packer.ts) has copied so far, and where.
 */
import type { FileHandle } from "../../runtimes/fs.ts";
import type { Block } from "./block.ts";
import { PACK_CHUNK, type SealedFile } from "./sealed-file.ts";

/** Begun by `BlockFiles.beginRewrite` (block-file.ts). */
export class BlockRewrite {
  readonly block: Block;
  readonly temp: string;
  readonly handle: FileHandle;
  readonly file: SealedFile | undefined;
  /** Bytes to copy: the block's length when the rewrite began. */
  readonly length: number;
  /** The block's change count when the rewrite began. */
  readonly change: number;
  private readonly compress: boolean;
  /** Bytes copied so far. */
  done = 0;

  constructor(
    block: Block,
    temp: string,
    handle: FileHandle,
    file: SealedFile | undefined,
    length: number,
    change: number,
    compress: boolean,
  ) {
    this.block = block;
    this.temp = temp;
    this.handle = handle;
    this.file = file;
    this.length = length;
    this.change = change;
    this.compress = compress;
  }

  /** Appends the next bytes of the block. */
  append(plain: Uint8Array): void {
    if (this.file === undefined) this.handle.write(plain, this.done);
    else this.file.append(this.handle, plain, this.compress, PACK_CHUNK);
    this.done += plain.length;
  }
}
