/**
 * Contract: reading a stream — loadMsg, loadNextMsg with and without subject
 * filters (`*` one token, `>` one or more trailing tokens), loadLastMsg and
 * loadPrevMsg, with the error each returns at the edges.
 */

import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, fill, testClock, withStore } from "./store-helpers.ts";

/** Subjects stored at sequences 1… by the filter tests. */
const SUBJECTS = [
  "a", //        1
  "a.b", //      2
  "a.c", //      3
  "a.b.c", //    4
  "b.b", //      5
  "b", //        6
  "注文.東京", // 7
  "a.b", //      8
  "x.y.z.w", //  9
];

/** Every sequence each filter matches when used as a wildcard filter. */
const WILDCARD_MATCHES: [string, number[]][] = [
  ["", [1, 2, 3, 4, 5, 6, 7, 8, 9]],
  [">", [1, 2, 3, 4, 5, 6, 7, 8, 9]],
  ["a", [1]],
  ["a.b", [2, 8]],
  ["*", [1, 6]],
  ["a.*", [2, 3, 8]],
  ["a.>", [2, 3, 4, 8]],
  ["*.b", [2, 5, 8]],
  ["*.*", [2, 3, 5, 7, 8]],
  ["*.*.c", [4]],
  ["*.>", [2, 3, 4, 5, 7, 8, 9]],
  ["a.*.>", [4]],
  ["*.*.*.*", [9]],
  ["x.>", [9]],
  ["注文.*", [7]],
  ["a.b.c.>", []],
  ["c", []],
  ["a.*.c.d", []],
];

/** Sequences `loadNextMsg` yields walking from 0 with `filter`. */
function walk(store: StreamStore, filter: string, wildcard: boolean): number[] {
  const seqs: number[] = [];
  for (let start = 0; ; ) {
    let seq: number;
    try {
      seq = store.loadNextMsg(filter, wildcard, start).seq;
    } catch (err) {
      if ((err as { code?: string }).code === "ErrStoreEOF") return seqs;
      throw err;
    }
    seqs.push(seq);
    start = seq + 1;
  }
}

