/**
 * FileStore's side of the subject queries: its index (totals whose bounds a
 * removal may leave stale) as the shared queries of subject-queries.ts see
 * it, and what only FileStore answers itself (GetSeqFromTime over blocks,
 * purgeEx's targets), over a small view of the store. Totals come from the
 * per-subject index; only a query that starts in the middle of the stream,
 * or a subject bound that a removal made stale, walks messages. Queries
 * never change the stream, except that resolving a stale bound writes the
 * answer back into the index.
 */

import type { MultiIndex } from "../multi-queries.ts";
import { type CompiledFilter, filterMatches } from "../subject-match.ts";
import { filteredState } from "../subject-queries.ts";
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
  /** Live messages in [low, high] on one of `subjects`, by subject-id column, until `visit` returns false. */
  scanMatching(
    low: number,
    high: number,
    ascending: boolean,
    subjects: readonly string[],
    visit: (seq: number) => boolean,
  ): void;
  /** The first live sequence at or after `seq`, or 0. */
  nextLive(seq: number): number;
  /** True when reading the live message `seq` found its record swallowed by damage (damage.ts). */
  knownLost(seq: number): boolean;
  /** The timestamp of the live message `seq`. */
  timestampOf(seq: number): bigint;
  /** Blocks holding messages, from the one that holds `seq` on. */
  blocksFrom(seq: number): Iterable<{ first: number; last: number }>;
  /** An upper bound of the timestamps of `block`'s live messages. */
  maxTimestamp(block: { first: number; last: number }): bigint;
}

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
    const entry = src.subjects.get(filter.text);
    if (entry !== undefined) visit(filter.text, entry);
  } else {
    src.subjects.trie.forEachMatch(filter.tokens, visit);
  }
}

/**
 * The index as the shared subject queries see it (subject-queries.ts,
 * multi-queries.ts): totals straight from it, exact bounds resolved when
 * asked for, and counts from the middle of the stream, or the messages of a
 * few subjects in a range, by one scan of the subject-id columns.
 */
export function subjectIndex(src: QuerySource): MultiIndex {
  const among = (
    subjects: readonly string[],
    low: number,
    high: number,
    ascending: boolean,
    visit: (seq: number) => boolean,
  ) => src.scanMatching(low, high, ascending, subjects, visit);
  return {
    firstAmong: (subjects, low, high) => {
      let found = 0;
      among(subjects, low, high, true, (seq) => {
        found = seq;
        return false;
      });
      return found;
    },
    lastAmong: (subjects, low, high) => {
      let found = 0;
      among(subjects, low, high, false, (seq) => {
        found = seq;
        return false;
      });
      return found;
    },
    countAmong: (subjects, low, high) => {
      let n = 0;
      among(subjects, low, high, true, () => {
        n++;
        return true;
      });
      return n;
    },
    get firstSeq() {
      return src.firstSeq;
    },
    get lastSeq() {
      return src.lastSeq;
    },
    forEachTotal: (filter, visit) =>
      forEachMatching(src, filter, (s, entry) => visit(s, entry.msgs)),
    forEachMatch: (filter, visit) =>
      forEachMatching(src, filter, (subject, entry) =>
        visit(subject, resolved(src, subject, entry)),
      ),
    countFrom: (filter, from) => countFrom(src, filter, from),
    lastAtOrBefore: (subject, stats, bound) => {
      let last = 0;
      src.scanBackward(bound, stats.first, (s, name) => {
        if (name !== subject) return true;
        last = s;
        return false;
      });
      return last;
    },
    readable: (seq) => !src.knownLost(seq),
  };
}

/** Matching messages at or after `from`: the whole stream from the totals, else one scan. */
function countFrom(src: QuerySource, filter: CompiledFilter, from: number): SimpleState {
  if (filter.all && from <= src.firstSeq) {
    let msgs = 0;
    let first = 0;
    let last = 0;
    for (const [subject, entry] of src.subjects.map) {
      const e = resolved(src, subject, entry);
      msgs += e.msgs;
      if (first === 0 || e.first < first) first = e.first;
      if (e.last > last) last = e.last;
    }
    return { msgs, first, last };
  }
  let msgs = 0;
  let first = 0;
  let last = 0;
  const count = (s: number) => {
    msgs++;
    if (first === 0) first = s;
    last = s;
    return true;
  };
  if (filter.all) {
    src.scanForward(from, src.lastSeq, count);
    return { msgs, first, last };
  }
  // By subject id: no record's subject is read, and blocks without a match are skipped.
  const subjects: string[] = [];
  forEachMatching(src, filter, (subject) => subjects.push(subject));
  if (subjects.length > 0) src.scanMatching(from, src.lastSeq, true, subjects, count);
  return { msgs, first, last };
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
  const state = filteredState(subjectIndex(src), 0, filter);
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
