/**
 * The typed shape of the WebAssembly core's exports: the flat ABI of assembly/.
 * Pointers and lengths are i32 (numbers), sequences and counts f64 (exact for
 * safe integers), 64-bit timestamps travel as two u32 halves or in memory so no
 * call creates a BigInt.
 */

/** Memory management (assembly/memory.ts). */
export interface MemoryAbi {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
}

/** xxHash64 (assembly/xxhash64.ts); the result lands in the 8-byte slot at `xxh64Result()`. */
export interface XxHashAbi {
  xxh64(ptr: number, len: number, seedHi: number, seedLo: number): void;
  xxh64Result(): number;
}

/**
 * One record (assembly/record.ts). Each returns the record length or a negated
 * STATUS_*; `recordDecode` (and `recordLocate`, which skips the checksum of
 * bytes verified since they were read) fills the area at `recordDecoded()`:
 * 0 seq f64, 8 ts i64, 16 ttl f64 (-1 if none), 24 length u32, 28 flags u32,
 * 32/36 subject address/length, 40/44 headers, 48/52 payload (u32 each),
 * 56 the subject's intern slot i32 (-1 none).
 */
export interface RecordAbi {
  recordSeal(
    dst: number,
    seq: number,
    ts: bigint,
    subjectLen: number,
    hdrLen: number,
    msgLen: number,
    flags: number,
    ttl: number,
  ): number;
  recordSealBare(
    dst: number,
    seq: number,
    tsHi: number,
    tsLo: number,
    msgLen: number,
    flags: number,
  ): number;
  recordDecode(ptr: number, available: number): number;
  recordLocate(ptr: number, available: number): number;
  recordDecoded(): number;
}

/**
 * Subjects interned by their bytes (assembly/intern.ts): `subjectSlot`
 * finds one (-1 when absent), `subjectIntern` puts one in a slot and returns
 * it (-1 when longer than the table keeps); the caller keeps each slot's string.
 */
export interface InternAbi {
  subjectSlot(ptr: number, len: number): number;
  subjectIntern(ptr: number, len: number): number;
}

/**
 * Block scan (assembly/scan.ts): returns the count of records written to the
 * columns; `scanResult()` holds 0 stop offset u32, 4 status i32. `hashOut` 0
 * skips subject hashes.
 */
export interface ScanAbi {
  scanRecords(
    buf: number,
    len: number,
    start: number,
    maxRecords: number,
    seqOut: number,
    tsOut: number,
    offsetOut: number,
    lengthOut: number,
    flagsOut: number,
    hashOut: number,
  ): number;
  scanResult(): number;
  /** A block's offset index (assembly/scan.ts); the result area as scanRecords leaves it. */
  indexRecords(
    buf: number,
    len: number,
    start: number,
    first: number,
    count: number,
    indexOut: number,
  ): number;
  subjectHash(ptr: number, len: number): number;
  /** Rows locating a run of verified records for a scan (assembly/record-run.ts). */
  locateRun(
    buf: number,
    len: number,
    start: number,
    maxBytes: number,
    maxRecords: number,
    out: number,
  ): number;
}

/**
 * Unsigned LEB128 varints of u64 (assembly/varint.ts), canonical only. A u64
 * travels as (hi, lo) u32 halves, or as f64 for a safe integer; `varintRead`
 * stores the value at `out` as a little-endian u64 and returns the bytes
 * consumed or a negated STATUS_*.
 */
export interface VarintAbi {
  varintSize(hi: number, lo: number): number;
  varintWrite(ptr: number, hi: number, lo: number): number;
  varintWriteF64(ptr: number, value: number): number;
  varintRead(ptr: number, len: number, out: number): number;
}

/**
 * Range-compressed sequence sets (assembly/seqset.ts) behind i32 handles.
 * Sequences are safe integers >= 1 as f64; `seqsetRuns` writes (lo, hi) f64
 * pairs; encode/decode return a byte or run count or a negated STATUS_*.
 */
export interface SeqsetAbi {
  seqsetNew(): number;
  seqsetFree(set: number): void;
  seqsetClear(set: number): void;
  seqsetAdd(set: number, seq: number): number;
  seqsetAddRange(set: number, lo: number, hi: number): number;
  seqsetRemove(set: number, seq: number): number;
  seqsetHas(set: number, seq: number): number;
  seqsetCount(set: number): number;
  seqsetRunCount(set: number): number;
  seqsetFirst(set: number): number;
  seqsetLast(set: number): number;
  seqsetRuns(set: number, from: number, out: number, capacity: number): number;
  seqsetEncodedSize(set: number): number;
  seqsetEncode(set: number, out: number, cap: number): number;
  seqsetDecode(set: number, ptr: number, len: number): number;
}

