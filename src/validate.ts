/**
 * Argument checks for every StreamStore entry point, shared by all engines so
 * that a bad argument gets the same typed error and message everywhere and
 * nothing is changed before the check passes. Each check names the operation
 * ("Cannot load message: …") and the offending value.
 *
 * Subjects follow nats-server's grammar (IsValidPublishSubject, and
 * IsValidSubject for filters): tokens separated by ".", none empty, no
 * whitespace or control characters. A published subject has no wildcard
 * token — a token that is exactly `*` or `>` — while `*` or `>` inside a
 * word (`a*b`, `>x`) is an ordinary character, as in nats. A filter may use
 * `*` as any token and `>` as its last token; "" is the filter that matches
 * everything. On top of nats we refuse lone UTF-16 surrogates (UTF-8 would
 * silently turn them into U+FFFD, so a stored subject would not read back
 * equal) and more than 65535 UTF-8 bytes (the record's length field).
 * Throwing plain TypeErrors was rejected: callers branch on `err.code`.
 */
import { systemNow } from "./clock.ts";
import { RECORD_LIMIT } from "./codec/validate.ts";
import { invalidArgument, JetStoreError } from "./errors.ts";
import { MAX_SEQ, MAX_SUBJECT_BYTES } from "./format.ts";
import type { DiscardPolicy, ExpiredMsg, RetentionPolicy, StoreOptions } from "./types.ts";

/** The largest timestamp a record holds (i64 nanoseconds). */
export const MAX_TIMESTAMP = (1n << 63n) - 1n;

/** Limits with every default filled in; 0 means unlimited. */
export interface ResolvedLimits {
  maxMsgs: number;
  maxBytes: number;
  maxAgeMs: number;
  maxMsgsPerSubject: number;
  maxMsgSize: number;
  discard: DiscardPolicy;
  discardNewPerSubject: boolean;
  allowMsgTtl: boolean;
  subjectDeleteMarkerTtl: number;
  firstSeq: number;
  retention: RetentionPolicy;
}

/** Store options after validation. */
export interface ResolvedStoreOptions {
  limits: ResolvedLimits;
  now: () => bigint;
  onExpire: ((expired: ExpiredMsg) => void) | null;
}

/** A short, readable rendering of any value for error messages. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}…` : value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      if (ArrayBuffer.isView(value))
        return `a ${value.constructor.name} of ${value.byteLength} bytes`;
      return `an object (${value.constructor?.name ?? "no prototype"})`;
    default:
      return Object.is(value, -0) ? "-0" : String(value);
  }
}

/** Throws ErrStoreClosed when the store is closed. */
export function checkOpen(closed: boolean, action: string): void {
  if (closed) throw new JetStoreError("ErrStoreClosed", `Cannot ${action}: the store is closed`);
}

/**
 * Checks a subject to store a message on; returns its UTF-8 length in bytes.
 * Throws ErrInvalidArgument for a non-string, ErrInvalidSubject otherwise.
 */
export function checkSubject(subject: unknown, action: string): number {
  if (typeof subject !== "string") {
    throw invalidArgument(
      `Cannot ${action}: subject must be a string, got ${describeValue(subject)}`,
    );
  }
  if (subject.length === 0) {
    throw new JetStoreError("ErrInvalidSubject", `Cannot ${action}: subject is empty`);
  }
  const bytes = utf8Length(subject);
  if (bytes < 0) throw badText("ErrInvalidSubject", action, "subject", subject, bytes);
  const problem = tokenProblem(subject, false);
  if (problem !== null) {
    throw new JetStoreError(
      "ErrInvalidSubject",
      `Cannot ${action}: subject ${describeValue(subject)} ${problem}`,
    );
  }
  return bytes;
}

/** The last filter checkFilter passed ("" is valid: no other value may start here). */
let lastGoodFilter = "";

/**
 * Checks a subject filter ("" and ">" mean all). Throws ErrInvalidArgument for
 * a non-string, ErrInvalidFilter for text no subject could match.
 */
