/**
 * A durable consumer's options: what `store.consumer(name, options)` takes,
 * their checks and defaults (nats-server's setConsumerConfigDefaults and
 * checkConsumerCfg for a pull consumer), the record of them kept with the
 * consumer's state (`ConsumerConfig.durable`, plain JSON), and which of them a
 * reopen may change (nats-server's checkNewConsumerConfig).
 *
 * Times are milliseconds (`ackWaitMs`, `backoffMs`) because they feed timers;
 * `optStartTime` is bigint nanoseconds, as every timestamp of the stream, so
 * it compares with `StoredMsg.ts` and `getSeqFromTime` without conversion
 * (a Date was rejected: it has millisecond resolution). The record keeps it
 * as a decimal string, since JSON has no bigint.
 */
import { invalidArgument, JetStoreError } from "../errors.ts";
import { filtersOverlap, matchesAll } from "../subject-match.ts";
import { checkFilter, checkTimestamp, describeValue } from "../validate.ts";
import type { AckPolicy, ConsumerConfig } from "./types.ts";

/**
 * Where a new consumer starts (nats-server's DeliverPolicy): `all` at the
 * first message, `last` at the last matching one, `new` after the last one,
 * `byStartSequence` at `optStartSeq`, `byStartTime` at the first message
 * stored at or after `optStartTime`, `lastPerSubject` at the last message of
 * each matching subject.
 */
export type DeliverPolicy =
  | "all"
  | "last"
  | "new"
  | "byStartSequence"
  | "byStartTime"
  | "lastPerSubject";

/** What `store.consumer(name, options)` takes; every field is optional. */
export interface ConsumerOptions {
  /** Only subjects matching this filter ("" or ">": all, the default). Not with `filters`. */
  filter?: string | undefined;
  /** Several filters, none overlapping another. Not with `filter`. */
  filters?: string[] | undefined;
  /** Default "all". Fixed when the consumer is created. */
  deliverPolicy?: DeliverPolicy | undefined;
  /** The first stream sequence, with deliverPolicy "byStartSequence" only. */
  optStartSeq?: number | undefined;
  /** Nanoseconds since the Unix epoch, with deliverPolicy "byStartTime" only. */
  optStartTime?: bigint | undefined;
  /** Default "explicit". Fixed when the consumer is created. */
  ackPolicy?: AckPolicy | undefined;
  /** How long a delivery waits for its ack before it is redelivered; default 30000. */
  ackWaitMs?: number | undefined;
  /** Deliveries of a message at most; -1 (the default) or 0 for no limit. */
  maxDeliver?: number | undefined;
  /**
   * Waits before each redelivery instead of `ackWaitMs`: the k-th entry before
   * the k-th redelivery, the last repeating. Needs `maxDeliver` above its length.
   */
  backoffMs?: number[] | undefined;
  /** Deliveries awaiting an ack at most; default 1000, -1 for no limit. */
  maxAckPending?: number | undefined;
}

/** What `fetch` and `next` take. */
export interface FetchOptions {
  /** How long to wait for a message when none is ready; default 30000, 0 not at all. */
  expiresMs?: number | undefined;
}

/** Options checked, with defaults filled in. */
export interface ResolvedConsumerOptions {
  /** Sorted; empty for every subject. */
  filters: string[];
  deliverPolicy: DeliverPolicy;
  /** 0 when not given. */
  optStartSeq: number;
  optStartTime: bigint | null;
  ackPolicy: AckPolicy;
  ackWaitMs: number;
  /** -1 for no limit. */
  maxDeliver: number;
  backoffMs: number[];
  /** -1 for no limit. */
  maxAckPending: number;
}

/** The options a consumer keeps with its state (`ConsumerConfig.durable`): JSON. */
export interface DurableConfig {
  filters: string[];
  deliverPolicy: DeliverPolicy;
  optStartSeq: number;
  /** Decimal nanoseconds, or "" for none. */
  optStartTime: string;
  ackWaitMs: number;
  backoffMs: number[];
  maxAckPending: number;
  /** The stream sequence the consumer started at when it was created. */
  startSeq: number;
}

/** nats-server's JsAckWaitDefault. */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** nats-server's JsDefaultMaxAckPending. */
export const DEFAULT_MAX_ACK_PENDING = 1000;
/** nats.js's default pull expiry. */
export const DEFAULT_EXPIRES_MS = 30_000;

const DELIVER_POLICIES: readonly DeliverPolicy[] = [
  "all",
  "last",
  "new",
  "byStartSequence",
  "byStartTime",
  "lastPerSubject",
];
const ACK_POLICIES: readonly AckPolicy[] = ["explicit", "all", "none"];
const OPTION_KEYS = new Set([
  "filter",
  "filters",
  "deliverPolicy",
  "optStartSeq",
  "optStartTime",
  "ackPolicy",
  "ackWaitMs",
  "maxDeliver",
  "backoffMs",
  "maxAckPending",
]);

