/**
 * Contract: subjects and the queries over them — filteredState,
 * subjectsState, subjectsTotals, numPending, multiLastSeqs, allLastSeqs,
 * subjectForSeq, getSeqFromTime, purgeEx and wildcard loads — with
 * nats-server's semantics (memstore.go / filestore.go) and the deliberate
 * differences documented on MemStore. Most tests use the ten messages of
 * DATA and assert literal answers; each answer is also checked against the
 * brute-force reference of subject-reference.ts after removals, compaction,
 * truncation, purges, reopen and random operations.
 */
import fc from "fast-check";
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, snapshot, type TestClock, testClock, withStore } from "./store-helpers.ts";
import {
  readAll,
  refAllLastSeqs,
  refFilteredState,
  refMatches,
  refMultiLastSeqs,
  refNumPending,
  refPurgeTargets,
  refSeqFromTime,
  refSubjectsState,
  refSubjectsTotals,
  sortedEntries,
} from "./subject-reference.ts";

// Bad inputs reach the store through `any`, as they would from JavaScript callers.
// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

/** Subjects of sequences 1 … 10, each stored at time seq × 1000. */
const DATA = [
  "orders.east.1", //  1
  "orders.west.2", //  2
  "audit", //          3
  "orders.east.1", //  4
  "orders.east.2", //  5
  "orders.west.1", //  6
  "注文.東京", //      7
  "orders.east.1", //  8
  "a*b.c", //          9 (a `*` inside a word is an ordinary character)
  "audit", //         10
];

/** Filters the reference checks cover: all, wildcards of every shape, literals, misses. */
const FILTERS = [
  "",
  ">",
  "*",
  "*.*",
  "orders.>",
  "orders.*",
  "orders.*.1",
  "*.east.*",
  "orders.east.1",
  "audit",
  "a*b.c",
  "a*b.*",
  "注文.*",
  "nope",
  "orders.east",
];

function load(store: StreamStore, clock: TestClock): void {
  DATA.forEach((subject, i) => {
    clock.t = BigInt(i + 1) * 1000n;
    store.storeMsg(subject, null, enc(`m${i + 1}`));
  });
}

/** Runs `body` on a store holding DATA. */
function withData(
  factory: StoreFactory,
  body: (store: StreamStore, clock: TestClock) => unknown,
): Promise<void> {
  const clock = testClock();
  return withStore(factory, { now: clock.now }, (store) => {
    load(store, clock);
    return body(store, clock);
  });
}

/** Sequences `loadNextMsg` yields walking from 0 with `filter` as a wildcard. */
function walk(store: StreamStore, filter = ""): number[] {
  const seqs: number[] = [];
  for (let start = 0; ; ) {
    let seq: number;
    try {
      seq = store.loadNextMsg(filter, true, start).seq;
    } catch (err) {
      if ((err as { code?: string }).code === "ErrStoreEOF") return seqs;
      throw err;
    }
    seqs.push(seq);
    start = seq + 1;
  }
}

/** The value `fn` returns, or the code of the error it throws. */
function result(fn: () => unknown): unknown {
  let out: unknown;
  const code = codeOf(() => {
    out = fn();
  });
  return code === "no error" ? out : code;
}

/**
 * Every subject query against the brute-force reference, as [label, got,
 * want] triples; a test expects `got` and `want` to be equal pair by pair.
 */
function againstReference(store: StreamStore): [string, unknown, unknown][] {
  const msgs = readAll(store);
  const { firstSeq, lastSeq } = store.fastState();
  const mid = Math.floor((firstSeq + lastSeq) / 2);
  const seqs = [0, firstSeq, mid, lastSeq, lastSeq + 1];
  const out: [string, unknown, unknown][] = [];
  for (const filter of FILTERS) {
    for (const seq of seqs) {
      out.push([
        `filteredState(${seq}, ${filter})`,
        store.filteredState(seq, filter),
        refFilteredState(msgs, seq, filter),
      ]);
      for (const last of [false, true]) {
        out.push([
          `numPending(${seq}, ${filter}, ${last})`,
          store.numPending(seq, filter, last),
          refNumPending(msgs, seq, filter, last, lastSeq),
        ]);
      }
    }
    out.push([
      `subjectsState(${filter})`,
      sortedEntries(store.subjectsState(filter)),
      refSubjectsState(msgs, filter),
    ]);
    out.push([
      `subjectsTotals(${filter})`,
      sortedEntries(store.subjectsTotals(filter)),
      refSubjectsTotals(msgs, filter),
    ]);
    for (const maxSeq of [0, mid]) {
      out.push([
        `multiLastSeqs([${filter}], ${maxSeq}, 2)`,
        result(() => store.multiLastSeqs([filter], maxSeq, 2)),
        refMultiLastSeqs(msgs, [filter], maxSeq, 2),
      ]);
    }
    const lastMatch = msgs.filter((m) => refMatches(m.subject, filter)).pop();
    out.push([
      `loadLastMsg(${filter})`,
      result(() => store.loadLastMsg(filter).seq),
      lastMatch?.seq ?? "ErrStoreMsgNotFound",
    ]);
  }
  out.push([
    "multiLastSeqs(orders.*.1, audit, *.*)",
    store.multiLastSeqs(["orders.*.1", "audit", "*.*"], 0, 0),
    refMultiLastSeqs(msgs, ["orders.*.1", "audit", "*.*"], 0, 0),
  ]);
  out.push(["allLastSeqs", store.allLastSeqs(), refAllLastSeqs(msgs)]);
  const live = new Map(msgs.map((m) => [m.seq, m.subject]));
  for (let seq = Math.max(0, firstSeq - 1); seq <= lastSeq + 1; seq++) {
    out.push([
      `subjectForSeq(${seq})`,
      result(() => store.subjectForSeq(seq)),
      live.get(seq) ?? "ErrStoreMsgNotFound",
    ]);
  }
  for (const m of msgs.length === 0
    ? []
    : [msgs[0], msgs[msgs.length >> 1], msgs[msgs.length - 1]]) {
    for (const ts of [m.ts - 1n, m.ts, m.ts + 1n]) {
      if (ts < 0n) continue;
      out.push([
        `getSeqFromTime(${ts})`,
        store.getSeqFromTime(ts),
        refSeqFromTime(msgs, ts, lastSeq),
      ]);
    }
  }
  return out;
}

