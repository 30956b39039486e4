/**
 * The store-directory lock of the on-disk adapters, one protocol for every
 * runtime so that Node, Bun and Deno processes exclude each other: a file
 * `LOCK` in the directory holds the owner's pid and identity (boot id, PID
 * namespace, process start time where /proc has them), and a process-wide
 * registry keyed by real path covers the owner itself. The file appears
 * atomically, complete, by hard-linking a fully written temp file into place,
 * so a reader never sees a half-written record. A lock whose owner is dead
 * (killed, crashed, machine rebooted, pid since reused) is taken over; racing
 * takers are serialised by an exclusive `LOCK.<digest>.break` file named after
 * the stale record, and only its holder may remove that record, after
 * checking it is still the same text — so two takers cannot both win.
 * flock(2) alone was rejected: Node and Bun cannot take it, and the lock must
 * hold across runtimes. But a runtime that can (Deno) also holds a shared
 * flock on its record, taken on the temp file before it is linked (so no
 * record of it is ever visible unheld) and dropped by the kernel when the
 * process dies, and says so in the record (`flock: true`). Such a record is
 * judged by trying an exclusive flock on it: exact, immune to pid reuse, and
 * needing no /proc or kill(2), which Deno allows only with --allow-all or
 * --allow-run; records without it are judged through /proc or kill as before.
 * O_EXCL create-then-write was rejected: a reader could catch the file empty
 * and judge it stale.
 */
import { JetStoreError } from "../src/errors.ts";
import { checkPath } from "./checks.ts";
import { type DirectoryLock, isLockFileName, joinPath, LOCK_FILE } from "./fs.ts";

/** The primitive operations the protocol needs from a runtime. */
export interface LockHost {
  readonly pid: number;
  readonly runtime: string;
  /** A file's text, or null if it is missing; other failures throw typed errors. */
  readText(path: string): string | null;
  /** A file's text or a symlink's target, or null on any failure (for /proc). */
  probe(path: string, kind: "text" | "link"): string | null;
  /** Creates `path`, which must not exist, holding `text`, with exactly `permissions`. */
  writeNew(path: string, text: string, permissions: number): void;
  /** Hard-links `from` as `to`; false if `to` exists. */
  link(from: string, to: string): boolean;
  /** Removes a file; fine if missing. */
  unlink(path: string): void;
  list(directory: string): string[];
  realPath(path: string): string;
  /** kill(pid, 0): true if the process exists, false if not, null if this runtime cannot ask. */
  signalZero(pid: number): boolean | null;
  /**
   * Takes a shared flock on the file at `path`, which the kernel drops when
   * this process dies; returns what releases it. Only runtimes that can flock.
   */
  hold?(path: string): () => void;
  /**
   * Whether some open file holds a flock on the file at `path` (true), none
   * does (false), or this cannot tell (null: missing, unreadable).
   */
  isHeld?(path: string): boolean | null;
  /** What this runtime would need to tell whether another runtime's owner lives, if anything. */
  unknownOwnerHint?(): string | null;
}

/** Who a lock record names, as far as /proc can tell. */
interface Identity {
  host: string | null;
  boot: string | null;
  pidns: string | null;
  start: string | null;
}

interface LockRecord extends Identity {
  pid: number;
  runtime: string;
  nonce: string;
  /** The owner holds a flock on this record for as long as it lives. */
  flock?: boolean;
}

type OwnerState = "alive" | "dead" | "unknown";

/** The live (or unverifiable) owner that kept us from taking a lock. */
interface Blocker {
  record: LockRecord | null;
  state: OwnerState;
}

/** A claim's outcome: the file is ours (and `release` drops its flock, if any), or who blocked it. */
type Claim = { release: () => void; blocker?: never } | { blocker: Blocker };

const ATTEMPTS = 8;
const MAX_BREAK_DEPTH = 2;
const REGISTRY = Symbol.for("jetstore.heldDirectoryLocks");

/**
 * Takes the lock of `directory` through `host`, or throws ErrStoreLocked. The
 * files it keeps there get `permissions`.
 */
