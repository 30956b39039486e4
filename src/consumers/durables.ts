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
import { invalidArgument, isJetStoreError, JetStoreError } from "../errors.ts";
import type { RemovalListener } from "../snapshot/removal-watch.ts";
import { filtersOverlap } from "../subject-match.ts";
import type { RetentionPolicy, StreamStore } from "../types.ts";
import { describeValue } from "../validate.ts";
import { Consumer, type ConsumerOwner } from "./consumer.ts";
import { checkConsumerName } from "./consumer-config.ts";
import type { DeletionRecord } from "./consumer-files.ts";
import type { ConsumerHost } from "./consumer-host.ts";
import {
  checkConsumerOptions,
  checkReopen,
  durableConfig,
  type ResolvedConsumerOptions,
} from "./consumer-options.ts";
import {
  type ConsumerState,
  copyConsumerState,
  reachesPast,
  withoutDeliveriesPast,
} from "./consumer-state.ts";
import { DeliveryCursor } from "./delivery-cursor.ts";
import { type Interest, Retention } from "./retention.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

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
  /** Every consumer the stream keeps on disk (FileStore), with its config and state, but those being deleted; [] in memory. */
  savedConsumers(): SavedConsumer[];
  /** Tells `listener` of every removal from the stream, first; returns the function that stops it. */
  watchRemovals(listener: RemovalListener): () => void;
  /** True while the stream holds a message at `seq`. */
  isLive(seq: number): boolean;
  /** The consumers on disk whose deletion was decided and not finished; [] in memory. */
  consumersBeingDeleted(): DeletionRecord[];
  /** One consumer on disk, being deleted or not; null without a config. ErrCorrupt when damaged. */
  savedConsumer(name: string): SavedConsumer | null;
  /** Removes the files of a consumer being deleted (FileStore). */
  removeConsumerFiles(name: string): void;
  /** A consumer store of that name is open, or still stopping after its handle's close(). */
  hasConsumerStore(name: string): boolean;
  /** Makes the record of a consumer's deletion durable (FileStore). */
  confirmDeletion(name: string): void;
  /** A closed consumer's store forgets, durably, its deliveries past `seq` (FileStore); its state, or null in memory. */
  cutClosed(name: string, config: ConsumerConfig, seq: number): ConsumerState | null;
}

/** A consumer store that records, durably, that its consumer is being deleted (the file store). */
interface MarksDeletion {
  /**
   * Throws when it could not, having taken the record back unless
   * `deletionRecorded`; once that is set, only makes the record durable.
   */
  markDeleting(retention: RetentionPolicy): void;
  readonly deletionRecorded: boolean;
  /** The record is durable. */
  readonly deletionDurable: boolean;
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
  /**
   * Consumers whose deletion is decided (FileStore: recorded on disk) and not
   * finished: they want nothing any more, and their names are taken until it is.
   */
  private readonly deleting = new Map<string, number>();
  private policyCache: RetentionPolicy | null = null;
  private rulesCache: Retention | null = null;
  /**
   * Stops the open consumers' watch of removals; null while none is open, so
   * a stream without consumers pays nothing per removal (a limit trimming
   * its head removes a message per append).
   */
  private unwatch: (() => void) | null = null;
  /** Inside a removal an ack made (retention): no consumer has that message pending. */
  private ackRemoving = false;
  /** The closed consumers took the stream's end as found at its open (settleLostTail). */
  private lostTailSettled = false;
  private readonly removals: RemovalListener = {
    removing: (lo, hi) => {
      if (this.ackRemoving) return;
      const list = this.openList;
      for (let i = 0; i < list.length; i++) list[i].removing(lo, hi);
    },
    // The engine tells the durables of a truncate itself (registry.ts truncating), the closed ones too.
    truncating: () => {},
  };

