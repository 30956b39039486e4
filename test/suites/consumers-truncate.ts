/**
 * Closed durable consumers and a truncate: the stream hands the sequences
 * past the cut out again, so a consumer closed while it is cut must count
 * them as new, as an open one does at once. Its interest covers them before
 * it is opened again (an interest stream keeps them, another consumer's ack
 * does not take them), a work queue keeps them for it, and opened again it
 * is given them, with the stream reopened in between or not, messages
 * stored before its reopen or not. Power cuts inside the truncate are in
 * `consumerTruncateCrashTests` (FileStore, memory adapter).
 */
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RetentionPolicy, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
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
import { snapshot } from "./store-helpers.ts";

/** The live sequences of the stream. */
function live(store: StreamStore): number[] {
  return snapshot(store).msgs.map((m) => m.seq);
}

export function consumerTruncateTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
): void {
  describe("closed consumers and a truncate", () => {
    const reopens = factory.supports.persistence ? [false, true] : [false];
    for (const ackPolicy of ["explicit", "all", "none"] as const) {
      for (const reopenStream of reopens) {
        const how = reopenStream ? ", the stream reopened before it" : "";
        it(`ack policy ${ackPolicy}: a consumer closed at the cut is given what is stored there again before its reopen, as an open one is${how}`, async () => {
          await withStream(factory, {}, async (store, _clock, fixture) => {
            putMany(store, "a", 6);
            const options = { ackPolicy, ackWaitMs: 60_000 };
            const open = store.consumer("open", options);
            const closed = store.consumer("closed", options);
            for (const c of [open, closed]) {
              expect(seqs(await ready(c))).toEqual([1, 2, 3, 4, 5, 6]);
              if (ackPolicy === "all") c.ack(6);
              if (ackPolicy === "explicit") for (let seq = 1; seq <= 6; seq++) c.ack(seq);
            }
            await closed.close();
            store.truncate(3);
            putMany(store, "b", 2);
            let stream = store;
            let seen = open.info();
            if (reopenStream) {
              await open.close();
              stream = await fixture.reopen();
              seen = stream.consumer("open", options).info();
            }
            const reopened = stream.consumer("closed", options);
            const { name: _a, ...expected } = seen;
            const { name: _b, ...got } = reopened.info();
            expect(got).toEqual(expected);
            expect(got.delivered.stream).toBe(3);
            expect(deliveries(await ready(reopened))).toEqual([
              [4, 1],
              [5, 1],
            ]);
          });
        });
      }
    }

    it("a consumer whose close() is still under way when the stream is cut takes the cut too", async () => {
      await withStream(factory, {}, async (store, _clock, fixture) => {
        putMany(store, "a", 6);
        const c = store.consumer("c");
        for (const m of await ready(c)) c.ack(m.seq);
        // Its store may still be writing its files (FileStore): not awaited.
        const closing = c.close();
        store.truncate(3);
        putMany(store, "b", 2);
        await closing;
        const stream = factory.supports.persistence ? await fixture.reopen() : store;
        const back = stream.consumer("c");
        expect(back.info()).toMatchObject({ delivered: { stream: 3 }, ackFloor: { stream: 3 } });
        expect(deliveries(await ready(back))).toEqual([
          [4, 1],
          [5, 1],
        ]);
      });
    });

    for (const reopenStream of reopens) {
      const how = reopenStream ? " (the stream reopened before)" : "";
      for (const filter of [undefined, "a"]) {
        const what = filter === undefined ? "unfiltered" : `filter "${filter}"`;
        it(`interest: what is stored again past the cut waits for a consumer that was closed past it (${what})${how}`, async () => {
          await withStream(factory, { retention: "interest" }, async (store, _clock, fixture) => {
            const c = store.consumer("c", { filter, ackPolicy: "explicit" });
            const d = store.consumer("d", { ackWaitMs: 60_000 });
            put(store, "a", "a", "a", "a", "a", "a");
            for (const m of await ready(c)) c.ack(m.seq);
            // d's pending deliveries keep 1..6; d takes the cut's end, 3, from c's interest.
            expect(seqs(await ready(d))).toEqual([1, 2, 3, 4, 5, 6]);
            await c.close();
            store.truncate(3);
            put(store, "a", "b", "a");
            expect(live(store)).toEqual([1, 2, 3, 4, 5, 6]);
            let stream = store;
            let other = d;
            if (reopenStream) {
              await d.close();
              stream = await fixture.reopen();
              other = stream.consumer("d", { ackWaitMs: 60_000 });
            }
            for (const seq of [1, 2, 3]) other.ack(seq);
            for (const m of await ready(other)) other.ack(m.seq);
            // c still wants 4 and 6 (and 5 when unfiltered): only 1..3, which it acked, go.
            expect(live(stream)).toEqual(filter === undefined ? [4, 5, 6] : [4, 6]);
            const back = stream.consumer("c", { filter, ackPolicy: "explicit" });
            expect(live(stream)).toEqual(filter === undefined ? [4, 5, 6] : [4, 6]);
            const again = await ready(back);
            expect(deliveries(again)).toEqual(
              filter === undefined
                ? [
                    [4, 1],
                    [5, 1],
                    [6, 1],
                  ]
                : [
                    [4, 1],
                    [6, 1],
                  ],
            );
            for (const m of again) back.ack(m.seq);
            expect(live(stream)).toEqual([]);
          });
        });
      }

      it(`interest: what is stored again past the cut is kept for a closed consumer nobody else wants it for${how}`, async () => {
        await withStream(factory, { retention: "interest" }, async (store, _clock, fixture) => {
          const c = store.consumer("c", { ackPolicy: "all" });
          putMany(store, "a", 6);
          expect(seqs(await ready(c))).toEqual([1, 2, 3, 4, 5, 6]);
          c.ack(3);
          await c.close();
          store.truncate(4);
          putMany(store, "a", 2);
          const stream = reopenStream ? await fixture.reopen() : store;
          expect(live(stream)).toEqual([4, 5, 6]);
          const back = stream.consumer("c", { ackPolicy: "all", ackWaitMs: 1000 });
          expect(live(stream)).toEqual([4, 5, 6]);
          expect(back.info()).toMatchObject({
            numAckPending: 1,
            delivered: { stream: 4 },
            ackFloor: { stream: 3 },
          });
          expect(deliveries(await ready(back))).toEqual([
            [5, 1],
            [6, 1],
          ]);
        });
      });

      it(`workqueue: a closed consumer is given what is stored again past the cut${how}`, async () => {
        await withStream(factory, { retention: "workqueue" }, async (store, clock, fixture) => {
          const c = store.consumer("c", { filter: "a", ackWaitMs: 1000 });
          store.consumer("d", { filter: "b" });
          putMany(store, "a", 5);
          expect(seqs(await ready(c))).toEqual([1, 2, 3, 4, 5]);
          c.ack(1);
          c.ack(5);
          await c.close();
          store.truncate(3);
          put(store, "a", "b", "a");
          const stream = reopenStream ? await fixture.reopen() : store;
          expect(live(stream)).toEqual([2, 3, 4, 5, 6]);
          const back = stream.consumer("c", { filter: "a", ackWaitMs: 1000 });
          const again = await ready(back);
          expect(deliveries(again)).toEqual([
            [4, 1],
            [6, 1],
          ]);
          for (const m of again) back.ack(m.seq);
          expect(live(stream)).toEqual([2, 3, 5]);
          advance(clock, 1000);
          expect(deliveries(await ready(back))).toEqual([
            [2, 2],
            [3, 2],
          ]);
        });
      });
    }
  });
}

