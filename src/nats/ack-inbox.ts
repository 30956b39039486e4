/**
 * Publishes whose acks come back to one subscription: every publish gets
 * the reply subject `<inbox>.<n>`, and one callback settles the publish an
 * ack names. The client's request() would make a timer and a map entry per
 * publish; here one interval times out the oldest ones (a Map iterates in
 * insertion order, so the scan stops at the first that is not late).
 * The subscription survives the client's reconnects.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import { JetStoreError } from "../errors.ts";
import { rawHeaders } from "./headers.ts";
import { natsError, type PublishResult } from "./server-stream.ts";

interface Waiting {
  subject: string;
  deadline: number;
  resolve: (result: PublishResult) => void;
}

const decoder = new TextDecoder();

export class AckInbox {
  private readonly nc: NatsConnection;
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<number, Waiting>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly timeoutMs: number;
  private next = 0;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.nc = nc;
    this.timeoutMs = timeoutMs;
    this.prefix = createInbox();
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (_err, msg) => this.settle(msg) });
    this.timer = setInterval(() => this.expire(), Math.max(10, Math.min(250, timeoutMs / 4)));
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Publishes `payload` with the header block `hdr` to `subject`; resolves with the ack, never rejects. */
  publish(subject: string, hdr: Uint8Array, payload: Uint8Array): Promise<PublishResult> {
    const id = ++this.next;
    return new Promise<PublishResult>((resolve) => {
      try {
        this.nc.publish(subject, payload, {
          reply: `${this.prefix}.${id}`,
          headers: rawHeaders(hdr),
        });
      } catch (err) {
        resolve({ ok: false, error: natsError(`publish to ${subject}`, err) });
        return;
      }
      this.waiting.set(id, { subject, deadline: Date.now() + this.timeoutMs, resolve });
    });
  }

  /** Settles every waiting publish with a failure and stops listening. */
  close(): void {
    clearInterval(this.timer);
    this.sub.unsubscribe();
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.resolve({
        ok: false,
        error: new JetStoreError("ErrNats", `publish to ${w.subject}: stopped`),
      });
    }
  }

  private settle(msg: Msg): void {
    const id = Number(msg.subject.slice(this.prefix.length + 1));
    const w = this.waiting.get(id);
    if (w === undefined) return; // timed out already
    this.waiting.delete(id);
    w.resolve(parseAck(w.subject, msg));
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, w] of this.waiting) {
      if (w.deadline > now) break;
      this.waiting.delete(id);
      w.resolve({
        ok: false,
        error: new JetStoreError(
          "ErrNats",
          `publish to ${w.subject}: no ack in ${this.timeoutMs} ms`,
        ),
      });
    }
  }
}

/** A publish's ack: `{ stream, seq, duplicate? }`, `{ stream, error }`, or a status without data (503: no stream takes the subject). */
export function parseAck(subject: string, reply: Msg): PublishResult {
  if (reply.data.length === 0) {
    const code = reply.headers?.code ?? 0;
    const description =
      code === 503
        ? "no responders (no stream takes the subject)"
        : (reply.headers?.description ?? "");
    return {
      ok: false,
      error: new JetStoreError(
        "ErrNats",
        `publish to ${subject}: status ${code} ${description}`.trim(),
      ),
    };
  }
  let ack: {
    stream?: unknown;
    seq?: number;
    duplicate?: boolean;
    error?: { code?: number; err_code?: number; description?: string };
  };
  try {
    ack = JSON.parse(decoder.decode(reply.data));
  } catch (err) {
    return { ok: false, error: natsError(`publish to ${subject}: unreadable ack`, err) };
  }
  const stream = typeof ack.stream === "string" ? { stream: ack.stream } : {};
  if (ack.error) {
    const e = new JetStoreError(
      "ErrNats",
      `publish to ${subject}: ${ack.error.description ?? "error"} (${ack.error.err_code ?? ack.error.code})`,
    );
    (e as JetStoreError & { apiCode?: number }).apiCode = ack.error.err_code;
    return { ok: false, error: e, ...stream };
  }
  if (typeof ack.seq !== "number") {
    return {
      ok: false,
      error: new JetStoreError("ErrNats", `publish to ${subject}: no sequence in the ack`),
      ...stream,
    };
  }
  return { ok: true, seq: ack.seq, duplicate: ack.duplicate === true, ...stream };
}
