// A block's records grouped by their subject's bytes, for the block's
// subject-id column (src/filestore/subject-column.ts). Turning every record's
// subject into an id in JavaScript (a hash lookup and a string comparison per
// record) was most of a filtered scan; here a record costs a hash and a byte
// comparison, and JavaScript then resolves one subject per group.
import {
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SUBJECT_LEN,
  REC_TTL_SIZE,
} from "./format";
import { recordDecode } from "./record";

/** No group: no record at that place, or one without a subject. */
const NO_GROUP: u32 = 0xffffffff;
const NOT_SUBJECT: u32 = REC_FLAG_TOMBSTONE | REC_FLAG_SKIP | REC_FLAG_ERASED;

/** Where the subject of the record at `rec` starts, or 0 when it has none or runs past `end`. */
// @ts-expect-error: decorator
@inline
function subjectAt(rec: usize, end: usize): usize {
  if (rec + <usize>REC_HEADER_SIZE + <usize>REC_TTL_SIZE > end) return 0;
  const flags = <u32>load<u8>(rec, REC_OFF_FLAGS);
  if (flags & NOT_SUBJECT) return 0;
  const at = rec + <usize>REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? <usize>REC_TTL_SIZE : 0);
  if (at + <usize>load<u16>(rec, REC_OFF_SUBJECT_LEN) > end) return 0;
  return at;
}

/**
 * A hash of a subject for this table alone: eight bytes at a time, then
 * MurmurHash3's finalizer (xxHash64 cost twice as much on short subjects).
 */
// @ts-expect-error: decorator
@inline
function groupHash(ptr: usize, len: usize): u32 {
  let h: u64 = <u64>len * 0x9e3779b97f4a7c15;
  let p = ptr;
  const end = ptr + len;
  for (; p + 8 <= end; p += 8) {
    h = (h ^ load<u64>(p)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
  }
  let tail: u64 = 0;
  for (let shift: u64 = 0; p < end; p++, shift += 8) tail |= <u64>load<u8>(p) << shift;
  h ^= tail;
  h = (h ^ (h >> 33)) * 0xff51afd7ed558ccd;
  h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53;
  return <u32>(h ^ (h >> 33));
}

// @ts-expect-error: decorator
@inline
function sameBytes(a: usize, b: usize, len: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= len; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < len; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * Replaces each of the `count` u32 record offsets at `column` (0xffffffff
 * for none) into the `len` bytes at `buf` by its record's group: records
 * whose subjects have the same bytes share one, numbered from 0 in order of
 * first appearance; NO_GROUP for no record, a tombstone, skip or erased
 * record, or a header or subject running past `len`, and with `verify` a
 * record that fails verification (bytes not verified since they were read:
 * a filter passes over a damaged record, as the block scan it replaces did;
 * verified bytes are not checked twice).
 *
 * The groups so far are the u32 at `state`; each new one's first record
 * offset goes into the u32s at `firsts`, its subject's hash (groupHash)
 * into the u32s at `hashes`. `table`
 * holds them by hash in `slots` (a power of two) pairs of u32s: hash, group
 * + 1 (0 empty). So the table never fills, the call stops once the groups
 * reach half its slots, for the caller to grow it (subjectGroupsRehash) and
 * call again from where it stopped. Returns how many offsets it replaced.
 */
export function subjectGroups(
  buf: usize,
  len: u32,
  column: usize,
  count: u32,
  state: usize,
  firsts: usize,
  hashes: usize,
  table: usize,
  slots: u32,
  verify: bool,
): u32 {
  const end = buf + <usize>len;
  const mask = slots - 1;
  const full = slots >> 1;
  let groups = load<u32>(state);
  let i: u32 = 0;
  for (; i < count && groups < full; i++) {
    const cell = column + (<usize>i << 2);
    const offset = load<u32>(cell);
    const rec = buf + <usize>offset;
    const at = offset == NO_GROUP ? 0 : subjectAt(rec, end);
    // recordDecode, not the inlined checkRecord: verifying is the rare case (bytes
    // read back without their index), not worth a second copy of the checksum in
    // the core. It also fills the decode area, which no caller holds across this.
    if (at == 0 || (verify && recordDecode(rec, <u32>(end - rec)) < 0)) {
      store<u32>(cell, NO_GROUP);
      continue;
    }
    const n = <usize>load<u16>(rec, REC_OFF_SUBJECT_LEN);
    const hash = groupHash(at, n);
    let slot = hash & mask;
    let group = NO_GROUP;
    for (;;) {
      const entry = table + (<usize>slot << 3);
      const held = load<u32>(entry, 4);
      if (held == 0) {
        // A new subject: its group is the next number.
        group = groups++;
        store<u32>(entry, hash);
        store<u32>(entry, group + 1, 4);
        store<u32>(firsts + (<usize>group << 2), offset);
        store<u32>(hashes + (<usize>group << 2), hash);
        break;
      }
      if (load<u32>(entry) == hash) {
        const other = buf + <usize>load<u32>(firsts + (<usize>(held - 1) << 2));
        if (
          <usize>load<u16>(other, REC_OFF_SUBJECT_LEN) == n &&
          sameBytes(subjectAt(other, end), at, n)
        ) {
          group = held - 1;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    store<u32>(cell, group);
  }
  store<u32>(state, groups);
  return i;
}

/** Zeroes the `slots` pairs at `table` and enters the `groups` hashes at `hashes` (see subjectGroups). */
export function subjectGroupsRehash(hashes: usize, groups: u32, table: usize, slots: u32): void {
  memory.fill(table, 0, <usize>slots << 3);
  const mask = slots - 1;
  for (let g: u32 = 0; g < groups; g++) {
    const hash = load<u32>(hashes + (<usize>g << 2));
    let slot = hash & mask;
    while (load<u32>(table + (<usize>slot << 3), 4) != 0) slot = (slot + 1) & mask;
    const entry = table + (<usize>slot << 3);
    store<u32>(entry, hash);
    store<u32>(entry, g + 1, 4);
  }
}

/** Replaces each of the `count` group numbers at `column` by its u32 at `ids` (NO_GROUP stays). */
export function subjectGroupsMap(column: usize, count: u32, ids: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    const cell = column + (<usize>i << 2);
    const group = load<u32>(cell);
    if (group != NO_GROUP) store<u32>(cell, load<u32>(ids + (<usize>group << 2)));
  }
}
