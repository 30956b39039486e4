/**
 * The default source of message timestamps: nanoseconds since the Unix epoch
 * as one bigint per call. It reads the monotonic high-resolution clock as a
 * bigint (`process.hrtime.bigint()`, which Node, Bun and Deno all have; else
 * `performance.now()`) plus the epoch offset taken when this module loaded,
 * so timestamps never run backwards within a process even when the wall
 * clock is adjusted. `Date.now()` was rejected: it has millisecond resolution
 * and follows wall-clock jumps. Reading `performance.now()` as a double and
 * making a bigint of it cost about 110 ns per append here against 60 ns.
 */

type HrtimeBigint = () => bigint;

const hrtime: HrtimeBigint | undefined = (
  globalThis as { process?: { hrtime?: { bigint?: HrtimeBigint } } }
).process?.hrtime?.bigint;

function fromPerformance(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** What to add to the monotonic reading to get nanoseconds since the epoch. */
const EPOCH_OFFSET = hrtime === undefined ? 0n : fromPerformance() - hrtime();

/**
 * Current time in nanoseconds since the Unix epoch (the append path's clock).
 * @internal
 */
export const fastNow: () => bigint =
  hrtime === undefined ? fromPerformance : () => hrtime() + EPOCH_OFFSET;

/** Current time in nanoseconds since the Unix epoch. */
export function systemNow(): bigint {
  return fastNow();
}
