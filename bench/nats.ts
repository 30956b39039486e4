/**
 * `npm run bench:nats`: jetstore/nats on loopback against a nats-server it
 * starts (`nats-server -js`, one node, file storage; or NATS_URL's), beside
 * the client's own rates with the same message size and window:
 *
 * - client publish: `js.publish` with up to WINDOW awaiting their acks
 *   (plain; and with a `Nats-Msg-Id` each, the dedupe the replication uses);
 *   and, as the replication publishes, core publishes whose acks come back
 *   to one reply subscription (js.publish is a request() each);
 * - replicate: a MemStore of BENCH_MSGS messages pushed into a new stream
 *   (Nats-Msg-Id and the expected-last chain on every message), timed to
 *   the last ack;
 * - client consume: an ordered consumer reading the stream;
 * - mirror: that stream pulled into a MemStore and into a FileStore.
 *
 * Each figure is the median of BENCH_ROUNDS (default 3) rounds, the ways
 * interleaved within a round; the ratios are what to quote (the machine
 * is shared and noisy).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createInbox, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { FileStore, MemStore, type StreamStore } from "../src/index.ts";
import { mirror, replicate } from "../src/nats/index.ts";

const MSGS = Number(process.env.BENCH_MSGS ?? 100_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 128);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SUBJECT = "bench.msgs";
const payload = new Uint8Array(SIZE).fill(97);

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function startServer(root: string): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const config = join(root, "bench.conf");
  writeFileSync(
    config,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(root, "js")}", max_file_store: 8GB }\n`,
  );
  const proc = spawn("nats-server", ["-c", config], { stdio: "ignore" });
  const url = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const nc = await connect({ servers: url });
      await (await jetstreamManager(nc)).getAccountInfo();
      await nc.close();
      return { url, stop: () => proc.kill("SIGKILL") };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill("SIGKILL");
  throw new Error("nats-server did not start (is it installed? apt-get install -y nats-server)");
}

/** Sends `n` with at most `window` unsettled, in order; returns msgs/s. */
async function windowed(n: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const inflight: Promise<unknown>[] = [];
  let head = 0;
  for (let i = 0; i < n; i++) {
    if (inflight.length - head >= WINDOW) await inflight[head++];
    inflight.push(send(i));
  }
  await Promise.all(inflight.slice(head));
  return n / ((performance.now() - started) / 1000);
}

let streamNo = 0;
async function freshStream(nc: NatsConnection): Promise<string> {
  const name = `BENCH${++streamNo}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  return name;
}

async function clientPublish(
  nc: NatsConnection,
  msgId: boolean,
): Promise<{ rate: number; stream: string }> {
  const stream = await freshStream(nc);
  const js = jetstream(nc);
  const rate = await windowed(MSGS, (i) =>
    js.publish(`${stream}.${SUBJECT}`, payload, msgId ? { msgID: `bench:${i + 1}` } : undefined),
  );
  return { rate, stream };
}

/** The ceiling of the replication's way of publishing: core publishes with acks to one reply subscription, no store. */
async function inboxPublish(nc: NatsConnection): Promise<number> {
  const stream = await freshStream(nc);
  const prefix = createInbox();
  const waiting = new Map<number, () => void>();
  const sub = nc.subscribe(`${prefix}.*`, {
    callback: (_err, msg) => {
      const id = Number(msg.subject.slice(prefix.length + 1));
      const done = waiting.get(id);
      waiting.delete(id);
      done?.();
    },
  });
  const rate = await windowed(
    MSGS,
    (i) =>
      new Promise<void>((resolve) => {
        waiting.set(i, resolve);
        nc.publish(`${stream}.${SUBJECT}`, payload, { reply: `${prefix}.${i}` });
      }),
  );
  sub.unsubscribe();
  return rate;
}

async function replicateRate(nc: NatsConnection, source: StreamStore): Promise<number> {
  const stream = `BENCH${++streamNo}`;
  const started = performance.now();
  const handle = replicate(source, nc, {
    stream,
    subjects: [`${SUBJECT}`, `${SUBJECT}.>`],
    window: WINDOW,
    name: `bench-${stream}`,
  });
  while (handle.status().lastAcked < MSGS) {
    if (!handle.status().running) throw handle.status().lastError;
    await new Promise((r) => setTimeout(r, 1));
  }
  const rate = MSGS / ((performance.now() - started) / 1000);
  await handle.stop();
  return rate;
}

async function consumeRate(nc: NatsConnection, stream: string): Promise<number> {
  const started = performance.now();
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages = await consumer.consume();
  let n = 0;
  for await (const _ of messages) if (++n === MSGS) break;
  messages.stop();
  return MSGS / ((performance.now() - started) / 1000);
}

async function mirrorRate(nc: NatsConnection, stream: string, store: StreamStore): Promise<number> {
  const started = performance.now();
  const handle = mirror(nc, stream, store);
  while (store.fastState().lastSeq < MSGS) {
    if (!handle.status().running) throw handle.status().lastError;
    await new Promise((r) => setTimeout(r, 1));
  }
  const rate = MSGS / ((performance.now() - started) / 1000);
  await handle.stop();
  return rate;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const root = mkdtempSync(join(tmpdir(), "jetstore-bench-nats-"));
const server = process.env.NATS_URL ? null : await startServer(root);
const nc = await connect({ servers: process.env.NATS_URL ?? server!.url });
const rows = new Map<string, number[]>();
const add = (k: string, v: number) => rows.set(k, [...(rows.get(k) ?? []), v]);
try {
  const source = MemStore.create();
  for (let i = 0; i < MSGS; i++) source.storeMsg(SUBJECT, null, payload);
  for (let r = 0; r < ROUNDS; r++) {
    const plain = await clientPublish(nc, false);
    add("client publish (acks)", plain.rate);
    add("client publish with Nats-Msg-Id (acks)", (await clientPublish(nc, true)).rate);
    add("core publish, acks to one reply subscription", await inboxPublish(nc));
    add("replicate (MemStore → stream)", await replicateRate(nc, source));
    add("client ordered consume", await consumeRate(nc, plain.stream));
    add("mirror (stream → MemStore)", await mirrorRate(nc, plain.stream, MemStore.create()));
    const dir = join(root, `mirror${r}`);
    const fileStore = await FileStore.open({ dir });
    add("mirror (stream → FileStore)", await mirrorRate(nc, plain.stream, fileStore));
    await fileStore.close();
    rmSync(dir, { recursive: true, force: true });
    const jsm = await jetstreamManager(nc);
    for (const name of await jsm.streams.names().next()) await jsm.streams.delete(name);
  }
  const base = median(rows.get("client publish (acks)")!);
  console.log(
    `jetstore/nats on loopback: ${MSGS} messages of ${SIZE} B, window ${WINDOW}, median of ${ROUNDS} rounds (${new Date().toISOString().slice(0, 10)}, ${process.version})`,
  );
  console.log("| way | msgs/s | vs client publish |");
  console.log("|---|---:|---:|");
  for (const [name, values] of rows) {
    const m = median(values);
    console.log(
      `| ${name} | ${Math.round(m).toLocaleString("en-US")} | ${((m / base) * 100).toFixed(0)} % |`,
    );
  }
} finally {
  await nc.close();
  server?.stop();
  rmSync(root, { recursive: true, force: true });
}