  constructor(host: DurableHost) {
    this.host = host;
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
    if (this.deleting.has(name)) {
      throw new JetStoreError(
        "ErrConsumerInUse",
        `Cannot ${ACTION}: consumer ${describeValue(name)} is being deleted (a failed delete() finishes when called again or when the stream next opens)`,
      );
    }
    // A handle's close() lets go of the name at once but its store stops later (a FileStore
    // one writes its state first, which this open must read): until then the name is in use.
    if (this.host.hasConsumerStore(name)) {
      throw new JetStoreError(
        "ErrConsumerInUse",
        `Cannot ${ACTION}: consumer ${describeValue(name)} is still closing or open as a consumer store on this stream (await its close() first)`,
      );
    }
    this.settleLostTail();
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
        : DeliveryCursor.resume(stream, resolved, startSeq, state.delivered.stream);
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
    if (this.policy() === "limits") return;
    // What an ack removes no consumer awaits: a work queue's filters do not overlap, and an
    // interest stream removes a message only once no consumer still needs it.
    this.ackRemoving = true;
    try {
      this.rules().acked(by, seq);
    } finally {
      this.ackRemoving = false;
    }
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

  /** True while the deletion of consumer `name` is decided and not finished. */
  beingDeleted(name: string): boolean {
    return this.deleting.size > 0 && this.deleting.has(name);
  }

  /**
   * Deletes `by`, whose store is `store`, so that it is all or nothing across
   * crashes and failures. Its store first records the deletion durably: a
   * failure there changes nothing. From then on the deletion is decided: the
   * consumer wants nothing (what is stored from now on and only it matched is
   * not kept), what only it still wanted goes, durably, then its files. A
   * failure or crash after the decision leaves it to a later delete() of
   * this handle or the stream's next open (`finishDeletions`), never a
   * consumer without the messages it had not taken.
   */
  async delete(by: Consumer, store: ConsumerStore): Promise<void> {
    const name = by.name;
    const marks = store as Partial<MarksDeletion>;
    let from = this.deleting.get(name);
    if (from !== undefined && marks.deletionDurable === false) {
      // Decided, its record perhaps not on disk: made durable before any removal.
      marks.markDeleting?.(this.policy());
    }
    if (from === undefined) {
      from = by.ackFloorSeq();
      let failure: unknown = null;
      try {
        marks.markDeleting?.(this.policy());
      } catch (err) {
        failure = err;
      }
      if (failure !== null && marks.deletionRecorded !== true) {
        // Nothing changed: it stays a consumer of the stream, closed.
        this.closed(by, null);
        await store.stop().catch(() => {});
        throw failure;
      }
      this.deleting.set(name, from);
      this.forget(by);
      // Recorded, though not surely: decided, to be finished by another delete() or the next open.
      if (failure !== null) throw failure;
    }
    if (this.policy() === "interest") {
      this.rules().deleted(by, from);
      await this.host.stream.sync();
    }
    await store.delete();
    this.deleting.delete(name);
    this.closedRecords().delete(name);
  }

  /**
   * Finishes what `delete` left (the stream's open): what only those
   * consumers still wanted, by the state they saved, is removed durably
   * before their files. One whose files do not read back is removed without
   * that: its messages stay rather than go on a guess.
   */
  async finishDeletions(): Promise<void> {
    const records = this.host.consumersBeingDeleted();
    if (records.length === 0) return;
    const policy = this.policy();
    const names: string[] = [];
    for (const { name, retention } of records) {
      // Decided on an interest stream, opened under another retention (the CLI's, an app's mistake):
      // finishing here would remove its files and none of its messages. It waits, its name taken.
      // An empty record (an earlier version's) is finished under the open's retention, as that version did.
      if (retention === "interest" && policy !== "interest") this.deleting.set(name, 0);
      else names.push(name);
    }
    if (names.length === 0) return;
    if (policy === "interest") {
      // Its removals are the stream's first changes: the closed consumers take its end first.
      this.settleLostTail();
      // A record the deletion's delete() could not make durable: a crash after the
      // removals below would otherwise take it and bring the consumer back without them.
      for (const name of names) this.host.confirmDeletion(name);
      for (const name of names) {
        let saved: SavedConsumer | null = null;
        try {
          saved = this.host.savedConsumer(name);
        } catch (err) {
          if (!isJetStoreError(err, "ErrCorrupt")) throw err;
        }
        const durable = saved?.config.durable;
        if (saved === null || durable === undefined) continue;
        const interest = closedInterest(this.host.stream, saved) as Interest;
        // From its start: below its ack floor too, for acks whose removals a crash lost.
        this.rules().deleted(interest, durable.startSeq);
      }
      await this.host.stream.sync();
    }
    for (const name of names) this.host.removeConsumerFiles(name);
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

  /**
   * The stream is about to be cut after `seq`: every consumer, closed or
   * open, forgets its deliveries past it now, on disk before the stream is
   * cut: after a crash the stream's later writes there must not meet a
   * consumer that still holds them delivered. Left to a closed one's reopen,
   * its interest would not cover what is stored there meanwhile, and the
   * reopen would take it as delivered. A failure leaves the stream uncut: a
   * consumer cut already only gets again what it had.
   */
  truncating(seq: number): void {
    this.cutClosed(seq, true, (err, name) => refusedCut(err, name, seq));
    // Each one follows the cut even when another's store fails to record it.
    let failure: unknown = null;
    for (const c of this.openList) {
      try {
        c.truncating(seq);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== null) throw failure;
  }

  /**
   * Before the stream's first change since it opened, and before the first
   * consumer opens: a power cut can lose the stream's unsynced tail after a
   * consumer synced its deliveries of it, and the stream then hands those
   * sequences out again. A closed consumer forgets those deliveries now, on
   * disk, as an open one does at its open: left to its reopen, its interest
   * would not cover what is stored there meanwhile, and by then the stream's
   * end is past them. Not at the stream's open: that stays free of reading
   * the consumers' states (an interest stream reads them at its first store
   * anyway). A failure leaves it to the next change.
   */
  settleLostTail(): void {
    if (this.lostTailSettled) return;
    try {
      this.cutClosed(this.host.stream.fastState().lastSeq, false);
    } catch (err) {
      // A consumer whose files do not read back cannot be opened either: the stream stays usable.
      if (!isJetStoreError(err, "ErrCorrupt")) throw err;
    }
    this.lostTailSettled = true;
  }

  /**
   * The closed consumers forget, durably, their deliveries past `seq` (all of
   * them when `all`, a truncate's cut, else those with a state past it);
   * `refused` makes the error of one whose files do not read back (`name`
   * null when the list of them did not read).
   */
  private cutClosed(
    seq: number,
    all: boolean,
    refused: (err: unknown, name: string | null) => unknown = (err) => err,
  ): void {
    let closed: Map<string, ClosedRecord>;
    try {
      closed = this.closedRecords();
    } catch (err) {
      throw refused(err, null);
    }
    for (const [name, record] of closed) {
      const state = record.state;
      if (record.interest === null) continue;
      if (state === null ? !all : !reachesPast(state, seq)) continue;
      let taken: ConsumerState | null;
      try {
        taken = this.host.cutClosed(name, record.config, seq);
      } catch (err) {
        throw refused(err, name);
      }
      const cut =
        taken ?? (state === null ? null : withoutDeliveriesPast(copyConsumerState(state), seq));
      record.state = cut;
      record.interest = closedInterest(this.host.stream, {
        name,
        config: record.config,
        state: cut,
      });
    }
  }

  /** Interest: no consumer's filter matches `subject`. */
  unwanted(subject: string): boolean {
    return this.policy() === "interest" && !this.rules().wanted(subject);
  }

  /**
   * A message was stored. Retention has nothing to do: the store asked
   * `unwanted` first, so on an interest stream someone wants it.
   */
  stored(): void {
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

/**
 * A closed consumer's damaged files stop a truncate: the consumer cannot
 * forget what it delivered past the cut, and no API reaches it (opening or
 * deleting it reads those files), so the error says whose files and the way out.
 */
function refusedCut(err: unknown, name: string | null, seq: number): unknown {
  if (!isJetStoreError(err, "ErrCorrupt")) return err;
  const whose =
    name === null ? "a consumer's files" : `the files of consumer ${describeValue(name)}`;
  const where = name === null ? "" : `, consumers/${name} under the store's`;
  return new JetStoreError(
    "ErrCorrupt",
    `Cannot truncate after stream sequence ${seq}: ${whose} do not read back, and it may hold deliveries past the cut (${err.message}); the stream is unchanged. To truncate without that consumer, remove its directory${where}, with the store closed`,
    { cause: err, file: err.file, offset: err.offset },
  );
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

/** The interest of a consumer kept on disk, from its record and saved state. */
function closedInterest(stream: StreamStore, saved: SavedConsumer): Interest | null {
  const durable = saved.config.durable;
  if (durable === undefined) return null;
  const delivered = saved.state?.delivered.stream ?? 0;
  const cursor = DeliveryCursor.resume(stream, durable, durable.startSeq, delivered);
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
  };
}
