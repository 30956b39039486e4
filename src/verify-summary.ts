/**
 * The text summary `npm run verify` prints for a VerifyReport: one aligned
 * line per fact, then every damaged region and lost range with the file and
 * offset to look at, and a last line a script can grep (`result: OK`).
 */
import type { VerifyReport } from "./verify.ts";

/** The summary of `report`, newline-terminated. */
export function formatVerifyReport(report: VerifyReport): string {
  const r = report;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(12)}${value}`);
  row("store", r.dir);
  const leftover =
    r.leftoverBlocks > 0
      ? `; ${count(r.leftoverBlocks)} left over from a completed removal, not scanned`
      : "";
  row("blocks", `${count(r.blocks)} (${size(r.blockBytes)})${leftover}`);
  row("records", `${count(r.records)} verified`);
  row("messages", `${count(r.messages)} (${size(r.messageBytes)}), ${count(r.removed)} removed`);
  const range = r.messages > 0 ? `${count(r.firstSeq)} … ${count(r.lastSeq)}` : "none";
  row("sequences", `${range}; highest issued ${count(r.highestSeq)}`);
  row("checkpoint", r.checkpoint);
  row("damage", r.damaged.length === 0 ? "none" : `${count(r.damaged.length)} region(s)`);
  for (const d of r.damaged) {
    const where =
      d.kind === "missing block"
        ? d.file
        : `${d.file} at offset ${count(d.offset)}, ${size(d.length)}${
            d.fileOffset === undefined
              ? ""
              : ` (chunk at file offset ${count(d.fileOffset)}, ${size(d.fileLength ?? 0)})`
          }`;
    lines.push(`  ${d.kind}: ${where}`);
  }
  const lostSeqs = r.lost.reduce((sum, l) => sum + l.last - l.first + 1, 0);
  row(
    "lost",
    r.lost.length === 0 ? "none" : `${count(lostSeqs)} sequence(s) in ${r.lost.length} range(s)`,
  );
  for (const l of r.lost) {
    const seqs = l.first === l.last ? `seq ${l.first}` : `seq ${l.first} … ${l.last}`;
    lines.push(`  ${seqs}: block ${l.block} (${l.file}) at offset ${count(l.offset)}`);
  }
  row("time", `${(r.elapsedMs / 1000).toFixed(2)} s`);
  row("result", r.ok ? "OK" : "DAMAGED");
  return `${lines.join("\n")}\n`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Bytes in B, KiB, MiB or GiB. */
export function size(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
