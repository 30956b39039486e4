/**
 * Reading an archive back: its chunks gathered into frames, each frame
 * checked (header check, number, kind, lengths, checksum, the body's
 * decompression) before its body is handed on, and the bodies decoded
 * strictly: anything a checksum passed that still does not add up is
 * damage too. Every failure is ErrCorrupt naming the archive offset, except
 * a newer version (ErrUnsupportedFormat).
 */
import { snappy } from "../at-rest/compression.ts";
import { coreSnappy } from "../at-rest/snappy-wasm.ts";
import { xxh64 } from "../codec/index.ts";
import { corrupt, invalidArgument, JetStoreError } from "../errors.ts";
import { describeValue } from "../validate.ts";
import { getCore } from "../wasm/core.ts";
import {
  ARCHIVE_MAGIC,
  ARCHIVE_VERSION,
  type ArchiveHeader,
  BINDING_SIZE,
  BOUND_PREFIX_SIZE,
  BOUND_TRAILER_SIZE,
  coreHasher,
  FRAME_CHECKSUM_SIZE,
  FRAME_COMPRESSED,
  FRAME_HEADER_SIZE,
  FRAME_SEALED,
  FrameKind,
  headerCheck,
  MAX_FRAME_BODY,
  PREAMBLE_SIZE,
  TRAILER_SIZE,
} from "./archive-format.ts";
import { RECORD_FIXED } from "./record-writer.ts";
import type { ArchivedMsg, ArchiveSource, ReadableByteStream } from "./types.ts";

/**
 * How sealed frames are opened: set by the reader of the header frame (before
 * it asks for the next) when the header says the archive is sealed.
 */
export interface ArchiveKeys {
  unseal: ((body: Uint8Array) => Uint8Array) | null;
  /** A version 2 archive's binding, from its header (`ArchiveHeader.binding`). */
  binding?: Uint8Array | null;
}

/** One checked frame. */
export interface Frame {
  kind: FrameKind;
  number: number;
  /** The plain body; of a frame with `core`, valid until the next frame is asked for. */
  readonly body: Uint8Array;
  /** Bytes of the plain body. */
  readonly length: number;
  /** Archive offset of the frame. */
  offset: number;
  /**
   * A Messages frame of a plain archive: the address of its body in core
   * memory (`body.length` bytes), valid until the next frame is asked for.
   */
  core?: number;
}

/** A Messages frame whose body stays in core memory; `body` copies it out when asked. */
class CoreFrame implements Frame {
  readonly kind: FrameKind;
  readonly number: number;
  readonly offset: number;
  readonly core: number;
  readonly length: number;
  private copy: Uint8Array | null = null;

  constructor(kind: FrameKind, number: number, offset: number, ptr: number, length: number) {
    this.kind = kind;
    this.number = number;
    this.offset = offset;
    this.core = ptr;
    this.length = length;
  }

  get body(): Uint8Array {
    this.copy ??= getCore().u8.slice(this.core, this.core + this.length);
    return this.copy;
  }
}

/** Core memory the frames of a plain archive are checked and uncompressed in, kept and grown. */
class FrameScratch {
  private ptr = 0;
  private capacity = 0;

  /** `size` bytes of core memory, their contents not kept. */
  reserve(size: number): number {
    if (size > this.capacity) {
      const core = getCore();
      if (this.ptr !== 0) core.free(this.ptr);
      this.ptr = 0;
      this.capacity = Math.max(size, 4 * 1024 * 1024);
      this.ptr = core.alloc(this.capacity);
    }
    return this.ptr;
  }

