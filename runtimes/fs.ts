/**
 * The small synchronous filesystem interface every store writes through.
 * Synchronous because the store's core is (buffered writes, positional
 * reads, like better-sqlite3); only fsync has an asynchronous twin, so group
 * commit can let the event loop gather more writers while the disk syncs.
 * Paths are plain strings joined with "/"; adapters accept absolute or
 * relative paths. Every failure is a JetStoreError (ErrNoSpace, ErrIO,
 * ErrNotFound, ErrStoreLocked) with the system error as `cause`.
 */

/** How to open a file. */
export type OpenMode =
  /** Read only; the file must exist. */
  | "read"
  /** Read and write; the file must exist. */
  | "write"
  /** Read and write; created empty if missing, kept as is if present. */
  | "create"
  /** Read and write; must not exist yet (ErrIO if it does). */
  | "createNew";

export interface FileStat {
  size: number;
  isFile: boolean;
  isDirectory: boolean;
  /** Modification time in milliseconds since the Unix epoch. */
  mtimeMs: number;
}

/** An open file. Positions are byte offsets from the start of the file. */
export interface FileHandle {
  readonly path: string;
  /** Reads up to `buf.length` bytes at `position` into `buf`; returns the count read (0 at EOF). */
  read(buf: Uint8Array, position: number): number;
  /** Writes all of `buf` at `position` (extending the file if needed). */
  write(buf: Uint8Array, position: number): void;
  /** Current size in bytes. */
  size(): number;
  /** Sets the size to `length`, dropping or zero-filling the tail. */
  truncate(length: number): void;
  /** Makes everything written so far durable (fsync). Blocks the caller. */
  sync(): void;
  /** The same as `sync`, off the main thread where the runtime allows. */
  syncAsync(): Promise<void>;
  close(): void;
}

/** An exclusive hold on a store directory; released by `release` or process death. */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

export interface FileSystem {
  /** Adapter name, e.g. "node", "bun", "deno", "memory". */
  readonly name: string;
  open(path: string, mode: OpenMode): FileHandle;
  /** File or directory information, or null if nothing is at `path`. */
  stat(path: string): FileStat | null;
  /** Creates `path` and any missing parents; fine if it exists. */
  mkdir(path: string): void;
  /** Names (not paths) of the entries of a directory, sorted. */
  list(path: string): string[];
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): void;
  /** Removes a file, or a directory with everything in it; fine if missing. */
  remove(path: string): void;
  /**
   * `remove` off the calling thread where the runtime can: freeing a large
   * file's extents takes milliseconds a store should not block writers for.
   */
  removeAsync(path: string): Promise<void>;
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDirectory(path: string): void;
  /**
   * Takes the exclusive lock of a store directory, or throws ErrStoreLocked if
   * this process or another live one holds it. A lock left by a dead process
   * is taken over. On-disk adapters keep it as files inside the directory
   * (see `isLockFileName`), which a store listing its directory must skip.
   */
  lock(directory: string): DirectoryLock;
}

/** The file an on-disk lock keeps in the store directory. */
export const LOCK_FILE = "LOCK";

/** True for the names a lock keeps inside a store directory (`LOCK`, `LOCK.*`). */
export function isLockFileName(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`);
}

/** Joins path segments with "/", collapsing duplicate separators. */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .join("/")
    .replace(/\/{2,}/g, "/");
}
