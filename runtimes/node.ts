/**
 * The node:fs adapter: synchronous positional I/O on file descriptors
 * (readSync/writeSync with a position, i.e. pread/pwrite), fdatasync for
 * `sync`, and the callback fdatasync for `syncAsync`, which runs on libuv's
 * thread pool so group commit lets the event loop gather writers while the
 * disk syncs. fdatasync rather than fsync: a store needs its bytes and the
 * file size durable, not the mtime (libuv issues F_FULLFSYNC on macOS for both).
 * node:fs/promises was rejected: a promise per read would make the
 * synchronous core asynchronous. Bun reuses this adapter (see bun.ts).
 */
import * as fs from "node:fs";
import process from "node:process";
import { fromSystemError } from "../src/errors.ts";
import { checkIo, checkMode, checkOffset, checkPath, closedFile } from "./checks.ts";
import type { DirectoryLock, FileHandle, FileStat, FileSystem, OpenMode } from "./fs.ts";
import { type LockHost, lockDirectory } from "./lockfile.ts";

const { O_CREAT, O_EXCL, O_RDONLY, O_RDWR } = fs.constants;
const OPEN_FLAGS: Record<OpenMode, number> = {
  read: O_RDONLY,
  write: O_RDWR,
  create: O_RDWR | O_CREAT,
  createNew: O_RDWR | O_CREAT | O_EXCL,
};
/** Largest single read or write; Node refuses more than 2 GiB - 1 per call. */
const CHUNK = 1 << 30;

/** A FileSystem over node:fs, reporting itself as `name` ("node", or "bun" under Bun). */
export function createNodeFileSystem(name: string): FileSystem {
  let host: LockHost | undefined;
  return {
    name,
    open(path: string, mode: OpenMode): FileHandle {
      checkPath(path, "open");
      checkMode(mode, path);
      let fd: number;
      try {
        fd = fs.openSync(path, OPEN_FLAGS[mode], 0o644);
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
        const s = fs.statSync(path, { throwIfNoEntry: false });
        if (s === undefined) return null;
        return {
          size: s.size,
          isFile: s.isFile(),
          isDirectory: s.isDirectory(),
          mtimeMs: s.mtimeMs,
        };
      } catch (err) {
        if (errorCode(err) === "ENOTDIR") return null;
        throw fromSystemError(err, "stat", path);
      }
    },
    mkdir(path: string): void {
      checkPath(path, "create directory");
      try {
        fs.mkdirSync(path, { recursive: true });
      } catch (err) {
        throw fromSystemError(err, "create directory", path);
      }
    },
    list(path: string): string[] {
      checkPath(path, "list");
      try {
        return fs.readdirSync(path).sort();
      } catch (err) {
        throw fromSystemError(err, "list", path);
      }
    },
    rename(from: string, to: string): void {
      checkPath(from, "rename");
      checkPath(to, "rename");
      try {
        fs.renameSync(from, to);
      } catch (err) {
        throw fromSystemError(err, "rename", `${from} to ${to}`);
      }
    },
    remove(path: string): void {
      checkPath(path, "remove");
      try {
        fs.rmSync(path, { recursive: true, force: true });
      } catch (err) {
        if (errorCode(err) === "ENOTDIR") return;
        throw fromSystemError(err, "remove", path);
      }
    },
    removeAsync(path: string): Promise<void> {
      checkPath(path, "remove");
      return new Promise((resolve, reject) => {
        fs.rm(path, { recursive: true, force: true }, (err) => {
          if (err && errorCode(err) !== "ENOTDIR") reject(fromSystemError(err, "remove", path));
          else resolve();
        });
      });
    },
    syncDirectory(path: string): void {
      checkPath(path, "sync directory");
      let fd: number;
      try {
        fd = fs.openSync(path, O_RDONLY);
      } catch (err) {
        throw fromSystemError(err, "sync directory", path);
      }
      try {
        if (!fs.fstatSync(fd).isDirectory()) throw systemError("ENOTDIR", "not a directory");
        // Windows cannot fsync a directory handle; NTFS journals entries itself.
        if (process.platform !== "win32") fs.fsyncSync(fd);
      } catch (err) {
        throw fromSystemError(err, "sync directory", path);
      } finally {
        fs.closeSync(fd);
      }
    },
    lock(directory: string): DirectoryLock {
      host ??= nodeLockHost(name);
      return lockDirectory(host, directory);
    },
  };
}

/** The node:fs adapter. */
export const nodeFileSystem: FileSystem = createNodeFileSystem("node");

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
        const n = fs.readSync(this.#fd, buf, done, want, position + done);
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
        done += fs.writeSync(this.#fd, buf, done, want, position + done);
      }
    } catch (err) {
      throw fromSystemError(err, "write", this.path);
    }
  }

  size(): number {
    this.#check("stat");
    try {
      return fs.fstatSync(this.#fd).size;
    } catch (err) {
      throw fromSystemError(err, "stat", this.path);
    }
  }

  truncate(length: number): void {
    checkOffset(length, `truncate ${this.path}`, "length");
    this.#check("truncate");
    try {
      fs.ftruncateSync(this.#fd, length);
    } catch (err) {
      throw fromSystemError(err, "truncate", this.path);
    }
  }

  sync(): void {
    this.#check("sync");
    try {
      fs.fdatasyncSync(this.#fd);
    } catch (err) {
      throw fromSystemError(err, "sync", this.path);
    }
  }

  syncAsync(): Promise<void> {
    if (this.#closed) return Promise.reject(closedFile("sync", this.path));
    this.#pending++;
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (err) => {
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
      fs.closeSync(this.#fd);
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
    isDirectory = fs.fstatSync(fd).isDirectory();
  } catch (err) {
    fs.closeSync(fd);
    throw fromSystemError(err, action, path);
  }
  if (isDirectory) {
    fs.closeSync(fd);
    throw fromSystemError(systemError("EISDIR", "illegal operation on a directory"), action, path);
  }
}

function nodeLockHost(runtime: string): LockHost {
  return {
    pid: process.pid,
    runtime,
    readText(path) {
      try {
        return fs.readFileSync(path, "utf8");
      } catch (err) {
        if (errorCode(err) === "ENOENT") return null;
        throw fromSystemError(err, "read", path);
      }
    },
    probe(path, kind) {
      try {
        return kind === "link" ? fs.readlinkSync(path) : fs.readFileSync(path, "utf8");
      } catch {
        return null;
      }
    },
    writeNew(path, text) {
      try {
        fs.writeFileSync(path, text, { flag: "wx", mode: 0o644 });
      } catch (err) {
        throw fromSystemError(err, "create", path);
      }
    },
    link(from, to) {
      try {
        fs.linkSync(from, to);
        return true;
      } catch (err) {
        if (errorCode(err) === "EEXIST") return false;
        throw fromSystemError(err, "link", to);
      }
    },
    unlink(path) {
      try {
        fs.unlinkSync(path);
      } catch (err) {
        if (errorCode(err) !== "ENOENT") throw fromSystemError(err, "remove", path);
      }
    },
    list(directory) {
      try {
        return fs.readdirSync(directory);
      } catch (err) {
        throw fromSystemError(err, "list", directory);
      }
    },
    realPath(path) {
      try {
        return fs.realpathSync(path);
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