/** Checks `store.consumer`'s options and fills in the defaults; throws before anything changes. */
export function checkConsumerOptions(options: unknown, action: string): ResolvedConsumerOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `Cannot ${action}: options must be an object, got ${describeValue(options)}`,
    );
  }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !OPTION_KEYS.has(key)) {
      throw invalidArgument(`Cannot ${action}: unknown consumer option ${describeValue(key)}`);
    }
  }
  const o = options as Record<keyof ConsumerOptions, unknown>;
  const filters = checkFilters(o.filter, o.filters, action);
  const deliverPolicy = oneOf(o.deliverPolicy, DELIVER_POLICIES, "all", "deliverPolicy", action);
  const ackPolicy = oneOf(o.ackPolicy, ACK_POLICIES, "explicit", "ackPolicy", action);

  let optStartSeq = 0;
  if (deliverPolicy === "byStartSequence") {
    if (!Number.isSafeInteger(o.optStartSeq) || (o.optStartSeq as number) < 1) {
      throw invalidArgument(
        `Cannot ${action}: deliverPolicy "byStartSequence" needs optStartSeq, a safe integer ≥ 1, got ${describeValue(o.optStartSeq)}`,
      );
    }
    optStartSeq = o.optStartSeq as number;
  } else if (o.optStartSeq !== undefined) {
    throw invalidArgument(
      `Cannot ${action}: optStartSeq goes with deliverPolicy "byStartSequence", not "${deliverPolicy}"`,
    );
  }
  let optStartTime: bigint | null = null;
  if (deliverPolicy === "byStartTime") {
    if (o.optStartTime === undefined) {
      throw invalidArgument(
        `Cannot ${action}: deliverPolicy "byStartTime" needs optStartTime, bigint nanoseconds`,
      );
    }
    checkTimestamp(o.optStartTime, action);
    optStartTime = o.optStartTime;
  } else if (o.optStartTime !== undefined) {
    throw invalidArgument(
      `Cannot ${action}: optStartTime goes with deliverPolicy "byStartTime", not "${deliverPolicy}"`,
    );
  }

  const ackWaitMs = count(o.ackWaitMs, 1, DEFAULT_ACK_WAIT_MS, "ackWaitMs", action);
  let maxDeliver = count(o.maxDeliver, -1, -1, "maxDeliver", action);
  if (maxDeliver === 0) maxDeliver = -1;
  let maxAckPending = count(o.maxAckPending, -1, DEFAULT_MAX_ACK_PENDING, "maxAckPending", action);
  if (maxAckPending === 0) maxAckPending = DEFAULT_MAX_ACK_PENDING;

  const backoffMs = checkBackoff(o.backoffMs, action);
  // nats-server's NewJSConsumerMaxDeliverBackoffError: a backoff needs a bounded, longer maxDeliver.
  if (backoffMs.length > 0 && (maxDeliver < 0 || maxDeliver <= backoffMs.length)) {
    throw invalidArgument(
      `Cannot ${action}: backoffMs has ${backoffMs.length} steps, so maxDeliver must be above ${backoffMs.length} (got ${maxDeliver === -1 ? "no limit" : maxDeliver})`,
    );
  }
  return {
    filters,
    deliverPolicy,
    optStartSeq,
    optStartTime,
    ackPolicy,
    ackWaitMs,
    maxDeliver,
    backoffMs,
    maxAckPending,
  };
}

/** Checks `fetch` / `next` options; returns the expiry in ms. */
export function checkFetchOptions(options: unknown, action: string): number {
  if (options === undefined) return DEFAULT_EXPIRES_MS;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `Cannot ${action}: options must be an object, got ${describeValue(options)}`,
    );
  }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== "expiresMs") {
      throw invalidArgument(`Cannot ${action}: unknown option ${describeValue(key)}`);
    }
  }
  return count((options as FetchOptions).expiresMs, 0, DEFAULT_EXPIRES_MS, "expiresMs", action);
}

/** The record of `options` kept with the consumer's state. */
export function durableConfig(options: ResolvedConsumerOptions, startSeq: number): ConsumerConfig {
  const durable: DurableConfig = {
    filters: options.filters,
    deliverPolicy: options.deliverPolicy,
    optStartSeq: options.optStartSeq,
    optStartTime: options.optStartTime === null ? "" : options.optStartTime.toString(),
    ackWaitMs: options.ackWaitMs,
    backoffMs: options.backoffMs,
    maxAckPending: options.maxAckPending,
    startSeq,
  };
  return { ackPolicy: options.ackPolicy, maxDeliver: options.maxDeliver, durable };
}

/**
 * ErrConsumerConflict when `options` change what a consumer cannot change
 * once created: its filters, deliver policy and start, its ack policy
 * (nats-server refuses these too). `ackWaitMs`, `maxDeliver`, `backoffMs` and
 * `maxAckPending` may change. A saved config without a durable record (a
 * consumer store made directly) is checked on its ack policy only.
 */
