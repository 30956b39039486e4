/**
 * The writable handles blocks keep between uses (`Block.handle`), bounded.
 * A block's handle is opened by its file's creation or first write, by
 * open's look at its length (every block of a sealed store), or by the first
 * use of a block open left unchecked (vouched-blocks.ts), and was kept until
 * the block left the store or the store closed: a session that wrote or read
 * thousands of blocks held a descriptor for each, where read-handles.ts
 * bounds its own handles for that very reason. Past the bound, the handles
 * opened least recently of blocks that owe their file nothing are closed;
 * the block's next write, truncate or fsync opens the file again. The block
 * appends go to keeps its handle, and so does one that is dirty, being
 * fsynced, or owed a write again after a failed fsync (block-sync.ts,
 * `settled`): its durability round fsyncs through it.
 */
import type { Block } from "./block.ts";

export class BlockHandles {
  private readonly limit: number;
  /** Blocks that held a handle when last told, least recently told first. */
  private readonly held = new Map<number, Block>();
  /**
   * How many held handles make `hold` walk them again. Past the bound with
   * little to close (a burst of appends rolls blocks whose fsyncs are in
   * flight until the event loop turns), a walk at every hold went over them
   * all each time: quadratic in the blocks of the burst. The next walk waits
   * until the excess has doubled, or an fsync has finished (`fsynced`): only
   * that makes a block the last walk passed over closable.
   */
  private walkAt = 0;

  constructor(limit = 32) {
    this.limit = limit;
  }

  /**
   * `block` holds a handle (just opened, or no longer appended to); past the
   * bound, others' idle handles are closed, never `block`'s nor that of the
   * block appends go to.
   */
  hold(block: Block, appendingTo: number): void {
    this.held.delete(block.n);
    this.held.set(block.n, block);
    if (this.held.size >= this.walkAt) this.trim(appendingTo, block);
  }

  /** An fsync of a block finished: the next `hold` walks again. */
  fsynced(): void {
    this.walkAt = 0;
  }

  /** Block `n` left the store (its handle is closed with it). */
  forget(n: number): void {
    this.held.delete(n);
  }

  clear(): void {
    this.held.clear();
    this.walkAt = 0;
  }

  /**
   * Closes idle handles down to the bound, oldest first, never `keep`'s; also
   * after fsyncs finish, or a burst of writes would keep the handles of the
   * blocks it filled open until the next block rolled.
   */
  trim(appendingTo: number, keep: Block | null = null): void {
    this.walk(appendingTo, keep);
    const size = this.held.size;
    this.walkAt = size <= this.limit ? 0 : 2 * size - this.limit;
  }

  private walk(appendingTo: number, keep: Block | null): void {
    if (this.held.size <= this.limit) return;
    for (const [n, block] of this.held) {
      if (this.held.size <= this.limit) return;
      const handle = block.handle;
      if (handle === null || block.disposed) {
        this.held.delete(n);
        continue;
      }
      if (block === keep || n === appendingTo || block.dirty || block.syncing > 0) continue;
      if (!block.durability.settled) continue;
      this.held.delete(n);
      block.handle = null;
      try {
        handle.close();
      } catch {
        // Its file owes nothing (fsynced, settled) and close(2) frees the descriptor even when it
        // reports an error: thrown here, it would fail the unrelated open, roll or rewrite that
        // made room, halfway (a roll after its seal, a rewrite before the block follows its file).
      }
    }
  }
}
