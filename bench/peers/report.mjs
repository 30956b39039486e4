/**
 * The report as Markdown, printed and saved beside the JSON, so the README
 * quotes exactly what a run printed: a matrix of medians with speed relative to
 * jetstore, the full table (min–max, peak RSS, bytes on disk), where jetstore
 * is not first, the machine and its limits.
 */
import { WORKLOAD_INFO } from "./workloads.mjs";

export function formatFigure(value, unit) {
  if (unit === "ms") return `${value.toFixed(value < 10 ? 1 : 0)} ms`;
  if (value >= 100_000) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)} k`;
  return value.toFixed(0);
}

const mib = (bytes) =>
  bytes === undefined
    ? ""
    : bytes < 2 ** 20
      ? `${(bytes / 1024).toFixed(0)} KiB`
      : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const ratio = (r) => (r === undefined ? "" : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (row) => `| ${row.map((cell, c) => String(cell).padEnd(widths[c])).join(" | ")} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ];
}

function cell(figure) {
  if (figure === undefined) return "";
  if (figure.failed) return "failed";
  if (figure.skipped) return "n/a";
  const capped = figure.capped ? " ‡" : "";
  return `${formatFigure(figure.median, figure.unit)}${capped} (${ratio(figure.vsJetstore)})`;
}

/** One row per workload, one column per store: median (speed vs jetstore). */
export function matrix(summary, stores) {
  const rows = [["workload", ...stores]];
  for (const [id, byStore] of Object.entries(summary)) {
    rows.push([`${id} ${WORKLOAD_INFO[id].name}`, ...stores.map((s) => cell(byStore[s]))]);
  }
  return table(rows);
}

/** One row per workload and store, with min–max, peak RSS and bytes on disk. */
export function details(summary, stores) {
  const rows = [["workload", "store", "median (min–max)", "vs jetstore", "peak RSS", "on disk"]];
  for (const [id, byStore] of Object.entries(summary)) {
    for (const store of stores) {
      const f = byStore[store];
      if (f === undefined) continue;
      if (f.median === undefined) {
        rows.push([id, store, f.skipped ? "n/a" : `failed: ${f.failed}`, "", "", ""]);
        continue;
      }
      const range = `${formatFigure(f.median, f.unit)} (${formatFigure(f.min, f.unit)}–${formatFigure(f.max, f.unit)})`;
      rows.push([
        id,
        store,
        `${range}${f.unit === "ms" ? "" : ` ${f.unit}`}${f.capped ? ` ‡ ${f.capped}` : ""}`,
        ratio(f.vsJetstore),
        mib(f.rssMiB * 2 ** 20),
        mib(f.diskBytes),
      ]);
    }
  }
  return table(rows);
}

function standing({ first, jetstoreVsFirst }) {
  if (first === "jetstore") return "jetstore first";
  const verdict = jetstoreVsFirst >= 0.9 ? "within 10 % of" : "behind";
  return `jetstore ${verdict} ${first} (${ratio(jetstoreVsFirst)} of its speed)`;
}

/**
 * One line per workload: where jetstore stands among each group of stores,
 * e.g. `{ "embedded libraries": [...], "durable stores": [...] }` of leaders().
 */
export function standings(groups) {
  const byId = {};
  for (const [label, rows] of Object.entries(groups)) {
    for (const row of rows) (byId[row.id] ??= []).push(`among ${label}: ${standing(row)}`);
  }
  return Object.entries(byId).map(([id, parts]) => `- ${id}: ${parts.join("; ")}`);
}

export function machineLines(machine, limits, memcpy, jetstoreShare) {
  const lines = [
    `- CPU: ${machine.cpu}; memory ${machine.memoryGiB} GiB (${machine.freeGiB} GiB free at start); Linux ${machine.kernel}; Node ${machine.node}`,
    `- disk: ${machine.disk}`,
    `- memory copy (Buffer.copy, 64 MiB): ${memcpy.toFixed(1)} GB/s`,
  ];
  if (limits === null) {
    lines.push("- disk limits: fio not installed (apt-get install fio)");
    return lines;
  }
  const f = limits.fdatasyncUs;
  lines.push(
    `- disk sequential write (${limits.fio}, 1 MiB writes, fsync at end): ${limits.seqWriteMBps.toFixed(0)} MB/s`,
    `- disk 4 KiB write + fdatasync: mean ${f.mean.toFixed(0)} µs, p50 ${f.p50.toFixed(0)} µs, p99 ${f.p99.toFixed(0)} µs (${limits.syncedWritesPerSec.toFixed(0)} synced writes/s)`,
  );
  for (const share of jetstoreShare) {
    lines.push(
      `- jetstore ${share.id}: ${share.payloadMBps.toFixed(0)} MB/s of payload, ${share.diskMBps.toFixed(0)} MB/s written to disk = ${(share.fraction * 100).toFixed(0)} % of the disk's sequential write bandwidth`,
    );
  }
  return lines;
}
