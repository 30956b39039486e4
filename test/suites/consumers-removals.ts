/**
 * Durable consumers and messages that leave the stream while they await an
 * ack: every removal path (removeMsg, eraseMsg, purge and purgeEx, compact,
 * the limits, age and TTL expiry) drops them from pending at once, as
 * nats-server's consumer is told of each removal (decStreamPending, purge),
 * so they stop holding maxAckPending slots and a fetch waiting for a slot
 * gets the next message without waiting out their ack wait. A reopen
 * settles those removed while the consumer was closed the same way. A
 * truncate takes an open consumer back to the cut, as a reopen after it
 * does, so what is stored there again is delivered as new.
 */
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import {
  advance,
  deliveries,
  put,
  putMany,
  ready,
  seqs,
  T0,
  withStream,
} from "./consumer-helpers.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, type TestClock } from "./store-helpers.ts";

/** Longer than any test should wait: a fetch still waiting when it ends failed its test. */
const WAIT_MS = 3000;

interface RemovalCase {
  name: string;
  options?: Record<string, unknown>;
  /** Sequence 2 is stored with this TTL (seconds). */
  ttl2?: number;
  /** Removes the stream's message 2, and 1 with it when `head`. */
  remove(store: StreamStore, clock: TestClock): void;
  head?: boolean;
}

/** The six messages of every case, a and b alternating; 1 and 2 end up pending. */
function fill(store: StreamStore, ttl2 = 0): void {
  put(store, "a");
  store.storeMsg("b", null, enc("b#2"), ttl2);
  put(store, "a", "b", "a", "b");
}

const bytesOf = (store: StreamStore) => store.fastState().bytes / store.fastState().msgs;

const CASES: RemovalCase[] = [
  { name: "removeMsg", remove: (s) => s.removeMsg(2) },
  { name: "eraseMsg", remove: (s) => s.eraseMsg(2) },
  { name: "purgeEx by subject", remove: (s) => s.purgeEx("b", 0, 0) },
  { name: "purgeEx by subject below a sequence", remove: (s) => s.purgeEx("b", 3, 0) },
  { name: "purgeEx by subject keeping the newest", remove: (s) => s.purgeEx("b", 0, 2) },
  {
    name: "maxMsgsPerSubject on an append",
    options: { maxMsgsPerSubject: 3 },
    remove: (s) => put(s, "b"),
  },
  {
    name: "a per-message TTL",
    options: { allowMsgTtl: true },
    ttl2: 2,
    remove: (s, clock) => {
      // 2 was stored at T0 and is due at T0 + 2 s: the next append expires it.
      advance(clock, 1500);
      put(s, "c");
    },
  },
  { name: "compact", head: true, remove: (s) => s.compact(3) },
  {
    name: "purgeEx of everything keeping the newest",
    head: true,
    remove: (s) => s.purgeEx(">", 0, 4),
  },
  { name: "maxMsgs", head: true, remove: (s) => s.updateConfig({ maxMsgs: 4 }) },
  {
    name: "maxBytes",
    head: true,
    remove: (s) => s.updateConfig({ maxBytes: 4 * bytesOf(s) }),
  },
  {
    name: "maxMsgsPerSubject lowered",
    head: true,
    remove: (s) => s.updateConfig({ maxMsgsPerSubject: 2 }),
  },
  {
    name: "maxAge",
    head: true,
    remove: (s, clock) => {
      // 1 and 2 were stored at T0, 3 to 6 a second later.
      clock.t = T0 + 1500n * 1_000_000n;
      s.updateConfig({ maxAgeMs: 1000 });
    },
  },
];

