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
};

/**
 * Verifies and locates the record at `ptr`; throws ErrCorrupt naming `file`
 * and `offset` if it is damaged. The returned object is reused by the next call.
 */
export function decodeFields(
  ptr: number,
  available: number,
  file: string,
  offset: number,
): DecodedFields {
  const core = getCore();
  const length = core.abi.recordDecode(ptr, available);
  if (length < 0) {
    throw corrupt(`Record at offset ${offset} of ${file} is damaged (status ${-length})`, {
      file,
      offset,
    });
  }
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
  return fields;
}

/** The timestamp of the last decoded record. */
export function decodedTimestamp(): bigint {
  const core = getCore();
  return core.view.getBigInt64(decodedArea(core) + 8, true);
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
 * Recently read ASCII subjects, by a hash of their bytes. A stream has few
 * distinct subjects, read over and over: comparing bytes with the cached
 * string allocates nothing, where a new string per record made recovery
 * scans allocation-bound.
 */
const SUBJECT_SLOTS = 4096;
const recentSubjects: (string | undefined)[] = new Array(SUBJECT_SLOTS).fill(undefined);

export function readSubject(at: number, len: number): string {
  const u8 = getCore().u8;
  if (len > CHAR_CODE_LIMIT) return decoder.decode(u8.subarray(at, at + len));
  let h = len;
  for (let i = 0; i < len; i++) {
    const c = u8[at + i];
    if (c > 0x7f) return decoder.decode(u8.subarray(at, at + len));
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h >>> 0) & (SUBJECT_SLOTS - 1);
  const cached = recentSubjects[slot];
  if (cached !== undefined && cached.length === len && sameAscii(cached, u8, at)) return cached;
  // One flat string: concatenating characters builds a rope, which every Map lookup must flatten.
  const subject = String.fromCharCode.apply(null, u8.subarray(at, at + len) as unknown as number[]);
  recentSubjects[slot] = subject;
  return subject;
}

function sameAscii(text: string, u8: Uint8Array, at: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== u8[at + i]) return false;
  return true;
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

/** Decodes the whole message at `ptr`. */
export function readMessage(
  ptr: number,
  available: number,
  file: string,
  offset: number,
): StoredMsg {
  const f = decodeFields(ptr, available, file, offset);
  const ts = decodedTimestamp();
  const u8 = getCore().u8;
  return {
    subject: readSubject(f.subjectAt, f.subjectLen),
    hdr: f.flags & REC_FLAG_HDR ? copyOut(u8, f.hdrAt, f.hdrAt + f.hdrLen) : null,
    msg: copyOut(u8, f.msgAt, f.msgAt + f.msgLen),
    seq: f.seq,
    ts,
  };
}
