/**
 * Durable consumers across the stream's close and reopen (engines with
 * persistence), and at least once through power cuts (FileStore on the
 * memory adapter): a delivered, unacknowledged message always comes back;
 * one whose ack was synced never does.
 */
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import {
  advance,
  deliveries,
  msClock,
  put,
  putMany,
  ready,
  seqs,
  withStream,
} from "./consumer-helpers.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf } from "./store-helpers.ts";

export function consumerPersistenceTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
  _ctx: RuntimeContext,
): void {
  if (!factory.supports.persistence) return;
  describe("across reopen", () => {
    it("resumes: acked messages stay acked, unacked ones come back after their wait, new ones follow", async () => {
      await withStream(factory, {}, async (_store, clock, fixture) => {
        putMany(fixture.store, "a", 5);
        const c = fixture.store.consumer("c", { ackWaitMs: 2000, filter: "a" });
        expect(seqs(await c.fetch(3))).toEqual([1, 2, 3]);
        c.ack(2);
        const store = await fixture.reopen();
        const again = store.consumer("c", { ackWaitMs: 2000, filter: "a" });
        expect(again.info()).toEqual({
          name: "c",
          numPending: 2,
          numAckPending: 2,
          numRedelivered: 0,
          delivered: { consumer: 3, stream: 3 },
          ackFloor: { consumer: 0, stream: 0 },
        });
        // Its sequence pairs are the caller's: changing them changes nothing the consumer keeps.
        const shown = again.info();
        shown.delivered.stream = 99;
        shown.ackFloor.consumer = 99;
        expect(again.info()).toMatchObject({
          delivered: { consumer: 3, stream: 3 },
          ackFloor: { consumer: 0, stream: 0 },
        });
        advance(clock, 1000);
        expect(seqs(await ready(again))).toEqual([4, 5]);
        advance(clock, 1000);
        expect(deliveries(await ready(again))).toEqual([
          [1, 2],
          [3, 2],
        ]);
        expect((await ready(again)).length).toBe(0);
      });
    });

    it("a closed consumer keeps its state on disk for the next open", async () => {
      await withStream(factory, {}, async (store, clock, fixture) => {
        putMany(store, "a", 3);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(2);
        c.ack(1);
        await c.close();
        const reopened = await fixture.reopen();
        const back = reopened.consumer("c", { ackWaitMs: 1000 });
        advance(clock, 1000);
        expect(deliveries(await ready(back))).toEqual([
          [2, 2],
          [3, 1],
        ]);
      });
    });

    it("refuses options a reopen cannot change (ErrConsumerConflict), takes the others", async () => {
      await withStream(factory, {}, async (store, clock, fixture) => {
        putMany(store, "a", 3);
        const c = store.consumer("c", { filter: "a", ackWaitMs: 1000 });
        await c.fetch(1);
        const reopened = await fixture.reopen();
        for (const options of [
          { filter: "b" },
          { filters: ["a", "b"] },
          {},
          { filter: "a", deliverPolicy: "new" as const },
          { filter: "a", ackPolicy: "all" as const },
          { filter: "a", deliverPolicy: "byStartSequence" as const, optStartSeq: 2 },
        ]) {
          expect(codeOf(() => reopened.consumer("c", options))).toBe("ErrConsumerConflict");
        }
        expect(reopened.fastState().consumers).toBe(0);
        const changed = reopened.consumer("c", {
          filter: "a",
          ackWaitMs: 50,
          maxDeliver: 3,
          maxAckPending: 10,
        });
        advance(clock, 50);
        expect(deliveries(await ready(changed))).toEqual([
          [1, 2],
          [2, 1],
          [3, 1],
        ]);
      });
    });

    it("a nak's delay survives a reopen (to the second, as the state keeps it)", async () => {
      await withStream(factory, {}, async (store, clock, fixture) => {
        putMany(store, "a", 1);
        const c = store.consumer("c", { ackWaitMs: 1000 });
        await c.fetch(1);
        c.nak(1, 60_000);
        const reopened = await fixture.reopen();
        const back = reopened.consumer("c", { ackWaitMs: 1000 });
        advance(clock, 59_000);
        expect(await ready(back)).toEqual([]);
        advance(clock, 1000);
        expect(deliveries(await ready(back))).toEqual([[1, 2]]);
      });
    });

    it("lastPerSubject finishes its list after a reopen, then goes on with new messages", async () => {
      await withStream(factory, {}, async (store, _clock, fixture) => {
        put(store, "a", "b", "a", "c", "b");
        const c = store.consumer("c", { deliverPolicy: "lastPerSubject" });
        expect(seqs(await c.fetch(1))).toEqual([3]);
        const reopened = await fixture.reopen();
        put(reopened, "a");
        const back = reopened.consumer("c", { deliverPolicy: "lastPerSubject" });
        expect(back.info().numPending).toBe(3);
        expect(seqs(await ready(back))).toEqual([4, 5, 6]);
      });
    });

    it("a deleted consumer stays deleted across a reopen", async () => {
      await withStream(factory, {}, async (store, _clock, fixture) => {
        putMany(store, "a", 2);
        const c = store.consumer("c", { filter: "a" });
        await c.fetch(2);
        await c.delete();
        const reopened = await fixture.reopen();
        const fresh = reopened.consumer("c", { filter: "b" });
        expect(fresh.info().delivered).toEqual({ consumer: 0, stream: 0 });
      });
    });
  });
}

