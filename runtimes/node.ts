/**
 * The node:fs adapter: synchronous positional I/O on file descriptors
 * (readSync/writeSync with a position, i.e. pread/pwrite), fdatasync for
 * `sync`, and the callback fdatasync for `syncAsync`, which runs on libuv's
 * thread pool so group commit lets the event loop gather writers while the
 * disk syncs. fdatasync rather than fsync: a store needs its bytes and the
 * file size durable, not the mtime (libuv issues F_FULLFSYNC on macOS for both).
 * node:fs/promises was rejected: a promise per read would make the
 * synchronous core asynchronous. Bun reuses this adapter (see bun.ts).
 * `process` is the global: Node's ESM facade of `node:process` reads every
 * property of it, which creates the stdin and stdout streams (~1 ms of each
 * import of jetstore).
 */
import type * as NodeFs from "node:fs";
import { fromSystemError } from "../src/errors.ts";
import { builtinModule } from "./builtin.ts";
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

let loadedFs: typeof NodeFs | undefined;

/** node:fs, loaded on first use (builtin.ts: under Deno, which has its own adapter, never). */
function nodeFs(): typeof NodeFs {
  loadedFs ??= builtinModule<typeof NodeFs>("node:fs");
  return loadedFs;
}
/** Largest single read or write; Node refuses more than 2 GiB - 1 per call. */
const CHUNK = 1 << 30;

/** A FileSystem over node:fs, reporting itself as `name` ("node", or "bun" under Bun). */
export function createNodeFileSystem(name: string): FileSystem {
  let host: LockHost | undefined;
  return {
    name,
    open(path: string, mode: OpenMode, permissions = DEFAULT_FILE_MODE): FileHandle {
      checkPath(path, "open");
      checkMode(mode, path);
      checkPermissions(permissions, "open", path);
      let fd: number;
      try {
        fd = openFile(path, mode, permissions);
      } catch (err) {
        throw fromSystemError(err, "open", path);
      }
      // Linux opens a directory read-only without complaint; refuse it like the other modes do.
      if (mode === "read") refuseDirectory(fd, path, "open");
      return new NodeFile(path, fd);
    },
    stat(path: string): FileStat | null {
      checkPath(path, "stat");
      try {
        const s = nodeFs().statSync(path, { throwIfNoEntry: false });
        if (s === undefined) return null;
        return {
          size: s.size,
          isFile: s.isFile(),
          isDirectory: s.isDirectory(),
          mtimeMs: s.mtimeMs,
          mode: s.mode & 0o777,
        };
      } catch (err) {
        if (errorCode(err) === "ENOTDIR") return null;
        throw fromSystemError(err, "stat", path);
      }
    },
    mkdir(path: string, permissions = DEFAULT_DIRECTORY_MODE): void {
      checkPath(path, "create directory");
      checkPermissions(permissions, "create directory", path);
      try {
        const missing = missingDirectories(path, (p) => nodeFs().existsSync(p));
        nodeFs().mkdirSync(path, { recursive: true, mode: permissions });
        // The umask may have taken bits off; what this call created gets exactly `permissions`.
        for (const created of missing) nodeFs().chmodSync(created, permissions);
      } catch (err) {
        throw fromSystemError(err, "create directory", path);
      }
    },
    list(path: string): string[] {
      checkPath(path, "list");
      try {
        return nodeFs().readdirSync(path).sort();
      } catch (err) {
        throw fromSystemError(err, "list", path);
      }
    },
    rename(from: string, to: string): void {
      checkPath(from, "rename");
      checkPath(to, "rename");
      try {
        nodeFs().renameSync(from, to);
      } catch (err) {
        throw fromSystemError(err, "rename", `${from} to ${to}`);
      }
    },
    remove(path: string): void {
      checkPath(path, "remove");
      try {
        nodeFs().rmSync(path, { recursive: true, force: true });
      } catch (err) {
        if (errorCode(err) === "ENOTDIR") return;
        throw fromSystemError(err, "remove", path);
      }
    },
    removeAsync(path: string): Promise<void> {
      checkPath(path, "remove");
      return new Promise((resolve, reject) => {
        const settle = (err: Error | null) => {
          const code = err === null ? "" : errorCode(err);
          if (err === null || code === "ENOENT" || code === "ENOTDIR") resolve();
          else reject(fromSystemError(err, "remove", path));
        };
        // A plain unlink is one trip to the thread pool; `rm` takes an lstat
        // first, whose callback waits for the main thread (behind a
        // checkpoint's write, at a close) before the unlink can start.
        nodeFs().unlink(path, (err) => {
          const code = err === null ? "" : errorCode(err);
          if (code === "EISDIR" || code === "EPERM")
            nodeFs().rm(path, { recursive: true, force: true }, settle);
          else settle(err);
        });
      });
    },
    syncDirectory(path: string): void {
      checkPath(path, "sync directory");
      let fd: number;
      try {
        fd = nodeFs().openSync(path, nodeFs().constants.O_RDONLY);
      } catch (err) {
        throw fromSystemError(err, "sync directory", path);
      }
      try {
        if (!nodeFs().fstatSync(fd).isDirectory()) throw systemError("ENOTDIR", "not a directory");
        // Windows cannot fsync a directory handle; NTFS journals entries itself.
        if (process.platform !== "win32") nodeFs().fsyncSync(fd);
      } catch (err) {
        throw fromSystemError(err, "sync directory", path);
      } finally {
        nodeFs().closeSync(fd);
      }
    },
    lock(directory: string, permissions = DEFAULT_FILE_MODE): DirectoryLock {
      checkPermissions(permissions, "lock", directory);
      host ??= nodeLockHost(name);
      return lockDirectory(host, directory, permissions);
    },
  };
}

