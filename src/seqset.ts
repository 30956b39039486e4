/**
 * `SequenceSet`: a set of message sequences (a block's deleted sequences)
 * stored as merged runs in the WebAssembly core (assembly/seqset.ts, which
 * also documents the encoding). This class owns argument checks, errors and
 * the handle's lifetime: `dispose()` frees the core's nodes at once, and a
 * FinalizationRegistry frees them for a set that was dropped without it.
 * A JavaScript `Set<number>` was rejected: one entry per sequence costs tens
 * of bytes each, where a run of any length costs 32.
 *
 * Sequences added in rising order above everything held (a limit removing
 * the oldest messages one at a time, each the next of its block) grow one run
 * kept here, in two numbers, and reach the core only when another call needs
 * the whole set; with the core's largest sequence known here too, `has` of a
 * sequence above both answers without a core call. A head removal made three
 * core calls (`has`, `add`, `has` of the next), each a tree walk and a
 * boundary crossing, for what is a counter increment.
 *
 * Sequences are integers from 1 to 2^53 - 1: a non-integer is
 * ErrInvalidArgument, an integer outside that range ErrOutOfRange. Any use
 * after `dispose()` is ErrInvalidArgument (the set is a bad argument to its
 * own method); ErrStoreClosed was rejected because it tells a caller to reopen
 * a store, which has no meaning here.
 */
import { corrupt, invalidArgument, JetStoreError, outOfRange } from "./errors.ts";
import {
  MAX_SEQ,
  STATUS_BAD_FIELDS,
  STATUS_BAD_LENGTH,
  STATUS_BAD_VERSION,
  STATUS_TRUNCATED,
} from "./format.ts";
import { describeValue } from "./validate.ts";
import { varintProblem } from "./varint.ts";
import { type CoreVariant, getCore, type WasmCore } from "./wasm/core.ts";

/** Options of a new set. */
export interface SequenceSetOptions {
  /** Which build of the core holds the set; tests run both. Default "release". */
  variant?: CoreVariant;
}

/** Runs copied out of the core per call while iterating. */
const RUN_BATCH = 256;

/** `toArray()` refuses sets larger than this: it makes one number per sequence. */
export const MAX_ARRAY_SEQUENCES = 1 << 24;

// One batch region per core, allocated on first use and kept: iteration
// copies each batch out before yielding, so interleaved iterators may share it.
const batchRegions = new Map<WasmCore, number>();

function batchRegion(core: WasmCore): number {
  let ptr = batchRegions.get(core);
  if (ptr === undefined) {
    ptr = core.alloc(RUN_BATCH * 16);
    batchRegions.set(core, ptr);
  }
  return ptr;
}

interface Held {
  core: WasmCore;
  handle: number;
}

const orphans = new FinalizationRegistry<Held>((held) => held.core.abi.seqsetFree(held.handle));

function checkOptions(options: unknown): CoreVariant {
  if (options === undefined) return "release";
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(
      `Invalid sequence set options ${describeValue(options)}: expected an object`,
    );
  }
  const variant = (options as SequenceSetOptions).variant ?? "release";
  if (variant !== "release" && variant !== "debug") {
    throw invalidArgument(
      `Unknown core variant ${describeValue(variant)}: use "release" or "debug"`,
    );
  }
  return variant;
}

function checkSeq(action: string, seq: unknown, least = 1): number {
  if (typeof seq !== "number" || !Number.isInteger(seq)) {
    throw invalidArgument(`Cannot ${action} ${describeValue(seq)}: a sequence is an integer`);
  }
  if (seq < least || seq > MAX_SEQ) {
    throw outOfRange(
      `Cannot ${action} ${describeValue(seq)}: a sequence is from ${least} to ${MAX_SEQ}`,
    );
  }
  return seq;
}

function decodeProblem(status: number): string {
  switch (status) {
    case STATUS_TRUNCATED:
      return "the bytes end inside it";
    case STATUS_BAD_VERSION:
      return "unknown version byte";
    case STATUS_BAD_FIELDS:
      return "runs overlap, touch, are empty or pass 2^53 - 1";
    case STATUS_BAD_LENGTH:
      return "bytes follow the last run";
    default:
      return varintProblem(status);
  }
}

/** A set of sequence numbers kept as merged runs in the WebAssembly core. */
export class SequenceSet {
  readonly #core: WasmCore;
  #handle: number;
  /** The largest sequence the core holds, 0 when it holds none. */
  #top = 0;
  /** A run [#runLo, #runHi] above #top not yet in the core; #runHi 0 when there is none. */
  #runLo = 0;
  #runHi = 0;