/** Power cuts inside and after a truncate, and damaged files (FileStore, memory adapter), run once. */
export function consumerTruncateCrashTests({ describe, it, expect }: TestApi): void {
  describe("a closed consumer whose files are damaged and a truncate (FileStore, memory adapter)", () => {
    for (const reopened of [false, true]) {
      const when = reopened
        ? "read at the truncate (the stream reopened)"
        : "closed since the stream opened";
      it(`refuses the truncate with ErrCorrupt naming the consumer and the way out, the stream and the files unchanged (${when})`, async () => {
        const disk = memoryFileSystem({ seed: 1 });
        const open = () => FileStore.open({ dir: "/s", fs: disk, syncIntervalMs: 0 });
        let store = await open();
        try {
          putMany(store, "a", 6);
          const c = store.consumer("orders-worker");
          expect(seqs(await ready(c))).toEqual([1, 2, 3, 4, 5, 6]);
          await c.close();
          if (reopened) {
            await store.close();
            store = await open();
          }
          const path = "/s/consumers/orders-worker/config";
          const bytes = disk.readFile(path) as Uint8Array;
          bytes[12] ^= 0xff;
          disk.writeFile(path, bytes);
          let err: unknown = null;
          try {
            store.truncate(3);
          } catch (e) {
            err = e;
          }
          expect(err).toMatchObject({ code: "ErrCorrupt", file: path });
          const message = (err as Error).message;
          expect(message).toMatch(/^Cannot truncate after stream sequence 3: .*do not read back/);
          expect(message).toContain("/s/consumers/orders-worker/config");
          expect(message).toContain("the stream is unchanged");
          expect(message).toContain("remove its directory");
          expect(live(store)).toEqual([1, 2, 3, 4, 5, 6]);
          expect(disk.readFile(path)).toEqual(bytes);
        } finally {
          await store.close();
        }
      });
    }
  });

  describe("consumers through a power cut inside or after a truncate (FileStore, memory adapter)", () => {
    for (const retention of ["interest", "limits"] as RetentionPolicy[]) {
      for (const closed of [true, false]) {
        const which = closed ? "a closed consumer" : "a consumer open at the truncate";
        it(`${retention}: what is stored after the cut reaches ${which}, whichever change inside the truncate the power went after`, async () => {
          const clock = msClock();
          const open = (fs: MemoryFileSystem) =>
            FileStore.open({ dir: "/s", fs, now: clock.now, syncIntervalMs: 0, retention });
          // The changes of one truncate, counted on a first run: each is a point to cut the power after.
          let changes = 0;
          for (let k = 0; k === 0 || k <= changes; k++) {
            const disk = memoryFileSystem({ seed: k });
            const store = await open(disk);
            const c = store.consumer("c");
            // d's interest keeps everything until it acks it.
            const d = store.consumer("d", { ackWaitMs: 60_000 });
            putMany(store, "a", 6);
            for (const m of await ready(c)) c.ack(m.seq);
            await c.sync();
            if (closed) await c.close();
            await d.close();
            await store.sync();
            const before = disk.changes;
            if (k > 0) disk.setFaults({ crashAfterChanges: before + k });
            try {
              store.truncate(3);
            } catch {
              // The power went inside it.
            }
            if (k === 0) changes = disk.changes - before;
            for (const lose of ["unsynced", "random", "none"] as const) {
              const after = disk.crashed
                ? disk.crash({ lose, seed: k })
                : disk.crash({ lose: "none" });
              let back = await open(after);
              const stored = putMany(back, "b", 3);
              await back.sync();
              const other = back.consumer("d", { ackWaitMs: 60_000 });
              for (const m of await ready(other)) other.ack(m.seq);
              await back.close();
              back = await open(after);
              const again = back.consumer("c");
              const got = seqs(await ready(again));
              // Every new message reaches c: none was taken as delivered or acked before it.
              expect({ k, lose, missed: stored.filter((s) => !got.includes(s)) }).toEqual({
                k,
                lose,
                missed: [],
              });
              await back.close();
              if (!disk.crashed) break;
            }
            await store.close().catch(() => {});
          }
          expect(changes).toBeGreaterThan(0);
        });
      }

      it(`${retention}: a consumer open at the truncate keeps its cut through a power cut after what is stored past it was synced`, async () => {
        const clock = msClock();
        const open = (fs: MemoryFileSystem) =>
          FileStore.open({ dir: "/s", fs, now: clock.now, syncIntervalMs: 0, retention });
        const disk = memoryFileSystem({ seed: 1 });
        const store = await open(disk);
        const c = store.consumer("c");
        const d = store.consumer("d", { ackWaitMs: 60_000 });
        putMany(store, "a", 6);
        for (const m of await ready(c)) c.ack(m.seq);
        await c.sync();
        await d.close();
        store.truncate(3);
        const stored = putMany(store, "b", 3);
        await store.sync();
        // c synced nothing since: only the truncate can have put its cut on disk.
        let back = await open(disk.crash({ lose: "unsynced" }));
        const other = back.consumer("d", { ackWaitMs: 60_000 });
        for (const m of await ready(other)) other.ack(m.seq);
        await back.close();
        back = await open(disk.crash({ lose: "none" }));
        expect(seqs(await ready(back.consumer("c")))).toEqual(stored);
        await back.close();
        await store.close().catch(() => {});
      });
    }
  });
}
