// Summarizes scripts/bench-ab.sh output (one or more files): a Markdown table
// of each workload's median (min–max) for build A ("old") and B ("new"), and
// their ratio (new / old of the figure as measured: for ms, above 1 is slower).
import { readFileSync } from "node:fs";

const rows = process.argv
  .slice(2)
  .flatMap((f) => readFileSync(f, "utf8").trim().split("\n"))
  .map((l) => JSON.parse(l));
const ids = [...new Set(rows.map((r) => r.id))];
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e4 ? `${(v / 1e3).toFixed(0)} k` : v.toFixed(2);
const range = (v) => `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`;
console.log("| workload | unit | old median (min–max) | new median (min–max) | new/old | runs |");
console.log("|---|---|---|---|---|---|");
for (const id of ids) {
  const of = (side) =>
    rows.filter((r) => r.id === id && r.side === side).map((r) => r.sample.value);
  const [a, b] = [of("A"), of("B")];
  const unit = rows.find((r) => r.id === id).sample.unit;
  const ratio = (median(b) / median(a)).toFixed(3);
  console.log(
    `| ${id} | ${unit} | ${range(a)} | ${range(b)} | ${ratio} | ${a.length}+${b.length} |`,
  );
}
