// Range-compressed sets of message sequences (the deleted sequences of a
// block), as flat ABI over i32 handles. Each set is sorted, non-overlapping
// runs [lo, hi] with adjacent runs always merged, kept in a balanced tree
// (runtree.ts) so add, remove and has cost O(log runs). A bitmap per block,
// as nats-server's avl/seqset.go keeps, was rejected: deletes come in long
// ranges (purge, compact, expiry) that a run stores in 32 bytes whatever its
// length. Many sets live at once; a handle indexes a table of set headers
// that grows by doubling and recycles freed entries.
//
// Sequences are integers in [1, 2^53 - 1] passed as f64: the TypeScript
// wrapper validates them; the debug build asserts it again. An invalid handle
// is a broken invariant of the wrapper and aborts.
//
// Encoding, version 1 (every integer an unsigned LEB128 varint, canonical as
// leb128.ts describes):
//   u8      version, SEQSET_VERSION = 1
//   varint  n, the number of runs
//   n times, runs in ascending order:
//     varint  gap    = lo - end of the previous run (0 before the first run);
//                      >= 1 for the first run, >= 2 after it (adjacent runs merge)
//     varint  length = hi - lo + 1, >= 1
//   nothing after the last run; every run within [1, 2^53 - 1].
// Example: {1, 2, 3, 10} is 01 02 01 03 07 01; the empty set is 01 00.
// Decoding accepts exactly the bytes encoding produces, so encode(decode(b))
// equals b. It validates all input before touching the set, never reads past
// the input, and refuses a run count above half the remaining bytes (a run
// takes at least two), so a forged count cannot make it allocate.
import {
  SEQSET_VERSION,
  STATUS_BAD_FIELDS,
  STATUS_BAD_LENGTH,
  STATUS_BAD_VERSION,
  STATUS_TRUNCATED,
} from "./format";
import { readVarint, varintSize64, varintValue, writeVarint } from "./leb128";
import {
  buildBalanced,
  deleteRun,
  firstRun,
  firstRunFrom,
  insertRun,
  lastRun,
  newRun,
  releaseTree,
  Run,
  walkFrom,
  walkNext,
} from "./runtree";

const MAX_SEQ: u64 = 9007199254740991;

@unmanaged
class SetHeader {
  root: usize;
  runs: u32;
  count: u64;
  nextFree: i32;
  live: i32;
}

const HEADER_BYTES: usize = 24;

let headers: usize = 0;
let headerCapacity: i32 = 0;
let headersUsed: i32 = 0;
let freeHandles: i32 = 0;

@inline
function headerAt(set: i32): SetHeader {
  return changetype<SetHeader>(headers + <usize>(set - 1) * HEADER_BYTES);
}

function liveSet(set: i32): SetHeader {
  if (set < 1 || set > headersUsed || headerAt(set).live == 0) {
    abort("Invalid sequence set handle");
  }
  return headerAt(set);
}

@inline
function toSeq(value: f64): u64 {
  assert(value >= 1 && value <= <f64>MAX_SEQ && value == Math.floor(value));
  return <u64>value;
}

/** Creates an empty set; returns its handle (>= 1). */
export function seqsetNew(): i32 {
  let set = freeHandles;
  if (set != 0) {
    freeHandles = headerAt(set).nextFree;
  } else {
    if (headersUsed == headerCapacity) {
      let capacity = headerCapacity == 0 ? 64 : headerCapacity * 2;
      let bytes = <usize>capacity * HEADER_BYTES;
      headers = headers == 0 ? heap.alloc(bytes) : heap.realloc(headers, bytes);
      headerCapacity = capacity;
    }
    set = ++headersUsed;
  }
  let header = headerAt(set);
  header.root = 0;
  header.runs = 0;
  header.count = 0;
  header.nextFree = 0;
  header.live = 1;
  return set;
}

/** Frees the set and returns all its nodes to the pool; the handle may be reused. */
export function seqsetFree(set: i32): void {
  let header = liveSet(set);
  releaseTree(header.root);
  header.root = 0;
  header.live = 0;
  header.nextFree = freeHandles;
  freeHandles = set;
}

/** Empties the set. */
export function seqsetClear(set: i32): void {
  let header = liveSet(set);
  releaseTree(header.root);
  header.root = 0;
  header.runs = 0;
  header.count = 0;
}

