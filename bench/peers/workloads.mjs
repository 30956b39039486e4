/**
 * The workloads of ../shared/bench/WORKLOADS.md that every store can run, each
 * written once against the small interface of stores/*.mjs (append, openReader,
 * openDurable) so that what is timed is the same for all. Counts are scaled by
 * `scale` (1 by default; the quick mode uses less) and W3, W4a and W5a read the
 * store that W1 left in `<root>/w1`.
 *
 * Reads (W3, W4a) and durable appends (W8) stop early once `PEERS_CAP_S`
 * seconds (default 15) have passed, and the rate is what was done by then:
 * hypercore reads at ~15k messages/s and lmdb commits one writer's appends at
 * a few hundred per second, so the full counts would take minutes per run.
 * A capped run says so in `capped`.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { payloads, randomSeqs, SUBJECTS } from "./data.mjs";

const rate = (n, ms) => (n / ms) * 1000;
const capMs = Number(process.env.PEERS_CAP_S ?? 15) * 1000;
const capped = (done, planned) => (done < planned ? { capped: `${done} of ${planned}` } : {});

/** Bytes the directory takes on disk (allocated blocks, so sparse files count as they are). */
export function diskBytes(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.blocks * 512;
  let total = stat.blocks * 512;
  for (const name of readdirSync(path)) total += diskBytes(join(path, name));
  return total;
}

async function append(store, dir, count, size) {
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(size);
  const started = performance.now();
  await store.append(dir, count, pool);
  const ms = performance.now() - started;
  return {
    value: rate(count, ms),
    unit: "msgs/s",
    mbPerSec: (count * size) / ms / 1000,
    diskBytes: diskBytes(dir),
  };
}

async function randomRead(store, dir, reads) {
  const reader = await store.openReader(dir);
  const next = randomSeqs(reader.first, reader.last);
  let bytes = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + capMs;
  // Reads go in runs of 1024 between looks at the clock.
  while (done < reads && performance.now() < deadline) {
    const end = Math.min(done + 1024, reads);
    if (reader.asyncGet) {
      for (; done < end; done++) bytes += (await reader.get(next())).msg.length;
    } else {
      for (; done < end; done++) bytes += reader.get(next()).msg.length;
    }
  }
  const ms = performance.now() - started;
  await reader.close();
  if (bytes === 0) throw new Error("W3 read nothing");
  return { value: rate(done, ms), unit: "msgs/s", ...capped(done, reads) };
}

async function scan(store, dir) {
  const reader = await store.openReader(dir);
  const count = reader.last - reader.first + 1;
  const started = performance.now();
  const n = await reader.scan(started + capMs);
  const ms = performance.now() - started;
  await reader.close();
  if (n !== count && ms < capMs) throw new Error(`W4a saw ${n} of ${count} messages`);
  return { value: rate(n, ms), unit: "msgs/s", ...capped(n, count) };
}

async function recovery(store, dir) {
  const started = performance.now();
  const reader = await store.openReader(dir);
  await reader.get(reader.last);
  const ms = performance.now() - started;
  await reader.close();
  return { value: ms, unit: "ms" };
}

async function durable(store, dir, total, writers) {
  if (store.openDurable === null) return null;
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(128);
  const target = await store.openDurable(dir);
  let next = 0;
  let acknowledged = 0;
  const started = performance.now();
  const deadline = started + capMs;
  const writer = async () => {
    while (next < total && performance.now() < deadline) {
      const i = next++;
      await target.write(SUBJECTS[i % 1000], pool[i & 1023]);
      acknowledged++;
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const ms = performance.now() - started;
  await target.close();
  return {
    value: rate(acknowledged, ms),
    unit: "msgs/s",
    diskBytes: diskBytes(dir),
    ...capped(acknowledged, total),
  };
}

/** Workload id → run(store, root, scale); a result of null means "does not apply". */
export const WORKLOADS = {
  W1: (store, root, scale) => append(store, join(root, "w1"), 1_000_000 * scale, 128),
  W2: (store, root, scale) => append(store, join(root, "w2"), 200_000 * scale, 1024),
  W3: (store, root, scale) => randomRead(store, join(root, "w1"), 1_000_000 * scale),
  W4a: (store, root) => scan(store, join(root, "w1")),
  W5a: (store, root) => recovery(store, join(root, "w1")),
  W8a: (store, root, scale) => durable(store, join(root, "w8"), 20_000 * scale, 1),
  W8b: (store, root, scale) => durable(store, join(root, "w8"), 20_000 * scale, 64),
};

/** What each workload is, and whether a higher figure is better. */
export const WORKLOAD_INFO = {
  W1: { name: "append 1M × 128 B", higherIsBetter: true },
  W2: { name: "append 200k × 1 KiB", higherIsBetter: true },
  W3: { name: "1M random reads", higherIsBetter: true },
  W4a: { name: "scan all in order", higherIsBetter: true },
  W5a: { name: "open + read last", higherIsBetter: false },
  W8a: { name: "durable appends, 1 writer", higherIsBetter: true },
  W8b: { name: "durable appends, 64 writers", higherIsBetter: true },
};