export function checkFilter(filter: unknown, action: string): void {
  // A scan passes the same filter on every call: its check is a pure function of the text.
  if (filter === lastGoodFilter) return;
  if (typeof filter !== "string") {
    throw invalidArgument(
      `Cannot ${action}: filter must be a string, got ${describeValue(filter)}`,
    );
  }
  const bytes = utf8Length(filter);
  if (bytes < 0) throw badText("ErrInvalidFilter", action, "filter", filter, bytes);
  if (filter.length === 0) return;
  const problem = tokenProblem(filter, true);
  if (problem !== null) {
    throw new JetStoreError(
      "ErrInvalidFilter",
      `Cannot ${action}: filter ${describeValue(filter)} ${problem}`,
    );
  }
  lastGoodFilter = filter;
}

/**
 * Checks the filters of a multi-filter query: a non-empty array of filters
 * (ErrInvalidArgument otherwise, ErrInvalidFilter for a bad one).
 */
export function checkFilterList(filters: unknown, action: string): asserts filters is string[] {
  if (!Array.isArray(filters) || filters.length === 0) {
    throw invalidArgument(
      `Cannot ${action}: filters must be a non-empty array of strings, got ${describeValue(filters)}`,
    );
  }
  for (const filter of filters) checkFilter(filter, action);
}

/** Checks message headers: a Uint8Array (possibly empty) or null for none. */
export function checkHeaders(hdr: unknown, action: string): void {
  if (hdr !== null && !(hdr instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot ${action}: headers must be a Uint8Array or null, got ${describeValue(hdr)}`,
    );
  }
}

/** Checks a message payload: a Uint8Array (possibly empty). */
export function checkPayload(msg: unknown, action: string): void {
  if (!(msg instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot ${action}: payload must be a Uint8Array, got ${describeValue(msg)}`,
    );
  }
}

/** Checks that the encoded record of a message (`size` bytes) is within what the codec writes. */
export function checkRecordSize(size: number, action: string): void {
  if (size > RECORD_LIMIT) {
    throw new JetStoreError(
      "ErrMsgTooLarge",
      `Cannot ${action}: the record would take ${size} bytes, more than ${RECORD_LIMIT}`,
    );
  }
}

/** Checks a sequence number (or a count): a safe integer ≥ 0. */
export function checkSeq(seq: unknown, action: string, name = "sequence"): asserts seq is number {
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be a non-negative safe integer, got ${describeValue(seq)}`,
    );
  }
}

/** Checks that `count` more sequences after `last` stay safe integers (ErrOutOfRange). */
export function checkSeqRoom(last: number, count: number, action: string): void {
  if (count > MAX_SEQ - last) {
    throw new JetStoreError(
      "ErrOutOfRange",
      `Cannot ${action}: last sequence is ${last} and ${count} more would pass ${MAX_SEQ}`,
    );
  }
}

/** Checks a timestamp: a bigint of nanoseconds in [0, 2^63 - 1]. */
export function checkTimestamp(ts: unknown, action: string): asserts ts is bigint {
  if (typeof ts !== "bigint" || ts < 0n || ts > MAX_TIMESTAMP) {
    throw invalidArgument(
      `Cannot ${action}: timestamp must be a bigint of nanoseconds in [0, 2^63 - 1], got ${describeValue(ts)}`,
    );
  }
}

/** Largest per-message TTL: 2^32 - 1 seconds, about 136 years. */
export const MAX_TTL_SECONDS = 0xffffffff;

/**
 * Checks a per-message TTL in seconds and returns it (0 when undefined).
 * As in nats-server 2.11, 0 means no TTL of its own and -1 means "never
 * expires"; any TTL other than 0 needs the `allowMsgTtl` option, as a stream
 * without `AllowMsgTTL` rejects the Nats-TTL header.
 */
export function checkTtl(ttl: unknown, allowMsgTtl: boolean, action: string): number {
  if (ttl === undefined || ttl === 0) return 0;
  // The cap keeps every expiry, in ms since the epoch, a safe integer.
  if (!Number.isSafeInteger(ttl) || (ttl as number) < -1 || (ttl as number) > MAX_TTL_SECONDS) {
    throw invalidArgument(
      `Cannot ${action}: TTL must be a whole number of seconds up to ${MAX_TTL_SECONDS}, -1 for never or 0 for none, got ${describeValue(ttl)}`,
    );
  }
  if (!allowMsgTtl) {
    throw invalidArgument(`Cannot ${action}: TTL ${ttl} needs the allowMsgTtl option`);
  }
  return ttl as number;
}

/** Checks a boolean argument. */
export function checkBoolean(
  value: unknown,
  name: string,
  action: string,
): asserts value is boolean {
  if (typeof value !== "boolean") {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be a boolean, got ${describeValue(value)}`,
    );
  }
}

