/**
 * A consumer's state (nats-server's `ConsumerState`, server/store.go) and its
 * binary encoding, byte for byte the one nats-server writes: magic 22,
 * version 2, uvarints relative to the ack floor, pending timestamps as whole
 * seconds relative to the encoding time rounded to the second (FORMAT.md,
 * "Consumer state"). The decoder also reads nats-server's version 1.
 *
 * Varints are read and written here in plain TypeScript rather than through
 * the core's codec (src/varint.ts): a state of 100 k pending acks is 300 k
 * varints, and one WASM call each costs more than the arithmetic.
 * Sequences are numbers (safe integers); a delta that nats-server lets wrap
 * around 2^64 (a redelivered sequence below the ack floor) is written and read
 * with bigint arithmetic so it round-trips as it does in Go.
 */
import { systemNow } from "../clock.ts";
import { corrupt, invalidArgument, JetStoreError } from "../errors.ts";
import { checkSeq, checkTimestamp, describeValue, MAX_TIMESTAMP } from "../validate.ts";
import type { ConsumerStore } from "./types.ts";

/** A consumer sequence and the stream sequence of the same message. */
export interface SequencePair {
  consumer: number;
  stream: number;
}

/** A delivered, unacknowledged message: its consumer sequence and when it was delivered. */
export interface PendingDelivery {
  /** The consumer sequence of its first delivery. */
  sequence: number;
  /** Nanoseconds since the Unix epoch of its last delivery. */
  ts: bigint;
}

/** nats-server's ConsumerState. Maps are keyed by stream sequence. */
export interface ConsumerState {
  /** The last delivered message, as consumer and stream sequences. */
  delivered: SequencePair;
  /** Every message up to this one is acknowledged. */
  ackFloor: SequencePair;
  /** Delivered messages awaiting an ack (ack policies explicit and all). */
  pending: Map<number, PendingDelivery>;
  /** Messages delivered more than once: stream sequence → deliveries - 1. */
  redelivered: Map<number, number>;
}

/**
 * A consumer store's own state, lent without a copy (`borrowState`): to read
 * at once, never to change; a later update of the store changes it.
 */
export interface BorrowedConsumerState {
  readonly delivered: Readonly<SequencePair>;
  readonly ackFloor: Readonly<SequencePair>;
  readonly pending: ReadonlyMap<number, Readonly<PendingDelivery>>;
  readonly redelivered: ReadonlyMap<number, number>;
}

/** First byte of an encoded consumer state (nats-server's filestore `magic`). */
export const CONSUMER_STATE_MAGIC = 22;
/** The version this encoder writes; 1 is read too. */
export const CONSUMER_STATE_VERSION = 2;

const NS_PER_SECOND = 1_000_000_000n;
const TWO_64 = 1n << 64n;
const MAX_U64 = TWO_64 - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Longest varint of a u64. */
const MAX_VARINT = 10;

/** An empty state: nothing delivered, nothing acknowledged. */
export function emptyConsumerState(): ConsumerState {
  return {
    delivered: { consumer: 0, stream: 0 },
    ackFloor: { consumer: 0, stream: 0 },
    pending: new Map(),
    redelivered: new Map(),
  };
}

/** A deep copy of `state`. */
export function copyConsumerState(state: ConsumerState): ConsumerState {
  const pending = new Map<number, PendingDelivery>();
  for (const [seq, p] of state.pending) pending.set(seq, { sequence: p.sequence, ts: p.ts });
  return {
    delivered: { consumer: state.delivered.consumer, stream: state.delivered.stream },
    ackFloor: { consumer: state.ackFloor.consumer, stream: state.ackFloor.stream },
    pending,
    redelivered: new Map(state.redelivered),
  };
}

/**
 * `state` (changed in place) as if nothing past stream sequence `last` had
 * been delivered: what a consumer does when the stream lost the tail it read
 * (a truncate, a crash before the stream's sync), so that what is stored
 * there again is delivered as new. Consumer sequences are not reused.
 */
