/**
 * Contract: the queries over several filters (nats-server 2.11+):
 * loadNextMsgMulti, loadPrevMsgMulti, the filtered loadPrevMsg,
 * numPendingMulti and multiLastMsgs. Expected answers come from hand-written
 * match lists, or from arithmetic over a stream whose subject at sequence n
 * is known, never from the code under test.
 */

import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, withStore } from "./store-helpers.ts";

/** Subjects stored at sequences 1… */
const SUBJECTS = ["a", "a.b", "a.c", "a.b.c", "b.b", "b", "注文.東京", "a.b", "x.y.z.w"];

/** Every sequence each filter matches. */
const MATCHES: Record<string, number[]> = {
  a: [1],
  "a.b": [2, 8],
  "*": [1, 6],
  "a.*": [2, 3, 8],
  "a.>": [2, 3, 4, 8],
  "*.b": [2, 5, 8],
  "*.*.c": [4],
  "x.>": [9],
  "注文.*": [7],
  b: [6],
  c: [],
};

/** The filter lists tried: overlapping, disjoint, with a filter matching nothing. */
const FILTER_SETS: string[][] = [
  ["a"],
  ["a", "b"],
  ["a.*", "*.b"],
  ["a.>", "a.b", "a.*"],
  ["*", "x.>", "注文.*"],
  ["*.*.c", "c"],
  ["c"],
  ["a", "a.b", "*", "a.*", "a.>", "*.b", "*.*.c", "x.>", "注文.*", "c"],
];

function expected(filters: string[], removed: number[] = []): number[] {
  const seqs = new Set<number>();
  for (const f of filters) {
    for (const s of MATCHES[f]) if (!removed.includes(s)) seqs.add(s);
  }
  return [...seqs].sort((a, b) => a - b);
}

function store9(store: StreamStore): void {
  for (const subject of SUBJECTS) store.storeMsg(subject, null, enc(subject));
}

/** Sequences found walking forward with loadNextMsgMulti from 0. */
function walkNext(store: StreamStore, filters: string[]): number[] {
  const seqs: number[] = [];
  for (let start = 0; ; ) {
    const got = attempt(() => store.loadNextMsgMulti(filters, start).seq);
    if (got === null) return seqs;
    seqs.push(got);
    start = got + 1;
  }
}

/** Sequences found walking back with `prev` from `from`. */
function walkPrev(from: number, prev: (start: number) => number): number[] {
  const seqs: number[] = [];
  for (let start = from; start > 0; ) {
    const got = attempt(() => prev(start));
    if (got === null) break;
    seqs.push(got);
    start = got - 1;
  }
  return seqs.reverse();
}

/** `fn`'s result, or null on ErrStoreEOF. */
function attempt(fn: () => number): number | null {
  const code = codeOf(fn);
  if (code === "ErrStoreEOF") return null;
  if (code !== "no error") throw new Error(`unexpected ${code}`);
  return fn();
}

/** A stream of `count` messages where sequence n is on `s.<n % 5>`. */
function cyclic(store: StreamStore, count: number): void {
  for (let n = 1; n <= count; n++) store.storeMsg(`s.${n % 5}`, null, enc(`m${n}`));
}