export function lockDirectory(
  host: LockHost,
  directory: string,
  permissions: number,
): DirectoryLock {
  checkPath(directory, "lock");
  const real = host.realPath(directory);
  const held = heldLocks();
  if (held.has(real)) {
    throw new JetStoreError("ErrStoreLocked", `Cannot lock ${directory}: this process holds it`);
  }
  const self = identityOfSelf(host);
  const record: LockRecord = { pid: host.pid, runtime: host.runtime, ...self, nonce: randomId() };
  if (host.hold !== undefined) record.flock = true;
  const text = `${JSON.stringify(record)}\n`;
  const lockPath = joinPath(real, LOCK_FILE);
  const claimed = claim(host, lockPath, text, self, permissions, 0);
  if (claimed.blocker !== undefined) {
    throw new JetStoreError(
      "ErrStoreLocked",
      `Cannot lock ${directory}: ${describe(host, claimed.blocker, real)}`,
    );
  }
  held.add(real);
  sweepLeftovers(host, real);
  let released = false;
  return {
    path: directory,
    release() {
      if (released) return;
      released = true;
      held.delete(real);
      try {
        // Someone may have (wrongly) broken our lock; never remove theirs.
        if (host.readText(lockPath) === text) host.unlink(lockPath);
      } catch {
        // A LOCK left behind names this pid, which is judged dead once we exit.
      } finally {
        claimed.release();
      }
    },
  };
}

/** Makes `path` hold `text`, breaking a dead owner's record if need be. */
function claim(
  host: LockHost,
  path: string,
  text: string,
  self: Identity,
  permissions: number,
  depth: number,
): Claim {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const release = linkNew(host, path, text, permissions);
    if (release !== null) return { release };
    const current = host.readText(path);
    if (current === null) continue;
    const record = parseRecord(current);
    const state = ownerState(host, path, record, self);
    if (state !== "dead") return { blocker: { record, state } };
    if (depth === MAX_BREAK_DEPTH) return { blocker: { record, state: "unknown" } };
    const breakPath = `${path}.${digest(current)}.break`;
    const breaker = claim(host, breakPath, text, self, permissions, depth + 1);
    if (breaker.blocker !== undefined) return breaker;
    try {
      if (host.readText(path) === current) host.unlink(path);
    } finally {
      try {
        host.unlink(breakPath);
      } finally {
        breaker.release();
      }
    }
  }
  return { blocker: { record: null, state: "unknown" } };
}

/**
 * Links a fully written temp file as `path`, holding its flock first where the
 * runtime can; returns what releases that flock, or null if `path` exists.
 */
function linkNew(
  host: LockHost,
  path: string,
  text: string,
  permissions: number,
): (() => void) | null {
  const temp = `${path}.${randomId()}.tmp`;
  host.writeNew(temp, text, permissions);
  let release: () => void = () => {};
  let linked = false;
  let failure: unknown = null;
  try {
    if (host.hold !== undefined) release = host.hold(temp);
    linked = host.link(temp, path);
  } catch (err) {
    // A sweeping new owner removed our temp file: report "exists" and re-judge.
    if (!(err instanceof JetStoreError && err.code === "ErrNotFound")) failure = err;
  }
  try {
    host.unlink(temp);
  } catch (err) {
    // Once linked the lock is ours: thrown, nobody could release it, and the temp file
    // is a leftover that the sweep (ours now, or the next owner's) takes.
    if (!linked) failure ??= err;
  }
  if (linked) return release;
  release();
  if (failure !== null) throw failure;
  return null;
}

