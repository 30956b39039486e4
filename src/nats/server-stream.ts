/**
 * What the replication asks of the server's stream: its state (creating
 * the stream when it is missing), the `Nats-Msg-Id` of its last message,
 * and the shape of a publish's outcome (ack-inbox.ts publishes): a value,
 * never a rejection, so a window of publishes settles in order.
 */
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { JetStoreError } from "../errors.ts";

/**
 * The server's answer to one publish; `stream` names the stream that
 * answered (absent when none did), which is another than the one meant when
 * that stream's subjects take the message's subject and the target's do not.
 */
export type PublishResult =
  | { ok: true; seq: number; duplicate: boolean; stream?: string }
  | { ok: false; error: JetStoreError; stream?: string };

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
