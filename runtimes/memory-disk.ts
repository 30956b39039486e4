/**
 * The memory adapter's disk: the tree, the faults in force, the counters and
 * the power state that a filesystem and its open handles share, path
 * resolution as the kernel does it, and an open file (MemoryFile). memory.ts
 * is the FileSystem over it.
 */
import { fromSystemError, type JetStoreError } from "../src/errors.ts";
import { checkIo, checkOffset, closedFile } from "./checks.ts";
import type { FileHandle } from "./fs.ts";
import {
  type ActiveFaults,
  type FaultCounters,
  injectedError,
  noFaults,
  Random,
  ruleMatches,
} from "./memory-faults.ts";
import {
  type DirNode,
  drop,
  type FileNode,
  MAX_MEMORY_FILE,
  type Node,
  readAt,
  settle,
  truncateTo,
  writeAt,
} from "./memory-tree.ts";

/** The POSIX errors the tree can raise, worded like libuv's. */
const ERRNO_TEXT = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "illegal operation on a directory",
  EEXIST: "file already exists",
  ENOTEMPTY: "directory not empty",
  EINVAL: "invalid argument",
  EBUSY: "resource busy or locked",
  EBADF: "bad file descriptor",
  EFBIG: "file too large",
} as const;
export type Errno = keyof typeof ERRNO_TEXT;

/** The typed error a disk gives for `code` on `operation` of `path`. */
export function fail(code: Errno, operation: string, path: string): JetStoreError {
  const cause = Object.assign(new Error(`${code}: ${ERRNO_TEXT[code]}`), { code });
  return fromSystemError(cause, operation, path);
}

/** Where a path leads: its canonical form, the entry it names and the directories above it. */
export interface Resolved {
  /** Absolute, without ".", ".." or repeated slashes: the key for fault rules and locks. */
  path: string;
  /** The directory holding the entry; null for "/" itself. */
  parent: DirNode | null;
  name: string;
  node: Node | undefined;
  /** "/" down to `parent`, for refusing to move a directory into itself. */
  ancestors: DirNode[];
  /** The path ended in "/" or "/.": it must name a directory. */
  mustBeDir: boolean;
}

/**
 * Walks `raw` from `root`. Every component before the last must be an
 * existing directory (else ENOENT / ENOTDIR, returned rather than thrown so
 * stat and remove can treat them as "nothing there").
 */
export function resolve(root: DirNode, raw: string): Resolved | Errno {
  const parts = raw.split("/");
  let last = parts.length - 1;
  while (last >= 0 && (parts[last] === "" || parts[last] === ".")) last--;
  const endsInName = last >= 0 && parts[last] !== "..";
  const chain: { name: string; dir: DirNode }[] = [];
  const walkTo = endsInName ? last : parts.length;
  for (let i = 0; i < walkTo; i++) {
    const part = parts[i];
    if (part === "" || part === ".") continue;
    if (part === "..") {
      chain.pop();
      continue;
    }
    const node = (chain.at(-1)?.dir ?? root).entries.get(part);
    if (node === undefined) return "ENOENT";
    if (node.kind !== "dir") return "ENOTDIR";
    chain.push({ name: part, dir: node });
  }
  const names = chain.map((c) => c.name);
  if (endsInName) {
    const parent = chain.at(-1)?.dir ?? root;
    const name = parts[last];
    const node = parent.entries.get(name);
    const mustBeDir = last < parts.length - 1;
    if (mustBeDir && node?.kind === "file") return "ENOTDIR";
    const ancestors = [root, ...chain.map((c) => c.dir)];
    return { path: `/${[...names, name].join("/")}`, parent, name, node, ancestors, mustBeDir };
  }
  const target = chain.pop();
  if (target === undefined) {
    return { path: "/", parent: null, name: "", node: root, ancestors: [], mustBeDir: true };
  }
  const ancestors = [root, ...chain.map((c) => c.dir)];
  return {
    path: `/${names.join("/")}`,
    parent: ancestors[ancestors.length - 1],
    name: target.name,
    node: target.dir,
    ancestors,
    mustBeDir: true,
  };
}

export interface HeldLock {
  dir: DirNode;
  file: FileNode;
}

/** The state one filesystem and its handles share: the tree, faults, counters, power. */
export class Disk {
  readonly root: DirNode;
  readonly clock: () => number;
  readonly seed: number;
  readonly random: Random;
  faults: ActiveFaults = noFaults();
  readonly counters: FaultCounters = { reads: 0, writes: 0, bytesWritten: 0, syncs: 0 };
  /** Calls that changed the disk or made it durable: the index `crashAfterChanges` aims at. */
  changes = 0;
  /** Why the power is off, or null while it is on. */
  powerCut: string | null = null;
  readonly locks = new Map<string, HeldLock>();

  constructor(root: DirNode, clock: () => number, seed: number) {
    this.root = root;
    this.clock = clock;
    this.seed = seed;
    this.random = new Random(seed);
  }

  now(): number {
    return this.clock();
  }

  /** Throws ErrIO once the power is cut: a dead disk answers nothing. */
  checkPower(operation: string, path: string): void {
    if (this.powerCut !== null) throw injectedError("EIO", this.powerCut, operation, path);
  }

  resolveOrThrow(raw: string, operation: string, label = raw): Resolved {
    const r = resolve(this.root, raw);
    if (typeof r === "string") throw fail(r, operation, label);
    return r;
  }

  /** Resolves a path that must name an existing directory. */
  directory(raw: string, operation: string): { dir: DirNode; path: string } {
    const r = this.resolveOrThrow(raw, operation);
    if (r.node === undefined) throw fail("ENOENT", operation, raw);
    if (r.node.kind !== "dir") throw fail("ENOTDIR", operation, raw);
    return { dir: r.node, path: r.path };
  }

