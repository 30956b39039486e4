/**
 * Shared pieces of the durable consumer suites (consumers*.ts): a stream on
 * a test clock in milliseconds, storing a few messages, what a fetch
 * returned as sequences, and the consumer's and stream's state before and
 * after a call that must change nothing.
 */
import type { Consumer, ConsumerMsg } from "../../src/consumers/consumer.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { StoreFactory, StoreFixture } from "./store-factories.ts";
import { enc, type TestClock, testClock, withStore } from "./store-helpers.ts";

export const MS = 1_000_000n;
/** 2027-01-15, in nanoseconds: far from 0 so that deadlines are realistic. */
export const T0 = 1_800_000_000_000n * MS;

/** A clock at T0. */
export function msClock(): TestClock {
  return testClock(T0);
}

/** Moves `clock` forward by `ms` milliseconds. */
export function advance(clock: TestClock, ms: number): void {
  clock.t += BigInt(ms) * MS;
}

/** Runs `body` on a fresh stream with the test clock (and `options`), cleaning up. */
export async function withStream(
  factory: StoreFactory,
  options: StoreOptions,
  body: (store: StreamStore, clock: TestClock, fixture: StoreFixture) => unknown,
): Promise<void> {
  const clock = msClock();
  await withStore(factory, { ...options, now: clock.now }, (store, fixture) =>
    body(store, clock, fixture),
  );
}

/** Stores one message per subject, payload "<subject>#<seq>"; returns the sequences. */
export function put(store: StreamStore, ...subjects: string[]): number[] {
  return subjects.map((subject) => {
    const seq = store.fastState().lastSeq + 1;
    return store.storeMsg(subject, null, enc(`${subject}#${seq}`)).seq;
  });
}

/** Stores `count` messages on `subject`. */
export function putMany(store: StreamStore, subject: string, count: number): number[] {
  return put(store, ...Array.from({ length: count }, () => subject));
}

export function seqs(msgs: readonly ConsumerMsg[]): number[] {
  return msgs.map((m) => m.seq);
}

/** [seq, deliveryCount] of each message. */
export function deliveries(msgs: readonly ConsumerMsg[]): Array<[number, number]> {
  return msgs.map((m) => [m.seq, m.deliveryCount]);
}

/** Everything ready now (no waiting). */
export function ready(consumer: Consumer, max = 1000): Promise<ConsumerMsg[]> {
  return consumer.fetch(max, { expiresMs: 0 });
}

/** The consumer's info and the stream's state, to compare before and after a refused call. */
export function observe(consumer: Consumer, store: StreamStore): unknown {
  return { info: consumer.info(), stream: store.state() };
}

/** Resolves after `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
