/**
 * Drives the WASM block scan over a block's bytes in core memory and hands
 * each verified record to a callback, in batches of column views. The output
 * columns are allocated once per process and reused by every scan.
 */
import {
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_FLAGS_KNOWN,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_RESERVED,
  REC_OFF_SUBJECT_LEN,
  REC_TTL_SIZE,
  STATUS_OK,
} from "../format.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";

const BATCH = 16384;

/** One verified record of a scan. */
export interface ScannedRecord {
  seq: number;
  offset: number;
  length: number;
  flags: number;
  /** The core's 32-bit subject hash, when the scan was asked for hashes (else 0). */
  subjectHash: number;
}

export interface ScanOutcome {
  /** First byte not consumed: the end, or the start of a torn or corrupt record. */
  stop: number;
  /** STATUS_OK, or the STATUS_* of the record at `stop`. */
  status: number;
}

interface Columns {
  seq: number;
  ts: number;
  offset: number;
  length: number;
  flags: number;
  hash: number;
}

/**
 * One set of columns per nesting level: a `visit` may scan another block
 * (recovery replaying a tombstone loads and indexes the block it names), and
 * a nested scan must not overwrite the batch the outer one is still visiting.
 */
const columnsByDepth: Columns[] = [];
let depth = 0;

function getColumns(level: number): Columns {
  let columns = columnsByDepth[level];
  if (columns === undefined) {
    const core = getCore();
    columns = {
      seq: core.alloc(BATCH * 8),
      ts: core.alloc(BATCH * 8),
      offset: core.alloc(BATCH * 4),
      length: core.alloc(BATCH * 4),
      flags: core.alloc(BATCH),
      hash: core.alloc(BATCH * 4),
    };
    columnsByDepth[level] = columns;
  }
  return columns;
}

/**
 * Scans records of the block at `ptr` (`length` bytes) from `start`, calling
 * `visit` for each in order. The record is reused between calls.
 *
 * With `onDamaged`, a record that fails verification costs itself only: the
 * scan reports its bytes and goes on at the next verified record, wherever
 * that is (see nextVerified). Without it, the scan stops at the first one.
 */
export function scanBlock(
  ptr: number,
  length: number,
  start: number,
  visit: (record: ScannedRecord) => void,
  onDamaged?: (offset: number, length: number) => void,
  withHashes = false,
): ScanOutcome {
  const core = getCore();
  const cols = getColumns(depth);
  depth++;
  try {
    // The last message or skip sequence verified, so a resumed scan only accepts records after it.
    let lastSeq = 0;
    const track = (r: ScannedRecord) => {
      if (!(r.flags & REC_FLAG_TOMBSTONE)) lastSeq = r.seq;
      visit(r);
    };
    let from = start;
    for (;;) {
      const outcome = scanFrom(core, cols, ptr, length, from, track, withHashes);
      if (onDamaged === undefined || outcome.status === STATUS_OK) return outcome;
      const next = nextVerified(core, ptr, length, outcome.stop, lastSeq);
      if (next === 0) return outcome;
      onDamaged(outcome.stop, next - outcome.stop);
      from = next;
    }
  } finally {
    depth--;
  }
}

/**
 * Where a scan may go on after the record at `at` failed verification: the
 * start of the next record that verifies, or 0 when none does (a torn tail,
 * cut by recovery). When the damage hit the length field, every later offset
 * is tried, so one bad length cannot take the rest of the block with it
 * (nats-server loses the rest of the block there, nats-io/nats-server#7549).
 * A 64-bit checksum makes a false match by chance negligible; a record found
 * this way must also carry a sequence after the last one verified before the
 * damage (blocks hold ascending sequences), so a record embedded in a
 * damaged message's payload is not mistaken for the next one.
 *
 * The damaged record's own length may also land on a record that verifies
 * when that length is what was damaged (a flipped bit that lands on a later
 * record's start): an earlier record that verifies and whose chain of
 * records reaches that offset, or runs over it, is where the scan goes on.
 * A record embedded in the damaged payload has no such chain: its last
 * record would have to end in the damaged record's own checksum.
 */
