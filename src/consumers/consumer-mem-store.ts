/**
 * The memory consumer store: nats-server's `consumerMemStore`
 * (server/memstore.go, with the newer methods UpdateStarting, Reset,
 * ForceUpdate, RemoveRedeliveredBelow and GetConfig) for MemStore. The rules
 * per ack policy are nats-server's:
 *
 * - explicit: a delivery adds a pending entry; an ack removes it and moves
 *   the ack floor to just below the lowest message still pending.
 * - all: an ack at `sseq` acknowledges every pending message up to it, and
 *   the ack floor becomes (dseq, sseq).
 * - none: a delivery is its own ack (delivered and ack floor move together);
 *   a redelivery or an ack is ErrNoAckPolicy.
 *
 * Departures, each giving a typed error where nats-server stays silent:
 * every method but `stop` and `delete` throws ErrStoreClosed once stopped
 * (nats-server's memory store keeps accepting updates), and arguments are
 * checked (a delivery, ack or delivery count of 0 is ErrInvalidArgument).
 */
import { systemNow } from "../clock.ts";
import { invalidArgument, JetStoreError } from "../errors.ts";
import { checkOpen, checkSeq, checkTimestamp, readClock } from "../validate.ts";
import {
  ConsumerAction,
  checkConsumerConfig,
  checkConsumerName,
  checkPositive,
} from "./consumer-config.ts";
import {
  type BorrowedConsumerState,
  type ConsumerState,
  checkConsumerState,
  copyConsumerState,
  emptyConsumerState,
  encodeCheckedState,
} from "./consumer-state.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

/** What the stream store gives a memory consumer store. */
export interface ConsumerMemStoreOptions {
  /** The clock `encodedState` stores pending timestamps relative to. */
  now?: () => bigint;
  /** Called once, when the store is stopped or deleted (the stream's consumer count). */
  onStop?: () => void;
}

export class ConsumerMemStore implements ConsumerStore {
  readonly name: string;
  private config: ConsumerConfig;
  private current: ConsumerState = emptyConsumerState();
  /** Whether `current.pending` iterates in ascending stream sequence, and its highest key if so. */
  private pendingSorted = true;
  private pendingMax = 0;
  /** Walks of `firstPendingAfter` since the pending map was last copied. */
  private headDeletes = 0;
  private closed = false;
  private readonly now: () => bigint;
  private readonly onStop: (() => void) | undefined;

  constructor(name: string, config: ConsumerConfig, options: ConsumerMemStoreOptions = {}) {
    checkConsumerName(name, ConsumerAction.create);
    this.config = checkConsumerConfig(config, name, ConsumerAction.create);
    if (typeof options !== "object" || options === null) {
      throw invalidArgument(`Cannot ${ConsumerAction.create}: options must be an object`);
    }
    if (options.now !== undefined && typeof options.now !== "function") {
      throw invalidArgument(`Cannot ${ConsumerAction.create}: now must be a function`);
    }
    if (options.onStop !== undefined && typeof options.onStop !== "function") {
      throw invalidArgument(`Cannot ${ConsumerAction.create}: onStop must be a function`);
    }
    this.name = name;
    this.now = options.now ?? systemNow;
    this.onStop = options.onStop;
  }

