/**
 * A scan's messages served from runs: one core call locates the records of
 * the next ~16 KiB of a verified cached block (assembly/record-run.ts), one
 * copy takes their bytes, and each loadNextMsg then hands out views of that
 * copy, in order. A core call, a decode and a subject lookup per message
 * were a third of a scan's time.
 *
 * Views are served once each and only forwards (the caller owns what it was
 * given and may change it); a request the run cannot serve, or bytes changed
 * in place since (forgetRun), starts a new run from the record asked for.
 */

import { allocated } from "../../runtimes/collection-hint.ts";
import { REC_FLAG_HDR, REC_FLAG_SKIP, REC_FLAG_TOMBSTONE } from "../format.ts";
import type { StoredMsg } from "../types.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";
import type { CachedBlock } from "./block-cache.ts";
import { readSubject } from "./message-reader.ts";

const RUN_BYTES = 16 * 1024;
/** The most records a run holds (16 KiB of the smallest records). */
const RUN_RECORDS = 512;
/** assembly/record-run.ts's row: 0 seq · 8 ts · then u32s (see the field offsets below). */
const ROW_BYTES = 48;
const ROW_WORDS = ROW_BYTES / 4;
const F_FLAGS = 4;
const F_SLOT = 5;
const F_START = 6;
const F_SUBJECT_LEN = 7;
const F_SUBJECT = 8;
const F_HDR = 9;
const F_HDR_LEN = 10;
const F_MSG_LEN = 11;
/** A payload longer than this gets a copy of its own rather than keeping a run alive (as copyOut's). */
const MAX_SHARED = 1024;

const rowBuffer = new ArrayBuffer(RUN_RECORDS * ROW_BYTES);
const rowBytes = new Uint8Array(rowBuffer);
const rowF64 = new Float64Array(rowBuffer);
const rowU32 = new Uint32Array(rowBuffer);
const rowView = new DataView(rowBuffer);
const subjects: string[] = [];

let runOf: CachedBlock | null = null;
let runStart = 0;
let runCount = 0;
/** The next row to serve: rows before it were handed out or passed. */
let cursor = 0;
let copy = new Uint8Array(0);

/** Runs started since the process began (tests tell a scan served from runs by it). */
let started = 0;

/** Where the core writes rows, allocated once per core. */
let rowsOf: WasmCore | null = null;
let rowsAt = 0;

/**
 * The message whose record starts `offset` bytes into the verified cached
 * block `entry`, as a view of the run holding it; null when no run can hold
 * it (a record over 16 KiB, or not a message): the caller copies it alone.
 */
export function runMessage(entry: CachedBlock, offset: number): StoredMsg | null {
  if (entry !== runOf || !entry.held || copy.byteLength === 0 || !advanceTo(offset)) {
    if (!startRun(entry, offset)) return null;
  }
  const r = cursor++;
  const w = r * ROW_WORDS;
  const flags = rowU32[w + F_FLAGS];
  if (flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP)) return null;
  const msgAt = rowU32[w + F_HDR] + rowU32[w + F_HDR_LEN];
  const msgLen = rowU32[w + F_MSG_LEN];
  return {
    subject: subjects[r],
    hdr: flags & REC_FLAG_HDR ? served(rowU32[w + F_HDR], rowU32[w + F_HDR_LEN]) : null,
    msg: served(msgAt, msgLen),
    seq: rowF64[w >>> 1],
    ts: rowView.getBigInt64(r * ROW_BYTES + 8, true),
  };
}

/** @internal How many runs were started (tests). */
export function runsStarted(): number {
  return started;
}

/** Drops the run (the bytes it was copied from changed in place, as an erase changes them). */
export function forgetRun(): void {
  runOf = null;
  copy = new Uint8Array(0);
}

/** Moves the cursor to the row starting at `offset`; false when the run does not hold it. */
function advanceTo(offset: number): boolean {
  const at = offset - runStart;
  while (cursor < runCount) {
    const start = rowU32[cursor * ROW_WORDS + F_START];
    if (start === at) return true;
    if (start > at) return false;
    cursor++;
  }
  return false;
}

function startRun(entry: CachedBlock, offset: number): boolean {
  const core = getCore();
  if (rowsOf !== core) {
    rowsAt = core.alloc(RUN_RECORDS * ROW_BYTES);
    rowsOf = core;
  }
  runOf = null;
  const count = core.abi.locateRun(entry.ptr, entry.length, offset, RUN_BYTES, RUN_RECORDS, rowsAt);
  if (count === 0) return false;
  const u8 = core.u8;
  rowBytes.set(u8.subarray(rowsAt, rowsAt + count * ROW_BYTES));
  const end = rowU32[(count - 1) * ROW_WORDS + F_HDR] + rowU32[(count - 1) * ROW_WORDS + F_HDR_LEN];
  const bytes = end + rowU32[(count - 1) * ROW_WORDS + F_MSG_LEN];
  allocated(bytes);
  copy = u8.slice(entry.ptr + offset, entry.ptr + offset + bytes);
  const base = entry.ptr + offset;
  // Rows the core found interned first: interning a subject it did not know may take the
  // slot a later row was located with.
  let unknown = false;
  for (let r = 0; r < count; r++) {
    const w = r * ROW_WORDS;
    const slot = rowU32[w + F_SLOT] | 0;
    if (slot < 0) unknown = true;
    else subjects[r] = readSubject(base + rowU32[w + F_SUBJECT], rowU32[w + F_SUBJECT_LEN], slot);
  }
  for (let r = 0; unknown && r < count; r++) {
    const w = r * ROW_WORDS;
    if ((rowU32[w + F_SLOT] | 0) < 0)
      subjects[r] = readSubject(base + rowU32[w + F_SUBJECT], rowU32[w + F_SUBJECT_LEN]);
  }
  runOf = entry;
  started++;
  runStart = offset;
  runCount = count;
  cursor = 0;
  return true;
}

function served(at: number, length: number): Uint8Array {
  return length > MAX_SHARED ? copy.slice(at, at + length) : copy.subarray(at, at + length);
}
