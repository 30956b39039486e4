/**
 * The memory adapter: a FileSystem held in a POSIX-like tree (memory-tree.ts)
 * that knows what a power cut would keep, with faults injected at the
 * adapter boundary (memory-faults.ts), so a store's own, unmodified error and
 * recovery paths can be driven through disk-full, I/O errors, torn writes and
 * crashes, reproducibly from a seed, on every runtime.
 *
 * A `Disk` owns the tree, the faults, the counters and the power state; the
 * filesystem object and its open handles are views of one Disk. `crash()`
 * returns a new filesystem over what survived instead of resetting this one,
 * so handles and locks of the run that "lost power" keep failing with ErrIO
 * rather than silently writing into the survivor, as a restarted process
 * would never see its old descriptors. Errors are made the way a disk makes
 * them: a system-like error with a POSIX `code` passed through
 * `fromSystemError`, so ENOENT is ErrNotFound and EEXIST/EISDIR/ENOTDIR are
 * ErrIO exactly as the on-disk adapters report them, and argument checks are
 * the shared ones of checks.ts.
 * Rejected: running the node adapter on a tmpfs with a fault wrapper (a
 * killed process keeps its unsynced page cache, so power loss cannot be
 * shown, and it would not run where there is no tmpfs); a fault layer
 * wrapping any FileSystem (it cannot know what a crash keeps).
 *
 * Paths are absolute or relative to "/", separated by "/"; "." and ".." are
 * resolved walking the tree, as the kernel does, so "missing/.." is ENOENT
 * and "file/" is ENOTDIR. The directory lock is per filesystem and, like the
 * on-disk lock, keeps a `LOCK` file in the directory (so a store that forgot
 * to skip it fails here too); a `LOCK` not held by this filesystem is a dead
 * owner's and is taken over.
 */
import { invalidArgument, JetStoreError } from "../src/errors.ts";
import { describeValue } from "../src/validate.ts";
import { checkMode, checkPath, checkPermissions } from "./checks.ts";
import {
  DEFAULT_DIRECTORY_MODE,
  DEFAULT_FILE_MODE,
  type DirectoryLock,
  type FileHandle,
  type FileStat,
  type FileSystem,
  LOCK_FILE,
  type OpenMode,
} from "./fs.ts";
import { Disk, fail, type HeldLock, MemoryFile, resolve } from "./memory-disk.ts";
import {
  type ActiveFaults,
  checkSeed,
  type FaultCounters,
  type Faults,
  mergeFaults,
  Random,
} from "./memory-faults.ts";
import {
  type DirNode,
  type LoseMode,
  MAX_MEMORY_FILE,
  newDir,
  newFile,
  setEntries,
  survivingTree,
} from "./memory-tree.ts";

export type { ActiveFaults, FaultCounters, FaultRule, Faults } from "./memory-faults.ts";
export type { LoseMode } from "./memory-tree.ts";
export { MAX_MEMORY_FILE } from "./memory-tree.ts";

/** Options of `memoryFileSystem`. */
export interface MemoryFileSystemOptions {
  /** The clock for modification times, in milliseconds; `Date.now` by default. */
  now?: (() => number) | undefined;
  /** Seeds torn writes (`crashAfterWrites`) and crash outcomes without their own seed; 0 by default. */
  seed?: number | undefined;
}

/** Options of `MemoryFileSystem.crash`. */
export interface CrashOptions {
  /** What the power cut loses: every unsynced change (the default), none, or a random part. */
  lose?: LoseMode | undefined;
  /** Seed for `lose: "random"`; without one the filesystem's own seeded sequence is used. */
  seed?: number | undefined;
}