  setStarting(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.setStarting);
    checkSeq(sseq, ConsumerAction.setStarting, "stream sequence");
    this.current.delivered.stream = sseq;
    this.current.ackFloor.stream = sseq;
  }

  updateStarting(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.updateStarting);
    checkSeq(sseq, ConsumerAction.updateStarting, "stream sequence");
    const s = this.current;
    if (sseq > s.delivered.stream) {
      s.delivered.stream = sseq;
      if (this.config.ackPolicy === "none") s.ackFloor.stream = sseq;
    }
  }

  reset(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.reset);
    checkSeq(sseq, ConsumerAction.reset, "stream sequence");
    this.current = emptyConsumerState();
    this.pendingSorted = true;
    this.pendingMax = 0;
    this.current.delivered.stream = sseq;
    this.current.ackFloor.stream = sseq;
  }

  hasState(): boolean {
    checkOpen(this.closed, ConsumerAction.hasState);
    return this.current.delivered.consumer !== 0 || this.current.delivered.stream !== 0;
  }

  updateDelivered(dseq: number, sseq: number, dc: number, ts: bigint): void {
    const action = ConsumerAction.updateDelivered;
    checkOpen(this.closed, action);
    checkPositive(dseq, action, "consumer sequence");
    checkPositive(sseq, action, "stream sequence");
    checkPositive(dc, action, "delivery count");
    checkTimestamp(ts, action);
    const s = this.current;
    const policy = this.config.ackPolicy;
    if (dc !== 1 && policy === "none") {
      throw new JetStoreError(
        "ErrNoAckPolicy",
        `Cannot ${action}: delivery ${dc} of stream sequence ${sseq} is a redelivery, and ack policy none never redelivers`,
      );
    }
    // A replay of a delivery at or below the ack floor changes nothing (nats-server: old raft entries).
    if (dseq <= s.ackFloor.consumer) return;

    if (policy === "none") {
      if (dseq > s.delivered.consumer) {
        s.delivered.consumer = dseq;
        s.ackFloor.consumer = dseq;
      }
      if (sseq > s.delivered.stream) {
        s.delivered.stream = sseq;
        s.ackFloor.stream = sseq;
      }
      return;
    }

    if (sseq <= s.delivered.stream) {
      // A redelivery: keep the first delivery's consumer sequence, take the new time.
      const p = s.pending.get(sseq);
      if (p !== undefined) p.ts = ts;
    } else {
      s.pending.set(sseq, { sequence: dseq, ts });
      if (sseq < this.pendingMax) this.pendingSorted = false;
      else this.pendingMax = sseq;
    }
    if (dseq > s.delivered.consumer) s.delivered.consumer = dseq;
    if (sseq > s.delivered.stream) s.delivered.stream = sseq;

    if (dc > 1) {
      const maxDeliver = this.config.maxDeliver ?? -1;
      if (maxDeliver > 0 && dc > maxDeliver) s.pending.delete(sseq);
      if ((s.redelivered.get(sseq) ?? 0) < dc - 1) s.redelivered.set(sseq, dc - 1);
    }
  }

  updateAcks(dseq: number, sseq: number): void {
    const action = ConsumerAction.updateAcks;
    checkOpen(this.closed, action);
    checkPositive(dseq, action, "consumer sequence");
    checkPositive(sseq, action, "stream sequence");
    const s = this.current;
    if (this.config.ackPolicy === "none") {
      throw new JetStoreError(
        "ErrNoAckPolicy",
        `Cannot ${action}: ack policy none takes no acks (stream sequence ${sseq})`,
      );
    }
    // nats-server drops the redelivery count whatever follows.
    s.redelivered.delete(sseq);
    // A replay of an ack at or below the ack floor changes nothing.
    if (dseq <= s.ackFloor.consumer) return;
    const p = s.pending.get(sseq);
    if (p === undefined) {
      throw new JetStoreError(
        "ErrStoreMsgNotFound",
        `Cannot ${action}: stream sequence ${sseq} is not pending (ack floor is stream ${s.ackFloor.stream}, delivered up to ${s.delivered.stream})`,
      );
    }

    if (this.config.ackPolicy === "all") {
      this.ackAllUpTo(dseq, sseq);
      return;
    }

    // Explicit.
    s.pending.delete(sseq);
    let acked = dseq;
    if (dseq > p.sequence && p.sequence > 0) acked = p.sequence; // the first delivery's
    if (s.pending.size === 0) {
      s.ackFloor.consumer = s.delivered.consumer;
      s.ackFloor.stream = s.delivered.stream;
    } else if (acked === s.ackFloor.consumer + 1) {
      s.ackFloor.consumer = acked;
      s.ackFloor.stream = sseq;
      if (s.delivered.consumer > acked) {
        const next = this.firstPendingAfter(sseq);
        if (next !== undefined) {
          const np = s.pending.get(next)!;
          if (np.sequence > 0) {
            s.ackFloor.consumer = np.sequence - 1;
            s.ackFloor.stream = next - 1;
          }
        }
      }
    }
  }

  /** Ack policy all: everything pending up to `sseq` is acknowledged. */
  private ackAllUpTo(dseq: number, sseq: number): void {
    const s = this.current;
    const gap = sseq - s.ackFloor.stream;
    s.ackFloor.consumer = dseq;
    s.ackFloor.stream = sseq;
    if (gap < 0 || gap > s.pending.size) {
      // Fewer pending entries than sequences in the gap: visit the entries.
      for (const seq of [...s.pending.keys()]) {
        if (seq <= sseq) {
          s.pending.delete(seq);
          s.redelivered.delete(seq);
        }
      }
    } else {
      // Visit the sequences down to the old floor, stopping once nothing is pending.
      for (let seq = sseq; seq > sseq - gap && s.pending.size > 0; seq--) {
        s.pending.delete(seq);
        s.redelivered.delete(seq);
      }
    }
  }

  /**
   * The lowest pending stream sequence in (sseq, delivered.stream]. nats-server
   * walks the sequences, which for a filtered consumer (sparse stream
   * sequences) visits many that were never its own; here the pending map is
   * kept in ascending order (new deliveries come in ascending order; a
   * replaced state, or a delivery below a higher pending one after a start
   * moved back, is sorted once), so the walk stops at the first entry past
   * `sseq`: at once when the acked message was the lowest pending.
   */
  private firstPendingAfter(sseq: number): number | undefined {
    if (!this.pendingSorted) this.sortPending();
    const last = this.current.delivered.stream;
    const pending = this.current.pending;
    if (pending.has(sseq + 1)) return sseq + 1 <= last ? sseq + 1 : undefined;
    // Each call follows a delete at the map's head, and a V8 Map's walk passes over the holes
    // deletes leave until it rehashes: copied once they outnumber the entries, the walks stay linear.
    if (++this.headDeletes > 1024 && this.headDeletes > pending.size) {
      this.current.pending = new Map(pending);
      this.headDeletes = 0;
    }
    for (const seq of this.current.pending.keys()) {
      if (seq > sseq) return seq <= last ? seq : undefined;
    }
    return undefined;
  }

  private sortPending(): void {
    const entries = [...this.current.pending].sort((a, b) => a[0] - b[0]);
    this.current.pending = new Map(entries);
    this.pendingMax = entries.length === 0 ? 0 : entries[entries.length - 1][0];
    this.pendingSorted = true;
  }

  removeRedeliveredBelow(seq: number): void {
    checkOpen(this.closed, ConsumerAction.removeRedeliveredBelow);
    checkSeq(seq, ConsumerAction.removeRedeliveredBelow, "stream sequence");
    if (seq === 0) return;
    for (const s of [...this.current.redelivered.keys()]) {
      if (s < seq) this.current.redelivered.delete(s);
    }
  }

  getConfig(): ConsumerConfig {
    checkOpen(this.closed, ConsumerAction.getConfig);
    return { ...this.config, name: this.name };
  }

  updateConfig(config: ConsumerConfig): void {
    checkOpen(this.closed, ConsumerAction.updateConfig);
    this.config = checkConsumerConfig(config, this.name, ConsumerAction.updateConfig);
  }

  update(state: ConsumerState): void {
    const action = ConsumerAction.update;
    checkOpen(this.closed, action);
    const next = checkedReplacement(state, action);
    const s = this.current;
    if (
      state.delivered.consumer < s.delivered.consumer ||
      state.ackFloor.stream < s.ackFloor.stream
    ) {
      throw new JetStoreError(
        "ErrStoreOldUpdate",
        `Cannot ${action}: it is behind the current state (delivered consumer ${state.delivered.consumer} < ${s.delivered.consumer} or ack floor stream ${state.ackFloor.stream} < ${s.ackFloor.stream})`,
      );
    }
    this.current = next;
    this.pendingSorted = false;
  }

  forceUpdate(state: ConsumerState): void {
    checkOpen(this.closed, ConsumerAction.forceUpdate);
    this.current = checkedReplacement(state, ConsumerAction.forceUpdate);
    this.pendingSorted = false;
  }

  /**
   * Takes `state` as it is, without the checks of `forceUpdate`: a state this
   * store's own rules produced, read back from disk. @internal
   */
  restore(state: ConsumerState): void {
    this.current = copyConsumerState(state);
    this.pendingSorted = false;
  }

  /** The redelivery count at the ack floor, which nats-server's encoding drops; null when none. @internal */
  redeliveredAtFloor(): { sseq: number; count: number } | null {
    const sseq = this.current.ackFloor.stream;
    const count = this.current.redelivered.get(sseq);
    return count === undefined ? null : { sseq, count };
  }

  state(): ConsumerState {
    checkOpen(this.closed, ConsumerAction.state);
    return copyConsumerState(this.current);
  }

  borrowState(): BorrowedConsumerState {
    checkOpen(this.closed, ConsumerAction.state);
    return this.current;
  }

  encodedState(): Uint8Array {
    checkOpen(this.closed, ConsumerAction.encodedState);
    return encodeCheckedState(this.current, readClock(this.now, ConsumerAction.encodedState));
  }

  sync(): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new JetStoreError("ErrStoreClosed", `Cannot sync consumer ${this.name}: it is stopped`),
      );
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.current = emptyConsumerState();
      this.onStop?.();
    }
    return Promise.resolve();
  }

  delete(): Promise<void> {
    return this.stop();
  }
}

/**
 * nats-server's checks of a whole new state (ack floors not past delivered,
 * pending entries above the ack floor and not past delivered), on a copy.
 */
function checkedReplacement(state: ConsumerState, action: string): ConsumerState {
  checkConsumerState(state, action);
  const { delivered, ackFloor } = state;
  if (ackFloor.consumer > delivered.consumer) {
    throw invalidArgument(
      `Cannot ${action}: ack floor consumer sequence ${ackFloor.consumer} is past delivered ${delivered.consumer}`,
    );
  }
  if (ackFloor.stream > delivered.stream) {
    throw invalidArgument(
      `Cannot ${action}: ack floor stream sequence ${ackFloor.stream} is past delivered ${delivered.stream}`,
    );
  }
  for (const seq of state.pending.keys()) {
    if (seq <= ackFloor.stream || seq > delivered.stream) {
      throw invalidArgument(
        `Cannot ${action}: pending stream sequence ${seq} is outside (${ackFloor.stream}, ${delivered.stream}]`,
      );
    }
  }
  return copyConsumerState(state);
}
