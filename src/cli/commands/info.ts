/** `jetstore info DIR`: what a store holds and what it takes on disk. */

import { size } from "../../verify-summary.ts";
import { type Command, EXIT_OK, EXIT_PROBLEM, flag } from "../command.ts";
import { wholeNumber } from "../numbers.ts";
import { openReadOnly } from "../open-store.ts";
import { count, isoTime, paint, toJson } from "../output.ts";
import { consumerFacts, consumersBeingDeletedIn, diskFacts } from "../store-facts.ts";

export const infoCommand: Command = {
  name: "info",
  summary: "messages, bytes, sequences, subjects, files, consumers of a store",
  usage: "info DIR [--top N] [--json]",
  help: `Shows what the store in DIR holds: messages, bytes, sequences, first and
last times, the subject count and the largest subjects, blocks and bytes on
disk, cipher and compression, the checkpoint's age, the saved consumers
with what each has pending, and consumers whose deletion was decided but not
finished (the store's next open under the retention named finishes it).
Takes no lock and changes nothing on disk.
Exits 1 when the store reports lost messages (run \`jetstore verify\`).

  --top N          how many of the largest subjects to list (default 5)
  --json           one JSON object, times as nanosecond strings

example:
  jetstore info ./data`,
  options: { json: { type: "boolean" }, top: { type: "string" } },
  positionals: { min: 1, max: 1 },
  needsKey: true,
  async run(call) {
    const dir = call.positionals[0]!;
    const top = wholeNumber(call.values.top as string | undefined, "--top") ?? 5;
    const store = await openReadOnly(dir, call.key);
    try {
      const state = store.state();
      const totals = Object.entries(store.subjectsTotals(">"))
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, top)
        .map(([subject, msgs]) => ({ subject, msgs }));
      const disk = diskFacts(dir);
      const consumers = consumerFacts(dir, store, call.key);
      const deleting = consumersBeingDeletedIn(dir);
      const lost = state.lost?.msgs.length ?? 0;
      const { deleted: _deleted, lost: _lost, consumers: _open, ...stream } = state;
      const report = {
        dir,
        ...stream,
        lostMsgs: lost,
        topSubjects: totals,
        disk,
        consumers,
        consumersBeingDeleted: deleting,
      };
      if (flag(call, "json")) {
        await call.io.out.write(`${toJson(report, 2)}\n`);
      } else {
        const o = call.io.out;
        const lines: string[] = [];
        const row = (label: string, value: string) =>
          lines.push(`${paint(o, "bold", label.padEnd(12))}${value}`);
        row("store", dir);
        row("messages", `${count(state.msgs)} (${size(state.bytes)})`);
        const seqs =
          state.lastSeq === 0
            ? "none"
            : `${count(state.firstSeq)} … ${count(state.lastSeq)}, ${count(state.numDeleted)} deleted`;
        row("sequences", seqs);
        if (state.msgs > 0) {
          row("first", isoTime(state.firstTs));
          row("last", isoTime(state.lastTs));
        }
        row("subjects", count(state.numSubjects));
        for (const t of totals) lines.push(`  ${t.subject.padEnd(30)} ${count(t.msgs)}`);
        row(
          "blocks",
          `${count(disk.blocks)} (${size(disk.blockBytes)}); ${size(disk.totalBytes)} on disk`,
        );
        row("at rest", `cipher ${disk.cipher}, compression ${disk.compression}`);
        row(
          "checkpoint",
          disk.checkpointAgeMs === null ? "none" : `written ${age(disk.checkpointAgeMs)} ago`,
        );
        row("consumers", count(consumers.length));
        for (const c of consumers) {
          const filters = c.filters.length === 0 ? ">" : c.filters.join(",");
          lines.push(
            `  ${c.name} (${filters}, ack ${c.ackPolicy}): ${count(c.numPending)} to deliver, ${count(c.ackPending)} awaiting ack, ack floor ${count(c.ackFloor)}`,
          );
        }
        if (deleting.length > 0) {
          row("deleting", count(deleting.length));
          for (const d of deleting) {
            const by = d.retention === null ? "open" : `open under ${d.retention} retention`;
            lines.push(`  ${d.name}: decided, not finished; the store's next ${by} finishes it`);
          }
        }
        if (lost > 0)
          row("lost", paint(o, "red", `${count(lost)} message(s); run jetstore verify`));
        await o.write(`${lines.join("\n")}\n`);
      }
      return lost > 0 ? EXIT_PROBLEM : EXIT_OK;
    } finally {
      await store.close();
    }
  },
};

function age(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}
