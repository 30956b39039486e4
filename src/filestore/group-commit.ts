/**
 * Group commit: any number of callers awaiting durability share fsyncs.
 * A caller's promise resolves only after an fsync that *started after* its
 * data was written completed, so an acknowledgement always means "on disk".
 * While one round of fsyncs runs, new callers queue for the next round; that
 * next round serves all of them at once. A failed fsync rejects every caller
 * of its round — it is never reported as success — and the data stays marked
 * dirty so the next round tries again.
 * The alternative, a timer that fsyncs every N ms (Go's default), acknowledges
 * writes that a crash can still lose; that is what this module exists to avoid.
 */

/** Performs one durability round: writes out pending bytes and fsyncs them. */
export type SyncRound = () => Promise<void>;

export class GroupCommit {
  private waiting: Array<{ resolve(): void; reject(err: unknown): void }> = [];
  private running = false;
  private readonly round: SyncRound;

  constructor(round: SyncRound) {
    this.round = round;
  }

  /** Resolves once everything written before this call is durable. */
  request(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** True while a round is in flight or callers are queued. */
  get busy(): boolean {
    return this.running || this.waiting.length > 0;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        try {
          await this.round();
          for (const w of batch) w.resolve();
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
        // Let the callers just resolved write again and queue, so the next
        // round serves all of them: checking at once found the queue empty,
        // the first caller back started a round alone and the rest waited for
        // the one after it.
        await nextTurn();
      }
    } finally {
      this.running = false;
    }
  }
}

/** Resolves after the microtasks queued now have run (a macrotask later). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
