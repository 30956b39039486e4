/**
 * `replicate`: a local store's messages pushed into a JetStream stream, in
 * order and exactly once across restarts of either side.
 *
 * - Every publish carries `Nats-Msg-Id: <name>:<local seq>`,
 *   `Nats-Expected-Stream: <stream>` (a stream that takes the subject but is
 *   not the target refuses it, so nothing lands there) and an
 *   expectation: the first after (re)connecting `Nats-Expected-Last-Sequence`
 *   (the server's last sequence, just read), each later one
 *   `Nats-Expected-Last-Msg-Id` (the previous publish's id). A publish that
 *   did not land (a timeout, a leader change) therefore fails every publish
 *   behind it in the window, so the stream never gets a gap; a publish that
 *   landed but whose ack was lost is found again by the reconciliation.
 * - Progress is the ack floor of the consumer store `<name>` of the local
 *   stream (ack policy none: `updateDelivered` moves it), synced with the
 *   store's consumer stores. A crash may lose the floor's last updates,
 *   never a message: at each (re)start the reconciliation reads the
 *   `Nats-Msg-Id` of the server's last message and moves the floor up to it.
 *   A server whose last message is behind the floor, or is someone else's
 *   after this replication wrote, is a conflict it reports and stops at.
 * - Writers are never blocked: the replication reads the store between
 *   their calls and is woken by a listener that only resolves a promise.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ConsumerStore } from "../consumers/types.ts";
import { isJetStoreError, JetStoreError } from "../errors.ts";
import type { StoredMsg, StreamStore } from "../types.ts";
import { AckInbox } from "./ack-inbox.ts";
import { isHeaderBlock, withLeadingLines } from "./headers.ts";
import { LocalArrivals } from "./local-arrivals.ts";
import {
  checkConnection,
  checkStore,
  isClosed,
  type ReplicateOptions,
  type ReplicateSettings,
  replicateSettings,
} from "./options.ts";
import { ensureStream, msgIdAt, type PublishResult } from "./server-stream.ts";
import type { StatusEvent } from "./status.ts";
import { SyncTask } from "./sync-task.ts";

/** Where a replication or mirror stands, read at any time. */
export interface SyncStatus {
  /** Replication: the last local sequence acknowledged by the server. Mirror: the last source sequence stored. */
  lastAcked: number;
  /** Messages still to replicate, or still to mirror as of the last message received. */
  lag: number;
  /** Failures so far (each also an `error` event). */
  errors: number;
  /** The last failure, if any. */
  lastError: JetStoreError | null;
  /** False once stopped (by `stop()` or a fatal error). */
  running: boolean;
}

/** A running replication or mirror. */
export interface SyncHandle extends AsyncIterable<StatusEvent> {
  /**
   * Stops: no new publish (or fetch) starts, those in flight are awaited,
   * progress is synced, then the `stopped` event ends every event iterator.
   * Idempotent; resolves when all of that is done.
   */
  stop(): Promise<void>;
  /** Where it stands now. */
  status(): SyncStatus;
  /** Resolves once it has stopped, by `stop()` or by a fatal error (then with that error in `status().lastError`). */
  readonly done: Promise<void>;
  /** Status events from now on; `for await (const e of handle)` does the same. */
  events(): AsyncIterableIterator<StatusEvent>;
}

/**
 * Replicates `store` into the JetStream stream `options.stream` over `nc`,
 * following new local messages until `stop()`. Bad options, connection or
 * store: ErrInvalidArgument (ErrStoreClosed for a closed store), thrown with
 * nothing opened or sent. Failures while running are `error` events: a lost
 * connection or a timeout is retried (a closed one stops it); a conflict (ErrReplicationConflict)
 * or a local message whose headers are no NATS header block
 * (ErrUnsupportedHeaders) stops it.
 */
export function replicate(
  store: StreamStore,
  nc: NatsConnection,
  options: ReplicateOptions,
): SyncHandle {
  checkStore(store);
  checkConnection(nc);
  const settings = replicateSettings(options);
  return new Replication(store, nc, settings).handle;
}

/**
 * What to call when a connection closes, per connection. A reaction to
 * `nc.closed()` cannot be taken back, and one per replication kept every
 * stopped replication (its store, its consumer store) reachable for as
 * long as the connection lived; so each connection gets one reaction, and
 * a replication leaves the set when it stops.
 */
const closeWatchers = new WeakMap<NatsConnection, Set<() => void>>();

/** Calls `wake` when `nc` closes; returns what detaches it. */
function watchClose(nc: NatsConnection, wake: () => void): () => void {
  let watchers = closeWatchers.get(nc);
  if (watchers === undefined) {
    watchers = wakeAllOnClose(nc);
    closeWatchers.set(nc, watchers);
  }
  const set = watchers;
  set.add(wake);
  return () => set.delete(wake);
}

/**
 * The connection's one reaction. A function of its own: closures made in
 * one scope share its captured variables, so a reaction made in
 * `watchClose` would keep the first replication's `wake` alive with it.
 */
