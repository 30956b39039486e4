/**
 * The snapshot archive's bytes (FORMAT.md, "Snapshot archive"): an 8-byte
 * preamble, then frames. Each frame carries its kind, its number, its plain
 * and stored lengths, a body (Snappy-compressed when that is shorter) and an
 * xxHash64 of everything before it in the frame, so a flipped bit anywhere is
 * caught; numbers in order and a trailer that counts frames and messages catch
 * a frame dropped, repeated or cut off. Messages are records of a fixed part
 * and their bytes, many to a frame.
 */
import { snappy } from "../at-rest/compression.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { coreSnappy, maxCompressedLength, snappyWasm } from "../at-rest/snappy-wasm.ts";
import { CoreHasher } from "../codec/hash.ts";
import { xxh64 } from "../codec/index.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";

/** "JSSN", then the version and reserved 0 (u16 each), then an xxHash64 of those 8 bytes. */
export const ARCHIVE_MAGIC = 0x4e53534a;
/** Version 2: an encrypted store's archive whose sealed frames are bound to it (`BOUND_PREFIX_SIZE`). */
export const ARCHIVE_VERSION = 2;
/** What a plain archive is written as: nothing in it changed from version 1. */
export const PLAIN_ARCHIVE_VERSION = 1;
/**
 * In a version 2 archive every frame after the header is sealed, and each
 * sealed plain body starts with the archive's binding (16 random bytes, in
 * the header as hex), the frame's number (u32) and kind (u32): a frame moved,
 * dropped or taken from another archive sealed under the same key does not
 * check out, though the cleartext frame headers and checksums could be forged.
 */
export const BOUND_PREFIX_SIZE = 24;
export const BINDING_SIZE = 16;
export const PREAMBLE_SIZE = 16;
/**
 * kind u8, flags u8, reserved u16, number u32, plain length u32, stored
 * length u32, check u32 (low 32 bits of xxHash64 of the 16 bytes before it:
 * a damaged length is caught before a reader waits for that many bytes).
 */
export const FRAME_HEADER_SIZE = 20;
export const FRAME_CHECKSUM_SIZE = 8;
/** Largest plain or stored body length a reader accepts (a message may be up to a block, 1 GiB). */
export const MAX_FRAME_BODY = 0x4800_0000;
export const FRAME_COMPRESSED = 0x01;
/** The body is the store's sealed envelope (an encrypted store's archive). */
export const FRAME_SEALED = 0x02;

/**
 * Header: JSON, the stream at the noted sequence (ArchiveHeader), always frame 0.
 * Messages: message records, ascending sequences.
 * Consumer: one consumer, u32 length of a JSON `{ name, config, floorRedelivered? }`, that
 * JSON, its state (nats-server's encoding; absent when none).
 * Trailer: counts of what came before it, always the last frame.
 */
