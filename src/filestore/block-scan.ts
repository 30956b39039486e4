/**
 * Drives the WASM block scan over a block's bytes in core memory and hands
 * each verified record to a callback, in batches of column views. The output
 * columns are allocated once per process and reused by every scan.
 */
import {
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_MIN_SIZE,
  REC_OFF_SUBJECT_LEN,
  REC_TTL_SIZE,
  STATUS_BAD_CHECKSUM,
  STATUS_BAD_FIELDS,
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
    let from = start;
    for (;;) {
      const outcome = scanFrom(core, cols, ptr, length, from, visit, withHashes);
      const next = onDamaged === undefined ? 0 : resumeAfter(core, ptr, length, outcome);
      if (next === 0) return outcome;
      onDamaged?.(outcome.stop, next - outcome.stop);
      from = next;
    }
  } finally {
    depth--;
  }
}

/**
 * Where a scan may go on past the damaged record it stopped at: right after
 * it, when its length field is plausible and a verified record starts there.
 * 0 when it may not: a torn tail, a length that cannot be trusted, or damage
 * with nothing verified after it, which is cut like a torn tail.
 */
function resumeAfter(core: WasmCore, ptr: number, length: number, outcome: ScanOutcome): number {
  if (outcome.status !== STATUS_BAD_CHECKSUM && outcome.status !== STATUS_BAD_FIELDS) return 0;
  const at = outcome.stop;
  if (at + 4 > length) return 0;
  const size = core.view.getUint32(ptr + at, true);
  const next = at + size;
  if (size < REC_MIN_SIZE || next >= length) return 0;
  return core.abi.recordDecode(ptr + next, length - next) > 0 ? next : 0;
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
