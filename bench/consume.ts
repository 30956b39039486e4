/**
 * W11 of ../shared/bench/WORKLOADS.md: 1,000,000 × 128 B stored while
 * consumers fetch batches of 256 and ack each message explicitly, in one
 * process (a producer task storing 4,096 messages per turn of the event
 * loop, each consumer a task of fetch-then-ack). W11a: one consumer on a
 * limits stream. W11b: four consumers on a work queue, one per region
 * (`orders.<region>.>`), each message removed once acked.
 *
 * The figure is acknowledged messages per second, from the first store to
 * the last ack and the consumers' close (their state written); beside it the
 * latency a message sees from `storeMsg` to its ack (p50, p99, of every 16th).
 */
import { rmSync } from "node:fs";
import { setImmediate } from "node:timers";
import { type Consumer, FileStore } from "../src/index.ts";

const COUNT = 1_000_000;
const SIZE = 128;
const BATCH = 256;
const PRODUCER_TURN = 4096;
const REGIONS = ["east", "west", "north", "south"];

export interface ConsumeResult {
  value: number;
  unit: string;
  extra: string;
  fields: Record<string, number>;
}

export async function consume(dir: string, workQueue: boolean): Promise<ConsumeResult> {
  rmSync(dir, { recursive: true, force: true });
  const payload = new Uint8Array(SIZE).fill(7);
  const subjects = Array.from(
    { length: 1000 },
    (_, i) => `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`,
  );
  const store = await FileStore.open({ dir, ...(workQueue ? { retention: "workqueue" } : {}) });
  const consumers: Consumer[] = workQueue
    ? REGIONS.map((r) => store.consumer(`wq-${r}`, { filter: `orders.${r}.>` }))
    : [store.consumer("w11", {})];
  const storedAt = new Float64Array(COUNT + 1);
  const latencies: number[] = [];
  let acked = 0;
  const started = performance.now();

  const producer = async () => {
    for (let i = 0; i < COUNT; ) {
      const end = Math.min(COUNT, i + PRODUCER_TURN);
      for (; i < end; i++) {
        const { seq } = store.storeMsg(subjects[i % 1000], null, payload);
        storedAt[seq] = performance.now();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const reader = async (c: Consumer, share: number) => {
    let mine = 0;
    while (mine < share) {
      const msgs = await c.fetch(BATCH, { expiresMs: 5000 });
      const now = performance.now();
      for (const m of msgs) {
        c.ack(m.seq);
        if ((m.seq & 15) === 0) latencies.push(now - storedAt[m.seq]);
      }
      mine += msgs.length;
      acked += msgs.length;
    }
  };
  const share = COUNT / consumers.length;
  await Promise.all([producer(), ...consumers.map((c) => reader(c, share))]);
  await Promise.all(consumers.map((c) => c.close()));
  const ms = performance.now() - started;
  const left = store.fastState().msgs;
  await store.close();
  if (acked !== COUNT) throw new Error(`W11 acked ${acked} of ${COUNT}`);
  if (workQueue && left !== 0) throw new Error(`W11b left ${left} messages on the work queue`);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    value: (COUNT / ms) * 1000,
    unit: "acked msgs/s",
    extra: `store→ack p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
    fields: { p50: at(0.5), p99: at(0.99) },
  };
}

/**
 * W11c: a consumer state of 100,000 pending acks saved, on FileStore's
 * consumer store. Three figures (ms, median of 5): the sync after the 100,000
 * deliveries (one log frame of them all), a snapshot of the whole state (what
 * compaction writes: the nats-server encoding, replaced whole; timed through
 * `updateConfig`, which compacts before it replaces the config), and a sync
 * round after 256 acks with that many pending (one small frame).
 */
export async function savePending(dir: string): Promise<ConsumeResult> {
  const PENDING = 100_000;
  const first: number[] = [];
  const snapshot: number[] = [];
  const round: number[] = [];
  for (let r = 0; r < 5; r++) {
    rmSync(dir, { recursive: true, force: true });
    const store = await FileStore.open({ dir });
    const c = store.consumerStore("w11c", { ackPolicy: "explicit" });
    const ts = store.fastState().lastTs || 1_800_000_000_000_000_000n;
    for (let i = 1; i <= PENDING; i++) c.updateDelivered(i, i, 1, ts);
    let t = performance.now();
    await c.sync();
    first.push(performance.now() - t);
    // A config change compacts at once: the whole state encoded and replaced, then the config.
    t = performance.now();
    c.updateConfig({ ackPolicy: "explicit" });
    snapshot.push(performance.now() - t);
    for (let i = 1; i <= 256; i++) c.updateAcks(i, i);
    t = performance.now();
    await c.sync();
    round.push(performance.now() - t);
    await store.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
  return {
    value: median(snapshot),
    unit: "ms snapshot of 100k pending",
    extra: `first sync of 100k deliveries ${median(first).toFixed(1)} ms, sync of 256 acks ${median(round).toFixed(2)} ms`,
    fields: { snapshot: median(snapshot), first: median(first), round: median(round) },
  };
}
