/**
 * The subject totals a checkpoint recorded, kept as the checkpoint's own
 * bytes until asked for: an offset per entry and an open-addressing hash
 * table of entry indexes are all that open builds. Opening a store with a
 * million subjects then makes no string and no object per subject; an
 * entry becomes a `SubjectEntry` (see subject-totals.ts) when a query,
 * write or removal first names its subject, and is "taken" from here. The
 * next checkpoint copies the entries not taken as they are.
 *
 * The section is walked whole when the checkpoint is read (after its
 * checksum passed), so damage is found at open and never by a later query.
 */
import { type ByteWriter, sameBytes } from "../bytes.ts";
import { corrupt } from "../errors.ts";
import { getCore } from "../wasm/core.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
const EMPTY = -1;
/** u32 subject length, then u64 msgs, first and last around the subject bytes. */
const FIXED = 4 + 24;
/** What `subjectsWalk` returns for a damaged entry (assembly/checkpoint.ts). */
const WALK_ENDS_EARLY = -1;
const WALK_OUT_OF_RANGE = -2;
/** Entries per walk call: its output stays small whatever the count (a million subjects). */
const WALK_CHUNK = 1 << 16;

export class CheckpointSubjects {
  /** Entries recorded. */
  readonly count: number;
  /** Entries not taken yet. */
  live: number;
  /** Bytes of the entries not taken yet. */
  liveBytes: number;
  /** The checkpoint's subject entries, as written (see FORMAT.md, "Checkpoint"). */
  private readonly section: Uint8Array;
  /** Where each entry starts in `section`; `count + 1` offsets. */
  private readonly starts: Uint32Array;
  private readonly taken: Uint8Array;
  /** Entry index per slot, `EMPTY` where none; a power of two at least twice `count`. */
  private readonly table: Int32Array;
  private scratch = new Uint8Array(64);

  private constructor(section: Uint8Array, starts: Uint32Array, table: Int32Array) {
    this.count = starts.length - 1;
    this.live = this.count;
    this.liveBytes = section.length;
    this.section = section;
    this.starts = starts;
    this.taken = new Uint8Array(this.count);
    this.table = table;
  }

  /**
   * Reads `count` entries (u32 length, subject bytes, u64 msgs, first, last)
   * from `bytes` at `offset`; returns them and the offset past them.
   * `bytes` is kept (not copied): it must not change afterwards. `inCore`
   * is where a copy of `bytes` sits in core memory, if the caller has one
   * (the checkpoint's checksum is computed there): the walk reads it.
   */
  static read(
    bytes: Uint8Array,
    offset: number,
    count: number,
    file: string,
    inCore: number | null = null,
  ): { subjects: CheckpointSubjects; end: number } {
    const fail = (at: number, why: string) =>
      corrupt(`Checkpoint ${file} ${why} at offset ${at}`, { file, offset: at });
    // A count beyond what the bytes can hold is damage, not an allocation to make.
    if (count > (bytes.length - offset) / FIXED)
      throw fail(offset, "lists more subjects than it holds");
    const { starts, hashes, end } = walk(bytes, offset, count, fail, inCore);
    // An entry's length prefix and subject (all but its three u64s): the same bytes, the same subject.
    const named = (i: number) => starts[i + 1] - starts[i] - 24;
    const table = buildTable(hashes, (i, j) =>
      sameBytes(bytes, offset + starts[i], bytes, offset + starts[j], named(i)),
    );
    if (typeof table === "number") {
      throw fail(offset + starts[table], "lists a subject twice");
    }
    const subjects = new CheckpointSubjects(bytes.subarray(offset, end), starts, table);
    return { subjects, end };
  }

  /** The entry index of `subject` not taken yet, or -1. */
  find(subject: string): number {
    const length = this.encode(subject);
    const scratch = this.scratch;
    let h = 0x811c9dc5;
    for (let k = 0; k < length; k++) h = Math.imul(h ^ scratch[k], 0x01000193);
    const mask = this.table.length - 1;
    for (let slot = (h >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const i = this.table[slot];
      if (i === EMPTY) return -1;
      if (this.taken[i] === 0 && this.is(i, length)) return i;
    }
  }

  /** Marks entry `i` as handed over (to the live totals): it is no longer listed here. */
  take(i: number): void {
    if (this.taken[i] === 0) {
      this.taken[i] = 1;
      this.live--;
      this.liveBytes -= this.starts[i + 1] - this.starts[i];
    }
  }

  isTaken(i: number): boolean {
    return this.taken[i] === 1;
  }

  /** The subject of entry `i`, made into a string now. */
  subject(i: number): string {
    const from = this.starts[i] + 4;
    const to = this.starts[i + 1] - 24;
    const s = this.section;
    if (to - from > 64) return decoder.decode(s.subarray(from, to));
    let ascii = "";
    for (let k = from; k < to; k++) {
      if (s[k] >= 0x80) return decoder.decode(s.subarray(from, to));
      ascii += String.fromCharCode(s[k]);
    }
    return ascii;
  }

  msgs(i: number): number {
    return this.u64(this.starts[i + 1] - 24);
  }

  first(i: number): number {
    return this.u64(this.starts[i + 1] - 16);
  }

  last(i: number): number {
    return this.u64(this.starts[i + 1] - 8);
  }

  /** Writes the entries not taken, byte for byte as they were read. */
  writeLive(w: ByteWriter): void {
    if (this.live === this.count) {
      w.raw(this.section);
      return;
    }
    // Runs of entries not taken are copied whole.
    let run = -1;
    for (let i = 0; i <= this.count; i++) {
      const keep = i < this.count && this.taken[i] === 0;
      if (keep && run < 0) run = i;
      if (!keep && run >= 0) {
        w.raw(this.section.subarray(this.starts[run], this.starts[i]));
        run = -1;
      }
    }
  }

  private u64(at: number): number {
    const s = this.section;
    const lo = (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)) >>> 0;
    const hi = s[at + 4] | (s[at + 5] << 8) | (s[at + 6] << 16) | (s[at + 7] << 24);
    return lo + hi * 0x1_0000_0000;
  }

