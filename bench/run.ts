/**
 * `npm run bench`: the FileStore workloads of ../shared/bench/WORKLOADS.md,
 * each run `BENCH_RUNS` times (default 3) in a fresh process, printed as a
 * table of median (min–max) and peak RSS beside nats-server's Go fileStore
 * figures measured on this machine kind. Rounds go W1 … W8b, then again, so
 * drift on a shared machine hits every workload alike. `BENCH_ONLY=W1,W3`
 * runs a subset (W3, W4a and W5 need the store W1 leaves behind).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WORKLOAD_IDS } from "./workloads.ts";

interface Sample {
  id: string;
  value: number;
  unit: string;
  extra?: string;
  rssMiB: number;
}

/** nats-server 2.x Go fileStore on this machine kind, and whether higher is better. */
const GO: Record<string, { value: number; higherIsBetter: boolean }> = {
  W1: { value: 2_040_000, higherIsBetter: true },
  W2: { value: 403_000, higherIsBetter: true },
  W3: { value: 1_020_000, higherIsBetter: true },
  W4a: { value: 3_300_000, higherIsBetter: true },
  W4b: { value: 660_000, higherIsBetter: true },
  W6: { value: 21, higherIsBetter: false },
  W5a: { value: 19, higherIsBetter: false },
  W5b: { value: 506, higherIsBetter: false },
  W7: { value: 13_000, higherIsBetter: false },
  W8a: { value: 5_400, higherIsBetter: true },
};

const runs = Number(process.env.BENCH_RUNS ?? 3);
const only = process.env.BENCH_ONLY?.split(",");
const ids = WORKLOAD_IDS.filter((id) => only === undefined || only.includes(id));
const script = join(fileURLToPath(new URL(".", import.meta.url)), "workloads.js");
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "jetstore-bench-"));

const samples = new Map<string, Sample[]>(ids.map((id) => [id, []]));
try {
  for (let round = 1; round <= runs; round++) {
    for (const id of ids) {
      process.stderr.write(`round ${round}/${runs}: ${id} … `);
      const child = spawnSync(process.execPath, [script, id, root], { encoding: "utf8" });
      if (child.status !== 0) {
        throw new Error(`${id} failed (exit ${child.status}):\n${child.stderr}`);
      }
      const sample = JSON.parse(child.stdout.trim().split("\n").pop() as string) as Sample;
      samples.get(id)?.push(sample);
      process.stderr.write(`${format(sample.value)} ${sample.unit}\n`);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const rows = [
  ["workload", "median (min–max)", "unit", "peak RSS", "Go fileStore", "vs Go", "notes"],
];
for (const id of ids) {
  const list = samples.get(id) ?? [];
  const values = list.map((s) => s.value).sort((a, b) => a - b);
  const median = values[Math.floor(values.length / 2)];
  const go = GO[id];
  const ratio = go === undefined ? "" : go.higherIsBetter ? median / go.value : go.value / median;
  const mid = list.find((s) => s.value === median);
  rows.push([
    id,
    `${format(median)} (${format(values[0])}–${format(values[values.length - 1])})`,
    list[0]?.unit ?? "",
    `${Math.max(...list.map((s) => s.rssMiB)).toFixed(0)} MiB`,
    go === undefined ? "" : format(go.value),
    ratio === "" ? "" : `${ratio.toFixed(2)}×`,
    mid?.extra ?? "",
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows)
  console.log(`| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`);
console.log(
  `\n${runs} runs per workload, each in a fresh process; "vs Go" > 1 means jetstore is ahead.`,
);

function format(value: number): string {
  if (value >= 100_000) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)} k`;
  return value.toFixed(1);
}
