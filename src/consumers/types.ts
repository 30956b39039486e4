/**
 * The consumer store's shapes: its configuration and the `ConsumerStore`
 * interface both variants implement (nats-server's `ConsumerStore`,
 * server/store.go, in camelCase). The memory variant is
 * consumer-mem-store.ts; the file variant, consumer-file-store.ts.
 */
import type { DurableConfig } from "./consumer-options.ts";
import type { BorrowedConsumerState, ConsumerState } from "./consumer-state.ts";

/**
 * How a consumer's deliveries are acknowledged (nats-server's AckPolicy):
 * `explicit` each message on its own, `all` a message and every one before
 * it, `none` never (delivery is acknowledgement).
 */
export type AckPolicy = "explicit" | "all" | "none";

/** What a consumer store consults of its consumer's configuration. */
export interface ConsumerConfig {
  ackPolicy: AckPolicy;
  /**
   * Deliveries after which a message leaves pending (nats-server's
   * MaxDeliver); 0 or -1 (the default) for no limit.
   */
  maxDeliver?: number;
  /** The consumer's name; `getConfig` fills it in, and a given one must match. */
  name?: string;
  /**
   * The options of the durable consumer that owns the store (consumer-options.ts),
   * kept with its state so that a reopen is checked against them. @internal
   */
  durable?: DurableConfig;
}

/**
 * A consumer's persisted state. Sequences are numbers (safe integers),
 * timestamps bigint nanoseconds. Every method but `stop` and `delete` throws
 * ErrStoreClosed once the store is stopped.
 */
export interface ConsumerStore {
  /** The consumer's name. */
  readonly name: string;
  /** Starts delivery after stream sequence `sseq`: delivered.stream and ackFloor.stream become `sseq`. */
  setStarting(sseq: number): void;
  /** Moves delivered.stream (and for ack policy none, ackFloor.stream) up to `sseq`; never down. */
  updateStarting(sseq: number): void;
  /** Forgets the whole state, then `setStarting(sseq)`. */
  reset(sseq: number): void;
  /** True once anything was delivered or a start was set. */
  hasState(): boolean;
  /**
   * Records the delivery of stream sequence `sseq` as consumer sequence
   * `dseq`, its `dc`-th delivery, at `ts`. ErrNoAckPolicy for a redelivery
   * (`dc` > 1) under ack policy none.
   */
  updateDelivered(dseq: number, sseq: number, dc: number, ts: bigint): void;
  /**
   * Records the ack of stream sequence `sseq` delivered as `dseq`.
   * ErrNoAckPolicy under ack policy none; ErrStoreMsgNotFound when `sseq` is
   * not pending.
   */
  updateAcks(dseq: number, sseq: number): void;
  /** Drops the redelivery counts of stream sequences below `seq` (0: none). */
  removeRedeliveredBelow(seq: number): void;
  /** A copy of the configuration, with `name` filled in. */
  getConfig(): ConsumerConfig;
  /** Replaces the configuration. */
  updateConfig(config: ConsumerConfig): void;
  /** Replaces the state; ErrStoreOldUpdate when it is behind the current one. */
  update(state: ConsumerState): void;
  /** Replaces the state without the check that it moves forward. */
  forceUpdate(state: ConsumerState): void;
  /** A copy of the state. */
  state(): ConsumerState;
  /**
   * The state itself, not a copy, so reading it costs nothing at any number
   * of pending deliveries (nats-server 2.10's BorrowState): read it at once,
   * never change it; the store's next update changes it.
   */
  borrowState(): BorrowedConsumerState;
  /** The state in nats-server's encoding (FORMAT.md, "Consumer state"). */
  encodedState(): Uint8Array;
  /**
   * Resolves once every update made before the call is durable (at once for
   * the memory variant); ErrStoreClosed once stopped.
   */
  sync(): Promise<void>;
  /** Stops the store; later calls throw ErrStoreClosed. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the store and removes what it keeps. Idempotent; on a store already
   * stopped it removes nothing (its name may have been opened again since).
   */
  delete(): Promise<void>;
}
