/**
 * Word of new messages in a local store, so that a replication idle at the
 * end of the stream wakes when a writer stores one. FileStore and MemStore
 * (a `StreamEngine`) tell listeners of each stored message: the listener
 * here only resolves a promise, so a writer's `storeMsg` pays one function
 * call and never waits. Another `StreamStore` implementation is polled.
 */
import { StreamEngine } from "../stream-engine.ts";
import type { StreamStore } from "../types.ts";

const POLL_MS = 25;

export class LocalArrivals {
  private waiter: (() => void) | null = null;
  private readonly unlisten: (() => void) | null;

  constructor(store: StreamStore) {
    this.unlisten = store instanceof StreamEngine ? store.onStored(() => this.wake()) : null;
  }

  /** Resolves at the next stored message (or poll tick), or when `wake()` is called. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.unlisten ? null : setTimeout(() => this.wake(), POLL_MS);
      this.waiter = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends a pending `next()` now (a message, a stop). */
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  close(): void {
    this.unlisten?.();
    this.wake();
  }
}
