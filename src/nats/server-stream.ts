/**
 * What the replication asks of the server's stream: its state (creating
 * the stream when it is missing), the `Nats-Msg-Id` of its last message,
 * and a publish whose ack is read without throwing, so that a window of
 * publishes settles in order and one failure is a value, not a rejection.
 */
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { JetStoreError } from "../errors.ts";
import { rawHeaders } from "./headers.ts";

/** The server's answer to one publish. */
export type PublishResult =
  | { ok: true; seq: number; duplicate: boolean }
  | { ok: false; error: JetStoreError };

/** nats-server's error codes for a failed expectation (JSStreamWrongLastMsgIDErrF, JSStreamWrongLastSequenceErrF). */
export const WRONG_LAST_MSG_ID = 10070;
export const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;

/** The stream's info, after creating it with `subjects` and `replicas` when it does not exist. */
export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subjects: () => string[],
  replicas: number,
): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  return await jsm.streams.add({ name, subjects: subjects(), num_replicas: replicas });
}

/** The `Nats-Msg-Id` of the message at `seq` (null: none, or the message is gone). */
export async function msgIdAt(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<string | null> {
  const m = await jsm.streams.getMessage(stream, { seq });
  if (m === null) return null;
  return m.header?.get("Nats-Msg-Id") || null;
}

/** Publishes `payload` with the header block `hdr` to `subject` and reads the ack; never rejects. */
export async function publishRaw(
  nc: NatsConnection,
  subject: string,
  hdr: Uint8Array,
  payload: Uint8Array,
  timeoutMs: number,
): Promise<PublishResult> {
  let reply: { data: Uint8Array; headers?: { code?: number; description?: string } };
  try {
    reply = await nc.request(subject, payload, { headers: rawHeaders(hdr), timeout: timeoutMs });
  } catch (err) {
    return { ok: false, error: natsError(`publish to ${subject}`, err) };
  }
  if (reply.data.length === 0) {
    const code = reply.headers?.code ?? 0;
    return {
      ok: false,
      error: new JetStoreError(
        "ErrNats",
        `publish to ${subject}: status ${code} ${reply.headers?.description ?? ""}`.trim(),
      ),
    };
  }
  let ack: {
    seq?: number;
    duplicate?: boolean;
    error?: { code?: number; err_code?: number; description?: string };
  };
  try {
    ack = JSON.parse(decoder.decode(reply.data));
  } catch (err) {
    return { ok: false, error: natsError(`publish to ${subject}: unreadable ack`, err) };
  }
  if (ack.error) {
    const e = new JetStoreError(
      "ErrNats",
      `publish to ${subject}: ${ack.error.description ?? "error"} (${ack.error.err_code ?? ack.error.code})`,
    );
    (e as JetStoreError & { apiCode?: number }).apiCode = ack.error.err_code;
    return { ok: false, error: e };
  }
  if (typeof ack.seq !== "number") {
    return {
      ok: false,
      error: new JetStoreError("ErrNats", `publish to ${subject}: no sequence in the ack`),
    };
  }
  return { ok: true, seq: ack.seq, duplicate: ack.duplicate === true };
}

/** The server's JetStream API error code of a failure (`err_code`), when it has one. */
export function apiCode(err: unknown): number | undefined {
  const e = err as {
    apiCode?: number;
    api_error?: { err_code?: number };
    apiError?: () => { err_code?: number };
  };
  if (typeof e?.apiCode === "number") return e.apiCode;
  if (typeof e?.apiError === "function") return e.apiError()?.err_code;
  return undefined;
}

/** Any failure of the client or server as a JetStoreError (ErrNats), the original as its cause. */
export function natsError(what: string, err: unknown): JetStoreError {
  if (err instanceof JetStoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const e = new JetStoreError("ErrNats", `${what}: ${message}`, { cause: err });
  const code = apiCode(err);
  if (code !== undefined) (e as JetStoreError & { apiCode?: number }).apiCode = code;
  return e;
}

const decoder = new TextDecoder();