  /** Whether entry `i`'s subject is the `length` bytes in `scratch`. */
  private is(i: number, length: number): boolean {
    const from = this.starts[i] + 4;
    if (this.starts[i + 1] - 24 - from !== length) return false;
    return sameBytes(this.section, from, this.scratch, 0, length);
  }

  /** `subject` as UTF-8 into `scratch`; its length. */
  private encode(subject: string): number {
    if (this.scratch.length < subject.length * 3) this.scratch = new Uint8Array(subject.length * 3);
    for (let k = 0; k < subject.length; k++) {
      const c = subject.charCodeAt(k);
      if (c >= 0x80) return encoder.encodeInto(subject, this.scratch).written;
      this.scratch[k] = c;
    }
    return subject.length;
  }
}

/**
 * Walks the entries at `offset` by core calls (assembly/checkpoint.ts), a
 * chunk of entries at a time: their starts (relative to `offset`, one past
 * the last too) and subject hashes; throws at the first damaged entry, UTF-8
 * included, in entry order. `inCore` is where `bytes` already sits in core
 * memory, if it does; else the entries are copied there for the walk.
 */
function walk(
  bytes: Uint8Array,
  offset: number,
  count: number,
  fail: (at: number, why: string) => Error,
  inCore: number | null,
): { starts: Uint32Array; hashes: Uint32Array; end: number } {
  const core = getCore();
  const length = bytes.length - offset;
  const chunk = Math.min(count, WALK_CHUNK);
  // Per chunk: the starts (one more), the hashes, the non-ASCII flags.
  const room = (chunk + 1) * 4 + chunk * 4 + chunk;
  const copy = inCore === null ? core.alloc(length + room) : null;
  const out = copy === null ? core.alloc(room) : copy + ((length + 3) & ~3);
  const starts = new Uint32Array(count + 1);
  const hashes = new Uint32Array(count);
  try {
    if (copy !== null) core.u8.set(bytes.subarray(offset), copy);
    const entries = copy ?? (inCore as number) + offset;
    const startsOut = out >>> 2;
    const hashesOut = startsOut + chunk + 1;
    const flagsOut = out + (chunk * 2 + 1) * 4;
    let at = 0;
    for (let first = 0; first < count; first += chunk) {
      const n = Math.min(chunk, count - first);
      const outcome = core.abi.subjectsWalk(entries, length, at, n, out, hashesOut << 2, flagsOut);
      const u32 = core.u32;
      const result = core.abi.subjectsWalkResult() >>> 2;
      const walked = outcome < 0 ? u32[result] : n;
      starts.set(u32.subarray(startsOut, startsOut + walked), first);
      // An entry out of range was flagged before its integers were checked.
      const flagged = outcome === WALK_OUT_OF_RANGE ? walked + 1 : walked;
      if (outcome === WALK_OUT_OF_RANGE) starts[first + walked] = u32[startsOut + walked];
      if (outcome !== 0) {
        const u8 = core.u8;
        for (let i = 0; i < flagged; i++) {
          if (u8[flagsOut + i] === 0) continue;
          const from = offset + starts[first + i] + 4;
          const to = from + core.view.getUint32(entries + starts[first + i], true);
          try {
            decoder.decode(bytes.subarray(from, to));
          } catch {
            throw fail(from, "holds invalid UTF-8");
          }
        }
      }
      if (outcome === WALK_ENDS_EARLY) throw fail(offset + u32[result + 1], "ends early");
      if (outcome === WALK_OUT_OF_RANGE)
        throw fail(offset + u32[result + 1], "holds an out-of-range integer");
      hashes.set(u32.subarray(hashesOut, hashesOut + n), first);
      at = u32[startsOut + n];
    }
    starts[count] = at;
    return { starts, hashes, end: offset + at };
  } finally {
    core.free(copy ?? out);
  }
}

/**
 * The hash table of entry indexes (linear probing), or the index of an entry
 * whose subject an earlier one has (`same` decides). Entries go in by their
 * slot's high bits (a counting sort): the table's writes then move through
 * it instead of jumping all over, which was most of an open with a million
 * subjects.
 */
function buildTable(
  hashes: Uint32Array,
  same: (i: number, j: number) => boolean,
): Int32Array | number {
  const count = hashes.length;
  let size = 16;
  while (size < count * 2) size *= 2;
  const mask = size - 1;
  const shift = Math.max(0, Math.log2(size) - 10);
  const bucketStarts = new Uint32Array(1025);
  for (let i = 0; i < count; i++) bucketStarts[((hashes[i] & mask) >>> shift) + 1]++;
  for (let b = 1; b <= 1024; b++) bucketStarts[b] += bucketStarts[b - 1];
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[bucketStarts[(hashes[i] & mask) >>> shift]++] = i;
  const table = new Int32Array(size).fill(EMPTY);
  for (let k = 0; k < count; k++) {
    const i = order[k];
    for (let slot = hashes[i] & mask; ; slot = (slot + 1) & mask) {
      const j = table[slot];
      if (j === EMPTY) {
        table[slot] = i;
        break;
      }
      if (hashes[j] === hashes[i] && same(i, j)) return Math.max(i, j);
    }
  }
  return table;
}
