/**
 * What every engine does around its own storage, in one place: the stream's
 * counts (messages and bytes, kept on every append and removal, with the
 * removed message's TTL), limit admission and enforcement (limits.ts), age
 * expiry on a timer, per-message TTL expiry (ttl-expiry.ts), and a change of
 * limits. An engine stores and removes; it shows the limit rules how to find
 * and remove its messages (`EngineView`) and calls the policy at the points
 * every engine shares (an append, a removal, open, `updateConfig`), so a new
 * engine or a changed rule touches this module and limits.ts, not each engine.
 */
import { backgroundInterval } from "../runtimes/timers.ts";
import {
  admit,
  ageCheckIntervalMs,
  checkMsgSize,
  enforce,
  enforceAll,
  expireByAge,
  expireDue,
  type LimitedStore,
} from "./limits.ts";
import type { MessageTtls } from "./msg-ttls.ts";
import { isDeleteMarker, markerHeaders } from "./subject-delete-markers.ts";
import { TtlExpiry } from "./ttl-expiry.ts";
import type { ExpiredMsg, StoredMsg, StreamLimits } from "./types.ts";
import { checkLimitsUpdate, type ResolvedLimits, readClock } from "./validate.ts";

/** How the limit rules find and remove an engine's messages; counts and TTLs are the policy's own. */
export type EngineView = Omit<LimitedStore, "limitMsgs" | "limitBytes" | "ttls">;

/**
 * The engine with the policy's counts, as the limit rules see it. A class,
 * not an object literal with getters: a literal's getters are new closures
 * per store, so each store's view had a map of its own and the rules, run on
 * every append, went megamorphic once a process held a few limited stores.
 */
class PolicyView implements LimitedStore {
  protected readonly policy: StreamPolicy;
  protected readonly engine: EngineView;

  constructor(policy: StreamPolicy, engine: EngineView) {
    this.policy = policy;
    this.engine = engine;
  }

  get limitMsgs(): number {
    return this.policy.msgs;
  }

  get limitBytes(): number {
    return this.policy.bytes;
  }

  get ttls(): MessageTtls {
    return this.policy.expiry.ttls;
  }

  subjectCount(subject: string): number {
    return this.engine.subjectCount(subject);
  }

  subjectOldestSize(subject: string): number {
    return this.engine.subjectOldestSize(subject);
  }

  removeOldest(): void {
    this.engine.removeOldest();
  }

  trimSubject(subject: string, keep: number, entry?: unknown): void {
    this.engine.trimSubject(subject, keep, entry);
  }

  oldestTimestamp(): bigint | null {
    return this.engine.oldestTimestamp();
  }

  nextLive(seq: number): number {
    return this.engine.nextLive(seq);
  }

  timestampOf(seq: number): bigint {
    return this.engine.timestampOf(seq);
  }

  removeSeq(seq: number): void {
    this.engine.removeSeq(seq);
  }
}

/**
 * What age expiry walks when expiries are watched: each message read before
 * it goes (`expireWatched`). Once `onExpire` closed the store it shows
 * nothing more to expire, so the walk ends there.
 */
class WatchedAgeView extends PolicyView {
  override oldestTimestamp(): bigint | null {
    return this.policy.closed ? null : this.engine.oldestTimestamp();
  }

  override nextLive(seq: number): number {
    return this.policy.closed ? 0 : this.engine.nextLive(seq);
  }

  override removeOldest(): void {
    this.policy.expireWatched("first", "maxAge");
  }

  override removeSeq(seq: number): void {
    this.policy.expireWatched(seq, "maxAge");
  }
}

/** What a policy needs from its engine. */
export interface PolicyHost {
  /** The engine as the limit rules see it, built once. */
  limitedView(): EngineView;
  /** Removes one message whose TTL or age ran out. */
  removeExpired(seq: number): void;
  /** Gets what a timer-driven expiry threw (it has no caller to throw to). */
  onBackgroundError(err: unknown): void;
  /** A closed engine's timers do nothing. */
  isClosed(): boolean;
  /** The live message at `seq`, or the first live one; null when damage swallowed its record (FileStore's `lost`). */
  readMsg(seq: number | "first"): StoredMsg | null;
  /** Stores a subject delete marker (`storeMsg` with an empty payload and `ttl` seconds). */
  storeMarker(subject: string, hdr: Uint8Array, ttl: number): void;
  /** The `onExpire` option. */
  readonly onExpire: ((expired: ExpiredMsg) => void) | null;
}

