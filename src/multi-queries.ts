/**
 * The queries over several filters at once (nats-server 2.11's
 * LoadNextMsgMulti, LoadPrevMsgMulti, NumPendingMulti, MultiLastMsgs, and
 * the filtered LoadPrevMsg), written once for both engines. Each starts from
 * the per-subject index: the subjects any filter matches, each once, with
 * count, first and last. A subject whose messages all lie on one side of the
 * starting sequence is answered by those numbers; only subjects with
 * messages on both sides ("straddling") need the engine (`MultiIndex`):
 * MemStore binary-searches each subject's list, FileStore scans its
 * subject-id column over just the stretch that can change the answer.
 * Filters that match everything are the engines' unfiltered paths, so the
 * callers hand those over before coming here.
 */
import { type CompiledFilter, compileFilter } from "./subject-match.ts";
import { multiLastSeqs, type SubjectIndex, type SubjectStats } from "./subject-queries.ts";

/** A per-subject index that also answers for a few subjects over a range of sequences. */
export interface MultiIndex extends SubjectIndex {
  /** The first live message in [low, high] on one of `subjects`, or 0. */
  firstAmong(subjects: readonly string[], low: number, high: number): number;
  /** The last live message in [low, high] on one of `subjects`, or 0. */
  lastAmong(subjects: readonly string[], low: number, high: number): number;
  /** How many live messages in [low, high] are on one of `subjects`. */
  countAmong(subjects: readonly string[], low: number, high: number): number;
}

/** True when one of `filters` matches every subject ("" or ">"). */
export function anyMatchesAll(filters: readonly CompiledFilter[]): boolean {
  return filters.some((f) => f.all);
}

/** Each subject some filter matches, once, with exact stats. */
function matching(ix: SubjectIndex, filters: readonly CompiledFilter[]): Map<string, SubjectStats> {
  const out = new Map<string, SubjectStats>();
  for (const f of filters) ix.forEachMatch(f, (subject, s) => out.set(subject, s));
  return out;
}

/**
 * The first sequence at or after `start` whose message matches one of
 * `filters`, or 0: the smallest first sequence of the subjects wholly after
 * `start`, unless a straddling subject has a message before it.
 */
export function nextMultiSeq(
  ix: MultiIndex,
  filters: readonly CompiledFilter[],
  start: number,
): number {
  const from = Math.max(start, ix.firstSeq);
  if (from > ix.lastSeq) return 0;
  let best = 0;
  const straddling: string[] = [];
  for (const [subject, s] of matching(ix, filters)) {
    if (s.last < from) continue;
    if (s.first >= from) {
      if (best === 0 || s.first < best) best = s.first;
    } else straddling.push(subject);
  }
  if (straddling.length === 0) return best;
  const found = ix.firstAmong(straddling, from, best === 0 ? ix.lastSeq : best - 1);
  return found !== 0 ? found : best;
}

/**
 * The last sequence at or before `start` whose message matches one of
 * `filters`, or 0: the largest last sequence of the subjects wholly before
 * `start`, unless a straddling subject has a message after it.
 */
export function prevMultiSeq(
  ix: MultiIndex,
  filters: readonly CompiledFilter[],
  start: number,
): number {
  const to = Math.min(start, ix.lastSeq);
  if (to < ix.firstSeq) return 0;
  let best = 0;
  const straddling: string[] = [];
  for (const [subject, s] of matching(ix, filters)) {
    if (s.first > to) continue;
    if (s.last <= to) {
      if (s.last > best) best = s.last;
    } else straddling.push(subject);
  }
  if (straddling.length === 0) return best;
  const found = ix.lastAmong(straddling, best === 0 ? ix.firstSeq : best + 1, to);
  return found !== 0 ? found : best;
}

/** `prevMultiSeq` for one filter (the filtered loadPrevMsg). */
export function prevMatchSeq(ix: MultiIndex, filter: string, start: number): number {
  return prevMultiSeq(ix, [compileFilter(filter)], start);
}

/**
 * Messages at or after `seq` matching one of `filters`, each counted once
 * even when several filters match it; with `lastPerSubject`, the matching
 * subjects whose last message is at or after `seq`. `validThrough` is the
 * stream's last sequence, as nats'. Straddling subjects are counted over the
 * shorter side of `seq`: what lies after it, or their totals less what lies
 * before.
 */
export function numPendingMulti(
  ix: MultiIndex,
  seq: number,
  filters: readonly CompiledFilter[],
  lastPerSubject: boolean,
): { total: number; validThrough: number } {
  const from = Math.max(seq, ix.firstSeq);
  if (from > ix.lastSeq) return { total: 0, validThrough: ix.lastSeq };
  let total = 0;
  const straddling: string[] = [];
  let straddlingMsgs = 0;
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (const [subject, s] of matching(ix, filters)) {
    if (s.last < from) continue;
    if (lastPerSubject) total++;
    else if (s.first >= from) total += s.msgs;
    else {
      straddling.push(subject);
      straddlingMsgs += s.msgs;
      if (s.first < low) low = s.first;
      if (s.last > high) high = s.last;
    }
  }
  if (straddling.length > 0) {
    total +=
      high - from < from - low
        ? ix.countAmong(straddling, from, high)
        : straddlingMsgs - ix.countAmong(straddling, low, from - 1);
  }
  return { total, validThrough: ix.lastSeq };
}

/**
 * The sequences multiLastMsgs loads: each matching subject's last message at
 * or below `maxSeq` (0: the end), ascending, those below `minSeq` left out.
 * `maxAllowed` bounds them all, the left-out ones included, as nats counts.
 */
export function multiLastMsgSeqs(
  ix: SubjectIndex,
  filters: CompiledFilter[],
  minSeq: number,
  maxSeq: number,
  maxAllowed: number,
): number[] {
  const seqs = multiLastSeqs(ix, filters, maxSeq, maxAllowed);
  const at = seqs.findIndex((s) => s >= minSeq);
  return at < 0 ? [] : seqs.slice(at);
}