export function withoutDeliveriesPast(state: ConsumerState, last: number): ConsumerState {
  for (const seq of [...state.pending.keys()]) if (seq > last) state.pending.delete(seq);
  for (const seq of [...state.redelivered.keys()]) if (seq > last) state.redelivered.delete(seq);
  if (state.delivered.stream > last) state.delivered.stream = last;
  if (state.ackFloor.stream > last) state.ackFloor.stream = last;
  return state;
}

/** True when `state` has deliveries or acks past stream sequence `last` for `withoutDeliveriesPast` to take back. */
export function reachesPast(state: ConsumerState, last: number): boolean {
  return state.delivered.stream > last || state.ackFloor.stream > last;
}

/** A consumer store that takes a truncate's cut on disk before it returns (the file store). @internal */
export interface CutsAfter {
  /** Forgets the deliveries past stream sequence `seq`, durably, stopping or not; returns the state. */
  cutAfter(seq: number): ConsumerState;
}

/**
 * `store` forgets its deliveries past stream sequence `seq` (a truncate
 * about to be made): durably before this returns where it keeps a disk, so
 * no message the stream stores there later outlives a crash as delivered.
 */
export function cutStoreAfter(store: ConsumerStore, seq: number): void {
  const durable = store as Partial<CutsAfter>;
  if (durable.cutAfter !== undefined) durable.cutAfter(seq);
  else store.forceUpdate(withoutDeliveriesPast(store.state(), seq));
}

/**
 * `state` after a purge that left nothing below stream sequence `floor` + 1,
 * with no delivery awaiting its ack: delivered and the ack floor move up to
 * `floor` (nats-server's consumer purge), consumer sequences kept.
 */
export function purgedTo(state: ConsumerState, floor: number): ConsumerState {
  return {
    ...state,
    delivered: {
      consumer: state.delivered.consumer,
      stream: Math.max(state.delivered.stream, floor),
    },
    ackFloor: {
      consumer: state.delivered.consumer,
      stream: Math.max(state.ackFloor.stream, floor),
    },
  };
}

/**
 * Checks the shape of a caller's state: sequences are safe integers ≥ 0,
 * pending timestamps bigints in [0, 2^63 - 1], redelivery counts ≥ 1.
 * It says nothing about how the fields relate (the store's `update` does).
 */
export function checkConsumerState(state: unknown, action: string): asserts state is ConsumerState {
  if (typeof state !== "object" || state === null) {
    throw invalidArgument(
      `Cannot ${action}: state must be a ConsumerState, got ${describeValue(state)}`,
    );
  }
  const s = state as Partial<ConsumerState>;
  checkPair(s.delivered, action, "delivered");
  checkPair(s.ackFloor, action, "ackFloor");
  if (!(s.pending instanceof Map)) {
    throw invalidArgument(
      `Cannot ${action}: pending must be a Map, got ${describeValue(s.pending)}`,
    );
  }
  if (!(s.redelivered instanceof Map)) {
    throw invalidArgument(
      `Cannot ${action}: redelivered must be a Map, got ${describeValue(s.redelivered)}`,
    );
  }
  for (const [seq, p] of s.pending as Map<unknown, unknown>) {
    checkSeq(seq, action, "a pending stream sequence");
    if (typeof p !== "object" || p === null) {
      throw invalidArgument(
        `Cannot ${action}: pending entry ${seq} must be { sequence, ts }, got ${describeValue(p)}`,
      );
    }
    const entry = p as Partial<PendingDelivery>;
    checkSeq(entry.sequence, action, `pending entry ${seq}'s sequence`);
    checkTimestamp(entry.ts, action);
  }
  for (const [seq, count] of s.redelivered as Map<unknown, unknown>) {
    checkSeq(seq, action, "a redelivered stream sequence");
    if (!Number.isSafeInteger(count) || (count as number) < 1) {
      throw invalidArgument(
        `Cannot ${action}: redelivered count of ${seq} must be a safe integer ≥ 1, got ${describeValue(count)}`,
      );
    }
  }
}

