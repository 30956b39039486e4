/**
 * One run of one workload of ../shared/bench/WORKLOADS.md on FileStore, in
 * this process: `node dist/bench/workloads.js <id> <dir>` prints one JSON line
 * `{ id, value, unit, extra?, rssMiB }` (peak resident set of this process).
 * `bench/run.ts` starts a fresh process per run, so reads and recovery start
 * cold (W3, W5) and every peak RSS belongs to one workload. W3, W4 and W5 read
 * the W1 store that the W1 run left in `<dir>/w1`.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { cryptoChoice } from "../runtimes/aead.ts";
import { currentRuntime } from "../runtimes/aead-choice.ts";
import { FileStore, type FileStoreOptions, type StreamLimits } from "../src/index.ts";
import { consume, savePending } from "./consume.ts";
import { payloads, subjectOf } from "./data.ts";
import { manySubjects, manySubjectsAll, manySubjectsOpen } from "./many-subjects.ts";
import { multiQueries } from "./multi-queries.ts";
import { snapshotRestore } from "./snapshot.ts";

const SUBJECTS = Array.from({ length: 1000 }, (_, i) => subjectOf(i));

interface Result {
  value: number;
  unit: string;
  extra?: string;
  /** Figures `bench/run.ts` compares between workloads of one round (W9, W10). */
  fields?: Record<string, number>;
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

/**
 * W3. `budgetMs` (W9's sealed stores, where a read can cost 100× a plain
 * one) stops early, checked every 1024 reads; the rate is of the reads done.
 */
async function randomRead(dir: string, atRest: AtRest = {}, budgetMs = Infinity): Promise<Result> {
  const store = await FileStore.open({ dir, ...atRest });
  const { firstSeq, lastSeq } = store.fastState();
  const span = lastSeq - firstSeq + 1;
  let x = 12345;
  let reads = 1_000_000;
  let bytes = 0;
  // (reads done, ms) every 1024 reads: the rate over the second half of the time, once every block is indexed.
  const marks: number[] = [0, 0];
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes += store.loadMsg(firstSeq + ((x >>> 0) % span)).msg.length;
    if ((i & 1023) === 1023) {
      const ms = performance.now() - started;
      marks.push(i + 1, ms);
      if (ms > budgetMs) reads = i + 1;
    }
  }
  const ms = performance.now() - started;
  let half = 0;
  while (half + 2 < marks.length && marks[half + 1] < ms / 2) half += 2;
  const steady = rate(reads - marks[half], ms - marks[half + 1]);
  await store.close();
  if (bytes === 0) throw new Error("W3 read nothing");
  return {
    value: rate(reads, ms),
    unit: "msgs/s",
    extra: `${reads} reads, ${(steady / 1000).toFixed(1)} k msgs/s over the second half of the time`,
    fields: { steady },
  };
}

