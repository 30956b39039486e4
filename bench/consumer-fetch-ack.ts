/**
 * `npm run bench:consumer-fetch`: a quick look at the durable consumer's cost
 * per message, the core of workload W11 (not W11 itself, which is `npm run
 * bench`'s): one consumer fetching batches of 256 and acking each message
 * explicitly, on MemStore and FileStore (node adapter, defaults).
 *
 * - drain: N messages of 128 B stored first, then fetched and acked;
 * - interleaved: 256 stored, then fetched and acked, N times over (the
 *   consumer keeps up with the producer); the rate counts both.
 *
 * BENCH_N (default 1,000,000) messages per run; BENCH_RUNS (default 3) runs,
 * the median printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../src/filestore/filestore.ts";
import { MemStore } from "../src/memstore.ts";
import type { StreamStore } from "../src/types.ts";

const N = Number(process.env.BENCH_N ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = 256;
const payload = new Uint8Array(128);

async function drain(store: StreamStore): Promise<number> {
  for (let i = 0; i < N; i++) store.storeMsg(`orders.${i % 1000}`, null, payload);
  const c = store.consumer("w11");
  const started = performance.now();
  let acked = 0;
  for (;;) {
    const msgs = await c.fetch(BATCH, { expiresMs: 0 });
    if (msgs.length === 0) break;
    for (let i = 0; i < msgs.length; i++) c.ack(msgs[i].seq);
    acked += msgs.length;
  }
  const ms = performance.now() - started;
  if (acked !== N) throw new Error(`acked ${acked} of ${N}`);
  await c.close();
  return acked / ms / 1000;
}

async function interleaved(store: StreamStore): Promise<number> {
  const c = store.consumer("w11");
  const started = performance.now();
  let acked = 0;
  for (let stored = 0; stored < N; ) {
    for (let i = 0; i < BATCH && stored < N; i++, stored++) {
      store.storeMsg(`orders.${stored % 1000}`, null, payload);
    }
    const msgs = await c.fetch(BATCH, { expiresMs: 0 });
    for (let i = 0; i < msgs.length; i++) c.ack(msgs[i].seq);
    acked += msgs.length;
  }
  const ms = performance.now() - started;
  if (acked !== N) throw new Error(`acked ${acked} of ${N}`);
  await c.close();
  return acked / ms / 1000;
}

async function onEngine(
  engine: "MemStore" | "FileStore",
  run: (s: StreamStore) => Promise<number>,
): Promise<number> {
  if (engine === "MemStore") {
    const store = MemStore.create();
    try {
      return await run(store);
    } finally {
      await store.close();
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "jetstore-consumer-bench-"));
  const store = await FileStore.open({ dir });
  try {
    return await run(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`fetch(${BATCH}) + ack per message, ${N} × 128 B, median of ${RUNS} runs`);
for (const engine of ["MemStore", "FileStore"] as const) {
  for (const [name, run] of [
    ["drain", drain],
    ["interleaved", interleaved],
  ] as const) {
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) rates.push(await onEngine(engine, run));
    const all = rates.map((x) => x.toFixed(2)).join(", ");
    console.log(`${engine} ${name}: ${median(rates).toFixed(2)} M acked msgs/s (${all})`);
  }
}
