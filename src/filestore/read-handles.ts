/**
 * Read-only handles of sealed blocks, kept by block-file.ts for the records
 * it reads one at a time, open across reads up to a small bound (least
 * recently used closed first). A random read that misses the block cache
 * costs one positional read, not an open, a read and a close;
 * keeping every block open was rejected because a store of thousands of
 * blocks would run the process out of file descriptors.
 */
import type { FileHandle, FileSystem } from "../../runtimes/fs.ts";
import type { Block } from "./block.ts";

export class ReadHandles {
  private readonly fs: FileSystem;
  private readonly limit: number;
  private readonly open = new Map<number, FileHandle>();

  constructor(fs: FileSystem, limit = 32) {
    this.fs = fs;
    this.limit = limit;
  }

  /** A handle to read `block` with: its own writable one if it has it, else a kept read handle. */
  of(block: Block): FileHandle {
    if (block.handle !== null) return block.handle;
    let handle = this.open.get(block.n);
    if (handle !== undefined) {
      this.open.delete(block.n);
      this.open.set(block.n, handle);
      return handle;
    }
    handle = this.fs.open(block.path, "read");
    this.open.set(block.n, handle);
    if (this.open.size > this.limit) {
      const [oldest, stale] = this.open.entries().next().value as [number, FileHandle];
      this.open.delete(oldest);
      stale.close();
    }
    return handle;
  }

  /** Closes the kept handle of block `n` (before it is removed, rewritten or reopened for writing). */
  drop(n: number): void {
    const handle = this.open.get(n);
    if (handle === undefined) return;
    this.open.delete(n);
    handle.close();
  }

  clear(): void {
    for (const handle of this.open.values()) handle.close();
    this.open.clear();
  }
}
