/**
 * W12 of ../shared/bench/WORKLOADS.md: a snapshot of the W1 store (left in
 * `<root>/w1` by the W1 run) piped to a file, then that file restored into an
 * empty directory; once with compressed frames (the default, the figure),
 * once with `compress: false`. MB/s are of the stream's bytes
 * (`state().bytes`, what its records take) per second each way, the
 * restore's fsyncs and final open included; beside them the archive's size.
 */
import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FileStore } from "../src/index.ts";

interface Way {
  snapshotMBps: number;
  restoreMBps: number;
  archiveMB: number;
}

async function roundTrip(root: string, compress: boolean): Promise<Way> {
  const archive = join(root, "w12.snapshot");
  const target = join(root, "w12-restored");
  rmSync(archive, { force: true });
  rmSync(target, { recursive: true, force: true });
  const store = await FileStore.open({ dir: join(root, "w1") });
  const { bytes, msgs } = store.fastState();
  let started = performance.now();
  await pipeline(Readable.from(store.snapshot({ compress })), createWriteStream(archive));
  const snapshotMs = performance.now() - started;
  await store.close();
  const archiveBytes = statSync(archive).size;
  started = performance.now();
  const source = createReadStream(archive, { highWaterMark: 1 << 20 });
  const restored = await FileStore.restore(target, source);
  const restoredMsgs = restored.fastState().msgs;
  await restored.close();
  const restoreMs = performance.now() - started;
  if (restoredMsgs !== msgs) throw new Error(`restored ${restoredMsgs} of ${msgs} messages`);
  return {
    snapshotMBps: bytes / snapshotMs / 1000,
    restoreMBps: bytes / restoreMs / 1000,
    archiveMB: archiveBytes / 1e6,
  };
}

export async function snapshotRestore(root: string): Promise<{
  value: number;
  unit: string;
  extra: string;
  fields: Record<string, number>;
}> {
  const packed = await roundTrip(root, true);
  const plain = await roundTrip(root, false);
  const f = (n: number) => n.toFixed(0);
  return {
    value: packed.snapshotMBps,
    unit: "MB/s snapshot",
    extra:
      `restore ${f(packed.restoreMBps)} MB/s, archive ${f(packed.archiveMB)} MB; ` +
      `compress: false: snapshot ${f(plain.snapshotMBps)} MB/s, restore ${f(plain.restoreMBps)} MB/s, archive ${f(plain.archiveMB)} MB`,
    fields: {
      snapshotMBps: packed.snapshotMBps,
      restoreMBps: packed.restoreMBps,
      plainSnapshotMBps: plain.snapshotMBps,
      plainRestoreMBps: plain.restoreMBps,
    },
  };
}
