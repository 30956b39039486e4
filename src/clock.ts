/**
 * The default source of message timestamps: nanoseconds since the Unix epoch
 * as one bigint per call. It reads the monotonic high-resolution clock offset
 * by the process's time origin, so timestamps never run backwards within a
 * process even when the wall clock is adjusted. `Date.now()` was rejected: it
 * has millisecond resolution and follows wall-clock jumps. The double in
 * milliseconds loses a few hundred nanoseconds of precision at today's epoch,
 * which is below what the underlying timers resolve anyway.
 */

/**
 * The process's time origin in milliseconds, read once: it never changes, and
 * its getter cost 20–50 ns per message on the append path.
 * @internal
 */
export const TIME_ORIGIN_MS = performance.timeOrigin;

/** Current time in nanoseconds since the Unix epoch. */
export function systemNow(): bigint {
  return BigInt(Math.round((TIME_ORIGIN_MS + performance.now()) * 1e6));
}
