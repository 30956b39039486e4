/**
 * The public shapes of jetstore: what a stream store takes and returns.
 * Names follow nats-server's `StreamStore` (server/store.go) in camelCase so
 * NATS users feel at home; sequences are numbers (safe integers), timestamps
 * bigint nanoseconds since the Unix epoch.
 */

/** A message as stored. `hdr` is null when the message was stored without headers. */
export interface StoredMsg {
  subject: string;
  hdr: Uint8Array | null;
  msg: Uint8Array;
  seq: number;
  ts: bigint;
}

/** What `storeMsg` returns: the sequence given and the timestamp recorded. */
export interface StoreResult {
  seq: number;
  ts: bigint;
}

/**
 * Messages found damaged or missing, reported instead of thrown: by open,
 * or by the first read of a block that a checkpoint vouched for (open does
 * not read those).
 */
export interface LostData {
  /** Sequences of the messages lost, ascending. */
  msgs: number[];
  /** Bytes skipped or cut. */
  bytes: number;
  /** Where: one entry per stretch of damaged, cut or missing bytes. */
  damaged: DamagedBytes[];
}

/** A stretch of a block file that failed verification, was cut off its end, or is missing. */
export interface DamagedBytes {
  /** The block file's number: `msgs/<block>.blk`. */
  block: number;
  /** Where the stretch starts in that file (0 for a missing file). */
  offset: number;
  /** Its length in bytes (for a missing file, what the checkpoint said its messages took). */
  bytes: number;
  /** The messages whose records were there, told by the verified records around them. */
  msgs: number[];
}

import type { Consumer } from "./consumers/consumer.ts";
import type { ConsumerOptions } from "./consumers/consumer-options.ts";
import type { ConsumerConfig, ConsumerStore } from "./consumers/types.ts";
import type { SnapshotOptions } from "./snapshot/types.ts";
import type { DeleteBlock } from "./stream-state.ts";

/** The state of a whole stream. */
export interface StreamState {
  msgs: number;
  bytes: number;
  firstSeq: number;
  firstTs: bigint;
  lastSeq: number;
  lastTs: bigint;
  numSubjects: number;
  numDeleted: number;
  /** Sequences between first and last that are gone (only from `state()`, not `fastState()`). */
  deleted?: number[];
  lost?: LostData;
  /** Consumer stores open on the stream (nats-server counts the consumers registered with it). */
  consumers: number;
}

/** Count and sequence range of the messages matching a filter. */
export interface SimpleState {
  msgs: number;
  first: number;
  last: number;
}

/** Which messages go when a limit is reached. */
export type DiscardPolicy = "old" | "new";

/**
 * When a message leaves the stream besides the limits (nats-server's
 * RetentionPolicy): `limits` only by the limits; `interest` once every
 * consumer whose filter matches it has acknowledged it; `workqueue` once one
 * consumer acknowledged it.
 */
export type RetentionPolicy = "limits" | "interest" | "workqueue";

/**
 * Stream limits; every field is optional and 0 / undefined means unlimited.
 * Each may be spelled `undefined` (as under `exactOptionalPropertyTypes`),
 * which means the same as leaving it out.
 */
export interface StreamLimits {
  maxMsgs?: number | undefined;
  maxBytes?: number | undefined;
  maxAgeMs?: number | undefined;
  maxMsgsPerSubject?: number | undefined;
  maxMsgSize?: number | undefined;
  /** Default "old". */
  discard?: DiscardPolicy | undefined;
  discardNewPerSubject?: boolean | undefined;
  allowMsgTtl?: boolean | undefined;
  /**
   * Seconds (≥ 1, needs `allowMsgTtl`) a subject delete marker lives: with it
   * set, when `maxAgeMs` or a per-message TTL removes the last message of a
   * subject, a marker message is stored on that subject (nats-server's
   * `SubjectDeleteMarkerTTL`; see README "Subject delete markers"). 0: off.
   */
  subjectDeleteMarkerTtl?: number | undefined;
  /** Sequence of the first message of an empty stream (default 1). */
  firstSeq?: number | undefined;
  /** Default "limits"; fixed when the stream is created (`updateConfig` cannot change it). */
  retention?: RetentionPolicy | undefined;
}