export function queryTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("queries", () => {
    it("loadMsg: not found below first, at gaps and at 0; EOF past the last sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 6);
        store.removeMsg(4);
        store.compact(3);
        expect(store.loadMsg(3).seq).toBe(3);
        expect(codeOf(() => store.loadMsg(0))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(1))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(2))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(4))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(7))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadMsg(Number.MAX_SAFE_INTEGER))).toBe("ErrStoreEOF");
        store.removeMsg(6);
        expect(codeOf(() => store.loadMsg(6))).toBe("ErrStoreMsgNotFound");
      });
    });

    it("loadNextMsg with each wildcard filter finds exactly the matching messages in order", async () => {
      await withStore(factory, undefined, (store) => {
        for (const subject of SUBJECTS) store.storeMsg(subject, null, enc(subject));
        const found = WILDCARD_MATCHES.map(([filter]) => [filter, walk(store, filter, true)]);
        expect(found).toStrictEqual(WILDCARD_MATCHES);
      });
    });

    it("loadNextMsg without the wildcard flag compares the filter literally", async () => {
      await withStore(factory, undefined, (store) => {
        for (const subject of SUBJECTS) store.storeMsg(subject, null, enc(subject));
        expect(walk(store, "a.b", false)).toStrictEqual([2, 8]);
        expect(walk(store, "注文.東京", false)).toStrictEqual([7]);
        expect(walk(store, "a.*", false)).toStrictEqual([]);
        expect(walk(store, "*", false)).toStrictEqual([]);
        expect(walk(store, "", false)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(walk(store, ">", false)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      });
    });

    it("loadNextMsg starts at start (or first), skips removed messages and ends with EOF", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        expect(codeOf(() => store.loadNextMsg("", false, 0))).toBe("ErrStoreEOF");
        fill(store, clock, 8);
        store.removeMsg(1);
        store.removeMsg(4);
        store.removeMsg(5);
        store.removeMsg(8);
        expect(store.loadNextMsg("", false, 0).seq).toBe(2);
        expect(store.loadNextMsg(">", true, 4).seq).toBe(6);
        expect(store.loadNextMsg("foo", false, 7).seq).toBe(7);
        const sm = store.loadNextMsg("foo", true, 3);
        expect([sm.seq, sm.ts, new TextDecoder().decode(sm.msg)]).toStrictEqual([3, 3_000n, "m3"]);
        expect(codeOf(() => store.loadNextMsg("", false, 8))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadNextMsg("", false, 9))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadNextMsg("bar", false, 0))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadNextMsg("foo.*", true, 0))).toBe("ErrStoreEOF");
        store.purge();
        expect(codeOf(() => store.loadNextMsg("", false, 0))).toBe("ErrStoreEOF");
      });
    });

    it("loadLastMsg returns the newest message on a subject or matching a wildcard", async () => {
      await withStore(factory, undefined, (store) => {
        expect(codeOf(() => store.loadLastMsg(""))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadLastMsg("a"))).toBe("ErrStoreMsgNotFound");
        for (const subject of SUBJECTS) store.storeMsg(subject, null, enc(subject));
        expect(store.loadLastMsg("a.b").seq).toBe(8);
        expect(store.loadLastMsg("a").seq).toBe(1);
        expect(store.loadLastMsg("a.*").seq).toBe(8);
        expect(store.loadLastMsg("a.>").seq).toBe(8);
        expect(store.loadLastMsg("*").seq).toBe(6);
        expect(store.loadLastMsg("*.*.c").seq).toBe(4);
        expect(store.loadLastMsg("注文.*").seq).toBe(7);
        expect(store.loadLastMsg("").seq).toBe(9);
        expect(store.loadLastMsg(">").seq).toBe(9);
        expect(codeOf(() => store.loadLastMsg("c"))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadLastMsg("c.*"))).toBe("ErrStoreMsgNotFound");
        store.removeMsg(8);
        expect(store.loadLastMsg("a.b").seq).toBe(2);
        expect(store.loadLastMsg("a.*").seq).toBe(3);
        store.removeMsg(2);
        expect(codeOf(() => store.loadLastMsg("a.b"))).toBe("ErrStoreMsgNotFound");
        store.removeMsg(9);
        store.skipMsg();
        // nats-server answers "not found" here because sequence 10 holds nothing; we return the newest.
        expect(store.loadLastMsg("").seq).toBe(7);
        expect(store.loadLastMsg(">").seq).toBe(7);
        const sm = store.loadLastMsg("b");
        expect([sm.subject, sm.seq, new TextDecoder().decode(sm.msg)]).toStrictEqual(["b", 6, "b"]);
      });
    });

    it("loadPrevMsg returns the last message at or before start, EOF below the first", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        expect(codeOf(() => store.loadPrevMsg(5))).toBe("ErrStoreEOF");
        fill(store, clock, 6);
        store.removeMsg(1);
        store.removeMsg(4);
        store.removeMsg(6);
        store.skipMsg();
        expect(store.loadPrevMsg(4).seq).toBe(3);
        expect(store.loadPrevMsg(3).seq).toBe(3);
        expect(store.loadPrevMsg(7).seq).toBe(5);
        expect(store.loadPrevMsg(1_000).seq).toBe(5);
        expect(store.loadPrevMsg(2).seq).toBe(2);
        expect(store.loadPrevMsg(2).ts).toBe(2_000n);
        expect(codeOf(() => store.loadPrevMsg(1))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.loadPrevMsg(0))).toBe("ErrStoreEOF");
        store.purge();
        expect(codeOf(() => store.loadPrevMsg(100))).toBe("ErrStoreEOF");
      });
    });
  });
}
