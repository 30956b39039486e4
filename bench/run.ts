/**
 * `npm run bench`: the FileStore workloads of ../shared/bench/WORKLOADS.md,
 * each run `BENCH_RUNS` times (default 3) in a fresh process, printed as a
 * table of median (min–max) and peak RSS beside nats-server's Go fileStore
 * figures measured on this machine kind. Rounds go W1 … W8b, then again, so
 * drift on a shared machine hits every workload alike. `BENCH_ONLY=W1,W3`
 * runs a subset (W3, W4a and W5 need the store W1 leaves behind).
 *
 * W9 (sealed at rest) and W10 (compressible JSON) are families: W9p, W9a,
 * W9b, W9c, W9dc, W9da write the W1 store plain, with Snappy, ChaCha20-Poly1305,
 * AES-256-GCM, ChaCha + Snappy, AES + Snappy (each `W9x-W3` and `W9x-W4a`
 * reads its store); W9Lp, W9Ls, W9Lcs time each storeMsg; W10p, W10s, W10cs
 * write JSON payloads. After the main table a second one gives each
 * variant's median beside its ratio to the plain member of the same family,
 * taken round by round (so drift between rounds cancels), then the median.
 *
 * `--runtime node,bun,deno` (default node) runs every workload under each
 * listed runtime, alternating them within each round, one table per runtime;
 * Bun and Deno are found on PATH or in node_modules/.bin. `BENCH_JSONL=FILE`
 * appends every sample as a JSON line.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LATENCY_VARIANTS, W9_VARIANTS, W10_VARIANTS, WORKLOAD_IDS } from "./workloads.ts";

interface Sample {
  id: string;
  value: number;
  unit: string;
  extra?: string;
  fields?: Record<string, number>;
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
const here = fileURLToPath(new URL(".", import.meta.url));
const script = join(here, "workloads.js");
const jsonl = process.env.BENCH_JSONL;

const runtimeArg = process.argv.indexOf("--runtime");
const runtimes = (runtimeArg >= 0 ? (process.argv[runtimeArg + 1] ?? "") : "node")
  .split(",")
  .filter((r) => r !== "");
for (const r of runtimes) {
  if (r !== "node" && r !== "bun" && r !== "deno")
    throw new Error(`--runtime: expected node, bun or deno (comma-separated), got ${r}`);
}

/** The command that runs a script under `runtime`: Bun and Deno from PATH, else node_modules/.bin. */
function command(runtime: string): string[] {
  if (runtime === "node") return [process.execPath];
  const local = join(here, "..", "..", "node_modules", ".bin", runtime);
  const bin = existsSync(local) ? local : runtime;
  return runtime === "deno" ? [bin, "run", "-A"] : [bin];
}

function spawn(runtime: string, args: string[]): string {
  const [bin, ...pre] = command(runtime);
  const child = spawnSync(bin, [...pre, script, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  if (child.status !== 0) {
    throw new Error(
      `${runtime} ${args[0]} failed (exit ${child.status}):\n${child.stderr ?? child.error}`,
    );
  }
  return child.stdout.trim().split("\n").pop() as string;
}

for (const runtime of runtimes) console.log(`${runtime}: ${spawn(runtime, ["info"])}`);

const samples = new Map<string, Map<string, Sample[]>>(
  runtimes.map((r) => [r, new Map(ids.map((id) => [id, []]))]),
);
for (let round = 1; round <= runs; round++) {
  // Rotate the runtimes' order each round, so none always runs first.
  const order = runtimes.map((_, k) => runtimes[(k + round - 1) % runtimes.length]);
  for (const runtime of order) {
    const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "jetstore-bench-"));
    try {
      for (const id of ids) {
        process.stderr.write(`round ${round}/${runs} ${runtime}: ${id} … `);
        const sample = JSON.parse(spawn(runtime, [id, root])) as Sample;
        samples.get(runtime)?.get(id)?.push(sample);
        if (jsonl !== undefined)
          appendFileSync(jsonl, `${JSON.stringify({ round, runtime, ...sample })}\n`);
        process.stderr.write(
          `${format(sample.value)} ${sample.unit}${sample.extra ? ` (${sample.extra})` : ""}\n`,
        );
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

for (const runtime of runtimes) {
  if (runtimes.length > 1) console.log(`\n### ${runtime}\n`);
  printMain(samples.get(runtime) as Map<string, Sample[]>);
  printAtRest(samples.get(runtime) as Map<string, Sample[]>);
}
console.log(
  `\n${runs} runs per workload, each in a fresh process; "vs Go" > 1 means jetstore is ahead.`,
);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows)
    console.log(`| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`);
}

/**
 * W9 and W10 against their plain member: each figure's median over rounds,
 * and the median of its round-by-round ratio to the plain one.
 */
function printAtRest(samples: Map<string, Sample[]>): void {
  const rows = [["workload", "variant", "figure", "median (min–max)", "÷ plain (min–max)"]];
  const value = (s: Sample, field: string) => (field === "value" ? s.value : s.fields?.[field]);
  const add = (id: string, plainId: string, variant: string, field: string, label: string) => {
    const list = samples.get(id);
    const base = samples.get(plainId);
    if (list === undefined || list.length === 0) return;
    const values = list.map((s) => value(s, field)).filter((v) => v !== undefined);
    if (values.length === 0) return;
    const ratios: number[] = [];
    for (let k = 0; k < list.length; k++) {
      const v = value(list[k], field);
      const b = base?.[k] === undefined ? undefined : value(base[k], field);
      if (v !== undefined && b !== undefined && b > 0) ratios.push(v / b);
    }
    const fmt = field === "bytes" ? (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB` : format;
    rows.push([
      id,
      variant,
      label,
      `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`,
      ratios.length === 0 || id === plainId
        ? ""
        : `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    ]);
  };
  for (const [id, variant] of Object.entries(W9_VARIANTS)) {
    add(id, "W9p", variant, "value", "W1 msgs/s (write+flush+close)");
    add(id, "W9p", variant, "sustained", "W1 msgs/s to packed");
    add(id, "W9p", variant, "bytes", "bytes on disk");
    add(`${id}-W3`, "W9p-W3", variant, "value", "W3 msgs/s");
    add(`${id}-W3`, "W9p-W3", variant, "steady", "W3 msgs/s, 2nd half of the time");
    add(`${id}-W4a`, "W9p-W4a", variant, "value", "W4a msgs/s");
  }
  for (const [id, variant] of Object.entries(LATENCY_VARIANTS)) {
    add(id, "W9Lp", variant, "p999", "storeMsg p99.9 µs");
    add(id, "W9Lp", variant, "max", "storeMsg max µs");
    add(id, "W9Lp", variant, "maxGapMs", "longest yield ms");
  }
  for (const [id, variant] of Object.entries(W10_VARIANTS)) {
    add(id, "W10p", variant, "value", "W1-JSON msgs/s");
    add(id, "W10p", variant, "sustained", "W1-JSON msgs/s to packed");
    add(id, "W10p", variant, "bytes", "bytes on disk");
  }
  if (rows.length === 1) return;
  console.log(
    "\nAt rest (W9, W10): ratio to the plain variant of the same round, median of rounds\n",
  );
  printTable(rows);
}

function printMain(samples: Map<string, Sample[]>): void {
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
  printTable(rows);
}

function format(value: number): string {
  if (value >= 100_000) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)} k`;
  return value.toFixed(1);
}
