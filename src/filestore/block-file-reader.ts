/**
 * One block file read without a store (verify.ts), plain or sealed, through
 * the same SealedFile a store reads with.
 */
import type { FileHandle, FileSystem } from "../../runtimes/fs.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { getCore } from "../wasm/core.ts";
import { type ChunkDamage, SealedFile } from "./sealed-file.ts";

/**
 * One block file opened read-only, without a store (verify.ts): plain or
 * sealed, as its header says, through the same SealedFile a store reads
 * with. Never writes, truncates or locks anything.
 */
export class BlockFileReader {
  private readonly handle: FileHandle;
  private readonly file: SealedFile | undefined;
  /** Plaintext bytes of the block (a plain file's size). */
  readonly length: number;
  /** True when the file is sealed and its own header is damaged: nothing in it can be read. */
  readonly headerDamaged: boolean;
  /** Bytes of the file. */
  readonly size: number;

  constructor(fs: FileSystem, path: string, n: number, sealer: Sealer) {
    this.handle = fs.open(path, "read");
    try {
      this.size = this.handle.size();
      const head = new Uint8Array(6);
      const sealed =
        this.size >= head.length &&
        this.handle.read(head, 0) === head.length &&
        SealedFile.isSealed(head);
      this.file = sealed
        ? (SealedFile.open(this.handle, n, this.size, sealer) ?? undefined)
        : undefined;
      this.headerDamaged = sealed && this.file === undefined;
      this.length = this.headerDamaged ? 0 : (this.file?.plainEnd ?? this.size);
    } catch (err) {
      this.handle.close();
      throw err;
    }
  }

  /** The format the file is in: null for a plain (version 1) file. */
  get sealed(): SealedFile | null {
    return this.file ?? null;
  }

  /** Every chunk's tag checked: what cannot be read (nothing for a plain file). */
  checkChunks(): ChunkDamage[] {
    return this.file?.checkChunks(this.handle) ?? [];
  }

  /** Reads the whole plaintext into core memory at `ptr` (unreadable chunks as zeros); returns its length. */
  read(ptr: number): number {
    if (this.file !== undefined)
      return this.file.read(this.handle, 0, this.length, () => getCore().u8, ptr);
    let done = 0;
    while (done < this.length) {
      const got = this.handle.read(getCore().u8.subarray(ptr + done, ptr + this.length), done);
      if (got <= 0) break;
      done += got;
    }
    return done;
  }

  close(): void {
    this.file?.wipe();
    this.handle.close();
  }
}
