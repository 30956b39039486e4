/**
 * Sealed blocks held in WebAssembly linear memory, so a record is verified
 * and decoded in one WASM call with no copy in between. Bounded by
 * `cacheBytes`; linear memory never shrinks, so the budget is also the
 * high-water mark the cache adds to the process.
 *
 * Eviction is second chance (CLOCK) over insertion order: a hit only sets a
 * flag, where moving the entry to the back of the Map on every hit cost
 * random reads over many blocks a delete and an insert each.
 *
 * Blocks a writer sealed come in at every roll; they serve readers right
 * behind the writer, but an append-only workload would otherwise fill the
 * whole budget with blocks nobody reads. Those not read since they came in
 * are held to WRITTEN_SHARE, oldest out first.
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
  /** @internal Hit since the eviction sweep last passed it. */
  referenced: boolean;
  /** @internal Put by a writer and not read since. */
  written: boolean;
}

/** Bytes of blocks put by writers and not read since (4 blocks of the default size). */
export const WRITTEN_SHARE = 32 * 1024 * 1024;

export class BlockCache {
  private readonly core = getCore();
  private readonly entries = new Map<number, CachedBlock>();
  private total = 0;
  /** Blocks put by writers, oldest first; an entry read or dropped since is skipped. */
  private readonly writtenOrder: number[] = [];
  /** Where trimming resumes in `writtenOrder`. */
  private writtenHead = 0;
  private writtenBytes = 0;
  readonly budget: number;

  constructor(budget: number) {
    this.budget = budget;
  }

  get(blockNumber: number): CachedBlock | undefined {
    const entry = this.entries.get(blockNumber);
    if (entry !== undefined) {
      entry.referenced = true;
      if (entry.written) {
        entry.written = false;
        this.writtenBytes -= entry.length;
      }
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

  /**
   * Takes ownership of `ptr` (core memory holding `length` bytes of the
   * block); `written` when a writer sealed it (see WRITTEN_SHARE).
   */
  put(blockNumber: number, ptr: number, length: number, written = false): CachedBlock {
    this.drop(blockNumber);
    const entry: CachedBlock = { ptr, length, verified: false, referenced: false, written };
    this.entries.set(blockNumber, entry);
    this.total += length;
    if (written) {
      this.writtenOrder.push(blockNumber);
      this.writtenBytes += length;
      this.trimWritten(blockNumber);
    }
    this.evictUntil(0, blockNumber);
    return entry;
  }

  /** Allocates core memory for a block about to be read, making room first. */
  reserve(length: number): number {
    this.evictUntil(length, -1);
    return this.core.alloc(Math.max(length, 1));
  }

  drop(blockNumber: number): void {
    const entry = this.entries.get(blockNumber);
    if (entry === undefined) return;
    this.entries.delete(blockNumber);
    this.forget(entry);
  }

  get bytes(): number {
    return this.total;
  }

  clear(): void {
    for (const e of this.entries.values()) this.core.free(e.ptr);
    this.entries.clear();
    this.total = 0;
    this.writtenOrder.length = 0;
    this.writtenHead = 0;
    this.writtenBytes = 0;
  }

  /** Evicts until `room` more bytes fit the budget, sparing block `keep`. */
  private evictUntil(room: number, keep: number): void {
    while (this.total + room > this.budget) {
      let victim = -1;
      for (const [n, e] of this.entries) {
        if (n === keep) continue;
        if (!e.referenced) {
          victim = n;
          break;
        }
        // Its second chance: to the back, unflagged.
        e.referenced = false;
        this.entries.delete(n);
        this.entries.set(n, e);
      }
      if (victim === -1) {
        // Every other entry was flagged: the sweep unflagged them all; the next pass evicts.
        if (this.entries.size <= (this.entries.has(keep) ? 1 : 0)) return;
        continue;
      }
      this.drop(victim);
    }
  }

  /** Holds the blocks writers put and nobody read to WRITTEN_SHARE, sparing block `keep`. */
  private trimWritten(keep: number): void {
    const order = this.writtenOrder;
    while (this.writtenBytes > WRITTEN_SHARE && this.writtenHead < order.length) {
      const n = order[this.writtenHead++];
      if (n !== keep && this.entries.get(n)?.written === true) this.drop(n);
    }
    // Entries read since they were put stay listed until the head passes them: compact now and then.
    if (order.length > 64 && order.length > 2 * (order.length - this.writtenHead)) {
      order.splice(0, this.writtenHead);
      this.writtenHead = 0;
    }
    if (order.length > 64 + 4 * this.entries.size) {
      const live = order
        .slice(this.writtenHead)
        .filter((n) => this.entries.get(n)?.written === true);
      order.length = 0;
      order.push(...live);
      this.writtenHead = 0;
    }
  }

  private forget(entry: CachedBlock): void {
    this.total -= entry.length;
    if (entry.written) this.writtenBytes -= entry.length;
    this.core.free(entry.ptr);
  }
}