export class StreamPolicy {
  limits: ResolvedLimits;
  /** Live messages and the bytes they count for (msg-size.ts): what every limit and `state()` read. */
  msgs = 0;
  bytes = 0;
  readonly expiry: TtlExpiry;
  /** The engine as the rules see it, or null while no limit is set: the append path then skips them. */
  limited: LimitedStore | null = null;
  /**
   * Whether a limit can refuse a message (`maxMsgSize`, `maxBytes`, `discard:
   * "new"`): a stream that only trims its head skips the admission checks.
   */
  admits = false;
  private readonly view: PolicyView;
  private readonly now: () => bigint;
  private readonly host: PolicyHost;
  private ageTimer: ReturnType<typeof backgroundInterval> | null = null;
  /**
   * What age expiry walks: the engine's view, or, when expiries are watched
   * (markers, `onExpire`), one that reads each message before removing it.
   */
  private ageView: PolicyView;
  private readonly watchedAgeView: PolicyView;
  /** Subjects whose last message expired, owed a marker once the expiry pass ends. */
  private markersOwed: string[] = [];
  private placingMarkers = false;
  /** A marker is being stored ahead of the removal it reports: its store only counts its TTL. */
  private storingAhead = false;
  /** Markers stored ahead in this pass: the stream-wide limits are applied once it ends. */
  private placedAhead = false;

  constructor(limits: ResolvedLimits, now: () => bigint, host: PolicyHost) {
    this.limits = limits;
    this.now = now;
    this.host = host;
    this.expiry = new TtlExpiry(
      (seq) => {
        if (this.watchesExpiry) this.expireWatched(seq, "ttl");
        else host.removeExpired(seq);
      },
      () => readClock(now, "expire messages"),
      (err) => host.onBackgroundError(err),
      () => this.placeMarkers(),
      () => host.isClosed(),
    );
    const engine = host.limitedView();
    this.view = new PolicyView(this, engine);
    this.watchedAgeView = new WatchedAgeView(this, engine);
    this.ageView = this.view;
    this.configure();
  }

  /** The store was closed (an `onExpire` callback may close it mid-pass). @internal */
  get closed(): boolean {
    return this.host.isClosed();
  }

  /** True when an expired message must be read first: for a marker, or to tell `onExpire`. */
  private get watchesExpiry(): boolean {
    return this.limits.subjectDeleteMarkerTtl > 0 || this.host.onExpire !== null;
  }

  /** A TTL for a message being stored: at least the marker's, as nats-server raises it. */
  ttlFor(ttl: number): number {
    const marker = this.limits.subjectDeleteMarkerTtl;
    if (marker === 0 || ttl <= 0 || this.limits.maxMsgsPerSubject === 1) return ttl;
    return Math.max(ttl, marker);
  }

  /** A message of `size` bytes was stored (or found at open). */
  added(size: number): void {
    this.msgs++;
    this.bytes += size;
  }

  /** Messages found at open, counted a block at a time. */
  addedAll(msgs: number, bytes: number): void {
    this.msgs += msgs;
    this.bytes += bytes;
  }

  /** The live message `seq` of `size` bytes is gone; its TTL, if it had one, goes with it. */
  removed(seq: number, size: number, hadTtl: boolean): void {
    this.msgs--;
    this.bytes -= size;
    if (hadTtl) this.expiry.ttls.remove(seq);
  }

  /** Every message is gone (purge, compact past the end). */
  emptied(): void {
    this.msgs = 0;
    this.bytes = 0;
    this.expiry.ttls.clear();
  }

  /** Refuses a message of `size` record bytes that the limits do not let in; changes nothing. */
  admit(subject: string, payloadBytes: number, size: number, action: string): void {
    if (this.admits && this.limited !== null)
      admit(this.limits, this.limited, subject, payloadBytes, size, action);
  }

  /**
   * Refuses, as `admit`, a message storeMsg will not store (an interest
   * stream's skip): only its size counts, since it takes no room.
   */
  admitSkipped(payloadBytes: number, action: string): void {
    checkMsgSize(this.limits, payloadBytes, action);
  }

  /**
   * After `storeMsg` appended `seq`, stamped `ts` by the store's clock.
   * `entry` is the engine's record of `subject` when it holds it (see
   * `LimitedStore.trimSubject`).
   */
  stored(subject: string, seq: number, ts: bigint, ttl: number, entry?: unknown): void {
    if (ttl !== 0) this.expiry.added(seq, ts, ttl, ts);
    if (this.storingAhead) return;
    if (this.limited !== null) enforce(this.limits, this.limited, subject, entry);
    // Nothing can be due without an age limit or a pending TTL.
    if (this.limits.maxAgeMs > 0 || this.expiry.ttls.pending > 0)
      expireDue(this.limits, this.ageLimited(), this.expiry, ts);
    this.placeMarkers();
  }

