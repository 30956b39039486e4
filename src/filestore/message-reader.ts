/**
 * Turns a record in core memory into a StoredMsg: one WASM call verifies the
 * checksum and locates the fields, then subject, headers and payload are
 * copied out (core memory is reused, so the caller must own its bytes).
 * Subjects are almost always ASCII: String.fromCharCode beats TextDecoder
 * for short strings, which serves anything else.
 */
import { copyOut } from "../copy-pool.ts";
import { corrupt } from "../errors.ts";
import { REC_FLAG_HDR } from "../format.ts";
import type { ArchivedMsg } from "../snapshot/types.ts";
import type { StoredMsg } from "../types.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";
import type { CachedBlock } from "./block-cache.ts";
import { runMessage } from "./scan-run.ts";

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Field locations of the last decoded record (addresses in core memory). */
export interface DecodedFields {
  seq: number;
  length: number;
  flags: number;
  ttl: number;
  subjectAt: number;
  subjectLen: number;
  hdrAt: number;
  hdrLen: number;
  msgAt: number;
  msgLen: number;
  /** The subject's intern slot (assembly/intern.ts), or -1. */
  subjectSlot: number;
}

const fields: DecodedFields = {
  seq: 0,
  length: 0,
  flags: 0,
  ttl: 0,
  subjectAt: 0,
  subjectLen: 0,
  hdrAt: 0,
  hdrLen: 0,
  msgAt: 0,
  msgLen: 0,
  subjectSlot: -1,
};

/**
 * Verifies and locates the record at `ptr`; throws ErrCorrupt naming `file`
 * and `offset` if it is damaged. `verified` bytes (see CachedBlock) skip the
 * checksum. The returned object is reused by the next call.
 */
export function decodeFields(
  ptr: number,
  available: number,
  file: string,
  offset: number,
  verified = false,
): DecodedFields {
  const core = getCore();
  const length = verified
    ? core.abi.recordLocate(ptr, available)
    : core.abi.recordDecode(ptr, available);
  if (length < 0) throw damaged(file, offset, -length);
  const area = decodedArea(core);
  const f64 = core.f64;
  const u32 = core.u32;
  const w = area >>> 2;
  fields.seq = f64[area >>> 3];
  fields.ttl = f64[(area >>> 3) + 2];
  fields.length = u32[w + 6];
  fields.flags = u32[w + 7];
  fields.subjectAt = u32[w + 8];
  fields.subjectLen = u32[w + 9];
  fields.hdrAt = u32[w + 10];
  fields.hdrLen = u32[w + 11];
  fields.msgAt = u32[w + 12];
  fields.msgLen = u32[w + 13];
  fields.subjectSlot = core.i32[w + 14];
  return fields;
}

function damaged(file: string, offset: number, status: number) {
  return corrupt(`Record at offset ${offset} of ${file} is damaged (status ${status})`, {
    file,
    offset,
  });
}

/** The timestamp of the last decoded record. */
export function decodedTimestamp(): bigint {
  const core = getCore();
  return core.view.getBigInt64(decodedArea(core) + 8, true);
}

/** The last decoded time's high half (signed): no BigInt. @internal */
export function decodedTsHigh(): number {
  const core = getCore();
  return core.i32[(decodedArea(core) + 12) >>> 2];
}

/** Its low half. @internal */
export function decodedTsLow(): number {
  const core = getCore();
  return core.u32[(decodedArea(core) + 8) >>> 2];
}

/** The core whose decode area `area` is: asked once per core, not twice per message. */
let areaOf: WasmCore | null = null;
let area = 0;

function decodedArea(core: WasmCore): number {
  if (core !== areaOf) {
    area = core.abi.recordDecoded();
    areaOf = core;
  }
  return area;
}

/** Longest subject built with String.fromCharCode; longer ones go through TextDecoder. */
const CHAR_CODE_LIMIT = 1024;

/**
 * The string of each intern slot of the core (assembly/intern.ts), which
 * keeps the bytes: a stream has few distinct subjects, read over and over,
 * and a read whose subject is interned builds no string (a new one per
 * record made scans allocation-bound).
 */