/** Calls the clock and checks what it returned. */
export function readClock(now: () => bigint, action: string): bigint {
  const ts = now();
  if (typeof ts !== "bigint" || ts < 0n || ts > MAX_TIMESTAMP) {
    throw invalidArgument(
      `Cannot ${action}: the now option returned ${describeValue(ts)}, not a bigint of nanoseconds in [0, 2^63 - 1]`,
    );
  }
  return ts;
}

const LIMIT_COUNTS = [
  "maxMsgs",
  "maxBytes",
  "maxAgeMs",
  "maxMsgsPerSubject",
  "maxMsgSize",
  "subjectDeleteMarkerTtl",
] as const;
const LIMIT_FLAGS = ["discardNewPerSubject", "allowMsgTtl"] as const;
const STORE_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...LIMIT_COUNTS,
  ...LIMIT_FLAGS,
  "discard",
  "firstSeq",
  "retention",
  "now",
  "onExpire",
]);
const RETENTION_POLICIES: readonly RetentionPolicy[] = ["limits", "interest", "workqueue"];

/**
 * Validates the limits given to `updateConfig`: the same rules as at open;
 * `firstSeq` belongs to a stream's creation and cannot change.
 */
export function checkLimitsUpdate(limits: unknown, current: ResolvedLimits): ResolvedLimits {
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    throw invalidArgument(
      `Cannot update config: expected an object of limits, got ${describeValue(limits)}`,
    );
  }
  if ("now" in limits) throw invalidArgument("Cannot update config: the clock is not a limit");
  if ("onExpire" in limits) {
    throw invalidArgument("Cannot update config: onExpire is not a limit (give it at open)");
  }
  const given = limits as { firstSeq?: unknown };
  if (given.firstSeq !== undefined && given.firstSeq !== current.firstSeq) {
    throw invalidArgument("Cannot update config: firstSeq is fixed when a stream is created");
  }
  const resolved = checkStoreOptions(limits).limits;
  // As nats-server: stored TTLs keep their meaning, so the option cannot be taken back.
  if (current.allowMsgTtl && !resolved.allowMsgTtl) {
    throw invalidArgument(
      "Cannot update config: allowMsgTtl cannot be turned off once on (give allowMsgTtl: true)",
    );
  }
  // As nats-server: consumers and stored messages were admitted under the policy.
  if (resolved.retention !== current.retention) {
    throw invalidArgument(
      `Cannot update config: retention is "${current.retention}" and cannot change (got ${describeValue(resolved.retention)})`,
    );
  }
  return { ...resolved, firstSeq: current.firstSeq };
}

/**
 * Validates the options every engine shares and fills in defaults; the
 * engine's own keys (a FileStore's `dir`, `fs`, …) are `engineKeys`, checked
 * by the engine. Any other key is refused: a misspelt limit (`maxMsg`) must
 * not leave a stream silently unlimited.
 */