function checkPair(pair: unknown, action: string, name: string): void {
  if (typeof pair !== "object" || pair === null) {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be { consumer, stream }, got ${describeValue(pair)}`,
    );
  }
  const p = pair as Partial<SequencePair>;
  checkSeq(p.consumer, action, `${name}.consumer`);
  checkSeq(p.stream, action, `${name}.stream`);
}

/**
 * The seconds nats-server encodes relative to: `now` rounded to the nearest
 * second, halves up (Go's `time.Now().Round(time.Second).Unix()`).
 */
export function encodingBaseSeconds(now: bigint): number {
  return Number((now + NS_PER_SECOND / 2n) / NS_PER_SECOND);
}

/**
 * Encodes `state` as nats-server's `encodeConsumerState` does. `now`
 * (nanoseconds since the epoch, the system clock by default) is the time the
 * pending timestamps are stored relative to. Entries are written in the maps'
 * iteration order; nats-server writes Go's random map order, and any order
 * decodes to the same state.
 */
export function encodeConsumerState(state: ConsumerState, now?: bigint): Uint8Array {
  const action = "encode consumer state";
  checkConsumerState(state, action);
  if (now !== undefined) checkTimestamp(now, action);
  return encodeCheckedState(state, now ?? systemNow());
}

/** `encodeConsumerState` for a state and time already checked (a store's own state). */
export function encodeCheckedState(state: ConsumerState, at: bigint): Uint8Array {
  const { pending, redelivered } = state;
  const w = new Writer(
    2 +
      5 * MAX_VARINT +
      pending.size * 3 * MAX_VARINT +
      MAX_VARINT +
      redelivered.size * 2 * MAX_VARINT,
  );
  w.bytes[0] = CONSUMER_STATE_MAGIC;
  w.bytes[1] = CONSUMER_STATE_VERSION;
  w.pos = 2;
  const asflr = state.ackFloor.stream;
  const adflr = state.ackFloor.consumer;
  w.uvarint(adflr);
  w.uvarint(asflr);
  w.uvarint(state.delivered.consumer);
  w.uvarint(state.delivered.stream);
  w.uvarint(pending.size);
  if (pending.size > 0) {
    const mints = encodingBaseSeconds(at);
    w.varint(mints);
    for (const [seq, p] of pending) {
      w.delta(seq, asflr);
      w.delta(p.sequence, adflr);
      w.varint(mints - wholeSeconds(p.ts));
    }
  }
  w.uvarint(redelivered.size);
  for (const [seq, count] of redelivered) {
    w.delta(seq, asflr);
    w.uvarint(count);
  }
  return w.bytes.slice(0, w.pos);
}

/**
 * `ts / 1e9` truncated, as Go's integer division (ts ≥ 0 here). The double
 * nearest `ts` is off by at most 512 ns below 2^63, and the quotient and
 * product add no more than that again, so the double's second is right
 * unless `ts` lies within 100 µs of a second's edge; only then is the exact
 * bigint division paid (it costs more than the rest of an entry).
 */
function wholeSeconds(ts: bigint): number {
  const x = Number(ts);
  const seconds = Math.floor(x / 1e9);
  const rest = x - seconds * 1e9;
  if (rest >= 100_000 && rest <= 999_900_000) return seconds;
  return Number(ts / NS_PER_SECOND);
}

/** `seconds * 1e9` as a bigint; exact as a double while seconds · 5^9 < 2^53 (until the year 2116). */
function nanosOf(seconds: bigint | number): bigint {
  if (typeof seconds === "number" && seconds >= 0 && seconds < 4_611_686_018) {
    return BigInt(seconds * 1e9);
  }
  return BigInt(seconds) * NS_PER_SECOND;
}

class Writer {
  readonly bytes: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  /** A u64 given as a safe integer ≥ 0. */
  uvarint(value: number): void {
    const b = this.bytes;
    let v = value;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** A u64 given as a bigint in [0, 2^64 - 1]. */
  bigUvarint(value: bigint): void {
    const b = this.bytes;
    let v = value;
    let p = this.pos;
    while (v >= 0x80n) {
      b[p++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[p++] = Number(v);
    this.pos = p;
  }

  /** `value - base` as Go's uint64 subtraction gives it: wrapped around 2^64 when negative. */
  delta(value: number, base: number): void {
    const d = value - base;
    if (d >= 0) this.uvarint(d);
    else this.bigUvarint(TWO_64 + BigInt(value) - BigInt(base));
  }

  /** A signed integer as Go's PutVarint writes it (zigzag). `value` is a safe integer of magnitude < 2^52. */
  varint(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }
}

/**
 * Decodes nats-server's consumer-state encoding (versions 1 and 2). Malformed
 * bytes (a short buffer, a wrong magic, a truncated or over-long varint, a
 * count the remaining bytes cannot hold, a sequence past 2^53 - 1, a
 * timestamp outside [0, 2^63 - 1], bytes after the end) throw ErrCorrupt with
 * the offset of the offending byte; a version above 2, ErrUnsupportedFormat.
 * Work and memory are bounded by the input's length.
 */
export function decodeConsumerState(bytes: Uint8Array): ConsumerState {
  if (!(bytes instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot decode consumer state: expected a Uint8Array, got ${describeValue(bytes)}`,
    );
  }
  if (bytes.length < 2) {
    throw fail(`${bytes.length} bytes is shorter than the 2-byte header`, 0);
  }
  if (bytes[0] !== CONSUMER_STATE_MAGIC) {
    throw fail(`magic is ${bytes[0]}, not ${CONSUMER_STATE_MAGIC}`, 0);
  }
  const version = bytes[1]!;
  if (version > CONSUMER_STATE_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Cannot decode consumer state: version ${version} is newer than this reader (${CONSUMER_STATE_VERSION})`,
      { offset: 1 },
    );
  }
  if (version === 0) throw fail("version 0 does not exist", 1);

  const r = new Reader(bytes, 2);
  const state = emptyConsumerState();
  state.ackFloor.consumer = r.seq("ack floor consumer sequence");
  state.ackFloor.stream = r.seq("ack floor stream sequence");
  const deliveredAt = r.pos;
  state.delivered.consumer = r.seq("delivered consumer sequence");
  state.delivered.stream = r.seq("delivered stream sequence");
  if (version === 1) {
    // Version 1 stored "next to deliver" relative to the ack floor; nats-server adds the floor back.
    if (state.ackFloor.consumer > 1) {
      state.delivered.consumer = safeSum(
        state.delivered.consumer,
        state.ackFloor.consumer - 1,
        deliveredAt,
      );
    }
    if (state.ackFloor.stream > 1) {
      state.delivered.stream = safeSum(
        state.delivered.stream,
        state.ackFloor.stream - 1,
        deliveredAt,
      );
    }
  }
  const asflr = state.ackFloor.stream;
  const adflr = state.ackFloor.consumer;

  const pendingAt = r.pos;
  const numPending = r.count("pending count");
  if (numPending > 0) {
    // Each entry takes at least one byte per field; the base timestamp one more.
    const perEntry = version === 2 ? 3 : 2;
    if (numPending > Math.floor((r.remaining() - 1) / perEntry)) {
      throw fail(`${numPending} pending entries cannot fit in ${r.remaining()} bytes`, pendingAt);
    }
    const mints = r.varint("pending base timestamp");
    for (let i = 0; i < numPending; i++) {
      const at = r.pos;
      const sseq = r.wrapped(asflr, "pending stream sequence");
      if (sseq === 0) throw fail("pending stream sequence 0", at);
      const dseq = version === 2 ? r.wrapped(adflr, "pending consumer sequence") : 0;
      const tsAt = r.pos;
      const rel = r.varint("pending timestamp");
      const seconds = secondsOf(mints, rel, version);
      const ts = nanosOf(seconds);
      if (ts < 0n || ts > MAX_TIMESTAMP) {
        throw fail(`pending timestamp of ${seconds}s is outside [0, 2^63 - 1] ns`, tsAt);
      }
      state.pending.set(sseq, { sequence: dseq, ts });
    }
  }

  const redeliveredAt = r.pos;
  const numRedelivered = r.count("redelivered count");
  if (numRedelivered > Math.floor(r.remaining() / 2)) {
    throw fail(
      `${numRedelivered} redelivered entries cannot fit in ${r.remaining()} bytes`,
      redeliveredAt,
    );
  }
  for (let i = 0; i < numRedelivered; i++) {
    const at = r.pos;
    const delta = r.u64("redelivered stream sequence");
    const count = r.count("redelivery count");
    // nats-server skips an entry at the ack floor itself (delta 0) or with count 0.
    if (delta === 0 || delta === 0n || count === 0) continue;
    state.redelivered.set(wrapAdd(asflr, delta, at, "redelivered stream sequence"), count);
  }
  if (r.remaining() !== 0) {
    throw fail(`${r.remaining()} bytes follow the end of the state`, r.pos);
  }
  return state;
}

/** The pending entry's seconds: base - rel in version 2, base + rel in version 1. */
function secondsOf(base: number | bigint, rel: number | bigint, version: number): number | bigint {
  if (typeof base === "number" && typeof rel === "number") {
    const seconds = version === 2 ? base - rel : base + rel;
    if (Number.isSafeInteger(seconds)) return seconds;
  }
  return version === 2 ? BigInt(base) - BigInt(rel) : BigInt(base) + BigInt(rel);
}

function fail(message: string, offset: number): JetStoreError {
  return corrupt(`Corrupt consumer state at byte ${offset}: ${message}`, { offset });
}

function safeSum(a: number, b: number, offset: number): number {
  const sum = a + b;
  if (sum > Number.MAX_SAFE_INTEGER) {
    throw fail(`sequence ${BigInt(a) + BigInt(b)} is past 2^53 - 1`, offset);
  }
  return sum;
}

/** `base + delta` modulo 2^64, as Go's uint64 addition; past 2^53 - 1 is corrupt. */
function wrapAdd(base: number, delta: number | bigint, offset: number, what: string): number {
  if (typeof delta === "number") {
    const sum = base + delta;
    if (sum <= Number.MAX_SAFE_INTEGER) return sum;
  }
  const sum = (BigInt(base) + BigInt(delta)) & MAX_U64;
  if (sum > MAX_SAFE) throw fail(`${what} ${sum} is past 2^53 - 1`, offset);
  return Number(sum);
}

class Reader {
  readonly bytes: Uint8Array;
  pos: number;

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }

  remaining(): number {
    return this.bytes.length - this.pos;
  }

  /**
   * One u64 (Go's binary.Uvarint, but a value must be spelled in its fewest
   * bytes): a number when it is a safe integer, else a bigint.
   */
  u64(what: string): number | bigint {
    const b = this.bytes;
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT; i++) {
      const at = start + i;
      if (at >= b.length) throw fail(`${what}: varint cut off by the end of the bytes`, start);
      const byte = b[at]!;
      if (byte < 0x80) {
        if (i > 0 && byte === 0)
          throw fail(`${what}: varint spelled in more bytes than needed`, start);
        this.pos = at + 1;
        if (i < 7) return value + byte * scale; // at most 7 bytes, 49 bits: exact
        return this.slowU64(start, at, what);
      }
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    }
    throw fail(`${what}: varint longer than 10 bytes`, start);
  }

  private slowU64(start: number, last: number, what: string): number | bigint {
    const b = this.bytes;
    if (last - start === MAX_VARINT - 1 && b[last]! > 1) {
      throw fail(`${what}: varint overflows 64 bits`, start);
    }
    let v = 0n;
    for (let at = last; at >= start; at--) v = (v << 7n) | BigInt(b[at]! & 0x7f);
    return v <= MAX_SAFE ? Number(v) : v;
  }

  /** A sequence: a u64 that must be a safe integer. */
  seq(what: string): number {
    const start = this.pos;
    const v = this.u64(what);
    if (typeof v === "bigint") throw fail(`${what} ${v} is past 2^53 - 1`, start);
    return v;
  }

  /** A count of entries or deliveries. */
  count(what: string): number {
    return this.seq(what);
  }

  /** A sequence stored as its distance from `base`, modulo 2^64. */
  wrapped(base: number, what: string): number {
    const start = this.pos;
    return wrapAdd(base, this.u64(what), start, what);
  }

  /** A signed integer (zigzag): a number when the unsigned form is a safe integer, else a bigint. */
  varint(what: string): number | bigint {
    const u = this.u64(what);
    if (typeof u === "number") return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    return (u & 1n) === 0n ? u >> 1n : -(u >> 1n) - 1n;
  }
}
