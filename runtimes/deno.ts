/**
 * The Deno adapter, on Deno's own file APIs rather than its node:fs layer:
 * `Deno.FsFile` has no pread/pwrite, so positional I/O is `seekSync` followed
 * by a `readSync` / `writeSync` loop (both may move fewer bytes than asked).
 * That is safe because the store's core is synchronous: nothing else can move
 * the cursor between the seek and the transfer. `syncData` (fdatasync) runs
 * on Deno's blocking-task pool, so group commit keeps the event loop free.
 * Opening a directory read-only and syncing it works in Deno (checked on
 * Linux; POSIX allows it), so `syncDirectory` does exactly that; on Windows,
 * which cannot sync a directory handle and journals entries itself, it only
 * checks that the directory exists.
 * Deno's global types are deliberately not used: the module reads
 * `globalThis.Deno` through the small interface below, so tsc compiles it for
 * dist/ and loading it under another runtime is harmless until it is used.
 * The directory lock is the pid lock file protocol every runtime speaks
 * (lockfile.ts), so one store excludes all three; Deno also holds a flock on
 * its record (`FsFile.lockSync`), which lets another Deno process judge it
 * with nothing but --allow-read: Deno refuses /proc without --allow-all and
 * kill(pid, 0) without --allow-run, the only other ways to tell a dead owner.
 */
import { fromSystemError, JetStoreError } from "../src/errors.ts";
import {
  checkIo,
  checkMode,
  checkOffset,
  checkPath,
  checkPermissions,
  closedFile,
} from "./checks.ts";
import {
  DEFAULT_DIRECTORY_MODE,
  DEFAULT_FILE_MODE,
  type DirectoryLock,
  type FileHandle,
  type FileStat,
  type FileSystem,
  missingDirectories,
  type OpenMode,
} from "./fs.ts";
import { type LockHost, lockDirectory } from "./lockfile.ts";

interface DenoFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtime: Date | null;
  /** Null on Windows. */
  mode: number | null;
}

interface DenoFsFile {
  readSync(buf: Uint8Array): number | null;
  writeSync(buf: Uint8Array): number;
  seekSync(offset: number, whence: number): number;
  statSync(): DenoFileInfo;
  truncateSync(length: number): void;
  syncDataSync(): void;
  syncData(): Promise<void>;
  /**
   * flock without waiting: true if taken, false if another open file holds a
   * conflicting one. Absent from older Deno 2 releases.
   */
  tryLockSync?(exclusive: boolean): boolean;
  unlockSync(): void;
  close(): void;
}

interface DenoOpenOptions {
  read?: boolean;
  write?: boolean;
  create?: boolean;
  createNew?: boolean;
  mode?: number;
}

/** The part of the `Deno` namespace this adapter uses. */
interface DenoApi {
  readonly pid: number;
  readonly build: { readonly os: string };
  openSync(path: string, options: DenoOpenOptions): DenoFsFile;
  statSync(path: string): DenoFileInfo;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
  chmodSync(path: string, mode: number): void;
  readDirSync(path: string): Iterable<{ name: string }>;
  renameSync(from: string, to: string): void;
  removeSync(path: string, options?: { recursive: boolean }): void;
  remove(path: string, options?: { recursive: boolean }): Promise<void>;
  readTextFileSync(path: string): string;
  readLinkSync(path: string): string;
  writeTextFileSync(
    path: string,
    text: string,
    options: { createNew: boolean; mode: number },
  ): void;
  linkSync(from: string, to: string): void;
  realPathSync(path: string): string;
  kill(pid: number, signal: number): void;
  readonly permissions: {
    querySync(descriptor: { name: "run" }): { state: "granted" | "prompt" | "denied" };
  };
}

const SEEK_START = 0;

/** Deno's error classes, for the errors that carry no POSIX `code`. */
const CODE_OF_CLASS: Record<string, string> = {
  NotFound: "ENOENT",
  AlreadyExists: "EEXIST",
  NotADirectory: "ENOTDIR",
  IsADirectory: "EISDIR",
  PermissionDenied: "EPERM",
};

let host: LockHost | undefined;

