/**
 * `replicate` against real nats-server processes: 100k messages compared one
 * by one on the server, a live writer, a SIGKILLed replicating process, a
 * cluster node stopped and brought back, a conflict reported, bad input.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import { isHeaderBlock } from "../../src/nats/headers.ts";
import { originalHeaders, replicate } from "../../src/nats/index.ts";
import { LocalArrivals } from "../../src/nats/local-arrivals.ts";
import type { StatusEvent } from "../../src/nats/status.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { expectReplicated, readStream, storeTestMsgs, waitFor } from "./nats-helpers.ts";
import { NatsServers } from "./nats-servers.ts";
import { codeOf, inTempDir } from "./store-helpers.ts";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function natsReplicateSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  const disk = ctx.adapters.find((a) => a.onDisk)!;

  describe("nats: replicate", () => {
    it("an idle replication wakes inside the local write that stores a message, on both engines, without polling", async () => {
      const mem = ctx.adapters.find((a) => !a.onDisk) ?? disk;
      const { dir, cleanup } = mem.tempDir();
      const file = await FileStore.open({ dir, fs: mem.fs });
      try {
        for (const store of [MemStore.create(), file]) {
          const arrivals = new LocalArrivals(store);
          let woken = 0;
          arrivals.next().then(() => woken++);
          await Promise.resolve();
          expect(woken).toBe(0);
          store.storeMsg("a", null, new Uint8Array(1));
          // The poll of a store without listeners waits 25 ms: two microtask turns are far less.
          await Promise.resolve();
          await Promise.resolve();
          expect(woken).toBe(1);
          arrivals.close();
          arrivals.next().then(() => woken++);
          store.storeMsg("a", null, new Uint8Array(1));
          await Promise.resolve();
          await Promise.resolve();
          expect(woken).toBe(1);
          arrivals.wake();
        }
      } finally {
        await file.close();
        cleanup();
      }
    });

    it("originalHeaders takes off the lines replicate puts first, with or without Nats-Expected-Stream (earlier versions put none), and leaves other blocks alone", () => {
      const te = new TextEncoder();
      const td = new TextDecoder();
      const strip = (text: string) => {
        const out = originalHeaders(te.encode(text));
        return out === null ? null : td.decode(out);
      };
      const id = "Nats-Msg-Id: r:7\r\n";
      const stream = "Nats-Expected-Stream: S\r\n";
      const last = "Nats-Expected-Last-Msg-Id: r:6\r\n";
      const own = "A: 1\r\nA: 2\r\n";
      expect(strip(`NATS/1.0\r\n${id}${stream}${last}${own}\r\n`)).toBe(`NATS/1.0\r\n${own}\r\n`);
      expect(strip(`NATS/1.0\r\n${id}${last}${own}\r\n`)).toBe(`NATS/1.0\r\n${own}\r\n`);
      expect(strip(`NATS/1.0\r\n${id}${stream}${last}\r\n`)).toBeNull();
      // A local header that itself begins with these keys, without the expectation after them, is the user's.
      const users = `NATS/1.0\r\n${id}${stream}${own}\r\n`;
      expect(strip(users)).toBe(users);
      const noId = `NATS/1.0\r\n${stream}${last}\r\n`;
      expect(strip(noId)).toBe(noId);
    });

    it("replicates 100k messages, half written while it runs, each once and in order with subject, headers and payload", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const store = MemStore.create();
        storeTestMsgs(store, 50_000);
        const handle = replicate(store, nc, { stream: "ORDERS" });
        const events: StatusEvent[] = [];
        const seen = (async () => {
          for await (const e of handle) events.push(e);
        })();
        for (let i = 0; i < 50; i++) {
          storeTestMsgs(store, 1000);
          await new Promise((r) => setTimeout(r, 5));
        }
        await waitFor(() => handle.status().lastAcked === 100_000, "100k acks");
        expect(handle.status()).toMatchObject({
          lastAcked: 100_000,
          lag: 0,
          errors: 0,
          running: true,
        });
        await handle.stop();
        await seen;
        expect(events.at(-1)).toEqual({ type: "stopped", lastAcked: 100_000 });
        expect(events.some((e) => e.type === "progress")).toBe(true);
        const info = await (await jetstreamManager(nc)).streams.info("ORDERS");
        expect(info.state.messages).toBe(100_000);
        expect(info.config.subjects).toEqual(["orders", "orders.>"]);
        const server = await readStream(nc, "ORDERS", 100_000);
        expectReplicated(expect, server, store, range(1, 100_000), "nats-replicate-ORDERS");
        expect(server.map((m) => m.seq)).toEqual(range(1, 100_000));
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 120_000);

    it("replicates only the filter's messages, resumes where it stopped and skips nothing removed meanwhile", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const store = MemStore.create();
        storeTestMsgs(store, 300);
        const filter = "orders.*.paid";
        const opts = { stream: "PAID", filter, window: 7 };
        const first = replicate(store, nc, opts);
        await waitFor(() => first.status().lastAcked === 300, "first run");
        await first.stop();
        storeTestMsgs(store, 300);
        store.removeMsg(303); // a paid one removed before it was replicated: not sent
        const second = replicate(store, nc, opts);
        await waitFor(() => second.status().lastAcked === 600, "second run");
        await second.stop();
        const want = range(1, 600).filter((s) => s % 3 === 0 && s !== 303);
        const server = await readStream(nc, "PAID", want.length);
        expectReplicated(expect, server, store, want, "nats-replicate-PAID");
        const info = await (await jetstreamManager(nc)).streams.info("PAID");
        expect([info.state.messages, info.config.subjects]).toEqual([want.length, [filter]]);
        // fromSeq: where a first run starts (another name, so another replication; another
        // filter, as a new stream's subjects must not overlap PAID's).
        const late = replicate(store, nc, {
          stream: "LATE",
          filter: "orders.*.new",
          fromSeq: 551,
          name: "late",
        });
        await waitFor(() => late.status().lastAcked === 599, "the fromSeq run");
        await late.stop();
        const lateWant = range(551, 600).filter((s) => s % 3 !== 0);
        const lateServer = await readStream(nc, "LATE", lateWant.length);
        expectReplicated(expect, lateServer, store, lateWant, "late");
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it(
      "after the replicating process is SIGKILLed mid-way and restarted, the server has every message once",
      () =>
        inTempDir(disk, async (dir) => {
          const servers = await NatsServers.start(1);
          const nc = await servers.connect();
          const N = 60_000;
          const name = "kill-test";
          try {
            const store = await FileStore.open({ dir, fs: disk.fs });
            storeTestMsgs(store, N);
            await store.close();
            const killedAt = await runKilledChild(ctx, dir, servers.urls, name, N / 4);
            expect(killedAt).toBeGreaterThanOrEqual(N / 4);
            const jsm = await jetstreamManager(nc);
            const landed = (await jsm.streams.info("KILLS")).state.messages;
            expect(landed).toBeGreaterThanOrEqual(N / 4);

            const reopened = await FileStore.open({ dir, fs: disk.fs });
            const cs = reopened.consumerStore(name, { ackPolicy: "none" });
            const savedFloor = cs.state().ackFloor.stream;
            await cs.stop();
            // The floor was never synced (syncIntervalMs: 60 s), so the reconciliation has to find what landed.
            expect(savedFloor).toBeLessThan(landed);
            const handle = replicate(reopened, nc, { stream: "KILLS", name });
            await waitFor(() => handle.status().lastAcked === N, "the rest");
            await handle.stop();
            expect(handle.status().errors).toBe(0);
            const server = await readStream(nc, "KILLS", N);
            expect((await jsm.streams.info("KILLS")).state.messages).toBe(N);
            expectReplicated(expect, server, reopened, range(1, N), name);
            await reopened.close();
            // The position was synced at stop() and survives a reopen.
            const again = await FileStore.open({ dir, fs: disk.fs });
            const kept = again.consumerStore(name, { ackPolicy: "none" });
            expect(kept.state().ackFloor.stream).toBe(N);
            await again.close();
          } finally {
            await nc.close();
            await servers.stop();
          }
        }),
      120_000,
    );

    it("replicates into an R3 stream while a node (the stream leader) is stopped and brought back", async () => {
      // Once in CI a fresh three-node cluster took no publish for 60 s, before any node was stopped:
      // that setup gets one more try on fresh servers, said on stderr; any later failure fails the test.
      try {
        await r3Scenario();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!message.startsWith("timed out waiting for some acks")) throw err;
        console.error(`R3 replication, first try: ${message}; trying once more on fresh servers`);
        await r3Scenario();
      }
    }, 240_000);

    async function r3Scenario(): Promise<void> {
      const servers = await NatsServers.start(3);
      const nc = await servers.connect();
      try {
        const N = 40_000;
        const store = MemStore.create();
        storeTestMsgs(store, N / 2);
        const handle = replicate(store, nc, {
          stream: "R3",
          subjects: ["orders.>"],
          replicas: 3,
          ackTimeoutMs: 1000,
          maxRetryDelayMs: 500,
        });
        const events: StatusEvent[] = [];
        const seen = (async () => {
          for await (const e of handle) events.push(e);
        })();
        // What the replication went through, for a wait that times out (seen once in CI: no acks in 60 s).
        const seenSoFar = (what: string) => () =>
          `${what}: status ${JSON.stringify(handle.status())}, events ${JSON.stringify(
            events.map((e) => (e.type === "error" ? `${e.error.code} ${e.error.message}` : e.type)),
          )}`;
        await waitFor(() => handle.status().lastAcked >= N / 8, seenSoFar("some acks"));
        const jsm = await jetstreamManager(nc);
        const leader = (await jsm.streams.info("R3")).cluster?.leader;
        const victim = Math.max(
          0,
          servers.nodes.findIndex((n) => n.name === leader),
        );
        await servers.stopNode(victim);
        storeTestMsgs(store, N / 2);
        await waitFor(
          () => handle.status().lastAcked >= (3 * N) / 4,
          seenSoFar("acks without the node"),
        );
        servers.startNode(victim);
        await waitFor(() => handle.status().lastAcked === N, seenSoFar("every ack"), 90_000);
        await handle.stop();
        await seen;
        // The leader's loss failed publishes in flight, and the replication resumed after them.
        const kinds = events.map((e) =>
          e.type === "error" ? `${e.type} ${e.error.code} ${e.fatal}` : e.type,
        );
        expect(kinds).toContain("error ErrNats false");
        expect(kinds).toContain("resumed");
        expect(kinds).not.toContain("error ErrNats true");
        // A member that has not yet heard of the group's leader (the node brought back) answers
        // the info itself, from its own state while it catches up: ask until the leader answers.
        let info = await jsm.streams.info("R3");
        for (let tries = 0; info.state.messages !== N && tries < 150; tries++) {
          await new Promise((r) => setTimeout(r, 200));
          info = await jsm.streams.info("R3");
        }
        expect(info.config.num_replicas).toBe(3);
        expect(info.state.messages).toBe(N);
        const server = await readStream(nc, "R3", N);
        expectReplicated(expect, server, store, range(1, N), "nats-replicate-R3");
      } finally {
        await nc.close();
        await servers.stop();
      }
    }

    it("goes on after its only server is SIGKILLed and restarted mid-way, every message once", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const N = 30_000;
        const store = MemStore.create();
        storeTestMsgs(store, N);
        const handle = replicate(store, nc, {
          stream: "RESTART",
          ackTimeoutMs: 1000,
          maxRetryDelayMs: 300,
        });
        await waitFor(() => handle.status().lastAcked >= N / 3, "a third");
        await servers.stopNode(0);
        const atKill = handle.status().lastAcked;
        expect(atKill).toBeLessThan(N);
        servers.startNode(0);
        await waitFor(() => handle.status().lastAcked === N, "every ack after the restart", 90_000);
        await handle.stop();
        expect(handle.status().errors).toBeGreaterThan(0);
        const info = await (await jetstreamManager(nc)).streams.info("RESTART");
        expect(info.state.messages).toBe(N);
        const server = await readStream(nc, "RESTART", N);
        expectReplicated(expect, server, store, range(1, N), "nats-replicate-RESTART");
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 120_000);

    it(
      "reports a stream that someone else wrote to after it, and stops without publishing",
      () =>
        inTempDir(disk, async (dir) => {
          const servers = await NatsServers.start(1);
          const nc = await servers.connect();
          try {
            const store = await FileStore.open({ dir, fs: disk.fs });
            storeTestMsgs(store, 20);
            const opts = { stream: "SHARED", subjects: ["orders.>"] };
            const first = replicate(store, nc, opts);
            await waitFor(() => first.status().lastAcked === 20, "first run");
            await first.stop();
            await jetstream(nc).publish("orders.1.new", new TextEncoder().encode("someone else"));
            storeTestMsgs(store, 5);
            const second = replicate(store, nc, opts);
            const events: StatusEvent[] = [];
            for await (const e of second) events.push(e);
            await second.done;
            const error = events.find((e) => e.type === "error");
            expect(
              error?.type === "error" && [error.error.code, error.fatal, error.error.message],
            ).toEqual([
              "ErrReplicationConflict",
              true,
              expect.stringContaining("is not this replication's"),
            ]);
            expect(events.at(-1)).toMatchObject({ type: "stopped", lastAcked: 20 });
            expect(second.status()).toMatchObject({ running: false, lastAcked: 20, errors: 1 });
            const info = await (await jetstreamManager(nc)).streams.info("SHARED");
            expect(info.state.messages).toBe(21);
            await store.close();
          } finally {
            await nc.close();
            await servers.stop();
          }
        }),
      60_000,
    );

    it("stops with ErrReplicationConflict when another stream takes a local subject the target's subjects do not, counting nothing it sent there", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      const te = new TextEncoder();
      const run = async (store: MemStore, stream: string, subjects: string[]) => {
        const handle = replicate(store, nc, { stream, subjects });
        // One that never stops (going on, or retrying) is stopped, and fails below.
        const timer = setTimeout(() => handle.stop(), 15_000);
        const events: StatusEvent[] = [];
        for await (const e of handle) events.push(e);
        clearTimeout(timer);
        const errors = events.filter((e) => e.type === "error");
        return { errors, status: handle.status() };
      };
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "PAY", subjects: ["payments.>"] });
        // Every local subject is PAY's: each publish names its stream, so PAY refuses it
        // (without that, the first expects the empty target's last sequence, 0, which
        // empty PAY has too, and a whole window of messages landed in PAY).
        const elsewhere = MemStore.create();
        for (let i = 1; i <= 10; i++) elsewhere.storeMsg(`payments.${i}`, null, te.encode(`p${i}`));
        const first = await run(elsewhere, "TARGET1", ["target.>"]);
        expect(
          first.errors.map((e) => e.type === "error" && [e.error.code, e.fatal, e.error.message]),
        ).toEqual([
          [
            "ErrReplicationConflict",
            true,
            expect.stringContaining(
              "local message 1 went to stream PAY, not TARGET1 (refused there)",
            ),
          ],
        ]);
        expect(first.status).toMatchObject({ running: false, lastAcked: 0, lag: 10 });
        expect((await jsm.streams.info("TARGET1")).state.messages).toBe(0);
        expect((await jsm.streams.info("PAY")).state.messages).toBe(0);
        // Five of the target's, then one of PAY's: PAY refuses it (it is not the stream
        // the publish names), which no retry can change.
        const mixed = MemStore.create();
        for (let i = 1; i <= 5; i++) mixed.storeMsg(`orders.${i}`, null, te.encode(`o${i}`));
        mixed.storeMsg("payments.6", null, te.encode("p6"));
        mixed.storeMsg("orders.7", null, te.encode("o7"));
        const second = await run(mixed, "TARGET2", ["orders.>"]);
        expect(
          second.errors.map((e) => e.type === "error" && [e.error.code, e.fatal, e.error.message]),
        ).toEqual([
          [
            "ErrReplicationConflict",
            true,
            expect.stringContaining("local message 6 went to stream PAY, not TARGET2"),
          ],
        ]);
        expect(second.status).toMatchObject({ running: false, lastAcked: 5 });
        expect((await jsm.streams.info("TARGET2")).state.messages).toBe(5);
        expect((await jsm.streams.info("PAY")).state.messages).toBe(0);
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("publishes only local messages a sync made durable: after a power cut the store has every message the server took, and what it stores next is replicated", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const disk = memoryFileSystem({ seed: 5 });
        disk.mkdir("/r");
        disk.syncDirectory("/");
        // Never synced by a timer: what the replication does not sync stays unsynced.
        const open = (fs: MemoryFileSystem) =>
          FileStore.open({ dir: "/r", fs, syncIntervalMs: 60_000 });
        const store = await open(disk);
        storeTestMsgs(store, 50);
        await store.sync();
        const handle = replicate(store, nc, { stream: "CUT", window: 16 });
        for (let burst = 0; burst < 10; burst++) {
          storeTestMsgs(store, 30);
          await new Promise((r) => setTimeout(r, 2));
        }
        await waitFor(() => handle.status().lastAcked === 350, "every message acknowledged");
        const after = disk.crash({ lose: "unsynced" });
        const reopened = await open(after);
        // The server's messages are all still in the store, as they were sent.
        const server = await readStream(nc, "CUT", 350);
        expect(reopened.fastState().lastSeq).toBe(350);
        expectReplicated(expect, server, reopened, range(1, 350), "nats-replicate-CUT");
        storeTestMsgs(reopened, 20);
        const again = replicate(reopened, nc, { stream: "CUT", window: 16 });
        await waitFor(() => again.status().lastAcked === 370, "the new messages");
        await again.stop();
        const all = await readStream(nc, "CUT", 370);
        expectReplicated(expect, all, reopened, range(1, 370), "nats-replicate-CUT");
        await reopened.close();
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("replicates a message stored after ones it does not send (another subject, or removed) that a sync covered", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const te = new TextEncoder();
        const store = MemStore.create();
        // A pump going round without end never lets a timer run: its ten-thousandth read fails it.
        let reads = 0;
        const read = store.loadNextMsg.bind(store);
        store.loadNextMsg = (filter, wildcard, start) => {
          reads++;
          if (reads > 10_000) throw new Error("the replication reads the store in a loop");
          return read(filter, wildcard, start);
        };
        store.storeMsg("orders.1", null, te.encode("o1"));
        store.storeMsg("other.2", null, te.encode("x2"));
        store.storeMsg("orders.3", null, te.encode("o3"));
        store.removeMsg(3);
        const handle = replicate(store, nc, { stream: "SKIPS", filter: "orders.>" });
        await waitFor(() => handle.status().lastAcked === 1, "the first order");
        // The sync before it covered 3, which is neither sent nor the new message.
        store.storeMsg("orders.4", null, te.encode("o4"));
        await waitFor(
          () => handle.status().lastAcked === 4 || handle.status().errors > 0,
          "the order after them",
          15_000,
        );
        expect(handle.status()).toMatchObject({ lastAcked: 4, errors: 0 });
        await handle.stop();
        const server = await readStream(nc, "SKIPS", 2);
        expect(server.map((m) => m.subject)).toEqual(["orders.1", "orders.4"]);
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("refuses a closed connection with ErrInvalidArgument, and stops (fatal) when its connection closes while it runs, idle or not", async () => {
      const servers = await NatsServers.start(1);
      try {
        const store = MemStore.create();
        storeTestMsgs(store, 10);
        const nc = await servers.connect();
        const idle = replicate(store, nc, { stream: "CLOSING", maxRetryDelayMs: 100 });
        await waitFor(() => idle.status().lastAcked === 10, "the first messages");
        const events = idle.events();
        await nc.close();
        // Nothing to publish: the loop waits for local messages, yet sees the connection go.
        const timer = setTimeout(() => idle.stop(), 15_000);
        await idle.done;
        clearTimeout(timer);
        const seen: StatusEvent[] = [];
        for await (const e of events) seen.push(e);
        expect(seen.map((e) => [e.type, e.type === "error" && e.fatal])).toEqual([
          ["error", true],
          ["stopped", false],
        ]);
        expect(idle.status()).toMatchObject({ running: false, lastAcked: 10, errors: 1 });
        expect(codeOf(() => replicate(store, nc, { stream: "CLOSING" }))).toBe(
          "ErrInvalidArgument",
        );
        // Refused before it opened its progress (the stopped one closed its own).
        expect(store.state().consumers).toBe(0);
      } finally {
        await servers.stop();
      }
    }, 60_000);

    it("leaves nothing of a stopped replication or mirror reachable from its connection: the stores are collected while it stays open", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const source = MemStore.create();
        source.storeMsg("leaksrc.a", null, new Uint8Array(1));
        const feeding = replicate(source, nc, { stream: "LEAKSRC" });
        await waitFor(() => feeding.status().lastAcked === 1, "the mirrors' source");
        await feeding.stop();
        for (const kind of ["replicate", "mirror"] as const) {
          const out = await runGcChild(ctx, {
            urls: servers.urls,
            kind,
            source: kind === "mirror" ? "LEAKSRC" : "LEAK",
            count: 8,
          });
          expect({ kind, ...out }).toEqual({ kind, alive: [], closedStop: true });
        }
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 90_000);

    it("takes as a NATS header block only bytes with the version line first and an empty line last", () => {
      const te = new TextEncoder();
      const block = (text: string) => isHeaderBlock(te.encode(text));
      expect(block("NATS/1.0\r\nKey: v\r\n\r\n")).toBe(true);
      expect(block("NATS/1.0 408 Timeout\r\n\r\n")).toBe(true);
      expect(block("NATS/1.1\r\nKey: v\r\n\r\n")).toBe(false);
      expect(block("XATS/1.0\r\nKey: v\r\n\r\n")).toBe(false);
      expect(block("NATS/1.0\r\nKey: v\r\n")).toBe(false);
      expect(block("NATS/1.0\r\n")).toBe(false);
    });

    it("stops at a local message whose headers are no NATS header block, with everything before it acknowledged", async () => {
      const servers = await NatsServers.start(1);
      const nc = await servers.connect();
      try {
        const store = MemStore.create();
        storeTestMsgs(store, 500);
        store.storeMsg(
          "orders.bad",
          new TextEncoder().encode("X-Not: a header block"),
          new Uint8Array(1),
        );
        storeTestMsgs(store, 10);
        const handle = replicate(store, nc, { stream: "HDRS", window: 64 });
        const events: StatusEvent[] = [];
        for await (const e of handle) events.push(e);
        expect(events.at(-1)).toMatchObject({ type: "stopped", lastAcked: 500 });
        const error = events.find((e) => e.type === "error");
        expect(error?.type === "error" && [error.error.code, error.fatal]).toEqual([
          "ErrUnsupportedHeaders",
          true,
        ]);
        const server = await readStream(nc, "HDRS", 500);
        expectReplicated(expect, server, store, range(1, 500), "nats-replicate-HDRS");
        expect((await (await jetstreamManager(nc)).streams.info("HDRS")).state.messages).toBe(500);
      } finally {
        await nc.close();
        await servers.stop();
      }
    }, 60_000);

    it("refuses bad arguments with ErrInvalidArgument before opening or sending anything", async () => {
      const store = MemStore.create();
      storeTestMsgs(store, 3);
      const nc = fakeConnection();
      const bad: unknown[] = [
        undefined,
        null,
        5,
        {},
        { stream: "" },
        { stream: "a.b" },
        { stream: "a b" },
        { stream: "S", window: 0 },
        { stream: "S", window: 1.5 },
        { stream: "S", fromSeq: 0 },
        { stream: "S", replicas: "3" },
        { stream: "S", subjects: [] },
        { stream: "S", subjects: [""] },
        { stream: "S", filter: 5 },
        { stream: "S", name: "a.b" },
        { stream: "S", ackTimeoutMs: -1 },
        { stream: "S", streamName: "x" },
      ];
      for (const options of bad) {
        expect([options, codeOf(() => replicate(store, nc, options as never))]).toEqual([
          options,
          "ErrInvalidArgument",
        ]);
      }
      expect(codeOf(() => replicate(store, nc, { stream: "S", filter: "a..b" }))).toBe(
        "ErrInvalidFilter",
      );
      expect(codeOf(() => replicate(store, {} as never, { stream: "S" }))).toBe(
        "ErrInvalidArgument",
      );
      expect(codeOf(() => replicate({} as never, nc, { stream: "S" }))).toBe("ErrInvalidArgument");
      expect(nc.calls).toBe(0);
      expect(store.state().consumers).toBe(0);
      await store.close();
      expect(codeOf(() => replicate(store, nc, { stream: "S" }))).toBe("ErrStoreClosed");
    });
  });
}

/** A connection object that counts any use: the argument checks must not get that far. */
export function fakeConnection() {
  const nc = {
    calls: 0,
    request: () => {
      nc.calls++;
      return Promise.reject(new Error("unexpected request"));
    },
    publish: () => {
      nc.calls++;
    },
    subscribe: () => {
      nc.calls++;
    },
  };
  return nc as typeof nc & import("@nats-io/nats-core").NatsConnection;
}