function ownerState(
  host: LockHost,
  path: string,
  record: LockRecord | null,
  self: Identity,
): OwnerState {
  // Records appear complete (linked), so an unreadable one is debris, not a write in progress.
  if (record === null) return "dead";
  const differs = (a: string | null, b: string | null) => a !== null && b !== null && a !== b;
  if (differs(record.host, self.host) || differs(record.pidns, self.pidns)) return "unknown";
  if (differs(record.boot, self.boot)) return "dead";
  if (record.flock === true && host.isHeld !== undefined) {
    // The owner's flock lives exactly as long as the owner, whatever its pid says now.
    const held = host.isHeld(path);
    if (held !== null) return held ? "alive" : "dead";
  }
  if (record.pid === host.pid) {
    // Not in our registry: an earlier process with our pid, or another realm (worker) of ours.
    return differs(record.start, self.start) ? "dead" : "alive";
  }
  if (self.start !== null) {
    const proc = procStat(host.probe(`/proc/${record.pid}/stat`, "text"));
    if (proc === null || proc.state === "Z" || proc.state === "X") return "dead";
    return differs(record.start, proc.start) ? "dead" : "alive";
  }
  const exists = host.signalZero(record.pid);
  return exists === null ? "unknown" : exists ? "alive" : "dead";
}

function identityOfSelf(host: LockHost): Identity {
  const trimmed = (text: string | null) => text?.trim() || null;
  return {
    host: trimmed(host.probe("/proc/sys/kernel/hostname", "text")),
    boot: trimmed(host.probe("/proc/sys/kernel/random/boot_id", "text")),
    pidns: trimmed(host.probe("/proc/self/ns/pid", "link")),
    start: procStat(host.probe("/proc/self/stat", "text"))?.start ?? null,
  };
}

/** State letter and start time (field 22, clock ticks since boot) of /proc/<pid>/stat. */
function procStat(text: string | null): { state: string; start: string } | null {
  if (text === null) return null;
  // The command name (field 2) may hold spaces and parentheses; fields resume after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = fields[19];
  return start === undefined ? null : { state: fields[0], start };
}

function parseRecord(text: string): LockRecord | null {
  try {
    const r = JSON.parse(text) as Partial<LockRecord> | null;
    const optional = (v: unknown) => v === null || typeof v === "string";
    if (
      r !== null &&
      typeof r === "object" &&
      Number.isSafeInteger(r.pid) &&
      (r.pid as number) > 0 &&
      typeof r.runtime === "string" &&
      typeof r.nonce === "string" &&
      optional(r.host) &&
      optional(r.boot) &&
      optional(r.pidns) &&
      optional(r.start) &&
      (r.flock === undefined || typeof r.flock === "boolean")
    ) {
      return r as LockRecord;
    }
  } catch {
    // Not JSON: debris.
  }
  return null;
}

function describe(host: LockHost, blocker: Blocker, real: string): string {
  const owner = blocker.record;
  if (owner === null) return "other processes keep racing for it; try again";
  const who = `process ${owner.pid} (${owner.runtime})`;
  if (blocker.state === "alive") return `${who} holds it`;
  const hint = host.unknownOwnerHint?.() ?? null;
  return (
    `${who} holds it and this process cannot tell whether it is still alive` +
    `${hint === null ? "" : ` (${hint})`}; if it is gone, remove ${joinPath(real, LOCK_FILE)}`
  );
}

/** Removes leftovers of crashed lockers; safe once we hold LOCK, since they name older records. */
function sweepLeftovers(host: LockHost, real: string): void {
  try {
    for (const name of host.list(real)) {
      if (name !== LOCK_FILE && isLockFileName(name)) host.unlink(joinPath(real, name));
    }
  } catch {
    // Leftovers are harmless; failing to sweep them must not fail the lock.
  }
}

function heldLocks(): Set<string> {
  // On globalThis, so two copies of this module (two bundles) share one registry.
  const g = globalThis as { [REGISTRY]?: Set<string> };
  g[REGISTRY] ??= new Set();
  return g[REGISTRY];
}

/**
 * 64 random bits for a record's nonce and a temp file's name: unique, not
 * secret (a clash would also need the same pid), so `Math.random` does.
 * Node loads its Web Crypto module on the first `crypto.getRandomValues`,
 * which was a measurable part of opening a store in a fresh process.
 */
function randomId(): string {
  let id = "";
  for (let i = 0; i < 2; i++) {
    id += Math.floor(Math.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0");
  }
  return id;
}

/** FNV-1a of the record text, naming its break file. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
