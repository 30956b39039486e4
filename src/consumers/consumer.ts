/**
 * A durable pull consumer, what `store.consumer(name, options)` returns:
 * nats-server's pull consumer (server/consumer.go: getNextMsg,
 * processAckMsg, processNak, processTerm, progressUpdate, checkPending),
 * embedded. It reads the stream through a `DeliveryCursor`, keeps its
 * unacknowledged deliveries in `PendingAcks`, records every delivery and ack
 * in its `ConsumerStore` (so a FileStore consumer resumes after a reopen),
 * and tells its owner of each ack for the stream's retention.
 *
 * Time: redelivery deadlines are read against the stream's clock on every
 * call (`fetch`, `next`, `info`), so a test that moves an injected clock sees
 * redeliveries on its next call without sleeping; a timer runs only while a
 * fetch waits. A deadline persists as the delivery's timestamp (nats-server's
 * `Pending.Timestamp`): after a reopen every unacknowledged delivery comes
 * back once its wait, counted from that timestamp, is over.
 *
 * Fetch returns at once with what is ready, up to `max`; only when nothing
 * is ready does it wait, for the first message that comes (and what else is
 * ready by then) or its expiry. This is nats.go's Fetch, which asks with
 * no_wait first; waiting for a full batch would hold ready messages back.
 */
import { invalidArgument, JetStoreError } from "../errors.ts";
import type { StoredMsg, StreamStore } from "../types.ts";
import { describeValue } from "../validate.ts";
import { checkPositive } from "./consumer-config.ts";
import {
  checkFetchOptions,
  DEFAULT_EXPIRES_MS,
  type FetchOptions,
  type ResolvedConsumerOptions,
} from "./consumer-options.ts";
import {
  type ConsumerState,
  cutStoreAfter,
  purgedTo,
  reachesPast,
  type SequencePair,
} from "./consumer-state.ts";
import type { DeliveryCursor } from "./delivery-cursor.ts";
import { goneOf, LeavingDeliveries } from "./leaving-deliveries.ts";
import { PendingAcks, type PendingEntry, toMs } from "./pending-acks.ts";
import { PullWaiters } from "./pull-waiters.ts";
import type { ConsumerStore } from "./types.ts";

/** A message as a consumer delivers it. */
export interface ConsumerMsg extends StoredMsg {
  /** This delivery's consumer sequence (every delivery, redeliveries too, gets the next one). */
  consumerSeq: number;
  /** 1 on the first delivery, 2 on the first redelivery, … */
  deliveryCount: number;
}

/** What `info()` reports (nats-server's ConsumerInfo, in part). */
export interface ConsumerInfo {
  name: string;
  /** Matching messages not delivered yet. */
  numPending: number;
  /** Deliveries awaiting an ack. */
  numAckPending: number;
  /** Messages delivered more than once and not acknowledged since. */
  numRedelivered: number;
  /** The last delivery: its consumer sequence and the highest stream sequence delivered. */
  delivered: SequencePair;
  /** Everything at or below is acknowledged. */
  ackFloor: SequencePair;
}

/** What a consumer needs of the stream's set of consumers (durables.ts). */
export interface ConsumerOwner {
  readonly stream: StreamStore;
  /** The stream's clock, nanoseconds. */
  now(): bigint;
  /** True while the stream holds a message at `seq`. */
  isLive(seq: number): boolean;
  /** `seq` no longer needs `by` (acked, terminated, or delivered under ack policy none). */
  acked(by: Consumer, seq: number): void;
  /** `by` closed; `state` is its last state, or null when it could not be read. */
  closed(by: Consumer, state: ConsumerState | null): void;
  /** Deletes `by` and its store, all or nothing across crashes and failures (durables.ts). */
  delete(by: Consumer, store: ConsumerStore): Promise<void>;
  /** True while the deletion of `name` is decided and not finished. */
  beingDeleted(name: string): boolean;
}

const OPENING: unique symbol = Symbol("Consumer");

/**
 * A durable pull consumer (README, "Consumers"). It is also the `Interest`
 * retention.ts asks (not declared: those members are internal).
 */
export class Consumer {
  /** The consumer's name. */
  readonly name: string;
  private readonly owner: ConsumerOwner;
  private readonly store: ConsumerStore;
  private readonly options: ResolvedConsumerOptions;
  /** @internal */
  readonly cursor: DeliveryCursor;
  /** @internal */
  readonly pending = new PendingAcks();
  private readonly waiters: PullWaiters<ConsumerMsg>;
  /** The last consumer sequence handed out. */
  private dseq: number;
  /** delivered.stream, kept here so a fill need not read the store's state. */
  private streamSeen: number;
  private closed = false;
  private readonly leaving: LeavingDeliveries;
  /** A delete() failed after the deletion was decided: another one finishes it. */
  private unfinishedDelete = false;

