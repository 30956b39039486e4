/**
 * The multi-filter queries in the model test (store-model.ts): their
 * operations, how each is applied, and a cross-check of every answer
 * against the single-filter queries and plain walks of the stream. The
 * model test compares FileStore with MemStore, but both answer these queries
 * through the same shared code (src/multi-queries.ts), so agreeing with each
 * other would not catch a mistake there: the cross-check does.
 */
import fc from "fast-check";
import { compileFilter, filterMatches } from "../../src/subject-match.ts";
import type { StreamStore } from "../../src/types.ts";
import { codeOf, plain } from "./store-helpers.ts";

export type MultiOp =
  | { kind: "loadNextMulti"; filters: number[]; at: number }
  | { kind: "loadPrevMulti"; filters: number[]; at: number }
  | { kind: "loadPrevFiltered"; filter: number; at: number }
  | { kind: "numPendingMulti"; filters: number[]; at: number; lastPerSubject: boolean }
  | {
      kind: "multiLastMsgs";
      filters: number[];
      minAt: number;
      at: number;
      bounded: boolean;
      maxAllowed: number;
    };

export const MULTI_KINDS = new Set<string>([
  "loadNextMulti",
  "loadPrevMulti",
  "loadPrevFiltered",
  "numPendingMulti",
  "multiLastMsgs",
]);

/** The operations, with `filterCount` filters to pick from and `at` as store-model.ts draws it. */
export function multiOpArbs(
  filterCount: number,
  at: fc.Arbitrary<number>,
): { weight: number; arbitrary: fc.Arbitrary<MultiOp> }[] {
  const filter = fc.nat(filterCount - 1);
  const filters = fc.array(filter, { minLength: 1, maxLength: 4 });
  return [
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("loadNextMulti" as const), filters, at }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("loadPrevMulti" as const), filters, at }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("loadPrevFiltered" as const), filter, at }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("numPendingMulti" as const),
        filters,
        at,
        lastPerSubject: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("multiLastMsgs" as const),
        filters,
        minAt: at,
        at,
        bounded: fc.boolean(),
        maxAllowed: fc.nat(5),
      }),
    },
  ];
}

/** The filters of `op` and its sequences, resolved against `store` as it stands. */
function resolve(
  store: StreamStore,
  op: MultiOp,
  names: readonly string[],
): { filters: string[]; start: number; min: number; max: number } {
  const target = (thousandths: number) =>
    Math.round((thousandths / 1000) * (store.fastState().lastSeq + 2));
  const filters = "filters" in op ? op.filters.map((i) => names[i]) : [names[op.filter]];
  const start = target(op.at);
  const min = op.kind === "multiLastMsgs" ? target(op.minAt) : 0;
  const max = op.kind === "multiLastMsgs" && op.bounded ? start : 0;
  return { filters, start, min, max };
}

/** What `op` returned on `store`: a value or an error code. */
export function applyMulti(store: StreamStore, op: MultiOp, names: readonly string[]): unknown {
  const { filters, start, min, max } = resolve(store, op, names);
  let out: unknown;
  const code = codeOf(() => {
    switch (op.kind) {
      case "loadNextMulti":
        out = plain(store.loadNextMsgMulti(filters, start));
        break;
      case "loadPrevMulti":
        out = plain(store.loadPrevMsgMulti(filters, start));
        break;
      case "loadPrevFiltered":
        out = plain(store.loadPrevMsg(start, filters[0]));
        break;
      case "numPendingMulti":
        out = store.numPendingMulti(start, filters, op.lastPerSubject);
        break;
      case "multiLastMsgs":
        out = store.multiLastMsgs(filters, min, max, op.maxAllowed).map(plain);
        break;
    }
  });
  return code === "no error" ? { ok: out } : { error: code };
}

/**
 * What `op` should return on `store`, found without the multi-filter code:
 * single-filter loadNextMsg per filter, walks with the unfiltered
 * loadNextMsg / loadPrevMsg, subjectsState and multiLastSeqs.
 */
export function expectedMulti(store: StreamStore, op: MultiOp, names: readonly string[]): unknown {
  const { filters, start, min, max } = resolve(store, op, names);
  const compiled = filters.map((f) => compileFilter(f));
  const matches = (subject: string) => compiled.some((f) => filterMatches(f, subject));
  const found = (fn: () => number): number => (codeOf(fn) === "no error" ? fn() : 0);
  switch (op.kind) {
    case "loadNextMulti": {
      let best = 0;
      for (const f of filters) {
        const seq = found(() => store.loadNextMsg(f, true, start).seq);
        if (seq !== 0 && (best === 0 || seq < best)) best = seq;
      }
      return best === 0 ? { error: "ErrStoreEOF" } : { ok: plain(store.loadMsg(best)) };
    }
    case "loadPrevMulti":
    case "loadPrevFiltered": {
      for (let s = found(() => store.loadPrevMsg(start).seq); s !== 0; ) {
        const msg = store.loadMsg(s);
        if (matches(msg.subject)) return { ok: plain(msg) };
        const from = s - 1;
        s = from < 1 ? 0 : found(() => store.loadPrevMsg(from).seq);
      }
      return { error: "ErrStoreEOF" };
    }
    case "numPendingMulti": {
      const validThrough = store.fastState().lastSeq;
      if (op.lastPerSubject) {
        const subjects = new Set<string>();
        for (const f of filters) {
          for (const [subject, s] of Object.entries(store.subjectsState(f))) {
            if (s.last >= start) subjects.add(subject);
          }
        }
        return { ok: { total: subjects.size, validThrough } };
      }
      let total = 0;
      for (let s = found(() => store.loadNextMsg("", false, start).seq); s !== 0; ) {
        if (matches(store.subjectForSeq(s))) total++;
        const from = s + 1;
        s = found(() => store.loadNextMsg("", false, from).seq);
      }
      return { ok: { total, validThrough } };
    }
    case "multiLastMsgs": {
      let seqs: number[];
      try {
        seqs = store.multiLastSeqs(filters, max, op.maxAllowed);
      } catch (err) {
        return { error: (err as { code: string }).code };
      }
      return { ok: seqs.filter((s) => s >= min).map((s) => plain(store.loadMsg(s))) };
    }
  }
}
