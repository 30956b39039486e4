// @ts-check
/**
 * The child of the jetstore/nats kill test (test/suites/nats-replicate.ts):
 * it opens the FileStore at `dir` (whose consumer stores are synced only
 * every minute, so a kill loses the replication's recent progress), runs
 * `replicate` into `stream` on the servers `urls`, and writes one line per
 * progress event, synchronously, until the parent SIGKILLs it:
 *   acked <n>   the server acknowledged local messages through n
 *
 * Plain JavaScript, so one file runs unchanged under Node, Bun and Deno.
 */
import { writeSync } from "node:fs";

/** @param {{ entry: string, natsEntry: string, dir: string, urls: string[], stream: string, name: string, window: number }} config */
export async function runChild(config) {
  const { FileStore } = await import(config.entry);
  const { replicate } = await import(config.natsEntry);
  const { connect } = await import("@nats-io/transport-node");
  const store = await FileStore.open({ dir: config.dir, syncIntervalMs: 60_000 });
  const nc = await connect({ servers: config.urls, maxReconnectAttempts: -1 });
  const handle = replicate(store, nc, {
    stream: config.stream,
    name: config.name,
    window: config.window,
  });
  for await (const event of handle) {
    if (event.type === "progress") writeSync(1, `acked ${event.lastAcked}\n`);
    if (event.type === "error") writeSync(1, `error ${event.error.code} ${event.error.message}\n`);
  }
}
