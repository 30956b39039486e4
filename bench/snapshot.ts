/**
 * W12 of ../shared/bench/WORKLOADS.md: a snapshot of the W1 store (left in
 * `<root>/w1` by the W1 run) piped to a file, then that file restored into an
 * empty directory. MB/s are of the stream's bytes (`state().bytes`, what its
 * records take) per second of each way, the restore's fsyncs and final open
 * included; beside them the archive's size.
 */
import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FileStore } from "../src/index.ts";

export async function snapshotRestore(root: string): Promise<{
  value: number;
  unit: string;
  extra: string;
  fields: Record<string, number>;
}> {
  const archive = join(root, "w12.snapshot");
  const target = join(root, "w12-restored");
  rmSync(archive, { force: true });
  rmSync(target, { recursive: true, force: true });
  const store = await FileStore.open({ dir: join(root, "w1") });
  const { bytes, msgs } = store.fastState();
  let started = performance.now();
  await pipeline(Readable.from(store.snapshot()), createWriteStream(archive));
  const snapshotMs = performance.now() - started;
  await store.close();
  const archiveBytes = statSync(archive).size;
  started = performance.now();
  const restored = await FileStore.restore(
    target,
    createReadStream(archive, { highWaterMark: 1 << 20 }),
  );
  const restoredMsgs = restored.fastState().msgs;
  await restored.close();
  const restoreMs = performance.now() - started;
  if (restoredMsgs !== msgs) throw new Error(`restored ${restoredMsgs} of ${msgs} messages`);
  const mbps = (ms: number) => bytes / ms / 1000;
  return {
    value: mbps(snapshotMs),
    unit: "MB/s snapshot",
    extra: `restore ${mbps(restoreMs).toFixed(0)} MB/s; ${msgs} msgs, ${(bytes / 1e6).toFixed(0)} MB stream, ${(archiveBytes / 1e6).toFixed(0)} MB archive; ${snapshotMs.toFixed(0)} ms / ${restoreMs.toFixed(0)} ms`,
    fields: { snapshotMBps: mbps(snapshotMs), restoreMBps: mbps(restoreMs), archiveBytes },
  };
}
