/**
 * nats-server's encoded stream state (`EncodedStreamState`, `DecodeStreamState`
 * in server/store.go and filestore.go, 2.10 and later): a compact summary a
 * peer compares its own state with — counts, first and last sequence, a
 * failure count, and the deleted sequences as delete blocks. FORMAT.md,
 * "Encoded stream state", has the bytes.
 *
 * Written: version 1, deletions as run-length ranges only (one per run of
 * deleted sequences; nats-server writes an AVL seqset per block and ranges for
 * the gaps between blocks, and its decoder takes either). Read: versions 1
 * and 2 (2 adds the stream's sources), ranges and AVL seqsets of both seqset
 * versions. Varints are plain TypeScript here, as in the consumer-state
 * codec: a state with many runs is many varints, and a WASM call each costs
 * more than the arithmetic.
 */
import { decodeAvlSeqSet } from "./avl-seqset-codec.ts";
import { corrupt, invalidArgument, JetStoreError } from "./errors.ts";
import {
  AVL_SEQSET_MAGIC,
  DELETE_RANGE_MAGIC,
  MAX_SEQ,
  STREAM_STATE_MAGIC,
  STREAM_STATE_VERSION,
  STREAM_STATE_VERSION_SOURCES,
} from "./format.ts";
import { describeValue } from "./validate.ts";

/** `num` deleted sequences from `first` on (nats-server's DeleteRange). */
export interface DeleteRange {
  kind: "range";
  first: number;
  num: number;
}

/** Deleted sequences listed one by one, ascending (nats-server's AVL SequenceSet). */
export interface DeleteSeqSet {
  kind: "seqset";
  seqs: number[];
}

/** One block of deleted sequences of an encoded stream state. */
export type DeleteBlock = DeleteRange | DeleteSeqSet;

/** Where a stream that this one sources from has been read up to (version 2 only). */
export interface StreamSourceState {
  seq: number;
  ident: string;
}

/** A decoded stream state (nats-server's StreamReplicatedState). */
export interface DecodedStreamState {
  msgs: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** The failure count the writer passed in (nats-server: failed proposals). */
  failed: number;
  /** How many sequences the delete blocks hold. */
  numDeleted: number;
  deleted: DeleteBlock[];
  /** Present when the encoding carried sources (version 2). */
  sources?: Map<string, StreamSourceState>;
}

/** What an engine gives the encoder: its counts and its deleted runs, ascending. */
export interface StreamStateSource {
  msgs: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  numDeleted: number;
  deletedRuns: Iterable<readonly [number, number]>;
}

/** Encodes a stream's state as nats-server's version 1 (run-length delete blocks). */
export function encodeStreamState(src: StreamStateSource, failed: number): Uint8Array {
  const w = new VarintWriter();
  w.byte(STREAM_STATE_MAGIC);
  w.byte(STREAM_STATE_VERSION);
  w.uvarint(src.msgs);
  w.uvarint(src.bytes);
  w.uvarint(src.firstSeq);
  w.uvarint(src.lastSeq);
  w.uvarint(failed);
  w.uvarint(src.numDeleted);
  if (src.numDeleted === 0) return w.finish();
  // Adjacent runs (a gap between blocks next to a block's deletions) become one range.
  let first = 0;
  let last = -1;
  for (const [lo, hi] of src.deletedRuns) {
    if (lo === last + 1 && first !== 0) {
      last = hi;
      continue;
    }
    if (first !== 0) w.range(first, last - first + 1);
    first = lo;
    last = hi;
  }
  if (first !== 0) w.range(first, last - first + 1);
  return w.finish();
}

/** Checks the failure count given to `encodedStreamState`. */
export function checkFailed(failed: unknown): number {
  if (!Number.isSafeInteger(failed) || (failed as number) < 0) {
    throw invalidArgument(
      `Cannot encode stream state: failed must be a non-negative safe integer, got ${describeValue(failed)}`,
    );
  }
  return failed as number;
}

/**
 * Decodes nats-server's encoded stream state (versions 1 and 2). Malformed
 * bytes throw ErrCorrupt with the offending offset: a short or foreign
 * header, a truncated or over-long varint, a value past 2^53 - 1, an unknown
 * delete block, a range of no sequences, delete blocks that do not add up to
 * the deleted count, bytes after the state. A version above 2 is
 * ErrUnsupportedFormat. Work and memory are bounded by the input's length.
 */
