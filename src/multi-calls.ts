/**
 * The entry points of the multi-filter queries (and the filtered
 * loadPrevMsg), the same for both engines: argument checks before anything
 * is looked at, filters that match everything handed to the engine's
 * unfiltered paths, the rest answered by multi-queries.ts over the engine's
 * index, and the messages found loaded through the engine (a message lost
 * to damage, which the index still counts, stepped over as the single-filter
 * reads step over it). Each call is synchronous, so its answer is the
 * stream at one point in time.
 */
import {
  anyMatchesAll,
  type MultiIndex,
  multiLastMsgSeqs,
  nextMultiSeq,
  numPendingMulti,
  prevMultiSeq,
} from "./multi-queries.ts";
import { Action, noMultiMatchBefore, noMultiMatchFrom, type StreamRange } from "./store-errors.ts";
import { type CompiledFilter, compileFilter } from "./subject-match.ts";
import type { StoredMsg, StreamStore } from "./types.ts";
import { checkBoolean, checkFilter, checkFilterList, checkOpen, checkSeq } from "./validate.ts";

/** What the entry points need of an engine. */
export interface MultiHost {
  readonly store: StreamStore;
  readonly index: MultiIndex;
  isClosed(): boolean;
  /** The live message `seq` the index names; null when damage swallowed its record (FileStore). */
  load(seq: number): StoredMsg | null;
}

function range(host: MultiHost): StreamRange {
  const s = host.store.fastState();
  return { msgs: s.msgs, first: s.firstSeq, last: s.lastSeq };
}

function compiled(filters: string[]): CompiledFilter[] {
  return filters.map((f) => compileFilter(f));
}

/** loadNextMsgMulti: the first message at or after `start` matching any of `filters`. */
export function loadNextMsgMulti(host: MultiHost, filters: string[], start: number): StoredMsg {
  const action = Action.loadNextMsg;
  checkOpen(host.isClosed(), action);
  checkFilterList(filters, action);
  checkSeq(start, action, "start");
  const fs = compiled(filters);
  if (anyMatchesAll(fs)) return host.store.loadNextMsg("", true, start);
  for (let from = start; ; ) {
    const seq = nextMultiSeq(host.index, fs, from);
    if (seq === 0) throw noMultiMatchFrom(filters, start, range(host));
    const msg = host.load(seq);
    if (msg !== null) return msg;
    from = seq + 1;
  }
}

/** loadPrevMsgMulti: the last message at or before `start` matching any of `filters`. */
export function loadPrevMsgMulti(host: MultiHost, filters: string[], start: number): StoredMsg {
  const action = Action.loadPrevMsg;
  checkOpen(host.isClosed(), action);
  checkFilterList(filters, action);
  checkSeq(start, action, "start");
  return prevMatching(host, filters, start);
}

/** The filtered loadPrevMsg: the last message at or before `start` matching `filter`. */
export function loadPrevMatching(host: MultiHost, start: number, filter: string): StoredMsg {
  const action = Action.loadPrevMsg;
  checkOpen(host.isClosed(), action);
  checkSeq(start, action, "start");
  checkFilter(filter, action);
  return prevMatching(host, [filter], start);
}

function prevMatching(host: MultiHost, filters: string[], start: number): StoredMsg {
  const fs = compiled(filters);
  if (anyMatchesAll(fs)) return host.store.loadPrevMsg(start);
  for (let from = start; from > 0; ) {
    const seq = prevMultiSeq(host.index, fs, from);
    if (seq === 0) break;
    const msg = host.load(seq);
    if (msg !== null) return msg;
    from = seq - 1;
  }
  throw noMultiMatchBefore(filters, start, range(host));
}

/** numPendingMulti: messages at or after `seq` matching any of `filters`, each counted once. */
export function pendingMulti(
  host: MultiHost,
  seq: number,
  filters: string[],
  lastPerSubject: boolean,
): { total: number; validThrough: number } {
  const action = Action.numPending;
  checkOpen(host.isClosed(), action);
  checkSeq(seq, action);
  checkFilterList(filters, action);
  checkBoolean(lastPerSubject, "lastPerSubject", action);
  const fs = compiled(filters);
  if (anyMatchesAll(fs)) return host.store.numPending(seq, "", lastPerSubject);
  return numPendingMulti(host.index, seq, fs, lastPerSubject);
}

/** multiLastMsgs: each matching subject's last message in [minSeq, maxSeq], ascending. */
export function multiLastMsgs(
  host: MultiHost,
  filters: string[],
  minSeq: number,
  maxSeq: number,
  maxAllowed: number,
): StoredMsg[] {
  const action = Action.lastMsgs;
  checkOpen(host.isClosed(), action);
  checkFilterList(filters, action);
  checkSeq(minSeq, action, "minSeq");
  checkSeq(maxSeq, action, "maxSeq");
  checkSeq(maxAllowed, action, "maxAllowed");
  const fs = compiled(filters);
  for (;;) {
    const msgs: StoredMsg[] = [];
    let lost = false;
    for (const seq of multiLastMsgSeqs(host.index, fs, minSeq, maxSeq, maxAllowed)) {
      const msg = host.load(seq);
      if (msg === null) lost = true;
      else msgs.push(msg);
    }
    if (!lost) return msgs;
    // A load found damage the index did not know of; asked again, it steps over that message.
  }
}
