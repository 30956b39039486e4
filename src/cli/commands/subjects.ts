/** `jetstore subjects DIR [FILTER]`: per-subject counts, first and last sequences. */
import { type Command, EXIT_OK, flag } from "../command.ts";
import { openReadOnly } from "../open-store.ts";
import { count, paint, toJson } from "../output.ts";

export const subjectsCommand: Command = {
  name: "subjects",
  summary: "per-subject message counts, first and last sequences",
  usage: "subjects DIR [FILTER] [--json]",
  help: `Lists the subjects of the store in DIR that match FILTER (default ">",
every subject), sorted by name, with their message count and first and last
sequence. Takes no lock and changes nothing on disk.

  --json           one JSON object: subject → { msgs, first, last }

example:
  jetstore subjects ./data 'orders.east.>'`,
  options: { json: { type: "boolean" } },
  positionals: { min: 1, max: 2 },
  needsKey: true,
  async run(call) {
    const [dir, filter = ">"] = call.positionals as [string, string?];
    const store = await openReadOnly(dir, call.key);
    try {
      const states = store.subjectsState(filter);
      const names = Object.keys(states).sort();
      const out = call.io.out;
      if (flag(call, "json")) {
        const sorted = Object.fromEntries(names.map((n) => [n, states[n]]));
        await out.write(`${toJson(sorted, 2)}\n`);
        return EXIT_OK;
      }
      const width = Math.min(60, Math.max(7, ...names.map((n) => n.length)));
      await out.write(
        `${paint(out, "bold", `${"subject".padEnd(width)} ${"msgs".padStart(12)} ${"first".padStart(12)} ${"last".padStart(12)}`)}\n`,
      );
      for (const name of names) {
        const s = states[name]!;
        await out.write(
          `${name.padEnd(width)} ${count(s.msgs).padStart(12)} ${count(s.first).padStart(12)} ${count(s.last).padStart(12)}\n`,
        );
      }
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};
