/**
 * Drives per-message TTL expiry for an engine: keeps the TTLs (msg-ttls.ts),
 * removes what is due when asked (on every store and at open) and on a timer
 * armed for the next expiry. The timer never keeps the process alive and
 * wakes at least once a second while expiries are pending, so an injected or
 * adjusted clock is followed within a second.
 */
import { backgroundTimeout } from "../runtimes/timers.ts";
import { MessageTtls } from "./msg-ttls.ts";

const MIN_DELAY_MS = 10;
const MAX_DELAY_MS = 1000;

export class TtlExpiry {
  readonly ttls = new MessageTtls();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** performance.now() at which the armed timer fires. */
  private fireAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly removeExpired: (seq: number) => void;
  private readonly now: () => bigint;
  private readonly onError: (err: unknown) => void;
  private readonly afterExpire: () => void;
  private readonly ended: () => boolean;

  /**
   * `removeExpired` removes one message; `onError` gets what a timer-driven
   * expiry threw; `afterExpire` runs once a pass that removed something ends;
   * `ended` tells that the store was closed (by an `onExpire` callback) mid-pass.
   */
  constructor(
    removeExpired: (seq: number) => void,
    now: () => bigint,
    onError: (err: unknown) => void,
    afterExpire: () => void = () => {},
    ended: () => boolean = () => false,
  ) {
    this.removeExpired = removeExpired;
    this.now = now;
    this.onError = onError;
    this.afterExpire = afterExpire;
    this.ended = ended;
  }

  /** Records the TTL of a message just stored at `ts` and arms the timer for it (`nowNs` is the clock). */
  added(seq: number, ts: bigint, ttl: number, nowNs: bigint): void {
    const at = this.ttls.add(seq, ts, ttl);
    if (at !== 0) this.arm(at - Number(nowNs / 1_000_000n));
  }

  /** Removes every message whose TTL has passed at `nowNs`; returns how many. */
  expire(nowNs: bigint): number {
    if (this.ttls.pending === 0) return 0;
    const due = this.ttls.due(nowNs);
    const ttls = this.ttls;
    let i = 0;
    try {
      for (; i < due.length; i++) {
        const seq = due[i];
        // Removed since `due` handed it out: by an `onExpire` callback earlier in this pass.
        if (!ttls.isPassing(seq)) continue;
        // A closed store takes no more removals: the rest stay due, for the next open.
        if (this.ended()) break;
        this.removeExpired(seq);
        ttls.passed(seq);
      }
    } finally {
      // A removal that threw ends the pass: it and the rest stay due for the next one.
      if (i < due.length) ttls.putBack(due, i);
    }
    if (due.length > 0) this.afterExpire();
    return due.length;
  }

  /** Arms the timer for whatever is pending (after an open restored TTLs). */
  rearm(nowNs: bigint): void {
    const next = this.ttls.msUntilNext(nowNs);
    if (next !== null) this.arm(next);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.fireAt = Number.POSITIVE_INFINITY;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    const delay = Math.min(Math.max(delayMs, MIN_DELAY_MS), MAX_DELAY_MS);
    const at = performance.now() + delay;
    if (this.timer !== null) {
      if (this.fireAt <= at) return;
      clearTimeout(this.timer);
    }
    this.fireAt = at;
    this.timer = backgroundTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = null;
    this.fireAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    let next: number | null;
    try {
      const now = this.now();
      this.expire(now);
      next = this.ttls.msUntilNext(now);
    } catch (err) {
      this.onError(err);
      // Tried again a second later: one failed removal must not end expiry by timer.
      next = this.ttls.pending > 0 ? MAX_DELAY_MS : null;
    }
    if (next !== null) this.arm(next);
  }
}
