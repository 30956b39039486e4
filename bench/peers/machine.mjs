/**
 * What the machine can do, measured beside the stores so their figures have a
 * ceiling to be read against: the disk's sequential write bandwidth (1 MiB
 * writes, buffered, one fsync at the end, as a store writes) and its
 * fdatasync latency (4 KiB write + fdatasync each, the cost of one durable
 * append), both with fio; and memory copy bandwidth (Buffer.copy of 64 MiB).
 * fio is optional: without it the report says so and goes on.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, freemem, release, totalmem } from "node:os";
import { join } from "node:path";

function run(command, args) {
  const out = spawnSync(command, args, { encoding: "utf8" });
  return out.status === 0 ? out.stdout.trim() : null;
}

/** CPU, memory, OS, runtime and the disk holding `dir`. */
export function describeMachine(dir) {
  const [source, fstype] = (
    run("findmnt", ["-no", "SOURCE,FSTYPE", "--target", dir]) ?? "? ?"
  ).split(/\s+/);
  const device = source.replace(/^\/dev\//, "");
  const rotational = run("cat", [`/sys/block/${device}/queue/rotational`]);
  return {
    cpu: `${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeGiB: Math.round(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    disk: `${source} (${fstype}${rotational === null ? "" : rotational === "1" ? ", reported rotational" : ", non-rotational"})`,
    lscpu: run("lscpu", []),
  };
}

function fio(dir, args) {
  const out = run("fio", [`--directory=${dir}`, "--output-format=json", ...args]);
  return out === null ? null : JSON.parse(out).jobs[0];
}

/** Sequential write MB/s and fdatasync latency (µs) of the disk under `root`, or null without fio. */
export function diskLimits(root) {
  if (run("fio", ["--version"]) === null) return null;
  const dir = mkdtempSync(join(root, "fio-"));
  try {
    const seq = fio(dir, [
      "--name=seqwrite",
      "--rw=write",
      "--bs=1M",
      "--size=1G",
      "--ioengine=psync",
      "--end_fsync=1",
    ]);
    const sync = fio(dir, [
      "--name=fdatasync",
      "--rw=write",
      "--bs=4k",
      "--size=16M",
      "--ioengine=sync",
      "--fdatasync=1",
    ]);
    const lat = sync.sync.lat_ns;
    return {
      fio: run("fio", ["--version"]),
      seqWriteMBps: seq.write.bw_bytes / 1e6,
      fdatasyncUs: {
        mean: lat.mean / 1000,
        p50: lat.percentile["50.000000"] / 1000,
        p99: lat.percentile["99.000000"] / 1000,
      },
      syncedWritesPerSec: sync.write.iops,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GB/s of Buffer.copy between two 64 MiB buffers, best of 5 rounds. */
export function memoryCopyGBps() {
  const size = 64 * 2 ** 20;
  const from = Buffer.alloc(size, 1);
  const to = Buffer.alloc(size);
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 8; i++) from.copy(to);
    best = Math.max(best, (8 * size) / (performance.now() - started) / 1e6);
  }
  return best;
}