/** W4. `budgetMs` stops early as randomRead's does. */
async function scan(
  dir: string,
  filter: string,
  atRest: AtRest = {},
  budgetMs = Infinity,
): Promise<Result> {
  const store = await FileStore.open({ dir, ...atRest });
  const started = performance.now();
  let n = 0;
  let seq = 0;
  try {
    for (;;) {
      seq = store.loadNextMsg(filter, filter.includes("*"), seq).seq + 1;
      n++;
      if ((n & 1023) === 0 && performance.now() - started > budgetMs) break;
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

// ---------------------------------------------------------------------------
// W9 (sealed at rest) and W10 (compressible payloads): each variant appends
// 1,000,000 messages as W1 does (synchronous storeMsg loop, then flush), then
// waits with the store open until the block packer has finished, closes, and
// reports bytes on disk; W3 and W4a then read each store in a fresh process.
// Every family has a plain member run the same way, the baseline of its ratios.

type AtRest = Pick<FileStoreOptions, "cipher" | "compression" | "key">;

/** A fixed key: benchmarks only. */
const KEY = new Uint8Array(32).map((_, i) => i * 7 + 3);

/** The W9 and W10 variants: options at write, and what a reader passes (the key alone). */
const VARIANTS: Record<string, { write: AtRest; read: AtRest }> = {
  plain: { write: {}, read: {} },
  snappy: { write: { compression: "snappy" }, read: {} },
  chacha: { write: { cipher: "chacha20-poly1305", key: KEY }, read: { key: KEY } },
  aes: { write: { cipher: "aes-256-gcm", key: KEY }, read: { key: KEY } },
  "chacha+snappy": {
    write: { cipher: "chacha20-poly1305", compression: "snappy", key: KEY },
    read: { key: KEY },
  },
  "aes+snappy": {
    write: { cipher: "aes-256-gcm", compression: "snappy", key: KEY },
    read: { key: KEY },
  },
};

/** W9 letters of WORKLOADS.md: (a) compression, (b) ChaCha, (c) AES, (d) each cipher with compression. */
export const W9_VARIANTS: Record<string, string> = {
  W9p: "plain",
  W9a: "snappy",
  W9b: "chacha",
  W9c: "aes",
  W9dc: "chacha+snappy",
  W9da: "aes+snappy",
};
export const W10_VARIANTS: Record<string, string> = {
  W10p: "plain",
  W10s: "snappy",
  W10cs: "chacha+snappy",
};
export const LATENCY_VARIANTS: Record<string, string> = {
  W9Lp: "plain",
  W9Ls: "snappy",
  W9Lcs: "chacha+snappy",
};

const ITEMS = [
  "widget",
  "gadget",
  "sprocket",
  "flange",
  "gear",
  "bolt",
  "nut",
  "washer",
  "spring",
  "bearing",
  "valve",
  "hinge",
  "bracket",
  "pulley",
  "gasket",
  "rivet",
];
const WORDS = [
  "please",
  "deliver",
  "before",
  "noon",
  "after",
  "leave",
  "at",
  "the",
  "back",
  "front",
  "door",
  "gate",
  "call",
  "on",
  "arrival",
  "fragile",
  "handle",
  "with",
  "care",
  "gift",
  "wrap",
  "no",
  "invoice",
  "in",
  "box",
  "second",
  "floor",
  "reception",
  "ring",
  "bell",
  "weekend",
  "only",
  "urgent",
  "standard",
  "express",
  "shipping",
  "customer",
  "requested",
  "split",
  "order",
  "if",
  "needed",
  "replace",
  "damaged",
  "items",
  "contact",
  "sales",
  "office",
  "monday",
  "friday",
  "morning",
  "evening",
  "signature",
  "required",
  "not",
  "pallet",
  "forklift",
  "dock",
  "loading",
  "bay",
  "north",
  "entrance",
  "side",
  "street",
];

/**
 * W10's payloads: JSON orders of ~200 B, `{"id":i,"customer":"customer-<i%500>",
 * "item":…,"qty":…,"price":…,"note":…}`; item, qty, price and the note's words
 * come from a seeded xorshift, so every run writes the same bytes. All of them
 * in one buffer (offsets in `ends`), made before the clock starts.
 */
function jsonPayloads(count: number): { bytes: Uint8Array; ends: Uint32Array } {
  let x = 0x2545f491;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const encoder = new TextEncoder();
  let bytes = new Uint8Array(count * 240);
  const ends = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const noteLength = 90 + (next() % 40);
    let note = WORDS[next() % WORDS.length];
    while (note.length < noteLength) note += ` ${WORDS[next() % WORDS.length]}`;
    const price = (1 + (next() % 99_999)) / 100;
    const json = JSON.stringify({
      id: i,
      customer: `customer-${i % 500}`,
      item: ITEMS[next() % ITEMS.length],
      qty: 1 + (next() % 20),
      price: Number(price.toFixed(2)),
      note,
    });
    if (at + json.length * 3 > bytes.length) {
      const grown = new Uint8Array(bytes.length * 2);
      grown.set(bytes);
      bytes = grown;
    }
    at += encoder.encodeInto(json, bytes.subarray(at)).written;
    ends[i] = at;
  }
  return { bytes: bytes.subarray(0, at), ends };
}

/** Apparent sizes of every file under `dir`, and of the block files (`msgs/*.blk`) alone. */
function diskBytes(dir: string): { total: number; blocks: number; temps: number } {
  let total = 0;
  let blocks = 0;
  let temps = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) {
        walk(path);
        continue;
      }
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        continue; // renamed or removed between readdir and stat
      }
      total += size;
      if (e.name.endsWith(".blk")) blocks += size;
      if (e.name.endsWith(".tmp")) temps++;
    }
  };
  walk(dir);
  return { total, blocks, temps };
}

