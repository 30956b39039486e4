/**
 * W6m: the multi-filter queries of issue 15 with 10 filters on the W1 store
 * (1,000,000 messages over 1,000 subjects, round-robin, left in `<dir>/w1`
 * by the W1 run), per call in µs. Beside each, the way a caller would get
 * the same answer from the single-filter queries (10 calls, one per filter),
 * so the figures compare within one run.
 *
 * Two sets of 10 filters: "narrow" (6 literal subjects, 4 `*` filters: 22
 * subjects) and "broad" (the same with `orders.west.>` for one, 270
 * subjects, a quarter of the messages). Starts are in the middle of the
 * stream (every subject has messages on both sides, the costly case) or at
 * its first sequence (per-subject totals answer alone).
 */
import { FileStore } from "../src/index.ts";

const NARROW = [
  "orders.east.1",
  "orders.west.17",
  "orders.north.42",
  "orders.south.99",
  "orders.east.123",
  "orders.west.249",
  "orders.*.7",
  "orders.*.200",
  "orders.*.77",
  "orders.*.150",
];
const BROAD = [...NARROW.slice(0, 9), "orders.west.>"];

/**
 * Mean µs per call of `fn`, called for at least `ms` milliseconds after one
 * call that is not timed (the first builds the blocks' subject-id columns).
 */
function perCall(fn: (i: number) => unknown, ms = 300): number {
  fn(0);
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < ms) fn(calls++);
  return ((performance.now() - started) * 1000) / calls;
}

/** A pseudo-random start in the middle 90 % of the stream, the same list every run. */
function starts(last: number): number[] {
  let x = 0x2545f491;
  return Array.from({ length: 4096 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.floor(last * 0.05) + ((x >>> 0) % Math.floor(last * 0.9));
  });
}

export async function multiQueries(dir: string): Promise<{
  value: number;
  unit: string;
  extra: string;
  fields: Record<string, number>;
}> {
  const store = await FileStore.open({ dir });
  const last = store.fastState().lastSeq;
  const mid = Math.floor(last / 2);
  const at = starts(last);
  const fields: Record<string, number> = {};
  for (const [name, filters] of [
    ["narrow", NARROW],
    ["broad", BROAD],
  ] as const) {
    const f = [...filters];
    fields[`${name}.pendingFirst`] = perCall(() => store.numPendingMulti(1, f, false));
    fields[`${name}.pendingMid`] = perCall(() => store.numPendingMulti(mid, f, false));
    fields[`${name}.pendingMidLast`] = perCall(() => store.numPendingMulti(mid, f, true));
    // A cost, not an answer: the sum counts twice what two filters match.
    fields[`${name}.singlesPendingMid`] = perCall(() => {
      let total = 0;
      for (const one of f) total += store.numPending(mid, one, false).total;
      return total;
    });
    fields[`${name}.next`] = perCall((i) => store.loadNextMsgMulti(f, at[i & 4095]));
    fields[`${name}.singlesNext`] = perCall((i) => {
      let best = Number.POSITIVE_INFINITY;
      for (const one of f) best = Math.min(best, store.loadNextMsg(one, true, at[i & 4095]).seq);
      return best;
    });
    fields[`${name}.prev`] = perCall((i) => store.loadPrevMsgMulti(f, at[i & 4095]));
    fields[`${name}.lastMsgs`] = perCall(() => store.multiLastMsgs(f, 0, 0, 0));
  }
  await store.close();
  const round = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k} ${round(v)}`)
    .join(", ");
  return { value: fields["narrow.next"], unit: "µs loadNextMsgMulti (10 filters)", extra, fields };
}
