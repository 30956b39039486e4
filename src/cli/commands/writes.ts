/**
 * The write commands: `purge`, `compact`, `remove`. Each opens the store as
 * an application does, so it is refused (ErrStoreLocked, exit 2) while
 * another process holds it, asks before changing anything (--yes), syncs
 * before it closes and prints nothing on success.
 */
import { JetStoreError } from "../../errors.ts";
import type { FileStore } from "../../filestore/filestore.ts";
import {
  type Command,
  EXIT_OK,
  EXIT_PROBLEM,
  flag,
  type Invocation,
  stringOption,
} from "../command.ts";
import { confirm } from "../confirm.ts";
import { wholeNumber } from "../numbers.ts";
import { openWritable } from "../open-store.ts";
import { count } from "../output.ts";

const YES = { yes: { type: "boolean", short: "y" } } as const;
const YES_HELP = "  --yes, -y        do not ask (required when stdin is not a terminal)";

/** Opens the store, asks `question(store)`, runs `change`; the exit code. */
async function withStore(
  call: Invocation,
  question: (store: FileStore) => string,
  change: (store: FileStore) => number,
): Promise<number> {
  const store = await openWritable(call.positionals[0]!, call.key);
  try {
    if (!(await confirm(call.io, flag(call, "yes"), question(store)))) {
      await call.io.err.write("nothing changed\n");
      return EXIT_PROBLEM;
    }
    const code = change(store);
    await store.sync();
    return code;
  } finally {
    await store.close();
  }
}

export const purgeCommand: Command = {
  name: "purge",
  summary: "remove every message, or those of a subject (below a sequence, or all but the last N)",
  usage: "purge DIR [--subject F] [--seq SEQ | --keep N] [--yes]",
  help: `Removes messages from the store in DIR: all of them, or those matching
--subject, below --seq, or all but the newest --keep (nats-server's purge).
Sequences keep counting. Refused while another process has the store open.

  --subject F      only subjects matching F (wildcards * and >)
  --seq SEQ        only messages below sequence SEQ
  --keep N         keep the newest N matching messages
${YES_HELP}

example:
  jetstore purge ./data --subject 'orders.east.>' --keep 100 --yes`,
  options: {
    subject: { type: "string" },
    seq: { type: "string" },
    keep: { type: "string" },
    ...YES,
  },
  positionals: { min: 1, max: 1 },
  needsKey: true,
  run(call) {
    const filter = stringOption(call, "subject");
    const seq = wholeNumber(stringOption(call, "seq"), "--seq", 1) ?? 0;
    const keep = wholeNumber(stringOption(call, "keep"), "--keep", 1) ?? 0;
    if (seq > 0 && keep > 0) {
      throw new JetStoreError("ErrInvalidArgument", "--seq and --keep exclude each other");
    }
    const whole = filter === undefined && seq === 0 && keep === 0;
    return withStore(
      call,
      (store) => {
        const n = store.filteredState(1, filter ?? ">").msgs;
        const what = whole ? `all ${count(n)} messages` : `messages of ${filter ?? ">"}`;
        return `Purge ${what} from ${call.positionals[0]}?`;
      },
      (store) => {
        if (whole) store.purge();
        else store.purgeEx(filter ?? ">", seq, keep);
        return EXIT_OK;
      },
    );
  },
};

export const compactCommand: Command = {
  name: "compact",
  summary: "remove every message below a sequence",
  usage: "compact DIR SEQ [--yes]",
  help: `Removes every message of the store in DIR below sequence SEQ (nats-server's
compact); SEQ becomes the first sequence. Refused while another process has
the store open.

${YES_HELP}

example:
  jetstore compact ./data 5000 --yes`,
  options: { ...YES },
  positionals: { min: 2, max: 2 },
  needsKey: true,
  run(call) {
    const seq = wholeNumber(call.positionals[1], "SEQ", 1)!;
    return withStore(
      call,
      () => `Remove every message below ${count(seq)} from ${call.positionals[0]}?`,
      (store) => {
        store.compact(seq);
        return EXIT_OK;
      },
    );
  },
};

export const removeCommand: Command = {
  name: "remove",
  summary: "remove messages by sequence (--erase overwrites their bytes)",
  usage: "remove DIR SEQ... [--erase] [--yes]",
  help: `Removes the messages with the given sequences from the store in DIR; with
--erase their bytes on disk are overwritten too. A sequence given twice is
removed once. Exits 1 if a sequence was not in the store (the others are
removed). Refused while another process has the store open.

  --erase          overwrite the removed messages' bytes on disk
${YES_HELP}

example:
  jetstore remove ./data 17 42 --erase --yes`,
  options: { erase: { type: "boolean" }, ...YES },
  positionals: { min: 2, max: Number.POSITIVE_INFINITY },
  needsKey: true,
  async run(call) {
    // A sequence given twice (17 17, a script's list with repeats) is removed once, not
    // reported as missing the second time.
    const seqs = [...new Set(call.positionals.slice(1).map((s) => wholeNumber(s, "SEQ", 1)!))];
    const erase = flag(call, "erase");
    const missing: number[] = [];
    const code = await withStore(
      call,
      () => `${erase ? "Erase" : "Remove"} ${seqs.length} message(s) from ${call.positionals[0]}?`,
      (store) => {
        for (const seq of seqs) {
          const removed = erase ? store.eraseMsg(seq) : store.removeMsg(seq);
          if (!removed) missing.push(seq);
        }
        return EXIT_OK;
      },
    );
    if (missing.length === 0) return code;
    throw new JetStoreError(
      "ErrStoreMsgNotFound",
      `not in the store: ${missing.join(", ")} (the others were removed)`,
    );
  },
};
