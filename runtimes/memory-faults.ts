/**
 * The faults the memory adapter can inject, their validation and matching,
 * the operation counters they are aimed with, and the seeded random numbers
 * that make torn writes and crash outcomes reproducible. Operation indexes are
 * the counters' values (1-based, counted since the filesystem was created),
 * so a test can run a workload once, read `counters`, then aim a fault at
 * every write or sync of a second run. Injected errors carry a `cause` whose
 * `injected` is true, wrapped in the same typed error a disk would give.
 * Fault hooks in the store itself were rejected: the point is to test the
 * store's own error paths, unmodified.
 */
import { fromSystemError, invalidArgument, type JetStoreError } from "../src/errors.ts";
import { describeValue } from "../src/validate.ts";

/** Which operations a fault hits: the one with this index, on matching paths, or both. */
export interface FaultRule {
  /** The counter value (1-based) of the one operation to fail; every matching one if omitted. */
  index?: number | undefined;
  /** Only operations on this absolute path, paths matching this RegExp, or passing this test. */
  path?: string | RegExp | ((path: string) => boolean) | undefined;
}

/** Faults to inject; `null` clears one, `undefined` leaves it as it is. */
export interface Faults {
  /**
   * Power cut during the write with this index: a seeded random part of it
   * (shorter than the whole) lands, it throws ErrIO, and so does every later
   * operation; `crash()` then tells what survived.
   */
  crashAfterWrites?: number | null | undefined;
  /**
   * Power cut right after the change with this index (`MemoryFileSystem.changes`):
   * any call that changes the disk or makes it durable (write, truncate,
   * file or directory sync, open with create, mkdir, rename, remove, lock).
   * That change is made in full, it throws ErrIO, and so does every later
   * operation: a kill just after an unlink, a rename or an fsync.
   */
  crashAfterChanges?: number | null | undefined;
  /** Writes fail with ErrNoSpace once `bytesWritten` would pass this; the part that fits lands. */
  noSpaceAfterBytes?: number | null | undefined;
  /** Matching reads throw ErrIO and read nothing. */
  failRead?: FaultRule | null | undefined;
  /** Matching writes throw ErrIO and write nothing. */
  failWrite?: FaultRule | null | undefined;
  /** Matching file and directory syncs throw ErrIO and make nothing durable. */
  failSync?: FaultRule | null | undefined;
  /**
   * When true, a file sync that fails also drops what it was to make durable,
   * as Linux does since 4.13 ("fsyncgate"): the writes stop being pending,
   * reads still see them, later syncs succeed without writing them, and a
   * crash brings back the bytes that were there before, until they are
   * written again. When false or null (the default) they stay pending and
   * the next successful sync makes them durable.
   */
  dropUnsyncedOnSyncFailure?: boolean | null | undefined;
}

/** Operations so far; indexes of faults are these counters' values. */
export interface FaultCounters {
  /** FileHandle.read calls, failed ones included. */
  reads: number;
  /** FileHandle.write calls, failed ones included. */
  writes: number;
  /** Bytes that landed in files (torn and partial writes count what landed). */
  bytesWritten: number;
  /** File syncs (sync, syncAsync) and directory syncs, failed ones included. */
  syncs: number;
}

/** The faults in force, with every field present. */
export type ActiveFaults = Required<Faults>;

const FAULT_KEYS = [
  "crashAfterWrites",
  "crashAfterChanges",
  "noSpaceAfterBytes",
  "failRead",
  "failWrite",
  "failSync",
  "dropUnsyncedOnSyncFailure",
] as const;

export function noFaults(): ActiveFaults {
  return {
    crashAfterWrites: null,
    crashAfterChanges: null,
    noSpaceAfterBytes: null,
    failRead: null,
    failWrite: null,
    failSync: null,
    dropUnsyncedOnSyncFailure: null,
  };
}

/** `current` with `changes` applied; throws ErrInvalidArgument (changing nothing) on a bad value. */
export function mergeFaults(current: ActiveFaults, changes: unknown): ActiveFaults {
  if (typeof changes !== "object" || changes === null) {
    throw invalidArgument(`Cannot set faults: expected an object, got ${describeValue(changes)}`);
  }
  const next = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (!(FAULT_KEYS as readonly string[]).includes(key)) {
      throw invalidArgument(`Cannot set faults: unknown fault ${describeValue(key)}`);
    }
    if (value === undefined) continue;
    const k = key as keyof ActiveFaults;
    if (value === null) {
      next[k] = null;
    } else if (k === "crashAfterWrites" || k === "crashAfterChanges") {
      next[k] = checkCount(value, k, 1);
    } else if (k === "noSpaceAfterBytes") {
      next[k] = checkCount(value, k, 0);
    } else if (k === "dropUnsyncedOnSyncFailure") {
      if (typeof value !== "boolean") {
        throw invalidArgument(
          `Cannot set faults: ${k} must be a boolean, got ${describeValue(value)}`,
        );
      }
      next[k] = value;
    } else {
      next[k] = checkRule(value, k);
    }
  }
  return next;
}

/** True when `rule` hits the operation with counter value `index` on `path`. */
export function ruleMatches(rule: FaultRule | null, index: number, path: string): boolean {
  if (rule === null) return false;
  if (rule.index !== undefined && rule.index !== index) return false;
  const p = rule.path;
  if (p === undefined) return true;
  if (typeof p === "string") return p === path;
  if (p instanceof RegExp) {
    p.lastIndex = 0;
    return p.test(path);
  }
  return p(path) === true;
}

/** The typed error a disk would give for `code`, with an `injected` cause. */
export function injectedError(
  code: "EIO" | "ENOSPC",
  what: string,
  operation: string,
  path: string,
): JetStoreError {
  const cause = Object.assign(new Error(`${code} injected by the memory adapter: ${what}`), {
    code,
    injected: true,
  });
  return fromSystemError(cause, operation, path);
}

/** A small seeded generator (mulberry32): the same seed gives the same faults. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(unit * n);
  }
}

/** Throws ErrInvalidArgument unless `seed` is a safe integer. */
export function checkSeed(seed: unknown, action: string): number {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw invalidArgument(
      `Cannot ${action}: seed must be a safe integer, got ${describeValue(seed)}`,
    );
  }
  return seed;
}

function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw invalidArgument(
      `Cannot set faults: ${name} must be a safe integer of at least ${min}, got ${describeValue(value)}`,
    );
  }
  return value;
}

function checkRule(value: unknown, name: string): FaultRule {
  if (typeof value !== "object" || value === null) {
    throw invalidArgument(
      `Cannot set faults: ${name} must be an object, got ${describeValue(value)}`,
    );
  }
  const { index, path, ...rest } = value as FaultRule;
  const extra = Object.keys(rest);
  if (extra.length > 0) {
    throw invalidArgument(
      `Cannot set faults: ${name} has unknown field ${describeValue(extra[0])}`,
    );
  }
  if (index !== undefined) checkCount(index, `${name}.index`, 1);
  const pathOk =
    path === undefined ||
    typeof path === "string" ||
    path instanceof RegExp ||
    typeof path === "function";
  if (!pathOk) {
    throw invalidArgument(
      `Cannot set faults: ${name}.path must be a string, RegExp or function, got ${describeValue(path)}`,
    );
  }
  return { index, path };
}
