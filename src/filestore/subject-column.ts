/**
 * A block's subject-id column (see Block.subjectIds) built from its bytes in
 * core memory. One core call per chunk of records groups them by subject
 * bytes (assembly/subject-groups.ts); only each group's first record is
 * turned into a subject id here, so a block of 50,000 records on 1,000
 * subjects resolves 1,000 subjects, and the rest is a typed-array copy.
 * Resolving each record in JavaScript (a hash lookup and a string comparison
 * per record) was most of a filtered scan's time.
 */
import {
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SUBJECT_LEN,
  REC_TTL_SIZE,
} from "../format.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import { readSubject } from "./message-reader.ts";
import { NO_SUBJECT, type SubjectTotals } from "./subject-totals.ts";

/** Records grouped per core call: bounds the scratch memory, not the block. */
const CHUNK = 65536;
/** Table slots to start with: a block's usual few thousand subjects need no growth. */
const FIRST_SLOTS = 4096;

export interface SubjectColumn {
  /** Subject id by `seq - first`; NO_SUBJECT where there is no message or its subject has none left. */
  column: Uint32Array;
  /** The distinct ids in `column`. */
  ids: Set<number>;
}

/**
 * Builds and sets `block`'s subject-id column and the set of its ids from
 * its bytes in core memory (`verified`: every record checked since read).
 */
export function fillSubjectColumn(
  block: Block,
  bytes: { ptr: number; length: number; verified: boolean },
  subjects: SubjectTotals,
  idsByHash: Map<number, number>,
): Uint32Array {
  // loadBlock indexed a sealed block, open and appends the active one; an index
  // still missing holds no record (open verified none in a block the checkpoint counted).
  const offsets = block.offsets ?? new Uint32Array(0);
  const count = Math.max(0, block.last - block.first + 1);
  const { ptr, length, verified } = bytes;
  const built = buildSubjectColumn(ptr, length, offsets, count, !verified, subjects, idsByHash);
  block.subjectIds = built.column;
  block.subjectIdSet = built.ids;
  block.lastMatch = null;
  return built.column;
}

/**
 * The subject ids of the `count` records at `offsets` (a block's offset
 * index, NO_RECORD where it has none; none past its end) in the `length` bytes at `ptr`.
 * A subject with no message left (a removed message's) gets NO_SUBJECT,
 * and so, with `verify` (bytes not verified since they were read), does a
 * record that fails verification: filters pass over it.
 * `idsByHash` maps the core's subject hash to the id last seen with it,
 * so a known subject costs no string; it is checked against the bytes.
 */
export function buildSubjectColumn(
  ptr: number,
  length: number,
  offsets: Uint32Array,
  count: number,
  verify: boolean,
  subjects: SubjectTotals,
  idsByHash: Map<number, number>,
): SubjectColumn {
  const core = getCore();
  const column = new Uint32Array(Math.max(1, count)).fill(NO_SUBJECT);
  const ids = new Set<number>();
  const indexed = Math.min(count, offsets.length);
  let resolved = 0;
  const cells = core.alloc(Math.min(indexed, CHUNK) * 4 + 4);
  const state = cells + Math.min(indexed, CHUNK) * 4;
  let slots = FIRST_SLOTS;
  let groups = allocGroups(slots);
  try {
    core.u32[state >>> 2] = 0;
    core.abi.subjectGroupsRehash(groups.hashes, 0, groups.table, slots);
    for (let start = 0; start < indexed; start += CHUNK) {
      const n = Math.min(CHUNK, indexed - start);
      core.u32.set(offsets.subarray(start, start + n), cells >>> 2);
      for (let done = 0; done < n; ) {
        done += core.abi.subjectGroups(
          ptr,
          length,
          cells + done * 4,
          n - done,
          state,
          groups.firsts,
          groups.hashes,
          groups.table,
          slots,
          verify,
        );
        const total = core.u32[state >>> 2];
        for (let g = resolved; g < total; g++) {
          const id = subjectIdAt(ptr, core.u32[(groups.firsts >>> 2) + g], subjects, idsByHash);
          core.u32[(groups.ids >>> 2) + g] = id;
          if (id !== NO_SUBJECT) ids.add(id);
        }
        resolved = total;
        if (done < n) {
          const grown = allocGroups(slots * 2);
          const u32 = core.u32;
          u32.copyWithin(grown.firsts >>> 2, groups.firsts >>> 2, (groups.firsts >>> 2) + total);
          u32.copyWithin(grown.hashes >>> 2, groups.hashes >>> 2, (groups.hashes >>> 2) + total);
          u32.copyWithin(grown.ids >>> 2, groups.ids >>> 2, (groups.ids >>> 2) + total);
          core.free(groups.ptr);
          groups = grown;
          slots *= 2;
          core.abi.subjectGroupsRehash(groups.hashes, total, groups.table, slots);
        }
      }
      core.abi.subjectGroupsMap(cells, n, groups.ids);
      column.set(core.u32.subarray(cells >>> 2, (cells >>> 2) + n), start);
    }
  } finally {
    core.free(groups.ptr);
    core.free(cells);
  }
  return { column, ids };
}

interface Groups {
  ptr: number;
  table: number;
  firsts: number;
  hashes: number;
  /** The subject id of each group. */
  ids: number;
}

/** Scratch for `slots` table slots and half as many groups, in one allocation. */
function allocGroups(slots: number): Groups {
  const table = getCore().alloc(slots * 8 + (slots / 2) * 12);
  const firsts = table + slots * 8;
  const hashes = firsts + slots * 2;
  return { ptr: table, table, firsts, hashes, ids: hashes + slots * 2 };
}

/** The subject id of the record at `ptr + offset`. */
function subjectIdAt(
  ptr: number,
  offset: number,
  subjects: SubjectTotals,
  idsByHash: Map<number, number>,
): number {
  const core = getCore();
  const u8 = core.u8;
  const rec = ptr + offset;
  const len = u8[rec + REC_OFF_SUBJECT_LEN] | (u8[rec + REC_OFF_SUBJECT_LEN + 1] << 8);
  const at = rec + REC_HEADER_SIZE + (u8[rec + REC_OFF_FLAGS] & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
  const hash = core.abi.subjectHash(at, len);
  const known = idsByHash.get(hash);
  if (known !== undefined) {
    const subject = subjects.subjectOf(known);
    if (subject !== undefined && sameSubject(u8, subject, at, len)) return known;
  }
  const subject = readSubject(at, len);
  const entry = subjects.get(subject);
  // A removed message whose subject has no message left.
  if (entry === undefined) return NO_SUBJECT;
  const id = subjects.idOf(subject, entry);
  idsByHash.set(hash, id);
  return id;
}

/** True when the ASCII or UTF-8 bytes at `at` spell `subject`. */
function sameSubject(u8: Uint8Array, subject: string, at: number, len: number): boolean {
  // Only an all-ASCII subject has as many UTF-16 units as UTF-8 bytes.
  if (subject.length !== len) return readSubject(at, len) === subject;
  for (let i = 0; i < len; i++) if (subject.charCodeAt(i) !== u8[at + i]) return false;
  return true;
}
