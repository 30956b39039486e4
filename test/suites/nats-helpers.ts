/**
 * What the jetstore/nats suites share: the messages they store, reading a
 * server stream back with its raw header bytes and exact timestamps (an
 * ordered consumer of the client, independent of `mirror`), and checking a
 * server stream against the local store it was replicated from.
 */
import { type JsMsg, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { originalHeaders } from "../../src/nats/index.ts";
import type { StreamStore } from "../../src/types.ts";
import type { Expect } from "../harness.ts";
import { sameBytes } from "./store-helpers.ts";

export { sameBytes };

const te = new TextEncoder();
const td = new TextDecoder();

/** The message the suites store at local sequence `i`: subjects, headers (some with a key repeated) and sizes vary. */
export function testMsg(i: number): { subject: string; hdr: Uint8Array | null; msg: Uint8Array } {
  const hdr =
    i % 4 === 0
      ? te.encode(`NATS/1.0\r\nKey: v${i}\r\nOther:  spaced \r\nKey: again\r\n\r\n`)
      : null;
  const msg = te.encode(`payload-${i}-${"x".repeat(i % 37)}`);
  return { subject: `orders.${i % 7}.${i % 3 === 0 ? "paid" : "new"}`, hdr, msg };
}

export function storeTestMsgs(store: StreamStore, count: number): void {
  for (let i = 0; i < count; i++) {
    const n = store.fastState().lastSeq + 1;
    const m = testMsg(n);
    store.storeMsg(m.subject, m.hdr, m.msg);
  }
}

/** A message as read from the server. */
export interface ServerMsg {
  seq: number;
  subject: string;
  hdr: Uint8Array | null;
  data: Uint8Array;
  ts: bigint;
}

/**
 * Every message of `stream` from `start`, read until `count` arrived (or the
 * timeout). A read that stalls for `STALL_MS` (an ordered consumer of an R3
 * stream on a loaded machine can: a CI-like run saw one stop 1,218 messages
 * short and wait out the whole timeout) goes on from the next sequence with a
 * new consumer.
 */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  count: number,
  start = 1,
  timeoutMs = 60_000,
): Promise<ServerMsg[]> {
  const out: ServerMsg[] = [];
  const deadline = Date.now() + timeoutMs;
  let next = start;
  while (out.length < count && Date.now() < deadline) {
    const consumer = await retryTimeouts(
      () =>
        jetstream(nc).consumers.get(stream, {
          deliver_policy: "by_start_sequence" as never,
          opt_start_seq: next,
        }),
      deadline,
    );
    const messages = await consumer.consume();
    let last = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - last > STALL_MS || Date.now() > deadline) messages.stop();
    }, 250);
    try {
      for await (const m of messages) {
        last = Date.now();
        out.push({
          seq: m.seq,
          subject: m.subject,
          hdr: rawHeader(m),
          data: m.data.slice(),
          ts: m.timestampNanos,
        });
        next = m.seq + 1;
        if (out.length >= count) break;
      }
    } finally {
      clearInterval(watchdog);
      messages.stop();
    }
  }
  return out;
}

const STALL_MS = 5000;

/**
 * `request()` again while it times out, until `deadline`: a cluster whose node
 * just came back may not answer a consumer's creation within the client's
 * timeout while it catches up (a CI run of the R3 test saw one).
 */
async function retryTimeouts<T>(request: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if ((err as Error).name !== "TimeoutError" || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function rawHeader(m: JsMsg): Uint8Array | null {
  const inner = (m as unknown as { msg: { _rdata: Uint8Array; _msg: { hdr: number } } }).msg;
  return inner._msg.hdr > 0 ? inner._rdata.slice(0, inner._msg.hdr) : null;
}

/** The local sequence a replicated server message came from (its `Nats-Msg-Id`). */
export function localSeqOf(m: ServerMsg, name: string): number {
  const lines = td.decode(m.hdr ?? new Uint8Array()).split("\r\n");
  const id = lines[1]?.startsWith("Nats-Msg-Id: ") ? lines[1].slice(13) : "";
  return id.startsWith(`${name}:`) ? Number(id.slice(name.length + 1)) : Number.NaN;
}

/**
 * Checks that `server` holds exactly the local messages `seqs`, in order,
 * once each, with their subjects, header bytes and payloads.
 */
export function expectReplicated(
  expect: Expect,
  server: ServerMsg[],
  store: StreamStore,
  seqs: number[],
  name: string,
): void {
  const got = server.map((m) => localSeqOf(m, name));
  let mismatch = -1;
  for (let i = 0; i < Math.max(got.length, seqs.length); i++) {
    if (got[i] !== seqs[i]) {
      mismatch = i;
      break;
    }
  }
  expect({
    mismatch,
    at: mismatch < 0 ? [] : got.slice(Math.max(0, mismatch - 2), mismatch + 3),
  }).toEqual({
    mismatch: -1,
    at: [],
  });
  let bad = 0;
  let first = "";
  for (const m of server) {
    const local = store.loadMsg(localSeqOf(m, name));
    const same =
      m.subject === local.subject &&
      sameBytes(originalHeaders(m.hdr), local.hdr) &&
      sameBytes(m.data, local.msg);
    if (!same) {
      bad++;
      if (!first) first = `server ${m.seq} / local ${local.seq}`;
    }
  }
  expect({ bad, first }).toEqual({ bad: 0, first: "" });
}

/** Waits until `cond()` holds, polling; throws `what` on timeout. */
export async function waitFor(
  cond: () => boolean,
  what: string | (() => string),
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