/** Adds `seq`; returns 1 if it was absent, 0 if already present. */
export function seqsetAdd(set: i32, seq: f64): i32 {
  let header = liveSet(set);
  let x = toSeq(seq);
  let before: usize = 0;
  let after: usize = 0;
  let node = header.root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (x < run.lo) {
      after = node;
      node = run.left;
    } else if (x > run.hi) {
      before = node;
      node = run.right;
    } else {
      return 0;
    }
  }
  let joinsBefore = before != 0 && changetype<Run>(before).hi + 1 == x;
  let joinsAfter = after != 0 && changetype<Run>(after).lo == x + 1;
  if (joinsBefore && joinsAfter) {
    changetype<Run>(before).hi = changetype<Run>(after).hi;
    header.root = deleteRun(header.root, changetype<Run>(after).lo);
    header.runs--;
  } else if (joinsBefore) {
    changetype<Run>(before).hi = x;
  } else if (joinsAfter) {
    changetype<Run>(after).lo = x;
  } else {
    header.root = insertRun(header.root, newRun(x, x));
    header.runs++;
  }
  header.count++;
  return 1;
}

@inline
function overlap(run: Run, lo: u64, hi: u64): u64 {
  let from = max(run.lo, lo);
  let to = min(run.hi, hi);
  return to >= from ? to - from + 1 : 0;
}

/** Adds every sequence of [lo, hi]; returns how many were absent. */
export function seqsetAddRange(set: i32, lo: f64, hi: f64): f64 {
  let header = liveSet(set);
  let a = toSeq(lo);
  let b = toSeq(hi);
  if (a > b) return 0;
  let first = firstRunFrom(header.root, a - 1);
  if (first == 0 || changetype<Run>(first).lo > b + 1) {
    header.root = insertRun(header.root, newRun(a, b));
    header.runs++;
    header.count += b - a + 1;
    return <f64>(b - a + 1);
  }
  // `first` touches [a, b]: it absorbs every later run that touches too, and
  // keeps its place in the tree because no other run lies in between.
  let keep = changetype<Run>(first);
  let covered = overlap(keep, a, b);
  let newHi = max(keep.hi, b);
  while (true) {
    let next = firstRunFrom(header.root, keep.hi + 1);
    if (next == 0 || changetype<Run>(next).lo > b + 1) break;
    let run = changetype<Run>(next);
    covered += overlap(run, a, b);
    newHi = max(newHi, run.hi);
    header.root = deleteRun(header.root, run.lo);
    header.runs--;
  }
  keep.lo = min(keep.lo, a);
  keep.hi = newHi;
  let added = b - a + 1 - covered;
  header.count += added;
  return <f64>added;
}

/** Removes `seq`, splitting its run when needed; returns 1 if it was present. */
export function seqsetRemove(set: i32, seq: f64): i32 {
  let header = liveSet(set);
  let x = toSeq(seq);
  let node = header.root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (x < run.lo) node = run.left;
    else if (x > run.hi) node = run.right;
    else break;
  }
  if (node == 0) return 0;
  let run = changetype<Run>(node);
  if (run.lo == run.hi) {
    header.root = deleteRun(header.root, x);
    header.runs--;
  } else if (x == run.lo) {
    run.lo = x + 1;
  } else if (x == run.hi) {
    run.hi = x - 1;
  } else {
    let tail = newRun(x + 1, run.hi);
    run.hi = x - 1;
    header.root = insertRun(header.root, tail);
    header.runs++;
  }
  header.count--;
  return 1;
}

/** 1 if `seq` is in the set, else 0. */
export function seqsetHas(set: i32, seq: f64): i32 {
  let x = toSeq(seq);
  let node = liveSet(set).root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (x < run.lo) node = run.left;
    else if (x > run.hi) node = run.right;
    else return 1;
  }
  return 0;
}

/** How many sequences the set holds. */
export function seqsetCount(set: i32): f64 {
  return <f64>liveSet(set).count;
}

/** How many runs the set holds. */
export function seqsetRunCount(set: i32): i32 {
  return <i32>liveSet(set).runs;
}

/** The smallest sequence, or 0 when empty. */
export function seqsetFirst(set: i32): f64 {
  let node = firstRun(liveSet(set).root);
  return node == 0 ? 0 : <f64>changetype<Run>(node).lo;
}

/** The largest sequence, or 0 when empty. */
export function seqsetLast(set: i32): f64 {
  let node = lastRun(liveSet(set).root);
  return node == 0 ? 0 : <f64>changetype<Run>(node).hi;
}

/**
 * Writes up to `capacity` runs holding sequences >= `from` (0 allowed) at `out` as
 * pairs of f64 (lo, hi), the first clipped to start at `from`; returns how
 * many. Fewer than `capacity` means the end; otherwise resume from the last hi + 1.
 */
export function seqsetRuns(set: i32, from: f64, out: usize, capacity: i32): i32 {
  let root = liveSet(set).root;
  assert(from >= 0 && from <= <f64>MAX_SEQ && from == Math.floor(from));
  let x = <u64>from;
  walkFrom(root, x);
  let n = 0;
  while (n < capacity) {
    let node = walkNext();
    if (node == 0) break;
    let run = changetype<Run>(node);
    let at = out + (<usize>n << 4);
    store<f64>(at, <f64>(run.lo > x ? run.lo : x));
    store<f64>(at, <f64>run.hi, 8);
    n++;
  }
  return n;
}

