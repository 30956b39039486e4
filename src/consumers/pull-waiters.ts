/**
 * The fetches a consumer has waiting for messages (nats-server's waiting
 * pull requests), served first come first served, and the one timer that
 * wakes them. A fetch that finds nothing waits here until a message it can
 * take is stored, an ack makes room under maxAckPending, a delivery falls due
 * again, or its expiry passes.
 *
 * A new message wakes the waiters in a microtask, not at once: a producer
 * that stores a burst in one synchronous run has it taken in one batch.
 * Timers run only while someone waits: one for the first expiry (real time),
 * an ordinary timer, since the caller asked to wait that long (an unref'd one
 * would let Node exit and Deno fail an awaited fetch); and, when it comes
 * first, one for the next ack deadline (the stream's clock, which a test may
 * hold still: it then fires again after the same span), which is background
 * work and never keeps the process alive.
 */
import { backgroundTimeout, type TimerId } from "../../runtimes/timers.ts";

/** The longest delay setTimeout takes. */
const MAX_DELAY_MS = 0x7fffffff;

interface Waiter<T> {
  max: number;
  /** performance.now() at which it gives up. */
  expiresAt: number;
  resolve(items: T[]): void;
  reject(err: unknown): void;
}

export class PullWaiters<T> {
  private list: Array<Waiter<T>> = [];
  private expiryTimer: TimerId | null = null;
  private deadlineTimer: TimerId | null = null;
  private scheduled = false;
  /** Takes up to `max` items now; may throw. */
  private readonly take: (max: number) => T[];
  /** Milliseconds until the next ack deadline on the stream's clock (Infinity: none). */
  private readonly nextDeadlineIn: () => number;

  constructor(take: (max: number) => T[], nextDeadlineIn: () => number) {
    this.take = take;
    this.nextDeadlineIn = nextDeadlineIn;
  }

  get size(): number {
    return this.list.length;
  }

  /** Waits for up to `max` items for at most `expiresMs`. */
  wait(max: number, expiresMs: number): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      this.list.push({ max, expiresAt: performance.now() + expiresMs, resolve, reject });
      this.arm();
    });
  }

  /** Something may be ready: serve the waiters in a microtask. */
  wake(): void {
    if (this.scheduled || this.list.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.serve();
    });
  }

  /** Serves the waiters in order while items come, drops the expired, re-arms the timer. */
  serve(): void {
    while (this.list.length > 0) {
      const waiter = this.list[0];
      let items: T[];
      try {
        items = this.take(waiter.max);
      } catch (err) {
        this.list.shift();
        waiter.reject(err);
        continue;
      }
      if (items.length === 0) break;
      this.list.shift();
      waiter.resolve(items);
    }
    const now = performance.now();
    if (this.list.some((w) => w.expiresAt <= now)) {
      const kept: Array<Waiter<T>> = [];
      for (const w of this.list) {
        if (w.expiresAt <= now) w.resolve([]);
        else kept.push(w);
      }
      this.list = kept;
    }
    this.arm();
  }

  /** Re-arms the timers for the earliest expiry and, if sooner, the next ack deadline. */
  arm(): void {
    this.stopTimers();
    if (this.list.length === 0) return;
    let at = Number.POSITIVE_INFINITY;
    for (const w of this.list) at = Math.min(at, w.expiresAt);
    const expiresIn = at - performance.now();
    const fire = () => {
      this.stopTimers();
      this.serve();
    };
    this.expiryTimer = setTimeout(fire, delayOf(expiresIn));
    const dueIn = this.nextDeadlineIn();
    if (dueIn < expiresIn) this.deadlineTimer = backgroundTimeout(fire, delayOf(dueIn));
  }

  /** Ends every wait with no items (the consumer closed) and stops the timers. */
  cancelAll(): void {
    this.stopTimers();
    const list = this.list;
    this.list = [];
    for (const w of list) w.resolve([]);
  }

  private stopTimers(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.expiryTimer = null;
    this.deadlineTimer = null;
  }
}

/** A timer delay for `ms`: +1 because a timer may fire a little early and a deadline is due once reached. */
function delayOf(ms: number): number {
  return Math.min(Math.max(Math.ceil(ms), 0) + 1, MAX_DELAY_MS);
}
