/**
 * A read-only view of a runtime's filesystem for the CLI's read commands.
 * `FileStore.open` locks its directory and its recovery may write (cut a torn
 * tail, remove temporary files, write a checkpoint at close); through this
 * overlay those changes land in memory and the disk keeps every byte and
 * mtime. Reads go through to the adapter until a file is first changed, when
 * it is copied up whole. The lock is a no-op, so the store can be read while
 * another process holds it, as `verifyStore` reads it.
 */
import type {
  DirectoryLock,
  FileHandle,
  FileStat,
  FileSystem,
  OpenMode,
} from "../../runtimes/fs.ts";
import { JetStoreError } from "../errors.ts";

/** A file changed in memory: its bytes and when they last changed. */
interface Copied {
  bytes: Uint8Array;
  length: number;
  mtimeMs: number;
}

const normal = (path: string) => path.replace(/\/{2,}/g, "/").replace(/(.)\/+$/, "$1");
const parentOf = (path: string) => {
  const cut = path.lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
};
const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** `base` seen through an in-memory layer that takes every change. */
export function readOnlyOverlay(base: FileSystem): FileSystem {
  const files = new Map<string, Copied>();
  const dirs = new Set<string>();
  /**
   * Paths removed in the overlay: the disk's entries at and under them stay
   * hidden for good, while what the overlay itself holds there is shown.
   */
  const gone = new Set<string>();

  const isGone = (path: string): boolean => {
    for (let at = path; ; at = parentOf(at)) {
      if (gone.has(at)) return true;
      if (at === parentOf(at)) return false;
    }
  };
  const copyUp = (path: string): Copied => {
    const had = files.get(path);
    if (had !== undefined) return had;
    const h = base.open(path, "read");
    try {
      const bytes = new Uint8Array(Math.max(h.size(), 64));
      const length = h.size();
      for (let at = 0; at < length; ) {
        const n = h.read(bytes.subarray(at, length), at);
        if (n === 0) break;
        at += n;
      }
      const copied = { bytes, length, mtimeMs: Date.now() };
      files.set(path, copied);
      return copied;
    } finally {
      h.close();
    }
  };
  /** Everything under `from` copied up under `to`, then `from` hidden. */
  const moveDirectory = (from: string, to: string): void => {
    const walk = (src: string, dst: string): void => {
      dirs.add(dst);
      for (const name of fs.list(src)) {
        const path = `${src}/${name}`;
        if (fs.stat(path)?.isDirectory === true) walk(path, `${dst}/${name}`);
        else files.set(`${dst}/${name}`, { ...copyUp(path), mtimeMs: Date.now() });
      }
    };
    walk(from, to);
    fs.remove(from);
  };
  const exists = (path: string) => fs.stat(path) !== null;
  const notFound = (path: string) =>
    new JetStoreError("ErrNotFound", `${path}: no such file (read-only view)`);

  const fs: FileSystem = {
    name: `${base.name}+read-only`,
    open(raw: string, mode: OpenMode): FileHandle {
      const path = normal(raw);
      const present = exists(path);
      if (mode === "createNew" && present) {
        throw new JetStoreError("ErrIO", `${path}: exists (read-only view)`);
      }
      if ((mode === "read" || mode === "write") && !present) throw notFound(path);
      if (mode === "read" && !files.has(path)) return base.open(path, "read");
      let file = files.get(path);
      if (file === undefined) {
        file = present ? copyUp(path) : { bytes: new Uint8Array(64), length: 0, mtimeMs: 0 };
        files.set(path, file);
      }
      return memoryHandle(path, file);
    },
    stat(raw: string): FileStat | null {
      const path = normal(raw);
      const file = files.get(path);
      if (file !== undefined)
        return { size: file.length, isFile: true, isDirectory: false, mtimeMs: file.mtimeMs };
      if (dirs.has(path)) return { size: 0, isFile: false, isDirectory: true, mtimeMs: 0 };
      if (isGone(path)) return null;
      return base.stat(path);
    },
    mkdir(raw: string): void {
      const path = normal(raw);
      for (let at = path; !exists(at); at = parentOf(at)) {
        dirs.add(at);
        if (at === parentOf(at)) break;
      }
    },
    list(raw: string): string[] {
      const path = normal(raw);
      const names = new Set<string>();
      if (!isGone(path) && base.stat(path)?.isDirectory === true) {
        for (const name of base.list(path)) names.add(name);
      }
      for (const p of [...files.keys(), ...dirs]) if (parentOf(p) === path) names.add(nameOf(p));
      return [...names].filter((name) => exists(`${path}/${name}`)).sort();
    },
    rename(rawFrom: string, rawTo: string): void {
      const from = normal(rawFrom);
      const to = normal(rawTo);
      const stat = fs.stat(from);
      if (stat === null) throw notFound(from);
      if (stat.isDirectory) {
        // An open renames a consumer's directory away to remove it (consumer-files.ts).
        moveDirectory(from, to);
        return;
      }
      const file = copyUp(from);
      files.delete(from);
      gone.add(from);
      files.set(to, { ...file, mtimeMs: Date.now() });
    },
    remove(raw: string): void {
      const path = normal(raw);
      for (const p of [...files.keys()])
        if (p === path || p.startsWith(`${path}/`)) files.delete(p);
      for (const p of [...dirs]) if (p === path || p.startsWith(`${path}/`)) dirs.delete(p);
      gone.add(path);
    },
    removeAsync(path: string): Promise<void> {
      fs.remove(path);
      return Promise.resolve();
    },
    syncDirectory(): void {},
    lock(directory: string): DirectoryLock {
      return { path: directory, release() {} };
    },
  };
  return fs;
}

/** A handle on a file held in the overlay. */
function memoryHandle(path: string, file: Copied): FileHandle {
  const grow = (length: number) => {
    if (length <= file.bytes.length) return;
    const bigger = new Uint8Array(Math.max(length, file.bytes.length * 2));
    bigger.set(file.bytes.subarray(0, file.length));
    file.bytes = bigger;
  };
  return {
    path,
    read(buf: Uint8Array, position: number): number {
      if (position >= file.length) return 0;
      const n = Math.min(buf.length, file.length - position);
      buf.set(file.bytes.subarray(position, position + n));
      return n;
    },
    write(buf: Uint8Array, position: number): void {
      const end = position + buf.length;
      grow(end);
      if (position > file.length) file.bytes.fill(0, file.length, position);
      file.bytes.set(buf, position);
      file.length = Math.max(file.length, end);
      file.mtimeMs = Date.now();
    },
    size: () => file.length,
    truncate(length: number): void {
      grow(length);
      if (length > file.length) file.bytes.fill(0, file.length, length);
      file.length = length;
      file.mtimeMs = Date.now();
    },
    sync(): void {},
    syncAsync: () => Promise.resolve(),
    close(): void {},
  };
}