  dispose(): void {
    if (this.ptr !== 0) getCore().free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}

const ARCHIVE = "snapshot archive";

function damaged(message: string, offset: number): JetStoreError {
  return corrupt(`Damaged ${ARCHIVE}: ${message} (at byte ${offset})`, { file: ARCHIVE, offset });
}

/** The chunks of `source`; ErrInvalidArgument for something that is not an archive source. */
export function chunksOf(source: ArchiveSource): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (source instanceof Uint8Array) return [source];
  if (typeof (source as Partial<ReadableByteStream>)?.getReader === "function") {
    return readableChunks(source as ReadableByteStream);
  }
  if (source !== null && typeof source === "object") {
    const s = source as Partial<AsyncIterable<Uint8Array> & Iterable<Uint8Array>>;
    if (typeof s[Symbol.asyncIterator] === "function") return source as AsyncIterable<Uint8Array>;
    if (typeof s[Symbol.iterator] === "function") return source as Iterable<Uint8Array>;
  }
  throw invalidArgument(
    `Cannot restore: source must be a Uint8Array, an iterable or async iterable of Uint8Array, or a ReadableStream, got ${describeValue(source)}`,
  );
}

async function* readableChunks(stream: ReadableByteStream): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value as Uint8Array;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Bytes gathered from chunks until a wanted length is there. */
class Gatherer {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** Archive offset of `buf[start]`. */
  offset = 0;

