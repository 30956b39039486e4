/**
 * The durable consumer contract (src/consumers/consumer.ts), run on every
 * stream store factory: fetch, next, ack, nak, term, working, info,
 * messages(), close and delete; the deliver policies and filters. Timing
 * (redelivery, maxDeliver, backoff, maxAckPending, waiting fetches) is in
 * consumers-timing.ts, reopen and at-least-once in consumers-persistence.ts,
 * retention in consumers-retention.ts, closed consumers and a truncate in
 * consumers-truncate.ts, bad input in consumers-inputs.ts, the
 * model test in consumers-model.ts, open against reopened in
 * consumers-reopen-model.ts.
 */
import type { RuntimeContext, TestApi } from "../harness.ts";
import {
  advance,
  deliveries,
  put,
  putMany,
  ready,
  seqs,
  sleep,
  T0,
  withStream,
} from "./consumer-helpers.ts";
import { consumerInputTests } from "./consumers-inputs.ts";
import { consumerModelTests } from "./consumers-model.ts";
import { consumerPersistenceTests } from "./consumers-persistence.ts";
import { consumerRemovalTests } from "./consumers-removals.ts";
import { consumerReopenModelTests } from "./consumers-reopen-model.ts";
import { consumerRetentionTests } from "./consumers-retention.ts";
import { consumerTimingTests } from "./consumers-timing.ts";
import { consumerTruncateTests } from "./consumers-truncate.ts";
import { type StoreFactory, storeFactories } from "./store-factories.ts";
import { codeOf, codeOfAsync, enc } from "./store-helpers.ts";

export function consumersSuite(api: TestApi, ctx: RuntimeContext): void {
  api.describe("durable consumers", () => {
    for (const factory of storeFactories(ctx)) {
      api.describe(factory.name, () => {
        basicTests(api, factory);
        ackTests(api, factory);
        deliverPolicyTests(api, factory);
        filterTests(api, factory);
        consumerTimingTests(api, factory);
        consumerRemovalTests(api, factory);
        consumerReopenModelTests(api, factory);
        consumerTruncateTests(api, factory);
        consumerPersistenceTests(api, factory, ctx);
        consumerRetentionTests(api, factory);
        consumerInputTests(api, factory);
        consumerModelTests(api, factory);
      });
    }
  });
}

function basicTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("fetch, next, info, messages", () => {
    it("delivers in stream order with the stored fields, consumer sequences and delivery counts", async () => {
      await withStream(factory, {}, async (store, clock) => {
        store.storeMsg("a", enc("h"), enc("one"));
        advance(clock, 5);
        store.storeMsg("b", null, enc("two"));
        const c = store.consumer("c");
        const [m1, m2] = await ready(c);
        expect(m1).toEqual({
          subject: "a",
          hdr: enc("h"),
          msg: enc("one"),
          seq: 1,
          ts: T0,
          consumerSeq: 1,
          deliveryCount: 1,
        });
        expect(m2).toEqual({
          subject: "b",
          hdr: null,
          msg: enc("two"),
          seq: 2,
          ts: T0 + 5_000_000n,
          consumerSeq: 2,
          deliveryCount: 1,
        });
        expect(await ready(c)).toEqual([]);
      });
    });

    it("fetch takes at most max; next takes one; info follows", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 5);
        const c = store.consumer("c");
        expect(c.info()).toEqual({
          name: "c",
          numPending: 5,
          numAckPending: 0,
          numRedelivered: 0,
          delivered: { consumer: 0, stream: 0 },
          ackFloor: { consumer: 0, stream: 0 },
        });
        expect(seqs(await c.fetch(2))).toEqual([1, 2]);
        expect((await c.next())?.seq).toBe(3);
        expect(c.info()).toEqual({
          name: "c",
          numPending: 2,
          numAckPending: 3,
          numRedelivered: 0,
          delivered: { consumer: 3, stream: 3 },
          ackFloor: { consumer: 0, stream: 0 },
        });
        c.ack(1);
        c.ack(3);
        expect(c.info()).toMatchObject({
          numAckPending: 1,
          ackFloor: { consumer: 1, stream: 1 },
        });
        c.ack(2);
        expect(c.info()).toMatchObject({
          numAckPending: 0,
          ackFloor: { consumer: 3, stream: 3 },
        });
      });
    });

    it("a fetch with nothing ready waits and resolves with the burst stored in one go", async () => {
      await withStream(factory, {}, async (store) => {
        const c = store.consumer("c");
        const waiting = c.fetch(10, { expiresMs: 5000 });
        putMany(store, "a", 3);
        expect(seqs(await waiting)).toEqual([1, 2, 3]);
      });
    });

    it("a waiting fetch expires with [] and next with null; expiresMs 0 does not wait", async () => {
      await withStream(factory, {}, async (store) => {
        const c = store.consumer("c");
        const started = performance.now();
        expect(await c.fetch(5, { expiresMs: 30 })).toEqual([]);
        expect(performance.now() - started).toBeGreaterThanOrEqual(25);
        expect(await c.next({ expiresMs: 10 })).toBeNull();
        expect(await c.fetch(5, { expiresMs: 0 })).toEqual([]);
      });
    });

    it("waiting fetches are served first come first served, each up to its max", async () => {
      await withStream(factory, {}, async (store) => {
        const c = store.consumer("c");
        const first = c.fetch(2, { expiresMs: 5000 });
        const second = c.fetch(5, { expiresMs: 5000 });
        putMany(store, "a", 4);
        expect(seqs(await first)).toEqual([1, 2]);
        expect(seqs(await second)).toEqual([3, 4]);
      });
    });

    it("a waiting fetch ignores messages its filter does not match", async () => {
      await withStream(factory, {}, async (store) => {
        const c = store.consumer("c", { filter: "b" });
        const waiting = c.fetch(5, { expiresMs: 5000 });
        put(store, "a");
        await sleep(5);
        put(store, "b");
        expect(seqs(await waiting)).toEqual([2]);
      });
    });

    it("messages() follows the stream live and ends when the consumer closes", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 2);
        const c = store.consumer("c");
        const got: number[] = [];
        const reading = (async () => {
          for await (const m of c.messages()) {
            got.push(m.seq);
            c.ack(m.seq);
            if (m.seq === 2) setTimeout(() => put(store, "a", "a"), 1);
            if (m.seq === 4) setTimeout(() => c.close(), 1);
          }
        })();
        await reading;
        expect(got).toEqual([1, 2, 3, 4]);
        expect(await codeOfAsync(() => c.fetch(1))).toBe("ErrStoreClosed");
      });
    });

    it("messages() and waiting fetches end cleanly when the stream closes", async () => {
      await withStream(factory, {}, async (store, _clock, fixture) => {
        const c = store.consumer("c");
        const waiting = c.fetch(3, { expiresMs: 60_000 });
        const iterated: number[] = [];
        const reading = (async () => {
          for await (const m of c.messages()) iterated.push(m.seq);
        })();
        await sleep(5);
        await fixture.store.close();
        expect(await waiting).toEqual([]);
        await reading;
        expect(iterated).toEqual([]);
        expect(await codeOfAsync(() => c.fetch(1))).toBe("ErrStoreClosed");
        expect(codeOf(() => c.info())).toBe("ErrStoreClosed");
        expect(codeOf(() => store.consumer("c"))).toBe("ErrStoreClosed");
      });
    });

    it("close ends the handle, keeps the consumer; every later call is ErrStoreClosed", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 2);
        const c = store.consumer("c");
        await c.fetch(2);
        c.ack(1);
        const waiting = c.fetch(1, { expiresMs: 60_000 });
        await c.close();
        await c.close();
        expect(await waiting).toEqual([]);
        for (const call of [
          () => c.ack(2),
          () => c.nak(2),
          () => c.term(2),
          () => c.working(2),
          () => c.info(),
        ]) {
          expect(codeOf(call)).toBe("ErrStoreClosed");
        }
        for (const call of [() => c.fetch(1), () => c.next(), () => c.sync(), () => c.delete()]) {
          expect(await codeOfAsync(call)).toBe("ErrStoreClosed");
        }
        expect(await codeOfAsync(() => c.messages().next())).toBe("ErrStoreClosed");
        const again = store.consumer("c");
        expect(again.info()).toMatchObject({
          numPending: 0,
          numAckPending: 1,
          delivered: { consumer: 2, stream: 2 },
          ackFloor: { consumer: 1, stream: 1 },
        });
      });
    });

    it("one open handle per name: a second is ErrConsumerInUse; delete removes the consumer", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 3);
        const c = store.consumer("c");
        await c.fetch(3);
        expect(codeOf(() => store.consumer("c"))).toBe("ErrConsumerInUse");
        expect(store.fastState().consumers).toBe(1);
        await c.delete();
        expect(store.fastState().consumers).toBe(0);
        const fresh = store.consumer("c");
        expect(seqs(await ready(fresh))).toEqual([1, 2, 3]);
      });
    });

    it("counts open consumers in state().consumers", async () => {
      await withStream(factory, {}, async (store) => {
        const a = store.consumer("a");
        store.consumer("b");
        expect(store.state().consumers).toBe(2);
        await a.close();
        expect(store.fastState().consumers).toBe(1);
      });
    });
  });
}

function ackTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("acks", () => {
    it("ack policy all acknowledges everything pending up to the sequence", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 5);
        const c = store.consumer("c", { ackPolicy: "all" });
        await c.fetch(5);
        c.ack(3);
        expect(c.info()).toMatchObject({ numAckPending: 2, ackFloor: { consumer: 3, stream: 3 } });
        expect(codeOf(() => c.ack(2))).toBe("ErrNotPending");
        c.ack(5);
        expect(c.info()).toMatchObject({ numAckPending: 0, ackFloor: { consumer: 5, stream: 5 } });
      });
    });

    it("ack policy none: a delivery is its own ack, nothing is pending, acks are ErrNoAckPolicy", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 3);
        const c = store.consumer("c", { ackPolicy: "none" });
        expect(seqs(await c.fetch(2))).toEqual([1, 2]);
        expect(c.info()).toMatchObject({
          numAckPending: 0,
          numPending: 1,
          ackFloor: { consumer: 2, stream: 2 },
        });
        for (const call of [() => c.ack(1), () => c.nak(1), () => c.term(1), () => c.working(1)]) {
          expect(codeOf(call)).toBe("ErrNoAckPolicy");
        }
        advance(clock, 3_600_000);
        expect(seqs(await ready(c))).toEqual([3]);
      });
    });

    it("acking what awaits no ack is ErrNotPending and changes nothing", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 4);
        const c = store.consumer("c");
        await c.fetch(2);
        c.ack(1);
        const before = c.info();
        for (const seq of [1, 3, 4, 99]) {
          for (const call of [
            () => c.ack(seq),
            () => c.nak(seq),
            () => c.term(seq),
            () => c.working(seq),
          ]) {
            expect(codeOf(call)).toBe("ErrNotPending");
          }
        }
        expect(c.info()).toEqual(before);
      });
    });

    it("term never redelivers; nak redelivers before new messages", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 4);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(2);
        c.term(1);
        c.nak(2);
        expect(deliveries(await c.fetch(2))).toEqual([
          [2, 2],
          [3, 1],
        ]);
        c.ack(2);
        c.ack(3);
        advance(clock, 10_000);
        expect(deliveries(await ready(c))).toEqual([[4, 1]]);
        expect(codeOf(() => c.ack(1))).toBe("ErrNotPending");
      });
    });

    it("nak with a delay redelivers once the delay has passed, not before", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 2);
        const c = store.consumer("c", { ackWaitMs: 60_000 });
        await c.fetch(1);
        c.nak(1, 500);
        advance(clock, 499);
        expect(seqs(await ready(c))).toEqual([2]);
        advance(clock, 1);
        expect(deliveries(await ready(c))).toEqual([[1, 2]]);
      });
    });

    it("working restarts the ack wait", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 1);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(1);
        advance(clock, 900);
        c.working(1);
        advance(clock, 900);
        expect(await ready(c)).toEqual([]);
        advance(clock, 100);
        expect(deliveries(await ready(c))).toEqual([[1, 2]]);
      });
    });

    it("a consumer reopened on a stream cut below what it delivered delivers what is stored again there", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 5);
        const c = store.consumer("c");
        await c.fetch(5);
        c.ack(1);
        await c.close();
        store.truncate(3);
        const back = store.consumer("c");
        expect(back.info()).toMatchObject({
          numAckPending: 2,
          delivered: { consumer: 5, stream: 3 },
        });
        putMany(store, "b", 2);
        expect(deliveries(await ready(back))).toEqual([
          [4, 1],
          [5, 1],
        ]);
        expect((await ready(back)).length).toBe(0);
      });
    });

    it("a message removed from the stream while pending is not redelivered", async () => {
      await withStream(factory, {}, async (store, clock) => {
        putMany(store, "a", 3);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(3);
        store.removeMsg(2);
        advance(clock, 1000);
        expect(deliveries(await ready(c))).toEqual([
          [1, 2],
          [3, 2],
        ]);
        expect(c.info().numAckPending).toBe(2);
      });
    });

    for (const ackPolicy of ["explicit", "all"] as const) {
      it(`ack policy ${ackPolicy}: deliveries purged or compacted off the stream stop awaiting acks at once`, async () => {
        await withStream(factory, {}, async (store) => {
          putMany(store, "a", 6);
          const c = store.consumer("c", { ackPolicy, maxAckPending: 2, ackWaitMs: 60_000 });
          expect(seqs(await ready(c))).toEqual([1, 2]);
          store.compact(2);
          // nats-server drops pending below the stream's first sequence: 1 no longer counts.
          expect(c.info()).toMatchObject({
            numAckPending: 1,
            ackFloor: { consumer: 1, stream: 1 },
          });
          expect(codeOf(() => c.ack(1))).toBe("ErrNotPending");
          expect(seqs(await ready(c))).toEqual([3]);
          store.purge();
          put(store, "a");
          // Without waiting out the ack wait of the purged ones, the new message fits under maxAckPending.
          expect(deliveries(await ready(c))).toEqual([[7, 1]]);
          expect(c.info()).toMatchObject({ numAckPending: 1, ackFloor: { consumer: 3 } });
        });
      });
    }

    // The figures nats-server 2.9.10's consumer info shows after the same calls (its consumer purge).
    for (const ackPolicy of ["explicit", "all", "none"] as const) {
      it(`ack policy ${ackPolicy}: a purge moves delivered and the ack floor to just before the new first message`, async () => {
        await withStream(factory, {}, async (store) => {
          putMany(store, "a", 6);
          const c = store.consumer("c", { ackPolicy });
          expect(seqs(await c.fetch(4, { expiresMs: 0 }))).toEqual([1, 2, 3, 4]);
          if (ackPolicy !== "none") c.ack(1);
          store.purge();
          const after = { consumer: 4, stream: 6 };
          expect(c.info()).toMatchObject({ numAckPending: 0, delivered: after, ackFloor: after });
          put(store, "a", "a");
          expect(deliveries(await ready(c))).toEqual([
            [7, 1],
            [8, 1],
          ]);
          expect(c.info().ackFloor).toEqual(
            ackPolicy === "none" ? { consumer: 6, stream: 8 } : after,
          );
        });
      });
    }

    it("nothing awaiting an ack: compact, purgeEx keeping some and a purge past the end move the floors too", async () => {
      await withStream(factory, {}, async (store) => {
        putMany(store, "a", 8);
        const c = store.consumer("c");
        await ready(c, 2);
        c.ack(1);
        c.ack(2);
        store.compact(5);
        expect(c.info()).toMatchObject({
          numPending: 4,
          delivered: { consumer: 2, stream: 4 },
          ackFloor: { consumer: 2, stream: 4 },
        });
        store.purgeEx(">", 0, 2);
        expect(c.info()).toMatchObject({
          numPending: 2,
          delivered: { consumer: 2, stream: 6 },
          ackFloor: { consumer: 2, stream: 6 },
        });
        store.compact(20);
        expect(c.info()).toMatchObject({
          numPending: 0,
          delivered: { consumer: 2, stream: 19 },
          ackFloor: { consumer: 2, stream: 19 },
        });
        expect(deliveries(await ready(c))).toEqual([]);
        put(store, "a");
        expect(deliveries(await ready(c))).toEqual([[20, 1]]);
      });
    });

    it("a compact leaves the ack floor below a delivery still awaiting its ack, and a purge by subject moves nothing", async () => {
      await withStream(factory, {}, async (store, clock) => {
        put(store, "a", "b", "a", "b", "a", "b");
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await ready(c, 4);
        store.compact(3);
        // nats-server forgets 3 and 4 here too, never to redeliver them; they are still stored.
        expect(c.info()).toMatchObject({
          numAckPending: 2,
          delivered: { consumer: 4, stream: 4 },
          ackFloor: { consumer: 2, stream: 2 },
        });
        store.purgeEx("a", 0, 0);
        // 3 left the stream's head (dropped, as nats-server's checkPending does); 6 still comes.
        expect(c.info()).toMatchObject({
          numPending: 1,
          numAckPending: 1,
          delivered: { consumer: 4, stream: 4 },
          ackFloor: { consumer: 3, stream: 3 },
        });
        advance(clock, 1000);
        expect(deliveries(await ready(c))).toEqual([
          [4, 2],
          [6, 1],
        ]);
      });
    });
  });
}

function deliverPolicyTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("deliver policies", () => {
    const stream = (store: Parameters<typeof put>[0]) =>
      put(store, "a.1", "a.2", "a.1", "b.1", "a.2", "b.1");

    it("all starts at the first message, new after the last", async () => {
      await withStream(factory, {}, async (store) => {
        stream(store);
        store.removeMsg(1);
        const all = store.consumer("all", { deliverPolicy: "all" });
        expect(seqs(await ready(all))).toEqual([2, 3, 4, 5, 6]);
        const fresh = store.consumer("new", { deliverPolicy: "new" });
        expect(fresh.info().numPending).toBe(0);
        expect(await ready(fresh)).toEqual([]);
        put(store, "c");
        expect(seqs(await ready(fresh))).toEqual([7]);
      });
    });

    it("last starts at the last message, or the last matching one", async () => {
      await withStream(factory, {}, async (store) => {
        stream(store);
        expect(seqs(await ready(store.consumer("l", { deliverPolicy: "last" })))).toEqual([6]);
        const f = store.consumer("lf", { deliverPolicy: "last", filter: "a.*" });
        expect(seqs(await ready(f))).toEqual([5]);
        const none = store.consumer("ln", { deliverPolicy: "last", filter: "z" });
        expect(await ready(none)).toEqual([]);
        put(store, "z");
        expect(seqs(await ready(none))).toEqual([7]);
      });
    });

    it("byStartSequence starts at optStartSeq, clamped to the stream as nats-server does", async () => {
      await withStream(factory, {}, async (store) => {
        stream(store);
        store.removeMsg(1);
        store.removeMsg(2);
        const at4 = store.consumer("s4", { deliverPolicy: "byStartSequence", optStartSeq: 4 });
        expect(seqs(await ready(at4))).toEqual([4, 5, 6]);
        const below = store.consumer("s1", { deliverPolicy: "byStartSequence", optStartSeq: 1 });
        expect(seqs(await ready(below))).toEqual([3, 4, 5, 6]);
        const past = store.consumer("s99", { deliverPolicy: "byStartSequence", optStartSeq: 99 });
        expect(past.info().numPending).toBe(0);
        put(store, "c");
        expect(seqs(await ready(past))).toEqual([7]);
      });
    });

    it("byStartTime starts at the first message stored at or after optStartTime", async () => {
      await withStream(factory, {}, async (store, clock) => {
        for (const subject of ["a", "b", "c", "d"]) {
          put(store, subject);
          advance(clock, 10);
        }
        const c = store.consumer("t", {
          deliverPolicy: "byStartTime",
          optStartTime: T0 + 15n * 1_000_000n,
        });
        expect(seqs(await ready(c))).toEqual([3, 4]);
      });
    });

    it("lastPerSubject delivers each matching subject's last message, then everything new", async () => {
      await withStream(factory, {}, async (store) => {
        stream(store);
        const all = store.consumer("lps", { deliverPolicy: "lastPerSubject" });
        expect(all.info().numPending).toBe(3);
        expect(seqs(await all.fetch(2))).toEqual([3, 5]);
        expect(all.info().numPending).toBe(1);
        put(store, "a.1", "c");
        expect(all.info().numPending).toBe(3);
        expect(seqs(await ready(all))).toEqual([6, 7, 8]);
        const a = store.consumer("lpsa", { deliverPolicy: "lastPerSubject", filter: "a.*" });
        expect(seqs(await ready(a))).toEqual([5, 7]);
      });
    });

    it("every policy on an empty stream delivers what comes", async () => {
      await withStream(factory, {}, async (store) => {
        const names = ["all", "last", "new", "lastPerSubject"] as const;
        const consumers = names.map((p) => store.consumer(p, { deliverPolicy: p }));
        consumers.push(
          store.consumer("seq", { deliverPolicy: "byStartSequence", optStartSeq: 1 }),
          store.consumer("time", { deliverPolicy: "byStartTime", optStartTime: 0n }),
        );
        put(store, "a", "b");
        for (const c of consumers) expect(seqs(await ready(c))).toEqual([1, 2]);
      });
    });
  });
}

function filterTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("filters", () => {
    // nats-server 2.9.10's consumer info after the same calls: a fetch that reads to the
    // stream's end moves delivered to the stream's last sequence, matching or not.
    for (const ackPolicy of ["explicit", "all", "none"] as const) {
      it(`ack policy ${ackPolicy}: reading to the end moves delivered.stream to the stream's last sequence`, async () => {
        await withStream(factory, {}, async (store) => {
          put(store, "a", "b", "a", "b", "c");
          const c = store.consumer("c", { filter: "b", ackPolicy });
          expect(seqs(await c.fetch(1, { expiresMs: 0 }))).toEqual([2]);
          expect(c.info().delivered).toEqual({ consumer: 1, stream: 2 });
          expect(seqs(await ready(c))).toEqual([4]);
          expect(c.info().delivered).toEqual({ consumer: 2, stream: 5 });
          if (ackPolicy === "none") {
            // The ack floor stays at the last delivery.
            expect(c.info().ackFloor).toEqual({ consumer: 2, stream: 4 });
          } else {
            c.ack(4);
            if (ackPolicy === "all") {
              expect(c.info().ackFloor).toEqual({ consumer: 2, stream: 4 });
            } else {
              expect(c.info().ackFloor).toEqual({ consumer: 0, stream: 0 });
              c.ack(2);
              // Nothing awaits an ack: the floor is where delivered is.
              expect(c.info().ackFloor).toEqual({ consumer: 2, stream: 5 });
            }
          }
          put(store, "c");
          expect(await ready(c)).toEqual([]);
          expect(c.info().delivered).toEqual({ consumer: 2, stream: 6 });
        });
      });
    }

    it("delivered.stream read to the end survives a reopen, and what is stored after is delivered", async () => {
      await withStream(factory, {}, async (store) => {
        put(store, "a", "b", "a");
        const c = store.consumer("c", { filter: "b" });
        await ready(c);
        c.ack(2);
        await c.close();
        put(store, "b");
        const again = store.consumer("c", { filter: "b" });
        expect(again.info()).toMatchObject({
          numPending: 1,
          delivered: { consumer: 1, stream: 3 },
          ackFloor: { consumer: 1, stream: 3 },
        });
        expect(seqs(await ready(again))).toEqual([4]);
      });
    });

    it("a literal or wildcard filter takes only matching subjects", async () => {
      await withStream(factory, {}, async (store) => {
        put(store, "a.1", "b.1", "a.2", "a.1.x", "a.1");
        expect(seqs(await ready(store.consumer("lit", { filter: "a.1" })))).toEqual([1, 5]);
        expect(seqs(await ready(store.consumer("star", { filter: "a.*" })))).toEqual([1, 3, 5]);
        expect(seqs(await ready(store.consumer("gt", { filter: "a.>" })))).toEqual([1, 3, 4, 5]);
        expect(seqs(await ready(store.consumer("all", { filter: ">" })))).toEqual([1, 2, 3, 4, 5]);
      });
    });

    it("several filters deliver the union in stream order; numPending counts it", async () => {
      await withStream(factory, {}, async (store) => {
        put(store, "a", "b", "c", "b", "a", "d", "c");
        const c = store.consumer("multi", { filters: ["c", "a"] });
        expect(c.info().numPending).toBe(4);
        expect(seqs(await c.fetch(3))).toEqual([1, 3, 5]);
        expect(c.info().numPending).toBe(1);
        put(store, "b", "a");
        expect(seqs(await ready(c))).toEqual([7, 9]);
      });
    });

    it("numPending counts matching messages after the last delivered", async () => {
      await withStream(factory, {}, async (store) => {
        put(store, "x.1", "y", "x.2", "x.3");
        const c = store.consumer("c", { filter: "x.*" });
        expect(c.info().numPending).toBe(3);
        await c.fetch(1);
        expect(c.info().numPending).toBe(2);
        store.removeMsg(4);
        expect(c.info().numPending).toBe(1);
      });
    });
  });
}