export function multiQueryTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("multi-filter queries", () => {
    it("loadNextMsgMulti walks the union of its filters, each message once", async () => {
      await withStore(factory, undefined, (store) => {
        store9(store);
        for (const filters of FILTER_SETS) {
          expect({ filters, seqs: walkNext(store, filters) }).toEqual({
            filters,
            seqs: expected(filters),
          });
        }
        const msg = store.loadNextMsgMulti(["x.>", "注文.*"], 3);
        expect([msg.seq, msg.subject, new TextDecoder().decode(msg.msg)]).toEqual([
          7,
          "注文.東京",
          "注文.東京",
        ]);
      });
    });

    it("loadPrevMsgMulti and the filtered loadPrevMsg walk back over the same sets", async () => {
      await withStore(factory, undefined, (store) => {
        store9(store);
        for (const filters of FILTER_SETS) {
          const back = walkPrev(50, (start) => store.loadPrevMsgMulti(filters, start).seq);
          expect({ filters, back }).toEqual({ filters, back: expected(filters) });
        }
        for (const filter of Object.keys(MATCHES)) {
          const back = walkPrev(9, (start) => store.loadPrevMsg(start, filter).seq);
          expect({ filter, back }).toEqual({ filter, back: MATCHES[filter] });
        }
        // No filter, "" and ">" are the unfiltered loadPrevMsg.
        expect(store.loadPrevMsg(5, "").seq).toBe(5);
        expect(store.loadPrevMsg(100, ">").seq).toBe(9);
        expect(store.loadPrevMsgMulti(["a", ">"], 4).seq).toBe(4);
      });
    });

    it("skips removed messages and answers EOF at the edges", async () => {
      await withStore(factory, undefined, (store) => {
        expect(codeOf(() => store.loadNextMsgMulti(["a"], 0))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadPrevMsgMulti(["a"], 5))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadPrevMsg(5, "a"))).toBe("ErrStoreEOF");
        expect(store.numPendingMulti(0, ["a"], false)).toEqual({ total: 0, validThrough: 0 });
        expect(store.multiLastMsgs(["a"], 0, 0, 0)).toEqual([]);
        store9(store);
        const removed = [2, 6, 9];
        for (const seq of removed) store.removeMsg(seq);
        for (const filters of FILTER_SETS) {
          expect({ filters, seqs: walkNext(store, filters) }).toEqual({
            filters,
            seqs: expected(filters, removed),
          });
          const back = walkPrev(9, (start) => store.loadPrevMsgMulti(filters, start).seq);
          expect({ filters, back }).toEqual({ filters, back: expected(filters, removed) });
        }
        expect(codeOf(() => store.loadNextMsgMulti(["a", "a.b"], 9))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadNextMsgMulti([">"], 10))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadPrevMsgMulti(["a.b", "b"], 1))).toBe("ErrStoreEOF");
        store.compact(4);
        expect(codeOf(() => store.loadPrevMsg(3, ""))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadPrevMsg(3, "a.*"))).toBe("ErrStoreEOF");
        expect(store.loadPrevMsg(8, "a.*").seq).toBe(8);
        expect(store.loadNextMsgMulti(["a", "a.c", "a.b.c"], 0).seq).toBe(4);
      });
    });

    it("finds the next match of subjects with messages on both sides of start", async () => {
      await withStore(factory, undefined, (store) => {
        cyclic(store, 300);
        store.removeMsg(153); // s.3
        for (const start of [0, 1, 149, 151, 152, 153, 298, 299, 300]) {
          // s.3 is at n ≡ 3 (mod 5), s.4 at n ≡ 4.
          const next = [3, 4].map((r) => start + ((r - (start % 5) + 5) % 5));
          const want = Math.min(...next.map((n) => (n === 153 ? 154 : n)));
          const got = attempt(() => store.loadNextMsgMulti(["s.3", "s.4"], start).seq);
          expect({ start, got }).toEqual({ start, got: want <= 300 ? want : null });
          const prev = [0, 1].map((r) => start - ((((start - r) % 5) + 5) % 5));
          const wantPrev = Math.max(...prev);
          const gotPrev = attempt(() => store.loadPrevMsgMulti(["s.0", "s.1"], start).seq);
          expect({ start, gotPrev }).toEqual({ start, gotPrev: wantPrev >= 1 ? wantPrev : null });
        }
      });
    });

    it("numPendingMulti counts each matching message once, from any start", async () => {
      await withStore(factory, undefined, (store) => {
        cyclic(store, 300);
        store.removeMsg(153); // s.3
        store.removeMsg(10); // s.0
        const count = (from: number, residues: number[]) => {
          let n = 0;
          for (let seq = Math.max(from, 1); seq <= 300; seq++) {
            if (seq !== 153 && seq !== 10 && residues.includes(seq % 5)) n++;
          }
          return n;
        };
        for (const start of [0, 1, 2, 10, 11, 100, 152, 153, 154, 250, 299, 300]) {
          const got = store.numPendingMulti(start, ["s.3", "s.0", "s.3", "s.>"], false);
          expect({ start, got }).toEqual({
            start,
            got: { total: count(start, [0, 1, 2, 3, 4]), validThrough: 300 },
          });
          const two = store.numPendingMulti(start, ["s.3", "s.0"], false);
          expect({ start, two }).toEqual({
            start,
            two: { total: count(start, [0, 3]), validThrough: 300 },
          });
          const last = store.numPendingMulti(start, ["s.3", "s.0", "s.*"], true);
          // Every subject's last message is in 296…300.
          const subjectsLeft = [296, 297, 298, 299, 300].filter((s) => s >= start).length;
          expect({ start, last }).toEqual({
            start,
            last: { total: subjectsLeft, validThrough: 300 },
          });
        }
        expect(store.numPendingMulti(301, ["s.1"], false)).toEqual({ total: 0, validThrough: 300 });
        expect(store.numPendingMulti(0, ["t.*", "s"], false)).toEqual({
          total: 0,
          validThrough: 300,
        });
        expect(store.numPendingMulti(5, ["", "s.1"], false)).toEqual({
          total: count(5, [0, 1, 2, 3, 4]),
          validThrough: 300,
        });
      });
    });

    it("multiLastMsgs: each subject's last message in [minSeq, maxSeq], ascending", async () => {
      await withStore(factory, undefined, (store) => {
        cyclic(store, 20);
        store.storeMsg("t.x", null, enc("t")); // 21
        const seqs = (f: string[], min: number, max: number, allowed: number) =>
          store.multiLastMsgs(f, min, max, allowed).map((m) => [m.seq, m.subject]);
        expect(seqs(["s.*"], 0, 0, 0)).toEqual([
          [16, "s.1"],
          [17, "s.2"],
          [18, "s.3"],
          [19, "s.4"],
          [20, "s.0"],
        ]);
        expect(seqs(["s.1", "t.>", "s.1"], 0, 0, 2)).toEqual([
          [16, "s.1"],
          [21, "t.x"],
        ]);
        expect(seqs(["s.*", "t.x"], 0, 13, 0)).toEqual([
          [9, "s.4"],
          [10, "s.0"],
          [11, "s.1"],
          [12, "s.2"],
          [13, "s.3"],
        ]);
        expect(seqs(["s.*", "t.x"], 12, 13, 0)).toEqual([
          [12, "s.2"],
          [13, "s.3"],
        ]);
        expect(seqs(["s.*"], 14, 13, 0)).toEqual([]);
        expect(seqs(["nothing"], 0, 0, 1)).toEqual([]);
        // maxAllowed counts every subject up to maxSeq, those below minSeq too.
        expect(codeOf(() => store.multiLastMsgs(["s.*"], 20, 0, 4))).toBe("ErrTooManyResults");
        expect(seqs(["s.*"], 20, 0, 5)).toEqual([[20, "s.0"]]);
        store.removeMsg(20);
        expect(seqs(["s.0"], 0, 0, 0)).toEqual([[15, "s.0"]]);
      });
    });

    it("bad arguments change nothing and name the problem", async () => {
      await withStore(factory, undefined, (store) => {
        store9(store);
        const before = store.state();
        expect(codeOf(() => store.loadNextMsgMulti([], 0))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.numPendingMulti(0, [], false))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.loadPrevMsgMulti(["a", "a..b"], 9))).toBe("ErrInvalidFilter");
        expect(codeOf(() => store.multiLastMsgs(["a"], -1, 0, 0))).toBe("ErrInvalidArgument");
        expect(store.state()).toEqual(before);
      });
    });
  });
}
