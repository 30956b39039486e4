/**
 * Rewrites sealed blocks in the background: a block that rolled over in a
 * store with compression is packed (compressed in 16 KiB chunks, where the
 * active block's write-outs were only sealed), and at open every block in
 * another format than the one asked for is converted. A block is copied in
 * slices, up to 3 ms of them per timer tick, to a file beside it, fsynced
 * off the main thread and renamed over it (block-file.ts), so `storeMsg`
 * never waits for more than one tick and a crash leaves the old file or the
 * new one, each whole: the next open removes the leftover and starts that
 * block again.
 */
import { backgroundTimeout, type TimerId } from "../../runtimes/timers.ts";
import type { Block } from "./block.ts";
import type { BlockFiles } from "./block-file.ts";
import type { BlockRewrite } from "./block-rewrite.ts";

/** Plaintext copied per step. */
const SLICE_BYTES = 64 * 1024;
/**
 * Steps run back to back within one tick for this long: the longest a
 * `storeMsg` waits for the packer, while timers' 1 ms floor leaves it most
 * of the time (one slice per tick packed at 20–25 MB/s).
 */
const TICK_BUDGET_MS = 3;
/** Ticks wait this long while the block's own fsync runs or its file changes under it. */
const RETRY_MS = 20;

export class BlockPacker {
  private readonly files: BlockFiles;
  private readonly queue: Block[] = [];
  private rewrite: BlockRewrite | null = null;
  private timer: TimerId | null = null;
  private finishing = false;
  /** The fsync of a finishing rewrite and what follows it; close waits for it (see `settled`). */
  private settling: Promise<void> | null = null;
  private stopped = false;
  /** The first error a rewrite met; it is dropped, and the block stays as it was. */
  lastError: unknown = null;

  /** Called after each block put in place (its directory entry not yet fsynced; a conversion may be complete). */
  private readonly rewritten: () => void;

  constructor(files: BlockFiles, rewritten: () => void) {
    this.files = files;
    this.rewritten = rewritten;
  }

  /** Queues `block` (sealed: it will not grow again) for a rewrite in the store's format. */
  add(block: Block): void {
    if (this.stopped || this.queue.includes(block) || this.rewrite?.block === block) return;
    this.queue.push(block);
    this.schedule(0);
  }

  /** True while blocks wait or one is being rewritten. */
  get busy(): boolean {
    return this.queue.length > 0 || this.rewrite !== null;
  }

  /** Stops (the store closes): the block being rewritten keeps its file; the next open starts again. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    // A rewrite whose fsync is in flight is dropped when that fsync settles.
    if (this.rewrite !== null && !this.finishing) this.files.abandonRewrite(this.rewrite);
    this.rewrite = null;
  }

  /**
   * Resolves once a rewrite whose fsync was in flight at `stop` has removed
   * its file: nothing of the store's may touch the directory after close.
   */
  settled(): Promise<void> {
    return this.settling ?? Promise.resolve();
  }

  /** Forgets `block` (it leaves the store). */
  drop(block: Block): void {
    const i = this.queue.indexOf(block);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.stopped || this.finishing) return;
    this.timer = backgroundTimeout(() => {
      this.timer = null;
      this.tick();
    }, ms);
  }

  private tick(): void {
    try {
      const started = performance.now();
      do this.step();
      while (
        this.rewrite !== null &&
        !this.finishing &&
        !this.waiting &&
        performance.now() - started < TICK_BUDGET_MS
      );
    } catch (err) {
      this.lastError ??= err;
      if (this.rewrite !== null) this.files.abandonRewrite(this.rewrite);
      this.rewrite = null;
    }
    if (this.busy) this.schedule(this.waiting ? RETRY_MS : 0);
  }

  /** Set by a step that found the block busy: the next tick waits a little. */
  private waiting = false;

  private step(): void {
    this.waiting = false;
    let rewrite = this.rewrite;
    if (rewrite !== null && !this.files.isCurrent(rewrite)) {
      // Erased, cut or removed meanwhile: start over from its new bytes, if it is still wanted.
      this.files.abandonRewrite(rewrite);
      this.queue.unshift(rewrite.block);
      this.rewrite = rewrite = null;
    }
    if (rewrite === null) {
      const block = this.queue.shift();
      if (block === undefined) return;
      if (block.disposed || !this.files.needsConversion(block)) return;
      this.rewrite = rewrite = this.files.beginRewrite(block, block.written, this.files.packs);
    }
    if (rewrite.done < rewrite.length) {
      const slice = new Uint8Array(Math.min(SLICE_BYTES, rewrite.length - rewrite.done));
      this.files.readPlain(rewrite.block, rewrite.done, slice);
      rewrite.append(slice);
      return;
    }
    this.finish(rewrite);
  }

  /** fsyncs the new file on the runtime's I/O thread, then puts it in place if nothing changed meanwhile. */
  private finish(rewrite: BlockRewrite): void {
    const block = rewrite.block;
    if (block.syncing > 0 || block.dirty) {
      // Its own fsync is running on the old file: swapping handles now would close it under that fsync.
      this.waiting = true;
      return;
    }
    this.finishing = true;
    this.settling = rewrite.handle.syncAsync().then(
      () => {
        this.finishing = false;
        this.settling = null;
        if (this.stopped) {
          this.files.abandonRewrite(rewrite);
          return;
        }
        try {
          if (this.files.isCurrent(rewrite) && block.syncing === 0 && !block.dirty) {
            this.files.finishRewrite(rewrite, false);
            this.rewritten();
          } else {
            this.files.abandonRewrite(rewrite);
            if (!block.disposed) this.queue.unshift(block);
          }
        } catch (err) {
          this.lastError ??= err;
        }
        this.rewrite = null;
        if (this.busy) this.schedule(0);
      },
      (err: unknown) => {
        this.finishing = false;
        this.settling = null;
        this.lastError ??= err;
        this.files.abandonRewrite(rewrite);
        this.rewrite = null;
        if (this.busy) this.schedule(0);
      },
    );
  }
}
