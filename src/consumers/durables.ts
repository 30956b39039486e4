/**
 * One stream's durable consumers (what `store.consumer(name, options)`
 * opens): the open ones, the closed ones the stream still keeps, the rules
 * for opening one (nats-server's addConsumerWithAssignment and
 * checkNewConsumerConfig: a name in use, a reopen that changes what cannot
 * change, the work-queue restrictions), and the stream's retention over all
 * of them (retention.ts).
 *
 * A consumer exists from its first open to its `delete()`; `close()` only
 * releases the handle. Its state lives in its consumer store: on disk for
 * FileStore (read back at the first open after the stream reopens), and for
 * MemStore in the last state a closed handle left here, restored into the new
 * memory store at the next open. Closed consumers keep their interest, so an
 * interest stream keeps what they have not acknowledged, and a work queue
 * refuses a new consumer that overlaps a closed one.
 */
import { invalidArgument, JetStoreError } from "../errors.ts";
import type { RemovalListener } from "../snapshot/removal-watch.ts";
import { filtersOverlap } from "../subject-match.ts";
import type { RetentionPolicy, StreamStore } from "../types.ts";
import { describeValue } from "../validate.ts";
import { Consumer, type ConsumerOwner } from "./consumer.ts";
import { checkConsumerName } from "./consumer-config.ts";
import type { ConsumerHost } from "./consumer-host.ts";
import {
  checkConsumerOptions,
  checkReopen,
  durableConfig,
  type ResolvedConsumerOptions,
} from "./consumer-options.ts";
import { type ConsumerState, withoutDeliveriesPast } from "./consumer-state.ts";
import { DeliveryCursor } from "./delivery-cursor.ts";
import { type Interest, Retention } from "./retention.ts";
import type { ConsumerConfig } from "./types.ts";

/** A consumer the stream keeps: its recorded config and last state (null: none saved). */
export interface SavedConsumer {
  name: string;
  config: ConsumerConfig;
  state: ConsumerState | null;
}

/** What the durable consumers need of the stream beyond a `ConsumerHost`. */
export interface DurableHost extends ConsumerHost {
  /** The stream's retention policy (fixed at creation). */
  retention(): RetentionPolicy;
  /** Every consumer the stream keeps on disk (FileStore), with its config and state; [] in memory. */
  savedConsumers(): SavedConsumer[];
  /** Tells `listener` of every removal from the stream, first; returns the function that stops it. */
  watchRemovals(listener: RemovalListener): () => void;
  /** True while the stream holds a message at `seq`. */
  isLive(seq: number): boolean;
}

/** A consumer that is not open: what reopening and retention need of it. */
interface ClosedRecord {
  config: ConsumerConfig;
  state: ConsumerState | null;
  /** Its interest; null for a consumer store opened without `consumer()` (no durable record). */
  interest: Interest | null;
  /** Read from disk when the stream opened: what a crash left is not yet settled (retention.ts, settle). */
  recovered: boolean;
}

const ACTION = "open consumer";

export class Durables implements ConsumerOwner {
  private readonly host: DurableHost;
  private readonly open = new Map<string, { consumer: Consumer; config: ConsumerConfig }>();
  private openList: Consumer[] = [];
  /** Closed consumers by name; read from the host at first need. */
  private closedOnes: Map<string, ClosedRecord> | null = null;
  private policyCache: RetentionPolicy | null = null;
  private rulesCache: Retention | null = null;
  /**
   * Stops the open consumers' watch of removals; null while none is open, so
   * a stream without consumers pays nothing per removal (a limit trimming
   * its head removes a message per append).
   */
  private unwatch: (() => void) | null = null;
  private readonly removals: RemovalListener = {
    removing: (lo, hi) => {
      const list = this.openList;
      for (let i = 0; i < list.length; i++) list[i].removing(lo, hi);
    },
    // Told once the cut is made (truncated): before it, the sequences past it may still be the old messages.
    truncating: () => {},
  };

  constructor(host: DurableHost) {
    this.host = host;
    host.onStored((seq) => this.onStored(seq));
  }

  get stream(): StreamStore {
    return this.host.stream;
  }

  now(): bigint {
    return this.host.now();
  }

  isLive(seq: number): boolean {
    return this.host.isLive(seq);
  }

