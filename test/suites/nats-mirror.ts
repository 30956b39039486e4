/**
 * `mirror` against real nats-server processes: an R3 source that keeps
 * being written (and has messages deleted) mirrored with its sequences,
 * timestamps, subjects, header bytes and payloads, across a stop and a
 * resume; a filter; a source whose head moved past the mirror, reported.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import { mirror } from "../../src/nats/index.ts";
import type { StatusEvent } from "../../src/nats/status.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { readStream, sameBytes, testMsg, waitFor } from "./nats-helpers.ts";
import { fakeConnection } from "./nats-replicate.ts";
import { NatsServers } from "./nats-servers.ts";
import { codeOf, inTempDir } from "./store-helpers.ts";

export function natsMirrorSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  const disk = ctx.adapters.find((a) => a.onDisk)!;

  describe("nats: mirror", () => {
    it(
      "mirrors an R3 stream that keeps being written, across a stop, with its sequences, timestamps, subjects, headers and payloads",
      () =>
        inTempDir(disk, async (dir) => {
          const servers = await NatsServers.start(3);
          const nc = await servers.connect();
          try {
            const js = jetstream(nc);
            const jsm = await jetstreamManager(nc);
            await jsm.streams.add({ name: "SRC", subjects: ["orders.>"], num_replicas: 3 });
            let written = 0;
            const write = async (count: number) => {
              for (let b = 0; b < count; b += 100) {
                const batch: Promise<unknown>[] = [];
                for (let i = 0; i < 100; i++) {
                  const m = testMsg(++written);
                  const h = natsHeaders();
                  if (m.hdr) h.append("Key", `v${written}`);
                  batch.push(js.publish(m.subject, m.msg, m.hdr ? { headers: h } : undefined));
                }
                await Promise.all(batch);
              }
            };
            await write(3000);
            for (const seq of [1, 2, 500, 501, 502, 2999])
              await jsm.streams.deleteMessage("SRC", seq, false);
            const store = await FileStore.open({ dir, fs: disk.fs });
            const first = mirror(nc, "SRC", store);
            const writer = write(7000);
            await waitFor(() => store.fastState().lastSeq >= 4000, "half the mirror");
            await first.stop();
            const stoppedAt = store.fastState().lastSeq;
            await jsm.streams.deleteMessage("SRC", stoppedAt + 10, false); // deleted while the mirror is stopped
            const second = mirror(nc, "SRC", store);
            const events: StatusEvent[] = [];
            const seen = (async () => {
              for await (const e of second) events.push(e);
            })();
            await writer;
            // Deleted while it follows: a skip if the mirror had not got there yet; kept if it had
            // (a deletion after the mirror stored a message is not replayed, README). A message
            // already delivered but not yet stored when the deletion lands is kept too, so
            // only "stored before the deletion" decides the outcome for certain.
            const storedBefore = store.fastState().lastSeq >= 9000;
            await jsm.streams.deleteMessage("SRC", 9000, false);
            await write(100);
            await waitFor(() => store.fastState().lastSeq === 10_100, "the whole source", 60_000);
            await second.stop();
            await seen;
            expect(events.filter((e) => e.type === "error")).toEqual([]);
            const info = await jsm.streams.info("SRC");
            const server = await readStream(nc, "SRC", info.state.messages);
            const state = store.state();
            const hadIt = codeOf(() => store.loadMsg(9000)) === "no error";
            if (storedBefore) expect(hadIt).toBe(true);
            if (hadIt) expect(store.loadMsg(9000).subject).toBe(testMsg(9000).subject);
            expect([state.msgs, state.firstSeq, state.lastSeq]).toEqual([
              info.state.messages + (hadIt ? 1 : 0),
              info.state.first_seq,
              info.state.last_seq,
            ]);
            let bad = 0;
            let firstBad = "";
            for (const m of server) {
              const l = store.loadMsg(m.seq);
              const same =
                l.subject === m.subject &&
                l.ts === m.ts &&
                sameBytes(l.hdr, m.hdr) &&
                sameBytes(l.msg, m.data);
              if (!same && bad++ === 0) firstBad = `seq ${m.seq}`;
            }
            expect({ bad, firstBad }).toEqual({ bad: 0, firstBad: "" });
            for (const seq of [500, 501, 502, 2999, stoppedAt + 10]) {
              expect(codeOf(() => store.loadMsg(seq))).toBe("ErrStoreMsgNotFound");
            }
            await store.close();
            const reopened = await FileStore.open({ dir, fs: disk.fs });
            expect(reopened.fastState().lastSeq).toBe(10_100);
            expect(reopened.loadMsg(10_100).ts).toBe(server.at(-1)!.ts);
            await reopened.close();
          } finally {
            await nc.close();
            await servers.stop();
          }
        }),
      150_000,
    );

    it("mirrors only the filter's messages, at their source sequences", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const js = jetstream(nc);
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "F", subjects: ["orders.>"] });
        for (let i = 1; i <= 90; i++) await js.publish(testMsg(i).subject, testMsg(i).msg);
        const store = MemStore.create();
        const handle = mirror(nc, "F", store, { filter: "orders.*.paid" });
        await waitFor(() => store.fastState().lastSeq === 90, "the filtered mirror");
        await handle.stop();
        expect(store.state().msgs).toBe(30);
        expect(store.loadMsg(3).subject).toBe(testMsg(3).subject);
        expect(codeOf(() => store.loadMsg(4))).toBe("ErrStoreMsgNotFound");
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("mirrors into an interest store: a message no local consumer wants is a skip at its source sequence and time, making no room", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const js = jetstream(nc);
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "I", subjects: ["m.>"] });
        for (const subject of ["m.a", "m.b", "m.a", "m.b"]) {
          await js.publish(subject, new TextEncoder().encode(subject));
        }
        const source = await readStream(nc, "I", 4);
        const store = MemStore.create({ retention: "interest", maxMsgs: 2 });
        store.consumer("c", { filter: "m.a" });
        const handle = mirror(nc, "I", store);
        await waitFor(() => store.fastState().lastSeq === 4, "the mirror");
        await handle.stop();
        expect(store.state()).toMatchObject({ msgs: 2, deleted: [2, 4], lastTs: source[3].ts });
        expect([store.loadMsg(1).subject, store.loadMsg(3).subject]).toEqual(["m.a", "m.a"]);
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("reports a source whose first sequence moved past the mirror, and stops with nothing stored", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const js = jetstream(nc);
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "MOVED", subjects: ["orders.>"] });
        const publish = async (n: number) => {
          for (let i = 0; i < n; i++)
            await js.publish("orders.1.new", new TextEncoder().encode(`m${i}`));
        };
        await publish(100);
        const store = MemStore.create();
        const first = mirror(nc, "MOVED", store);
        await waitFor(() => store.fastState().lastSeq === 100, "the first run");
        await first.stop();
        await publish(100);
        await jsm.streams.purge("MOVED", { seq: 150 }); // removes 1–149: 101–149 were never mirrored
        const second = mirror(nc, "MOVED", store);
        const events: StatusEvent[] = [];
        for await (const e of second) events.push(e);
        const error = events.find((e) => e.type === "error");
        expect(error?.type === "error" && [error.error.code, error.fatal]).toEqual([
          "ErrSourceMoved",
          true,
        ]);
        expect(events.at(-1)).toMatchObject({ type: "stopped", lastAcked: 100 });
        expect(second.status()).toMatchObject({ running: false, lastAcked: 100 });
        expect(store.fastState().lastSeq).toBe(100);
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("refuses a closed connection with ErrInvalidArgument, and stops (fatal) when its connection closes while it runs", async () => {
      const servers = await NatsServers.start(1);
      try {
        const nc = await servers.connect();
        const js = jetstream(nc);
        await (await jetstreamManager(nc)).streams.add({ name: "GONE", subjects: ["orders.>"] });
        for (let i = 0; i < 10; i++)
          await js.publish("orders.1.new", new TextEncoder().encode(`m${i}`));
        const store = MemStore.create();
        const handle = mirror(nc, "GONE", store, { maxRetryDelayMs: 100 });
        await waitFor(() => store.fastState().lastSeq === 10, "the first messages");
        const events = handle.events();
        await nc.close();
        // A closed connection never comes back: retrying it would go on until stop().
        const timer = setTimeout(() => handle.stop(), 15_000);
        await handle.done;
        clearTimeout(timer);
        const seen: StatusEvent[] = [];
        for await (const e of events) seen.push(e);
        expect(seen.at(-1)).toMatchObject({ type: "stopped", lastAcked: 10 });
        expect(seen.some((e) => e.type === "error" && e.fatal)).toBe(true);
        expect(handle.status()).toMatchObject({ running: false, lastAcked: 10 });
        expect(codeOf(() => mirror(nc, "GONE", MemStore.create()))).toBe("ErrInvalidArgument");
      } finally {
        await servers.stop();
      }
    }, 60_000);

    it("refuses bad arguments with ErrInvalidArgument before anything starts", async () => {
      const store = MemStore.create();
      const nc = fakeConnection();
      for (const [stream, options] of [
        ["", undefined],
        ["a.b", undefined],
        [5, undefined],
        ["S", 5],
        ["S", { fromSeq: 0 }],
        ["S", { filter: 5 }],
        ["S", { window: 5 }],
      ] as const) {
        expect([
          stream,
          options,
          codeOf(() => mirror(nc, stream as never, store, options as never)),
        ]).toEqual([stream, options, "ErrInvalidArgument"]);
      }
      expect(codeOf(() => mirror({} as never, "S", store))).toBe("ErrInvalidArgument");
      expect(codeOf(() => mirror(nc, "S", {} as never))).toBe("ErrInvalidArgument");
      expect(nc.calls).toBe(0);
      expect(store.fastState().lastSeq).toBe(0);
      void ctx;
    });
  });
}