  /** A consumer over `store`, resumed from `state`. @internal */
  static open(
    name: string,
    owner: ConsumerOwner,
    store: ConsumerStore,
    options: ResolvedConsumerOptions,
    cursor: DeliveryCursor,
    state: ConsumerState,
  ): Consumer {
    return new Consumer(OPENING, name, owner, store, options, cursor, state);
  }

  /** Consumers come from `store.consumer(name, options)`. */
  private constructor(
    opening: typeof OPENING,
    name: string,
    owner: ConsumerOwner,
    store: ConsumerStore,
    options: ResolvedConsumerOptions,
    cursor: DeliveryCursor,
    state: ConsumerState,
  ) {
    if (opening !== OPENING) {
      throw invalidArgument("Consumer cannot be constructed: use store.consumer(name, options)");
    }
    this.name = name;
    this.owner = owner;
    this.store = store;
    this.options = options;
    this.cursor = cursor;
    this.dseq = state.delivered.consumer;
    this.streamSeen = state.delivered.stream;
    // Ascending, as first deliveries were made: ack policy all walks them in order.
    for (const seq of [...state.pending.keys()].sort((a, b) => a - b)) {
      const p = state.pending.get(seq)!;
      const dc = (state.redelivered.get(seq) ?? 0) + 1;
      this.pending.add(seq, p.sequence, toMs(p.ts) + this.waitFor(dc), dc);
    }
    this.waiters = new PullWaiters(
      (max) => this.fill(max),
      () => this.pending.nextDeadline() - this.nowMs(),
    );
    this.leaving = new LeavingDeliveries(
      this.pending,
      store,
      options.ackPolicy !== "explicit",
      (seqs) => this.forgetGone(seqs),
      () => this.closed,
    );
    // Messages removed while it was closed (or before a crash lost the record of their removal) are settled
    // as a removal is: a reopen is no later look than a fetch.
    this.forgetGone(this.pending.entries.keys());
  }

  /** No filter. @internal */
  get unfiltered(): boolean {
    return this.options.filters.length === 0;
  }

  /** The filters, empty for every subject. @internal */
  get filters(): readonly string[] {
    return this.options.filters;
  }

  /** True when `subject` matches the filters. @internal */
  matches(subject: string): boolean {
    return this.options.filters.length === 0 || this.cursor.matches(subject);
  }

  /** True while the consumer would still want `seq` acknowledged (nats-server's needAck), filter aside. @internal */
  needsAck(seq: number): boolean {
    if (this.options.ackPolicy !== "none" && this.pending.get(seq) !== undefined) return true;
    return this.cursor.ahead(seq);
  }

  /** The stream sequence of its ack floor. @internal */
  ackFloorSeq(): number {
    return this.store.state().ackFloor.stream;
  }

