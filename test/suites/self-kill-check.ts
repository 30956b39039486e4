/**
 * Checks a store reopened after a self-kill against the model. What may be
 * there is bounded by a window of model states: the last one the child
 * acknowledged and every one a step it had started could have led to. A
 * kill loses nothing the OS was given (the page cache survives), so:
 * - each sequence holds one of the values it had in the window, byte for
 *   byte: an acknowledged message stays, an acknowledged removal stays
 *   removed, and a message half-rewritten (an erase) or from an older
 *   generation (before a truncate) is never returned;
 * - `state()` agrees with a scan of every sequence (count, bytes, first
 *   sequence, deleted list, subjects) and with `loadNextMsg`;
 * - the last sequence is one the window allows;
 * - `state().lost` names only messages a step still in flight was storing:
 *   never one acknowledged live, never one an acknowledged operation removed.
 */
import type { FileStore } from "../../src/filestore/filestore.ts";
import type { StoredMsg } from "../../src/types.ts";
import { type ModelState, payloadOf, type Written } from "./self-kill-scenario.ts";
import { codeOf, expectedSize, sameBytes } from "./store-helpers.ts";

/** What a scan found: by sequence, a model key (`subject|gen|size`), or a description of foreign bytes. */
export type Observed = Map<number, string>;

const ABSENT = "absent";

const keyOf = (m: Written) => `${m.subject}|${m.gen}|${m.size}`;

/** What a scan of a reopened store found, and where `state()` and the indexes disagree with it. */
export interface Scan {
  observed: Observed;
  lastSeq: number;
  lost: Set<number>;
  problems: string[];
}

/**
 * Reads every sequence up to past anything the scenario wrote and checks
 * `state()`, `subjectsTotals` and `loadNextMsg` against what the reads found.
 * `history` is every model state, to recognise what was written where.
 */
export function scanStore(store: FileStore, history: ModelState[]): Scan {
  const problems: string[] = [];
  const state = store.state();
  const lost = new Set(state.lost?.msgs ?? []);
  const top = Math.max(state.lastSeq, ...history.map(maxSeq));
  const observed: Observed = new Map();
  let bytes = 0;
  const subjects = new Map<string, number>();
  for (let seq = 1; seq <= top + 1; seq++) {
    let msg: StoredMsg | null = null;
    const code = codeOf(() => {
      msg = store.loadMsg(seq);
    });
    if (msg === null) {
      const beyond = code === "ErrStoreEOF" && seq > state.lastSeq;
      const damaged = code === "ErrCorrupt" && lost.has(seq);
      if (code !== "ErrStoreMsgNotFound" && !beyond && !damaged) {
        problems.push(`seq ${seq}: loadMsg threw ${code}`);
      }
      continue;
    }
    const m = msg as StoredMsg;
    observed.set(seq, identify(m, seq, history));
    bytes += expectedSize(m.subject, m.hdr?.length ?? 0, m.msg.length);
    subjects.set(m.subject, (subjects.get(m.subject) ?? 0) + 1);
    if (seq > state.lastSeq) problems.push(`seq ${seq}: returned above lastSeq ${state.lastSeq}`);
  }
  const live = [...observed.keys()];
  // An empty stream's first sequence is the next one to be issued, or 0 while none ever was (as nats-server).
  const first = live[0] ?? (state.lastSeq === 0 ? 0 : state.lastSeq + 1);
  const deleted: number[] = [];
  if (live.length > 0) {
    for (let seq = first; seq <= state.lastSeq; seq++) if (!observed.has(seq)) deleted.push(seq);
  }
  const expected = {
    msgs: live.length,
    bytes,
    firstSeq: first,
    numDeleted: deleted.length,
    deleted,
    numSubjects: subjects.size,
  };
  const got = {
    msgs: state.msgs,
    bytes: state.bytes,
    firstSeq: state.firstSeq,
    numDeleted: state.numDeleted,
    deleted: state.deleted ?? [],
    numSubjects: state.numSubjects,
  };
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    problems.push(`state() ${JSON.stringify(got)} but a scan finds ${JSON.stringify(expected)}`);
  }
  const totals = store.subjectsTotals(">");
  if (JSON.stringify(sortedEntries(totals)) !== JSON.stringify(sortedEntries(subjects))) {
    problems.push(
      `subjectsTotals(">") ${JSON.stringify(totals)} but a scan finds ${JSON.stringify(Object.fromEntries(subjects))}`,
    );
  }
  const next = scanNext(store);
  if (next.join() !== live.join()) {
    problems.push(`loadNextMsg walks [${next}] but loadMsg finds [${live}]`);
  }
  return { observed, lastSeq: state.lastSeq, lost, problems };
}