/**
 * Runs test/children/nats-leak-child.mjs with the collector exposed; its
 * two lines merged: which stores survived, and whether the last replication
 * stopped when the connection closed.
 */
async function runGcChild(
  ctx: RuntimeContext,
  config: { urls: string[]; kind: "replicate" | "mirror"; source: string; count: number },
): Promise<Record<string, unknown>> {
  const entry = childEntry(ctx);
  if (!existsSync(new URL(entry)))
    throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const natsEntry = new URL(
    ctx.runtime === "node" ? "../../dist/src/nats/index.js" : "../../src/nats/index.ts",
    import.meta.url,
  ).href;
  const child = new URL("../children/nats-leak-child.mjs", import.meta.url).href;
  const script = `const { runChild } = await import(${JSON.stringify(child)}); await runChild(${JSON.stringify({ entry, natsEntry, ...config })});`;
  const { cmd, args } = childCommand(ctx);
  // Bun's collector is Bun.gc; V8's needs the flag.
  const gcArgs =
    ctx.runtime === "node"
      ? ["--expose-gc", ...args(script)]
      : ctx.runtime === "deno"
        ? ["eval", "--v8-flags=--expose-gc", script]
        : args(script);
  const proc = spawn(cmd, gcArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d) => {
    out += String(d);
  });
  proc.stderr?.on("data", (d) => {
    err += String(d);
  });
  const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
  if (code !== 0) throw new Error(`the child exited ${code}: ${out} ${err.slice(-2000)}`);
  return Object.assign(
    {},
    ...out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line)),
  );
}

