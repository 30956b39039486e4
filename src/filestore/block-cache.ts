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
 * Blocks come in provisionally when a writer sealed them (at every roll)
 * or a pass over the store read them in (a scan, a snapshot, a rebuild at
 * open): they serve readers right behind, but would otherwise fill the whole
 * budget with blocks nobody reads again. Until another read hits them they
 * are held to PROVISIONAL_SHARE, oldest out first.
 */
import { getCore } from "../wasm/core.ts";

export interface CachedBlock {
  ptr: number;
  length: number;
  /**
   * Every record's checksum was verified since these bytes were read (the
   * scan that indexed the block did it), or the block was sealed in this
   * process (writes.ts rollBlock), so a read need not verify again.
   */
  verified: boolean;
  /** @internal Hit since the eviction sweep last passed it. */
  referenced: boolean;
  /** @internal Put provisionally and not read otherwise since. */
  provisional: boolean;
  /** Still in the cache (its memory is freed once it is not). */
  held: boolean;
}

/** Bytes of provisional blocks (4 blocks of the default size). */
export const PROVISIONAL_SHARE = 32 * 1024 * 1024;

export class BlockCache {
  private readonly core = getCore();
  private readonly entries = new Map<number, CachedBlock>();
  private total = 0;
  /** Blocks held provisionally, oldest first (a Set keeps insertion order). */
  private readonly provisional = new Set<number>();
  private provisionalBytes = 0;
  readonly budget: number;

  constructor(budget: number) {
    this.budget = budget;
  }

  /** The block's entry; a hit counts as a use, and `promote` makes a provisional entry a full one. */
  get(blockNumber: number, promote = true): CachedBlock | undefined {
    const entry = this.entries.get(blockNumber);
    if (entry !== undefined) {
      entry.referenced = true;
      if (promote && entry.provisional) {
        entry.provisional = false;
        this.provisionalBytes -= entry.length;
        this.provisional.delete(blockNumber);
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
   * block), `provisional` when a writer or a pass brought it in (see PROVISIONAL_SHARE).
   */
  put(blockNumber: number, ptr: number, length: number, provisional = false): CachedBlock {
    this.drop(blockNumber);
    const entry: CachedBlock = {
      ptr,
      length,
      verified: false,
      referenced: false,
      provisional,
      held: true,
    };
    this.entries.set(blockNumber, entry);
    this.total += length;
    if (provisional) {
      this.provisional.add(blockNumber);
      this.provisionalBytes += length;
      this.trimProvisional(blockNumber);
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
    this.provisional.delete(blockNumber);
    this.forget(entry);
  }

  get bytes(): number {
    return this.total;
  }

  clear(): void {
    for (const e of this.entries.values()) {
      e.held = false;
      this.core.free(e.ptr);
    }
    this.entries.clear();
    this.total = 0;
    this.provisional.clear();
    this.provisionalBytes = 0;
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

  /** Holds provisional blocks to PROVISIONAL_SHARE, oldest out first, sparing block `keep`. */
  private trimProvisional(keep: number): void {
    for (const n of this.provisional) {
      if (this.provisionalBytes <= PROVISIONAL_SHARE) return;
      if (n !== keep) this.drop(n);
    }
  }

  private forget(entry: CachedBlock): void {
    entry.held = false;
    this.total -= entry.length;
    if (entry.provisional) this.provisionalBytes -= entry.length;
    this.core.free(entry.ptr);
  }
}
