/**
 * One stream's consumers, as both engines keep them: the consumer stores
 * open on it (`state().consumers` counts them; nats-server counts the
 * consumers registered with the stream), and the listeners told of each new
 * message. The engine supplies how a consumer store is made: in memory for
 * MemStore, in the store's directory for FileStore.
 */
import { invalidArgument } from "../errors.ts";
import type { RemovalListener, RemovalWatches } from "../snapshot/removal-watch.ts";
import type { RetentionPolicy, StreamStore } from "../types.ts";
import type { Consumer } from "./consumer.ts";
import { ConsumerAction, checkConsumerName } from "./consumer-config.ts";
import type { DeletionRecord } from "./consumer-files.ts";
import type { ConsumerOptions } from "./consumer-options.ts";
import type { ConsumerState, CutsAfter } from "./consumer-state.ts";
import { type DurableHost, Durables, type SavedConsumer } from "./durables.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

/** Makes the engine's consumer store; `onStop` must be called once, when it stops. */
export type ConsumerStoreMaker = (
  name: string,
  config: ConsumerConfig,
  onStop: () => void,
) => ConsumerStore;

/** A consumer store that can stop without waiting (the stream's close at process exit). */
interface StopsNow {
  stopNow(): void;
}

/** What the engine tells the durable consumers of its stream. */
export interface StreamFacts {
  retention(): RetentionPolicy;
  /** The consumers kept on disk with their configs and states, but those being deleted; none in memory. */
  saved?: () => SavedConsumer[];
  /** What every removal path of the stream tells first (snapshot/removal-watch.ts). */
  removals: RemovalWatches;
  /** True while the stream holds a message at `seq`. */
  isLive(seq: number): boolean;
  /** The consumers whose deletion was decided and cut short (a crash, a failure); none in memory. */
  beingDeleted?: () => DeletionRecord[];
  /** One consumer kept on disk, being deleted or not; null when it has no config. ErrCorrupt when damaged. */
  savedOne?: (name: string) => SavedConsumer | null;
  /** Removes a deleted consumer's files. */
  removeFiles?: (name: string) => void;
  /** Makes the record of a consumer's deletion durable. */
  confirmDeletion?: (name: string) => void;
  /** A closed consumer kept on disk forgets, durably, its deliveries past `seq`; returns its state. */
  cutSaved?: (name: string, config: ConsumerConfig, seq: number) => ConsumerState;
}

export class StreamConsumers implements DurableHost {
  readonly stream: StreamStore;
  private readonly make: ConsumerStoreMaker;
  private readonly clock: () => bigint;
  private readonly facts: StreamFacts;
  private readonly open = new Map<string, ConsumerStore>();
  private listeners: Array<(seq: number) => void> = [];
  private readonly durables: Durables;

  constructor(
    stream: StreamStore,
    make: ConsumerStoreMaker,
    clock: () => bigint,
    facts: StreamFacts,
  ) {
    this.stream = stream;
    this.make = make;
    this.clock = clock;
    this.facts = facts;
    this.durables = new Durables(this);
  }

  retention(): RetentionPolicy {
    return this.facts.retention();
  }

  savedConsumers(): SavedConsumer[] {
    return this.facts.saved?.() ?? [];
  }

  watchRemovals(listener: RemovalListener): () => void {
    const removals = this.facts.removals;
    removals.add(listener);
    return () => removals.delete(listener);
  }

  isLive(seq: number): boolean {
    return this.facts.isLive(seq);
  }

  consumersBeingDeleted(): DeletionRecord[] {
    return this.facts.beingDeleted?.() ?? [];
  }

  savedConsumer(name: string): SavedConsumer | null {
    return this.facts.savedOne?.(name) ?? null;
  }

  removeConsumerFiles(name: string): void {
    this.facts.removeFiles?.(name);
  }

  confirmDeletion(name: string): void {
    this.facts.confirmDeletion?.(name);
  }

  cutClosed(name: string, config: ConsumerConfig, seq: number): ConsumerState | null {
    // Still stopping after its handle's close(): that store may write its files yet, so it takes the cut.
    const stopping = this.open.get(name);
    if (stopping !== undefined) return (stopping as Partial<CutsAfter>).cutAfter?.(seq) ?? null;
    return this.facts.cutSaved?.(name, config, seq) ?? null;
  }