export function checkStoreOptions(
  options: unknown,
  engineKeys: readonly string[] = [],
): ResolvedStoreOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `Invalid store options: expected an object, got ${describeValue(options)}`,
    );
  }
  const given = options as StoreOptions;
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined && !STORE_OPTION_KEYS.has(key) && !engineKeys.includes(key)) {
      throw invalidArgument(`Invalid store options: unknown option ${describeValue(key)}`);
    }
  }
  const counts = {} as Record<(typeof LIMIT_COUNTS)[number], number>;
  for (const name of LIMIT_COUNTS) {
    const value = given[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw invalidArgument(
        `Invalid store option ${name}: must be a non-negative safe integer, got ${describeValue(value)}`,
      );
    }
    counts[name] = value ?? 0;
  }
  const flags = {} as Record<(typeof LIMIT_FLAGS)[number], boolean>;
  for (const name of LIMIT_FLAGS) {
    const value = given[name];
    if (value !== undefined && typeof value !== "boolean") {
      throw invalidArgument(
        `Invalid store option ${name}: must be a boolean, got ${describeValue(value)}`,
      );
    }
    flags[name] = value ?? false;
  }
  // Only a missing option takes its default: null is a wrong value, not "unset".
  const discard = given.discard === undefined ? "old" : given.discard;
  if (discard !== "old" && discard !== "new") {
    throw invalidArgument(
      `Invalid store option discard: must be "old" or "new", got ${describeValue(discard)}`,
    );
  }
  const firstSeq = given.firstSeq === undefined ? 0 : given.firstSeq;
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) {
    throw invalidArgument(
      `Invalid store option firstSeq: must be a non-negative safe integer, got ${describeValue(firstSeq)}`,
    );
  }
  const retention = given.retention === undefined ? "limits" : given.retention;
  if (!RETENTION_POLICIES.includes(retention)) {
    throw invalidArgument(
      `Invalid store option retention: must be "limits", "interest" or "workqueue", got ${describeValue(retention)}`,
    );
  }
  const now = given.now === undefined ? systemNow : given.now;
  if (typeof now !== "function") {
    throw invalidArgument(
      `Invalid store option now: must be a function, got ${describeValue(now)}`,
    );
  }
  if (flags.discardNewPerSubject && (discard !== "new" || counts.maxMsgsPerSubject === 0)) {
    throw invalidArgument(
      'Invalid store options: discardNewPerSubject needs discard "new" and a maxMsgsPerSubject',
    );
  }
  // nats-server (pedantic) refuses markers whose own TTL could not be kept.
  if (counts.subjectDeleteMarkerTtl > 0 && !flags.allowMsgTtl) {
    throw invalidArgument(
      "Invalid store options: subjectDeleteMarkerTtl needs allowMsgTtl: true (a marker expires by its TTL)",
    );
  }
  const onExpire = given.onExpire === undefined ? null : given.onExpire;
  if (onExpire !== null && typeof onExpire !== "function") {
    throw invalidArgument(
      `Invalid store option onExpire: must be a function, got ${describeValue(onExpire)}`,
    );
  }
  return {
    limits: { ...counts, ...flags, discard, firstSeq: firstSeq === 0 ? 1 : firstSeq, retention },
    now,
    onExpire,
  };
}

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

/**
 * What is wrong with the tokens of a non-empty subject or filter, or null.
 * One pass over the UTF-16 units, no split: this runs on every store of a new
 * subject. With `wildcards`, `*` may be any token and `>` the last one.
 */
function tokenProblem(text: string, wildcards: boolean): string | null {
  const length = text.length;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    if (i < length && text.charCodeAt(i) !== DOT) continue;
    const size = i - start;
    if (size === 0) return 'has an empty token (a leading, trailing or doubled ".")';
    if (size === 1) {
      const c = text.charCodeAt(start);
      if (c === STAR || c === GT) {
        if (!wildcards) {
          return `has the wildcard token "${text[start]}": wildcards are for filters, not subjects`;
        }
        if (c === GT && i < length) return 'has ">" before its last token';
      }
    }
    start = i + 1;
  }
  return null;
}

const WHITESPACE_OR_CONTROL = -1;
const LONE_SURROGATE = -2;
const TOO_LONG = -3;

/**
 * UTF-8 length of `text` in one pass, or a negative reason it cannot be a
 * subject: whitespace or control characters, a lone surrogate, too long.
 */
function utf8Length(text: string): number {
  const length = text.length;
  if (length > MAX_SUBJECT_BYTES) return TOO_LONG; // every UTF-16 unit takes at least one byte
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c <= 0x20 || c === 0x7f) return WHITESPACE_OR_CONTROL;
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return LONE_SURROGATE;
      bytes += 4;
      i++;
    } else {
      bytes += 3;
    }
  }
  return bytes > MAX_SUBJECT_BYTES ? TOO_LONG : bytes;
}

function badText(
  code: "ErrInvalidSubject" | "ErrInvalidFilter",
  action: string,
  name: string,
  text: string,
  reason: number,
): JetStoreError {
  const why =
    reason === WHITESPACE_OR_CONTROL
      ? "contains whitespace or a control character"
      : reason === LONE_SURROGATE
        ? "contains a lone UTF-16 surrogate"
        : `is longer than ${MAX_SUBJECT_BYTES} UTF-8 bytes`;
  return new JetStoreError(code, `Cannot ${action}: ${name} ${describeValue(text)} ${why}`);
}