/**
 * Where a scan breaks the rules above for `window`: `window[0]` is the state
 * the child acknowledged last, the rest are the states after each step it
 * started since.
 */
export function judge(scan: Scan, window: ModelState[]): string[] {
  const problems: string[] = [];
  const top = Math.max(scan.lastSeq, ...window.map(maxSeq));
  for (let seq = 1; seq <= top + 1; seq++) {
    const allowed = new Set(window.map((s) => valueAt(s, seq)));
    const got = scan.observed.get(seq) ?? ABSENT;
    if (allowed.has(got) || (got === ABSENT && scan.lost.has(seq))) continue;
    if (got === ABSENT)
      problems.push(`seq ${seq}: missing, but ${describeValues(allowed)} must be there`);
    else
      problems.push(
        `seq ${seq}: returned ${describeValue(got)}, but only ${describeValues(allowed)} is possible`,
      );
  }
  const low = Math.min(...window.map((s) => s.lastSeq));
  const high = Math.max(...window.map((s) => s.lastSeq));
  if (scan.lastSeq < low || scan.lastSeq > high) {
    problems.push(`lastSeq ${scan.lastSeq} outside what the window allows (${low} to ${high})`);
  }
  const lostLive = [...scan.lost].filter((seq) => window[0].live.has(seq));
  const lostGone = [...scan.lost].filter((seq) => !window.some((s) => s.live.has(seq)));
  if (lostLive.length > 0) problems.push(`state().lost names [${lostLive}], acknowledged live`);
  if (lostGone.length > 0) {
    problems.push(
      `state().lost names [${lostGone}], which no step in flight was storing (removed by an acknowledged operation, or never written)`,
    );
  }
  return problems;
}

/** The sequences `loadNextMsg(">", true, …)` visits, in order. */
function scanNext(store: FileStore): number[] {
  const seqs: number[] = [];
  for (let start = 1; ; ) {
    let msg: StoredMsg | null = null;
    const code = codeOf(() => {
      msg = store.loadNextMsg(">", true, start);
    });
    if (msg === null) {
      if (code !== "ErrStoreEOF") seqs.push(Number.NaN);
      return seqs;
    }
    const seq = (msg as StoredMsg).seq;
    seqs.push(seq);
    start = seq + 1;
  }
}

function valueAt(state: ModelState, seq: number): string {
  const m = state.live.get(seq);
  return m === undefined ? ABSENT : keyOf(m);
}

/** The model key of a message whose bytes match one ever written at `seq`, else a description of it. */
function identify(msg: StoredMsg, seq: number, history: ModelState[]): string {
  const seen = new Set<string>();
  for (const state of history) {
    const m = state.live.get(seq);
    if (m === undefined || seen.has(keyOf(m))) continue;
    seen.add(keyOf(m));
    if (
      msg.subject === m.subject &&
      msg.hdr === null &&
      sameBytes(msg.msg, payloadOf(seq, m.gen, m.size))
    )
      return keyOf(m);
  }
  return `foreign: ${msg.subject}, ${msg.hdr === null ? "no" : msg.hdr.length} header bytes, ${msg.msg.length} payload bytes never written at ${seq} (fnv ${fnv(msg.msg)})`;
}

function describeValue(key: string): string {
  if (key === ABSENT) return "nothing";
  if (key.startsWith("foreign: ")) return key.slice("foreign: ".length);
  const [subject, gen, size] = key.split("|");
  return `the ${size}-byte message on ${subject} of generation ${gen}`;
}

function describeValues(keys: Set<string>): string {
  return [...keys].map(describeValue).join(" or ");
}

function maxSeq(state: ModelState): number {
  return Math.max(state.lastSeq, ...state.live.keys());
}

function sortedEntries(map: Map<string, number> | Record<string, number>): [string, number][] {
  const entries = map instanceof Map ? [...map] : Object.entries(map);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function fnv(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
}