function nextVerified(
  core: WasmCore,
  ptr: number,
  length: number,
  at: number,
  lastSeq: number,
): number {
  let claimed = 0;
  if (at + 4 <= length) {
    const size = core.view.getUint32(ptr + at, true);
    if (
      size >= REC_MIN_SIZE &&
      at + size < length &&
      verifiesAfter(core, ptr, length, at + size, lastSeq)
    )
      claimed = at + size;
  }
  const u8 = core.u8;
  const end = claimed === 0 ? length : claimed;
  for (let next = at + 1; next + REC_MIN_SIZE <= end; next++) {
    const p = ptr + next;
    // Cheap field checks first: only a plausible header is worth a checksum.
    if (u8[p + REC_OFF_RESERVED] !== 0 || (u8[p + REC_OFF_FLAGS] & ~REC_FLAGS_KNOWN) !== 0)
      continue;
    const size = u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24);
    if (size < REC_MIN_SIZE || size > length - next) continue;
    if (!verifiesAfter(core, ptr, length, next, lastSeq)) continue;
    if (claimed === 0 || chainsTo(core, ptr, length, next, claimed, lastSeq)) return next;
  }
  return claimed;
}

/**
 * True when the records from `from` verify one after another, in ascending
 * sequence, up to `target` or over it.
 */
function chainsTo(
  core: WasmCore,
  ptr: number,
  length: number,
  from: number,
  target: number,
  lastSeq: number,
): boolean {
  let at = from;
  let after = lastSeq;
  while (at < target) {
    if (!verifiesAfter(core, ptr, length, at, after)) return false;
    if (!(core.u8[ptr + at + REC_OFF_FLAGS] & REC_FLAG_TOMBSTONE))
      after = core.f64[core.abi.recordDecoded() >>> 3];
    at += core.view.getUint32(ptr + at, true);
  }
  return true;
}

/** True when a record at `offset` verifies and may follow sequence `lastSeq`. */
function verifiesAfter(
  core: WasmCore,
  ptr: number,
  length: number,
  offset: number,
  lastSeq: number,
): boolean {
  if (core.abi.recordDecode(ptr + offset, length - offset) <= 0) return false;
  if (core.u8[ptr + offset + REC_OFF_FLAGS] & REC_FLAG_TOMBSTONE) return true;
  return core.f64[core.abi.recordDecoded() >>> 3] > lastSeq;
}

function scanFrom(
  core: WasmCore,
  cols: Columns,
  ptr: number,
  length: number,
  start: number,
  visit: (record: ScannedRecord) => void,
  withHashes: boolean,
): ScanOutcome {
  const record: ScannedRecord = { seq: 0, offset: 0, length: 0, flags: 0, subjectHash: 0 };
  let offset = start;
  for (;;) {
    const count = core.abi.scanRecords(
      ptr,
      length,
      offset,
      BATCH,
      cols.seq,
      cols.ts,
      cols.offset,
      cols.length,
      cols.flags,
      withHashes ? cols.hash : 0,
    );
    // The result area is shared by every scan: read it before `visit` can start another.
    const result = core.abi.scanResult();
    const stop = core.u32[result >>> 2];
    const status = core.i32[(result >>> 2) + 1];
    // `visit` may grow memory (sequence sets allocate), so views are re-taken per record.
    for (let i = 0; i < count; i++) {
      record.seq = core.f64[(cols.seq >>> 3) + i];
      record.offset = core.u32[(cols.offset >>> 2) + i];
      record.length = core.u32[(cols.length >>> 2) + i];
      record.flags = core.u8[cols.flags + i];
      if (withHashes) record.subjectHash = core.u32[(cols.hash >>> 2) + i];
      visit(record);
    }
    if (status !== STATUS_OK || stop >= length || count === 0) return { stop, status };
    offset = stop;
  }
}

/** Where the subject of the record at `recordPtr` starts, and its byte length. */
export function subjectSpan(recordPtr: number, flags: number): [number, number] {
  const core = getCore();
  const len = core.view.getUint16(recordPtr + REC_OFF_SUBJECT_LEN, true);
  const at = recordPtr + REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
  return [at, len];
}
