/**
 * Preallocation of the active block's file. A durable append that grows its
 * file makes every fdatasync commit the file's new size (a filesystem journal
 * commit) besides the data; one that overwrites bytes already allocated
 * flushes the data alone, as SQLite's WAL does by rewriting pages of a file
 * that does not grow. So before a sync round fsyncs the active block, real
 * zeros are written past its data (a sparse extension would not do: writing
 * into a hole allocates extents, a journal commit again), a chunk at a time,
 * and the file is cut back to its data when the block is sealed and when a
 * checkpoint is written (clean close included): only the active block ever
 * carries zeros, and a checkpoint's last block has exactly its recorded size.
 *
 * A record never starts with four zero bytes (its length is at least 36), so
 * zeros after the last record read as the end of the data: recovery and
 * verify cut them without reporting anything lost (FORMAT.md, "Block file").
 */
import type { FileHandle } from "../../runtimes/fs.ts";

/** Zeros written past the data at once: about 6,000 small durable appends per extension. @internal */
export const PREALLOCATE_BYTES = 1024 * 1024;
/** A sync round extends the zeros when fewer than this many are left past the data. @internal */
export const PREALLOCATE_LOW = 256 * 1024;

let zeros: Uint8Array | null = null;

/** A shared buffer of `PREALLOCATE_BYTES` zeros (never written to). */
function zeroChunk(): Uint8Array {
  zeros ??= new Uint8Array(PREALLOCATE_BYTES);
  return zeros;
}

/** True when bytes [from, to) of `u8` are all zero (an empty range included). @internal */
export function allZeros(u8: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (u8[i] !== 0) return false;
  return true;
}

/** Where the zeros written past each block's data end (its file's size), for blocks that have them. @internal */
export class Preallocated {
  private readonly ends = new Map<number, number>();

  /**
   * Writes zeros past `end` (the block's data end) through `handle`, up to
   * `limit` (the block size) at most, when fewer than PREALLOCATE_LOW are
   * left; true when it wrote some (the file
   * then needs an fsync to keep its new size). A failed write is not an
   * error of the caller's: the data is intact and the next round tries again,
   * and the file is still cut back to its data later (whatever zeros reached it).
   */
  extend(handle: FileHandle, n: number, end: number, limit: number): boolean {
    const have = Math.max(this.ends.get(n) ?? end, end);
    const to = Math.min(end + PREALLOCATE_BYTES, limit);
    if (have - end >= PREALLOCATE_LOW || to <= have) return false;
    this.ends.set(n, have);
    try {
      handle.write(zeroChunk().subarray(0, to - have), have);
    } catch {
      return false;
    }
    this.ends.set(n, to);
    return true;
  }

  /**
   * Cuts block `n`'s file back to its data end `end`, if it holds zeros past
   * it. A failed cut is left for the next try: zeros after the data cost a
   * later open a scan, never a message.
   */
  trim(handle: FileHandle, n: number, end: number): boolean {
    if (!this.ends.has(n)) return false;
    try {
      handle.truncate(end);
    } catch {
      return false;
    }
    this.ends.delete(n);
    return true;
  }

  /** Block `n`'s file was cut or replaced: it holds no zeros past its data any more. */
  forget(n: number): void {
    this.ends.delete(n);
  }
}