  get available(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) {
      throw invalidArgument(
        `Cannot restore: a chunk of the source is ${describeValue(chunk)}, not a Uint8Array`,
      );
    }
    if (this.end + chunk.length > this.buf.length) {
      const need = this.available + chunk.length;
      const next =
        need <= this.buf.length
          ? this.buf
          : new Uint8Array(Math.max(need, this.buf.length * 2, 65536));
      next.set(this.buf.subarray(this.start, this.end));
      this.buf = next;
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  peek(n: number): Uint8Array {
    return this.buf.subarray(this.start, this.start + n);
  }

  skip(n: number): void {
    this.start += n;
    this.offset += n;
  }

  take(n: number): Uint8Array {
    const out = this.buf.slice(this.start, this.start + n);
    this.start += n;
    this.offset += n;
    return out;
  }
}

/**
 * The frames of an archive, each checked, the trailer's counts included; ends
 * after the trailer, refusing bytes after it and an end before it.
 */
export async function* readFrames(
  source: ArchiveSource,
  keys: ArchiveKeys = { unseal: null },
): AsyncGenerator<Frame> {
  const chunks = chunksOf(source);
  const g = new Gatherer();
  const iterator =
    Symbol.asyncIterator in chunks
      ? (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : (chunks as Iterable<Uint8Array>)[Symbol.iterator]();
  let ended = false;
  const scratch = new FrameScratch();
  const fill = async (n: number): Promise<boolean> => {
    while (g.available < n && !ended) {
      const r = await iterator.next();
      if (r.done === true) ended = true;
      else g.push(r.value);
    }
    return g.available >= n;
  };
  try {
    if (!(await fill(PREAMBLE_SIZE))) throw damaged("shorter than its preamble", g.offset);
    const version = checkPreamble(g.take(PREAMBLE_SIZE));
    let headerHash = 0n;
    let number = 0;
    let msgs = 0;
    let consumers = 0;
    for (;;) {
      const offset = g.offset;
      if (!(await fill(FRAME_HEADER_SIZE))) throw damaged("cut off before its trailer", offset);
      const head = g.peek(FRAME_HEADER_SIZE);
      const view = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_SIZE);
      if (view.getUint32(16, true) !== headerCheck(head))
        throw damaged("frame header fails its check", offset);
      const kind = view.getUint8(0) as FrameKind;
      const flags = view.getUint8(1);
      const plainLength = view.getUint32(8, true);
      const storedLength = view.getUint32(12, true);
      if (kind < FrameKind.Header || kind > FrameKind.Trailer)
        throw damaged(`unknown frame kind ${kind}`, offset);
      const sealed = (flags & FRAME_SEALED) !== 0;
      if ((flags & ~(FRAME_COMPRESSED | FRAME_SEALED)) !== 0 || view.getUint16(2, true) !== 0) {
        throw damaged("unknown frame flags", offset);
      }
      const mustSeal =
        keys.unseal !== null &&
        kind !== FrameKind.Header &&
        (kind !== FrameKind.Trailer || version >= 2);
      if (sealed !== mustSeal || (sealed && (flags & FRAME_COMPRESSED) !== 0)) {
        throw damaged(
          sealed ? "a sealed frame where none belongs" : "a plain frame in a sealed archive",
          offset,
        );
      }
      if (view.getUint32(4, true) !== number) throw damaged(`frame ${number} missing`, offset);
      if (plainLength > MAX_FRAME_BODY || storedLength > MAX_FRAME_BODY)
        throw damaged("frame too long", offset);
      if ((flags & FRAME_COMPRESSED) === 0 && !sealed && plainLength !== storedLength) {
        throw damaged("frame lengths disagree", offset);
      }
      if ((number === 0) !== (kind === FrameKind.Header))
        throw damaged("header frame out of place", offset);
      const size = FRAME_HEADER_SIZE + storedLength + FRAME_CHECKSUM_SIZE;
      if (!(await fill(size))) throw damaged("cut off inside a frame", offset);
      const end = size - FRAME_CHECKSUM_SIZE;
      if (kind === FrameKind.Messages && !sealed) {
        // Checked, uncompressed and handed on in core memory: no copy of the body in JavaScript.
        const core = getCore();
        const compressed = (flags & FRAME_COMPRESSED) !== 0;
        // A stream of n bytes fills at most 64/3 n (a 3-byte copy of 64): checked before reserving.
        if (compressed && plainLength > Math.floor((storedLength * 64) / 3)) {
          throw damaged(`frame ${number} does not uncompress`, offset);
        }
        const at = scratch.reserve(size + (compressed ? plainLength : 0));
        core.u8.set(g.peek(size), at);
        g.skip(size);
        const hasher = coreHasher(core);
        if (core.view.getBigUint64(at + end, true) !== hasher.xxh64At(at, end)) {
          throw damaged(`frame ${number} fails its checksum`, offset);
        }
        let body = at + FRAME_HEADER_SIZE;
        if (compressed) {
          body = at + size;
          if (
            !coreSnappy(core).uncompressInCore(
              at + FRAME_HEADER_SIZE,
              storedLength,
              body,
              plainLength,
            )
          ) {
            throw damaged(`frame ${number} does not uncompress`, offset);
          }
        }
        msgs += countRecordsAt(body, plainLength, offset);
        yield new CoreFrame(kind, number, offset, body, plainLength);
        number++;
        continue;
      }
      const whole = g.take(size);
      const fv = new DataView(whole.buffer);
      if (fv.getBigUint64(end, true) !== xxh64(whole.subarray(0, end))) {
        throw damaged(`frame ${number} fails its checksum`, offset);
      }
      const stored = whole.subarray(FRAME_HEADER_SIZE, end);
      let body = stored;
      if (sealed) {
        try {
          body = (keys.unseal as (b: Uint8Array) => Uint8Array)(stored);
        } catch (err) {
          throw damaged(`frame ${number} does not open (${(err as Error).message})`, offset);
        }
        if (body.length !== plainLength)
          throw damaged(`frame ${number} has the wrong length`, offset);
        if (version >= 2) body = unbound(body, keys.binding ?? null, number, kind, offset);
      } else if ((flags & FRAME_COMPRESSED) !== 0) {
        const plain = snappy().uncompress(stored, plainLength);
        if (plain === null) throw damaged(`frame ${number} does not uncompress`, offset);
        body = plain;
      }
      if (kind === FrameKind.Header) headerHash = xxh64(body);
      if (kind === FrameKind.Trailer) {
        checkTrailer(body, number, msgs, consumers, offset, version >= 2 ? headerHash : null);
        if (await fill(1)) throw damaged("bytes after the trailer", g.offset);
        return;
      }
      if (kind === FrameKind.Messages) msgs += countRecords(body, offset);
      if (kind === FrameKind.Consumer) consumers++;
      yield { kind, number, body, length: body.length, offset };
      number++;
    }
  } finally {
    scratch.dispose();
    if (!ended) await iterator.return?.();
  }
}

/**
 * The body of a version 2 archive's sealed frame without its binding prefix,
 * once the prefix names this archive, this frame's number and its kind.
 */
function unbound(
  body: Uint8Array,
  binding: Uint8Array | null,
  number: number,
  kind: FrameKind,
  offset: number,
): Uint8Array {
  if (binding === null || binding.length !== BINDING_SIZE)
    throw damaged("the header of a bound archive holds no binding", offset);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const ok =
    body.length >= BOUND_PREFIX_SIZE &&
    binding.every((b, i) => body[i] === b) &&
    view.getUint32(BINDING_SIZE, true) === number &&
    view.getUint32(BINDING_SIZE + 4, true) === kind;
  if (!ok) throw damaged(`frame ${number} belongs to another archive or place`, offset);
  return body.subarray(BOUND_PREFIX_SIZE);
}

/** The archive's format version, once its preamble checks out. */
function checkPreamble(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_SIZE);
  if (
    view.getBigUint64(8, true) !== xxh64(bytes.subarray(0, 8)) ||
    view.getUint32(0, true) !== ARCHIVE_MAGIC
  ) {
    throw damaged("not a jetstore snapshot archive, or its preamble is damaged", 0);
  }
  const version = view.getUint16(4, true);
  if (version > ARCHIVE_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Cannot restore: the ${ARCHIVE} has format version ${version}; this jetstore reads up to ${ARCHIVE_VERSION}`,
    );
  }
  if (version === 0 || view.getUint16(6, true) !== 0) throw damaged("bad preamble", 0);
  return version;
}

function checkTrailer(
  body: Uint8Array,
  number: number,
  msgs: number,
  consumers: number,
  offset: number,
  headerHash: bigint | null,
): void {
  const size = headerHash === null ? TRAILER_SIZE : BOUND_TRAILER_SIZE;
  if (body.length !== size) throw damaged("trailer of the wrong size", offset);
  const view = new DataView(body.buffer, body.byteOffset, size);
  const ok =
    (headerHash === null || view.getBigUint64(TRAILER_SIZE, true) === headerHash) &&
    view.getUint32(0, true) === number &&
    view.getUint32(4, true) === 0 &&
    view.getBigUint64(8, true) === BigInt(msgs) &&
    view.getUint32(16, true) === consumers &&
    view.getUint32(20, true) === 0;
  if (!ok) throw damaged("the trailer's counts do not match the frames before it", offset);
}

/** Records in a Messages body, checking that they tile it exactly. */
function countRecords(body: Uint8Array, offset: number): number {
  return countIn(new DataView(body.buffer, body.byteOffset, body.length), 0, body.length, offset);
}

/** `countRecords` of a body at `ptr` in core memory. */
function countRecordsAt(ptr: number, length: number, offset: number): number {
  return countIn(getCore().view, ptr, length, offset);
}

function countIn(view: DataView, from: number, length: number, offset: number): number {
  let n = 0;
  const end = from + length;
  for (let at = from; at < end; n++) {
    if (at + RECORD_FIXED > end) throw damaged("a message record is cut off", offset);
    const hdr = view.getInt32(at + 24, true);
    const len =
      RECORD_FIXED +
      Math.max(hdr, 0) +
      view.getUint32(at + 28, true) +
      view.getUint32(at + 32, true);
    if (hdr < -1 || at + len > end) throw damaged("a message record overruns its frame", offset);
    at += len;
  }
  if (n === 0) throw damaged("an empty messages frame", offset);
  return n;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The messages of a checked Messages frame. */
export function decodeMessages(frame: Frame): ArchivedMsg[] {
  const out: ArchivedMsg[] = [];
  const at = { offset: 0 };
  while (at.offset < frame.body.length) out.push(decodeMessageAt(frame, at));
  return out;
}

/** The message record at `at.offset` of a checked Messages frame; moves `at.offset` past it. */
export function decodeMessageAt(frame: Frame, at: { offset: number }): ArchivedMsg {
  const body = frame.body;
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  try {
    let o = at.offset;
    const seq = view.getBigUint64(o, true);
    const ts = view.getBigInt64(o + 8, true);
    const ttl = view.getBigInt64(o + 16, true);
    const hdrLen = view.getInt32(o + 24, true);
    const subjectLen = view.getUint32(o + 28, true);
    const msgLen = view.getUint32(o + 32, true);
    if (
      seq === 0n ||
      seq > BigInt(Number.MAX_SAFE_INTEGER) ||
      ts < 0n ||
      ttl < -1n ||
      ttl > 0xffffffffn
    ) {
      throw damaged("a message record holds values out of range", frame.offset);
    }
    o += RECORD_FIXED;
    const subject = decoder.decode(body.subarray(o, o + subjectLen));
    o += subjectLen;
    let hdr: Uint8Array | null = null;
    if (hdrLen >= 0) {
      hdr = body.subarray(o, o + hdrLen);
      o += hdrLen;
    }
    const msg = body.subarray(o, o + msgLen);
    at.offset = o + msgLen;
    return { subject, hdr, msg, seq: Number(seq), ts, ttl: Number(ttl) };
  } catch (err) {
    if (err instanceof JetStoreError) throw err;
    throw damaged(`a message record does not decode (${(err as Error).message})`, frame.offset);
  }
}

/** The header of a checked Header frame. */
export function decodeHeader(frame: Frame): ArchiveHeader {
  let h: ArchiveHeader;
  try {
    h = JSON.parse(decoder.decode(frame.body)) as ArchiveHeader;
  } catch (err) {
    throw damaged(`the header does not decode (${(err as Error).message})`, frame.offset);
  }
  const seqs = [h?.lastSeq, h?.firstSeq, h?.msgs, h?.bytes];
  const ok =
    h !== null &&
    typeof h === "object" &&
    seqs.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) &&
    typeof h.lastTs === "string" &&
    /^\d+$/.test(h.lastTs) &&
    typeof h.limits === "object" &&
    h.limits !== null &&
    h.msgs <= h.lastSeq;
  if (!ok) throw damaged("the header holds values out of range", frame.offset);
  return h;
}

/**
 * The name, config, encoded state and redelivery count at the ack floor (0:
 * none, as in an archive from before it was kept) of a checked Consumer frame.
 */
export function decodeConsumerFrame(frame: Frame): {
  name: string;
  config: unknown;
  state: Uint8Array | null;
  floorRedelivered: number;
} {
  const body = frame.body;
  if (body.length < 4) throw damaged("a consumer frame is too short", frame.offset);
  const len = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
  if (4 + len > body.length) throw damaged("a consumer frame's config overruns it", frame.offset);
  let json: { name?: unknown; config?: unknown; floorRedelivered?: unknown };
  try {
    json = JSON.parse(decoder.decode(body.subarray(4, 4 + len)));
  } catch (err) {
    throw damaged(`a consumer config does not decode (${(err as Error).message})`, frame.offset);
  }
  if (json === null || typeof json !== "object" || typeof json.name !== "string") {
    throw damaged("a consumer frame without a name", frame.offset);
  }
  const state = body.length > 4 + len ? body.subarray(4 + len) : null;
  const atFloor = json.floorRedelivered ?? 0;
  if (
    !Number.isSafeInteger(atFloor) ||
    (atFloor as number) < 0 ||
    (atFloor !== 0 && state === null)
  ) {
    throw damaged(
      "a consumer frame's redelivery count at its ack floor is out of range",
      frame.offset,
    );
  }
  return { name: json.name, config: json.config, state, floorRedelivered: atFloor as number };
}
