/** Numeric and time arguments of the command line, checked as usage errors. */
import { JetStoreError } from "../errors.ts";

/** A whole number from `min` to 2^53 − 1 given as `--name`; ErrInvalidArgument otherwise. */
export function wholeNumber(text: string | undefined, name: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const digits = /^\d+$/.test(text);
  const n = digits ? Number(text) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  // Past 2^53 − 1 a number is no longer exact, so the limit is that, not the store's.
  const range = `from ${min} to ${Number.MAX_SAFE_INTEGER}`;
  const why =
    digits && n >= min ? `is too large: it must be ${range}` : `must be a whole number ${range}`;
  throw new JetStoreError("ErrInvalidArgument", `${name} ${why}, got "${text}"`);
}

const MAX_NS = (1n << 63n) - 1n;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time as nanoseconds since the epoch: an ISO 8601 date or time
 * ("2026-12-02", "2026-12-02T10:00:00Z") or a duration ago ("90s", "15m", "2h", "7d").
 */
export function parseTime(text: string, now = Date.now()): bigint {
  const ago = /^(\d+)([smhd])$/.exec(text);
  if (ago !== null) {
    const count = BigInt(wholeNumber(ago[1], "--since's count")!);
    // A duration reaching before 1970 means every message, as an ISO time before it does.
    const ms = BigInt(now) - count * BigInt(UNITS[ago[2]!]!);
    return ms < 0n ? 0n : ms * 1_000_000n;
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new JetStoreError(
      "ErrInvalidArgument",
      `--since takes an ISO 8601 time or a duration ago such as 15m, 2h, 7d; got "${text}"`,
    );
  }
  // Past 2262 nanoseconds overflow the store's 63 bits; every message is before that.
  const ns = BigInt(ms) * 1_000_000n;
  return ns > MAX_NS ? MAX_NS : ns < 0n ? 0n : ns;
}
