/**
 * A growable region of core memory that single records are read into, so
 * they are verified and decoded by the WASM core where they land.
 */
import type { FileHandle } from "../../runtimes/fs.ts";
import { corrupt } from "../errors.ts";
import { getCore } from "../wasm/core.ts";

export class ScratchBuffer {
  ptr = 0;
  private capacity = 0;

  /**
   * Reads `length` bytes of `handle` at `position` into the buffer at `at`,
   * growing it (keeping the first `at` bytes) if needed; returns the count.
   * A file that ends early is corrupt: the caller computed `length` from it.
   */
  readFrom(handle: FileHandle, position: number, length: number, at: number): number {
    this.reserve(at + length, at);
    const core = getCore();
    let done = 0;
    while (done < length) {
      const n = handle.read(
        core.u8.subarray(this.ptr + at + done, this.ptr + at + length),
        position + done,
      );
      if (n <= 0) {
        throw corrupt(`${handle.path} ended at ${position + done} bytes, inside a record`, {
          file: handle.path,
          offset: position,
        });
      }
      done += n;
    }
    return done;
  }

  private reserve(size: number, keep: number): void {
    if (size <= this.capacity) return;
    const core = getCore();
    const capacity = Math.max(size, this.capacity * 2, 1024);
    const next = core.alloc(capacity);
    if (keep > 0) core.u8.copyWithin(next, this.ptr, this.ptr + keep);
    core.free(this.ptr);
    this.ptr = next;
    this.capacity = capacity;
  }

  dispose(): void {
    getCore().free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}
