/**
 * A growable region of core memory that single records are read into (by
 * block-file.ts), so they are verified and decoded by the WASM core where
 * they land.
 */
import { getCore } from "../wasm/core.ts";

export class ScratchBuffer {
  ptr = 0;
  private capacity = 0;

  /** Makes room for `size` bytes, keeping the first `keep`; `ptr` may move. */
  reserve(size: number, keep: number): void {
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
