/**
 * The stream's retention through its consumers: the `retention` option and
 * `updateConfig`, work queues (a message goes once acked; consumers may not
 * overlap) and interest (a message goes once every consumer whose filter
 * matches it is done with it; one nobody wants is not kept).
 */
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { advance, put, putMany, ready, seqs, withStream } from "./consumer-helpers.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, snapshot } from "./store-helpers.ts";

/** The live sequences of the stream. */
function live(store: StreamStore): number[] {
  return snapshot(store).msgs.map((m) => m.seq);
}

export function consumerRetentionTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
): void {
  describe("retention", () => {
    it("is fixed at creation: updateConfig with another retention changes nothing", async () => {
      await withStream(factory, { retention: "workqueue", maxMsgs: 10 }, (store) => {
        putMany(store, "a", 3);
        const before = snapshot(store);
        for (const retention of ["limits", "interest", undefined] as const) {
          expect(codeOf(() => store.updateConfig({ retention, maxMsgs: 2 }))).toBe(
            "ErrInvalidArgument",
          );
        }
        expect(snapshot(store)).toEqual(before);
        store.updateConfig({ retention: "workqueue", maxMsgs: 2 });
        expect(live(store)).toEqual([2, 3]);
      });
    });

    it("workqueue: an ack or a term removes the message; a nak or the end of its deliveries does not", async () => {
      await withStream(factory, { retention: "workqueue" }, async (store, clock) => {
        putMany(store, "a", 4);
        const c = store.consumer("w", { ackWaitMs: 100, maxDeliver: 1 });
        await c.fetch(4);
        c.ack(1);
        c.term(2);
        c.nak(3);
        expect(live(store)).toEqual([3, 4]);
        advance(clock, 100);
        expect(await ready(c)).toEqual([]);
        expect(live(store)).toEqual([3, 4]);
        expect(c.info().numAckPending).toBe(0);
      });
    });

    it("workqueue: consumers must not share subjects, take explicit acks and start at the beginning", async () => {
      await withStream(factory, { retention: "workqueue" }, async (store) => {
        const a = store.consumer("a", { filter: "orders.*.east" });
        expect(codeOf(() => store.consumer("all"))).toBe("ErrConsumerConflict");
        expect(codeOf(() => store.consumer("b", { filter: "orders.1.*" }))).toBe(
          "ErrConsumerConflict",
        );
        expect(codeOf(() => store.consumer("b", { filters: ["x", "orders.>"] }))).toBe(
          "ErrConsumerConflict",
        );
        expect(codeOf(() => store.consumer("b", { filter: "x", ackPolicy: "all" }))).toBe(
          "ErrInvalidArgument",
        );
        expect(codeOf(() => store.consumer("b", { filter: "x", ackPolicy: "none" }))).toBe(
          "ErrInvalidArgument",
        );
        expect(codeOf(() => store.consumer("b", { filter: "x", deliverPolicy: "new" }))).toBe(
          "ErrInvalidArgument",
        );
        const b = store.consumer("b", { filters: ["orders.*.west", "x"] });
        put(store, "orders.1.east", "orders.1.west", "x");
        expect(seqs(await ready(a))).toEqual([1]);
        expect(seqs(await ready(b))).toEqual([2, 3]);
        // A closed consumer keeps its subjects; a deleted one frees them.
        await a.close();
        expect(codeOf(() => store.consumer("c", { filter: "orders.2.east" }))).toBe(
          "ErrConsumerConflict",
        );
        const again = store.consumer("a", { filter: "orders.*.east" });
        await again.delete();
        store.consumer("c", { filter: "orders.2.east" });
      });
    });

    it("workqueue: a single unfiltered consumer takes everything", async () => {
      await withStream(factory, { retention: "workqueue" }, async (store) => {
        putMany(store, "a", 3);
        const c = store.consumer("w");
        for (const m of await ready(c)) c.ack(m.seq);
        expect(store.state().msgs).toBe(0);
        expect(store.fastState().lastSeq).toBe(3);
      });
    });

    it("interest: a message no consumer's filter matches is not kept", async () => {
      await withStream(factory, { retention: "interest" }, async (store) => {
        expect(put(store, "a", "b")).toEqual([1, 2]);
        expect(store.state().msgs).toBe(0);
        store.consumer("c", { filter: "a" });
        put(store, "a", "b");
        expect(live(store)).toEqual([3]);
      });
    });

    it("interest: a message no consumer wants is not stored, so it makes no room under the limits", async () => {
      await withStream(factory, { retention: "interest", maxMsgs: 2 }, async (store) => {
        store.consumer("c", { filter: "a" });
        put(store, "a", "a");
        const { seq } = store.storeMsg("b", null, new Uint8Array(3));
        expect(seq).toBe(3);
        expect(live(store)).toEqual([1, 2]);
        expect(store.fastState().lastSeq).toBe(3);
      });
    });

    it("interest: a message no consumer wants is skipped under discard new at the limits, as nats-server 2.9 admits it; maxMsgSize still refuses it", async () => {
      const limits = {
        retention: "interest",
        discard: "new",
        maxMsgSize: 100,
        maxMsgsPerSubject: 1,
        discardNewPerSubject: true,
      } as const;
      for (const full of ["maxMsgs", "maxBytes"] as const) {
        await withStream(factory, limits, async (store) => {
          store.consumer("c", { filter: "a.*" });
          put(store, "a.1", "a.2");
          const { msgs, bytes } = store.fastState();
          store.updateConfig({ ...limits, [full]: full === "maxMsgs" ? msgs : bytes });
          expect(codeOf(() => store.storeMsg("a.3", null, new Uint8Array(3)))).toBe(
            full === "maxMsgs" ? "ErrMaxMsgs" : "ErrMaxBytes",
          );
          // Nobody wants it: its sequence is used up by a skip, which takes no room.
          expect(store.storeMsg("b", null, new Uint8Array(3)).seq).toBe(3);
          expect(codeOf(() => store.storeMsg("b", null, new Uint8Array(101)))).toBe(
            "ErrMsgTooLarge",
          );
          expect(live(store)).toEqual([1, 2]);
          expect(store.fastState().lastSeq).toBe(3);
        });
      }
    });

    it("interest: storeRawMsg of a message no consumer wants is a skip at its sequence and time, as storeMsg's: it makes no room, discard new at the limits admits it, maxMsgSize refuses it", async () => {
      const limits = { retention: "interest", maxMsgs: 2, maxMsgSize: 100 } as const;
      await withStream(factory, limits, async (store, _clock, fixture) => {
        store.consumer("c", { filter: "a" });
        put(store, "a", "a");
        store.storeRawMsg("b", null, new Uint8Array(3), 3, 7n);
        expect(live(store)).toEqual([1, 2]);
        expect(store.fastState()).toMatchObject({ msgs: 2, lastSeq: 3, lastTs: 7n });
        store.updateConfig({ ...limits, discard: "new" });
        store.storeRawMsg("b", null, new Uint8Array(3), 4, 9n);
        expect(codeOf(() => store.storeRawMsg("b", null, new Uint8Array(101), 5, 11n))).toBe(
          "ErrMsgTooLarge",
        );
        expect(live(store)).toEqual([1, 2]);
        const reopened = await fixture.reopen();
        expect(reopened.fastState()).toMatchObject({ msgs: 2, lastSeq: 4, lastTs: 9n });
        expect(live(reopened)).toEqual([1, 2]);
      });
    });

    it("interest: a message goes once every matching consumer has acked it", async () => {
      await withStream(factory, { retention: "interest" }, async (store) => {
        const x = store.consumer("x", { filter: "a.*" });
        const y = store.consumer("y");
        const z = store.consumer("z", { filter: "b", ackPolicy: "all" });
        put(store, "a.1", "b", "a.2");
        await ready(x);
        await ready(y);
        await ready(z);
        x.ack(1);
        expect(live(store)).toEqual([1, 2, 3]);
        y.ack(1);
        y.ack(2);
        expect(live(store)).toEqual([2, 3]);
        z.ack(2);
        expect(live(store)).toEqual([3]);
        y.term(3);
        x.ack(3);
        expect(live(store)).toEqual([]);
      });
    });

    it("interest: ack policy none is done with a message once delivered", async () => {
      await withStream(factory, { retention: "interest" }, async (store) => {
        const c = store.consumer("c", { ackPolicy: "none" });
        putMany(store, "a", 3);
        expect(live(store)).toEqual([1, 2, 3]);
        await c.fetch(2);
        expect(live(store)).toEqual([3]);
      });
    });

    it("interest: a closed consumer keeps its interest; deleting it lets go of what only it needed", async () => {
      await withStream(factory, { retention: "interest" }, async (store) => {
        const x = store.consumer("x");
        const y = store.consumer("y", { filter: "a" });
        putMany(store, "a", 3);
        put(store, "b");
        await y.close();
        for (const m of await ready(x)) x.ack(m.seq);
        expect(live(store)).toEqual([1, 2, 3]);
        const back = store.consumer("y", { filter: "a" });
        await back.fetch(1);
        back.ack(1);
        expect(live(store)).toEqual([2, 3]);
        await back.delete();
        expect(live(store)).toEqual([]);
      });
    });

    it("interest: a redelivered message waits for its ack", async () => {
      await withStream(factory, { retention: "interest" }, async (store, clock) => {
        const c = store.consumer("c", { ackWaitMs: 10 });
        putMany(store, "a", 1);
        await c.fetch(1);
        advance(clock, 10);
        expect(seqs(await ready(c))).toEqual([1]);
        expect(live(store)).toEqual([1]);
        c.ack(1);
        expect(live(store)).toEqual([]);
      });
    });

    if (factory.supports.persistence) {
      it("interest: consumers on disk keep their interest before they are opened again", async () => {
        await withStream(factory, { retention: "interest" }, async (store, _clock, fixture) => {
          const c = store.consumer("c", { filter: "a" });
          putMany(store, "a", 2);
          await c.fetch(1);
          const reopened = await fixture.reopen();
          put(reopened, "a", "b");
          expect(live(reopened)).toEqual([1, 2, 3]);
          const back = reopened.consumer("c", { filter: "a" });
          back.ack(1);
          expect(live(reopened)).toEqual([2, 3]);
        });
      });

      it("interest: a consumer reopened after acking keeps what another consumer still needs", async () => {
        await withStream(factory, { retention: "interest" }, async (store, _clock, fixture) => {
          const c = store.consumer("c");
          const d = store.consumer("d", { filter: "a" });
          put(store, "a", "b", "a", "b");
          for (const m of await c.fetch(4)) c.ack(m.seq);
          expect(seqs(await d.fetch(1))).toEqual([1]);
          expect(live(store)).toEqual([1, 3]);
          await c.close();
          await d.close();
          const reopened = await fixture.reopen();
          reopened.consumer("c");
          expect(live(reopened)).toEqual([1, 3]);
          const back = reopened.consumer("d", { filter: "a" });
          back.ack(1);
          expect(live(reopened)).toEqual([3]);
        });
      });

      it("interest: a consumer reopened after the stream keeps what ran out of deliveries before its start", async () => {
        await withStream(factory, { retention: "interest" }, async (store, clock, fixture) => {
          const d = store.consumer("d", { ackWaitMs: 1000, maxDeliver: 1 });
          put(store, "a");
          expect(seqs(await ready(d))).toEqual([1]);
          advance(clock, 1000);
          expect(await ready(d)).toEqual([]);
          const c = store.consumer("c", { deliverPolicy: "new" });
          put(store, "a");
          expect(seqs(await ready(c))).toEqual([2]);
          c.ack(2);
          expect(live(store)).toEqual([1, 2]);
          await c.close();
          await d.close();
          const reopened = await fixture.reopen();
          reopened.consumer("c", { deliverPolicy: "new" });
          // c never had 1: what d ran out of deliveries for stays (README), 2 waits for d.
          expect(live(reopened)).toEqual([1, 2]);
        });
      });

      it("workqueue: consumers on disk keep their subjects", async () => {
        await withStream(factory, { retention: "workqueue" }, async (store, _clock, fixture) => {
          await store.consumer("c", { filter: "a" }).close();
          const reopened = await fixture.reopen();
          expect(codeOf(() => reopened.consumer("d", { filter: "a" }))).toBe("ErrConsumerConflict");
          reopened.consumer("d", { filter: "b" });
        });
      });
    }
  });
}