const SETTLE_POLL_MS = 50;
const SETTLE_QUIET_MS = 1000;
const SETTLE_TIMEOUT_MS = 120_000;

/**
 * Waits, the store open, until the packer is done: no `*.blk.tmp` and the
 * total of `msgs/*.blk` unchanged for SETTLE_QUIET_MS, polled every 50 ms.
 * Returns when the last change was seen (ms on the performance clock).
 */
async function settle(dir: string): Promise<{ lastChange: number; timedOut: boolean }> {
  const began = performance.now();
  let lastChange = began;
  let last = "";
  for (;;) {
    const { blocks, temps } = diskBytes(join(dir, "msgs"));
    const now = performance.now();
    const sig = `${blocks}/${temps}`;
    if (sig !== last) {
      if (last !== "") lastChange = now;
      last = sig;
    }
    if (temps === 0 && now - lastChange >= SETTLE_QUIET_MS) return { lastChange, timedOut: false };
    if (now - began > SETTLE_TIMEOUT_MS) return { lastChange, timedOut: true };
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/**
 * W1 (or W10 with JSON payloads) on a store with `variant`'s options: msgs/s
 * of open → storeMsg × count → flush, plus the close that follows packing;
 * `sustained` also counts the wait until packing was seen to finish.
 */
async function atRestAppend(dir: string, variant: string, json: boolean): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const count = 1_000_000;
  const pool = json ? null : payloads(128);
  const data = json ? jsonPayloads(count) : null;
  let payloadBytes = 0;
  const started = performance.now();
  const store = await FileStore.open({ dir, ...VARIANTS[variant].write });
  if (data !== null) {
    const { bytes, ends } = data;
    let from = 0;
    for (let i = 0; i < count; i++) {
      store.storeMsg(SUBJECTS[i % 1000], null, bytes.subarray(from, ends[i]));
      from = ends[i];
    }
    payloadBytes = bytes.length;
  } else if (pool !== null) {
    for (let i = 0; i < count; i++) store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
    payloadBytes = count * 128;
  }
  await store.flush();
  const flushed = performance.now();
  const { lastChange, timedOut } = await settle(dir);
  const closing = performance.now();
  await store.close();
  const closeMs = performance.now() - closing;
  const writeMs = flushed - started + closeMs;
  const packedMs = Math.max(lastChange, flushed) - started + closeMs;
  const disk = diskBytes(dir);
  return {
    value: rate(count, writeMs),
    unit: "msgs/s",
    extra:
      `${(disk.total / 2 ** 20).toFixed(1)} MiB on disk, payload ${(payloadBytes / 2 ** 20).toFixed(1)} MiB, ` +
      `${(rate(count, packedMs) / 1e6).toFixed(2)} M msgs/s to packed` +
      (timedOut ? " (packing NOT settled: timeout)" : ""),
    fields: {
      bytes: disk.total,
      blockBytes: disk.blocks,
      payloadBytes,
      sustained: rate(count, packedMs),
      packWaitMs: Math.max(0, lastChange - flushed),
      closeMs,
      settled: timedOut ? 0 : 1,
    },
  };
}

/**
 * Worst storeMsg latency during W1 while the packer runs: every call timed
 * with performance.now(); every 256 messages the loop yields (setImmediate),
 * so the packer's ticks and write-outs interleave with the appends as they
 * would in a server. Also reports the longest yield (the event loop busy with
 * the store's background work) and in how many of the 1-in-4096 checks a
 * block was being packed (a `.blk.tmp` present).
 */
async function appendLatency(dir: string, variant: string): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const count = 1_000_000;
  const pool = payloads(128);
  const times = new Float64Array(count);
  let maxGap = 0;
  let checks = 0;
  let packing = 0;
  const store = await FileStore.open({ dir, ...VARIANTS[variant].write });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
    times[i] = performance.now() - t0;
    if ((i & 255) === 255) {
      const g0 = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      maxGap = Math.max(maxGap, performance.now() - g0);
    }
    if ((i & 4095) === 4095) {
      checks++;
      if (readdirSync(join(dir, "msgs")).some((name) => name.endsWith(".tmp"))) packing++;
    }
  }
  const loopMs = performance.now() - started;
  await store.flush();
  await settle(dir);
  await store.close();
  times.sort();
  const at = (q: number) => times[Math.min(count - 1, Math.floor(q * count))] * 1000;
  const max = times[count - 1] * 1000;
  return {
    value: at(0.999),
    unit: "µs p99.9 storeMsg",
    extra:
      `max ${max.toFixed(0)} µs, p99 ${at(0.99).toFixed(1)} µs, longest yield ${maxGap.toFixed(1)} ms, ` +
      `packing seen ${packing}/${checks}, ${(rate(count, loopMs) / 1e6).toFixed(2)} M msgs/s`,
    fields: {
      p999: at(0.999),
      max,
      p99: at(0.99),
      maxGapMs: maxGap,
      packingSeen: packing / checks,
    },
  };
}