export function checkReopen(
  name: string,
  saved: ConsumerConfig,
  options: ResolvedConsumerOptions,
  action: string,
): void {
  const conflict = (what: string, was: unknown, now: unknown) =>
    new JetStoreError(
      "ErrConsumerConflict",
      `Cannot ${action}: consumer ${describeValue(name)} has ${what} ${describeValue(was)} and cannot change it to ${describeValue(now)}; delete it first`,
    );
  if (saved.ackPolicy !== options.ackPolicy) {
    throw conflict("ackPolicy", saved.ackPolicy, options.ackPolicy);
  }
  const d = saved.durable;
  if (d === undefined) return;
  if (d.filters.join(" ") !== options.filters.join(" ")) {
    throw conflict("filters", `[${d.filters.join(", ")}]`, `[${options.filters.join(", ")}]`);
  }
  if (d.deliverPolicy !== options.deliverPolicy) {
    throw conflict("deliverPolicy", d.deliverPolicy, options.deliverPolicy);
  }
  if (d.optStartSeq !== options.optStartSeq) {
    throw conflict("optStartSeq", d.optStartSeq, options.optStartSeq);
  }
  const time = options.optStartTime === null ? "" : options.optStartTime.toString();
  if (d.optStartTime !== time) throw conflict("optStartTime", d.optStartTime, time);
}

/** Checks a durable record read back with a consumer's config (consumer-config.ts); returns a copy. */
export function checkDurableConfig(value: unknown, action: string): DurableConfig {
  const bad = (why: string) =>
    invalidArgument(`Cannot ${action}: the durable consumer record ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(`must be an object, got ${describeValue(value)}`);
  }
  const d = value as Record<keyof DurableConfig, unknown>;
  const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (!Array.isArray(d.filters) || d.filters.some((f) => typeof f !== "string")) {
    throw bad("has filters that are not an array of strings");
  }
  if (!DELIVER_POLICIES.includes(d.deliverPolicy as DeliverPolicy)) {
    throw bad(`has deliverPolicy ${describeValue(d.deliverPolicy)}`);
  }
  if (!isCount(d.optStartSeq, 0) || !isCount(d.ackWaitMs, 1) || !isCount(d.startSeq, 0)) {
    throw bad("has an optStartSeq, ackWaitMs or startSeq that is not a count");
  }
  if (typeof d.optStartTime !== "string" || !/^(|0|[1-9][0-9]{0,18})$/.test(d.optStartTime)) {
    throw bad(`has optStartTime ${describeValue(d.optStartTime)}`);
  }
  if (!Array.isArray(d.backoffMs) || d.backoffMs.some((v) => !isCount(v, 1))) {
    throw bad("has backoffMs that are not counts ≥ 1");
  }
  if (!isCount(d.maxAckPending, -1))
    throw bad(`has maxAckPending ${describeValue(d.maxAckPending)}`);
  return {
    filters: [...(d.filters as string[])],
    deliverPolicy: d.deliverPolicy as DeliverPolicy,
    optStartSeq: d.optStartSeq as number,
    optStartTime: d.optStartTime,
    ackWaitMs: d.ackWaitMs as number,
    backoffMs: [...(d.backoffMs as number[])],
    maxAckPending: d.maxAckPending as number,
    startSeq: d.startSeq as number,
  };
}

/**
 * The filters as a sorted list, empty for "every subject". Filters that
 * overlap are refused (nats-server 2.10's rule for filter_subjects): a
 * message would match twice, and the pending counts would count it twice.
 */
function checkFilters(filter: unknown, filters: unknown, action: string): string[] {
  if (filter !== undefined && filters !== undefined) {
    throw invalidArgument(`Cannot ${action}: give filter or filters, not both`);
  }
  if (filter !== undefined) {
    checkFilter(filter, action);
    return matchesAll(filter as string) ? [] : [filter as string];
  }
  if (filters === undefined) return [];
  if (!Array.isArray(filters) || filters.length === 0) {
    throw invalidArgument(
      `Cannot ${action}: filters must be a non-empty array of filters, got ${describeValue(filters)}`,
    );
  }
  for (const f of filters) checkFilter(f, action);
  const list = filters as string[];
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      if (filtersOverlap(list[i], list[j])) {
        throw invalidArgument(
          `Cannot ${action}: filters ${describeValue(list[i])} and ${describeValue(list[j])} overlap`,
        );
      }
    }
  }
  return list.length === 1 && matchesAll(list[0]) ? [] : [...list].sort();
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T,
  name: string,
  action: string,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be ${allowed.map((a) => `"${a}"`).join(", ")}, got ${describeValue(value)}`,
    );
  }
  return value as T;
}

function count(
  value: unknown,
  min: number,
  fallback: number,
  name: string,
  action: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be a safe integer ≥ ${min}, got ${describeValue(value)}`,
    );
  }
  return value as number;
}

function checkBackoff(value: unknown, action: string): number[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw invalidArgument(
      `Cannot ${action}: backoffMs must be an array of safe integers ≥ 1, got ${describeValue(value)}`,
    );
  }
  return [...value];
}
