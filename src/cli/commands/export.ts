/** `jetstore export DIR`: the messages as JSON lines that `jetstore import` stores again. */
import { type Command, EXIT_OK } from "../command.ts";
import { exportRecord } from "../message-format.ts";
import { openReadOnly } from "../open-store.ts";
import { count } from "../output.ts";
import { progress } from "../progress.ts";
import { SELECTION_OPTIONS, selectionOf, startSeq, walk } from "../select.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "write messages as JSON lines (subject, headers, payload, sequence, time, TTL)",
  usage: "export DIR [--subject F] [--from SEQ | --since TIME] [--limit N] > data.jsonl",
  help: `Writes the messages of the store in DIR to stdout, one JSON object per
line: {"subject","seq","ts","hdr","msg","ttl"}, with ts the timestamp in
nanoseconds as a decimal string, hdr (or null) and msg in base64, so every
byte survives, and ttl the message's TTL in seconds (-1 never expires; left
out when it has none). \`jetstore import\` reads it back. Takes no lock and
changes nothing on disk; progress goes to stderr.

  --subject F      only subjects matching F (wildcards * and >)
  --from SEQ       start at sequence SEQ
  --since TIME     start at an ISO 8601 time, or a duration ago (90s, 15m, 2h, 7d)
  --limit N        stop after N messages

example:
  jetstore export ./data --subject 'orders.>' > orders.jsonl`,
  options: SELECTION_OPTIONS,
  positionals: { min: 1, max: 1 },
  needsKey: true,
  async run(call) {
    const dir = call.positionals[0]!;
    const sel = selectionOf(call);
    const store = await openReadOnly(dir, call.key);
    const bar = progress(call.io.err, "export");
    try {
      const start = startSeq(store, sel);
      const limit = sel.limit ?? Number.POSITIVE_INFINITY;
      const total = Math.min(limit, store.filteredState(Math.max(start, 1), sel.filter).msgs);
      let done = 0;
      await walk(store, sel.filter, start, limit, async (m) => {
        await call.io.out.write(`${JSON.stringify(exportRecord(m, store.msgTtl(m.seq)))}\n`);
        done++;
        bar.update(done, total, `${count(done)} of ${count(total)} messages`);
      });
      return EXIT_OK;
    } finally {
      bar.end();
      await store.close();
    }
  },
};
