/**
 * What a stream engine offers the consumers built on it: the stream itself,
 * its consumer stores, its clock, and word of each new message. Both engines
 * implement it, so the durable consumer layer is written once.
 */
import type { StreamStore } from "../types.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

export interface ConsumerHost {
  /** The stream the consumers read. */
  readonly stream: StreamStore;
  /** Creates, or reopens with its saved state, the consumer store named `name`. */
  consumerStore(name: string, config: ConsumerConfig): ConsumerStore;
  /** The stream's clock (nanoseconds since the Unix epoch). */
  now(): bigint;
  /**
   * Calls `listener` after each message the stream stores (storeMsg and
   * storeRawMsg), with its sequence; returns the function that unregisters it.
   */
  onStored(listener: (seq: number) => void): () => void;
}