/** A FileSystem in memory, with fault injection and power cuts. */
export interface MemoryFileSystem extends FileSystem {
  readonly name: "memory";
  /** The faults in force (a copy). */
  readonly faults: Readonly<ActiveFaults>;
  /** Operations so far (a snapshot); fault indexes are these values. */
  readonly counters: Readonly<FaultCounters>;
  /**
   * Calls so far that changed the disk or made it durable (write, truncate,
   * sync, open with create, mkdir, rename, remove, lock): `crashAfterChanges` indexes.
   */
  readonly changes: number;
  /** True once the power was cut: `crashAfterWrites` or `crashAfterChanges` fired, or `crash()` was called. */
  readonly crashed: boolean;
  /** Applies fault changes (`null` clears one); throws ErrInvalidArgument, changing nothing, on a bad value. */
  setFaults(changes: Faults): void;
  /**
   * Cuts the power: returns a new filesystem holding what survived (see
   * `LoseMode`), with no faults, no held locks and zeroed counters, the same
   * clock and seed. This one, its handles and its locks throw ErrIO from now
   * on (closing and releasing still succeed). May be called again, e.g. with
   * other seeds, to explore other outcomes of the same cut.
   */
  crash(options?: CrashOptions): MemoryFileSystem;
  /**
   * A copy of a file's bytes, or null if no file is there (ErrIO for a
   * directory); bypasses faults and counters, and still answers after a power cut.
   */
  readFile(path: string): Uint8Array | null;
  /**
   * Sets a file's bytes as if written and synced (the file, and its directory
   * entry if it is new), bypassing faults and counters; open handles see the
   * new bytes; ErrIO after a power cut. For planting damaged or foreign files in tests.
   */
  writeFile(path: string, bytes: Uint8Array): void;
}

/** A new, empty memory filesystem (just "/"). */
export function memoryFileSystem(options?: MemoryFileSystemOptions): MemoryFileSystem {
  const { now, seed } = checkOptions(options);
  return new MemoryFs(new Disk(newDir(now()), now, seed));
}

const LOSE_MODES: readonly LoseMode[] = ["unsynced", "none", "random"];

class MemoryFs implements MemoryFileSystem {
  readonly name = "memory";
  readonly #disk: Disk;

  constructor(disk: Disk) {
    this.#disk = disk;
  }