/** A message that `maxAgeMs` or its own TTL removed, as `onExpire` hears of it. */
export interface ExpiredMsg {
  seq: number;
  subject: string;
  reason: "maxAge" | "ttl";
}

/** Options shared by every engine. */
export interface StoreOptions extends StreamLimits {
  /** Source of message timestamps in nanoseconds; tests inject their own. */
  now?: (() => bigint) | undefined;
  /**
   * Called after each message that `maxAgeMs` or its TTL removed (not for
   * removals by other limits or by the application). It runs inside the
   * store's call or timer: it must not throw, and should not call back into
   * the store.
   */
  onExpire?: ((expired: ExpiredMsg) => void) | undefined;
}

/** The operations every stream store engine implements. */
export interface StreamStore {
  /** Appends a message; returns its sequence and timestamp. */
  storeMsg(subject: string, hdr: Uint8Array | null, msg: Uint8Array, ttl?: number): StoreResult;
  /** Appends a message with the caller's sequence and timestamp (replication, restore). */
  storeRawMsg(
    subject: string,
    hdr: Uint8Array | null,
    msg: Uint8Array,
    seq: number,
    ts: bigint,
    ttl?: number,
  ): void;
  /** Reserves the next sequence without a message; returns it. */
  skipMsg(): number;
  /** Skips `num` sequences starting at `seq`, which must be the next sequence. */
  skipMsgs(seq: number, num: number): void;
  /** The message at `seq`: ErrStoreMsgNotFound if removed, ErrStoreEOF past the last. */
  loadMsg(seq: number): StoredMsg;
  /** The first message at or after `start` matching `filter` (all when empty or ">"). */
  loadNextMsg(filter: string, wildcard: boolean, start: number): StoredMsg;
  /** The last message on `subject`. */
  loadLastMsg(subject: string): StoredMsg;
  /**
   * The last message at or before `start`, matching `filter` when one is
   * given (all when omitted, "" or ">"); ErrStoreEOF when none.
   */
  loadPrevMsg(start: number, filter?: string): StoredMsg;
  /**
   * The first message at or after `start` matching any of `filters` (a
   * non-empty array), ErrStoreEOF when none. nats-server also returns the
   * sequence found, to continue from: here that is the message's `seq`.
   */
  loadNextMsgMulti(filters: string[], start: number): StoredMsg;
  /** The last message at or before `start` matching any of `filters`; ErrStoreEOF when none. */
  loadPrevMsgMulti(filters: string[], start: number): StoredMsg;
  /** Removes a message; false if it was not there. */
  removeMsg(seq: number): boolean;
  /** Removes a message and overwrites its bytes; false if it was not there. */
  eraseMsg(seq: number): boolean;
  /** Removes every message; returns how many. The sequence keeps counting. */
  purge(): number;
  /** Removes every message below `seq`; returns how many. */
  compact(seq: number): number;
  /** Removes every message above `seq`. */
  truncate(seq: number): void;
  /**
   * The full state, including the list of deleted sequences: at most
   * 10,000,000 of them, past which it throws ErrTooManyResults (fastState() still answers).
   */
  state(): StreamState;
  /** The state without the deleted list: O(1). */
  fastState(): StreamState;
  /**
   * nats-server's binary stream state (FORMAT.md, "Encoded stream state"):
   * counts, first and last sequence, `failed` (default 0; nats-server counts
   * failed proposals there) and the deleted sequences as run-length blocks.
   * `decodeStreamState` reads it back.
   */
  encodedStreamState(failed?: number): Uint8Array;
  /**
   * Removes the local messages that `blocks` (a decoded state's `deleted`)
   * hold, up to the local last sequence (nats-server's SyncDeleted); returns
   * how many. A malformed block is ErrInvalidArgument with nothing removed.
   */
  syncDeleted(blocks: DeleteBlock[]): number;
  /** Count and first / last sequence of the messages at or after `seq` matching `filter`. */
  filteredState(seq: number, filter: string): SimpleState;
  /** Per subject matching `filter` ("" or ">" for all): its count and first / last sequence. */
  subjectsState(filter: string): Record<string, SimpleState>;
  /** Per subject matching `filter` ("" or ">" for all): its message count. */
  subjectsTotals(filter: string): Record<string, number>;
  /**
   * Messages at or after `seq` matching `filter`; with `lastPerSubject`, only
   * each matching subject's last message counts. `validThrough` is the last
   * sequence the answer covers.
   */
  numPending(
    seq: number,
    filter: string,
    lastPerSubject: boolean,
  ): { total: number; validThrough: number };
  /**
   * The last sequence of every subject matching any of `filters`, at or below
   * `maxSeq` (0: no bound), ascending; ErrTooManyResults past `maxAllowed` (0: no limit).
   */
  multiLastSeqs(filters: string[], maxSeq: number, maxAllowed: number): number[];
  /**
   * numPending over several filters: messages at or after `seq` matching any
   * of `filters`, each counted once; with `lastPerSubject`, the matching
   * subjects whose last message is at or after `seq`.
   */
  numPendingMulti(
    seq: number,
    filters: string[],
    lastPerSubject: boolean,
  ): { total: number; validThrough: number };
  /**
   * The last message of every subject matching any of `filters` at or below
   * `maxSeq` (0: the end), ascending, leaving out those below `minSeq`, in
   * one synchronous pass (nats-server's MultiLastMsgs, which the batched
   * direct get uses). ErrTooManyResults when more than `maxAllowed` (0: no
   * limit) subjects have a last message at or below `maxSeq`, those below
   * `minSeq` included, as nats counts. What nats' callback gets as
   * `numPending` for `msgs[i]` is `msgs.length - 1 - i`.
   */
  multiLastMsgs(filters: string[], minSeq: number, maxSeq: number, maxAllowed: number): StoredMsg[];
  /** The last sequence of every subject, ascending. */
  allLastSeqs(): number[];
  /** The subject of the message at `seq` (ErrStoreMsgNotFound if there is none). */
  subjectForSeq(seq: number): string;
  /**
   * The TTL (seconds) the message at `seq` was stored with: 0 for none, -1
   * for never expires; the errors of `loadMsg` when there is no message.
   */
  msgTtl(seq: number): number;
  /** The first sequence whose timestamp is at or after `ts`; last + 1 if none is. */
  getSeqFromTime(ts: bigint): number;
  /**
   * Removes the messages matching `filter` ("" or ">" for all): only those
   * below `seq` when `seq` > 0, or all but the newest `keep` matching
   * messages when `keep` > 0 (both together: ErrInvalidArgument), as
   * nats-server's PurgeEx. Returns how many were removed.
   */
  purgeEx(filter: string, seq: number, keep: number): number;
  /** Waits until everything stored so far is durable. */
  flush(): Promise<void>;
  /** Group commit: resolves once everything stored before the call is durable. */
  sync(): Promise<void>;
  /** Flushes and releases the store; later calls fail with ErrStoreClosed. */
  close(): Promise<void>;
  /**
   * Replaces the stream limits (omitted ones become unlimited) and applies
   * them at once: lowered limits trim now, a discard policy takes effect on
   * the next write. Invalid limits change nothing (ErrInvalidArgument).
   */
  updateConfig(limits: StreamLimits): void;
  /**
   * A consumer store on this stream (nats-server's ConsumerStore): kept with
   * the stream (a FileStore's in `consumers/<name>/`, reopened with its saved
   * state), stopped by `close()`, removed by `delete()`. ErrInvalidArgument
   * for a bad name or config, or while one of that name is open.
   */
  consumerStore(name: string, config: ConsumerConfig): ConsumerStore;
  /**
   * The durable consumer `name`, created with `options` or resumed where it
   * stopped (README, "Consumers"). ErrConsumerInUse while it is open;
   * ErrConsumerConflict when `options` change what it was created with, or
   * overlap another consumer of a work queue; ErrInvalidArgument for bad options.
   */
  consumer(name: string, options?: ConsumerOptions): Consumer;
  /**
   * A point-in-time archive of the stream at its last sequence (with
   * `consumers: true`, of its consumers too), as an async iterable of its
   * bytes; writes go on while it is read. `FileStore.restore` reads it.
   */
  snapshot(options?: SnapshotOptions): AsyncIterable<Uint8Array>;
  /**
   * Closes and removes all of the store's data, durably (the parent directory
   * is fsynced). Rejects with ErrStoreClosed on a closed store, which no longer
   * holds the store's lock.
   */
  delete(): Promise<void>;
}
