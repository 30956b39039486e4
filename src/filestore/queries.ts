/**
 * FileStore's subject queries (nats-server's FilteredState, SubjectsState,
 * NumPending, MultiLastSeqs, GetSeqFromTime …) over a small view of the
 * store. Totals come from the per-subject index; only a query that starts in
 * the middle of the stream, or a subject bound that a removal made stale,
 * walks messages. Queries never change the stream, except that resolving a
 * stale bound writes the answer back into the index.
 */
import { tooManyLastSeqs } from "../store-errors.ts";
import { type CompiledFilter, filterMatches } from "../subject-match.ts";
import type { SimpleState } from "../types.ts";
import type { SubjectEntry, SubjectTotals } from "./subject-totals.ts";

/** What the queries need from the store. */
export interface QuerySource {
  readonly subjects: SubjectTotals;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Calls `visit` for each live message in [from, to], ascending, until it returns false. */
  scanForward(from: number, to: number, visit: (seq: number, subject: string) => boolean): void;
  /** The same, descending from `from` down to `to`. */
  scanBackward(from: number, to: number, visit: (seq: number, subject: string) => boolean): void;
  /** The first live sequence at or after `seq`, or 0. */
  nextLive(seq: number): number;
  /** The timestamp of the live message `seq`. */
  timestampOf(seq: number): bigint;
  /** Blocks holding messages, from the one that holds `seq` on. */
  blocksFrom(seq: number): Iterable<{ first: number; last: number }>;
  /** An upper bound of the timestamps of `block`'s live messages. */
  maxTimestamp(block: { first: number; last: number }): bigint;
}

const NONE: SimpleState = { msgs: 0, first: 0, last: 0 };

/** The index entry of `subject` with exact first and last sequences. */
export function resolved(src: QuerySource, subject: string, entry: SubjectEntry): SubjectEntry {
  if (entry.first === 0) {
    src.scanForward(Math.max(src.firstSeq, entry.firstAtLeast ?? 0), src.lastSeq, (seq, s) => {
      if (s !== subject) return true;
      entry.first = seq;
      return false;
    });
  }
  if (entry.last === 0) {
    src.scanBackward(src.lastSeq, src.firstSeq, (seq, s) => {
      if (s !== subject) return true;
      entry.last = seq;
      return false;
    });
  }
  return entry;
}

/** Calls `visit` for each subject matching `filter`, with its index entry. */
function forEachMatching(
  src: QuerySource,
  filter: CompiledFilter,
  visit: (subject: string, entry: SubjectEntry) => void,
): void {
  if (filter.all) {
    for (const [subject, entry] of src.subjects.map) visit(subject, entry);
  } else if (filter.literal) {
    const entry = src.subjects.map.get(filter.text);
    if (entry !== undefined) visit(filter.text, entry);
  } else {
    src.subjects.trie.forEachMatch(filter.tokens, visit);
  }
}

/** Subjects matching `filter` with their index entries, for loops that stop early. */
function matching(src: QuerySource, filter: CompiledFilter): [string, SubjectEntry][] {
  const found: [string, SubjectEntry][] = [];
  forEachMatching(src, filter, (subject, entry) => found.push([subject, entry]));
  return found;
}

export function filteredState(src: QuerySource, seq: number, filter: CompiledFilter): SimpleState {
  const from = Math.max(seq, src.firstSeq);
  if (from > src.lastSeq) return { ...NONE };
  let msgs = 0;
  let first = 0;
  let last = 0;
  let partial = false;
  for (const [subject, entry] of matching(src, filter)) {
    const e = resolved(src, subject, entry);
    if (e.last < from) continue;
    if (e.first < from) {
      partial = true;
      break;
    }
    msgs += e.msgs;
    if (first === 0 || e.first < first) first = e.first;
    if (e.last > last) last = e.last;
  }
  if (!partial) return { msgs, first, last };
  // Some subject has messages on both sides of `from`: count from there.
  msgs = 0;
  first = 0;
  last = 0;
  src.scanForward(from, src.lastSeq, (s, subject) => {
    if (filterMatches(filter, subject)) {
      msgs++;
      if (first === 0) first = s;
      last = s;
    }
    return true;
  });
  return { msgs, first, last };
}