  /** After `storeRawMsg` appended `seq` with the caller's `ts`: the clock is read only when expiry needs it. */
  storedRaw(
    subject: string,
    seq: number,
    ts: bigint,
    ttl: number,
    action: string,
    entry?: unknown,
  ): void {
    if (this.storingAhead) {
      if (ttl !== 0) this.expiry.added(seq, ts, ttl, readClock(this.now, action));
      return;
    }
    if (this.limited !== null) enforce(this.limits, this.limited, subject, entry);
    if (this.limits.maxAgeMs > 0 || this.expiry.ttls.pending > 0 || ttl !== 0) {
      const now = readClock(this.now, action);
      if (ttl !== 0) this.expiry.added(seq, ts, ttl, now);
      expireDue(this.limits, this.ageLimited(), this.expiry, now);
      this.placeMarkers();
    }
  }

  /**
   * Applies every limit and expiry now: at open (a store may have been
   * written with higher limits, and time has passed) and after a change.
   */
  applyAll(subjects: () => Iterable<string>, action: string): void {
    if (this.limited !== null) enforceAll(this.limits, this.limited, subjects());
    expireDue(this.limits, this.ageLimited(), this.expiry, readClock(this.now, action));
    this.placeMarkers();
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
    this.admits = maxMsgSize > 0 || maxBytes > 0 || this.limits.discard === "new";
    this.ageView = this.watchesExpiry ? this.watchedAgeView : this.view;
  }

  /** The view age expiry walks, or null while no limit is set. */
  private ageLimited(): PolicyView | null {
    return this.limited === null ? null : this.ageView;
  }

  /**
   * Removes an expired message read first: `onExpire` hears of it, and the
   * last message of a subject (not itself a marker) gets its marker stored
   * before it goes, as nats-server's marker rolls the subject up: on disk the
   * marker then precedes the removal's tombstone, so no crash keeps the
   * removal without the marker. The marker's store only counts it (no
   * expiry, no limit inside the pass; the stream-wide limits are applied
   * when the pass ends, as for a marker stored then). One the limits refuse
   * before the removal (`discard: "new"` on a full stream) is tried again
   * once the pass is over.
   */
  /** @internal */
  expireWatched(which: number | "first", reason: ExpiredMsg["reason"]): void {
    const msg = this.host.readMsg(which);
    if (msg === null) {
      // Lost to damage: its subject is unknown, so there is no marker to store and nothing
      // true to report; it goes as an unwatched expiry would take it.
      if (reason === "ttl") this.host.removeExpired(which as number);
      else if (which === "first") this.view.removeOldest();
      else this.view.removeSeq(which);
      return;
    }
    if (
      this.limits.subjectDeleteMarkerTtl > 0 &&
      this.view.subjectCount(msg.subject) === 1 &&
      !isDeleteMarker(msg.hdr)
    ) {
      this.storeMarkerAhead(msg.subject);
    }
    if (reason === "ttl") this.host.removeExpired(msg.seq);
    else if (which === "first") this.view.removeOldest();
    else this.view.removeSeq(msg.seq);
    this.host.onExpire?.({ seq: msg.seq, subject: msg.subject, reason });
  }

  private storeMarkerAhead(subject: string): void {
    const ttl = this.limits.subjectDeleteMarkerTtl;
    this.storingAhead = true;
    try {
      this.host.storeMarker(subject, markerHeaders(ttl), ttl);
      this.placedAhead = true;
    } catch {
      this.markersOwed.push(subject);
    } finally {
      this.storingAhead = false;
    }
  }

  /**
   * Ends an expiry pass: applies the stream-wide limits the markers stored
   * ahead were spared, then stores the markers still owed (a store inside
   * the pass would expire again under it). A marker refused (by `discard:
   * "new"`, say) is reported as a background error; the expiry stands.
   */
  private placeMarkers(): void {
    // Closed by `onExpire` mid-pass: the limits and markers are the next open's (it applies both).
    if (this.placingMarkers || this.host.isClosed()) return;
    if (this.placedAhead) {
      this.placedAhead = false;
      if (this.limited !== null) enforce(this.limits, this.limited, null);
    }
    if (this.markersOwed.length === 0) return;
    this.placingMarkers = true;
    try {
      while (this.markersOwed.length > 0) {
        const subject = this.markersOwed.shift() as string;
        // Stored since: the subject has a message again, no marker is due.
        if (this.view.subjectCount(subject) > 0) continue;
        const ttl = this.limits.subjectDeleteMarkerTtl;
        try {
          this.host.storeMarker(subject, markerHeaders(ttl), ttl);
        } catch (err) {
          this.host.onBackgroundError(err);
        }
      }
    } finally {
      this.placingMarkers = false;
    }
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
        expireByAge(this.limits, this.ageView, readClock(this.now, "expire messages"));
        this.placeMarkers();
      } catch (err) {
        this.host.onBackgroundError(err);
      }
    }, ageCheckIntervalMs(this.limits.maxAgeMs));
  }
}
