// Subjects recently turned into strings, by their bytes: the TypeScript side
// keeps the string of each slot (src/filestore/message-reader.ts), so a read
// whose subject is here costs one comparison in linear memory and no string.
// Four slots per bucket, so hot subjects whose hashes collide do not evict
// each other on every read (with two, ~4 % of a 1,000-subject stream's reads
// missed, each building a string); the slot a new subject takes is chosen
// here and returned, and the TypeScript side mirrors nothing else.

/** Slots (a power of two): 8,192 covers a stream's usual few thousand subjects. */
const SLOTS: u32 = 8192;
/** Longer subjects are not interned (their reader builds a string each time). */
export const INTERN_MAX_BYTES: u32 = 64;
// Entry: 0 hash u32 · 4 length + 1 u32 (0 empty) · 8 the bytes.
const ENTRY: usize = 8 + <usize>INTERN_MAX_BYTES;

/** Slots per bucket (a power of two). */
const WAYS: u32 = 4;

let table: usize = 0;
/** A byte per bucket: which of its slots the next new subject replaces when it is full. */
let victims: usize = 0;

// @ts-expect-error: decorator
@inline
function entryAt(slot: u32): usize {
  return table + <usize>slot * ENTRY;
}

/**
 * A hash of a subject for this table alone: eight bytes at a time, as cheap
 * as a lookup must be (xxHash64 cost more than the rest of a decode).
 */
// @ts-expect-error: decorator
@inline
function internHash(ptr: usize, len: u32): u32 {
  let h: u64 = <u64>len * 0x9e3779b97f4a7c15;
  let p = ptr;
  const end = ptr + <usize>len;
  while (p + 8 <= end) {
    h = (h ^ load<u64>(p)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
    p += 8;
  }
  let tail: u64 = 0;
  let shift: u64 = 0;
  while (p < end) {
    tail |= <u64>load<u8>(p) << shift;
    shift += 8;
    p++;
  }
  // MurmurHash3's finalizer: every input bit reaches the low bits a slot is taken from.
  h ^= tail;
  h = (h ^ (h >> 33)) * 0xff51afd7ed558ccd;
  h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53;
  return <u32>(h ^ (h >> 33));
}

// @ts-expect-error: decorator
@inline
function sameBytes(a: usize, b: usize, len: u32): bool {
  let i: usize = 0;
  const n = <usize>len;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

// @ts-expect-error: decorator
@inline
function holds(slot: u32, ptr: usize, len: u32, hash: u32): bool {
  const e = entryAt(slot);
  return load<u32>(e) == hash && load<u32>(e, 4) == len + 1 && sameBytes(e + 8, ptr, len);
}

// @ts-expect-error: decorator
@inline
function find(ptr: usize, len: u32, hash: u32): i32 {
  const bucket = hash & (SLOTS - WAYS);
  for (let slot = bucket; slot < bucket + WAYS; slot++) {
    if (holds(slot, ptr, len, hash)) return <i32>slot;
  }
  return -1;
}

/** The slot holding the `len` bytes at `ptr`, or -1. */
// @ts-expect-error: decorator
@inline
export function findSubject(ptr: usize, len: u32): i32 {
  if (table == 0 || len > INTERN_MAX_BYTES) return -1;
  return find(ptr, len, internHash(ptr, len));
}

/** findSubject for the TypeScript side. */
export function subjectSlot(ptr: usize, len: u32): i32 {
  return findSubject(ptr, len);
}

/**
 * Puts the subject at `ptr` in a slot and returns it (the caller's string
 * for that slot replaces whatever was there), or -1 when it is too long.
 */
export function subjectIntern(ptr: usize, len: u32): i32 {
  if (len > INTERN_MAX_BYTES) return -1;
  const hash = internHash(ptr, len);
  if (table == 0) {
    table = heap.alloc(<usize>SLOTS * ENTRY);
    memory.fill(table, 0, <usize>SLOTS * ENTRY);
    victims = heap.alloc(<usize>(SLOTS / WAYS));
    memory.fill(victims, 0, <usize>(SLOTS / WAYS));
  }
  const found = find(ptr, len, hash);
  if (found >= 0) return found;
  const bucket = hash & (SLOTS - WAYS);
  // An empty slot first, else the slot whose turn it is; the turn moves past the slot taken,
  // so a bucket's last four subjects always hold its four slots.
  let slot = bucket;
  while (slot < bucket + WAYS && load<u32>(entryAt(slot), 4) != 0) slot++;
  const turn = victims + <usize>(bucket / WAYS);
  if (slot == bucket + WAYS) slot = bucket + (<u32>load<u8>(turn) & (WAYS - 1));
  store<u8>(turn, <u8>((slot + 1) & (WAYS - 1)));
  const e = entryAt(slot);
  store<u32>(e, hash);
  store<u32>(e, len + 1, 4);
  memory.copy(e + 8, ptr, len);
  return <i32>slot;
}