  /**
   * Opens the consumer `name`, creating it with `options` or resuming it.
   * ErrConsumerInUse while it is open; ErrConsumerConflict when `options`
   * change what it was created with, or it overlaps another consumer of a
   * work queue; ErrInvalidArgument for bad options.
   */
  consumer(name: string, options: unknown): Consumer {
    checkConsumerName(name, ACTION);
    const resolved = checkConsumerOptions(options, ACTION);
    if (this.open.has(name)) {
      throw new JetStoreError(
        "ErrConsumerInUse",
        `Cannot ${ACTION}: consumer ${describeValue(name)} is already open on this stream (close it first)`,
      );
    }
    const policy = this.policy();
    if (policy === "workqueue") checkWorkQueueOptions(resolved);
    const saved = this.closedRecords().get(name);
    if (saved !== undefined) checkReopen(name, saved.config, resolved, ACTION);
    if (policy === "workqueue") this.checkWorkQueuePartition(name, resolved.filters);

    const stream = this.host.stream;
    const savedState = saved?.state ?? null;
    const hadDeliveries =
      savedState !== null && (savedState.delivered.consumer > 0 || savedState.delivered.stream > 0);
    const durable = saved?.config.durable;
    let startSeq = 1;
    let skip: number[] | null = null;
    let fresh = false;
    if (durable !== undefined) {
      startSeq = durable.startSeq;
    } else if (!hadDeliveries) {
      ({ startSeq, skip } = DeliveryCursor.start(stream, resolved));
      fresh = true;
    }
    const config = durableConfig(resolved, startSeq);
    const store = this.host.consumerStore(name, config);
    let consumer: Consumer;
    try {
      // In memory the store starts empty: the state the closed handle left goes back in.
      if (hadDeliveries && !store.hasState()) store.forceUpdate(savedState);
      const first = skip !== null && skip.length > 0 ? skip[0] : startSeq;
      if (fresh) store.setStarting(first - 1);
      let state = store.state();
      const last = stream.fastState().lastSeq;
      if (state.delivered.stream > last) {
        // The stream lost a tail the consumer had seen (a crash before its sync, or a
        // truncate): forget those deliveries, so the sequences stored again are delivered.
        state = withoutDeliveriesPast(state, last);
        store.forceUpdate(state);
      }
      const cursor = fresh
        ? new DeliveryCursor(stream, resolved.filters, startSeq, first, skip)
        : resumeCursor(stream, resolved, startSeq, state.delivered.stream);
      consumer = Consumer.open(name, this, store, resolved, cursor, state);
      if (saved?.recovered === true && policy !== "limits") {
        // A crash may have kept this consumer's acks and lost the removals they made. Only
        // the first open after the stream's: a walk of the stream is too much for every open.
        const exhausted = state.redelivered;
        // From its start: below it, it acked nothing (what is there is another's, if anyone's).
        this.rules().settle(consumer, startSeq, state.ackFloor.stream, (seq) => exhausted.has(seq));
      }
    } catch (err) {
      store.stop().catch(() => {});
      throw err;
    }
    this.open.set(name, { consumer, config });
    this.openList = [...this.openList, consumer];
    this.unwatch ??= this.host.watchRemovals(this.removals);
    this.closedRecords().delete(name);
    return consumer;
  }

  /** The stream closes: every open consumer ends its waits and lets go of its store. */
  detachAll(): void {
    for (const { consumer, config } of this.open.values()) {
      const state = consumer.detach();
      this.closedOnes?.set(consumer.name, { config, state, interest: consumer, recovered: false });
    }
    this.open.clear();
    this.setOpenList([]);
  }

  /** The durable consumers that are not open, with their last configs and states. */
  closedConsumers(): SavedConsumer[] {
    return [...this.closedRecords()].map(([name, r]) => ({
      name,
      config: r.config,
      state: r.state,
    }));
  }

  acked(by: Consumer, seq: number): void {
    if (this.policy() !== "limits") this.rules().acked(by, seq);
  }

  closed(by: Consumer, state: ConsumerState | null): void {
    const entry = this.open.get(by.name);
    if (entry === undefined || entry.consumer !== by) return;
    this.forget(by);
    this.closedRecords().set(by.name, {
      config: entry.config,
      state,
      interest: by,
      recovered: false,
    });
  }

  async releasing(by: Consumer): Promise<void> {
    if (this.policy() !== "interest") return;
    this.rules().deleted(by);
    await this.host.stream.sync();
  }

  deleted(by: Consumer): void {
    this.forget(by);
    this.closedRecords().delete(by.name);
    // Again, for what was stored while its files went (it still counted as interested then).
    if (this.policy() === "interest") this.rules().deleted(by);
  }

  private forget(by: Consumer): void {
    if (this.open.get(by.name)?.consumer !== by) return;
    this.open.delete(by.name);
    this.setOpenList(this.openList.filter((c) => c !== by));
  }

  private setOpenList(list: Consumer[]): void {
    this.openList = list;
    if (list.length === 0 && this.unwatch !== null) {
      this.unwatch();
      this.unwatch = null;
    }
  }

  purged(): void {
    for (const c of this.openList) c.purged();
  }