function wakeAllOnClose(nc: NatsConnection): Set<() => void> {
  const set = new Set<() => void>();
  const wakeAll = () => {
    for (const w of set) w();
  };
  nc.closed?.().then(wakeAll, wakeAll);
  return set;
}

class Replication extends SyncTask {
  readonly handle: SyncHandle;
  private readonly unwatchClose: () => void;
  protected readonly action = "replicate";
  private readonly progress: ConsumerStore;
  private readonly arrivals: LocalArrivals;
  private floor: number;
  private count: number;
  /** Local messages through this sequence were durable (a `sync()` covered them) when last looked. */
  private durable = 0;
  private jsm: JetStreamManager | null = null;
  private lastProgressAt = 0;
  private reportedFloor = -1;
  private readonly wildcard: boolean;

  private readonly store: StreamStore;
  private readonly nc: NatsConnection;
  private readonly s: ReplicateSettings;

  constructor(store: StreamStore, nc: NatsConnection, s: ReplicateSettings) {
    super(s.maxRetryDelayMs);
    this.store = store;
    this.nc = nc;
    this.s = s;
    this.progress = store.consumerStore(s.name, { ackPolicy: "none" });
    if (!this.progress.hasState()) this.progress.setStarting(s.fromSeq - 1);
    const state = this.progress.state();
    this.floor = state.ackFloor.stream;
    this.count = state.delivered.consumer;
    this.arrivals = new LocalArrivals(store);
    this.wildcard = /[*>]/.test(s.filter);
    // An idle replication would not notice the client giving up on its connection.
    this.unwatchClose = watchClose(nc, () => this.arrivals.wake());
    this.handle = this.start();
  }

  protected async attempt(): Promise<void> {
    const failing = this.retry.failing;
    const serverLast = await this.reconcile();
    if (failing) this.emit({ type: "resumed", lastAcked: this.floor });
    await this.pump(serverLast);
  }

  protected isFatal(e: JetStoreError): boolean {
    return (
      isJetStoreError(e, "ErrReplicationConflict") ||
      isJetStoreError(e, "ErrUnsupportedHeaders") ||
      isJetStoreError(e, "ErrInvalidArgument") ||
      isJetStoreError(e, "ErrStoreClosed") ||
      isClosed(this.nc)
    );
  }

  protected interrupt(): void {
    this.arrivals.wake();
  }

  protected lastAcked(): number {
    return this.floor;
  }

  protected override async finish(): Promise<void> {
    this.unwatchClose();
    this.arrivals.close();
    try {
      await this.progress.sync();
      await this.progress.stop();
    } catch {
      // The store closed first: what was synced stands, the reconciliation covers the rest.
    }
  }

  /**
   * Learns what the server has: creates the stream if missing, reads the
   * msg id of its last message and moves the floor up to it. Returns the
   * server's last sequence, the first publish's expectation.
   */
  private async reconcile(): Promise<number> {
    this.jsm ??= await jetstreamManager(this.nc, { checkAPI: false });
    const info = await ensureStream(
      this.jsm,
      this.s.stream,
      () => this.subjects(),
      this.s.replicas,
    );
    const last = info.state.last_seq;
    const id = last > 0 ? await msgIdAt(this.jsm, this.s.stream, last) : null;
    const prefix = `${this.s.name}:`;
    const ours = id?.startsWith(prefix) ? Number(id.slice(prefix.length)) : Number.NaN;
    if (!Number.isSafeInteger(ours)) {
      if (this.count > 0) {
        throw conflict(
          `stream ${this.s.stream}'s last message (${last}) is not this replication's (${id === null ? "no Nats-Msg-Id" : `Nats-Msg-Id ${id}`}), but local messages through ${this.floor} were replicated: the replication cannot tell what landed`,
        );
      }
      return last;
    }
    if (ours < this.floor) {
      throw conflict(
        `stream ${this.s.stream} ends with local sequence ${ours}, but the server acknowledged local messages through ${this.floor}: the server lost messages`,
      );
    }
    if (ours > this.floor) {
      const localLast = this.store.fastState().lastSeq;
      if (ours > localLast) {
        throw conflict(
          `stream ${this.s.stream} holds local sequence ${ours}, past the local store's last (${localLast}): this is not the store it was replicated from`,
        );
      }
      this.ack(ours);
    }
    return last;
  }

  /** The subjects of a stream created for the store: those given, or each first token of the store's subjects. */
  private subjects(): string[] {
    if (this.s.subjects) return this.s.subjects;
    const tokens = new Set<string>();
    for (const subject of Object.keys(this.store.subjectsTotals(">")))
      tokens.add(subject.split(".")[0]);
    if (tokens.size === 0) {
      throw new JetStoreError(
        "ErrInvalidArgument",
        `stream ${this.s.stream} does not exist and the local store has no subjects to create it with: pass \`subjects\` or \`filter\``,
      );
    }
    return [...tokens].sort().flatMap((t) => [t, `${t}.>`]);
  }

