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
  /** Permission bits (`st_mode & 0o777`); absent where the platform has none. */
  mode?: number;
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

/**
 * Permission bits (`permissions` below) are set exactly, whatever the process
 * umask, on what a call creates, and only on that: an existing file or
 * directory keeps its own (it may be someone else's, shared on purpose).
 */
export interface FileSystem {
  /** Adapter name, e.g. "node", "bun", "deno", "memory". */
  readonly name: string;
  /** Opens `path`; a file "create" or "createNew" makes gets `permissions` (default 0o600). */
  open(path: string, mode: OpenMode, permissions?: number): FileHandle;
  /** File or directory information, or null if nothing is at `path`. */
  stat(path: string): FileStat | null;
  /**
   * Creates `path` and any missing parents, each with `permissions` (default
   * 0o700); fine if it exists.
   */
  mkdir(path: string, permissions?: number): void;
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
   * (see `isLockFileName`), which a store listing its directory must skip;
   * they get `permissions` (default 0o600).
   */
  lock(directory: string, permissions?: number): DirectoryLock;
}

/** What a store's files get unless told otherwise: owner only, as nats-server's. */
export const DEFAULT_FILE_MODE = 0o600;
/** What a store's directories get unless told otherwise: owner only, as nats-server's. */
export const DEFAULT_DIRECTORY_MODE = 0o700;

/**
 * The directory mode that goes with a file mode: the same bits, plus
 * execute (search) wherever read is granted, so 0o600 gives 0o700, 0o640
 * gives 0o750 and 0o644 gives 0o755.
 */
export function directoryModeOf(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
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

/**
 * `path`, its parent, and so on up to the first that `exists` (excluded),
 * deepest first: the directories a recursive mkdir of `path` creates.
 */
export function missingDirectories(path: string, exists: (path: string) => boolean): string[] {
  const missing: string[] = [];
  for (let at = path; !exists(at); ) {
    missing.push(at);
    const trimmed = at.replace(/\/+$/, "");
    const cut = trimmed.lastIndexOf("/");
    const parent = cut < 0 ? "." : cut === 0 ? "/" : trimmed.slice(0, cut);
    if (parent === at) break;
    at = parent;
  }
  return missing;
}

/**
 * Replaces `path` with `bytes` whole: a temporary file beside it, written and
 * fsynced, then renamed over it. A crash leaves the old file or the new one.
 * The rename is durable once the caller fsyncs the directory.
 */
export function replaceFile(
  fs: FileSystem,
  path: string,
  bytes: Uint8Array,
  permissions: number,
): void {
  const temp = `${path}.tmp`;
  const handle = fs.open(temp, "create", permissions);
  try {
    handle.truncate(0);
    handle.write(bytes, 0);
    handle.sync();
  } finally {
    handle.close();
  }
  fs.rename(temp, path);
}