  /** The stream was cut after `seq`: the open consumers go back to it (closed ones do at their reopen). */
  truncated(seq: number): void {
    // Each one follows the cut even when another's store fails to record it (syncAlways writes at once).
    let failure: unknown = null;
    for (const c of this.openList) {
      try {
        c.truncated(seq);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== null) throw failure;
  }

  private onStored(seq: number): void {
    if (this.policy() === "interest") {
      try {
        this.rules().stored(seq);
      } catch {
        // A removal that failed leaves the message in the stream: kept, never lost.
      }
    }
    const list = this.openList;
    for (let i = 0; i < list.length; i++) if (list[i].waiting) list[i].stored();
  }

  /** nats-server: on a work queue no two consumers may share a subject. */
  private checkWorkQueuePartition(name: string, filters: readonly string[]): void {
    for (const other of this.interests()) {
      if (other.name === name) continue;
      const clash =
        filters.length === 0 || other.unfiltered
          ? "one of them has no filter"
          : overlapOf(filters, other.filters);
      if (clash !== null) {
        throw new JetStoreError(
          "ErrConsumerConflict",
          `Cannot ${ACTION}: ${describeValue(name)} would share subjects with consumer ${describeValue(other.name)} on a workqueue stream (${clash})`,
        );
      }
    }
  }

  private *interests(): Generator<Interest> {
    yield* this.openList;
    for (const record of this.closedRecords().values()) {
      if (record.interest !== null) yield record.interest;
    }
  }

  private policy(): RetentionPolicy {
    this.policyCache ??= this.host.retention();
    return this.policyCache;
  }

  private rules(): Retention {
    this.rulesCache ??= new Retention(this.policy(), this.host.stream, () => this.interests());
    return this.rulesCache;
  }

  private closedRecords(): Map<string, ClosedRecord> {
    if (this.closedOnes === null) {
      const records = new Map<string, ClosedRecord>();
      for (const saved of this.host.savedConsumers()) {
        if (this.open.has(saved.name)) continue;
        records.set(saved.name, {
          config: saved.config,
          state: saved.state,
          interest: closedInterest(this.host.stream, saved),
          recovered: true,
        });
      }
      this.closedOnes = records;
    }
    return this.closedOnes;
  }
}

/** nats-server: a work queue takes explicit acks only, and every consumer starts at the beginning. */
function checkWorkQueueOptions(options: ResolvedConsumerOptions): void {
  if (options.ackPolicy !== "explicit") {
    throw invalidArgument(
      `Cannot ${ACTION}: a workqueue stream needs ackPolicy "explicit", got "${options.ackPolicy}"`,
    );
  }
  if (options.deliverPolicy !== "all") {
    throw invalidArgument(
      `Cannot ${ACTION}: a workqueue stream needs deliverPolicy "all", got "${options.deliverPolicy}"`,
    );
  }
}

function overlapOf(a: readonly string[], b: readonly string[]): string | null {
  for (const x of a) {
    for (const y of b) if (filtersOverlap(x, y)) return `filters "${x}" and "${y}" overlap`;
  }
  return null;
}

/** The cursor of a consumer that delivered up to stream sequence `delivered`. */
function resumeCursor(
  stream: StreamStore,
  options: Pick<ResolvedConsumerOptions, "filters" | "deliverPolicy">,
  startSeq: number,
  delivered: number,
): DeliveryCursor {
  const skip =
    options.deliverPolicy === "lastPerSubject"
      ? DeliveryCursor.remainingSkip(stream, options.filters, startSeq, delivered)
      : null;
  const next = skip !== null ? delivered + 1 : Math.max(delivered + 1, startSeq);
  return new DeliveryCursor(stream, options.filters, startSeq, next, skip);
}

/** The interest of a consumer kept on disk, from its record and saved state. */
function closedInterest(stream: StreamStore, saved: SavedConsumer): Interest | null {
  const durable = saved.config.durable;
  if (durable === undefined) return null;
  const delivered = saved.state?.delivered.stream ?? 0;
  const cursor = resumeCursor(stream, durable, durable.startSeq, delivered);
  const pending =
    saved.config.ackPolicy === "none" || saved.state === null
      ? new Set<number>()
      : new Set(saved.state.pending.keys());
  const filters = durable.filters;
  return {
    name: saved.name,
    unfiltered: filters.length === 0,
    filters,
    matches: (subject) => filters.length === 0 || cursor.matches(subject),
    needsAck: (seq) => pending.has(seq) || cursor.ahead(seq),
    lowestNeeded: () => {
      let lowest = cursor.lowestAhead();
      for (const seq of pending) if (seq < lowest) lowest = seq;
      return lowest;
    },
  };
}
