/**
 * `npm run bench:compare -- <base checkout>`: the workloads of bench/run.ts,
 * run by two builds side by side — the base (another checkout or worktree
 * with `dist/` built, e.g. `git worktree add ../base <commit> && cd ../base
 * && npm ci && npm run build`) and this one — alternating workload by
 * workload within each round, the first to go swapped every round, so the
 * drift of a shared machine falls on both alike. Each build keeps its own
 * store directory (formats may differ). Prints each figure's median
 * (min–max) for both, and the median of the round-by-round ratio
 * (new ÷ base; > 1: the new build is ahead, for "ms" figures inverted).
 *
 * `BENCH_RUNS` (default 5), `BENCH_ONLY=W1,W3`, `--runtime node|bun|deno`,
 * `BENCH_JSONL=FILE` as bench/run.ts.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const runtimeAt = args.indexOf("--runtime");
const runtime = runtimeAt >= 0 ? args.splice(runtimeAt, 2)[1] : "node";
const baseDir = args[0];
if (baseDir === undefined || !existsSync(join(baseDir, "dist/bench/workloads.js"))) {
  console.error(
    "usage: npm run bench:compare -- <base checkout with dist/ built> [--runtime node|bun|deno]",
  );
  process.exit(2);
}
if (!["node", "bun", "deno"].includes(runtime)) {
  console.error(`--runtime: expected node, bun or deno, got ${runtime}`);
  process.exit(2);
}
const builds = [
  { name: "base", script: resolve(baseDir, "dist/bench/workloads.js") },
  { name: "new", script: join(here, "dist/bench/workloads.js") },
];
const runs = Number(process.env.BENCH_RUNS ?? 5);
const ids = (process.env.BENCH_ONLY ?? "W1,W1max,W1subj,W2,W3,W4a,W4b,W6,W5a,W5b,W7,W8a,W8b").split(
  ",",
);
const jsonl = process.env.BENCH_JSONL;

function command() {
  if (runtime === "node") return [process.execPath];
  const local = join(here, "node_modules", ".bin", runtime);
  const bin = existsSync(local) ? local : runtime;
  return runtime === "deno" ? [bin, "run", "-A"] : [bin];
}

function run(script, id, root) {
  const [bin, ...pre] = command();
  const child = spawnSync(bin, [...pre, script, id, root], {
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  if (child.status !== 0) throw new Error(`${script} ${id} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop());
}

const samples = new Map(builds.map((b) => [b.name, new Map(ids.map((id) => [id, []]))]));
for (let round = 1; round <= runs; round++) {
  const order = round % 2 === 1 ? builds : [...builds].reverse();
  const roots = new Map(
    builds.map((b) => [b.name, mkdtempSync(join(tmpdir(), `jetstore-compare-${b.name}-`))]),
  );
  try {
    for (const id of ids) {
      for (const b of order) {
        const s = run(b.script, id, roots.get(b.name));
        samples.get(b.name).get(id).push(s);
        if (jsonl)
          appendFileSync(jsonl, `${JSON.stringify({ round, build: b.name, runtime, ...s })}\n`);
        process.stderr.write(`round ${round}/${runs} ${id} ${b.name}: ${fmt(s.value)} ${s.unit}\n`);
      }
    }
  } finally {
    for (const root of roots.values()) rmSync(root, { recursive: true, force: true });
  }
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

const spread = (values) =>
  `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;

const rows = [["workload", "unit", "base", "new", "new ÷ base", "RSS base → new"]];
for (const id of ids) {
  const base = samples.get("base").get(id);
  const next = samples.get("new").get(id);
  const lowerIsBetter = /^(ms|µs)( |$)/.test(base[0].unit);
  const ratios = base.map((b, k) =>
    lowerIsBetter ? b.value / next[k].value : next[k].value / b.value,
  );
  rows.push([
    id,
    base[0].unit,
    spread(base.map((s) => s.value)),
    spread(next.map((s) => s.value)),
    `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    `${median(base.map((s) => s.rssMiB)).toFixed(0)} → ${median(next.map((s) => s.rssMiB)).toFixed(0)} MiB`,
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`${runtime}, ${runs} rounds, ${new Date().toISOString()}; ratio > 1: new is ahead\n`);
for (const [i, row] of rows.entries()) {
  console.log(`| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`);
  if (i === 0) console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
}
