/**
 * `npm run bench:consumer-persist`: the two ways a file consumer store could
 * make its state durable, measured on this disk, to choose between them.
 *
 * - replace: the whole state in nats-server's encoding (with the store's
 *   envelope) written beside the state file, fsynced, renamed over it, the
 *   directory fsynced (what consumer-file-store.ts does);
 * - log: what consumer-file-store.ts does, measured through it: the
 *   updates since the last round appended as one frame and fsynced, the log
 *   compacted into a snapshot once it outgrows twice the last one (counted,
 *   amortized over the rounds).
 *
 * Per row: a consumer with `pending` unacknowledged messages, making
 * `updates` updates between two syncs; the figure is the median time of one
 * sync round (BENCH_RUNS rounds, default 30). Where the state stays small
 * (a consumer that keeps up, or is bounded by maxAckPending, default 1000),
 * the replace costs one more fsync; where it is huge and synced after few
 * updates, the log writes less.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { joinPath } from "../runtimes/fs.ts";
import { nodeFileSystem } from "../runtimes/node.ts";
import { PLAIN, Sealer } from "../src/at-rest/sealer.ts";
import { replaceConsumerFile } from "../src/consumers/consumer-files.ts";
import { ConsumerMemStore } from "../src/consumers/consumer-mem-store.ts";
import { FileStore } from "../src/filestore/filestore.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const NOW = 1_800_000_000_000_000_000n;

function stateWith(pending: number): ConsumerMemStore {
  const s = new ConsumerMemStore("bench", { ackPolicy: "explicit" }, { now: () => NOW });
  for (let i = 1; i <= pending; i++)
    s.updateDelivered(i, i, 1, NOW - BigInt(i % 5000) * 1_000_000n);
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fs = nodeFileSystem;
const root = mkdtempSync(join(tmpdir(), "jetstore-consumer-persist-"));
const sealer = new Sealer(PLAIN, null, false);
const rows: string[][] = [];
try {
  for (const pending of [0, 1000, 100_000]) {
    const state = stateWith(pending);
    const encodeStart = performance.now();
    const encoded = state.encodedState();
    const encodeMs = performance.now() - encodeStart;
    for (const updates of [1, 256]) {
      const dir = joinPath(root, `p${pending}-u${updates}`);
      fs.mkdir(dir);
      const replace: number[] = [];
      const log: number[] = [];
      const stream = await FileStore.open({ dir: joinPath(dir, "stream"), syncIntervalMs: 0 });
      const consumer = stream.consumerStore("bench", { ackPolicy: "explicit" });
      consumer.forceUpdate(state.state());
      await consumer.sync();
      let next = pending + 1;
      for (let run = 0; run < RUNS; run++) {
        let t = performance.now();
        replaceConsumerFile(fs, sealer, dir, "state", state.encodedState(), 0o600);
        replace.push(performance.now() - t);

        // Half deliveries, half acks of the oldest pending: the pending count holds.
        for (let u = 0; u < updates; u += 2) {
          consumer.updateDelivered(next, next, 1, NOW);
          if (u + 1 < updates) consumer.updateAcks(next, next);
          next++;
        }
        t = performance.now();
        await consumer.sync();
        log.push(performance.now() - t);
      }
      await stream.close();
      rows.push([
        String(pending),
        String(encoded.length),
        encodeMs.toFixed(2),
        String(updates),
        median(replace).toFixed(2),
        median(log).toFixed(2),
      ]);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
const head = ["pending", "state bytes", "encode ms", "updates/sync", "replace ms", "log ms"];
console.log(`| ${head.join(" | ")} |`);
console.log(`|${head.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
