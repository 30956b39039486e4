/** `jetstore import DIR < data.jsonl`: stores the messages of an export. */

import process from "node:process";
import { createInterface } from "node:readline";
import { JetStoreError } from "../../errors.ts";
import type { FileStore } from "../../filestore/filestore.ts";
import { type Command, EXIT_OK, flag } from "../command.ts";
import { fromBase64 } from "../message-format.ts";
import { openWritable } from "../open-store.ts";
import { count } from "../output.ts";
import { progress } from "../progress.ts";

export const importCommand: Command = {
  name: "import",
  summary: "store the messages of an export (JSON lines on stdin)",
  usage: "import DIR [--keep-seq] < data.jsonl",
  help: `Reads JSON lines as \`jetstore export\` writes them from stdin and stores
each message in the store in DIR (created if missing). Without --keep-seq
messages get the store's next sequences and the time of the import; with it
each keeps its sequence and timestamp (gaps are skipped), which needs a store
whose last sequence is below the first imported one (an empty store, say):
an export imported that way into an empty store gives the same state and
messages. A message's TTL is kept: counted from its timestamp with
--keep-seq (one already past is removed at once), from the import without.
Refused while another process has the store open. Quiet on success. Stops
at the first bad line: the messages before it stay stored, and the error
says how many and through which sequence (resume from that line).

  --keep-seq       keep sequences and timestamps (storeRawMsg)

example:
  jetstore export ./data | jetstore import ./copy --keep-seq`,
  options: { "keep-seq": { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  needsKey: true,
  async run(call) {
    const dir = call.positionals[0]!;
    const keepSeq = flag(call, "keep-seq");
    if (process.stdin.isTTY === true) {
      throw new JetStoreError(
        "ErrInvalidArgument",
        "import reads JSON lines from stdin: jetstore import DIR < data.jsonl",
      );
    }
    const store = await openWritable(dir, call.key, true, { allowMsgTtl: true });
    const bar = progress(call.io.err, "import");
    let line = 0;
    let stored = 0;
    try {
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const text of lines) {
        line++;
        if (text.trim() === "") continue;
        try {
          storeRecord(store, JSON.parse(text), keepSeq);
          stored++;
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          const code = err instanceof JetStoreError ? err.code : "ErrInvalidArgument";
          // Not atomic: what came before stays (and is synced by the close below), so say what to resume from.
          const kept =
            stored === 0
              ? "nothing was stored"
              : `the ${stored} message${stored === 1 ? "" : "s"} before it ${stored === 1 ? "is" : "are"} stored, through sequence ${store.fastState().lastSeq}; import from line ${line} on`;
          throw new JetStoreError(code, `stdin line ${line}: ${why} (${kept})`, { cause: err });
        }
        bar.update(line, 0, `${count(line)} messages`);
      }
      await store.sync();
      return EXIT_OK;
    } finally {
      bar.end();
      await store.close();
    }
  },
};

function field<T>(record: Record<string, unknown>, name: string, type: string): T {
  const value = record[name];
  if (typeof value !== type) {
    throw new JetStoreError("ErrInvalidArgument", `"${name}" must be a ${type}`);
  }
  return value as T;
}

/** Stores one export record. */
function storeRecord(store: FileStore, record: unknown, keepSeq: boolean): void {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new JetStoreError("ErrInvalidArgument", "not a JSON object");
  }
  const r = record as Record<string, unknown>;
  const subject = field<string>(r, "subject", "string");
  const hdr = r.hdr === null || r.hdr === undefined ? null : fromBase64(field(r, "hdr", "string"));
  const msg = fromBase64(field(r, "msg", "string"));
  const ttl = r.ttl === undefined ? undefined : field<number>(r, "ttl", "number");
  if (!keepSeq) {
    store.storeMsg(subject, hdr, msg, ttl);
    return;
  }
  const seq = field<number>(r, "seq", "number");
  const ts = field<string>(r, "ts", "string");
  if (!/^\d+$/.test(ts))
    throw new JetStoreError("ErrInvalidArgument", `"ts" must be decimal nanoseconds`);
  const next = store.fastState().lastSeq + 1;
  if (Number.isSafeInteger(seq) && seq > next) store.skipMsgs(next, seq - next);
  store.storeRawMsg(subject, hdr, msg, seq, BigInt(ts), ttl);
}
