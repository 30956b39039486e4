/**
 * The errors both engines throw for the same case, worded once: a caller (or
 * a test comparing FileStore with MemStore) sees one message per case, never
 * one per engine. Every message starts "Cannot <action>", where the action
 * names the public method (`Action`), and says what the stream holds, so the
 * reader can tell a removed sequence from one past the end.
 */
import { JetStoreError } from "./errors.ts";
import { describeValue } from "./validate.ts";

/** What each public method does, as its error messages say it: "Cannot <action>: …". */
export const Action = {
  storeMsg: "store message",
  storeRawMsg: "store raw message",
  skipMsg: "skip message",
  skipMsgs: "skip messages",
  loadMsg: "load message",
  loadNextMsg: "load next message",
  loadLastMsg: "load last message",
  loadPrevMsg: "load previous message",
  removeMsg: "remove message",
  eraseMsg: "erase message",
  purge: "purge",
  compact: "compact",
  truncate: "truncate",
  state: "read state",
  filteredState: "read filtered state",
  subjectsState: "read subjects state",
  subjectsTotals: "read subject totals",
  numPending: "count pending messages",
  lastSeqs: "read last sequences",
  lastMsgs: "read last messages",
  subjectForSeq: "read the subject of a message",
  getSeqFromTime: "find a sequence by time",
  updateConfig: "update config",
  consumerStore: "create consumer store",
  consumer: "open consumer",
  snapshot: "snapshot",
  msgTtl: "read the TTL of a message",
  flush: "flush",
  sync: "sync",
  delete: "delete the store",
} as const;

/** Where a stream stands, for "no message" errors: "first sequence is 1, last is 9". */
export interface StreamRange {
  msgs: number;
  first: number;
  last: number;
}

function describeRange({ msgs, first, last }: StreamRange): string {
  return msgs === 0
    ? `the store is empty, last sequence is ${last}`
    : `first sequence is ${first}, last is ${last}`;
}

/** ErrStoreEOF: `seq` is past the last sequence. */
export function pastTheEnd(action: string, seq: number, last: number): JetStoreError {
  return new JetStoreError(
    "ErrStoreEOF",
    `Cannot ${action}: no message at sequence ${seq}, the last sequence is ${last}`,
  );
}

/** ErrStoreMsgNotFound: nothing is at `seq`, which was removed, skipped or never reached. */
export function noMessageAt(action: string, seq: number, range: StreamRange): JetStoreError {
  return new JetStoreError(
    "ErrStoreMsgNotFound",
    `Cannot ${action}: no message at sequence ${seq}, it was removed or never stored (${describeRange(range)})`,
  );
}

/**
 * The message at `seq` was lost to damage: its record failed verification
 * (or was cut off a torn tail). ErrCorrupt from any read while the store
 * still counts the message, ErrStoreMsgNotFound once it does not (a reopen
 * reported it in `state().lost`); both name the file and, when known, where
 * its damaged bytes start. FileStore only: nothing in memory is damaged.
 */
export function lostToDamage(
  code: "ErrCorrupt" | "ErrStoreMsgNotFound",
  seq: number,
  where: { file: string; offset?: number | undefined },
): JetStoreError {
  const at = where.offset === undefined ? "" : ` (damaged bytes at offset ${where.offset})`;
  return new JetStoreError(
    code,
    `Message ${seq} was lost to damage: its record in ${where.file} failed verification${at}`,
    where,
  );
}

/** ErrStoreEOF: no message matching `filter` at or after `start`. */
export function noMatchFrom(filter: string, start: number, range: StreamRange): JetStoreError {
  return new JetStoreError(
    "ErrStoreEOF",
    `Cannot ${Action.loadNextMsg}: no message matching ${describeValue(filter)} at or after sequence ${start} (${describeRange(range)})`,
  );
}

/** ErrStoreMsgNotFound: no message matches `filter` at all. */
export function noLastMatch(filter: string, range: StreamRange): JetStoreError {
  return new JetStoreError(
    "ErrStoreMsgNotFound",
    `Cannot ${Action.loadLastMsg}: no message matching ${describeValue(filter)} (${describeRange(range)})`,
  );
}

