/**
 * The stream limits both engines enforce, as nats-server does: with
 * `discard: "new"` a message that would break `maxMsgs` or `maxBytes` (or,
 * with `discardNewPerSubject`, `maxMsgsPerSubject`) is refused before anything
 * changes, unless its subject is at `maxMsgsPerSubject`, when it replaces the
 * subject's oldest and only needs the room that one leaves; otherwise the oldest messages (the subject's oldest for the
 * per-subject limit) are removed once the new one is stored. `maxMsgSize`
 * bounds headers plus payload and is always a refusal. `maxAgeMs` removes
 * messages from the head while the oldest is at least that old: on every
 * store, at open and on a timer, so expiry costs O(expired), never a scan.
 * Like nats-server it takes timestamps to rise with sequences. A message
 * whose TTL is "never" (-1) is kept by `maxAgeMs` too.
 */
import { JetStoreError } from "./errors.ts";
import type { MessageTtls } from "./msg-ttls.ts";
import type { TtlExpiry } from "./ttl-expiry.ts";
import type { ResolvedLimits } from "./validate.ts";

/** What an engine reports for the limit checks. */
export interface LimitedStore {
  readonly limitMsgs: number;
  readonly limitBytes: number;
  /** Live messages on `subject`. */
  subjectCount(subject: string): number;
  /** The accounted bytes (msg-size.ts) of the oldest live message on `subject`, which has one. */
  subjectOldestSize(subject: string): number;
  /** Removes the oldest message of the stream. */
  removeOldest(): void;
  /**
   * Removes the oldest messages on `subject` until at most `keep` are left:
   * one call per stored message, so the engine finds the subject once, or
   * not at all when `entry`, its own record of the subject that the append
   * just counted, is given.
   */
  trimSubject(subject: string, keep: number, entry?: unknown): void;
  /** Timestamp of the oldest message, or null when there is none. */
  oldestTimestamp(): bigint | null;
  /** Per-message TTLs, when the store has any. */
  readonly ttls: MessageTtls | null;
  /** The first live sequence at or after `seq`, or 0. */
  nextLive(seq: number): number;
  /** Timestamp of the live message `seq`. */
  timestampOf(seq: number): bigint;
  /** Removes the live message `seq`. */
  removeSeq(seq: number): void;
}

/** How often the age timer looks, for a given maxAgeMs: often enough, never busy. */
export function ageCheckIntervalMs(maxAgeMs: number): number {
  return Math.min(Math.max(Math.floor(maxAgeMs / 2), 10), 1000);
}

/** Removes messages at least `maxAgeMs` old at `now`; returns how many. */
export function expireByAge(limits: ResolvedLimits, store: LimitedStore, now: bigint): number {
  if (limits.maxAgeMs === 0) return 0;
  const cutoff = now - BigInt(limits.maxAgeMs) * 1_000_000n;
  const ttls = store.ttls;
  if (ttls !== null && ttls.neverCount > 0) return expireKeepingNever(store, ttls, cutoff);
  let expired = 0;
  for (
    let ts = store.oldestTimestamp();
    ts !== null && ts <= cutoff;
    ts = store.oldestTimestamp()
  ) {
    store.removeOldest();
    expired++;
  }
  return expired;
}

/** Removes what `maxAgeMs` (when `store` has limits) and per-message TTLs say is gone at `now`. */
export function expireDue(
  limits: ResolvedLimits,
  store: LimitedStore | null,
  expiry: TtlExpiry,
  now: bigint,
): void {
  if (store !== null) expireByAge(limits, store, now);
  expiry.expire(now);
}

/**
 * The age walk when some messages never expire: from the cursor (below it
 * only such messages live), remove every message at or before `cutoff` that
 * may expire, and move the cursor to where the walk stopped.
 */
function expireKeepingNever(store: LimitedStore, ttls: MessageTtls, cutoff: bigint): number {
  let expired = 0;
  let seq = store.nextLive(ttls.ageCursor);
  for (; seq !== 0; seq = store.nextLive(seq + 1)) {
    if (store.timestampOf(seq) > cutoff) {
      ttls.ageCursor = seq;
      return expired;
    }
    if (!ttls.isNever(seq)) {
      store.removeSeq(seq);
      expired++;
    }
    // Later messages get higher sequences: everything below here stays never-expiring.
    ttls.ageCursor = seq + 1;
  }
  return expired;
}