/** The Deno adapter. */
export const denoFileSystem: FileSystem = {
  name: "deno",
  open(path: string, mode: OpenMode, permissions = DEFAULT_FILE_MODE): FileHandle {
    checkPath(path, "open");
    checkMode(mode, path);
    checkPermissions(permissions, "open", path);
    const api = deno();
    let file: DenoFsFile;
    try {
      file = openFile(api, path, mode, permissions);
    } catch (err) {
      throw fromSystemError(err, "open", path);
    }
    if (mode === "read") refuseDirectory(file, path);
    return new DenoFile(path, file);
  },
  stat(path: string): FileStat | null {
    checkPath(path, "stat");
    try {
      const s = deno().statSync(path);
      return {
        size: s.size,
        isFile: s.isFile,
        isDirectory: s.isDirectory,
        mtimeMs: s.mtime?.getTime() ?? 0,
        ...(s.mode === null ? {} : { mode: s.mode & 0o777 }),
      };
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw fromSystemError(err, "stat", path);
    }
  },
  mkdir(path: string, permissions = DEFAULT_DIRECTORY_MODE): void {
    checkPath(path, "create directory");
    checkPermissions(permissions, "create directory", path);
    const api = deno();
    try {
      const missing = missingDirectories(path, (p) => exists(api, p));
      api.mkdirSync(path, { recursive: true, mode: permissions });
      // The umask may have taken bits off; what this call created gets exactly `permissions`.
      for (const created of missing) chmod(api, created, permissions);
    } catch (err) {
      throw fromSystemError(err, "create directory", path);
    }
  },
  list(path: string): string[] {
    checkPath(path, "list");
    try {
      return Array.from(deno().readDirSync(path), (entry) => entry.name).sort();
    } catch (err) {
      throw fromSystemError(err, "list", path);
    }
  },
  rename(from: string, to: string): void {
    checkPath(from, "rename");
    checkPath(to, "rename");
    try {
      deno().renameSync(from, to);
    } catch (err) {
      throw fromSystemError(err, "rename", `${from} to ${to}`);
    }
  },
  async removeAsync(path: string): Promise<void> {
    checkPath(path, "remove");
    try {
      await deno().remove(path, { recursive: true });
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw fromSystemError(err, "remove", path);
    }
  },
  remove(path: string): void {
    checkPath(path, "remove");
    try {
      deno().removeSync(path, { recursive: true });
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw fromSystemError(err, "remove", path);
    }
  },
  syncDirectory(path: string): void {
    checkPath(path, "sync directory");
    const api = deno();
    let dir: DenoFsFile;
    try {
      dir = api.openSync(path, { read: true });
    } catch (err) {
      throw fromSystemError(err, "sync directory", path);
    }
    try {
      if (!dir.statSync().isDirectory) throw systemError("ENOTDIR", "Not a directory");
      if (api.build.os !== "windows") dir.syncDataSync();
    } catch (err) {
      throw fromSystemError(err, "sync directory", path);
    } finally {
      dir.close();
    }
  },
  lock(directory: string, permissions = DEFAULT_FILE_MODE): DirectoryLock {
    checkPermissions(permissions, "lock", directory);
    host ??= denoLockHost(deno());
    return lockDirectory(host, directory, permissions);
  },
};

/**
 * Opens `path` with `mode`. A file this call creates gets exactly
 * `permissions` (chmod after the create: the umask can only take bits off);
 * an existing one is opened as it is, never chmodded, since it may belong to
 * another user sharing the store. So "create" tries an exclusive create first.
 */
function openFile(api: DenoApi, path: string, mode: OpenMode, permissions: number): DenoFsFile {
  if (mode === "read") return api.openSync(path, { read: true });
  if (mode === "write") return api.openSync(path, { read: true, write: true });
  for (let attempt = 1; ; attempt++) {
    try {
      const file = api.openSync(path, {
        read: true,
        write: true,
        createNew: true,
        mode: permissions,
      });
      try {
        chmod(api, path, permissions);
      } catch (err) {
        file.close();
        throw err;
      }
      return file;
    } catch (err) {
      if (mode === "createNew" || errorCode(err) !== "EEXIST") throw err;
    }
    try {
      return api.openSync(path, { read: true, write: true });
    } catch (err) {
      // Removed between the two opens: create it after all.
      if (errorCode(err) !== "ENOENT" || attempt === 3) throw err;
    }
  }
}

/** chmod, except on Windows, which has no permission bits to set (Deno refuses there). */
function chmod(api: DenoApi, path: string, permissions: number): void {
  if (api.build.os !== "windows") api.chmodSync(path, permissions);
}

function exists(api: DenoApi, path: string): boolean {
  try {
    api.statSync(path);
    return true;
  } catch {
    return false;
  }
}

class DenoFile implements FileHandle {
  readonly path: string;
  readonly #file: DenoFsFile;
  #closed = false;
  /** syncAsync calls in flight; the file is closed only after they settle. */
  #pending = 0;

  constructor(path: string, file: DenoFsFile) {
    this.path = path;
    this.#file = file;
  }

  read(buf: Uint8Array, position: number): number {
    checkIo(buf, position, "read", this.path);
    this.#check("read");
    let done = 0;
    try {
      this.#file.seekSync(position, SEEK_START);
      while (done < buf.length) {
        const n = this.#file.readSync(buf.subarray(done));
        if (n === null || n === 0) break;
        done += n;
      }
    } catch (err) {
      throw fromSystemError(err, "read", this.path);
    }
    return done;
  }

  write(buf: Uint8Array, position: number): void {
    checkIo(buf, position, "write", this.path);
    this.#check("write");
    try {
      this.#file.seekSync(position, SEEK_START);
      let done = 0;
      while (done < buf.length) done += this.#file.writeSync(buf.subarray(done));
    } catch (err) {
      throw fromSystemError(err, "write", this.path);
    }
  }

  size(): number {
    this.#check("stat");
    try {
      return this.#file.statSync().size;
    } catch (err) {
      throw fromSystemError(err, "stat", this.path);
    }
  }