export const FrameKind = { Header: 1, Messages: 2, Consumer: 3, Trailer: 4 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/**
 * frames u32, reserved u32, messages u64, consumers u32, reserved u32; in a
 * version 2 archive then the xxHash64 of the header frame's body, which the
 * sealed trailer thereby authenticates.
 */
export const TRAILER_SIZE = 24;
export const BOUND_TRAILER_SIZE = 32;

/** The stream as noted when the snapshot began. */
export interface ArchiveHeader {
  /** The last sequence the archive covers: messages stored after the snapshot began are not in it. */
  lastSeq: number;
  /** Timestamp (decimal ns) of the last sequence. */
  lastTs: string;
  /** First sequence of the stream at that point (lastSeq + 1 when empty). */
  firstSeq: number;
  msgs: number;
  bytes: number;
  /** The source's limits, restored as defaults. */
  limits: Record<string, unknown>;
  /** When the snapshot began (decimal ns). */
  created: string;
  /** An encrypted store's settings file (hex): the frames after the header are sealed. */
  sealed?: string;
  /** A version 2 archive's binding (hex of `BINDING_SIZE` bytes), in every sealed frame. */
  binding?: string;
}

/** How the frames of an encrypted store's archive are sealed and bound to it. */
export interface FrameSeal {
  sealer: Sealer;
  binding: Uint8Array;
}

export function preamble(version: number): Uint8Array {
  const out = new Uint8Array(PREAMBLE_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, ARCHIVE_MAGIC, true);
  view.setUint16(4, version, true);
  view.setBigUint64(8, xxh64(out.subarray(0, 8)), true);
  return out;
}

/** One frame around `plain`, compressed when that is shorter. */
export function frame(
  kind: FrameKind,
  number: number,
  plain: Uint8Array,
  compress = true,
  seal: FrameSeal | null = null,
): Uint8Array {
  if (seal === null && compress && plain.length >= 64 && snappy() === snappyWasm) {
    const packed = packedFrame(kind, number, plain);
    if (packed !== null) return packed;
    compress = false;
  }
  let body = plain;
  let flags = 0;
  if (seal !== null) {
    plain = boundBody(seal.binding, number, kind, plain);
    // The envelope compresses as the store does, before it seals.
    body = seal.sealer.sealEnvelope(plain);
    flags = FRAME_SEALED;
  } else if (compress && plain.length >= 64) {
    const packed = snappy().compress(plain);
    if (packed.length < plain.length) {
      body = packed;
      flags = FRAME_COMPRESSED;
    }
  }
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length + FRAME_CHECKSUM_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint8(1, flags);
  view.setUint32(4, number, true);
  view.setUint32(8, plain.length, true);
  view.setUint32(12, body.length, true);
  view.setUint32(16, headerCheck(out), true);
  out.set(body, FRAME_HEADER_SIZE);
  const end = FRAME_HEADER_SIZE + body.length;
  view.setBigUint64(end, xxh64(out.subarray(0, end)), true);
  return out;
}

/** `plain` behind the binding prefix of frame `number` of `kind`. */
export function boundBody(
  binding: Uint8Array,
  number: number,
  kind: FrameKind,
  plain: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(BOUND_PREFIX_SIZE + plain.length);
  out.set(binding, 0);
  const view = new DataView(out.buffer);
  view.setUint32(BINDING_SIZE, number, true);
  view.setUint32(BINDING_SIZE + 4, kind, true);
  out.set(plain, BOUND_PREFIX_SIZE);
  return out;
}

/** Core memory a compressed frame is built in, kept for the next. */
let scratch = 0;
let scratchSize = 0;

/**
 * A compressed frame built in core memory: the plain body copied in once,
 * compressed behind room for the frame header, header check and checksum
 * hashed in place, one copy out. Null when compressing does not shorten it.
 */
function packedFrame(kind: FrameKind, number: number, plain: Uint8Array): Uint8Array | null {
  const core = getCore();
  const room = FRAME_HEADER_SIZE + maxCompressedLength(plain.length) + FRAME_CHECKSUM_SIZE;
  const size = plain.length + room;
  if (size > scratchSize) {
    if (scratch !== 0) core.free(scratch);
    scratch = 0;
    scratchSize = Math.max(size, 2 * 1024 * 1024);
    scratch = core.alloc(scratchSize);
  }
  const src = scratch;
  const dst = scratch + plain.length;
  core.u8.set(plain, src);
  const n = coreSnappy(core).compressInCore(src, plain.length, dst + FRAME_HEADER_SIZE, true);
  if (n >= plain.length) return null;
  const view = core.view;
  view.setUint8(dst, kind);
  view.setUint8(dst + 1, FRAME_COMPRESSED);
  view.setUint16(dst + 2, 0, true);
  view.setUint32(dst + 4, number, true);
  view.setUint32(dst + 8, plain.length, true);
  view.setUint32(dst + 12, n, true);
  const hasher = coreHasher(core);
  view.setUint32(dst + 16, Number(hasher.xxh64At(dst, 16) & 0xffffffffn), true);
  const end = FRAME_HEADER_SIZE + n;
  view.setBigUint64(dst + end, hasher.xxh64At(dst, end), true);
  return core.u8.slice(dst, dst + end + FRAME_CHECKSUM_SIZE);
}

let hasherOf: CoreHasher | null = null;
/** The hasher of `core`'s memory, kept. */
export function coreHasher(core: WasmCore): CoreHasher {
  if (hasherOf === null || hasherOf.core !== core) hasherOf = new CoreHasher(core);
  return hasherOf;
}

/** The check of a frame header: low 32 bits of xxHash64 of its first 16 bytes. */
export function headerCheck(header: Uint8Array): number {
  return Number(xxh64(header.subarray(0, 16)) & 0xffffffffn);
}

const encoder = new TextEncoder();

/**
 * The plain body of a Consumer frame. `floorRedelivered` is the redelivery
 * count at the consumer's ack floor, which nats-server's encoding of `state`
 * drops (FORMAT.md "Snapshot archive"); 0 when there is none.
 */
export function encodeConsumer(
  name: string,
  config: unknown,
  state: Uint8Array | null,
  floorRedelivered = 0,
): Uint8Array {
  const fields = floorRedelivered > 0 ? { name, config, floorRedelivered } : { name, config };
  const json = encoder.encode(JSON.stringify(fields));
  const out = new Uint8Array(4 + json.length + (state?.length ?? 0));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  if (state !== null) out.set(state, 4 + json.length);
  return out;
}

/**
 * The plain body of the Trailer: `frames` counts every frame before it;
 * `headerHash` (a version 2 archive's) is the xxHash64 of the header's body.
 */
export function encodeTrailer(
  frames: number,
  msgs: number,
  consumers: number,
  headerHash: bigint | null = null,
): Uint8Array {
  const out = new Uint8Array(headerHash === null ? TRAILER_SIZE : BOUND_TRAILER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, frames, true);
  view.setBigUint64(8, BigInt(msgs), true);
  view.setUint32(16, consumers, true);
  if (headerHash !== null) view.setBigUint64(TRAILER_SIZE, headerHash, true);
  return out;
}
