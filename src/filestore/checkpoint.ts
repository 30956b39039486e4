/**
 * The stream-state checkpoint (`index.ckpt`): what a clean open needs so it
 * does not read any block — per block its range, counts, deleted set, length
 * and the checksum of its last record, plus the last sequence ever issued and
 * the subject totals. Written atomically (temp file, fsync, rename, directory
 * fsync) on flush and close. A block whose file still has the recorded
 * length and last checksum is trusted; anything after that length is
 * replayed. Version 2 adds the pending per-message TTLs; a store without
 * any writes version 1. Unlike nats-server's index.db, a write after the checkpoint does
 * not make the whole checkpoint stale — only the tail past it is scanned.
 * Layout in FORMAT.md ("Checkpoint").
 */
import { ByteReader, ByteWriter, sameBytes } from "../bytes.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import { getCore } from "../wasm/core.ts";
import { CheckpointSubjects } from "./checkpoint-subjects.ts";

export const CHECKPOINT_MAGIC = 0x4b43534a; // "JSCK"
export const CHECKPOINT_VERSION = 2;
export const CHECKPOINT_FILE = "index.ckpt";
/** The xxHash64 of the body that ends every checkpoint. */
export const CHECKPOINT_CHECKSUM_SIZE = 8;

export interface BlockCheckpoint {
  n: number;
  first: number;
  last: number;
  firstTs: bigint;
  lastTs: bigint;
  msgs: number;
  bytes: number;
  /** Block file length covered by this checkpoint. */
  length: number;
  /** The 8 checksum bytes ending at `length` (empty when the block has no record). */
  lastChecksum: Uint8Array;
  tombstones: number;
  lowestTombstone: number;
  /** The block's deleted sequence set, encoded. */
  deleted: Uint8Array;
}

export interface SubjectTotal {
  subject: string;
  msgs: number;
  first: number;
  last: number;
}

/** Subject totals that write their own entries (see `SubjectTotals.checkpointEntries`). */
export interface SubjectEntries {
  readonly count: number;
  /** About the bytes `write` takes. */
  readonly size: number;
  /** Writes `count` entries: the subject as a u32 length and its bytes, then u64 msgs, first, last. */
  write(w: ByteWriter): void;
}

export interface Checkpoint {
  lastSeq: number;
  lastTs: bigint;
  blocks: BlockCheckpoint[];
  /** Kept compact: subjects are made into strings when a query asks for them. */
  subjects: CheckpointSubjects;
  /** Messages waiting to expire: [sequence, expiry in ms]. */
  ttls: Array<[number, number]>;
  /** Messages whose TTL is "never". */
  never: number[];
}

/** What `encodeCheckpoint` writes: a checkpoint whose subjects are a list or write themselves. */
export interface CheckpointToWrite extends Omit<Checkpoint, "subjects"> {
  subjects: SubjectTotal[] | SubjectEntries;
}

export function encodeCheckpoint(c: CheckpointToWrite): Uint8Array {
  const subjectBytes = Array.isArray(c.subjects) ? 0 : c.subjects.size;
  const w = new ByteWriter(1024 + c.blocks.length * 128 + subjectBytes + c.ttls.length * 16);
  // Without TTLs the checkpoint is version 1, which jetstore before TTLs still reads.
  const withTtls = c.ttls.length > 0 || c.never.length > 0;
  w.u32(CHECKPOINT_MAGIC)
    .u16(withTtls ? CHECKPOINT_VERSION : 1)
    .u16(0);
  w.u64(c.lastSeq).i64(c.lastTs);
  w.u32(c.blocks.length);
  for (const b of c.blocks) {
    w.u64(b.n).u64(b.first).u64(b.last).i64(b.firstTs).i64(b.lastTs);
    w.u64(b.msgs).u64(b.bytes).u64(b.length).bytes(b.lastChecksum);
    w.u64(b.tombstones).u64(b.lowestTombstone).bytes(b.deleted);
  }
  if (Array.isArray(c.subjects)) {
    w.u32(c.subjects.length);
    for (const s of c.subjects) w.string(s.subject).u64(s.msgs).u64(s.first).u64(s.last);
  } else {
    w.u32(c.subjects.count);
    c.subjects.write(w);
  }
  if (withTtls) {
    w.u32(c.ttls.length);
    for (const [seq, at] of c.ttls) w.u64(seq).u64(at);
    w.u32(c.never.length);
    for (const seq of c.never) w.u64(seq);
  }
  // The checksum goes after the body in the same buffer: a large checkpoint is not copied again.
  w.raw(checksum(w.written()));
  return w.written();
}