  truncate(length: number): void {
    checkOffset(length, `truncate ${this.path}`, "length");
    this.#check("truncate");
    try {
      this.#file.truncateSync(length);
    } catch (err) {
      throw fromSystemError(err, "truncate", this.path);
    }
  }

  sync(): void {
    this.#check("sync");
    try {
      this.#file.syncDataSync();
    } catch (err) {
      throw fromSystemError(err, "sync", this.path);
    }
  }

  async syncAsync(): Promise<void> {
    this.#check("sync");
    this.#pending++;
    try {
      await this.#file.syncData();
    } catch (err) {
      throw fromSystemError(err, "sync", this.path);
    } finally {
      this.#pending--;
      if (this.#closed && this.#pending === 0) this.#closeFile();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending === 0) this.#closeFile(true);
  }

  #closeFile(report = false): void {
    try {
      this.#file.close();
    } catch (err) {
      if (report) throw fromSystemError(err, "close", this.path);
    }
  }

  #check(action: string): void {
    if (this.#closed) throw closedFile(action, this.path);
  }
}

function deno(): DenoApi {
  const api = (globalThis as { Deno?: DenoApi }).Deno;
  if (api === undefined) {
    throw new JetStoreError("ErrIO", "Cannot use the Deno filesystem adapter: this is not Deno");
  }
  return api;
}

function refuseDirectory(file: DenoFsFile, path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = file.statSync().isDirectory;
  } catch (err) {
    file.close();
    throw fromSystemError(err, "open", path);
  }
  if (isDirectory) {
    file.close();
    throw fromSystemError(systemError("EISDIR", "Is a directory"), "open", path);
  }
}

function denoLockHost(api: DenoApi): LockHost {
  return {
    pid: api.pid,
    runtime: "deno",
    readText(path) {
      try {
        return api.readTextFileSync(path);
      } catch (err) {
        if (errorCode(err) === "ENOENT") return null;
        throw fromSystemError(err, "read", path);
      }
    },
    probe(path, kind) {
      try {
        return kind === "link" ? api.readLinkSync(path) : api.readTextFileSync(path);
      } catch {
        return null;
      }
    },
    writeNew(path, text, permissions) {
      try {
        api.writeTextFileSync(path, text, { createNew: true, mode: permissions });
        chmod(api, path, permissions);
      } catch (err) {
        throw fromSystemError(err, "create", path);
      }
    },
    link(from, to) {
      try {
        api.linkSync(from, to);
        return true;
      } catch (err) {
        if (errorCode(err) === "EEXIST") return false;
        throw fromSystemError(err, "link", to);
      }
    },
    unlink(path) {
      try {
        api.removeSync(path);
      } catch (err) {
        if (errorCode(err) !== "ENOENT") throw fromSystemError(err, "remove", path);
      }
    },
    list(directory) {
      try {
        return Array.from(api.readDirSync(directory), (entry) => entry.name);
      } catch (err) {
        throw fromSystemError(err, "list", directory);
      }
    },
    realPath(path) {
      try {
        return api.realPathSync(path);
      } catch (err) {
        throw fromSystemError(err, "lock", path);
      }
    },
    signalZero(pid) {
      try {
        api.kill(pid, 0);
        return true;
      } catch (err) {
        const code = errorCode(err);
        // ESRCH arrives as NotFound; without --allow-run the answer is NotCapable: unknown.
        return code === "EPERM" ? true : code === "ENOENT" || code === "ESRCH" ? false : null;
      }
    },
    ...(canFlock(api) ? flockHost(api) : {}),
    unknownOwnerHint() {
      const run = api.permissions.querySync({ name: "run" }).state;
      return run === "granted"
        ? null
        : "Deno can check a process of another runtime only with --allow-run or -A";
    },
  };
}

/** Whether this Deno has a non-blocking flock (`FsFile.tryLockSync`). */
function canFlock(api: DenoApi): boolean {
  const proto = (api as { FsFile?: { prototype?: Partial<DenoFsFile> } }).FsFile?.prototype;
  return typeof proto?.tryLockSync === "function";
}

/** The flock half of the lock protocol (see lockfile.ts). */
function flockHost(api: DenoApi): Pick<LockHost, "hold" | "isHeld"> {
  return {
    hold(path) {
      let file: DenoFsFile;
      try {
        file = api.openSync(path, { read: true });
      } catch (err) {
        throw fromSystemError(err, "lock", path);
      }
      try {
        // Shared: a judge's exclusive try fails while we live; Windows keeps the file readable.
        if (!file.tryLockSync!(false)) throw systemError("EAGAIN", "already locked");
      } catch (err) {
        file.close();
        throw fromSystemError(err, "lock", path);
      }
      // Closing the file drops the flock; so does this process's death.
      return () => file.close();
    },
    isHeld(path) {
      let file: DenoFsFile;
      try {
        file = api.openSync(path, { read: true });
      } catch {
        return null;
      }
      try {
        if (!file.tryLockSync!(true)) return true;
        file.unlockSync();
        return false;
      } catch {
        return null;
      } finally {
        file.close();
      }
    },
  };
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; name?: string } | null;
  return e?.code ?? CODE_OF_CLASS[e?.name ?? ""];
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