let internedOf: WasmCore | null = null;
let interned: (string | undefined)[] = [];

/** The subject of `len` bytes at `at`; `slot` is its intern slot or -1 when the decoder gave it. */
export function readSubject(at: number, len: number, slot = -2): string {
  const core = getCore();
  if (core !== internedOf) {
    interned = [];
    internedOf = core;
  }
  if (slot === -2) slot = core.abi.subjectSlot(at, len);
  if (slot >= 0) {
    const known = interned[slot];
    if (known !== undefined) return known;
  }
  const u8 = core.u8;
  let subject: string | undefined;
  if (len <= CHAR_CODE_LIMIT) {
    let ascii = true;
    for (let i = 0; i < len && ascii; i++) ascii = u8[at + i] < 0x80;
    // One flat string: concatenating characters builds a rope, which every Map lookup must flatten.
    if (ascii)
      subject = String.fromCharCode.apply(null, u8.subarray(at, at + len) as unknown as number[]);
  }
  subject ??= decoder.decode(u8.subarray(at, at + len));
  const taken = core.abi.subjectIntern(at, len);
  if (taken >= 0) {
    // No holes: JavaScriptCore would make it sparse.
    while (interned.length < taken) interned.push(undefined);
    interned[taken] = subject;
  }
  return subject;
}

/** Decodes the whole message at `ptr` with its TTL (seconds; 0 none), for an archive. */
export function readArchived(
  ptr: number,
  available: number,
  file: string,
  offset: number,
): ArchivedMsg {
  const msg = readMessage(ptr, available, file, offset) as ArchivedMsg;
  // readMessage decoded the record last: `fields` are still its own.
  msg.ttl = fields.ttl;
  return msg;
}

/**
 * readMessage of a verified cached block's record (every random read once its
 * block is in): from the decode area straight into the message, without the
 * steps through `fields` that cost such a read a fifth of its CPU time.
 */
export function readVerified(ptr: number, available: number, file: string, offset: number) {
  const core = getCore();
  const length = core.abi.recordLocate(ptr, available);
  if (length < 0) throw damaged(file, offset, -length);
  const area = decodedArea(core);
  const u32 = core.u32;
  const w = area >>> 2;
  const seq = core.f64[area >>> 3];
  const ts = core.view.getBigInt64(area + 8, true);
  const hdrAt = u32[w + 10];
  const hdrEnd = hdrAt + u32[w + 11];
  const msgAt = u32[w + 12];
  const msgEnd = msgAt + u32[w + 13];
  const hasHdr = u32[w + 7] & REC_FLAG_HDR;
  const subject = readSubject(u32[w + 8], u32[w + 9], core.i32[w + 14]);
  // After the subject: interning its first one allocates the core's table, which may grow memory.
  const u8 = core.u8;
  const msg: StoredMsg = {
    subject,
    hdr: hasHdr ? copyOut(u8, hdrAt, hdrEnd) : null,
    msg: copyOut(u8, msgAt, msgEnd),
    seq,
    ts,
  };
  return msg;
}

/**
 * Decodes the whole message at `ptr`. `trusted` is the cached block whose
 * verified bytes hold the record (see CachedBlock), or null; with `ahead`
 * (a scan), it is served from a run of them (scan-run.ts).
 */
export function readMessage(
  ptr: number,
  available: number,
  file: string,
  offset: number,
  trusted: CachedBlock | null = null,
  ahead = false,
): StoredMsg {
  if (ahead && trusted !== null) {
    const msg = runMessage(trusted, ptr - trusted.ptr);
    if (msg !== null) return msg;
  }
  const f = decodeFields(ptr, available, file, offset, trusted !== null);
  const ts = decodedTimestamp();
  const subject = readSubject(f.subjectAt, f.subjectLen, f.subjectSlot);
  // After the subject: interning its first one allocates the core's table, which may grow memory.
  const u8 = getCore().u8;
  return {
    subject,
    hdr: f.flags & REC_FLAG_HDR ? copyOut(u8, f.hdrAt, f.hdrAt + f.hdrLen) : null,
    msg: copyOut(u8, f.msgAt, f.msgAt + f.msgLen),
    seq: f.seq,
    ts,
  };
}