export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  if (bytes.length < 16)
    throw corrupt(`Checkpoint ${file} is too short (${bytes.length} bytes)`, { file, offset: 0 });
  const body = bytes.subarray(0, bytes.length - CHECKPOINT_CHECKSUM_SIZE);
  const stored = bytes.subarray(bytes.length - CHECKPOINT_CHECKSUM_SIZE);
  // One copy in core memory serves the checksum and the walk of the subjects.
  const core = getCore();
  const inCore = core.alloc(body.length);
  try {
    core.u8.set(body, inCore);
    // The checksum first: a flipped bit in the version field is damage (the blocks are
    // scanned instead), not a newer format that refuses the whole store. Every version
    // keeps this trailing checksum, so the two stay apart (FORMAT.md).
    if (!sameBytes(checksumInCore(inCore, body.length), 0, stored, 0, stored.length)) {
      throw corrupt(`Checkpoint ${file} fails its checksum`, { file, offset: body.length });
    }
    return decodeBody(body, file, inCore);
  } finally {
    core.free(inCore);
  }
}

/** The checkpoint's body, its checksum passed; `inCore` is where a copy of it sits in core memory. */
function decodeBody(body: Uint8Array, file: string, inCore: number): Checkpoint {
  const r = new ByteReader(body, `Checkpoint ${file}`, file);
  if (r.u32() !== CHECKPOINT_MAGIC)
    throw corrupt(`${file} is not a jetstore checkpoint`, { file, offset: 0 });
  const version = r.u16();
  if (version > CHECKPOINT_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `Checkpoint ${file} has format version ${version}; this jetstore reads up to ${CHECKPOINT_VERSION}`,
      { file },
    );
  }
  r.u16();
  const lastSeq = r.u64();
  const lastTs = r.i64();
  const blocks: BlockCheckpoint[] = [];
  for (let i = r.u32(); i > 0; i--) {
    blocks.push({
      n: r.u64(),
      first: r.u64(),
      last: r.u64(),
      firstTs: r.i64(),
      lastTs: r.i64(),
      msgs: r.u64(),
      bytes: r.u64(),
      length: r.u64(),
      lastChecksum: r.bytes().slice(),
      tombstones: r.u64(),
      lowestTombstone: r.u64(),
      deleted: r.bytes().slice(),
    });
  }
  const count = r.u32();
  const section = CheckpointSubjects.read(body, r.offset, count, file, inCore);
  r.offset = section.end;
  const subjects = section.subjects;
  const ttls: Array<[number, number]> = [];
  const never: number[] = [];
  if (version >= 2) {
    for (let i = r.u32(); i > 0; i--) ttls.push([r.u64(), r.u64()]);
    for (let i = r.u32(); i > 0; i--) never.push(r.u64());
  }
  if (r.remaining !== 0)
    throw corrupt(`Checkpoint ${file} has ${r.remaining} trailing bytes`, {
      file,
      offset: r.offset,
    });
  return { lastSeq, lastTs, blocks, subjects, ttls, never };
}

/** xxHash64 (seed 0) of `bytes`, little-endian, computed by the core. */
function checksum(bytes: Uint8Array): Uint8Array {
  const core = getCore();
  const ptr = core.alloc(Math.max(bytes.length, 1));
  try {
    core.u8.set(bytes, ptr);
    return checksumInCore(ptr, bytes.length);
  } finally {
    core.free(ptr);
  }
}

/** xxHash64 (seed 0) of the `length` bytes at `ptr` in core memory. */
function checksumInCore(ptr: number, length: number): Uint8Array {
  const core = getCore();
  core.abi.xxh64(ptr, length, 0, 0);
  const at = core.abi.xxh64Result();
  return core.u8.slice(at, at + 8);
}