/** ErrStoreEOF: no message at or before `start`. */
export function nothingBefore(start: number, range: StreamRange): JetStoreError {
  return new JetStoreError(
    "ErrStoreEOF",
    `Cannot ${Action.loadPrevMsg}: no message at or before sequence ${start} (${describeRange(range)})`,
  );
}

/** "a", "b.*" — or the first three and how many there are. */
function describeFilters(filters: readonly string[]): string {
  const shown = filters.slice(0, 3).map(describeValue).join(", ");
  return filters.length <= 3 ? shown : `${shown}, … (${filters.length} filters)`;
}

/** ErrStoreEOF: no message matching any of `filters` at or after `start` (loadNextMsgMulti). */
export function noMultiMatchFrom(
  filters: readonly string[],
  start: number,
  range: StreamRange,
): JetStoreError {
  return new JetStoreError(
    "ErrStoreEOF",
    `Cannot ${Action.loadNextMsg}: no message matching any of ${describeFilters(filters)} at or after sequence ${start} (${describeRange(range)})`,
  );
}

/** ErrStoreEOF: no message matching any of `filters` at or before `start` (the filtered loadPrevMsg, loadPrevMsgMulti). */
export function noMultiMatchBefore(
  filters: readonly string[],
  start: number,
  range: StreamRange,
): JetStoreError {
  return new JetStoreError(
    "ErrStoreEOF",
    `Cannot ${Action.loadPrevMsg}: no message matching any of ${describeFilters(filters)} at or before sequence ${start} (${describeRange(range)})`,
  );
}

/**
 * The most sequences `state().deleted` lists (about 80 MB of numbers). A skip
 * or purge can leave trillions of sequences deleted; listing them all would
 * abort the process (V8 cannot grow an array that far), so past this
 * `state()` throws and `fastState()` still answers with every count.
 */
export const MAX_DELETED_LISTED = 10_000_000;

/** ErrTooManyResults when `state()` would list more than MAX_DELETED_LISTED deleted sequences. */
export function checkDeletedListed(numDeleted: number): void {
  if (numDeleted <= MAX_DELETED_LISTED) return;
  throw new JetStoreError(
    "ErrTooManyResults",
    `Cannot ${Action.state}: ${numDeleted} sequences are deleted, more than the ${MAX_DELETED_LISTED} state() lists; fastState() gives every count without the list`,
  );
}

/** ErrSequenceMismatch: a raw store or skip that is not at the next sequence. */
export function notNextSequence(action: string, seq: number, next: number): JetStoreError {
  return new JetStoreError(
    "ErrSequenceMismatch",
    `Cannot ${action} at sequence ${seq}: the next sequence is ${next}`,
  );
}

/** ErrTooManyResults: multiLastSeqs found more sequences than `maxAllowed`. */
export function tooManyLastSeqs(maxAllowed: number): JetStoreError {
  return new JetStoreError(
    "ErrTooManyResults",
    `Cannot ${Action.lastSeqs}: more than the ${maxAllowed} allowed sequences match`,
  );
}

/** ErrInvalidArgument: purgeEx given both a sequence and a number to keep. */
export function purgeSeqAndKeep(seq: number, keep: number): JetStoreError {
  return new JetStoreError(
    "ErrInvalidArgument",
    `Cannot ${Action.purge}: give a sequence (${seq}) or a number to keep (${keep}), not both`,
  );
}

/** ErrInvalidArgument: multiLastSeqs given filters that are not an array. */
export function filtersNotArray(filters: unknown): JetStoreError {
  return new JetStoreError(
    "ErrInvalidArgument",
    `Cannot ${Action.lastSeqs}: filters must be an array of strings, got ${describeValue(filters)}`,
  );
}

/** ErrInvalidArgument: `new FileStore()` / `new MemStore()` from JavaScript (the constructors are private). */
export function notConstructible(store: string, factory: string): JetStoreError {
  return new JetStoreError(
    "ErrInvalidArgument",
    `Cannot construct ${store} with new: use ${factory} instead`,
  );
}

/** ErrStoreClosed: `delete()` on a store already closed or deleted, which holds no lock to delete under. */
export function deleteClosed(): JetStoreError {
  return new JetStoreError(
    "ErrStoreClosed",
    `Cannot ${Action.delete}: this handle is closed, and a closed handle no longer holds the store's lock (open it again to delete it)`,
  );
}