export function subjectsState(
  src: QuerySource,
  filter: CompiledFilter,
): Record<string, SimpleState> {
  const out: Record<string, SimpleState> = {};
  forEachMatching(src, filter, (subject, entry) => {
    const e = resolved(src, subject, entry);
    setKey(out, subject, { msgs: e.msgs, first: e.first, last: e.last });
  });
  return out;
}

export function subjectsTotals(src: QuerySource, filter: CompiledFilter): Record<string, number> {
  const out: Record<string, number> = {};
  forEachMatching(src, filter, (subject, entry) => setKey(out, subject, entry.msgs));
  return out;
}

/** Sets an own key, even one named "__proto__", which plain assignment would not. */
function setKey<T>(out: Record<string, T>, key: string, value: T): void {
  if (key !== "__proto__") out[key] = value;
  else
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

export function numPending(
  src: QuerySource,
  seq: number,
  filter: CompiledFilter,
  lastPerSubject: boolean,
): { total: number; validThrough: number } {
  if (!lastPerSubject) {
    return { total: filteredState(src, seq, filter).msgs, validThrough: src.lastSeq };
  }
  let total = 0;
  for (const [subject, entry] of matching(src, filter)) {
    if (resolved(src, subject, entry).last >= seq) total++;
  }
  return { total, validThrough: src.lastSeq };
}

export function multiLastSeqs(
  src: QuerySource,
  filters: CompiledFilter[],
  maxSeq: number,
  maxAllowed: number,
): number[] {
  const bound = maxSeq === 0 ? src.lastSeq : maxSeq;
  const seqs = new Set<number>();
  const candidates = new Map<string, SubjectEntry>();
  for (const f of filters)
    for (const [subject, entry] of matching(src, f)) candidates.set(subject, entry);
  for (const [subject, entry] of candidates) {
    const e = resolved(src, subject, entry);
    if (e.first > bound) continue;
    let last = e.last;
    if (last > bound) {
      last = 0;
      src.scanBackward(bound, e.first, (s, name) => {
        if (name !== subject) return true;
        last = s;
        return false;
      });
    }
    if (last === 0) continue;
    seqs.add(last);
    if (maxAllowed > 0 && seqs.size > maxAllowed) {
      throw tooManyLastSeqs(maxAllowed);
    }
  }
  return [...seqs].sort((a, b) => a - b);
}

export function allLastSeqs(src: QuerySource): number[] {
  const seqs: number[] = [];
  for (const [subject, entry] of src.subjects.map) seqs.push(resolved(src, subject, entry).last);
  return seqs.sort((a, b) => a - b);
}

/**
 * The first live message, in sequence order, stamped at or after `ts`.
 * Exact even when `storeRawMsg` stamped messages out of order: blocks whose
 * largest timestamp is below `ts` are skipped, the first that may hold one
 * is walked.
 */
export function seqFromTime(src: QuerySource, ts: bigint): number {
  for (const block of src.blocksFrom(src.firstSeq)) {
    if (src.maxTimestamp(block) < ts) continue;
    let found = 0;
    src.scanForward(block.first, block.last, (seq) => {
      if (src.timestampOf(seq) < ts) return true;
      found = seq;
      return false;
    });
    if (found !== 0) return found;
  }
  return src.lastSeq + 1;
}

/** Matching live sequences to remove for purgeEx, oldest first. */
export function purgeTargets(
  src: QuerySource,
  filter: CompiledFilter,
  seq: number,
  keep: number,
): number[] {
  const state = filteredState(src, 0, filter);
  if (state.msgs === 0) return [];
  let count = state.msgs;
  if (keep > 0) {
    if (keep >= count) return [];
    count -= keep;
  }
  const to = seq > 0 ? Math.min(seq - 1, state.last) : state.last;
  const out: number[] = [];
  src.scanForward(state.first, to, (s, subject) => {
    if (filterMatches(filter, subject)) out.push(s);
    return out.length < count;
  });
  return out;
}
