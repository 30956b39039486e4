/**
 * Message timestamps for the append path: the bigint the API returns, which
 * the WASM core takes as it is (an i64). With the default clock it is read
 * as a bigint from the monotonic clock (clock.ts): reading a double, then
 * building the bigint and splitting it into u32 halves for the core cost
 * about twice as much per append. An injected `now` is called and checked.
 */
import { fastNow, systemNow } from "./clock.ts";
import { readClock } from "./validate.ts";

export class Timestamps {
  private readonly now: () => bigint;
  private readonly system: boolean;

  constructor(now: () => bigint) {
    this.now = now;
    this.system = now === systemNow;
  }

  /** The current time in nanoseconds since the Unix epoch. */
  read(action: string): bigint {
    return this.system ? fastNow() : readClock(this.now, action);
  }
}