/** Expects every query to equal the reference; on failure the diff names the query. */
function expectReference(expect: TestApi["expect"], store: StreamStore, where: string): void {
  const rows = againstReference(store);
  expect({ where, rows: rows.map(([label, got]) => [label, got]) }).toStrictEqual({
    where,
    rows: rows.map(([label, , want]) => [label, want]),
  });
}

export function subjectTests(api: TestApi, factory: StoreFactory): void {
  api.describe("subjects", () => {
    validationTests(api, factory);
    stateTests(api, factory);
    lastSeqTests(api, factory);
    timeTests(api, factory);
    purgeTests(api, factory);
    loadTests(api, factory);
    argumentTests(api, factory);
    randomTests(api, factory);
  });
}

function validationTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("storeMsg refuses empty and wildcard tokens, and keeps `*` and `>` inside words", async () => {
    await withStore(factory, undefined, (store) => {
      const bad = [".", "a.", ".a", "a..b", "*", ">", "a.*", "*.a", "a.>", "a.*.b"];
      expect(bad.map((s) => [s, codeOf(() => store.storeMsg(s, null, enc("x")))])).toStrictEqual(
        bad.map((s) => [s, "ErrInvalidSubject"]),
      );
      expect(
        bad.map((s) => [s, codeOf(() => store.storeRawMsg(s, null, enc("x"), 1, 1n))]),
      ).toStrictEqual(bad.map((s) => [s, "ErrInvalidSubject"]));
      expect(store.fastState()).toMatchObject({ msgs: 0, lastSeq: 0, numSubjects: 0 });
      const good = ["a*b", ">x", "x>", "**", "a.b*.>>", "注文.*東京"];
      for (const s of good) store.storeMsg(s, null, enc(s));
      expect(good.map((_, i) => store.subjectForSeq(i + 1))).toStrictEqual(good);
      expect(store.filteredState(0, "a*b")).toStrictEqual({ msgs: 1, first: 1, last: 1 });
      expect(store.filteredState(0, "*")).toStrictEqual({ msgs: 4, first: 1, last: 4 });
      expect(store.filteredState(0, "a.b*.*")).toStrictEqual({ msgs: 1, first: 5, last: 5 });
      expect(store.fastState().numSubjects).toBe(6);
    });
  });
}

function stateTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("filteredState counts the matching messages at or after a sequence", async () => {
    await withData(factory, (store) => {
      const cases: [number, string, [number, number, number]][] = [
        [0, "", [10, 1, 10]],
        [1, ">", [10, 1, 10]],
        [5, "", [6, 5, 10]],
        [11, "", [0, 0, 0]],
        [1, "orders.east.1", [3, 1, 8]],
        [2, "orders.east.1", [2, 4, 8]],
        [5, "orders.east.1", [1, 8, 8]],
        [9, "orders.east.1", [0, 0, 0]],
        [1, "orders.*.1", [4, 1, 8]],
        [5, "orders.*.1", [2, 6, 8]],
        [1, "orders.>", [6, 1, 8]],
        [3, "orders.>", [4, 4, 8]],
        [1, "*.*.*", [6, 1, 8]],
        [1, "*.east.*", [4, 1, 8]],
        [1, "*", [2, 3, 10]],
        [4, "*", [1, 10, 10]],
        [1, "*.*", [2, 7, 9]],
        [1, "a*b.c", [1, 9, 9]],
        [1, "a*b.*", [1, 9, 9]],
        [1, "a.*", [0, 0, 0]],
        [1, "nope", [0, 0, 0]],
        [1, "orders.east", [0, 0, 0]],
        [0, "注文.*", [1, 7, 7]],
      ];
      const got = cases.map(([seq, f]) => {
        const s = store.filteredState(seq, f);
        return [seq, f, [s.msgs, s.first, s.last]];
      });
      expect(got).toStrictEqual(cases);
    });
  });

  it("filteredState stays exact through remove, erase, compact and truncate", async () => {
    await withData(factory, (store) => {
      const fs = (seq: number, f: string) => {
        const s = store.filteredState(seq, f);
        return [s.msgs, s.first, s.last];
      };
      store.removeMsg(4);
      expect([fs(2, "orders.east.1"), fs(0, "orders.>"), fs(0, ""), fs(4, "")]).toStrictEqual([
        [1, 8, 8],
        [5, 1, 8],
        [9, 1, 10],
        [6, 5, 10],
      ]);
      store.eraseMsg(1);
      expect([fs(0, "orders.east.1"), fs(0, ""), fs(1, "orders.*.1")]).toStrictEqual([
        [1, 8, 8],
        [8, 2, 10],
        [2, 6, 8],
      ]);
      store.compact(3);
      expect([fs(0, "orders.>"), fs(0, "*"), fs(0, ""), fs(6, "")]).toStrictEqual([
        [3, 5, 8],
        [2, 3, 10],
        [7, 3, 10],
        [5, 6, 10],
      ]);
      store.truncate(8);
      expect([
        fs(0, "*"),
        fs(0, ""),
        fs(9, ""),
        fs(0, "a*b.c"),
        fs(8, "orders.east.1"),
      ]).toStrictEqual([
        [1, 3, 3],
        [5, 3, 8],
        [0, 0, 0],
        [0, 0, 0],
        [1, 8, 8],
      ]);
      store.removeMsg(8);
      expect([fs(0, "orders.east.1"), fs(0, ""), fs(4, "orders.*.*"), fs(8, "")]).toStrictEqual([
        [0, 0, 0],
        [4, 3, 7],
        [2, 5, 6],
        [0, 0, 0],
      ]);
      expect(store.fastState()).toMatchObject({ msgs: 4, firstSeq: 3, lastSeq: 8, numSubjects: 4 });
      expectReference(expect, store, "after remove, erase, compact, truncate");
    });
  });

  it("subjectsState and subjectsTotals report each matching subject", async () => {
    await withData(factory, (store) => {
      const all = {
        "orders.east.1": { msgs: 3, first: 1, last: 8 },
        "orders.west.2": { msgs: 1, first: 2, last: 2 },
        audit: { msgs: 2, first: 3, last: 10 },
        "orders.east.2": { msgs: 1, first: 5, last: 5 },
        "orders.west.1": { msgs: 1, first: 6, last: 6 },
        "注文.東京": { msgs: 1, first: 7, last: 7 },
        "a*b.c": { msgs: 1, first: 9, last: 9 },
      };
      expect(store.subjectsState("")).toStrictEqual(all);
      expect(store.subjectsState(">")).toStrictEqual(all);
      expect(store.subjectsState("orders.*.1")).toStrictEqual({
        "orders.east.1": all["orders.east.1"],
        "orders.west.1": all["orders.west.1"],
      });
      expect(store.subjectsState("orders.east.1")).toStrictEqual({
        "orders.east.1": all["orders.east.1"],
      });
      expect(store.subjectsState("*")).toStrictEqual({ audit: all.audit });
      expect(store.subjectsState("*.*")).toStrictEqual({
        "注文.東京": all["注文.東京"],
        "a*b.c": all["a*b.c"],
      });
      expect(store.subjectsState("a*b.*")).toStrictEqual({ "a*b.c": all["a*b.c"] });
      expect(store.subjectsState("nope")).toStrictEqual({});
      expect(store.subjectsState("orders")).toStrictEqual({});
      expect(store.subjectsTotals("orders.>")).toStrictEqual({
        "orders.east.1": 3,
        "orders.west.2": 1,
        "orders.east.2": 1,
        "orders.west.1": 1,
      });
      expect(store.subjectsTotals("")).toStrictEqual({
        "orders.east.1": 3,
        "orders.west.2": 1,
        audit: 2,
        "orders.east.2": 1,
        "orders.west.1": 1,
        "注文.東京": 1,
        "a*b.c": 1,
      });
      expect(store.subjectsTotals("*.west.*")).toStrictEqual({
        "orders.west.2": 1,
        "orders.west.1": 1,
      });
      expect(store.subjectsTotals("x.>")).toStrictEqual({});
    });
    await withStore(factory, undefined, (store) => {
      expect([store.subjectsState(""), store.subjectsTotals("")]).toStrictEqual([{}, {}]);
    });
  });

  it("subjectsState keeps each subject's first and last exact as messages go", async () => {
    await withData(factory, (store) => {
      store.removeMsg(1);
      expect(store.subjectsState("orders.east.1")).toStrictEqual({
        "orders.east.1": { msgs: 2, first: 4, last: 8 },
      });
      store.removeMsg(8);
      expect(store.subjectsState("orders.east.1")).toStrictEqual({
        "orders.east.1": { msgs: 1, first: 4, last: 4 },
      });
      store.removeMsg(10);
      expect(store.subjectsState("audit")).toStrictEqual({ audit: { msgs: 1, first: 3, last: 3 } });
      store.removeMsg(4);
      expect(store.subjectsTotals("orders.>")).toStrictEqual({
        "orders.west.2": 1,
        "orders.east.2": 1,
        "orders.west.1": 1,
      });
      store.compact(6);
      expect(store.subjectsState("")).toStrictEqual({
        "orders.west.1": { msgs: 1, first: 6, last: 6 },
        "注文.東京": { msgs: 1, first: 7, last: 7 },
        "a*b.c": { msgs: 1, first: 9, last: 9 },
      });
      expect(store.fastState().numSubjects).toBe(3);
      store.purge();
      expect([store.subjectsState(""), store.subjectsTotals(">")]).toStrictEqual([{}, {}]);
    });
  });

  it("a subject named __proto__ is an ordinary key of subjectsState and subjectsTotals", async () => {
    await withStore(factory, undefined, (store) => {
      store.storeMsg("__proto__", null, enc("x"));
      store.storeMsg("constructor", null, enc("y"));
      store.storeMsg("__proto__", null, enc("z"));
      const state = store.subjectsState("");
      const totals = store.subjectsTotals("*");
      expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
      expect(sortedEntries(state)).toStrictEqual([
        ["__proto__", { msgs: 2, first: 1, last: 3 }],
        ["constructor", { msgs: 1, first: 2, last: 2 }],
      ]);
      expect(sortedEntries(totals)).toStrictEqual([
        ["__proto__", 2],
        ["constructor", 1],
      ]);
      expect(sortedEntries(store.subjectsState("__proto__"))).toStrictEqual([
        ["__proto__", { msgs: 2, first: 1, last: 3 }],
      ]);
    });
  });

  it("numPending counts messages, or subjects with lastPerSubject, valid through the last sequence", async () => {
    await withData(factory, (store) => {
      const cases: [number, string, boolean, number][] = [
        [0, "", false, 10],
        [0, "", true, 7],
        [5, "orders.*.1", false, 2],
        [5, "orders.*.1", true, 2],
        [4, "orders.>", false, 4],
        [4, "orders.>", true, 3],
        [7, "orders.>", true, 1],
        [9, "orders.>", false, 0],
        [3, "audit", false, 2],
        [3, "audit", true, 1],
        [4, "audit", true, 1],
        [11, "", false, 0],
        [11, "", true, 0],
        [1, "nope", true, 0],
        [2, "orders.east.1", false, 2],
        [2, "orders.east.1", true, 1],
      ];
      const got = cases.map(([seq, f, last]) => {
        const p = store.numPending(seq, f, last);
        return [seq, f, last, p.validThrough === 10 ? p.total : `validThrough ${p.validThrough}`];
      });
      expect(got).toStrictEqual(cases);
      store.removeMsg(10);
      store.skipMsg();
      expect([
        store.numPending(0, "audit", false),
        store.numPending(4, "audit", true),
        store.numPending(0, "", true),
        store.numPending(11, "", false),
      ]).toStrictEqual([
        { total: 1, validThrough: 11 },
        { total: 0, validThrough: 11 },
        { total: 7, validThrough: 11 },
        { total: 0, validThrough: 11 },
      ]);
      store.purge();
      expect(store.numPending(0, "", true)).toStrictEqual({ total: 0, validThrough: 11 });
    });
    await withStore(factory, undefined, (store) => {
      expect(store.numPending(0, "", false)).toStrictEqual({ total: 0, validThrough: 0 });
    });
  });
}

function lastSeqTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("multiLastSeqs returns each matching subject's last sequence at or below maxSeq, ascending, once", async () => {
    await withData(factory, (store) => {
      const cases: [string[], number, number[]][] = [
        [["orders.*.1"], 0, [6, 8]],
        [["orders.>", "audit"], 0, [2, 5, 6, 8, 10]],
        [["orders.>", "orders.east.*"], 0, [2, 5, 6, 8]],
        [["orders.east.1"], 7, [4]],
        [["orders.east.1"], 3, [1]],
        [["orders.east.2"], 4, []],
        [["audit"], 9, [3]],
        [["audit"], 1000, [10]],
        [[">"], 5, [2, 3, 4, 5]],
        [[""], 0, [2, 5, 6, 7, 8, 9, 10]],
        [["*.*", "a*b.c"], 0, [7, 9]],
        [[], 0, []],
        [["nope"], 0, []],
      ];
      expect(cases.map(([f, max]) => [f, max, store.multiLastSeqs(f, max, 0)])).toStrictEqual(
        cases,
      );
      store.removeMsg(8);
      store.removeMsg(4);
      expect(store.multiLastSeqs(["orders.east.1"], 0, 0)).toStrictEqual([1]);
      expect(store.multiLastSeqs(["orders.east.1"], 7, 0)).toStrictEqual([1]);
      expect(store.multiLastSeqs(["orders.*.1"], 5, 0)).toStrictEqual([1]);
    });
    await withStore(factory, undefined, (store) => {
      expect(store.multiLastSeqs([">"], 0, 1)).toStrictEqual([]);
    });
  });

  it("multiLastSeqs fails with ErrTooManyResults past maxAllowed, counting distinct sequences", async () => {
    await withData(factory, (store) => {
      expect(store.multiLastSeqs(["orders.>"], 0, 4)).toStrictEqual([2, 5, 6, 8]);
      expect(codeOf(() => store.multiLastSeqs(["orders.>"], 0, 3))).toBe("ErrTooManyResults");
      expect(store.multiLastSeqs(["orders.>", "orders.east.*"], 0, 4)).toStrictEqual([2, 5, 6, 8]);
      expect(store.multiLastSeqs(["orders.*.1", "orders.east.1"], 0, 2)).toStrictEqual([6, 8]);
      expect(store.multiLastSeqs([">"], 5, 4)).toStrictEqual([2, 3, 4, 5]);
      expect(codeOf(() => store.multiLastSeqs([">"], 5, 3))).toBe("ErrTooManyResults");
      expect(store.multiLastSeqs(["audit", "*.*"], 0, 3)).toStrictEqual([7, 9, 10]);
      expect(codeOf(() => store.multiLastSeqs(["audit", "*.*", "orders.east.1"], 0, 3))).toBe(
        "ErrTooManyResults",
      );
      expect(store.multiLastSeqs([">"], 0, 0)).toHaveLength(7);
    });
  });

  it("allLastSeqs lists every subject's last sequence, ascending", async () => {
    await withData(factory, (store) => {
      expect(store.allLastSeqs()).toStrictEqual([2, 5, 6, 7, 8, 9, 10]);
      store.removeMsg(8);
      expect(store.allLastSeqs()).toStrictEqual([2, 4, 5, 6, 7, 9, 10]);
      store.removeMsg(10);
      expect(store.allLastSeqs()).toStrictEqual([2, 3, 4, 5, 6, 7, 9]);
      store.purge();
      expect(store.allLastSeqs()).toStrictEqual([]);
    });
    await withStore(factory, undefined, (store) => {
      expect(store.allLastSeqs()).toStrictEqual([]);
    });
  });

  it("subjectForSeq names the subject at a sequence, ErrStoreMsgNotFound anywhere else", async () => {
    await withData(factory, (store) => {
      expect([1, 7, 9, 10].map((seq) => store.subjectForSeq(seq))).toStrictEqual([
        "orders.east.1",
        "注文.東京",
        "a*b.c",
        "audit",
      ]);
      store.removeMsg(4);
      store.compact(3);
      store.skipMsg();
      const missing = [0, 1, 2, 4, 11, 12, Number.MAX_SAFE_INTEGER];
      expect(missing.map((seq) => [seq, codeOf(() => store.subjectForSeq(seq))])).toStrictEqual(
        missing.map((seq) => [seq, "ErrStoreMsgNotFound"]),
      );
      expect(store.subjectForSeq(3)).toBe("audit");
    });
  });
}

function timeTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("getSeqFromTime finds the first message at or after a time, last + 1 past the newest", async () => {
    await withData(factory, (store, clock) => {
      const at = (ts: bigint) => store.getSeqFromTime(ts);
      expect(
        [0n, 1000n, 1001n, 5000n, 9999n, 10_000n, 10_001n, (1n << 63n) - 1n].map(at),
      ).toStrictEqual([1, 1, 2, 5, 10, 10, 11, 11]);
      store.removeMsg(5);
      expect([4500n, 5000n, 5001n].map(at)).toStrictEqual([6, 6, 6]);
      store.removeMsg(10);
      expect([9000n, 9500n].map(at)).toStrictEqual([9, 11]);
      clock.t = 20_000n;
      store.skipMsg();
      expect(at(9500n)).toBe(12);
      store.purge();
      expect(at(0n)).toBe(12);
    });
    await withStore(factory, undefined, (store) => {
      expect(store.getSeqFromTime(0n)).toBe(1);
    });
    await withStore(factory, { firstSeq: 100 }, (store) => {
      expect(store.getSeqFromTime(5n)).toBe(100);
    });
  });

  it("getSeqFromTime stays exact when storeRawMsg stamps out of order", async () => {
    await withStore(factory, undefined, (store) => {
      const stamps = [5000n, 1000n, 3000n, 7000n, 2000n];
      stamps.forEach((ts, i) => {
        store.storeRawMsg("t", null, enc(`r${i + 1}`), i + 1, ts);
      });
      const at = (ts: bigint) => store.getSeqFromTime(ts);
      expect([0n, 2000n, 5000n, 5001n, 6000n, 7000n, 7001n].map(at)).toStrictEqual([
        1, 1, 1, 4, 4, 4, 6,
      ]);
      store.removeMsg(1);
      expect([2000n, 1000n, 3001n, 4000n].map(at)).toStrictEqual([3, 2, 4, 4]);
      store.removeMsg(4);
      expect([4000n, 2000n, 2001n].map(at)).toStrictEqual([6, 3, 3]);
      store.removeMsg(3);
      expect([2001n, 2000n, 1500n, 1000n].map(at)).toStrictEqual([6, 5, 5, 2]);
    });
  });
}

function purgeTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("purgeEx on a literal subject removes all, those below seq, or all but the newest keep", async () => {
    await withData(factory, (store) => {
      expect(store.purgeEx("orders.east.1", 0, 1)).toBe(2);
      expect(store.subjectsState("orders.east.1")).toStrictEqual({
        "orders.east.1": { msgs: 1, first: 8, last: 8 },
      });
      expect(store.purgeEx("orders.east.1", 0, 1)).toBe(0);
      expect(store.purgeEx("orders.east.1", 0, 5)).toBe(0);
      expect(store.purgeEx("audit", 5, 0)).toBe(1);
      expect(store.subjectsState("audit")).toStrictEqual({
        audit: { msgs: 1, first: 10, last: 10 },
      });
      expect(store.purgeEx("audit", 10, 0)).toBe(0);
      expect(store.purgeEx("audit", 0, 0)).toBe(1);
      expect(store.purgeEx("nope", 0, 0)).toBe(0);
      expect(store.state()).toMatchObject({
        msgs: 6,
        firstSeq: 2,
        lastSeq: 10,
        lastTs: 10_000n,
        numSubjects: 6,
        deleted: [3, 4, 10],
      });
      expect(walk(store)).toStrictEqual([2, 5, 6, 7, 8, 9]);
      expect(store.storeMsg("audit", null, enc("x")).seq).toBe(11);
      expectReference(expect, store, "after literal purges");
    });
  });

  it("purgeEx with a wildcard and keep keeps the newest keep matching messages of the filter, as nats-server", async () => {
    await withData(factory, (store) => {
      // orders.> matches 1, 2, 4, 5, 6, 8: the four oldest go, whatever their subjects.
      expect(store.purgeEx("orders.>", 0, 2)).toBe(4);
      expect(walk(store, "orders.>")).toStrictEqual([6, 8]);
      expect(walk(store)).toStrictEqual([3, 6, 7, 8, 9, 10]);
      expect(store.subjectsTotals("orders.>")).toStrictEqual({
        "orders.west.1": 1,
        "orders.east.1": 1,
      });
      expect(store.purgeEx("*.*", 0, 1)).toBe(1);
      expect(walk(store)).toStrictEqual([3, 6, 8, 9, 10]);
      expect(store.fastState()).toMatchObject({ msgs: 5, firstSeq: 3, numSubjects: 4 });
      expectReference(expect, store, "after wildcard keeps");
    });
    await withData(factory, (store) => {
      // orders.*.1 matches 1, 4, 6, 8: keeping 3 removes only 1 (kept per subject, nothing would go).
      expect(store.purgeEx("orders.*.1", 0, 3)).toBe(1);
      expect(walk(store, "orders.*.1")).toStrictEqual([4, 6, 8]);
      expect(store.purgeEx("orders.*.1", 0, 4)).toBe(0);
    });
  });

  it("purgeEx below a sequence removes matching messages only and never moves the sequences", async () => {
    await withData(factory, (store) => {
      expect(store.purgeEx("orders.>", 5, 0)).toBe(3);
      expect(walk(store)).toStrictEqual([3, 5, 6, 7, 8, 9, 10]);
      expect(store.purgeEx("orders.>", 1, 0)).toBe(0);
      expect(store.purgeEx("*", 4, 0)).toBe(1);
      expect(store.purgeEx("orders.*.1", 1000, 0)).toBe(2);
      expect(walk(store)).toStrictEqual([5, 7, 9, 10]);
      expect(store.fastState()).toMatchObject({ msgs: 4, firstSeq: 5, lastSeq: 10 });
      expect(store.purgeEx("*.>", 100, 0)).toBe(3);
      expect(store.purgeEx("*", 100, 0)).toBe(1);
      expect(store.state()).toMatchObject({ msgs: 0, firstSeq: 11, lastSeq: 10, deleted: [] });
      expect(store.storeMsg("a", null, enc("x")).seq).toBe(11);
    });
  });

  it('purgeEx with "" or ">" is purge, compact(seq), or a compact that keeps the newest keep', async () => {
    await withData(factory, (store) => {
      expect(store.purgeEx("", 0, 0)).toBe(10);
      expect(store.state()).toMatchObject({ msgs: 0, firstSeq: 11, lastSeq: 10, numSubjects: 0 });
    });
    await withData(factory, (store) => {
      expect(store.purgeEx(">", 4, 0)).toBe(3);
      expect(walk(store)).toStrictEqual([4, 5, 6, 7, 8, 9, 10]);
      expect(store.purgeEx("", 1, 0)).toBe(0);
    });
    await withData(factory, (store) => {
      // As nats-server's Compact: past the end the next message gets `seq`.
      expect(store.purgeEx("", 20, 0)).toBe(10);
      expect(store.state()).toMatchObject({ msgs: 0, firstSeq: 20, lastSeq: 19 });
      expect(store.storeMsg("a", null, enc("x")).seq).toBe(20);
    });
    await withData(factory, (store) => {
      expect(store.purgeEx("", 0, 3)).toBe(7);
      expect(walk(store)).toStrictEqual([8, 9, 10]);
      expect(store.fastState()).toMatchObject({ msgs: 3, firstSeq: 8 });
      expect(store.purgeEx("", 0, 3)).toBe(0);
      expect(store.purgeEx(">", 0, 10)).toBe(0);
    });
    await withData(factory, (store, clock) => {
      // A gap among the newest: keep counts messages, not sequences (nats would keep 2 here).
      store.removeMsg(9);
      expect(store.purgeEx(">", 0, 3)).toBe(6);
      expect(walk(store)).toStrictEqual([7, 8, 10]);
      store.removeMsg(10);
      clock.t = 50_000n;
      store.skipMsg();
      expect(store.purgeEx("", 0, 1)).toBe(1);
      expect(walk(store)).toStrictEqual([8]);
      expect(store.fastState()).toMatchObject({
        msgs: 1,
        firstSeq: 8,
        lastSeq: 11,
        lastTs: 50_000n,
      });
    });
  });

  it("purgeEx refuses seq and keep together, changing nothing", async () => {
    await withData(factory, (store) => {
      const before = snapshot(store);
      const calls: [string, number, number][] = [
        ["audit", 5, 1],
        ["", 1, 1],
        [">", 3, 2],
        ["orders.*.1", 2, 1],
      ];
      expect(calls.map(([f, s, k]) => codeOf(() => store.purgeEx(f, s, k)))).toStrictEqual(
        calls.map(() => "ErrInvalidArgument"),
      );
      expect(snapshot(store)).toStrictEqual(before);
    });
  });

  it("the subject index stays exact through heavy removal on one subject", async () => {
    const clock = testClock();
    await withStore(factory, { now: clock.now }, (store) => {
      for (let i = 1; i <= 400; i++) {
        clock.t = BigInt(i) * 10n;
        store.storeMsg(i % 4 === 0 ? `small.${i % 3}` : "big", null, enc(`${i}`));
      }
      for (let seq = 1; seq <= 400; seq += 2) store.removeMsg(seq);
      expectReference(expect, store, "every odd sequence removed");
      for (let seq = 398; seq > 100; seq -= 4) store.removeMsg(seq);
      expectReference(expect, store, "a run of big removed from the end");
      // 300 "big" (i % 4 ≠ 0); 200 odd ones removed, then 75 of the rest (398, 394 … 102): 25 left.
      expect(store.subjectsTotals("big")).toStrictEqual({ big: 25 });
      expect(store.purgeEx("big", 0, 5)).toBe(20);
      expectReference(expect, store, "big purged down to 5");
      expect(store.subjectsState("big")).toStrictEqual({ big: { msgs: 5, first: 82, last: 98 } });
      // "small.*" holds every multiple of 4; 4, 8 … 196 are below 200.
      expect(store.purgeEx("small.*", 200, 0)).toBe(49);
      expectReference(expect, store, "small below 200 purged");
    });
  });
}

function loadTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("every read returns its own subject, however many subjects, however long, in any script", async () => {
    // More subjects than a reader keeps interned (8,192), past its 64-byte limit, sharing
    // long prefixes, non-ASCII, and four hot ones interleaved with the rest.
    const subjects: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      const kind = i % 5;
      if (kind === 0) subjects.push(`hot.${i % 4}`);
      else if (kind === 1) subjects.push(`orders.${"x".repeat(i % 90)}.${i}`);
      else if (kind === 2) subjects.push(`注文.東京.${i}`);
      else if (kind === 3) subjects.push(`a.${i % 251}.${i}`);
      else subjects.push(`${"p".repeat(60)}.${i}`);
    }
    await withStore(factory, undefined, async (store, fixture) => {
      for (const [i, subject] of subjects.entries()) store.storeMsg(subject, null, enc(`m${i}`));
      const check = (s: StreamStore) => {
        let x = 7;
        for (let n = 0; n < 3 * subjects.length; n++) {
          x = (x * 1103515245 + 12345) >>> 0;
          const seq = (x % subjects.length) + 1;
          const msg = s.loadMsg(seq);
          if (msg.subject !== subjects[seq - 1]) expect([seq, msg.subject]).toBe(subjects[seq - 1]);
        }
        let seq = 0;
        for (let n = 1; n <= subjects.length; n++) {
          const msg = s.loadNextMsg(">", true, seq + 1);
          seq = msg.seq;
          if (msg.subject !== subjects[seq - 1]) expect([seq, msg.subject]).toBe(subjects[seq - 1]);
        }
        expect(seq).toBe(subjects.length);
      };
      check(store);
      check(await fixture.reopen());
    });
  });

  it("loadLastMsg and loadNextMsg with wildcards follow removals", async () => {
    await withData(factory, (store) => {
      const next = (f: string, wc: boolean, start: number) =>
        result(() => store.loadNextMsg(f, wc, start).seq);
      expect([
        next("orders.*.1", true, 2),
        next("orders.*.1", true, 5),
        next("orders.*.1", true, 7),
        next("orders.*.1", true, 9),
        next("orders.east.1", false, 2),
        next("orders.east.1", true, 5),
        next("a*b.c", false, 0),
        next("a*b.c", true, 0),
        next("a*b.*", false, 0),
      ]).toStrictEqual([4, 6, 8, "ErrStoreEOF", 4, 8, 9, 9, "ErrStoreEOF"]);
      const last = (f: string) => result(() => store.loadLastMsg(f).seq);
      expect(
        ["orders.*.1", "*", "a*b.*", "a*b.c", "orders.east", "*.*.*.*"].map(last),
      ).toStrictEqual([8, 10, 9, 9, "ErrStoreMsgNotFound", "ErrStoreMsgNotFound"]);
      store.removeMsg(8);
      expect(last("orders.*.1")).toBe(6);
      store.removeMsg(6);
      expect(last("orders.*.1")).toBe(4);
      expect(next("orders.*.1", true, 5)).toBe("ErrStoreEOF");
      store.removeMsg(10);
      expect(last("*")).toBe(3);
      expect(last("audit")).toBe(3);
    });
  });

  it("loadNextMsg finds a wildcard match far past many other subjects", async () => {
    await withStore(factory, undefined, (store) => {
      for (let i = 0; i < 300; i++) store.storeMsg(`s.${i}`, null, enc("s"));
      store.storeMsg("x.1", null, enc("x"));
      store.storeMsg("s.5", null, enc("s"));
      store.storeMsg("x.2", null, enc("x"));
      const next = (f: string, wc: boolean, start: number) =>
        result(() => store.loadNextMsg(f, wc, start).seq);
      expect([
        next("x.*", true, 1),
        next("x.*", true, 302),
        next("x.*", true, 304),
        next("s.5", false, 7),
        next("s.*", true, 150),
        next("*.5", true, 7),
        next("x.>", true, 0),
      ]).toStrictEqual([301, 303, "ErrStoreEOF", 302, 150, 302, 301]);
      store.removeMsg(301);
      expect([
        next("x.*", true, 0),
        store.loadLastMsg("x.*").seq,
        store.loadLastMsg("s.*").seq,
      ]).toStrictEqual([303, 303, 302]);
      expect(store.fastState().numSubjects).toBe(301);
      expect(store.filteredState(0, "x.*")).toStrictEqual({ msgs: 1, first: 303, last: 303 });
      expect(store.filteredState(0, "*.5")).toStrictEqual({ msgs: 2, first: 6, last: 302 });
    });
  });
}

