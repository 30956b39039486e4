/**
 * Contract: taking messages out — removeMsg and eraseMsg at the first, a
 * middle and the last sequence, of missing and out-of-range sequences; purge;
 * compact below, at, inside and beyond the stream; truncate.
 */
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import {
  codeOf,
  enc,
  expectedSize,
  fill,
  snapshot,
  testClock,
  withStore,
} from "./store-helpers.ts";

const ONE = expectedSize("foo", 0, 2); // "m1" … "m9" on "foo"

export function removalTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  for (const method of ["removeMsg", "eraseMsg"] as const) {
    describe(method, () => {
      it("of the first message moves the first sequence and time to the next message", async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          fill(store, clock, 5);
          store.removeMsg(2);
          expect(store[method](1)).toBe(true);
          expect(store.state()).toMatchObject({
            msgs: 3,
            bytes: 3 * ONE,
            firstSeq: 3,
            firstTs: 3_000n,
            lastSeq: 5,
            numDeleted: 0,
            deleted: [],
          });
          expect(codeOf(() => store.loadMsg(1))).toBe("ErrStoreMsgNotFound");
        });
      });

      it("of a middle message leaves a gap in the deleted list", async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          fill(store, clock, 5);
          expect(store[method](3)).toBe(true);
          expect(store[method](2)).toBe(true);
          expect(store.state()).toMatchObject({
            msgs: 3,
            bytes: 3 * ONE,
            firstSeq: 1,
            lastSeq: 5,
            numDeleted: 2,
            deleted: [2, 3],
          });
          expect(codeOf(() => store.loadMsg(3))).toBe("ErrStoreMsgNotFound");
          expect(store.loadMsg(4).seq).toBe(4);
        });
      });

      it("of the last message keeps the last sequence and time", async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          fill(store, clock, 3);
          expect(store[method](3)).toBe(true);
          expect(store.state()).toMatchObject({
            msgs: 2,
            bytes: 2 * ONE,
            lastSeq: 3,
            lastTs: 3_000n,
            numDeleted: 1,
            deleted: [3],
          });
          expect(codeOf(() => store.loadMsg(3))).toBe("ErrStoreMsgNotFound");
        });
      });

      it("of a missing or out-of-range sequence returns false and changes nothing", async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          fill(store, clock, 5);
          store.removeMsg(3);
          store.compact(2);
          const before = snapshot(store);
          for (const seq of [0, 1, 3, 6, 7, 1_000_000, Number.MAX_SAFE_INTEGER]) {
            expect([seq, store[method](seq)]).toStrictEqual([seq, false]);
          }
          expect(snapshot(store)).toStrictEqual(before);
        });
      });

      it("of every message leaves an empty store at last + 1", async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          fill(store, clock, 4);
          for (const seq of [2, 4, 1, 3]) expect(store[method](seq)).toBe(true);
          expect(store.state()).toStrictEqual({
            msgs: 0,
            bytes: 0,
            firstSeq: 5,
            firstTs: 0n,
            lastSeq: 4,
            lastTs: 4_000n,
            numSubjects: 0,
            numDeleted: 0,
            deleted: [],
            consumers: 0,
          });
        });
      });
    });
  }

  describe("purge", () => {
    it("removes every message, returns the count and keeps the sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        expect(store.purge()).toBe(0);
        // Nothing handed out yet: still fresh (nats-server reports first 1 here, see the README's method notes).
        expect(store.fastState()).toMatchObject({ firstSeq: 0, lastSeq: 0 });
        fill(store, clock, 6);
        store.removeMsg(2);
        store.skipMsg();
        expect(store.purge()).toBe(5);
        expect(store.state()).toMatchObject({
          msgs: 0,
          bytes: 0,
          firstSeq: 8,
          firstTs: 0n,
          lastSeq: 7,
          numSubjects: 0,
          deleted: [],
        });
        expect(codeOf(() => store.loadMsg(6))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(8))).toBe("ErrStoreEOF");
        expect(store.purge()).toBe(0);
      });
    });
  });

  describe("compact", () => {
    it("below or at the first sequence removes nothing", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 5);
        store.removeMsg(1);
        store.removeMsg(2);
        const before = snapshot(store);
        for (const seq of [1, 2, 3]) expect(store.compact(seq)).toBe(0);
        expect(snapshot(store)).toStrictEqual(before);
      });
    });

    it("inside the stream removes everything below and moves first to the next message", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 10);
        store.removeMsg(2);
        store.removeMsg(6);
        store.removeMsg(9);
        expect(store.compact(6)).toBe(4);
        expect(store.state()).toMatchObject({
          msgs: 3,
          bytes: 3 * ONE + 1,
          firstSeq: 7,
          firstTs: 7_000n,
          lastSeq: 10,
          numDeleted: 1,
          deleted: [9],
        });
        expect(codeOf(() => store.loadMsg(5))).toBe("ErrStoreMsgNotFound");
      });
    });

    it("at the last sequence keeps only the last message", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 4);
        expect(store.compact(4)).toBe(3);
        expect(store.state()).toMatchObject({
          msgs: 1,
          firstSeq: 4,
          firstTs: 4_000n,
          lastSeq: 4,
          deleted: [],
        });
      });
    });

    it("at last + 1 removes everything and keeps the last sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 4);
        store.skipMsg();
        store.removeMsg(4);
        expect(store.compact(6)).toBe(3);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 6,
          lastSeq: 5,
          bytes: 0,
          deleted: [],
        });
      });
    });

    it("beyond last + 1 removes everything and the next message gets that sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 3);
        expect(store.compact(10)).toBe(3);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 10,
          firstTs: 0n,
          lastSeq: 9,
          lastTs: 3_000n,
          numDeleted: 0,
          deleted: [],
        });
        expect(store.storeMsg("foo", null, enc("x")).seq).toBe(10);
        expect(store.compact(10)).toBe(0);
        expect(store.compact(20)).toBe(1);
        expect(store.fastState()).toMatchObject({ firstSeq: 20, lastSeq: 19 });
      });
    });

    it("at 0 purges", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 3);
        expect(store.compact(0)).toBe(3);
        expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 4, lastSeq: 3 });
      });
    });
  });

  describe("truncate", () => {
    it("removes every message above the sequence and makes it the last", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 9);
        store.removeMsg(3);
        store.removeMsg(8);
        store.truncate(6);
        expect(store.state()).toMatchObject({
          msgs: 5,
          bytes: 5 * ONE,
          firstSeq: 1,
          lastSeq: 6,
          lastTs: 6_000n,
          numDeleted: 1,
          deleted: [3],
        });
        expect(codeOf(() => store.loadMsg(7))).toBe("ErrStoreEOF");
        clock.t = 50_000n;
        expect(store.storeMsg("foo", null, enc("again")).seq).toBe(7);
        store.truncate(7);
        expect(store.fastState()).toMatchObject({ msgs: 6, lastSeq: 7, lastTs: 50_000n });
      });
    });

    it("keeps interior deletes below the sequence (nats-server's TestMemStoreStreamTruncate)", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 50);
        for (const seq of [10, 20, 30, 40]) store.removeMsg(seq);
        store.truncate(25);
        expect(store.state()).toMatchObject({
          msgs: 23,
          lastSeq: 25,
          deleted: [10, 20],
          numDeleted: 2,
        });
      });
    });

    it("needs a message at the sequence, else ErrStoreMsgNotFound and nothing changes", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 6);
        store.removeMsg(4);
        store.compact(2);
        store.skipMsg();
        const before = snapshot(store);
        for (const seq of [0, 1, 4, 7, 8, 100]) {
          expect([seq, codeOf(() => store.truncate(seq))]).toStrictEqual([
            seq,
            "ErrStoreMsgNotFound",
          ]);
        }
        expect(snapshot(store)).toStrictEqual(before);
        store.truncate(6);
        expect(store.state()).toMatchObject({ msgs: 4, lastSeq: 6, lastTs: 6_000n, deleted: [4] });
        store.purge();
        expect(codeOf(() => store.truncate(6))).toBe("ErrStoreMsgNotFound");
      });
    });
  });
}