/** Power cuts on the memory adapter, run once (not per factory). */
export function consumerCrashTests({ describe, it, expect }: TestApi): void {
  describe("durable consumers through power cuts (FileStore, memory adapter)", () => {
    it("at least once: a delivered, unacked message comes back; one whose ack was synced never does", async () => {
      const clock = msClock();
      const open = (fs: MemoryFileSystem) =>
        FileStore.open({ dir: "/s", fs, now: clock.now, syncIntervalMs: 0 });
      const disk = memoryFileSystem({ seed: 3 });
      const store = await open(disk);
      putMany(store, "a", 40);
      await store.sync();
      const c = store.consumer("c", { ackWaitMs: 1000 });
      expect(seqs(await c.fetch(20))).toHaveLength(20);
      for (let seq = 1; seq <= 10; seq++) c.ack(seq);
      await c.sync();
      // After the sync: acks and deliveries a power cut may lose.
      for (let seq = 11; seq <= 15; seq++) c.ack(seq);
      expect(seqs(await c.fetch(10))).toHaveLength(10);
      const cuts = [
        { lose: "unsynced", seed: 1 },
        { lose: "random", seed: 1 },
        { lose: "random", seed: 2 },
        { lose: "random", seed: 3 },
        { lose: "none", seed: 1 },
      ] as const;
      for (const { lose, seed } of cuts) {
        const after = disk.crash({ lose, seed });
        const back = await open(after);
        const consumer = back.consumer("c", { ackWaitMs: 1000 });
        advance(clock, 1000);
        const seen = new Set(seqs(await ready(consumer, 100)));
        for (let seq = 1; seq <= 10; seq++)
          expect({ lose, seq, seen: seen.has(seq) }).toEqual({ lose, seq, seen: false });
        for (let seq = 16; seq <= 40; seq++)
          expect({ lose, seq, seen: seen.has(seq) }).toEqual({ lose, seq, seen: true });
        await back.close();
      }
      await store.close().catch(() => {});
    });

    for (const retention of ["workqueue", "interest"] as const) {
      it(`${retention}: messages whose acks were synced but whose removal was lost go when the consumer reopens`, async () => {
        const clock = msClock();
        const open = (fs: MemoryFileSystem) =>
          FileStore.open({ dir: "/s", fs, now: clock.now, syncIntervalMs: 0, retention });
        const disk = memoryFileSystem({ seed: 5 });
        const store = await open(disk);
        const options = { ackWaitMs: 1000, maxDeliver: 1 };
        const c = store.consumer("c", options);
        putMany(store, "a", 6);
        await store.sync();
        expect(seqs(await c.fetch(5))).toEqual([1, 2, 3, 4, 5]);
        for (const seq of [1, 2, 3, 5]) c.ack(seq);
        advance(clock, 1000);
        // 4 ran out of deliveries: done with, yet not removed by that (README).
        expect(seqs(await ready(c))).toEqual([6]);
        c.ack(6);
        expect(c.info().ackFloor.stream).toBe(6);
        await c.sync();
        expect(store.state().msgs).toBe(1);
        // The stream's removals were never synced: the cut brings the messages back.
        const back = await open(disk.crash({ lose: "unsynced", seed: 1 }));
        expect(back.state().msgs).toBe(6);
        const again = back.consumer("c", options);
        const state = back.state();
        expect({ msgs: state.msgs, first: state.firstSeq }).toEqual({ msgs: 1, first: 4 });
        expect(await ready(again)).toEqual([]);
        await back.close();
        await store.close().catch(() => {});
      });
    }
  });
}