const BAD_SEQS: [string, unknown][] = [
  ["-1", -1],
  ["1.5", 1.5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["2^53", 2 ** 53],
  ['"2"', "2"],
  ["2n", 2n],
  ["null", null],
  ["undefined", undefined],
];

const BAD_FILTERS: [string, unknown, string][] = [
  ["a number", 5, "ErrInvalidArgument"],
  ["null", null, "ErrInvalidArgument"],
  ["undefined", undefined, "ErrInvalidArgument"],
  ["a String object", new String("a"), "ErrInvalidArgument"],
  ["with a space", "a b", "ErrInvalidFilter"],
  ["an empty token", "a..b", "ErrInvalidFilter"],
  ["a leading dot", ".a", "ErrInvalidFilter"],
  ["a trailing dot", "a.", "ErrInvalidFilter"],
  ["a lone dot", ".", "ErrInvalidFilter"],
  ["> before the end", "a.>.b", "ErrInvalidFilter"],
  ["> then >", ">.>", "ErrInvalidFilter"],
];

/** One bad call on a store holding DATA, and the code it must throw. */
type BadCall = [string, (store: Loose) => unknown, string];

function badCalls(): BadCall[] {
  const bad = "ErrInvalidArgument";
  const calls: BadCall[] = [];
  for (const [name, seq] of BAD_SEQS) {
    calls.push([`filteredState seq ${name}`, (s) => s.filteredState(seq, ""), bad]);
    calls.push([`numPending seq ${name}`, (s) => s.numPending(seq, "", false), bad]);
    calls.push([`multiLastSeqs maxSeq ${name}`, (s) => s.multiLastSeqs([">"], seq, 0), bad]);
    calls.push([`multiLastSeqs maxAllowed ${name}`, (s) => s.multiLastSeqs([">"], 0, seq), bad]);
    calls.push([`subjectForSeq ${name}`, (s) => s.subjectForSeq(seq), bad]);
    calls.push([`purgeEx seq ${name}`, (s) => s.purgeEx("audit", seq, 0), bad]);
    calls.push([`purgeEx keep ${name}`, (s) => s.purgeEx("audit", 0, seq), bad]);
  }
  for (const [name, filter, code] of BAD_FILTERS) {
    calls.push([`filteredState filter ${name}`, (s) => s.filteredState(0, filter), code]);
    calls.push([`subjectsState filter ${name}`, (s) => s.subjectsState(filter), code]);
    calls.push([`subjectsTotals filter ${name}`, (s) => s.subjectsTotals(filter), code]);
    calls.push([`numPending filter ${name}`, (s) => s.numPending(0, filter, true), code]);
    calls.push([
      `multiLastSeqs filter ${name}`,
      (s) => s.multiLastSeqs(["audit", filter], 0, 0),
      code,
    ]);
    calls.push([`purgeEx filter ${name}`, (s) => s.purgeEx(filter, 0, 0), code]);
    calls.push([`loadLastMsg filter ${name}`, (s) => s.loadLastMsg(filter), code]);
    calls.push([`loadNextMsg filter ${name}`, (s) => s.loadNextMsg(filter, true, 0), code]);
  }
  for (const [name, value] of [
    ["undefined", undefined],
    ["1", 1],
    ['"true"', "true"],
  ] as [string, unknown][]) {
    calls.push([`numPending lastPerSubject ${name}`, (s) => s.numPending(0, "", value), bad]);
  }
  for (const [name, value] of [
    ["a string", ">"],
    ["null", null],
    ["undefined", undefined],
    ["an array-like object", { length: 1, 0: ">" }],
  ] as [string, unknown][]) {
    calls.push([`multiLastSeqs filters ${name}`, (s) => s.multiLastSeqs(value, 0, 0), bad]);
  }
  for (const [name, ts] of [
    ["a number", 5],
    ["-1n", -1n],
    ["2^63", 1n << 63n],
    ["a string", "5"],
    ["undefined", undefined],
  ] as [string, unknown][]) {
    calls.push([`getSeqFromTime ${name}`, (s) => s.getSeqFromTime(ts), bad]);
  }
  return calls;
}

/** Each new query with valid arguments. */
const QUERIES: [string, (store: StreamStore) => unknown][] = [
  ["filteredState", (s) => s.filteredState(0, "")],
  ["subjectsState", (s) => s.subjectsState("")],
  ["subjectsTotals", (s) => s.subjectsTotals("")],
  ["numPending", (s) => s.numPending(0, "", false)],
  ["multiLastSeqs", (s) => s.multiLastSeqs([">"], 0, 0)],
  ["allLastSeqs", (s) => s.allLastSeqs()],
  ["subjectForSeq", (s) => s.subjectForSeq(1)],
  ["getSeqFromTime", (s) => s.getSeqFromTime(0n)],
  ["purgeEx", (s) => s.purgeEx("audit", 0, 0)],
];

function argumentTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("every subject query refuses bad arguments with a typed error and changes nothing", async () => {
    await withData(factory, (store) => {
      const before = snapshot(store);
      const calls = badCalls();
      const got = calls.map(([name, call]) => [name, codeOf(() => call(store))]);
      expect(got).toStrictEqual(calls.map(([name, , code]) => [name, code]));
      expect(snapshot(store)).toStrictEqual(before);
    });
  });

  it("every subject query fails with ErrStoreClosed once the store is closed", async () => {
    const clock = testClock();
    const fixture = await factory.create({ now: clock.now });
    try {
      load(fixture.store, clock);
      await fixture.store.close();
      const got = QUERIES.map(([name, call]) => [name, codeOf(() => call(fixture.store))]);
      expect(got).toStrictEqual(QUERIES.map(([name]) => [name, "ErrStoreClosed"]));
    } finally {
      await fixture.cleanup();
    }
  });

  it("subject queries answer the same after reopen", async () => {
    const clock = testClock();
    const fixture = await factory.create({ now: clock.now });
    try {
      let store = fixture.store;
      load(store, clock);
      store.removeMsg(4);
      store.purgeEx("audit", 0, 1);
      store.compact(2);
      store.removeMsg(10);
      clock.t = 30_000n;
      store.skipMsg();
      const before = againstReference(store);
      store = await fixture.reopen();
      expect(againstReference(store)).toStrictEqual(before);
      expect([
        store.filteredState(0, ""),
        store.filteredState(0, "orders.*.1"),
        store.numPending(5, "orders.>", true),
        store.allLastSeqs(),
        store.multiLastSeqs(["orders.east.1"], 7, 0),
        store.getSeqFromTime(3500n),
        store.subjectForSeq(9),
        codeOf(() => store.subjectForSeq(10)),
      ]).toStrictEqual([
        { msgs: 6, first: 2, last: 9 },
        { msgs: 2, first: 6, last: 8 },
        { total: 3, validThrough: 11 },
        [2, 5, 6, 7, 8, 9],
        [],
        5,
        "a*b.c",
        "ErrStoreMsgNotFound",
      ]);
      expect(store.purgeEx("orders.>", 0, 1)).toBe(3);
      store = await fixture.reopen();
      expect(store.subjectsTotals("")).toStrictEqual({
        "orders.east.1": 1,
        "注文.東京": 1,
        "a*b.c": 1,
      });
      expect(store.storeMsg("audit", null, enc("x")).seq).toBe(12);
      expectReference(expect, store, "after purgeEx, reopen and a new message");
    } finally {
      await fixture.cleanup();
    }
  });
}