/** The node:fs adapter. */
export const nodeFileSystem: FileSystem = createNodeFileSystem("node");

/**
 * Opens `path` with `mode`. A file this call creates gets exactly
 * `permissions` (fchmod after the create: the umask can only take bits off);
 * an existing one is opened as it is, never chmodded, since it may belong to
 * another user sharing the store. So "create" tries an exclusive create first.
 */
function openFile(path: string, mode: OpenMode, permissions: number): number {
  if (mode === "read") return nodeFs().openSync(path, nodeFs().constants.O_RDONLY);
  if (mode === "write") return nodeFs().openSync(path, nodeFs().constants.O_RDWR);
  for (let attempt = 1; ; attempt++) {
    try {
      const fd = nodeFs().openSync(
        path,
        nodeFs().constants.O_RDWR | nodeFs().constants.O_CREAT | nodeFs().constants.O_EXCL,
        permissions,
      );
      try {
        nodeFs().fchmodSync(fd, permissions);
      } catch (err) {
        nodeFs().closeSync(fd);
        throw err;
      }
      return fd;
    } catch (err) {
      if (mode === "createNew" || errorCode(err) !== "EEXIST") throw err;
    }
    try {
      return nodeFs().openSync(path, nodeFs().constants.O_RDWR);
    } catch (err) {
      // Removed between the two opens: create it after all.
      if (errorCode(err) !== "ENOENT" || attempt === 3) throw err;
    }
  }
}

class NodeFile implements FileHandle {
  readonly path: string;
  readonly #fd: number;
  #closed = false;
  /** syncAsync calls in flight; the descriptor is closed only after they settle. */
  #pending = 0;

  constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  read(buf: Uint8Array, position: number): number {
    checkIo(buf, position, "read", this.path);
    this.#check("read");
    let done = 0;
    try {
      while (done < buf.length) {
        const want = Math.min(buf.length - done, CHUNK);
        const n = nodeFs().readSync(this.#fd, buf, done, want, position + done);
        if (n === 0) break;
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
    let done = 0;
    try {
      while (done < buf.length) {
        const want = Math.min(buf.length - done, CHUNK);
        done += nodeFs().writeSync(this.#fd, buf, done, want, position + done);
      }
    } catch (err) {
      throw fromSystemError(err, "write", this.path);
    }
  }

  size(): number {
    this.#check("stat");
    try {
      return nodeFs().fstatSync(this.#fd).size;
    } catch (err) {
      throw fromSystemError(err, "stat", this.path);
    }
  }

  truncate(length: number): void {
    checkOffset(length, `truncate ${this.path}`, "length");
    this.#check("truncate");
    try {
      nodeFs().ftruncateSync(this.#fd, length);
    } catch (err) {
      throw fromSystemError(err, "truncate", this.path);
    }
  }

  sync(): void {
    this.#check("sync");
    try {
      nodeFs().fdatasyncSync(this.#fd);
    } catch (err) {
      throw fromSystemError(err, "sync", this.path);
    }
  }

  syncAsync(): Promise<void> {
    if (this.#closed) return Promise.reject(closedFile("sync", this.path));
    this.#pending++;
    return new Promise((resolve, reject) => {
      nodeFs().fdatasync(this.#fd, (err) => {
        this.#pending--;
        if (this.#closed && this.#pending === 0) this.#closeDescriptor();
        if (err) reject(fromSystemError(err, "sync", this.path));
        else resolve();
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closing under an in-flight fsync could let the number be reused and synced by mistake.
    if (this.#pending === 0) this.#closeDescriptor(true);
  }

  #closeDescriptor(report = false): void {
    try {
      nodeFs().closeSync(this.#fd);
    } catch (err) {
      if (report) throw fromSystemError(err, "close", this.path);
    }
  }

  #check(action: string): void {
    if (this.#closed) throw closedFile(action, this.path);
  }
}

function refuseDirectory(fd: number, path: string, action: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = nodeFs().fstatSync(fd).isDirectory();
  } catch (err) {
    nodeFs().closeSync(fd);
    throw fromSystemError(err, action, path);
  }
  if (isDirectory) {
    nodeFs().closeSync(fd);
    throw fromSystemError(systemError("EISDIR", "illegal operation on a directory"), action, path);
  }
}

function nodeLockHost(runtime: string): LockHost {
  return {
    pid: process.pid,
    runtime,
    readText(path) {
      try {
        return nodeFs().readFileSync(path, "utf8");
      } catch (err) {
        if (errorCode(err) === "ENOENT") return null;
        throw fromSystemError(err, "read", path);
      }
    },
    probe(path, kind) {
      try {
        return kind === "link" ? nodeFs().readlinkSync(path) : nodeFs().readFileSync(path, "utf8");
      } catch {
        return null;
      }
    },
    writeNew(path, text, permissions) {
      try {
        nodeFs().writeFileSync(path, text, { flag: "wx", mode: permissions });
        nodeFs().chmodSync(path, permissions);
      } catch (err) {
        throw fromSystemError(err, "create", path);
      }
    },
    link(from, to) {
      try {
        nodeFs().linkSync(from, to);
        return true;
      } catch (err) {
        if (errorCode(err) === "EEXIST") return false;
        throw fromSystemError(err, "link", to);
      }
    },
    unlink(path) {
      try {
        nodeFs().unlinkSync(path);
      } catch (err) {
        if (errorCode(err) !== "ENOENT") throw fromSystemError(err, "remove", path);
      }
    },
    list(directory) {
      try {
        return nodeFs().readdirSync(directory);
      } catch (err) {
        throw fromSystemError(err, "list", directory);
      }
    },
    realPath(path) {
      try {
        // realpath(3) in one call: the JavaScript walk (an lstat per component) costs an open its lock's time.
        return nodeFs().realpathSync.native(path);
      } catch (err) {
        throw fromSystemError(err, "lock", path);
      }
    },
    signalZero(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        const code = errorCode(err);
        // EPERM: it exists but belongs to someone else.
        return code === "EPERM" ? true : code === "ESRCH" ? false : null;
      }
    },
  };
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
