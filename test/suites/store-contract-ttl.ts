/**
 * Per-message TTLs on every engine (nats-server 2.11's Nats-TTL): a message
 * stored with `ttl` seconds goes once its timestamp plus the TTL has passed,
 * on the next store, at open, or by a timer; TTL -1 never expires, not even
 * by maxAgeMs. Clocks are injected; the one timer test waits under 100 ms.
 */
import { systemNow } from "../../src/clock.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, expectedSize, snapshot, testClock, withStore } from "./store-helpers.ts";

const SECOND = 1_000_000_000n;

export function ttlTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("per-message TTL", () => {
    it("removes a message once its TTL has passed, not a nanosecond before", async () => {
      const clock = testClock(10n * SECOND);
      await withStore(factory, { allowMsgTtl: true, now: clock.now }, (store) => {
        store.storeMsg("a", null, enc("short"), 2);
        store.storeMsg("b", null, enc("plain"));
        store.storeMsg("c", null, enc("long"), 5);
        expect(store.fastState().bytes).toBe(
          expectedSize("a", 0, 5, 2) + expectedSize("b", 0, 5) + expectedSize("c", 0, 4, 5),
        );
        clock.t = 12n * SECOND - 1n;
        store.storeMsg("d", null, enc("x"));
        expect(store.fastState()).toMatchObject({ msgs: 4, firstSeq: 1 });
        clock.t = 12n * SECOND;
        store.storeMsg("d", null, enc("y"));
        expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 2, lastSeq: 5 });
        expect(codeOf(() => store.loadMsg(1))).toBe("ErrStoreMsgNotFound");
        clock.t = 15n * SECOND;
        store.storeMsg("d", null, enc("z"));
        expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 2, deleted: [3] });
        expect(store.subjectsTotals("")).toStrictEqual({ b: 1, d: 3 });
      });
    });

    it("keeps a message with TTL -1 through maxAgeMs, and a shorter TTL beats maxAgeMs", async () => {
      const clock = testClock(10n * SECOND);
      const options = { allowMsgTtl: true, maxAgeMs: 10_000, now: clock.now };
      await withStore(factory, options, (store) => {
        store.storeMsg("keep", null, enc("forever"), -1);
        store.storeMsg("age", null, enc("aged out"));
        store.storeMsg("ttl", null, enc("ttl first"), 1);
        store.storeMsg("keep", null, enc("forever too"), -1);
        clock.t = 11n * SECOND;
        store.storeMsg("late", null, enc("l"));
        expect(store.subjectsTotals("")).toStrictEqual({ keep: 2, age: 1, late: 1 });
        clock.t = 20n * SECOND;
        store.storeMsg("late", null, enc("m"));
        expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 1, deleted: [2, 3] });
        clock.t = 100n * SECOND;
        store.storeMsg("late", null, enc("n"));
        expect(store.subjectsTotals("")).toStrictEqual({ keep: 2, late: 1 });
        expect(store.loadMsg(4).msg).toStrictEqual(enc("forever too"));
      });
    });

    it("expires on a timer with no write needed", async () => {
      await withStore(factory, { allowMsgTtl: true }, async (store) => {
        // A timestamp from the past puts the expiry 30 ms from now.
        store.storeRawMsg("t", null, enc("soon"), 1, systemNow() - SECOND + 30_000_000n, 1);
        store.storeMsg("t", null, enc("stays"), 3600);
        expect(store.fastState().msgs).toBe(2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 2 });
      });
    });

    it("forgets the TTL of a removed, purged or truncated message", async () => {
      const clock = testClock(10n * SECOND);
      await withStore(factory, { allowMsgTtl: true, now: clock.now }, (store) => {
        store.storeMsg("a", null, enc("1"), 1);
        store.storeMsg("a", null, enc("2"), 1);
        store.storeMsg("a", null, enc("3"), 1);
        store.removeMsg(1);
        store.truncate(2);
        // Sequence 3 is handed out again, now without a TTL.
        expect(store.storeMsg("a", null, enc("3 again")).seq).toBe(3);
        clock.t = 20n * SECOND;
        store.storeMsg("b", null, enc("4"));
        expect(store.state()).toMatchObject({ msgs: 2, firstSeq: 3, lastSeq: 4 });
        expect(store.loadMsg(3).msg).toStrictEqual(enc("3 again"));
        store.storeMsg("c", null, enc("5"), 1);
        store.purge();
        store.storeMsg("c", null, enc("6"));
        clock.t = 30n * SECOND;
        store.storeMsg("c", null, enc("7"));
        expect(store.state()).toMatchObject({ msgs: 2, firstSeq: 6, lastSeq: 7 });
      });
    });

    it("follows a clock that jumps back: an expiry set after the jump still comes", async () => {
      const clock = testClock(100n * SECOND);
      await withStore(factory, { allowMsgTtl: true, now: clock.now }, (store) => {
        store.storeMsg("a", null, enc("1"), 1);
        clock.t = 200n * SECOND;
        store.storeMsg("a", null, enc("2"));
        expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 2 });
        clock.t = 50n * SECOND;
        store.storeMsg("b", null, enc("3"), 2);
        clock.t = 51n * SECOND;
        store.storeMsg("b", null, enc("4"));
        expect(store.fastState().msgs).toBe(3);
        clock.t = 52n * SECOND;
        store.storeMsg("b", null, enc("5"));
        expect(store.state()).toMatchObject({ msgs: 3, firstSeq: 2, deleted: [3] });
      });
    });

    it("refuses a TTL that is not a whole number of seconds up to 2^32 - 1, storing nothing", async () => {
      await withStore(factory, { allowMsgTtl: true }, (store) => {
        for (const bad of [-2, 1.5, 2 ** 32, Number.NaN, "5"]) {
          expect([bad, codeOf(() => store.storeMsg("a", null, enc("x"), bad as number))]).toEqual([
            bad,
            "ErrInvalidArgument",
          ]);
        }
        expect(store.fastState().msgs).toBe(0);
        expect(store.storeMsg("a", null, enc("x"), 2 ** 32 - 1).seq).toBe(1);
      });
    });

    it("allowMsgTtl can be turned on by updateConfig but not off, changing nothing", async () => {
      const clock = testClock(SECOND);
      await withStore(factory, { now: clock.now }, (store) => {
        expect(codeOf(() => store.storeMsg("a", null, enc("x"), 5))).toBe("ErrInvalidArgument");
        store.updateConfig({ allowMsgTtl: true });
        store.storeMsg("a", null, enc("x"), 5);
        const before = snapshot(store);
        expect(codeOf(() => store.updateConfig({}))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.updateConfig({ maxMsgs: 1 }))).toBe("ErrInvalidArgument");
        expect(snapshot(store)).toStrictEqual(before);
        clock.t = 7n * SECOND;
        store.updateConfig({ allowMsgTtl: true });
        expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 2 });
      });
    });

    it("msgTtl reads back each message's TTL, 0 without one, and loadMsg's errors elsewhere", async () => {
      const clock = testClock(10n * SECOND);
      await withStore(factory, { allowMsgTtl: true, now: clock.now }, (store) => {
        store.storeMsg("a", null, enc("1"), 30);
        store.storeMsg("b", null, enc("2"));
        store.storeMsg("c", enc("h"), enc("3"), -1);
        store.storeRawMsg("d", null, enc("4"), 4, 11n * SECOND, 7);
        store.removeMsg(2);
        expect([1, 3, 4].map((seq) => store.msgTtl(seq))).toStrictEqual([30, -1, 7]);
        store.storeMsg("e", null, enc("5"));
        expect(store.msgTtl(5)).toBe(0);
        expect(
          [2, 9].map((seq) => [codeOf(() => store.msgTtl(seq)), codeOf(() => store.loadMsg(seq))]),
        ).toStrictEqual([
          [codeOf(() => store.loadMsg(2)), "ErrStoreMsgNotFound"],
          ["ErrStoreEOF", "ErrStoreEOF"],
        ]);
      });
    });

    if (factory.supports.persistence) {
      it("keeps TTLs through a reopen: due messages go at open, the rest later", async () => {
        const clock = testClock(10n * SECOND);
        const fixture = await factory.create({
          allowMsgTtl: true,
          maxAgeMs: 60_000,
          now: clock.now,
        });
        try {
          for (let i = 1; i <= 30; i++) {
            const ttl = i % 3 === 0 ? -1 : i % 3 === 1 ? 5 : 20;
            fixture.store.storeMsg(`s.${i % 4}`, null, enc(`m${i}`), ttl);
          }
          clock.t = 16n * SECOND;
          let store = await fixture.reopen();
          expect(store.fastState().msgs).toBe(20);
          expect(codeOf(() => store.loadMsg(1))).toBe("ErrStoreMsgNotFound");
          expect(store.loadMsg(2).msg).toStrictEqual(enc("m2"));
          expect([2, 3, 5].map((seq) => store.msgTtl(seq))).toStrictEqual([20, -1, 20]);
          clock.t = 31n * SECOND;
          store = await fixture.reopen();
          expect(store.fastState().msgs).toBe(10);
          // Past maxAgeMs only the never-expiring ones remain, after another reopen too.
          clock.t = 200n * SECOND;
          store = await fixture.reopen();
          expect(store.state()).toMatchObject({ msgs: 10, firstSeq: 3, lastSeq: 30 });
          store.storeMsg("new", null, enc("n"), 1);
          clock.t = 202n * SECOND;
          store.storeMsg("new", null, enc("o"));
          expect(store.subjectsTotals("new")).toStrictEqual({ new: 1 });
        } finally {
          await fixture.cleanup();
        }
      });
    }
  });
}
