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
 * Bun and Deno are found on PATH or in node_modules/.bin. `go` in the list
 * runs nats-server's Go fileStore (bench/go, built once and cached, see
 * go-harness.ts) on the workloads it has, alternating with the others, and
 * the "Go fileStore" column shows its median (min–max) of this sitting;
 * without `go`, or when Go or nats-server's source is missing, the column
 * shows the figures recorded in `GO`, labelled so. `BENCH_JSONL=FILE`
 * appends every sample as a JSON line.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GO_INSTALL, goHarness } from "./go-harness.ts";
import { LATENCY_VARIANTS, W9_VARIANTS, W10_VARIANTS, WORKLOAD_IDS } from "./workloads.ts";

interface Sample {
  id: string;
  value: number;
  unit: string;
  extra?: string;
  fields?: Record<string, number>;
  rssMiB: number;
}

/**
 * nats-server 2.x Go fileStore as recorded on this machine kind: the
 * fallback when Go is not measured.
 */
const GO: Record<string, { value: number }> = {
  W1: { value: 2_040_000 },
  W2: { value: 403_000 },
  W3: { value: 1_020_000 },
  W4a: { value: 3_300_000 },
  W4b: { value: 660_000 },
  W6: { value: 21 },
  W5a: { value: 19 },
  W5b: { value: 506 },
  W7: { value: 13_000 },
  W8a: { value: 5_400 },
};

const runs = Number(process.env.BENCH_RUNS ?? 3);
const only = process.env.BENCH_ONLY?.split(",");
const ids = WORKLOAD_IDS.filter((id) => only === undefined || only.includes(id));
const here = fileURLToPath(new URL(".", import.meta.url));
const script = join(here, "workloads.js");
const jsonl = process.env.BENCH_JSONL;

const runtimeArg = process.argv.indexOf("--runtime");
let runtimes = (runtimeArg >= 0 ? (process.argv[runtimeArg + 1] ?? "") : "node")
  .split(",")
  .filter((r) => r !== "");
for (const r of runtimes) {
  if (r !== "node" && r !== "bun" && r !== "deno" && r !== "go")
    throw new Error(`--runtime: expected node, bun, deno or go (comma-separated), got ${r}`);
}

// Go is measured beside the others, or its recorded figures stand in.
let goBin: string | null = null;
if (runtimes.includes("go")) {
  const harness = goHarness(join(here, "..", "..", "bench", "go"));
  if ("bin" in harness) goBin = harness.bin;
  else {
    console.log(`go: not measured, ${harness.missing}; the Go column shows recorded figures`);
    runtimes = runtimes.filter((r) => r !== "go");
  }
} else {
  console.log(`go: not measured (add go to --runtime; needs ${GO_INSTALL})`);
}
const jsRuntimes = runtimes.filter((r) => r !== "go");

/** The command that runs a script under `runtime`: Bun and Deno from PATH, else node_modules/.bin. */
function command(runtime: string): string[] {
  if (runtime === "go") return [goBin as string];
  if (runtime === "node") return [process.execPath, script];
  const local = join(here, "..", "..", "node_modules", ".bin", runtime);
  const bin = existsSync(local) ? local : runtime;
  return runtime === "deno" ? [bin, "run", "-A", script] : [bin, script];
}

function spawn(runtime: string, args: string[]): string {
  const [bin, ...pre] = command(runtime);
  const child = spawnSync(bin, [...pre, ...args], {
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

const idsOf = new Map(runtimes.map((r) => [r, ids]));
for (const runtime of runtimes) {
  const info = spawn(runtime, ["info"]);
  console.log(`${runtime}: ${info}`);
  // The Go harness has the workloads it lists, no more.
  if (runtime === "go") {
    const has = (JSON.parse(info) as { workloads: string[] }).workloads;
    idsOf.set(
      runtime,
      ids.filter((id) => has.includes(id)),
    );
  }
}

const samples = new Map<string, Map<string, Sample[]>>(
  runtimes.map((r) => [r, new Map(ids.map((id) => [id, []]))]),
);
for (let round = 1; round <= runs; round++) {
  // Rotate the runtimes' order each round, so none always runs first.
  const order = runtimes.map((_, k) => runtimes[(k + round - 1) % runtimes.length]);
  for (const runtime of order) {
    const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "jetstore-bench-"));
    try {
      for (const id of idsOf.get(runtime) ?? []) {
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

for (const runtime of jsRuntimes) {
  if (jsRuntimes.length > 1) console.log(`\n### ${runtime}\n`);
  printMain(samples.get(runtime) as Map<string, Sample[]>, samples.get("go"));
  printAtRest(samples.get(runtime) as Map<string, Sample[]>);
}
console.log(
  `\n${runs} runs per workload, each in a fresh process; "vs Go" > 1 means jetstore is ahead; ` +
    (samples.has("go")
      ? "Go measured in the same rounds (nats-server's fileStore, bench/go)."
      : "Go figures recorded earlier on this machine kind, not measured now."),
);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A Markdown table: the first row is the header, followed by its separator row. */
function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  rows.forEach((row, i) => {
    console.log(line(row));
    if (i === 0) console.log(line(widths.map((w) => "-".repeat(w))));
  });
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

/** Upper median and range of `list`'s values. */
function spread(list: Sample[]): { median: number; min: number; max: number } {
  const values = list.map((s) => s.value).sort((a, b) => a - b);
  return {
    median: values[Math.floor(values.length / 2)],
    min: values[0],
    max: values[values.length - 1],
  };
}

/**
 * One runtime's table. `go` holds the Go harness's samples of this sitting;
 * without them the Go column is the recorded `GO` table, and says so.
 */
function printMain(samples: Map<string, Sample[]>, go?: Map<string, Sample[]>): void {
  const measured = go !== undefined;
  const rows = [
    [
      "workload",
      "median (min–max)",
      "unit",
      "peak RSS",
      measured ? "Go fileStore, same rounds" : "Go fileStore (recorded, not measured)",
      ...(measured ? ["Go peak RSS"] : []),
      "vs Go",
      "notes",
    ],
  ];
  for (const id of ids) {
    const list = samples.get(id) ?? [];
    const { median, min, max } = spread(list);
    const goList = go?.get(id) ?? [];
    const higherIsBetter = list[0]?.unit.endsWith("/s") ?? true;
    let goCell = "";
    let goValue: number | undefined;
    if (measured && goList.length > 0) {
      const g = spread(goList);
      goValue = g.median;
      goCell = `${format(g.median)} (${format(g.min)}–${format(g.max)})`;
    } else if (!measured && GO[id] !== undefined) {
      goValue = GO[id].value;
      goCell = format(goValue);
    }
    const ratio = goValue === undefined ? "" : higherIsBetter ? median / goValue : goValue / median;
    const mid = list.find((s) => s.value === median);
    rows.push([
      id,
      `${format(median)} (${format(min)}–${format(max)})`,
      list[0]?.unit ?? "",
      `${Math.max(...list.map((s) => s.rssMiB)).toFixed(0)} MiB`,
      goCell,
      ...(measured
        ? [goList.length > 0 ? `${Math.max(...goList.map((s) => s.rssMiB)).toFixed(0)} MiB` : ""]
        : []),
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