  /**
   * Finishes the consumer deletions a crash or a failure cut short (the
   * stream's open); ErrIO and the like when it cannot, changing nothing a
   * later open cannot finish.
   */
  finishDeletions(): Promise<void> {
    return this.durables.finishDeletions();
  }

  /** The closed consumers forget deliveries past the stream's end before its first change (durables.ts). */
  settleLostTail(): void {
    this.durables.settleLostTail();
  }

  /** Opens the durable consumer `name` (durables.ts). */
  consumer(name: string, options: ConsumerOptions | undefined): Consumer {
    return this.durables.consumer(name, options);
  }

  hasConsumerStore(name: string): boolean {
    return this.open.has(name);
  }

  /** Consumer stores open on the stream. */
  get count(): number {
    return this.open.size;
  }

  now(): bigint {
    return this.clock();
  }

  /** ErrInvalidArgument while a consumer store of that name is open. */
  consumerStore(name: string, config: ConsumerConfig): ConsumerStore {
    checkConsumerName(name, ConsumerAction.create);
    const deleting = this.durables.beingDeleted(name);
    if (this.open.has(name) || deleting) {
      throw invalidArgument(
        `Cannot ${ConsumerAction.create}: consumer ${name} is ${deleting ? "being deleted" : "already open"} on this stream`,
      );
    }
    const store = this.make(name, config, () => {
      if (this.open.get(name) === store) this.open.delete(name);
    });
    this.open.set(name, store);
    return store;
  }

  /**
   * Every consumer of the stream with its config and state, for a snapshot:
   * the open stores' live ones, then those kept on disk (FileStore) or, in
   * memory, the closed durables'. Not those being deleted: their removals
   * may be in the archive already, and restored they would be consumers
   * without the messages they had not taken.
   */
  snapshotConsumers(): SavedConsumer[] {
    const all = new Map<string, SavedConsumer>();
    const kept = this.facts.saved?.() ?? this.durables.closedConsumers();
    for (const saved of kept) all.set(saved.name, saved);
    for (const [name, store] of this.open) {
      if (this.durables.beingDeleted(name)) continue;
      all.set(name, {
        name,
        config: store.getConfig(),
        state: store.hasState() ? store.state() : null,
      });
    }
    return [...all.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  onStored(listener: (seq: number) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The stream was purged, whole or below a sequence (purge, compact, purgeEx of ">"). */
  purged(): void {
    this.durables.purged();
  }

  /**
   * The stream is about to be cut after `seq` (truncate), its sequences to be
   * handed out again: every durable consumer takes the cut now (durables.ts).
   * Called once the engine knows the cut is valid, before it changes anything.
   */
  truncating(seq: number): void {
    this.durables.truncating(seq);
  }

  /**
   * True when the stream's retention is interest and no consumer's filter
   * matches `subject`: storeMsg and storeRawMsg then use the sequence up
   * without storing.
   */
  unwanted(subject: string): boolean {
    return this.durables.unwanted(subject);
  }

  /**
   * Tells the durable consumers, then the listeners, of a message stored at
   * `seq`, which the store asked `unwanted` about first (an interest stream
   * stores no other). Listeners must not throw.
   */
  stored(seq: number): void {
    this.durables.stored();
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i](seq);
  }

  /** Stops every open consumer store; the first failure is thrown once all were tried. */
  async stopAll(): Promise<void> {
    this.durables.detachAll();
    const results = await Promise.allSettled([...this.open.values()].map((s) => s.stop()));
    this.open.clear();
    this.listeners = [];
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  /** Stops every open consumer store without waiting, writing what each owes. */
  stopAllNow(): void {
    this.durables.detachAll();
    for (const store of this.open.values()) {
      try {
        (store as Partial<StopsNow>).stopNow?.();
      } catch {
        // At process exit nothing more can be done; the state file keeps its last copy.
      }
    }
    this.open.clear();
    this.listeners = [];
  }
}
