/**
 * Durable consumers and time: redelivery after ackWaitMs on the stream's
 * injected clock, redeliveries before new messages and in stream order,
 * maxDeliver, backoff steps, maxAckPending, and waiting fetches woken by an
 * ack, a nak or a deadline.
 */
import type { TestApi } from "../harness.ts";
import {
  advance,
  deliveries,
  putMany,
  ready,
  seqs,
  sleep,
  withStream,
} from "./consumer-helpers.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, withStore } from "./store-helpers.ts";

export function consumerTimingTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
): void {
  describe("redelivery and limits", () => {
    it("redelivers an unacked message once ackWaitMs has passed, before new ones, in stream order", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 4);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(1);
        advance(clock, 10);
        await c.fetch(2);
        advance(clock, 989);
        expect(await ready(c)).toMatchObject([{ seq: 4 }]);
        advance(clock, 1);
        expect(deliveries(await ready(c))).toEqual([[1, 2]]);
        advance(clock, 10);
        putMany(store, "a", 1);
        const again = await ready(c);
        expect(deliveries(again)).toEqual([
          [2, 2],
          [3, 2],
          [5, 1],
        ]);
        expect(again.map((m) => m.consumerSeq)).toEqual([6, 7, 8]);
        expect(c.info()).toMatchObject({
          numAckPending: 5,
          numRedelivered: 3,
          delivered: { consumer: 8, stream: 5 },
        });
      });
    });

    it("maxDeliver: after the last delivery's wait the message leaves pending for good", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 2);
        const c = store.consumer("c", { ackWaitMs: 100, maxDeliver: 2 });
        expect(deliveries(await ready(c))).toEqual([
          [1, 1],
          [2, 1],
        ]);
        c.ack(2);
        advance(clock, 100);
        expect(deliveries(await ready(c))).toEqual([[1, 2]]);
        advance(clock, 100);
        expect(await ready(c)).toEqual([]);
        expect(c.info()).toMatchObject({ numAckPending: 0, numPending: 0, numRedelivered: 1 });
        expect(codeOf(() => c.ack(1))).toBe("ErrNotPending");
        advance(clock, 10_000);
        expect(await ready(c)).toEqual([]);
      });
    });

    it("backoffMs: the k-th redelivery waits the k-th step, the last step repeats", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 1);
        const c = store.consumer("c", { ackWaitMs: 5, backoffMs: [100, 300], maxDeliver: 5 });
        await c.fetch(1);
        const waits = [100, 300, 300, 300];
        for (const [k, wait] of waits.entries()) {
          advance(clock, wait - 1);
          expect(await ready(c)).toEqual([]);
          advance(clock, 1);
          expect(deliveries(await ready(c))).toEqual([[1, k + 2]]);
        }
        advance(clock, 300);
        expect(await ready(c)).toEqual([]);
        expect(c.info().numAckPending).toBe(0);
      });
    });

    it("maxAckPending stops new deliveries, not redeliveries; an ack makes room", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 5);
        const c = store.consumer("c", { maxAckPending: 2, ackWaitMs: 1000 });
        expect(seqs(await c.fetch(10))).toEqual([1, 2]);
        expect(await ready(c)).toEqual([]);
        advance(clock, 1000);
        expect(deliveries(await c.fetch(10))).toEqual([
          [1, 2],
          [2, 2],
        ]);
        c.ack(1);
        expect(seqs(await ready(c))).toEqual([3]);
        const waiting = c.fetch(10, { expiresMs: 5000 });
        c.ack(2);
        expect(seqs(await waiting)).toEqual([4]);
        const unlimited = store.consumer("u", { maxAckPending: -1 });
        expect(seqs(await ready(unlimited))).toEqual([1, 2, 3, 4, 5]);
      });
    });

    it("a nak wakes a waiting fetch", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 1);
        const c = store.consumer("c");
        await c.fetch(1);
        const waiting = c.fetch(1, { expiresMs: 5000 });
        await sleep(2);
        c.nak(1);
        expect(deliveries(await waiting)).toEqual([[1, 2]]);
      });
    });

    it("a waiting fetch gets a redelivery when its deadline passes", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 1);
        const c = store.consumer("c", { ackWaitMs: 20 });
        await c.fetch(1);
        const waiting = c.fetch(1, { expiresMs: 5000 });
        await sleep(2);
        // The timer looks at the stream's clock when it fires.
        advance(clock, 20);
        expect(deliveries(await waiting)).toEqual([[1, 2]]);
      });
    });

    it("a waiting fetch gets a redelivery with the system clock", async () => {
      await withStore(factory, undefined, async (store) => {
        putMany(store, "a", 1);
        const c = store.consumer("c", { ackWaitMs: 30 });
        await c.fetch(1);
        const started = performance.now();
        expect(deliveries(await c.fetch(1, { expiresMs: 5000 }))).toEqual([[1, 2]]);
        expect(performance.now() - started).toBeGreaterThanOrEqual(20);
      });
    });
  });
}