  /**
   * Up to `max` messages: redeliveries first, then new ones. Resolves at once
   * with what is ready; when nothing is, waits up to `expiresMs` (default
   * 30000, 0: not at all) for the first message and resolves with what is
   * ready then, or with [] on expiry or when the consumer closes.
   */
  fetch(max: number, options?: FetchOptions): Promise<ConsumerMsg[]> {
    try {
      const action = "fetch";
      this.checkUsable(action);
      checkPositive(max, action, "max");
      const expiresMs = checkFetchOptions(options, action);
      if (this.waiters.size > 0) this.waiters.serve();
      const msgs = this.fill(max);
      if (msgs.length > 0 || expiresMs === 0) return Promise.resolve(msgs);
      return this.waiters.wait(max, expiresMs);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** One message, waiting as `fetch` does; null on expiry or when the consumer closes. */
  async next(options?: FetchOptions): Promise<ConsumerMsg | null> {
    const msgs = await this.fetch(1, options);
    return msgs.length === 0 ? null : msgs[0];
  }

  /**
   * Every message as it comes, redeliveries included, following the stream
   * live; ends when the consumer or its stream closes.
   */
  async *messages(): AsyncIterableIterator<ConsumerMsg> {
    this.checkUsable("read messages");
    while (!this.closed) {
      const msgs = await this.fetch(1, { expiresMs: DEFAULT_EXPIRES_MS });
      if (msgs.length > 0) yield msgs[0];
    }
  }

  /**
   * Acknowledges stream sequence `seq` (ack policy all: and every pending
   * message before it). ErrNotPending when it awaits no ack; ErrNoAckPolicy
   * under ack policy none.
   */
  ack(seq: number): void {
    this.acknowledge(seq, "ack");
  }

  /**
   * Terminates `seq`: it is never redelivered. Recorded as an ack, as
   * nats-server does (so under ack policy all it acknowledges what precedes it).
   */
  term(seq: number): void {
    this.acknowledge(seq, "terminate");
  }

  /** Asks for `seq` again: at once, or after `delayMs`. */
  nak(seq: number, delayMs?: number): void {
    const action = "nak";
    const entry = this.pendingEntry(seq, action);
    if (delayMs !== undefined && (!Number.isSafeInteger(delayMs) || delayMs < 0)) {
      throw invalidArgument(
        `Cannot ${action} stream sequence ${seq}: delayMs must be a safe integer ≥ 0, got ${describeValue(delayMs)}`,
      );
    }
    if (delayMs === undefined || delayMs === 0) {
      this.pending.enqueue(seq, entry);
      this.waiters.wake();
      return;
    }
    const nowMs = this.nowMs();
    const deadline = nowMs + delayMs;
    // As nats-server: the stored delivery time is set back so that it falls due at the deadline.
    this.store.updateDelivered(entry.dseq, seq, entry.dc, this.stampFor(deadline, entry.dc));
    this.pending.schedule(seq, entry, deadline);
    if (this.waiters.size > 0) this.waiters.arm();
  }

  /** Still working on `seq`: its ack wait starts again (nats-server's progress ack). */
  working(seq: number): void {
    const action = "extend the ack wait of";
    const entry = this.pendingEntry(seq, action);
    const now = this.owner.now();
    this.store.updateDelivered(entry.dseq, seq, entry.dc, now);
    this.pending.schedule(seq, entry, toMs(now) + this.waitFor(entry.dc));
  }

  /** Where the consumer stands. */
  info(): ConsumerInfo {
    this.checkUsable("read consumer info");
    this.expire(this.owner.now());
    // Borrowed: a copy of the whole state costs ~15 ms at 100,000 pending.
    const state = this.store.borrowState();
    return {
      name: this.name,
      numPending: this.cursor.numPending(),
      numAckPending: this.pending.size,
      numRedelivered: state.redelivered.size,
      delivered: { ...state.delivered },
      ackFloor: { ...state.ackFloor },
    };
  }

  /** Resolves once every delivery and ack so far is durable (FileStore; at once for MemStore). */
  async sync(): Promise<void> {
    this.checkUsable("sync consumer");
    await this.store.sync();
  }

  /**
   * Closes this handle; the consumer and its state stay with the stream
   * (`store.consumer(name, …)` resumes it). Waiting fetches resolve with [].
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.cancelAll();
    let state: ConsumerState | null = null;
    try {
      state = this.store.state();
    } catch {
      // A store stopped under us (the stream closed) keeps what it saved.
    }
    this.owner.closed(this, state);
    await this.store.stop();
  }

  /**
   * Removes the consumer and its state. ErrStoreClosed on a closed handle,
   * except after a delete() that failed once the deletion was decided: this
   * one finishes it.
   */
  async delete(): Promise<void> {
    if (!this.unfinishedDelete) this.checkUsable("delete consumer");
    this.closed = true;
    this.unfinishedDelete = false;
    this.waiters.cancelAll();
    try {
      await this.owner.delete(this, this.store);
    } catch (err) {
      this.unfinishedDelete = this.owner.beingDeleted(this.name);
      throw err;
    }
  }

  /** Closes at once, without stopping the store (the stream stops it). @internal */
  detach(): ConsumerState | null {
    if (this.closed) return null;
    this.closed = true;
    this.waiters.cancelAll();
    try {
      return this.store.state();
    } catch {
      return null;
    }
  }

  /** Something was stored: a waiting fetch may take it. @internal */
  stored(): void {
    this.waiters.wake();
  }

  /**
   * As nats-server's consumer purge, delivered and the ack floor move up to
   * the stream's new first sequence − 1 (not on limit removals, as there); the
   * ack floor stays below a delivery still awaiting its ack. @internal
   */
  purged(): void {
    if (this.closed) return;
    this.leaving.settle();
    const floor = this.owner.stream.fastState().firstSeq - 1;
    const state = this.store.state();
    if (floor <= 0 || (floor <= state.delivered.stream && floor <= state.ackFloor.stream)) return;
    if (floor > this.streamSeen) this.streamSeen = floor;
    if (this.options.ackPolicy === "none" || this.pending.size > 0) {
      this.store.updateStarting(floor);
      return;
    }
    this.store.update(purgedTo(state, floor));
  }

  /**
   * The stream is about to be cut after `seq` and will hand its later
   * sequences out again: the consumer does what a reopen after the cut does
   * (durables.ts), so what is stored there next is delivered as new. The
   * deliveries past the cut are forgotten, not recorded as acks (they were
   * never acked, and an ack floor past the stream's end would swallow what
   * comes back there); delivered.stream and the ack floor come down to the
   * cut, on disk before the stream is cut (`cutStoreAfter`). nats-server cuts
   * a stream only while it recovers, before its consumers load, and
   * reconciles each one then (reconcileStateWithStream); it also takes the
   * consumer sequence back, which jetstore keeps rising. @internal
   */
  truncating(seq: number): void {
    if (this.closed) return;
    // What removals noted past the cut named the old messages; the sequences will hold new ones.
    this.leaving.cutAfter(seq);
    const cut = this.pending.deleteAfter(seq);
    this.cursor.cutAfter(seq);
    if (this.streamSeen > seq) this.streamSeen = seq;
    if (cut || reachesPast(this.store.state(), seq)) cutStoreAfter(this.store, seq);
    // In a microtask: the waiters are served once the cut is made.
    if (cut && this.waiters.size > 0) this.waiters.wake();
  }

  /** True while fetches wait. @internal */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  private fill(max: number): ConsumerMsg[] {
    const out: ConsumerMsg[] = [];
    if (this.closed) return out;
    const now = this.owner.now();
    const nowMs = toMs(now);
    this.expire(now);
    this.cursor.fresh();
    const limit = this.options.ackPolicy === "none" ? -1 : this.options.maxAckPending;
    const maxDeliver = this.options.maxDeliver;
    while (out.length < max) {
      const seq = this.pending.takeQueued();
      if (seq !== 0) {
        const entry = this.pending.get(seq)!;
        if (maxDeliver > 0 && entry.dc >= maxDeliver) {
          // A nak'd message that had its last delivery (nats-server's getNextMsg drops it here).
          this.exhausted(seq, entry, now);
          continue;
        }
        const msg = this.redeliver(seq, now, nowMs);
        if (msg !== null) out.push(msg);
        continue;
      }
      if (limit > 0 && this.pending.size >= limit) break;
      const msg = this.cursor.next(this.skipEnded);
      if (msg === null) {
        this.readToEnd();
        break;
      }
      out.push(this.deliver(msg, now, nowMs));
    }
    return out;
  }

  private deliver(msg: StoredMsg, now: bigint, nowMs: number): ConsumerMsg {
    const dseq = this.dseq + 1;
    this.store.updateDelivered(dseq, msg.seq, 1, now);
    if (msg.seq > this.streamSeen) this.streamSeen = msg.seq;
    this.dseq = dseq;
    if (this.options.ackPolicy === "none") this.owner.acked(this, msg.seq);
    else this.pending.add(msg.seq, dseq, nowMs + this.waitFor(1));
    return consumerMsg(msg, dseq, 1);
  }

  private redeliver(seq: number, now: bigint, nowMs: number): ConsumerMsg | null {
    const entry = this.pending.get(seq)!;
    let msg: StoredMsg;
    try {
      msg = this.owner.stream.loadMsg(seq);
    } catch (err) {
      const code = (err as JetStoreError).code;
      if (code !== "ErrStoreMsgNotFound" && code !== "ErrStoreEOF") throw err;
      // Gone from the stream without a removal's notice (a record lost to damage): nothing to redeliver.
      this.leaving.forget([seq]);
      return null;
    }
    const dc = entry.dc + 1;
    const dseq = this.dseq + 1;
    this.store.updateDelivered(dseq, seq, dc, now);
    this.dseq = dseq;
    entry.dc = dc;
    this.pending.schedule(seq, entry, nowMs + this.waitFor(dc));
    return consumerMsg(msg, dseq, dc);
  }

  /** Moves what fell due to the redelivery queue; drops what ran out of deliveries or left the stream. */
  private expire(now: bigint): void {
    this.leaving.settle();
    this.pending.expire(toMs(now), this.options.maxDeliver, (seq, entry) =>
      this.exhausted(seq, entry, now),
    );
  }

  /**
   * Live messages in [lo, hi] are about to leave the stream (any removal
   * path): the deliveries among them stop awaiting their acks once it is
   * done (leaving-deliveries.ts). @internal
   */
  removing(lo: number, hi: number): void {
    this.leaving.note(lo, hi);
  }

  /** Of `seqs`, the deliveries still pending whose messages the stream no longer holds stop awaiting acks. */
  private forgetGone(seqs: Iterable<number>): void {
    const gone = goneOf(this.pending, seqs, (seq) => this.owner.isLive(seq));
    if (gone === null) return;
    this.leaving.forget(gone);
    if (this.waiters.size > 0) this.waiters.wake();
  }

  /** `seq` had its last delivery: it leaves pending for good. */
  private exhausted(seq: number, entry: PendingEntry, now: bigint): void {
    // Recorded as the delivery past the limit, which drops it from the store's pending (nats-server's rule).
    this.store.updateDelivered(entry.dseq, seq, entry.dc + 1, now);
    this.leaving.exhausted(seq);
  }

  /**
   * Nothing more matches up to the stream's end: delivered.stream goes there,
   * as nats-server's next sequence does. Under ack policy none updateStarting
   * would move the ack floor past the last delivery too, unlike nats-server.
   */
  private readToEnd(): void {
    const end = this.cursor.nextSeq - 1;
    if (end <= this.streamSeen) return;
    this.streamSeen = end;
    if (this.options.ackPolicy !== "none") {
      this.store.updateStarting(end);
      return;
    }
    const state = this.store.state();
    this.store.update({ ...state, delivered: { consumer: state.delivered.consumer, stream: end } });
  }

  private readonly skipEnded = (startSeq: number): void => {
    this.store.updateStarting(startSeq - 1);
    if (startSeq - 1 > this.streamSeen) this.streamSeen = startSeq - 1;
  };

  private acknowledge(seq: number, action: "ack" | "terminate"): void {
    const entry = this.pendingEntry(seq, action);
    const limit = this.options.maxAckPending;
    const wasFull = limit > 0 && this.pending.size >= limit;
    this.store.updateAcks(entry.dseq, seq);
    if (this.options.ackPolicy === "all") {
      for (const s of this.pending.upTo(seq)) {
        this.pending.delete(s);
        this.owner.acked(this, s);
      }
      this.leaving.ackedTo(seq);
    } else {
      this.pending.delete(seq);
      this.owner.acked(this, seq);
    }
    if (wasFull) this.waiters.wake();
  }

  /** The pending entry of `seq`, after the checks every ack-like call makes. */
  private pendingEntry(seq: number, action: string): PendingEntry {
    this.checkUsable(action);
    checkPositive(seq, action, "stream sequence");
    if (this.options.ackPolicy === "none") {
      throw new JetStoreError(
        "ErrNoAckPolicy",
        `Cannot ${action} stream sequence ${seq}: consumer ${describeValue(this.name)} has ack policy none`,
      );
    }
    this.leaving.settle();
    const entry = this.pending.get(seq);
    if (entry === undefined) {
      const why = this.cursor.ahead(seq)
        ? "it was never delivered"
        : "it was acknowledged, terminated, ran out of deliveries or left the stream, or never matched";
      throw new JetStoreError(
        "ErrNotPending",
        `Cannot ${action} stream sequence ${seq}: it awaits no ack from consumer ${describeValue(this.name)} (${why})`,
      );
    }
    return entry;
  }

  /** The wait before redelivery after delivery number `dc`: the backoff step, or ackWaitMs. */
  private waitFor(dc: number): number {
    const backoff = this.options.backoffMs;
    if (backoff.length === 0) return this.options.ackWaitMs;
    return backoff[Math.min(dc, backoff.length) - 1];
  }

  /** The delivery time that makes delivery number `dc` due at `deadline` (ms). */
  private stampFor(deadline: number, dc: number): bigint {
    const ms = deadline - this.waitFor(dc);
    if (ms <= 0) return 0n;
    const whole = Math.floor(ms);
    return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
  }

  private nowMs(): number {
    return toMs(this.owner.now());
  }

  private checkUsable(action: string): void {
    if (this.closed) {
      throw new JetStoreError(
        "ErrStoreClosed",
        `Cannot ${action}: consumer ${describeValue(this.name)} is closed`,
      );
    }
  }
}

function consumerMsg(msg: StoredMsg, consumerSeq: number, deliveryCount: number): ConsumerMsg {
  return {
    subject: msg.subject,
    hdr: msg.hdr,
    msg: msg.msg,
    seq: msg.seq,
    ts: msg.ts,
    consumerSeq,
    deliveryCount,
  };
}
