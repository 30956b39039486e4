/**
 * The rules every engine applies around its own storage, in one place: limit
 * admission and enforcement (limits.ts), age expiry on a timer, per-message
 * TTL expiry (ttl-expiry.ts), and a change of limits. An engine stores and
 * removes; it shows itself to the rules as a `LimitedStore` and calls the
 * policy at the points every engine shares (before an append, after one, at
 * open, on `updateConfig`), so a new engine or a changed rule touches this
 * module and limits.ts, not each engine.
 */
import { backgroundInterval } from "../runtimes/timers.ts";
import {
  admit,
  ageCheckIntervalMs,
  enforce,
  enforceAll,
  expireByAge,
  expireDue,
  type LimitedStore,
} from "./limits.ts";
import type { MessageTtls } from "./msg-ttls.ts";
import { TtlExpiry } from "./ttl-expiry.ts";
import type { StreamLimits } from "./types.ts";
import { checkLimitsUpdate, type ResolvedLimits, readClock } from "./validate.ts";

/** What a policy needs from its engine. */
export interface PolicyHost {
  /** The engine as the limit rules see it; `ttls` are the policy's own. Built once. */
  limitedView(ttls: MessageTtls): LimitedStore;
  /** Removes one message whose TTL or age ran out. */
  removeExpired(seq: number): void;
  /** Gets what a timer-driven expiry threw (it has no caller to throw to). */
  onBackgroundError(err: unknown): void;
  /** A closed engine's timers do nothing. */
  isClosed(): boolean;
}

export class StreamPolicy {
  limits: ResolvedLimits;
  readonly expiry: TtlExpiry;
  /** The engine as the rules see it, or null while no limit is set: the append path then skips them. */
  limited: LimitedStore | null = null;
  private readonly view: LimitedStore;
  private readonly now: () => bigint;
  private readonly host: PolicyHost;
  private ageTimer: ReturnType<typeof backgroundInterval> | null = null;

  constructor(limits: ResolvedLimits, now: () => bigint, host: PolicyHost) {
    this.limits = limits;
    this.now = now;
    this.host = host;
    this.expiry = new TtlExpiry(
      (seq) => host.removeExpired(seq),
      () => readClock(now, "expire messages"),
      (err) => host.onBackgroundError(err),
    );
    this.view = host.limitedView(this.expiry.ttls);
    this.configure();
  }

  /** Refuses a message of `size` record bytes that the limits do not let in; changes nothing. */
  admit(subject: string, payloadBytes: number, size: number, action: string): void {
    if (this.limited !== null)
      admit(this.limits, this.limited, subject, payloadBytes, size, action);
  }

  /** After `storeMsg` appended `seq`, stamped `ts` by the store's clock. */
  stored(subject: string, seq: number, ts: bigint, ttl: number): void {
    if (ttl !== 0) this.expiry.added(seq, ts, ttl, ts);
    if (this.limited !== null) enforce(this.limits, this.limited, subject);
    expireDue(this.limits, this.limited, this.expiry, ts);
  }

  /** After `storeRawMsg` appended `seq` with the caller's `ts`: the clock is read only when expiry needs it. */
  storedRaw(subject: string, seq: number, ts: bigint, ttl: number, action: string): void {
    if (this.limited !== null) enforce(this.limits, this.limited, subject);
    if (this.limits.maxAgeMs > 0 || this.expiry.ttls.pending > 0 || ttl !== 0) {
      const now = readClock(this.now, action);
      if (ttl !== 0) this.expiry.added(seq, ts, ttl, now);
      expireDue(this.limits, this.limited, this.expiry, now);
    }
  }

  /**
   * Applies every limit and expiry now: at open (a store may have been
   * written with higher limits, and time has passed) and after a change.
   */
  applyAll(subjects: () => Iterable<string>, action: string): void {
    if (this.limited !== null) enforceAll(this.limits, this.limited, subjects());
    expireDue(this.limits, this.limited, this.expiry, readClock(this.now, action));
  }

  /** `updateConfig`: replaces the limits (checked first; nothing changes on a bad one) and applies them. */
  update(limits: StreamLimits, subjects: () => Iterable<string>): void {
    this.limits = checkLimitsUpdate(limits, this.limits);
    this.configure();
    this.startAgeTimer();
    this.applyAll(subjects, "update config");
  }

  stop(): void {
    this.expiry.stop();
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
  }

  private configure(): void {
    const { maxMsgs, maxBytes, maxMsgsPerSubject, maxMsgSize, maxAgeMs } = this.limits;
    const any = maxMsgs + maxBytes + maxMsgsPerSubject + maxMsgSize + maxAgeMs > 0;
    this.limited = any ? this.view : null;
  }

  /** (Re)starts the age check for the current `maxAgeMs`; a timer that never keeps the process alive. */
  startAgeTimer(): void {
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
    if (this.limits.maxAgeMs === 0) return;
    this.ageTimer = backgroundInterval(() => {
      const limited = this.limited;
      if (this.host.isClosed() || limited === null) return;
      try {
        expireByAge(this.limits, limited, readClock(this.now, "expire messages"));
      } catch (err) {
        this.host.onBackgroundError(err);
      }
    }, ageCheckIntervalMs(this.limits.maxAgeMs));
  }
}