  /** Counts a change just made; after the one `crashAfterChanges` names, the power is cut. */
  changed(operation: string, path: string): void {
    this.cutAfterChange(++this.changes, operation, path);
  }

  /** Cuts the power if change `index` is the one `crashAfterChanges` names. */
  cutAfterChange(index: number, operation: string, path: string): void {
    if (this.faults.crashAfterChanges !== index) return;
    this.powerCut = `the power was cut after change ${index} (crashAfterChanges)`;
    throw injectedError("EIO", this.powerCut, operation, path);
  }

  /** Counts a file or directory sync and throws if a failSync rule hits it. */
  startSync(key: string, label: string): JetStoreError | null {
    const index = ++this.counters.syncs;
    if (!ruleMatches(this.faults.failSync, index, key)) return null;
    return injectedError("EIO", `sync ${index} failed (failSync)`, "sync", label);
  }
}

/** An open memory file: it holds the node, so it survives renames and removal as on POSIX. */
export class MemoryFile implements FileHandle {
  readonly path: string;
  readonly #disk: Disk;
  /** The canonical path at open time, which fault rules match. */
  readonly #key: string;
  readonly #file: FileNode;
  readonly #writable: boolean;
  #closed = false;

  constructor(disk: Disk, path: string, key: string, file: FileNode, writable: boolean) {
    this.path = path;
    this.#disk = disk;
    this.#key = key;
    this.#file = file;
    this.#writable = writable;
  }

  read(buf: Uint8Array, position: number): number {
    checkIo(buf, position, "read", this.path);
    this.#check("read");
    const disk = this.#disk;
    const index = ++disk.counters.reads;
    if (ruleMatches(disk.faults.failRead, index, this.#key)) {
      throw injectedError("EIO", `read ${index} failed (failRead)`, "read", this.path);
    }
    return readAt(this.#file, buf, position);
  }

  write(buf: Uint8Array, position: number): void {
    checkIo(buf, position, "write", this.path);
    this.#check("write");
    const disk = this.#disk;
    const faults = disk.faults;
    const index = ++disk.counters.writes;
    if (!this.#writable) throw fail("EBADF", "write", this.path);
    if (faults.crashAfterWrites === index) {
      const room = Math.max(0, MAX_MEMORY_FILE - position);
      this.#land(buf.subarray(0, Math.min(disk.random.below(buf.length), room)), position);
      disk.powerCut = `the power was cut during write ${index} (crashAfterWrites)`;
      throw injectedError("EIO", disk.powerCut, "write", this.path);
    }
    if (ruleMatches(faults.failWrite, index, this.#key)) {
      throw injectedError("EIO", `write ${index} failed (failWrite)`, "write", this.path);
    }
    if (position + buf.length > MAX_MEMORY_FILE) throw fail("EFBIG", "write", this.path);
    if (faults.noSpaceAfterBytes !== null) {
      const room = Math.max(0, faults.noSpaceAfterBytes - disk.counters.bytesWritten);
      if (buf.length > room) {
        this.#land(buf.subarray(0, room), position);
        const what = `no space after ${faults.noSpaceAfterBytes} bytes (noSpaceAfterBytes)`;
        throw injectedError("ENOSPC", what, "write", this.path);
      }
    }
    this.#land(buf, position);
    disk.changed("write", this.path);
  }

  size(): number {
    this.#check("stat");
    return this.#file.size;
  }

  truncate(length: number): void {
    checkOffset(length, `truncate ${this.path}`, "length");
    this.#check("truncate");
    // ftruncate on a descriptor opened read-only is EINVAL on Linux.
    if (!this.#writable) throw fail("EINVAL", "truncate", this.path);
    if (length > MAX_MEMORY_FILE) throw fail("EFBIG", "truncate", this.path);
    truncateTo(this.#file, length, this.#disk.now());
    this.#disk.changed("truncate", this.path);
  }

  sync(): void {
    this.#check("sync");
    const file = this.#file;
    const failure = this.#disk.startSync(this.#key, this.path);
    if (failure !== null) {
      if (this.#disk.faults.dropUnsyncedOnSyncFailure === true) drop(file, file.undo.length);
      throw failure;
    }
    settle(file, file.undo.length);
    this.#disk.changed("sync", this.path);
  }

  syncAsync(): Promise<void> {
    try {
      this.#check("sync");
    } catch (err) {
      return Promise.reject(err);
    }
    const disk = this.#disk;
    const failure = disk.startSync(this.#key, this.path);
    // Numbered when asked for, as every other change; the power goes once it completes.
    const change = ++disk.changes;
    const file = this.#file;
    // Durable when it resolves: what was written before the call, not what came after.
    const covered = file.undo.at(-1);
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (disk.powerCut !== null) {
          return reject(failure ?? injectedError("EIO", disk.powerCut, "sync", this.path));
        }
        const count = covered === undefined ? 0 : file.undo.indexOf(covered) + 1;
        if (failure !== null) {
          if (disk.faults.dropUnsyncedOnSyncFailure === true) drop(file, count);
          return reject(failure);
        }
        settle(file, count);
        try {
          disk.cutAfterChange(change, "sync", this.path);
        } catch (err) {
          return reject(err);
        }
        resolve();
      }, 0);
    });
  }

  close(): void {
    this.#closed = true;
  }

  #land(bytes: Uint8Array, position: number): void {
    writeAt(this.#file, bytes, position, this.#disk.now());
    this.#disk.counters.bytesWritten += bytes.length;
  }

  #check(action: string): void {
    if (this.#closed) throw closedFile(action, this.path);
    this.#disk.checkPower(action, this.path);
  }
}
