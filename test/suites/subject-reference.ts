/**
 * Brute-force answers to every subject query, computed from a plain list of
 * the messages a store holds: the oracles for the subject suites. Nothing
 * here shares code with src/: matching compiles a filter to a regular
 * expression (the engines walk tokens), and every query is a filter over the
 * whole list, so a bug in an engine's index cannot hide in its oracle.
 */
import type { SimpleState, StreamStore } from "../../src/types.ts";

export interface RefMsg {
  seq: number;
  subject: string;
  ts: bigint;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * nats' matching, from its definition: `*` is one non-empty token, `>` one or
 * more trailing tokens, "" and ">" everything, every other token literal.
 */
export function refMatches(subject: string, filter: string): boolean {
  if (filter === "" || filter === ">") return true;
  const pattern = filter
    .split(".")
    .map((token) => (token === "*" ? "[^.]+" : token === ">" ? ".+" : escapeRegExp(token)))
    .join("\\.");
  // `s`: a subject may hold U+2028, which `.` would not match otherwise.
  return new RegExp(`^${pattern}$`, "su").test(subject);
}

/** Every message of `store`, in order, read with `loadNextMsg` and `loadMsg` only. */
export function readAll(store: StreamStore): RefMsg[] {
  const out: RefMsg[] = [];
  const total = store.fastState().msgs;
  for (let seq = 0; out.length < total; ) {
    const sm = store.loadNextMsg("", false, seq);
    out.push({ seq: sm.seq, subject: sm.subject, ts: sm.ts });
    seq = sm.seq + 1;
  }
  return out;
}

function stateOf(msgs: RefMsg[]): SimpleState {
  if (msgs.length === 0) return { msgs: 0, first: 0, last: 0 };
  return { msgs: msgs.length, first: msgs[0].seq, last: msgs[msgs.length - 1].seq };
}

export function refFilteredState(msgs: RefMsg[], seq: number, filter: string): SimpleState {
  return stateOf(msgs.filter((m) => m.seq >= seq && refMatches(m.subject, filter)));
}

function bySubject(msgs: RefMsg[], filter: string): Map<string, RefMsg[]> {
  const out = new Map<string, RefMsg[]>();
  for (const m of msgs) {
    if (!refMatches(m.subject, filter)) continue;
    const list = out.get(m.subject);
    if (list === undefined) out.set(m.subject, [m]);
    else list.push(m);
  }
  return out;
}

/** subjectsState as sorted [subject, state] pairs. */
export function refSubjectsState(msgs: RefMsg[], filter: string): [string, SimpleState][] {
  return [...bySubject(msgs, filter)]
    .map(([s, list]): [string, SimpleState] => [s, stateOf(list)])
    .sort(byKey);
}

/** subjectsTotals as sorted [subject, count] pairs. */
export function refSubjectsTotals(msgs: RefMsg[], filter: string): [string, number][] {
  return [...bySubject(msgs, filter)]
    .map(([s, list]): [string, number] => [s, list.length])
    .sort(byKey);
}

/** A query's record as sorted pairs, to compare without caring for key order or prototypes. */
export function sortedEntries<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(byKey);
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function refNumPending(
  msgs: RefMsg[],
  seq: number,
  filter: string,
  lastPerSubject: boolean,
  lastSeq: number,
): { total: number; validThrough: number } {
  const from = msgs.filter((m) => m.seq >= seq && refMatches(m.subject, filter));
  const total = lastPerSubject ? new Set(from.map((m) => m.subject)).size : from.length;
  return { total, validThrough: lastSeq };
}

/** The sequences multiLastSeqs returns, or the error code it throws. */
export function refMultiLastSeqs(
  msgs: RefMsg[],
  filters: string[],
  maxSeq: number,
  maxAllowed: number,
): number[] | string {
  const last = new Map<string, number>();
  for (const m of msgs) {
    if ((maxSeq === 0 || m.seq <= maxSeq) && filters.some((f) => refMatches(m.subject, f))) {
      last.set(m.subject, m.seq);
    }
  }
  if (maxAllowed > 0 && last.size > maxAllowed) return "ErrTooManyResults";
  return [...last.values()].sort((a, b) => a - b);
}

export function refAllLastSeqs(msgs: RefMsg[]): number[] {
  return refMultiLastSeqs(msgs, [">"], 0, 0) as number[];
}

export function refSeqFromTime(msgs: RefMsg[], ts: bigint, lastSeq: number): number {
  return msgs.find((m) => m.ts >= ts)?.seq ?? lastSeq + 1;
}

/**
 * The sequences `purgeEx(filter, seq, keep)` removes for a filter other than
 * "" and ">": matching messages below `seq` (when > 0), or all but the newest
 * `keep` matching ones — counted over the filter as a whole, as nats-server.
 */
export function refPurgeTargets(
  msgs: RefMsg[],
  filter: string,
  seq: number,
  keep: number,
): number[] {
  const matching = msgs.filter((m) => refMatches(m.subject, filter)).map((m) => m.seq);
  if (keep > 0) return matching.slice(0, Math.max(0, matching.length - keep));
  return seq > 0 ? matching.filter((s) => s < seq) : matching;
}
