/**
 * Where a read found a record: one object reused by every read (a read per
 * message allocated one each), valid until the next read.
 */
import type { CachedBlock } from "./block-cache.ts";

/** A record's place in core memory: `available` bytes from `ptr`, at `offset` of its block. @internal */
export interface RecordLocation {
  ptr: number;
  available: number;
  offset: number;
  /** The cached block holding the record when its bytes were verified since they were read (see CachedBlock). */
  trusted: CachedBlock | null;
}

const location: RecordLocation = { ptr: 0, available: 0, offset: 0, trusted: null };

export function located(
  ptr: number,
  available: number,
  offset: number,
  trusted: CachedBlock | null,
): RecordLocation {
  location.ptr = ptr;
  location.available = available;
  location.offset = offset;
  location.trusted = trusted;
  return location;
}