/** Operations of the random test; sequences are aimed in thousandths of [0, last + 2]. */
type Op =
  | { kind: "store"; subject: number; count: number }
  | { kind: "remove"; at: number }
  | { kind: "compact"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "skip" }
  | { kind: "purgeEx"; filter: number; at: number; keep: number; bySeq: boolean };

const RANDOM_SUBJECTS = [
  "orders.east.1",
  "orders.east.2",
  "orders.west.1",
  "audit",
  "注文.東京",
  "a*b.c",
];

const at = fc.integer({ min: 0, max: 1000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("store" as const),
      subject: fc.nat(RANDOM_SUBJECTS.length - 1),
      count: fc.integer({ min: 1, max: 80 }),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("remove" as const), at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const), at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "skip" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("purgeEx" as const),
      filter: fc.nat(FILTERS.length - 1),
      at,
      keep: fc.nat(12),
      bySeq: fc.boolean(),
    }),
  },
);

/** Runs `op`; for purgeEx, checks the count and the survivors against the reference. */
function applyOp(expect: TestApi["expect"], store: StreamStore, op: Op, clock: TestClock): void {
  const target = (t: number) => Math.round((t / 1000) * (store.fastState().lastSeq + 2));
  switch (op.kind) {
    case "store":
      for (let i = 0; i < op.count; i++) {
        clock.t += 10n;
        store.storeMsg(
          RANDOM_SUBJECTS[(op.subject + (i % 3)) % RANDOM_SUBJECTS.length],
          null,
          enc("x"),
        );
      }
      return;
    case "remove":
      store.removeMsg(target(op.at));
      return;
    case "compact":
      store.compact(target(op.at));
      return;
    case "truncate":
      codeOf(() => store.truncate(target(op.at)));
      return;
    case "skip":
      clock.t += 10n;
      store.skipMsg();
      return;
    case "purgeEx": {
      const filter = FILTERS[op.filter];
      const seq = op.bySeq ? target(op.at) : 0;
      const keep = op.bySeq ? 0 : op.keep;
      const before = readAll(store);
      const all = filter === "" || filter === ">";
      const doomed = all
        ? refPurgeTargets(before, ">", seq, keep)
        : refPurgeTargets(before, filter, seq, keep);
      const gone = new Set(doomed);
      const label = `purgeEx(${filter}, ${seq}, ${keep})`;
      expect([label, store.purgeEx(filter, seq, keep)]).toStrictEqual([label, doomed.length]);
      expect([label, readAll(store).map((m) => m.seq)]).toStrictEqual([
        label,
        before.filter((m) => !gone.has(m.seq)).map((m) => m.seq),
      ]);
      return;
    }
  }
}

function randomTests({ it, expect }: TestApi, factory: StoreFactory): void {
  it("every subject query agrees with a brute-force reading after random operations", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 25, size: "max" }),
        async (ops) => {
          const clock = testClock();
          const fixture = await factory.create({ now: clock.now });
          try {
            const trail: string[] = [];
            for (const op of ops) {
              trail.push(JSON.stringify(op));
              applyOp(expect, fixture.store, op, clock);
              expectReference(expect, fixture.store, trail.join(" "));
            }
          } finally {
            await fixture.cleanup();
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
}
