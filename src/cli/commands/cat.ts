/** `jetstore cat DIR`: messages, one per line, optionally following the store as it grows. */
import { defaultFileSystem } from "../../../runtimes/detect.ts";
import { joinPath } from "../../../runtimes/fs.ts";
import { BLOCKS_DIR } from "../../filestore/recovery.ts";
import type { StoredMsg } from "../../types.ts";
import { type Command, EXIT_OK, flag, type Invocation } from "../command.ts";
import { messageJson, messageLine } from "../message-format.ts";
import { checkStoreExists, openReadOnly } from "../open-store.ts";
import { toJson } from "../output.ts";
import { SELECTION_OPTIONS, selectionOf, startSeq, walk } from "../select.ts";

const FOLLOW_POLL_MS = 250;

export const catCommand: Command = {
  name: "cat",
  summary: "print messages, one per line (--follow to keep printing)",
  usage:
    "cat DIR [--subject F] [--from SEQ | --since TIME | --last N] [--limit N] [--follow] [--json]",
  help: `Prints the messages of the store in DIR in sequence order, one per line:
sequence, time, subject, headers in braces, then the payload as text when it
is UTF-8 (quoted when it holds line breaks), else as base64:...
Takes no lock and changes nothing on disk.

  --subject F      only subjects matching F (wildcards * and >)
  --from SEQ       start at sequence SEQ
  --since TIME     start at an ISO 8601 time, or a duration ago (90s, 15m, 2h, 7d)
  --last N         only the last N matching messages
  --limit N        stop after N messages
  --follow, -f     keep printing new messages as the store grows (Ctrl-C ends)
  --json           one JSON object per line (payload as text or base64)

example:
  jetstore cat ./data --subject 'orders.*.42' --last 10`,
  options: {
    ...SELECTION_OPTIONS,
    last: { type: "string" },
    follow: { type: "boolean", short: "f" },
    json: { type: "boolean" },
  },
  positionals: { min: 1, max: 1 },
  needsKey: true,
  async run(call) {
    const dir = call.positionals[0]!;
    const sel = selectionOf(call);
    let left = sel.limit ?? Number.POSITIVE_INFINITY;
    const print = printer(call);
    // Taken before each view is opened: a write between the opening and the
    // next look changes the files again, so it is never missed.
    const follow = flag(call, "follow");
    if (follow) checkStoreExists(dir);
    let seen = follow ? filesSignature(dir) : "";
    let store = await openReadOnly(dir, call.key);
    let next: number;
    try {
      const start = startSeq(store, sel);
      left -= await walk(store, sel.filter, start, left, print.each);
      next = Math.max(print.lastSeq + 1, start);
    } finally {
      await store.close();
    }
    if (!follow) return EXIT_OK;
    // A read-only view is a picture of one moment: follow opens a new one whenever the files change.
    while (left > 0) {
      await sleep(FOLLOW_POLL_MS);
      const now = filesSignature(dir);
      if (now === seen) continue;
      seen = now;
      store = await openReadOnly(dir, call.key);
      try {
        left -= await walk(store, sel.filter, next, left, print.each);
        next = Math.max(print.lastSeq + 1, next);
      } finally {
        await store.close();
      }
    }
    return EXIT_OK;
  },
};

function printer(call: Invocation) {
  const json = flag(call, "json");
  const out = call.io.out;
  const p = {
    lastSeq: 0,
    each: async (m: StoredMsg) => {
      p.lastSeq = m.seq;
      await out.write(json ? `${toJson(messageJson(m))}\n` : messageLine(m, out));
    },
  };
  return p;
}

/** Names, sizes and times of the block files: changes whenever the store is written. */
function filesSignature(dir: string): string {
  const fs = defaultFileSystem();
  const blocks = joinPath(dir, BLOCKS_DIR);
  return fs
    .list(blocks)
    .map((name) => {
      const s = fs.stat(joinPath(blocks, name));
      return `${name}:${s?.size}:${s?.mtimeMs}`;
    })
    .join("|");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
