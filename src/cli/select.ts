/**
 * Which messages `cat` and `export` walk: a subject filter, a start (a
 * sequence, a time, or the last N matches) and a limit, read one at a time
 * with `loadNextMsg` so memory stays flat on a large store.
 */
import { isJetStoreError, JetStoreError } from "../errors.ts";
import { compileFilter, filterMatches, hasWildcard } from "../subject-match.ts";
import type { StoredMsg, StreamStore } from "../types.ts";
import { type Invocation, stringOption } from "./command.ts";
import { parseTime, wholeNumber } from "./numbers.ts";

export interface Selection {
  filter: string;
  from?: number | undefined;
  /** Nanoseconds since the epoch. */
  since?: bigint | undefined;
  last?: number | undefined;
  limit?: number | undefined;
}

/** The options that choose messages, as `parseArgs` takes them. */
export const SELECTION_OPTIONS = {
  subject: { type: "string" },
  from: { type: "string" },
  since: { type: "string" },
  limit: { type: "string" },
} as const;

/** The selection a command's options ask for (`--last` where the command offers it). */
export function selectionOf(call: Invocation): Selection {
  const since = stringOption(call, "since");
  return {
    filter: stringOption(call, "subject") ?? ">",
    from: wholeNumber(stringOption(call, "from"), "--from", 1),
    since: since === undefined ? undefined : parseTime(since),
    last: wholeNumber(stringOption(call, "last"), "--last"),
    limit: wholeNumber(stringOption(call, "limit"), "--limit"),
  };
}

/** The first sequence to look at for `sel` in `store`. */
export function startSeq(store: StreamStore, sel: Selection): number {
  const given = [sel.from, sel.since, sel.last].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new JetStoreError("ErrInvalidArgument", "--from, --since and --last exclude each other");
  }
  const state = store.fastState();
  const first = Math.max(state.firstSeq, 1);
  if (sel.from !== undefined) return Math.max(sel.from, first);
  if (sel.since !== undefined) return store.getSeqFromTime(sel.since);
  if (sel.last !== undefined) return lastStart(store, sel.filter, sel.last, first, state.lastSeq);
  return first;
}

/** Where the last `n` messages matching `filter` begin: a walk back from the end. */
function lastStart(
  store: StreamStore,
  filter: string,
  n: number,
  first: number,
  lastSeq: number,
): number {
  if (n === 0) return lastSeq + 1;
  const compiled = compileFilter(filter);
  let found = 0;
  for (let at = lastSeq; at >= first; ) {
    let m: StoredMsg;
    try {
      m = store.loadPrevMsg(at);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF") || isJetStoreError(err, "ErrStoreMsgNotFound")) break;
      throw err;
    }
    if (filterMatches(compiled, m.subject) && ++found === n) return m.seq;
    at = m.seq - 1;
  }
  return first;
}

/** The matching messages from `start` on, at most `limit`; calls `each` in order. */
export async function walk(
  store: StreamStore,
  filter: string,
  start: number,
  limit: number,
  each: (m: StoredMsg) => Promise<void>,
): Promise<number> {
  const wildcard = hasWildcard(filter);
  let seen = 0;
  for (let at = start; seen < limit; ) {
    let m: StoredMsg;
    try {
      m = store.loadNextMsg(filter, wildcard, at);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF")) break;
      throw err;
    }
    await each(m);
    seen++;
    at = m.seq + 1;
  }
  return seen;
}
