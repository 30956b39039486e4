/**
 * Message timestamps for the append path, as the bigint the API returns and
 * as the two u32 halves the WASM core takes. With the default clock the time
 * is read as a double and split with arithmetic: measured here, splitting a
 * bigint (`ts >> 32n`, `ts & 0xffffffffn`) cost more than reading the clock.
 * An injected `now` is called, checked and split the slow way.
 */
import { systemNow, TIME_ORIGIN_MS } from "./clock.ts";
import { readClock } from "./validate.ts";

const TWO_32 = 0x1_0000_0000;

export class Timestamps {
  /** High and low halves of the last timestamp `read` returned. */
  hi = 0;
  lo = 0;
  private readonly now: () => bigint;
  private readonly system: boolean;

  constructor(now: () => bigint) {
    this.now = now;
    this.system = now === systemNow;
  }

  /** The current time in nanoseconds; sets `hi` and `lo`. */
  read(action: string): bigint {
    if (this.system) {
      // The same value systemNow gives: a double of nanoseconds is exact to its 256 ns grain today.
      const ns = Math.round((TIME_ORIGIN_MS + performance.now()) * 1e6);
      const hi = Math.floor(ns / TWO_32);
      this.hi = hi;
      this.lo = ns - hi * TWO_32;
      return BigInt(ns);
    }
    const ts = readClock(this.now, action);
    this.split(ts);
    return ts;
  }

  /** Sets `hi` and `lo` from a caller's timestamp. */
  split(ts: bigint): void {
    this.hi = Number(ts >> 32n);
    this.lo = Number(ts & 0xffffffffn);
  }
}
