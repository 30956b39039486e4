/**
 * Sealed blocks read back from disk, held in WebAssembly linear memory so a
 * record is verified and decoded in one WASM call with no copy in between.
 * Bounded by `cacheBytes` with least-recently-used eviction (a Map keeps
 * insertion order; a hit re-inserts). Linear memory never shrinks, so the
 * budget is also the high-water mark the cache adds to the process.
 */
import { getCore } from "../wasm/core.ts";

export interface CachedBlock {
  ptr: number;
  length: number;
  /**
   * Every record's checksum was verified since these bytes were read (the
   * scan that indexed the block did it), so a read need not verify again.
   */
  verified: boolean;
}

export class BlockCache {
  private readonly core = getCore();
  private readonly entries = new Map<number, CachedBlock>();
  private total = 0;
  /** The block last moved to the most-recent end of `entries`, or -1. */
  private newest = -1;
  readonly budget: number;

  constructor(budget: number) {
    this.budget = budget;
  }

  get(blockNumber: number): CachedBlock | undefined {
    // Scans hit one block many times in a row: re-inserting it each time was a hot spot.
    if (blockNumber === this.newest) return this.entries.get(blockNumber);
    const entry = this.entries.get(blockNumber);
    if (entry !== undefined) {
      this.entries.delete(blockNumber);
      this.entries.set(blockNumber, entry);
      this.newest = blockNumber;
    }
    return entry;
  }

  /** True when block `blockNumber` is cached (without counting as a use). */
  holds(blockNumber: number): boolean {
    return this.entries.has(blockNumber);
  }

  /** True when `length` more bytes fit the budget without evicting anything. */
  fits(length: number): boolean {
    return this.total + length <= this.budget;
  }

  /** Takes ownership of `ptr` (core memory holding `length` bytes of the block). */
  put(blockNumber: number, ptr: number, length: number): CachedBlock {
    this.drop(blockNumber);
    const entry = { ptr, length, verified: false };
    this.entries.set(blockNumber, entry);
    this.newest = blockNumber;
    this.total += length;
    for (const [n, e] of this.entries) {
      if (this.total <= this.budget || n === blockNumber) break;
      this.entries.delete(n);
      this.total -= e.length;
      this.core.free(e.ptr);
    }
    return entry;
  }

  /** Allocates core memory for a block about to be read, making room first. */
  reserve(length: number): number {
    for (const [n, e] of this.entries) {
      if (this.total + length <= this.budget) break;
      this.entries.delete(n);
      this.total -= e.length;
      this.core.free(e.ptr);
    }
    return this.core.alloc(Math.max(length, 1));
  }

  drop(blockNumber: number): void {
    const entry = this.entries.get(blockNumber);
    if (entry === undefined) return;
    this.entries.delete(blockNumber);
    this.total -= entry.length;
    this.core.free(entry.ptr);
  }

  get bytes(): number {
    return this.total;
  }

  clear(): void {
    for (const e of this.entries.values()) this.core.free(e.ptr);
    this.entries.clear();
    this.total = 0;
  }
}
