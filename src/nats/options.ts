/**
 * The options of `replicate` and `mirror`, their checks and defaults. A bad
 * option is ErrInvalidArgument before anything is opened or sent.
 */
import { invalidArgument } from "../errors.ts";
import type { StreamStore } from "../types.ts";
import { checkFilter } from "../validate.ts";

/** Options of `replicate`. */
export interface ReplicateOptions {
  /** The JetStream stream to write into; created (file storage) when missing. */
  stream: string;
  /**
   * The stream's subjects when it is created. Default: `[filter]`; without a
   * filter, `<token>` and `<token>.>` for every first token of the local
   * store's subjects when the stream is created (a stream on `>` would
   * capture the client's own reply subjects).
   */
  subjects?: string[];
  /** Replicas of the stream when it is created (default 1). */
  replicas?: number;
  /** Only local messages matching this filter are replicated (default: all). */
  filter?: string;
  /** The first local sequence to replicate on the first run (default 1); later runs resume. */
  fromSeq?: number;
  /** Publishes awaiting the server's ack at most (default 256). */
  window?: number;
  /**
   * The name of the local consumer store that keeps the replication's
   * progress, and the prefix of its `Nats-Msg-Id` values (default
   * `nats-replicate-<stream>`).
   */
  name?: string;
  /** How long a publish waits for its ack before the window is retried (default 5000 ms). */
  ackTimeoutMs?: number;
  /** The longest wait between retries after a failure (default 5000 ms; the first is 100 ms). */
  maxRetryDelayMs?: number;
}

/** Options of `mirror`. */
export interface MirrorOptions {
  /** Only source messages matching this filter are stored; the others' sequences become skips. */
  filter?: string;
  /** The first source sequence to mirror when the local store is empty (default: the source's first). */
  fromSeq?: number;
  /** The longest wait between retries after a failure (default 5000 ms; the first is 100 ms). */
  maxRetryDelayMs?: number;
}

export interface ReplicateSettings {
  stream: string;
  /** null: derived from the local store's subjects when the stream is created. */
  subjects: string[] | null;
  replicas: number;
  filter: string;
  fromSeq: number;
  window: number;
  name: string;
  ackTimeoutMs: number;
  maxRetryDelayMs: number;
}

export interface MirrorSettings {
  filter: string;
  fromSeq: number | null;
  maxRetryDelayMs: number;
}

const REPLICATE_KEYS = new Set([
  "stream",
  "subjects",
  "replicas",
  "filter",
  "fromSeq",
  "window",
  "name",
  "ackTimeoutMs",
  "maxRetryDelayMs",
]);
const MIRROR_KEYS = new Set(["filter", "fromSeq", "maxRetryDelayMs"]);

export function replicateSettings(options: unknown): ReplicateSettings {
  const o = checkObject(options, REPLICATE_KEYS, "replicate");
  const stream = checkStreamName(o.stream, "stream");
  const filter = optionalFilter(o.filter);
  let subjects: string[] | null = filter === "" ? null : [filter];
  if (o.subjects !== undefined) {
    if (!Array.isArray(o.subjects) || o.subjects.length === 0) {
      throw invalidArgument("subjects must be a non-empty array of subjects or filters");
    }
    for (const s of o.subjects) {
      if (typeof s !== "string" || s === "")
        throw invalidArgument("subjects must be non-empty strings");
      checkFilter(s, "replicate");
    }
    subjects = [...o.subjects];
  }
  const name = o.name === undefined ? `nats-replicate-${stream}` : checkStreamName(o.name, "name");
  return {
    stream,
    subjects,
    replicas: intAtLeast(o.replicas, "replicas", 1, 1),
    filter,
    fromSeq: intAtLeast(o.fromSeq, "fromSeq", 1, 1),
    window: intAtLeast(o.window, "window", 1, 256),
    name,
    ackTimeoutMs: intAtLeast(o.ackTimeoutMs, "ackTimeoutMs", 1, 5000),
    maxRetryDelayMs: intAtLeast(o.maxRetryDelayMs, "maxRetryDelayMs", 1, 5000),
  };
}

export function mirrorSettings(options: unknown): MirrorSettings {
  const o = checkObject(options ?? {}, MIRROR_KEYS, "mirror");
  return {
    filter: optionalFilter(o.filter),
    fromSeq: o.fromSeq === undefined ? null : intAtLeast(o.fromSeq, "fromSeq", 1, 1),
    maxRetryDelayMs: intAtLeast(o.maxRetryDelayMs, "maxRetryDelayMs", 1, 5000),
  };
}

/** A stream (or replication) name as nats-server takes it: no whitespace, `.`, `*`, `>`, `/`, `\`. */
export function checkStreamName(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0 || /[\s.*>/\\\p{Cc}]/u.test(value)) {
    throw invalidArgument(
      `${what} must be a non-empty string without whitespace, ".", "*", ">", "/" or "\\"`,
    );
  }
  return value;
}

/** What `replicate` and `mirror` need of a connection; anything else is refused up front. */
export function checkConnection(nc: unknown): void {
  const c = nc as { request?: unknown; publish?: unknown; subscribe?: unknown } | null;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.request !== "function" ||
    typeof c.publish !== "function" ||
    typeof c.subscribe !== "function"
  ) {
    throw invalidArgument("nc must be a NatsConnection (connect() from @nats-io/transport-node)");
  }
  if (isClosed(nc)) throw invalidArgument("nc is closed: a closed NatsConnection never reconnects");
}

/**
 * True once the client closed the connection (by `close()`, or having used up
 * its reconnect attempts): it never comes back, so a retry would wait forever.
 */
export function isClosed(nc: unknown): boolean {
  const c = nc as { isClosed?: () => boolean } | null;
  return typeof c?.isClosed === "function" && c.isClosed() === true;
}

/** The store must be open and a StreamStore. */
export function checkStore(store: unknown): StreamStore {
  const s = store as Partial<StreamStore> | null;
  if (
    typeof s !== "object" ||
    s === null ||
    typeof s.loadNextMsg !== "function" ||
    typeof s.storeRawMsg !== "function" ||
    typeof s.consumerStore !== "function"
  ) {
    throw invalidArgument("store must be a FileStore or MemStore");
  }
  s.fastState?.(); // ErrStoreClosed on a closed store
  return s as StreamStore;
}

function checkObject(options: unknown, keys: Set<string>, what: string): Record<string, unknown> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(`${what} options must be an object`);
  }
  for (const k of Object.keys(options)) {
    if (!keys.has(k)) throw invalidArgument(`unknown ${what} option: ${k}`);
  }
  return options as Record<string, unknown>;
}

function optionalFilter(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "string") throw invalidArgument("filter must be a string");
  if (value === "" || value === ">") return "";
  checkFilter(value, "filter");
  return value;
}

function intAtLeast(value: unknown, what: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw invalidArgument(`${what} must be a safe integer ≥ ${min}`);
  }
  return value;
}
