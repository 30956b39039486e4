/**
 * One run of one workload of ../shared/bench/WORKLOADS.md on FileStore, in
 * this process: `node dist/bench/workloads.js <id> <dir>` prints one JSON line
 * `{ id, value, unit, extra?, rssMiB }` (peak resident set of this process).
 * `bench/run.ts` starts a fresh process per run, so reads and recovery start
 * cold (W3, W5) and every peak RSS belongs to one workload. W3, W4 and W5 read
 * the W1 store that the W1 run left in `<dir>/w1`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { FileStore, type StreamLimits } from "../src/index.ts";

const REGIONS = ["east", "west", "north", "south"];

/** Subject of message i (from 0), as WORKLOADS.md defines it. */
export function subjectOf(i: number): string {
  return `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;
}

const SUBJECTS = Array.from({ length: 1000 }, (_, i) => subjectOf(i));

/** Deterministic pseudo-random payloads (xorshift32), a pool reused round-robin. */
function payloads(size: number, count = 1024): Uint8Array[] {
  let x = 0x9e3779b9;
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const p = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      p[j] = x & 0xff;
    }
    out.push(p);
  }
  return out;
}

interface Result {
  value: number;
  unit: string;
  extra?: string;
}

const rate = (n: number, ms: number) => (n / ms) * 1000;

async function append(
  dir: string,
  count: number,
  size: number,
  limits: StreamLimits = {},
): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(size);
  const started = performance.now();
  const store = await FileStore.open({ dir, ...limits });
  for (let i = 0; i < count; i++) store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
  await store.flush();
  await store.close();
  const ms = performance.now() - started;
  return {
    value: rate(count, ms),
    unit: "msgs/s",
    extra: `${((count * size) / ms / 1000).toFixed(0)} MB/s payload`,
  };
}

async function randomRead(dir: string): Promise<Result> {
  const store = await FileStore.open({ dir });
  const { firstSeq, lastSeq } = store.fastState();
  const span = lastSeq - firstSeq + 1;
  let x = 12345;
  const reads = 1_000_000;
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes += store.loadMsg(firstSeq + ((x >>> 0) % span)).msg.length;
  }
  const ms = performance.now() - started;
  await store.close();
  if (bytes === 0) throw new Error("W3 read nothing");
  return { value: rate(reads, ms), unit: "msgs/s" };
}

async function scan(dir: string, filter: string): Promise<Result> {
  const store = await FileStore.open({ dir });
  const started = performance.now();
  let n = 0;
  let seq = 0;
  try {
    for (;;) {
      seq = store.loadNextMsg(filter, filter.includes("*"), seq).seq + 1;
      n++;
    }
  } catch (err) {
    if ((err as { code?: string }).code !== "ErrStoreEOF") throw err;
  }
  const ms = performance.now() - started;
  await store.close();
  return { value: rate(n, ms), unit: "msgs/s", extra: `${n} messages` };
}

/** µs per call of each W6 query, each repeated until ~200 ms have passed. */
async function queries(dir: string): Promise<Result> {
  const store = await FileStore.open({ dir });
  const time = (fn: () => unknown): number => {
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < 200) {
      fn();
      calls++;
    }
    return ((performance.now() - started) * 1000) / calls;
  };
  const literal = time(() => store.filteredState(1, "orders.east.7"));
  const pending = time(() => store.numPending(1, "orders.*.7", false));
  const subjects = time(() => store.subjectsState("orders.>"));
  await store.close();
  return {
    value: literal,
    unit: "µs filteredState",
    extra: `numPending ${pending.toFixed(1)} µs, subjectsState ${subjects.toFixed(1)} µs`,
  };
}

async function recovery(dir: string, dropCheckpoint: boolean): Promise<Result> {
  if (dropCheckpoint) rmSync(join(dir, "index.ckpt"), { force: true });
  const started = performance.now();
  const store = await FileStore.open({ dir });
  store.loadMsg(store.fastState().lastSeq);
  const ms = performance.now() - started;
  await store.close();
  return { value: ms, unit: "ms" };
}

async function remove(dir: string): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(128);
  const store = await FileStore.open({ dir });
  const count = 200_000;
  for (let i = 0; i < count; i++) store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
  await store.flush();
  let started = performance.now();
  for (let seq = 1; seq <= count; seq += 2) store.removeMsg(seq);
  await store.flush();
  const removeMs = performance.now() - started;
  started = performance.now();
  store.compact(count / 2);
  await store.flush();
  const compactMs = performance.now() - started;
  await store.close();
  return { value: removeMs, unit: "ms remove", extra: `${compactMs.toFixed(1)} ms compact` };
}

async function durable(dir: string, writers: number): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(128);
  const store = await FileStore.open({ dir });
  const total = 20_000;
  let next = 0;
  const started = performance.now();
  const writer = async () => {
    while (next < total) {
      const i = next++;
      store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
      await store.sync();
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const ms = performance.now() - started;
  await store.close();
  return { value: rate(total, ms), unit: "msgs/s" };
}

const WORKLOADS: Record<string, (root: string) => Promise<Result>> = {
  W1: (root) => append(join(root, "w1"), 1_000_000, 128),
  W1max: (root) => append(join(root, "w1max"), 1_000_000, 128, { maxMsgs: 100_000 }),
  W1subj: (root) => append(join(root, "w1subj"), 1_000_000, 128, { maxMsgsPerSubject: 10 }),
  W2: (root) => append(join(root, "w2"), 200_000, 1024),
  W3: (root) => randomRead(join(root, "w1")),
  W4a: (root) => scan(join(root, "w1"), ""),
  W4b: (root) => scan(join(root, "w1"), "orders.east.*"),
  W6: (root) => queries(join(root, "w1")),
  W5a: (root) => recovery(join(root, "w1"), false),
  W5b: (root) => recovery(join(root, "w1"), true),
  W7: (root) => remove(join(root, "w7")),
  W8a: (root) => durable(join(root, "w8"), 1),
  W8b: (root) => durable(join(root, "w8"), 64),
};

export const WORKLOAD_IDS = Object.keys(WORKLOADS);

if (process.argv[1]?.endsWith("workloads.js")) {
  const [id, root] = process.argv.slice(2);
  const run = WORKLOADS[id];
  if (run === undefined || root === undefined) {
    console.error(`usage: workloads.js <${WORKLOAD_IDS.join("|")}> <dir>`);
    process.exit(2);
  }
  const result = await run(root);
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ id, ...result, rssMiB }));
}
