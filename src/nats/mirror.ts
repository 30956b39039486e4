/**
 * `mirror`: a JetStream stream pulled into a local store with the source's
 * sequences, timestamps, subjects, header bytes and payloads
 * (`storeRawMsg`); sequences the local store does not get (deleted at the
 * source, or outside the filter) become skips, so local and source
 * sequences stay equal. It resumes after the local last sequence and
 * follows the source live through an ordered consumer, which the client
 * recreates after a lost connection or a missed message.
 *
 * A source whose first sequence moved past the next one the mirror needs
 * (messages removed before the mirror got them) is reported as
 * ErrSourceMoved and the mirror stops: jumping the hole would hide data loss.
 */
import {
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { isJetStoreError, JetStoreError } from "../errors.ts";
import type { StreamStore } from "../types.ts";
import {
  checkConnection,
  checkStore,
  checkStreamName,
  isClosed,
  type MirrorOptions,
  type MirrorSettings,
  mirrorSettings,
} from "./options.ts";
import type { SyncHandle } from "./replicate.ts";
import { SyncTask } from "./sync-task.ts";

/**
 * Mirrors the JetStream stream `stream` into `store` over `nc`, following
 * it live until `stop()`. Bad arguments: ErrInvalidArgument (ErrStoreClosed
 * for a closed store), thrown with nothing changed. Running failures are
 * `error` events: a lost connection is retried (a closed one stops it); ErrSourceMoved (the source
 * removed messages the mirror had not got) and a local store that refuses
 * a message (written to by someone else: ErrSequenceMismatch) stop it.
 */
export function mirror(
  nc: NatsConnection,
  stream: string,
  store: StreamStore,
  options?: MirrorOptions,
): SyncHandle {
  checkConnection(nc);
  checkStreamName(stream, "stream");
  checkStore(store);
  const settings = mirrorSettings(options);
  return new Mirror(nc, stream, store, settings).handle;
}

class Mirror extends SyncTask {
  readonly handle: SyncHandle;
  protected readonly action = "mirror";
  private pending = 0;
  private lastProgressAt = 0;
  private wasIdle = false;
  private first = true;
  private messages: ConsumerMessages | null = null;
  private jsm: JetStreamManager | null = null;

  private readonly nc: NatsConnection;
  private readonly stream: string;
  private readonly store: StreamStore;
  private readonly s: MirrorSettings;

  constructor(nc: NatsConnection, stream: string, store: StreamStore, s: MirrorSettings) {
    super(s.maxRetryDelayMs);
    this.nc = nc;
    this.stream = stream;
    this.store = store;
    this.s = s;
    this.handle = this.start();
  }

  protected async attempt(): Promise<void> {
    await this.follow(this.first);
    this.first = false;
  }

  /** Only a lost connection or a timeout (ErrNats) is worth retrying, on a connection not closed. */
  protected isFatal(error: JetStoreError): boolean {
    return !isJetStoreError(error, "ErrNats") || isClosed(this.nc);
  }

  protected interrupt(): void {
    this.messages?.stop();
  }

  protected lag(): number {
    return this.pending;
  }

  protected lastAcked(): number {
    try {
      return this.store.fastState().lastSeq;
    } catch {
      return 0;
    }
  }

  /** Checks where the source starts, then stores what an ordered consumer delivers until stopped. */
  private async follow(first: boolean): Promise<void> {
    this.jsm ??= await jetstreamManager(this.nc, { checkAPI: false });
    const info = await this.jsm.streams.info(this.stream);
    let last = this.lastAcked();
    const fresh = last === 0 && this.store.fastState().msgs === 0;
    let start = last + 1;
    if (fresh && this.s.fromSeq === null) start = Math.max(1, info.state.first_seq);
    else if (fresh && this.s.fromSeq !== null) start = this.s.fromSeq;
    const sourceFirst = info.state.first_seq;
    if (sourceFirst > start && info.state.last_seq >= start) {
      throw new JetStoreError(
        "ErrSourceMoved",
        `stream ${this.stream} starts at ${sourceFirst}: its messages ${start}–${sourceFirst - 1}, which the mirror had not got, were removed`,
      );
    }
    if (info.state.last_seq < last) {
      throw new JetStoreError(
        "ErrSourceMoved",
        `stream ${this.stream} ends at ${info.state.last_seq}, before the mirror's last sequence ${last}: it is not the stream mirrored, or it lost messages`,
      );
    }
    if (!first || this.retry.failing) this.emit({ type: "resumed", lastAcked: last });
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(this.stream, {
      // A single filter as a string: nats-server 2.9 knows `filter_subject` only.
      ...(this.s.filter ? { filter_subjects: this.s.filter } : {}),
      deliver_policy: "by_start_sequence" as never,
      opt_start_seq: start,
    });
    if (this.stopping) return;
    const messages = await consumer.consume();
    this.messages = messages;
    if (this.stopping) messages.stop();
    this.pending = Math.max(0, info.state.last_seq - last);
    this.retry.succeeded();
    try {
      for await (const m of messages) {
        const seq = m.seq;
        if (seq <= last) continue;
        if (seq > last + 1 && last + 1 >= start) await this.checkGap(last + 1, seq);
        this.storeOne(m, last, seq);
        last = seq;
        this.pending = m.info.pending;
        this.report(this.pending === 0);
      }
    } finally {
      messages.stop();
      this.messages = null;
    }
  }

  /** A hole in what the source sends: deletions become skips, unless they are at the source's head. */
  private async checkGap(from: number, to: number): Promise<void> {
    if (this.s.filter) return; // filtered-out sequences are holes too; only the start was checked
    const info = await this.jsm!.streams.info(this.stream);
    if (info.state.first_seq > from) {
      throw new JetStoreError(
        "ErrSourceMoved",
        `stream ${this.stream} removed messages ${from}–${Math.min(to, info.state.first_seq) - 1} from its head before the mirror got them`,
      );
    }
  }

  private storeOne(m: JsMsg, last: number, seq: number): void {
    if (seq > last + 1) this.store.skipMsgs(last + 1, seq - last - 1);
    this.store.storeRawMsg(m.subject, headerBytes(m), m.data, seq, m.timestampNanos);
  }

  /** A progress event at most every 250 ms, and at once when the mirror catches up. */
  private report(idle: boolean): void {
    const now = Date.now();
    const caughtUp = idle && !this.wasIdle;
    this.wasIdle = idle;
    if (!caughtUp && now - this.lastProgressAt < 250) return;
    this.lastProgressAt = now;
    this.emit({ type: "progress", lastAcked: this.lastAcked(), lag: this.pending });
  }
}

/**
 * The message's header block as the server sent it. The client keeps the
 * received bytes (`msg._rdata`, headers first for `_msg.hdr` bytes); its
 * parsed `MsgHdrs` would trim values and merge repeated keys, so it is used
 * only if a later client stops keeping them.
 */
function headerBytes(m: JsMsg): Uint8Array | null {
  const inner = (m as unknown as { msg?: { _rdata?: Uint8Array; _msg?: { hdr?: number } } }).msg;
  const hdrLen = inner?._msg?.hdr;
  if (inner?._rdata instanceof Uint8Array && typeof hdrLen === "number") {
    return hdrLen > 0 ? inner._rdata.subarray(0, hdrLen) : null;
  }
  return m.headers ? (m.headers as unknown as { encode(): Uint8Array }).encode() : null;
}