/** W9's W3 and W4a stop after 1,000,000 messages or this long (`BENCH_READ_MS`), whichever first. */
const READ_BUDGET_MS = Number(process.env.BENCH_READ_MS ?? 4000);

const atRestWorkloads: Record<string, (root: string) => Promise<Result>> = {};
for (const [id, variant] of Object.entries(W9_VARIANTS)) {
  const dir = (root: string) => join(root, `w9-${variant}`);
  atRestWorkloads[id] = (root) => atRestAppend(dir(root), variant, false);
  const read = VARIANTS[variant].read;
  atRestWorkloads[`${id}-W3`] = (root) => randomRead(dir(root), read, READ_BUDGET_MS);
  atRestWorkloads[`${id}-W4a`] = (root) => scan(dir(root), "", read, READ_BUDGET_MS);
}
for (const [id, variant] of Object.entries(LATENCY_VARIANTS)) {
  atRestWorkloads[id] = (root) => appendLatency(join(root, `w9-latency-${variant}`), variant);
}
for (const [id, variant] of Object.entries(W10_VARIANTS)) {
  atRestWorkloads[id] = (root) => atRestAppend(join(root, `w10-${variant}`), variant, true);
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
  W6m: (root) => multiQueries(join(root, "w1")),
  W5a: (root) => recovery(join(root, "w1"), false),
  W5b: (root) => recovery(join(root, "w1"), true),
  W7: (root) => remove(join(root, "w7")),
  W13: (root) => manySubjects(join(root, "w13")),
  W13o: (root) => manySubjectsOpen(join(root, "w13")),
  W13s: (root) => manySubjectsAll(join(root, "w13")),
  W8a: (root) => durable(join(root, "w8"), 1),
  W8b: (root) => durable(join(root, "w8"), 64),
  W11a: (root) => consume(join(root, "w11a"), false),
  W11b: (root) => consume(join(root, "w11b"), true),
  W11c: (root) => savePending(join(root, "w11c")),
  W12: (root) => snapshotRestore(root),
  ...atRestWorkloads,
};

export const WORKLOAD_IDS = Object.keys(WORKLOADS);

/** `workloads.js info`: the runtime, its version, and the crypto provider of each cipher. */
function info(): string {
  const runtime = currentRuntime();
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  const version =
    runtime === "deno"
      ? g.Deno?.version.deno
      : runtime === "bun"
        ? g.Bun?.version
        : process.versions.node;
  return JSON.stringify({ runtime, version, crypto: cryptoChoice() });
}

if (process.argv[1]?.endsWith("workloads.js") && process.argv[2] === "info") {
  console.log(info());
} else if (process.argv[1]?.endsWith("workloads.js")) {
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