/**
 * Snappy's raw format (assembly/snappy.ts). `snappyCompress` needs room for
 * `snappyMaxCompressedLength(len)` bytes at `dst` and returns the compressed
 * length; `snappyUncompress` returns STATUS_OK or a negated STATUS_*.
 */
export interface SnappyAbi {
  snappyMaxCompressedLength(len: number): number;
  snappyCompress(src: number, len: number, dst: number): number;
  snappyCompressFast(src: number, len: number, dst: number): number;
  snappyUncompress(src: number, srcLen: number, dst: number, dstLen: number): number;
}

/**
 * ChaCha20-Poly1305, RFC 8439 (assembly/chacha20poly1305.ts). `chachaSeal`
 * writes `len + 16` bytes (ciphertext, tag) at `dst`; `chachaOpen` reads
 * `sealedLen` bytes and returns 1 with the plaintext at `dst`, or 0 having
 * written nothing. `dst` may equal `src`.
 */
export interface ChaChaAbi {
  chachaSeal(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    src: number,
    len: number,
    dst: number,
  ): void;
  chachaOpen(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    src: number,
    sealedLen: number,
    dst: number,
  ): number;
}

/**
 * Restore's bulk path (assembly/archive.ts): archive message records to block
 * records; returns the count; `archiveResult()` holds 0 source offset u32,
 * 4 block bytes used u32, 8 why it stopped u32 (0 end, 1 full, 2 another
 * kind of record, 3 meta full). Five u32 per record at `meta`: block offset,
 * length, subject hash, subject offset in the source, subject length.
 */
export interface ArchiveAbi {
  archiveToBlock(
    src: number,
    srcLen: number,
    at: number,
    dst: number,
    used: number,
    cap: number,
    next: number,
    meta: number,
    metaCap: number,
  ): number;
  archiveResult(): number;
  /**
   * The other way, for snapshots: the verified message records at `count`
   * u32 offsets (at `offsets`) of a block, sequences from `first`, as
   * archive records at `dst` (room `cap`); returns the count, the result's
   * second word the bytes written.
   */
  blockToArchive(
    block: number,
    blockLen: number,
    offsets: number,
    count: number,
    first: number,
    dst: number,
    cap: number,
  ): number;
}

/**
 * The checkpoint's subject entries walked at open (assembly/checkpoint.ts):
 * per entry its offset, subject hash and a non-ASCII flag; returns how many
 * are flagged, or -1 (ends early) / -2 (an integer out of range) with the
 * entry's index and offset as two u32 at `subjectsWalkResult()`.
 */
export interface CheckpointAbi {
  subjectsWalk(
    bytes: number,
    len: number,
    at: number,
    count: number,
    starts: number,
    hashes: number,
    nonAscii: number,
  ): number;
  subjectsWalkResult(): number;
}

/**
 * A block's records grouped by subject bytes (assembly/subject-groups.ts):
 * the u32 record offsets at `column` become group numbers (0xffffffff none),
 * each new group's first record offset and a hash of its subject (the
 * table's own) written at `firsts` and `hashes`, the group count kept in the u32 at `state`; returns how many
 * offsets were replaced (it stops when the groups fill half of `table`'s
 * `slots`, which `subjectGroupsRehash` rebuilds at a larger size); with
 * `verify`, a record failing verification has no group.
 */
export interface SubjectGroupsAbi {
  subjectGroups(
    buf: number,
    len: number,
    column: number,
    count: number,
    state: number,
    firsts: number,
    hashes: number,
    table: number,
    slots: number,
    verify: boolean,
  ): number;
  subjectGroupsRehash(hashes: number, groups: number, table: number, slots: number): void;
  /** Group numbers at `column` to the u32s at `ids` they index (0xffffffff stays). */
  subjectGroupsMap(column: number, count: number, ids: number): void;
}

/** Everything the core exports; each area adds its own interface here. */
export type CoreAbi = MemoryAbi &
  XxHashAbi &
  RecordAbi &
  InternAbi &
  ScanAbi &
  VarintAbi &
  SeqsetAbi &
  SnappyAbi &
  ChaChaAbi &
  ArchiveAbi &
  CheckpointAbi &
  SubjectGroupsAbi;