/** Runs the replicating child until it reported `killAfter` acks, SIGKILLs it, returns the last ack it reported. */
async function runKilledChild(
  ctx: RuntimeContext,
  dir: string,
  urls: string[],
  name: string,
  killAfter: number,
): Promise<number> {
  const entry = childEntry(ctx);
  if (!existsSync(new URL(entry)))
    throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const natsEntry = new URL(
    ctx.runtime === "node" ? "../../dist/src/nats/index.js" : "../../src/nats/index.ts",
    import.meta.url,
  ).href;
  const child = new URL("../children/nats-replicate-child.mjs", import.meta.url).href;
  const config = { entry, natsEntry, dir, urls, stream: "KILLS", name, window: 256 };
  const script = `const { runChild } = await import(${JSON.stringify(child)}); await runChild(${JSON.stringify(config)});`;
  const { cmd, args } = childCommand(ctx);
  const proc = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let acked = 0;
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(
        new Error(
          `the child never reached ${killAfter} acks: ${out.slice(-500)} ${err.slice(-2000)}`,
        ),
      );
    }, 60_000);
    proc.stderr?.on("data", (d) => {
      err += String(d);
    });
    proc.stdout?.on("data", (d) => {
      out += String(d);
      for (const m of out.matchAll(/^acked (\d+)$/gm)) acked = Math.max(acked, Number(m[1]));
      if (acked >= killAfter && proc.exitCode === null && !proc.killed) proc.kill("SIGKILL");
    });
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" && acked >= killAfter) resolve(acked);
      else
        reject(
          new Error(
            `the child exited (${code ?? signal}) before the kill: ${out.slice(-500)} ${err.slice(-2000)}`,
          ),
        );
    });
  });
}