  get faults(): Readonly<ActiveFaults> {
    return Object.freeze({ ...this.#disk.faults });
  }

  get counters(): Readonly<FaultCounters> {
    return Object.freeze({ ...this.#disk.counters });
  }

  get changes(): number {
    return this.#disk.changes;
  }

  get crashed(): boolean {
    return this.#disk.powerCut !== null;
  }

  setFaults(changes: Faults): void {
    this.#disk.faults = mergeFaults(this.#disk.faults, changes);
  }

  crash(options?: CrashOptions): MemoryFileSystem {
    const { lose, seed } = checkCrashOptions(options);
    const disk = this.#disk;
    disk.powerCut ??= "the power was cut (crash() was called)";
    const random = seed === undefined ? disk.random : new Random(seed);
    const survivor = survivingTree(disk.root, lose, random);
    return new MemoryFs(new Disk(survivor, disk.clock, seed ?? disk.seed));
  }

  readFile(path: string): Uint8Array | null {
    checkPath(path, "read file");
    const r = resolve(this.#disk.root, path);
    if (typeof r === "string" || r.node === undefined) return null;
    if (r.node.kind !== "file") throw fail("EISDIR", "read file", path);
    return r.node.data.slice(0, r.node.size);
  }

  writeFile(path: string, bytes: Uint8Array): void {
    checkPath(path, "write file");
    if (!(bytes instanceof Uint8Array)) {
      throw invalidArgument(
        `Cannot write file ${path}: bytes must be a Uint8Array, got ${describeValue(bytes)}`,
      );
    }
    const disk = this.#disk;
    disk.checkPower("write file", path);
    const r = disk.resolveOrThrow(path, "write file");
    if (r.node?.kind === "dir" || r.mustBeDir) throw fail("EISDIR", "write file", path);
    if (bytes.length > MAX_MEMORY_FILE) throw fail("EFBIG", "write file", path);
    const now = disk.now();
    if (r.node === undefined) {
      // Straight into the entries, not through setEntries: no undo record, so it is durable.
      r.parent!.entries.set(r.name, newFile(now, bytes));
      r.parent!.mtimeMs = now;
      return;
    }
    r.node.data = bytes.slice();
    r.node.size = bytes.length;
    r.node.undo = [];
    r.node.dropped = [];
    r.node.mtimeMs = now;
  }

  open(path: string, mode: OpenMode, permissions = DEFAULT_FILE_MODE): FileHandle {
    checkPath(path, "open");
    checkMode(mode, path);
    checkPermissions(permissions, "open", path);
    const disk = this.#disk;
    disk.checkPower("open", path);
    const r = disk.resolveOrThrow(path, "open");
    let node = r.node;
    if (node !== undefined && mode === "createNew") throw fail("EEXIST", "open", path);
    if (node?.kind === "dir") throw fail("EISDIR", "open", path);
    if (node === undefined) {
      if (mode === "read" || mode === "write") throw fail("ENOENT", "open", path);
      // Linux answers O_CREAT on "name/" with EISDIR.
      if (r.mustBeDir) throw fail("EISDIR", "open", path);
      const now = disk.now();
      node = newFile(now, undefined, permissions);
      setEntries(r.parent!, [[r.name, node]], now);
      disk.changed("open", path);
    }
    return new MemoryFile(disk, path, r.path, node, mode !== "read");
  }

  stat(path: string): FileStat | null {
    checkPath(path, "stat");
    const disk = this.#disk;
    disk.checkPower("stat", path);
    const r = resolve(disk.root, path);
    if (typeof r === "string" || r.node === undefined) return null;
    const node = r.node;
    return {
      size: node.kind === "file" ? node.size : 0,
      isFile: node.kind === "file",
      isDirectory: node.kind === "dir",
      mtimeMs: node.mtimeMs,
      mode: node.mode,
    };
  }

  mkdir(path: string, permissions = DEFAULT_DIRECTORY_MODE): void {
    checkPath(path, "create directory");
    checkPermissions(permissions, "create directory", path);
    const disk = this.#disk;
    disk.checkPower("create directory", path);
    const parts = path.split("/");
    const chain: DirNode[] = [disk.root];
    let created = false;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (chain.length > 1) chain.pop();
        continue;
      }
      const dir = chain[chain.length - 1];
      let node = dir.entries.get(part);
      if (node === undefined) {
        const now = disk.now();
        node = newDir(now, permissions);
        setEntries(dir, [[part, node]], now);
        created = true;
      } else if (node.kind === "file") {
        const more = parts.slice(i + 1).some((p) => p !== "" && p !== ".");
        throw fail(more ? "ENOTDIR" : "EEXIST", "create directory", path);
      }
      chain.push(node);
    }
    if (created) disk.changed("create directory", path);
  }

  list(path: string): string[] {
    checkPath(path, "list");
    this.#disk.checkPower("list", path);
    return [...this.#disk.directory(path, "list").dir.entries.keys()].sort();
  }

  rename(from: string, to: string): void {
    checkPath(from, "rename");
    checkPath(to, "rename");
    const disk = this.#disk;
    const label = `${from} to ${to}`;
    disk.checkPower("rename", label);
    const src = disk.resolveOrThrow(from, "rename", label);
    const dst = disk.resolveOrThrow(to, "rename", label);
    const node = src.node;
    if (node === undefined) throw fail("ENOENT", "rename", label);
    if (src.parent === null || dst.parent === null) throw fail("EBUSY", "rename", label);
    if (dst.node === node) return;
    if (node.kind === "file") {
      if (src.mustBeDir || dst.mustBeDir) throw fail("ENOTDIR", "rename", label);
      if (dst.node?.kind === "dir") throw fail("EISDIR", "rename", label);
    } else {
      if (dst.node?.kind === "file") throw fail("ENOTDIR", "rename", label);
      if (dst.node !== undefined && dst.node.entries.size > 0) {
        throw fail("ENOTEMPTY", "rename", label);
      }
      if (dst.ancestors.includes(node)) throw fail("EINVAL", "rename", label);
    }
    const now = disk.now();
    if (src.parent === dst.parent) {
      setEntries(
        src.parent,
        [
          [src.name, undefined],
          [dst.name, node],
        ],
        now,
      );
    } else {
      // One change per directory, each cut on its own: until both are synced a crash may keep
      // the file under both names or neither, as POSIX allows.
      setEntries(dst.parent, [[dst.name, node]], now);
      setEntries(src.parent, [[src.name, undefined]], now);
    }
    disk.changed("rename", label);
  }

  /** As `remove`, a turn of the event loop later, as a real disk answers. */
  async removeAsync(path: string): Promise<void> {
    checkPath(path, "remove");
    await Promise.resolve();
    this.remove(path);
  }

  remove(path: string): void {
    checkPath(path, "remove");
    const disk = this.#disk;
    disk.checkPower("remove", path);
    const r = resolve(disk.root, path);
    if (typeof r === "string" || r.node === undefined) return;
    if (r.parent === null) throw fail("EBUSY", "remove", path);
    const now = disk.now();
    if (r.node.kind === "dir") emptyDirectory(r.node, now);
    setEntries(r.parent, [[r.name, undefined]], now);
    disk.changed("remove", path);
  }

  syncDirectory(path: string): void {
    checkPath(path, "sync directory");
    const disk = this.#disk;
    disk.checkPower("sync directory", path);
    const { dir, path: key } = disk.directory(path, "sync directory");
    const failure = disk.startSync(key, path);
    if (failure !== null) throw failure;
    dir.undo = [];
    disk.changed("sync directory", path);
  }

  lock(directory: string, permissions = DEFAULT_FILE_MODE): DirectoryLock {
    checkPath(directory, "lock");
    checkPermissions(permissions, "lock", directory);
    const disk = this.#disk;
    disk.checkPower("lock", directory);
    const { dir, path: key } = disk.directory(directory, "lock");
    if (disk.locks.has(key)) {
      throw new JetStoreError(
        "ErrStoreLocked",
        `Cannot lock ${directory}: this filesystem holds it`,
      );
    }
    const now = disk.now();
    const file = newFile(now, new TextEncoder().encode('{"runtime":"memory"}\n'), permissions);
    setEntries(dir, [[LOCK_FILE, file]], now);
    const held: HeldLock = { dir, file };
    disk.locks.set(key, held);
    try {
      disk.changed("lock", directory);
    } catch (err) {
      disk.locks.delete(key);
      throw err;
    }
    let released = false;
    return {
      path: directory,
      release() {
        if (released) return;
        released = true;
        if (disk.locks.get(key) === held) disk.locks.delete(key);
        // After a power cut nothing reaches the disk; never remove a LOCK that is not ours.
        if (disk.powerCut === null && dir.entries.get(LOCK_FILE) === file) {
          setEntries(dir, [[LOCK_FILE, undefined]], disk.now());
        }
      },
    };
  }
}

/** Unlinks everything below `dir`, entry by entry as rm -r does, so a crash can stop it midway. */
function emptyDirectory(dir: DirNode, now: number): void {
  for (const name of [...dir.entries.keys()].sort()) {
    const node = dir.entries.get(name)!;
    if (node.kind === "dir") emptyDirectory(node, now);
    setEntries(dir, [[name, undefined]], now);
  }
}

function checkOptions(options: unknown): { now: () => number; seed: number } {
  const o = checkObject(options, "create a memory filesystem", ["now", "seed"]);
  if (o.now !== undefined && typeof o.now !== "function") {
    throw invalidArgument(
      `Cannot create a memory filesystem: now must be a function, got ${describeValue(o.now)}`,
    );
  }
  const seed = o.seed === undefined ? 0 : checkSeed(o.seed, "create a memory filesystem");
  return { now: (o.now as (() => number) | undefined) ?? Date.now, seed };
}

function checkCrashOptions(options: unknown): { lose: LoseMode; seed: number | undefined } {
  const o = checkObject(options, "crash", ["lose", "seed"]);
  const lose = o.lose === undefined ? "unsynced" : o.lose;
  if (!LOSE_MODES.includes(lose as LoseMode)) {
    throw invalidArgument(
      `Cannot crash: lose must be one of ${LOSE_MODES.join(", ")}, got ${describeValue(lose)}`,
    );
  }
  const seed = o.seed === undefined ? undefined : checkSeed(o.seed, "crash");
  return { lose: lose as LoseMode, seed };
}

/** `options` as a record with only `known` keys (undefined counts as {}). */
function checkObject(options: unknown, action: string, known: string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(
      `Cannot ${action}: options must be an object, got ${describeValue(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidArgument(`Cannot ${action}: unknown option ${describeValue(key)}`);
    }
  }
  return options as Record<string, unknown>;
}