/** Bytes `seqsetEncode` writes for the set, or -STATUS_BAD_LENGTH beyond 2^31 - 1. */
export function seqsetEncodedSize(set: i32): i32 {
  let header = liveSet(set);
  let size = <u64>(1 + varintSize64(header.runs));
  let end: u64 = 0;
  walkFrom(header.root, 0);
  let node = walkNext();
  while (node != 0) {
    let run = changetype<Run>(node);
    size += <u64>(varintSize64(run.lo - end) + varintSize64(run.hi - run.lo + 1));
    end = run.hi;
    node = walkNext();
  }
  return size > <u64>i32.MAX_VALUE ? -STATUS_BAD_LENGTH : <i32>size;
}

/**
 * Encodes the set into the `cap` bytes at `out`; returns the bytes written,
 * or -STATUS_TRUNCATED (with a partial encoding written) when `cap` is short.
 */
export function seqsetEncode(set: i32, out: usize, cap: i32): i32 {
  let header = liveSet(set);
  let stop = out + <usize>max(cap, 0);
  let p = out;
  if (p + 1 + <usize>varintSize64(header.runs) > stop) return -STATUS_TRUNCATED;
  store<u8>(p, <u8>SEQSET_VERSION);
  p += 1;
  p += writeVarint(p, header.runs);
  let end: u64 = 0;
  walkFrom(header.root, 0);
  let node = walkNext();
  while (node != 0) {
    let run = changetype<Run>(node);
    let gap = run.lo - end;
    let length = run.hi - run.lo + 1;
    if (p + <usize>(varintSize64(gap) + varintSize64(length)) > stop) return -STATUS_TRUNCATED;
    p += writeVarint(p, gap);
    p += writeVarint(p, length);
    end = run.hi;
    node = walkNext();
  }
  return <i32>(p - out);
}

// Decoder state shared by the validating pass and the building pass.
let cursor: usize = 0;
let limit: usize = 0;
let previousEnd: u64 = 0;
let runLo: u64 = 0;
let runHi: u64 = 0;

/** Reads the next run at `cursor` into runLo/runHi; returns 0 or a negated status. */
function readRun(): i32 {
  let read = readVarint(cursor, limit);
  if (read < 0) return read;
  cursor += read;
  let gap = varintValue;
  read = readVarint(cursor, limit);
  if (read < 0) return read;
  cursor += read;
  let length = varintValue;
  if (gap < (previousEnd == 0 ? 1 : 2) || length == 0) return -STATUS_BAD_FIELDS;
  if (gap > MAX_SEQ - previousEnd) return -STATUS_BAD_FIELDS;
  let lo = previousEnd + gap;
  if (length - 1 > MAX_SEQ - lo) return -STATUS_BAD_FIELDS;
  runLo = lo;
  runHi = lo + length - 1;
  previousEnd = runHi;
  return 0;
}

function takeRun(): usize {
  readRun();
  return newRun(runLo, runHi);
}

/**
 * Replaces the set's contents with the `len` encoded bytes at `ptr`; returns
 * the number of runs, or a negated status (STATUS_TRUNCATED, STATUS_BAD_VERSION,
 * STATUS_VARINT_OVERLONG, STATUS_VARINT_OVERFLOW, STATUS_BAD_FIELDS,
 * STATUS_BAD_LENGTH for bytes after the last run) with the set unchanged.
 */
export function seqsetDecode(set: i32, ptr: usize, len: i32): i32 {
  let header = liveSet(set);
  if (len <= 0) return -STATUS_TRUNCATED;
  if (<u32>load<u8>(ptr) != SEQSET_VERSION) return -STATUS_BAD_VERSION;
  cursor = ptr + 1;
  limit = ptr + <usize>len;
  let read = readVarint(cursor, limit);
  if (read < 0) return read;
  cursor += read;
  let runs = varintValue;
  if (runs > <u64>((limit - cursor) >> 1)) return -STATUS_TRUNCATED;
  let body = cursor;
  let count: u64 = 0;
  previousEnd = 0;
  for (let i: u64 = 0; i < runs; i++) {
    let status = readRun();
    if (status < 0) return status;
    count += runHi - runLo + 1;
  }
  if (cursor != limit) return -STATUS_BAD_LENGTH;
  releaseTree(header.root);
  cursor = body;
  previousEnd = 0;
  header.root = buildBalanced(<u32>runs, takeRun);
  header.runs = <u32>runs;
  header.count = count;
  return <i32>runs;
}
