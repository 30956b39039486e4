/**
 * One way of W12 (bench/snapshot.ts) alone in this process, for profiles and
 * before/after comparisons: `node dist/bench/snapshot-phase.js <root> <way>`
 * with way `snap` | `snapplain` (snapshot of `<root>/w1` to a file, compressed
 * or not) or `restore` | `restoreplain` (that file restored into an empty
 * directory, fsyncs and final open included). Prints one JSON line: MB/s of
 * the stream's record bytes, wall and CPU ms (process-wide: the I/O threads'
 * CPU included).
 */
import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FileStore } from "../src/index.ts";

const [root, way] = process.argv.slice(2);
if (root === undefined || !["snap", "snapplain", "restore", "restoreplain"].includes(way ?? "")) {
  throw new Error("usage: snapshot-phase.js <root> snap|snapplain|restore|restoreplain");
}
const compress = !way.endsWith("plain");
const archive = join(root, compress ? "phase.snapshot" : "phase-plain.snapshot");
const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return Math.round((used.user + used.system) / 1000);
};
if (way.startsWith("snap")) {
  rmSync(archive, { force: true });
  const store = await FileStore.open({ dir: join(root, "w1") });
  const { bytes } = store.fastState();
  const started = performance.now();
  const cpu = process.cpuUsage();
  await pipeline(Readable.from(store.snapshot({ compress })), createWriteStream(archive));
  const ms = performance.now() - started;
  const used = cpuMs(cpu);
  await store.close();
  const archiveMB = statSync(archive).size / 1e6;
  console.log(JSON.stringify({ way, MBps: bytes / ms / 1000, ms, cpuMs: used, archiveMB }));
} else {
  const target = join(root, "phase-restored");
  rmSync(target, { recursive: true, force: true });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const restored = await FileStore.restore(
    target,
    createReadStream(archive, { highWaterMark: 1 << 20 }),
  );
  const { bytes, msgs } = restored.fastState();
  await restored.close();
  const ms = performance.now() - started;
  console.log(JSON.stringify({ way, MBps: bytes / ms / 1000, ms, cpuMs: cpuMs(cpu), msgs }));
}
