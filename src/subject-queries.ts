/**
 * The subject queries whose answers come from a per-subject index, written
 * once for every engine (nats-server's FilteredState, SubjectsState,
 * SubjectsTotals, NumPending, MultiLastSeqs, AllLastSeqs): an engine offers
 * its index as a `SubjectIndex` and keeps only what depends on how it stores
 * messages — counting from the middle of the stream, and the last message of
 * a subject below a bound. MemStore's index holds each subject's sequences
 * (exact at once); FileStore's holds totals whose bounds a removal may leave
 * stale, resolved by a scan when a query needs them.
 */
import { allocated } from "../runtimes/collection-hint.ts";
import { tooManyLastSeqs } from "./store-errors.ts";
import type { CompiledFilter } from "./subject-match.ts";
import type { SimpleState } from "./types.ts";

/** A subject's live messages: count, first and last sequence. */
export interface SubjectStats {
  readonly msgs: number;
  readonly first: number;
  readonly last: number;
}

/** What the shared queries need from an engine's per-subject index. */
export interface SubjectIndex {
  /** The first live sequence (last + 1 when empty) and the last sequence handed out. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Calls `visit` for each subject matching `filter` with its count only (never resolves bounds). */
  forEachTotal(filter: CompiledFilter, visit: (subject: string, msgs: number) => void): void;
  /** Calls `visit` for each subject matching `filter` with exact stats. */
  forEachMatch(filter: CompiledFilter, visit: (subject: string, stats: SubjectStats) => void): void;
  /** Count, first and last of the messages matching `filter` at or after `from`, a sequence in the stream. */
  countFrom(filter: CompiledFilter, from: number): SimpleState;
  /** The last message on `subject` at or before `bound` (below its last), or 0; never one lost to damage. */
  lastAtOrBefore(subject: string, stats: SubjectStats, bound: number): number;
  /**
   * False when `seq`, a live message the index names, is known to be lost to
   * damage (FileStore, which counts it until it is removed while reads step
   * over it; damage is known once a read of its block found it).
   */
  readable(seq: number): boolean;
}

const NONE: SimpleState = { msgs: 0, first: 0, last: 0 };

/** About the garbage of one count query: its closure and result. */
const QUERY_BYTES = 256;

/** About what one subject costs a subjectsState result: its state object and its slot in the record. */
const RESULT_ENTRY_BYTES = 96;

/**
 * Matching messages at or after `seq`; all three 0 when none matches. From
 * the index's totals unless a subject has messages on both sides of `seq`.
 */
export function filteredState(ix: SubjectIndex, seq: number, filter: CompiledFilter): SimpleState {
  // Polled in loops: under Bun, 270,000 calls in 200 ms left ~60 MiB of garbage uncollected.
  allocated(QUERY_BYTES);
  const from = Math.max(seq, ix.firstSeq);
  if (from > ix.lastSeq) return { ...NONE };
  if (filter.all) return ix.countFrom(filter, from);
  let msgs = 0;
  let first = 0;
  let last = 0;
  let straddles = false;
  ix.forEachMatch(filter, (_, s) => {
    if (straddles || s.last < from) return;
    if (s.first < from) {
      straddles = true;
      return;
    }
    msgs += s.msgs;
    if (first === 0 || s.first < first) first = s.first;
    if (s.last > last) last = s.last;
  });
  return straddles ? ix.countFrom(filter, from) : { msgs, first, last };
}

export function subjectsState(
  ix: SubjectIndex,
  filter: CompiledFilter,
): Record<string, SimpleState> {
  const out: Record<string, SimpleState> = {};
  let entries = 0;
  ix.forEachMatch(filter, (subject, s) => {
    setKey(out, subject, { msgs: s.msgs, first: s.first, last: s.last });
    entries++;
  });
  // Results are often dropped at once (a poll): Bun's collector let 2,000 of them pile up.
  allocated(entries * RESULT_ENTRY_BYTES);
  return out;
}

export function subjectsTotals(ix: SubjectIndex, filter: CompiledFilter): Record<string, number> {
  const out: Record<string, number> = {};
  ix.forEachTotal(filter, (subject, msgs) => setKey(out, subject, msgs));
  return out;
}

/**
 * `validThrough` is the stream's last sequence, as nats'; with
 * `lastPerSubject`, the count of matching subjects whose last message is at
 * or after `seq`.
 */
export function numPending(
  ix: SubjectIndex,
  seq: number,
  filter: CompiledFilter,
  lastPerSubject: boolean,
): { total: number; validThrough: number } {
  if (!lastPerSubject) {
    return { total: filteredState(ix, seq, filter).msgs, validThrough: ix.lastSeq };
  }
  allocated(QUERY_BYTES);
  let total = 0;
  ix.forEachMatch(filter, (_, s) => {
    if (s.last >= seq) total++;
  });
  return { total, validThrough: ix.lastSeq };
}

/**
 * The last sequence at or before `maxSeq` (0: the end) of each subject any
 * filter matches, ascending and distinct; ErrTooManyResults past `maxAllowed`
 * (0: no bound), as nats counts them.
 */
export function multiLastSeqs(
  ix: SubjectIndex,
  filters: CompiledFilter[],
  maxSeq: number,
  maxAllowed: number,
): number[] {
  const bound = maxSeq === 0 ? ix.lastSeq : maxSeq;
  const candidates = new Map<string, SubjectStats>();
  for (const f of filters) ix.forEachMatch(f, (subject, s) => candidates.set(subject, s));
  const seqs = new Set<number>();
  for (const [subject, s] of candidates) {
    if (s.first > bound) continue;
    const last = lastReadable(ix, subject, s, bound);
    if (last === 0) continue;
    seqs.add(last);
    if (maxAllowed > 0 && seqs.size > maxAllowed) throw tooManyLastSeqs(maxAllowed);
  }
  return [...seqs].sort(ascending);
}

/** The last sequence of every subject, ascending. */
export function allLastSeqs(ix: SubjectIndex, all: CompiledFilter): number[] {
  const seqs: number[] = [];
  ix.forEachMatch(all, (subject, s) => {
    const last = lastReadable(ix, subject, s, s.last);
    if (last !== 0) seqs.push(last);
  });
  return seqs.sort(ascending);
}

/**
 * `subject`'s last message at or before `bound`, or 0. A last lost to damage
 * is stepped over, as loadLastMsg steps over it: the index still names it.
 */
function lastReadable(ix: SubjectIndex, subject: string, s: SubjectStats, bound: number): number {
  if (s.last <= bound) {
    if (ix.readable(s.last)) return s.last;
    bound = s.last - 1;
  }
  return bound < s.first ? 0 : ix.lastAtOrBefore(subject, s, bound);
}

function ascending(a: number, b: number): number {
  return a - b;
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