/**
 * ErrMsgTooLarge past `maxMsgSize`: the one limit a message that is not
 * stored (an interest stream's skip) still meets, as nats-server checks it
 * before deciding to skip.
 */
export function checkMsgSize(limits: ResolvedLimits, payloadBytes: number, action: string): void {
  if (limits.maxMsgSize > 0 && payloadBytes > limits.maxMsgSize) {
    throw new JetStoreError(
      "ErrMsgTooLarge",
      `Cannot ${action}: headers and payload take ${payloadBytes} bytes, more than maxMsgSize ${limits.maxMsgSize}`,
    );
  }
}

/** Refuses a message the limits do not let in; changes nothing. */
export function admit(
  limits: ResolvedLimits,
  store: LimitedStore,
  subject: string,
  payloadBytes: number,
  size: number,
  action: string,
): void {
  checkMsgSize(limits, payloadBytes, action);
  if (limits.maxBytes > 0 && size > limits.maxBytes) {
    throw new JetStoreError(
      "ErrMaxBytes",
      `Cannot ${action}: the message takes ${size} bytes, more than maxBytes ${limits.maxBytes}`,
    );
  }
  if (limits.discard !== "new") return;
  // A subject at its limit is replaced, not added to: the per-subject trim
  // takes its oldest, so the count does not grow and its bytes are given
  // back (nats-server's storeRawMsg, a KV update on a full bucket).
  const replaces = (): boolean =>
    limits.maxMsgsPerSubject > 0 && store.subjectCount(subject) >= limits.maxMsgsPerSubject;
  if (limits.maxMsgs > 0 && store.limitMsgs >= limits.maxMsgs && !replaces()) {
    throw new JetStoreError(
      "ErrMaxMsgs",
      `Cannot ${action}: the stream holds maxMsgs ${limits.maxMsgs}`,
    );
  }
  if (
    limits.maxBytes > 0 &&
    store.limitBytes + size > limits.maxBytes &&
    !(replaces() && store.limitBytes - store.subjectOldestSize(subject) + size <= limits.maxBytes)
  ) {
    throw new JetStoreError(
      "ErrMaxBytes",
      `Cannot ${action}: ${size} more bytes would pass maxBytes ${limits.maxBytes}`,
    );
  }
  if (
    limits.discardNewPerSubject &&
    limits.maxMsgsPerSubject > 0 &&
    store.subjectCount(subject) >= limits.maxMsgsPerSubject
  ) {
    throw new JetStoreError(
      "ErrMaxMsgsPerSubject",
      `Cannot ${action}: ${subject} holds maxMsgsPerSubject ${limits.maxMsgsPerSubject}`,
    );
  }
}

/**
 * Removes the oldest messages until every limit holds; `subject` is the one
 * just stored, if any, and `entry` the engine's record of it (trimSubject).
 */
export function enforce(
  limits: ResolvedLimits,
  store: LimitedStore,
  subject: string | null,
  entry?: unknown,
): void {
  const perSubject = limits.maxMsgsPerSubject;
  if (perSubject > 0 && subject !== null) store.trimSubject(subject, perSubject, entry);
  if (limits.maxMsgs > 0) {
    while (store.limitMsgs > limits.maxMsgs) store.removeOldest();
  }
  if (limits.maxBytes > 0) {
    while (store.limitBytes > limits.maxBytes && store.limitMsgs > 0) store.removeOldest();
  }
}

/**
 * `enforce` for every subject: after an open or a change of limits. Every
 * subject is trimmed before the stream-wide limits: one applied between two
 * trims would take an oldest message the later trim makes room for (what
 * went would hang on the order of the subjects), and a store applies them in
 * this order too, so a crash between a message and its limit removals
 * recovers to what the store would have left.
 */
export function enforceAll(
  limits: ResolvedLimits,
  store: LimitedStore,
  subjects: Iterable<string>,
): void {
  const perSubject = limits.maxMsgsPerSubject;
  if (perSubject > 0) for (const subject of [...subjects]) store.trimSubject(subject, perSubject);
  enforce(limits, store, null);
}