  constructor(options?: SequenceSetOptions) {
    this.#core = getCore(checkOptions(options));
    this.#handle = this.#core.abi.seqsetNew();
    orphans.register(this, { core: this.#core, handle: this.#handle }, this);
  }

  /** Decodes bytes made by `encode()`; malformed bytes throw ErrCorrupt. */
  static decode(bytes: Uint8Array, options?: SequenceSetOptions): SequenceSet {
    if (!(bytes instanceof Uint8Array)) {
      throw invalidArgument(
        `Cannot decode a sequence set from ${describeValue(bytes)}: expected a Uint8Array`,
      );
    }
    const set = new SequenceSet(options);
    const core = set.#core;
    const ptr = core.alloc(Math.max(bytes.length, 1));
    let status: number;
    try {
      core.u8.set(bytes, ptr);
      status = core.abi.seqsetDecode(set.#handle, ptr, bytes.length);
    } finally {
      core.free(ptr);
    }
    if (status < 0) {
      set.dispose();
      throw corrupt(
        `Cannot decode a sequence set from ${bytes.length} bytes: ${decodeProblem(-status)}`,
      );
    }
    set.#top = core.abi.seqsetLast(set.#handle);
    return set;
  }

  /** The core build holding this set. */
  get variant(): CoreVariant {
    return this.#core.variant;
  }

  /** True once `dispose()` has run. */
  get disposed(): boolean {
    return this.#handle === 0;
  }

  #live(action: string): number {
    if (this.#handle === 0) {
      throw invalidArgument(`Cannot ${action}: the sequence set is disposed`);
    }
    return this.#handle;
  }

  /** The handle, with the run kept here moved into the core first: every call that sees the whole set. */
  #settled(action: string): number {
    const handle = this.#live(action);
    if (this.#runHi !== 0) {
      this.#core.abi.seqsetAddRange(handle, this.#runLo, this.#runHi);
      this.#top = this.#runHi;
      this.#runHi = 0;
    }
    return handle;
  }

  /** Adds `seq`; true if it was not already present. */
  add(seq: number): boolean {
    this.#live("add to the set");
    checkSeq("add", seq);
    if (seq > this.#top) {
      const hi = this.#runHi;
      if (hi === 0) {
        this.#runLo = seq;
        this.#runHi = seq;
        return true;
      }
      if (seq === hi + 1) {
        this.#runHi = seq;
        return true;
      }
      if (seq >= this.#runLo && seq <= hi) return false;
      if (seq > hi) {
        // Past the run: it goes to the core in one call, a new one starts.
        this.#core.abi.seqsetAddRange(this.#live("add to the set"), this.#runLo, hi);
        this.#top = hi;
        this.#runLo = seq;
        this.#runHi = seq;
        return true;
      }
    }
    const handle = this.#settled("add to the set");
    if (seq > this.#top) this.#top = seq;
    return this.#core.abi.seqsetAdd(handle, seq) === 1;
  }

  /**
   * `add` for removing the oldest message (removals.ts `removeHead`), which
   * hands over a valid sequence: when `seq` is above everything held and
   * extends the run kept here (or starts it), adds it and returns true, and
   * then neither `seq` was held nor is `seq + 1`. Otherwise changes nothing
   * and returns false (the caller then uses `has` and `add`). No argument
   * check and no core call: this runs per message of a stream a limit trims.
   * @internal
   */
  addAtHead(seq: number): boolean {
    if (this.#handle === 0 || seq <= this.#top) return false;
    const hi = this.#runHi;
    if (hi === 0) this.#runLo = seq;
    else if (seq !== hi + 1) return false;
    this.#runHi = seq;
    return true;
  }

  /** Adds every sequence from `lo` to `hi` inclusive; returns how many were new. */
  addRange(lo: number, hi: number): number {
    const handle = this.#settled("add a range to the set");
    checkSeq("add a range from", lo);
    checkSeq("add a range to", hi);
    if (lo > hi) throw invalidArgument(`Cannot add the range ${lo} to ${hi}: ${lo} is above ${hi}`);
    if (hi > this.#top) this.#top = hi;
    return this.#core.abi.seqsetAddRange(handle, lo, hi);
  }

  /** Removes `seq`; true if it was present. */
  remove(seq: number): boolean {
    const handle = this.#settled("remove from the set");
    const core = this.#core;
    const removed = core.abi.seqsetRemove(handle, checkSeq("remove", seq)) === 1;
    if (removed && seq === this.#top) this.#top = core.abi.seqsetLast(handle);
    return removed;
  }

  /** True if `seq` is in the set. */
  has(seq: number): boolean {
    const handle = this.#live("look up the set");
    checkSeq("look up", seq);
    if (seq >= this.#runLo && seq <= this.#runHi) return true;
    if (seq > this.#top) return false;
    return this.#core.abi.seqsetHas(handle, seq) === 1;
  }

  /** How many sequences the set holds. */
  get size(): number {
    return this.#core.abi.seqsetCount(this.#settled("count the set"));
  }

  /** How many maximal runs of consecutive sequences the set holds. */
  get runCount(): number {
    return this.#core.abi.seqsetRunCount(this.#settled("count the runs of the set"));
  }

  /** The smallest sequence, or 0 when the set is empty. */
  get first(): number {
    return this.#core.abi.seqsetFirst(this.#settled("read the first sequence"));
  }

  /** The largest sequence, or 0 when the set is empty. */
  get last(): number {
    this.#live("read the last sequence");
    return this.#runHi !== 0 ? this.#runHi : this.#top;
  }

  /**
   * The first sequence at or after `from` that the set does not hold: no
   * allocation, one core call per run crossed (a scan that steps over
   * removed messages calls this per message; `runs` would build a batch).
   */
  nextAbsent(from: number): number {
    const handle = this.#settled("find the next absent sequence");
    const core = this.#core;
    let seq = from;
    while (seq <= MAX_SEQ && core.abi.seqsetHas(handle, seq) !== 0) {
      const ptr = batchRegion(core);
      if (core.abi.seqsetRuns(handle, seq, ptr, 1) !== 1) break;
      seq = core.f64[(ptr >>> 3) + 1] + 1;
    }
    return seq;
  }

  /**
   * Iterates the runs [lo, hi] holding sequences >= `from`, ascending, the
   * first clipped to start at `from`. Runs are read in batches, each from
   * where the last ended, so changes made while iterating are seen past that
   * point; disposing the set ends iteration with an error.
   */
  runs(from = 0): IterableIterator<[number, number]> {
    this.#live("list the runs of the set");
    return this.#runsFrom(checkSeq("list runs from", from, 0));
  }

  *#runsFrom(from: number): IterableIterator<[number, number]> {
    let next = from;
    for (;;) {
      const handle = this.#settled("list the runs of the set");
      const core = this.#core;
      const ptr = batchRegion(core);
      const n = core.abi.seqsetRuns(handle, next, ptr, RUN_BATCH);
      const batch = core.f64.slice(ptr >>> 3, (ptr >>> 3) + 2 * n);
      for (let i = 0; i < n; i++) yield [batch[2 * i], batch[2 * i + 1]];
      if (n < RUN_BATCH) return;
      next = batch[2 * n - 1] + 1;
      if (next > MAX_SEQ) return;
    }
  }

  /** Every sequence, ascending; ErrOutOfRange above MAX_ARRAY_SEQUENCES. */
  toArray(): number[] {
    const size = this.size;
    if (size > MAX_ARRAY_SEQUENCES) {
      throw outOfRange(
        `Cannot list ${size} sequences as an array: the limit is ${MAX_ARRAY_SEQUENCES}; iterate runs() instead`,
      );
    }
    const out: number[] = [];
    for (const [lo, hi] of this.runs()) for (let seq = lo; seq <= hi; seq++) out.push(seq);
    return out;
  }

  /** The set's canonical encoding (layout in assembly/seqset.ts and FORMAT.md). */
  encode(): Uint8Array {
    const handle = this.#settled("encode the set");
    const core = this.#core;
    const size = core.abi.seqsetEncodedSize(handle);
    if (size < 0) throw outOfRange("Cannot encode the sequence set: it exceeds 2 GiB");
    const ptr = core.alloc(size);
    try {
      const written = core.abi.seqsetEncode(handle, ptr, size);
      if (written !== size) {
        throw new JetStoreError(
          "ErrInternal",
          `Sequence set encoded to ${written} bytes, not ${size}`,
        );
      }
      return core.u8.slice(ptr, ptr + written);
    } finally {
      core.free(ptr);
    }
  }

  /** Removes every sequence. */
  clear(): void {
    this.#core.abi.seqsetClear(this.#live("clear the set"));
    this.#top = 0;
    this.#runHi = 0;
  }

  /** Frees the set's core memory; later use throws ErrInvalidArgument. Idempotent. */
  dispose(): void {
    if (this.#handle === 0) return;
    orphans.unregister(this);
    this.#core.abi.seqsetFree(this.#handle);
    this.#handle = 0;
    this.#top = 0;
    this.#runHi = 0;
  }
}
