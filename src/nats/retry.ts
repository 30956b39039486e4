/**
 * Waiting between attempts after a failure: 100 ms doubling up to a
 * ceiling, cut short by a stop. The timer does not keep the process alive
 * on its own (the connection does, while it is open).
 */
export class Retry {
  private attempt = 0;
  private cancel: (() => void) | null = null;

  private readonly maxMs: number;

  constructor(maxMs: number) {
    this.maxMs = maxMs;
  }

  /** Waits before the next attempt; resolves early on `interrupt()`. */
  wait(): Promise<void> {
    const ms = Math.min(this.maxMs, 100 * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      (timer as { unref?: () => void }).unref?.();
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.cancel = null;
        resolve();
      }
      this.cancel = done;
    });
  }

  /** True after at least one failed attempt since the last `succeeded()`. */
  get failing(): boolean {
    return this.attempt > 0;
  }

  succeeded(): void {
    this.attempt = 0;
  }

  interrupt(): void {
    this.cancel?.();
  }
}