export function consumerRemovalTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
): void {
  describe("messages removed while awaiting an ack", () => {
    for (const c of CASES) {
      it(`${c.name}: ${c.head ? "both stop" : "the removed one stops"} awaiting acks at once, and a waiting fetch gets the next message`, async () => {
        await withStream(factory, c.options ?? {}, async (store, clock) => {
          put(store, "a");
          store.storeMsg("b", null, enc("b#2"), c.ttl2 ?? 0);
          advance(clock, 1000);
          put(store, "a", "b", "a", "b");
          const consumer = store.consumer("c", { maxAckPending: 2, ackWaitMs: 60_000 });
          expect(seqs(await ready(consumer))).toEqual([1, 2]);
          const waiting = consumer.fetch(1, { expiresMs: WAIT_MS });
          c.remove(store, clock);
          expect(() => store.loadMsg(2)).toThrow();
          // Its slot is free before the fetch expires (it would return [] then): no ack wait (60 s) runs out first.
          expect(seqs(await waiting)).toEqual([3]);
          expect(consumer.info().numAckPending).toBe(c.head ? 1 : 2);
          expect(codeOf(() => consumer.ack(2))).toBe("ErrNotPending");
          if (!c.head) {
            // The other delivery still awaits its ack, and its ack moves the floor past the removed one.
            consumer.ack(1);
            expect(consumer.info().ackFloor).toEqual({ consumer: 2, stream: 2 });
          }
          // Nothing removed comes back when the ack wait has passed.
          advance(clock, 60_000);
          const again = deliveries(await ready(consumer));
          expect(again.map(([seq]) => seq)).not.toContain(2);
        });
      });
    }

    it("info and ack see a removal made in the same synchronous run", async () => {
      await withStream(factory, {}, async (store) => {
        fill(store);
        const consumer = store.consumer("c", { ackWaitMs: 60_000 });
        expect(seqs(await ready(consumer, 3))).toEqual([1, 2, 3]);
        store.removeMsg(3);
        expect(codeOf(() => consumer.ack(3))).toBe("ErrNotPending");
        store.removeMsg(2);
        expect(consumer.info().numAckPending).toBe(1);
      });
    });

    it("truncate: the deliveries past the cut stop awaiting acks at once", async () => {
      await withStream(factory, {}, async (store) => {
        fill(store);
        const consumer = store.consumer("c", { ackWaitMs: 60_000 });
        expect(seqs(await ready(consumer, 4))).toEqual([1, 2, 3, 4]);
        store.truncate(2);
        expect(consumer.info().numAckPending).toBe(2);
        expect(codeOf(() => consumer.ack(3))).toBe("ErrNotPending");
        consumer.ack(2);
      });
    });

    it("truncate, then stored again in the same run: the old deliveries go, the new messages are delivered", async () => {
      await withStream(factory, {}, async (store) => {
        fill(store);
        const consumer = store.consumer("c", { ackWaitMs: 60_000 });
        expect(seqs(await ready(consumer, 4))).toEqual([1, 2, 3, 4]);
        store.truncate(2);
        // Sequences 3 and 4 hold new messages before the consumer looks again: they are not the ones it delivered.
        put(store, "c", "c");
        expect(consumer.info().numAckPending).toBe(2);
        const again = await ready(consumer);
        expect(again.map((m) => [m.seq, m.subject, m.deliveryCount])).toEqual([
          [3, "c", 1],
          [4, "c", 1],
        ]);
      });
    });

    for (const ackPolicy of ["explicit", "all", "none"] as const) {
      it(`ack policy ${ackPolicy}: an open consumer follows a truncate as one reopened after it does`, async () => {
        await withStream(factory, {}, async (store) => {
          putMany(store, "a", 6);
          const options = { ackPolicy, ackWaitMs: 60_000 };
          const open = store.consumer("open", options);
          const closed = store.consumer("closed", options);
          for (const c of [open, closed]) {
            expect(seqs(await ready(c, 5))).toEqual([1, 2, 3, 4, 5]);
            if (ackPolicy !== "none") {
              c.ack(1);
              if (ackPolicy === "explicit") c.ack(4);
            }
          }
          await closed.close();
          store.truncate(3);
          const reopened = store.consumer("closed", options);
          const { name: _a, ...seen } = open.info();
          const { name: _b, ...expected } = reopened.info();
          expect(seen).toEqual(expected);
          expect(seen.delivered.stream).toBe(3);
          expect(seen.ackFloor.stream).toBeLessThanOrEqual(3);
          // A fetch waiting when the stream is cut gets what is stored there again.
          const waiting = open.fetch(1, { expiresMs: WAIT_MS });
          putMany(store, "b", 3);
          expect(deliveries(await waiting)).toEqual([[4, 1]]);
          expect(deliveries(await ready(reopened))).toEqual([
            [4, 1],
            [5, 1],
            [6, 1],
          ]);
          expect(deliveries(await ready(open))).toEqual([
            [5, 1],
            [6, 1],
          ]);
        });
      });
    }

    it("ack policy all: a message noted by two removals is acknowledged once, with those after it", async () => {
      await withStream(factory, {}, async (store) => {
        fill(store);
        const consumer = store.consumer("c", { ackPolicy: "all", ackWaitMs: 60_000 });
        expect(seqs(await ready(consumer, 5))).toEqual([1, 2, 3, 4, 5]);
        // 2 is removed, then named again, unsettled, by the compact that takes 1 and 3.
        store.removeMsg(2);
        store.compact(4);
        expect(consumer.info()).toMatchObject({
          numAckPending: 2,
          ackFloor: { consumer: 3, stream: 3 },
        });
      });
    });

    it("ack policy all: a removal acknowledges nothing before it", async () => {
      await withStream(factory, {}, async (store, clock) => {
        fill(store);
        const consumer = store.consumer("c", {
          ackPolicy: "all",
          maxAckPending: 3,
          ackWaitMs: 1000,
        });
        expect(seqs(await ready(consumer))).toEqual([1, 2, 3]);
        store.removeMsg(2);
        expect(consumer.info()).toMatchObject({
          numAckPending: 2,
          ackFloor: { consumer: 0, stream: 0 },
        });
        expect(codeOf(() => consumer.ack(2))).toBe("ErrNotPending");
        // 1 and 3 still await their acks: both come back, 2 does not.
        advance(clock, 1000);
        expect(deliveries(await ready(consumer, 2))).toEqual([
          [1, 2],
          [3, 2],
        ]);
        store.removeMsg(1);
        // The lowest pending one is recorded as acknowledged, as an ack of it would be, and 2,
        // below every delivery left now, with it (as a reopen records them).
        expect(consumer.info()).toMatchObject({
          numAckPending: 1,
          ackFloor: { consumer: 2, stream: 2 },
        });
      });
    });

    for (const reopenStream of factory.supports.persistence ? [false, true] : [false]) {
      it(`ack policy all: once an ack passes below a message removed while pending, the open consumer shows the ack floor a reopen does${reopenStream ? " (the stream reopened)" : ""}`, async () => {
        await withStream(factory, {}, async (store, _clock, fixture) => {
          putMany(store, "a", 6);
          const options = { ackPolicy: "all" as const, ackWaitMs: 60_000 };
          const c = store.consumer("c", options);
          expect(seqs(await ready(c, 5))).toEqual([1, 2, 3, 4, 5]);
          store.removeMsg(3);
          c.ack(2);
          const { name: _a, ...open } = c.info();
          await c.close();
          const stream = reopenStream ? await fixture.reopen() : store;
          const { name: _b, ...reopened } = stream.consumer("c", options).info();
          expect(open).toEqual(reopened);
          expect(open).toMatchObject({ numAckPending: 2, ackFloor: { consumer: 3, stream: 3 } });
        });
      });
    }

    for (const reopenStream of factory.supports.persistence ? [false, true] : [false]) {
      const how = reopenStream ? " (the stream reopened)" : "";
      it(`ack policy all: once the deliveries below a message removed while pending leave too, the open consumer shows the ack floor a reopen does${how}`, async () => {
        await withStream(factory, {}, async (store, _clock, fixture) => {
          putMany(store, "a", 6);
          const options = { ackPolicy: "all" as const, ackWaitMs: 60_000 };
          const c = store.consumer("c", options);
          expect(seqs(await ready(c, 5))).toEqual([1, 2, 3, 4, 5]);
          store.removeMsg(3);
          // Settled before the next removal: 3 is held, 1 and 2 awaiting their acks below it.
          expect(c.info().numAckPending).toBe(4);
          store.removeMsg(1);
          store.removeMsg(2);
          const { name: _a, ...open } = c.info();
          await c.close();
          const stream = reopenStream ? await fixture.reopen() : store;
          const { name: _b, ...reopened } = stream.consumer("c", options).info();
          expect(open).toEqual(reopened);
          expect(open).toMatchObject({ numAckPending: 2, ackFloor: { consumer: 3, stream: 3 } });
        });
      });

      it(`ack policy all: once the deliveries below a message removed while pending run out of deliveries, the open consumer shows the ack floor a reopen does${how}`, async () => {
        await withStream(factory, {}, async (store, clock, fixture) => {
          putMany(store, "a", 6);
          const options = { ackPolicy: "all" as const, ackWaitMs: 100, maxDeliver: 1 };
          const c = store.consumer("c", options);
          expect(seqs(await ready(c, 2))).toEqual([1, 2]);
          advance(clock, 50);
          expect(seqs(await ready(c, 3))).toEqual([3, 4, 5]);
          store.removeMsg(3);
          // 1 and 2 had their one delivery: they leave pending, and 3 is below every delivery left.
          advance(clock, 60);
          const { name: _a, ...open } = c.info();
          await c.close();
          const stream = reopenStream ? await fixture.reopen() : store;
          const { name: _b, ...reopened } = stream.consumer("c", options).info();
          expect(open).toEqual(reopened);
          expect(open).toMatchObject({ numAckPending: 2 });
        });
      });
    }

    it("ack policy all: settling a removal above the lowest pending delivery does not walk the deliveries below it", async () => {
      await withStream(factory, {}, async (store) => {
        const n = 3000;
        for (let i = 0; i < n; i++) put(store, "a");
        const consumer = store.consumer("c", {
          ackPolicy: "all",
          maxAckPending: -1,
          ackWaitMs: 60_000,
        });
        expect((await ready(consumer, n)).length).toBe(n);
        // Counted where the pending set is looked up: the walk a settle makes over it.
        const entries = (consumer as unknown as { pending: { entries: Map<number, unknown> } })
          .pending.entries;
        const has = entries.has.bind(entries);
        let looks = 0;
        entries.has = (seq: number) => {
          looks++;
          return has(seq);
        };
        const removals = 400;
        for (let i = 0; i < removals; i++) {
          store.removeMsg(n - i);
          expect(consumer.info().numAckPending).toBe(n - i - 1);
        }
        entries.has = has;
        expect(consumer.info().ackFloor).toEqual({ consumer: 0, stream: 0 });
        // One removal: a look at the lowest and one at the run. Walking every delivery below it is n each.
        expect(looks).toBeLessThan(removals * 10);
      });
    });

    it("ack policy all: settling a removal above the lowest pending delivery does not walk the removals held above it before", async () => {
      await withStream(factory, {}, async (store) => {
        const n = 3000;
        for (let i = 0; i < n; i++) put(store, "a");
        const consumer = store.consumer("c", {
          ackPolicy: "all",
          maxAckPending: -1,
          ackWaitMs: 60_000,
        });
        expect((await ready(consumer, n)).length).toBe(n);
        // Counted where the held removals are walked: each one a walk would pass.
        const held = (consumer as unknown as { leaving: { unrecorded: Map<number, number> } })
          .leaving.unrecorded;
        const keys = held.keys.bind(held);
        let walked = 0;
        (held as { keys: () => Iterable<number> }).keys = function* () {
          for (const k of keys()) {
            walked++;
            yield k;
          }
        };
        const removals = 1000;
        for (let i = 0; i < removals; i++) {
          store.removeMsg(n - i);
          expect(consumer.info().numAckPending).toBe(n - i - 1);
        }
        expect(held.size).toBe(removals);
        // Acks below what is held, one by one, leave it held.
        const acks = 1000;
        for (let seq = 1; seq <= acks; seq++) consumer.ack(seq);
        expect(held.size).toBe(removals);
        // Each settle and ack: a look at the lowest pending and the lowest held. Walking what is held is quadratic.
        expect(walked).toBeLessThan((removals + acks) * 10);
        // Acking all that is left records the ack floor at the top, the removals with it.
        consumer.ack(n - removals);
        expect(consumer.info()).toMatchObject({
          numAckPending: 0,
          ackFloor: { stream: n },
        });
      });
    });

    it("ack policy all: acks that each free one removal held between pending deliveries do not walk the others held", async () => {
      await withStream(factory, {}, async (store) => {
        const n = 3000;
        for (let i = 0; i < n; i++) put(store, "a");
        const consumer = store.consumer("c", {
          ackPolicy: "all",
          maxAckPending: -1,
          ackWaitMs: 60_000,
        });
        expect((await ready(consumer, n)).length).toBe(n);
        // Every other one removed: held, each above a delivery still pending.
        for (let seq = 2; seq <= n; seq += 2) store.removeMsg(seq);
        expect(consumer.info().numAckPending).toBe(n / 2);
        // Counted where the held removals are walked: each one a walk would pass.
        const held = (consumer as unknown as { leaving: { unrecorded: Map<number, number> } })
          .leaving.unrecorded;
        expect(held.size).toBe(n / 2);
        const keys = held.keys.bind(held);
        let walked = 0;
        (held as { keys: () => Iterable<number> }).keys = function* () {
          for (const k of keys()) {
            walked++;
            yield k;
          }
        };
        // Each ack frees the one held above it: the ack floor moves past it, as a reopen's would.
        for (let seq = 1; seq < n; seq += 2) {
          consumer.ack(seq);
          expect(consumer.info().ackFloor).toEqual({ consumer: seq + 1, stream: seq + 1 });
        }
        expect(held.size).toBe(0);
        // Walking every one still held at each ack is quadratic: 1500 acks over 1500 held, about 2 million.
        expect(walked).toBeLessThan(n * 10);
      });
    });

    it("a consumer opened again drops what was removed while it was closed", async () => {
      await withStream(factory, {}, async (store, _clock, fixture) => {
        fill(store);
        const options = { maxAckPending: 3, ackWaitMs: 60_000 };
        const first = store.consumer("c", options);
        expect(seqs(await ready(first))).toEqual([1, 2, 3]);
        await first.sync();
        await first.close();
        store.removeMsg(2);
        // A persistent stream is reopened too: the consumer's saved state still holds 2 pending.
        const reopened = factory.supports.persistence ? await fixture.reopen() : store;
        const again = reopened.consumer("c", options);
        expect(again.info()).toMatchObject({
          numAckPending: 2,
          ackFloor: { consumer: 0, stream: 0 },
        });
        expect(codeOf(() => again.ack(2))).toBe("ErrNotPending");
        expect(seqs(await ready(again))).toEqual([4]);
        again.ack(1);
        expect(again.info().ackFloor).toEqual({ consumer: 2, stream: 2 });
      });
    });
  });
}