export function decodeStreamState(bytes: Uint8Array): DecodedStreamState {
  if (!(bytes instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot decode stream state: expected a Uint8Array, got ${describeValue(bytes)}`,
    );
  }
  if (bytes.length < 2) throw fail(`${bytes.length} bytes is shorter than the 2-byte header`, 0);
  if (bytes[0] !== STREAM_STATE_MAGIC) {
    throw fail(`magic is ${bytes[0]}, not ${STREAM_STATE_MAGIC}`, 0);
  }
  const version = bytes[1]!;
  if (version > STREAM_STATE_VERSION_SOURCES) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Cannot decode stream state: version ${version} is newer than this reader (${STREAM_STATE_VERSION_SOURCES})`,
      { offset: 1 },
    );
  }
  if (version === 0) throw fail("version 0 does not exist", 1);
  const r = new VarintReader(bytes, 2);
  const state: DecodedStreamState = {
    msgs: r.uvarint("message count"),
    bytes: r.uvarint("byte count"),
    firstSeq: r.uvarint("first sequence"),
    lastSeq: r.uvarint("last sequence"),
    failed: r.uvarint("failed count"),
    numDeleted: 0,
    deleted: [],
  };
  if (version === STREAM_STATE_VERSION_SOURCES) state.sources = readSources(r);
  const countAt = r.pos;
  state.numDeleted = r.uvarint("deleted count");
  let held = 0;
  // As in nats-server, blocks run to the end of the bytes when any are deleted.
  while (state.numDeleted > 0 && r.pos < bytes.length) {
    const at = r.pos;
    if (bytes[at] === DELETE_RANGE_MAGIC) {
      r.pos++;
      const first = r.uvarint("deleted range's first sequence");
      const num = r.uvarint("deleted range's length");
      if (num === 0 || first === 0 || num - 1 > MAX_SEQ - first) {
        throw fail(`deleted range of ${num} from ${first} is not within 1 to 2^53 - 1`, at);
      }
      state.deleted.push({ kind: "range", first, num });
      held += num;
    } else if (bytes[at] === AVL_SEQSET_MAGIC) {
      const set = decodeAvlSeqSet(bytes, at);
      r.pos = at + set.length;
      state.deleted.push({ kind: "seqset", seqs: set.seqs });
      held += set.seqs.length;
    } else {
      throw fail(`unknown delete block kind ${bytes[at]}`, at);
    }
  }
  if (held !== state.numDeleted) {
    throw fail(
      `delete blocks hold ${held} sequences where the count says ${state.numDeleted}`,
      countAt,
    );
  }
  if (r.pos !== bytes.length) throw fail(`${bytes.length - r.pos} bytes follow the state`, r.pos);
  return state;
}

function readSources(r: VarintReader): Map<string, StreamSourceState> {
  const at = r.pos;
  const count = r.uvarint("source count");
  // Each source takes at least 3 bytes: two empty-string lengths and a sequence.
  if (count > Math.floor((r.bytes.length - r.pos) / 3)) {
    throw fail(`${count} sources cannot fit in ${r.bytes.length - r.pos} bytes`, at);
  }
  const sources = new Map<string, StreamSourceState>();
  for (let i = 0; i < count; i++) {
    const name = r.string("source name");
    const seq = r.uvarint("source sequence");
    const ident = r.string("source identity");
    sources.set(name, { seq, ident });
  }
  return sources;
}

function fail(message: string, offset: number): JetStoreError {
  return corrupt(`Corrupt stream state at byte ${offset}: ${message}`, { offset });
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Go's binary.Uvarint over a byte array, refusing over-long spellings and values past 2^53 - 1. */
class VarintReader {
  readonly bytes: Uint8Array;
  pos: number;

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }

  uvarint(what: string): number {
    const b = this.bytes;
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let at = start; at < b.length; at++) {
      const byte = b[at]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (at > start && byte === 0) throw fail(`${what}: over-long varint`, start);
        if (value > MAX_SEQ) throw fail(`${what} is past 2^53 - 1`, start);
        this.pos = at + 1;
        return value;
      }
      scale *= 0x80;
      // Eight 7-bit groups already pass 2^53: the value cannot be a safe integer.
      if (at - start >= 8) throw fail(`${what} is past 2^53 - 1`, start);
    }
    throw fail(`${what}: varint cut off by the end of the bytes`, start);
  }

  string(what: string): string {
    const at = this.pos;
    const length = this.uvarint(`${what}'s length`);
    if (length > this.bytes.length - this.pos) throw fail(`${what} is cut off`, at);
    const start = this.pos;
    this.pos += length;
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      throw fail(`${what} is not UTF-8`, start);
    }
  }
}

class VarintWriter {
  private buf = new Uint8Array(64);
  private length = 0;

  byte(v: number): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[this.length++] = v;
  }

  /** A safe integer ≥ 0. */
  uvarint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  range(first: number, num: number): void {
    this.byte(DELETE_RANGE_MAGIC);
    this.uvarint(first);
    this.uvarint(num);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}