  /** Publishes from the floor on, a window at a time, until stopped or a publish fails. */
  private async pump(serverLast: number): Promise<void> {
    const inbox = new AckInbox(this.nc, this.s.ackTimeoutMs);
    try {
      await this.pumpWith(inbox, serverLast);
    } finally {
      inbox.close();
    }
  }

  private async pumpWith(inbox: AckInbox, serverLast: number): Promise<void> {
    const window = this.s.window;
    const expectStream = `Nats-Expected-Stream: ${this.s.stream}`;
    const seqs: number[] = [];
    const pending: Promise<PublishResult>[] = [];
    let head = 0;
    let next = this.floor + 1;
    let prevId: string | null = null;
    let halt: JetStoreError | null = null;
    // The first message found past what a sync covered: `next` may be well below it, when
    // the messages between were not sent (outside the filter, or removed).
    let undurableAt = 0;
    for (;;) {
      let undurable = false;
      if (!this.stopping && halt === null && pending.length - head < window) {
        await this.syncThrough(Math.max(next, undurableAt));
      }
      while (!this.stopping && halt === null && pending.length - head < window) {
        const m = this.loadNext(next);
        if (m === null) break;
        if (m.seq > this.durable) {
          // Stored while the sync above ran, or past the one `next` asked for: the next turn syncs it first.
          undurable = true;
          undurableAt = m.seq;
          break;
        }
        if (m.hdr !== null && !isHeaderBlock(m.hdr)) {
          // What is in flight is still acknowledged; nothing after this message is sent.
          halt = new JetStoreError(
            "ErrUnsupportedHeaders",
            `local message ${m.seq} has headers that are no NATS header block (NATS/1.0, CRLF lines): it cannot be published`,
          );
          break;
        }
        next = m.seq + 1;
        const id = `${this.s.name}:${m.seq}`;
        const expect =
          prevId === null
            ? `Nats-Expected-Last-Sequence: ${serverLast}`
            : `Nats-Expected-Last-Msg-Id: ${prevId}`;
        const hdr = withLeadingLines(m.hdr, [`Nats-Msg-Id: ${id}`, expectStream, expect]);
        seqs.push(m.seq);
        pending.push(inbox.publish(m.subject, hdr, m.msg));
        prevId = id;
      }
      if (head === pending.length) {
        if (halt !== null) throw halt;
        if (undurable) continue;
        this.report(true);
        if (this.stopping) return;
        if (isClosed(this.nc)) throw new JetStoreError("ErrNats", "replicate: connection closed");
        await this.arrivals.next();
        continue;
      }
      const result = await pending[head];
      const seq = seqs[head];
      head++;
      if (result.stream !== undefined && result.stream !== this.s.stream) {
        // Retrying cannot help: the same subject goes to the same stream.
        await Promise.all(pending.slice(head));
        throw conflict(
          `local message ${seq} went to stream ${result.stream}, not ${this.s.stream} (${result.ok ? "stored there" : "refused there"}): its subject is one ${result.stream}'s subjects take and ${this.s.stream}'s do not`,
        );
      }
      if (!result.ok) {
        await Promise.all(pending.slice(head));
        throw result.error;
      }
      this.ack(seq);
      if (head >= 4096) {
        seqs.splice(0, head);
        pending.splice(0, head);
        head = 0;
      }
      this.report(false);
    }
  }

  /**
   * Makes the local messages from `next` on durable before any is published:
   * one the server took and a crash then cost the store would be in the stream
   * while the store reused its sequence for another message, which the
   * reconciliation, finding the sequence replicated, would never send.
   */
  private async syncThrough(next: number): Promise<void> {
    if (next <= this.durable) return;
    const last = this.store.fastState().lastSeq;
    if (last < next) return;
    await this.store.sync();
    this.durable = Math.max(this.durable, last);
  }

  private loadNext(start: number): StoredMsg | null {
    if (start > this.store.fastState().lastSeq) return null;
    try {
      return this.store.loadNextMsg(this.s.filter, this.wildcard, start);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF")) return null;
      throw err;
    }
  }

  private ack(seq: number): void {
    this.count++;
    this.floor = seq;
    this.progress.updateDelivered(this.count, seq, 1, BigInt(Date.now()) * 1_000_000n);
    this.retry.succeeded();
  }

  protected lag(): number {
    try {
      return this.store.numPending(this.floor + 1, this.s.filter, false).total;
    } catch {
      return 0;
    }
  }

  /** A progress event at most every 250 ms, and once whenever the replication catches up. */
  private report(idle: boolean): void {
    const now = Date.now();
    if (idle ? this.floor === this.reportedFloor : now - this.lastProgressAt < 250) return;
    this.lastProgressAt = now;
    this.reportedFloor = this.floor;
    this.emit({ type: "progress", lastAcked: this.floor, lag: this.lag() });
  }
}

function conflict(message: string): JetStoreError {
  return new JetStoreError("ErrReplicationConflict", message);
}
