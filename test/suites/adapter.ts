/**
 * The FileSystem contract (runtimes/fs.ts), one body of tests run against
 * every adapter of the runtime: the on-disk one (node, bun or deno) and the
 * memory one. The on-disk adapter is the oracle: whatever the kernel says
 * through it, the memory adapter must say too, down to the error code, so a
 * store tested in memory behaves as it will on disk. Tests assert codes
 * (ErrNotFound, ErrIO, ErrStoreLocked, ErrInvalidArgument) and bytes, never
 * messages, which differ by runtime. Power cuts and injected faults exist only
 * in memory and live in memory-faults.ts.
 * Per-adapter test files were rejected: they drift apart, and the drift is
 * exactly the bug this suite exists to catch.
 */

import { type FileSystem, isLockFileName, joinPath } from "../../runtimes/fs.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { codeOf, codeOfAsync } from "./store-helpers.ts";

/** Bytes from numbers. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** A file's whole content read through a fresh handle, as plain numbers. */
export function contents(fs: FileSystem, path: string): number[] {
  const h = fs.open(path, "read");
  try {
    const buf = new Uint8Array(h.size());
    expectCount(h.read(buf, 0), buf.length);
    return Array.from(buf);
  } finally {
    h.close();
  }
}

function expectCount(got: number, want: number): void {
  if (got !== want) throw new Error(`read ${got} bytes, expected ${want}`);
}

/** Creates (or replaces the start of) a file holding `data`. */
export function put(fs: FileSystem, path: string, data: Uint8Array): void {
  const h = fs.open(path, "create");
  try {
    h.write(data, 0);
  } finally {
    h.close();
  }
}

/** The first index where `a` and `b` differ (-1 if equal); deep equality of megabytes is slow in every runner. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Every entry below `dir` with its file bytes, to prove a rejected call changed nothing. */
function tree(fs: FileSystem, dir: string): Record<string, number[] | "dir"> {
  const out: Record<string, number[] | "dir"> = {};
  const walk = (path: string, rel: string) => {
    for (const name of fs.list(path)) {
      const child = joinPath(path, name);
      const key = `${rel}/${name}`;
      if (fs.stat(child)?.isDirectory) {
        out[key] = "dir";
        walk(child, key);
      } else {
        out[key] = contents(fs, child);
      }
    }
  };
  walk(dir, "");
  return out;
}

/** Runs `body` on a fresh directory of `fixture`, removing it afterwards. */
async function inDir(
  fixture: AdapterFixture,
  body: (fs: FileSystem, dir: string, at: (...names: string[]) => string) => unknown,
): Promise<void> {
  const { dir, cleanup } = fixture.tempDir();
  try {
    await body(fixture.fs, dir, (...names) => joinPath(dir, ...names));
  } finally {
    cleanup();
  }
}

/** No process has this pid: Linux's pid_max cannot exceed 2^22, and pids stay below it. */
const DEAD_PID = 2 ** 22;

function lockRecord(pid: number): Uint8Array {
  const record = { pid, runtime: "node", nonce: "0123456789abcdef" };
  return new TextEncoder().encode(
    `${JSON.stringify({ ...record, host: null, boot: null, pidns: null, start: null })}\n`,
  );
}

export function adapterSuite(api: TestApi, ctx: RuntimeContext): void {
  for (const fixture of ctx.adapters) {
    api.describe(`adapter contract (${fixture.name})`, () => {
      fileTests(api, fixture);
      directoryTests(api, fixture);
      lockTests(api, fixture);
      argumentTests(api, fixture);
    });
  }
}

function fileTests({ it, expect }: TestApi, fixture: AdapterFixture): void {
  it("needs the file for read and write, keeps it for create, refuses it for createNew", () =>
    inDir(fixture, (fs, _dir, at) => {
      const f = at("f");
      expect(codeOf(() => fs.open(f, "read"))).toBe("ErrNotFound");
      expect(codeOf(() => fs.open(f, "write"))).toBe("ErrNotFound");
      expect(fs.stat(f)).toBeNull();
      expect(codeOf(() => fs.open(at("missing", "f"), "create"))).toBe("ErrNotFound");
      expect(fs.stat(at("missing"))).toBeNull();

      const h = fs.open(f, "create");
      expect(h.path).toBe(f);
      expect(h.size()).toBe(0);
      h.write(bytes(1, 2, 3), 0);
      h.close();
      const again = fs.open(f, "create");
      expect(again.size()).toBe(3);
      again.close();
      expect(codeOf(() => fs.open(f, "createNew"))).toBe("ErrIO");
      expect(contents(fs, f)).toEqual([1, 2, 3]);

      const fresh = fs.open(at("g"), "createNew");
      expect(fresh.size()).toBe(0);
      fresh.write(bytes(7), 0);
      fresh.close();
      const w = fs.open(at("g"), "write");
      w.write(bytes(8), 1);
      w.close();
      expect(contents(fs, at("g"))).toEqual([7, 8]);
    }));

  it("lets a read-only handle read but neither write nor truncate", () =>
    inDir(fixture, (fs, _dir, at) => {
      put(fs, at("f"), bytes(1, 2, 3));
      const h = fs.open(at("f"), "read");
      const buf = new Uint8Array(3);
      expect(h.read(buf, 0)).toBe(3);
      expect(Array.from(buf)).toEqual([1, 2, 3]);
      expect(codeOf(() => h.write(bytes(9), 0))).toBe("ErrIO");
      expect(codeOf(() => h.truncate(1))).toBe("ErrIO");
      h.close();
      expect(contents(fs, at("f"))).toEqual([1, 2, 3]);
    }));

  it("refuses to open a directory, or a path through a file, in every mode", () =>
    inDir(fixture, (fs, dir, at) => {
      fs.mkdir(at("sub"));
      put(fs, at("f"), bytes(1));
      for (const mode of ["read", "write", "create", "createNew"] as const) {
        expect(codeOf(() => fs.open(at("sub"), mode))).toBe("ErrIO");
        expect(codeOf(() => fs.open(dir, mode))).toBe("ErrIO");
        expect(codeOf(() => fs.open(at("f", "x"), mode))).toBe("ErrIO");
      }
      expect(fs.list(dir)).toEqual(["f", "sub"]);
      expect(fs.list(at("sub"))).toEqual([]);
    }));

  it("reads and writes at positions, zero-filling a gap written past the end", () =>
    inDir(fixture, (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      h.write(bytes(1, 2, 3), 0);
      h.write(bytes(9), 10);
      expect(h.size()).toBe(11);
      const all = new Uint8Array(11);
      expect(h.read(all, 0)).toBe(11);
      expect(Array.from(all)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9]);

      h.write(bytes(5, 6), 2);
      const mid = new Uint8Array(4);
      expect(h.read(mid, 1)).toBe(4);
      expect(Array.from(mid)).toEqual([2, 5, 6, 0]);

      const tail = new Uint8Array(8).fill(0xee);
      expect(h.read(tail, 8)).toBe(3);
      expect(Array.from(tail)).toEqual([0, 0, 9, 0xee, 0xee, 0xee, 0xee, 0xee]);
      expect(h.read(new Uint8Array(4), 11)).toBe(0);
      expect(h.read(new Uint8Array(4), 1000)).toBe(0);
      expect(h.read(new Uint8Array(0), 0)).toBe(0);

      // An empty write past the end does not extend the file.
      h.write(new Uint8Array(0), 100);
      expect(h.size()).toBe(11);
      h.close();
    }));

  it("honours the offset of buffer views and moves large buffers whole", () =>
    inDir(fixture, (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      const backing = new Uint8Array(16).fill(0xaa);
      backing.set([1, 2, 3, 4], 5);
      h.write(backing.subarray(5, 9), 0);
      expect(h.size()).toBe(4);
      const target = new Uint8Array(10);
      expect(h.read(target.subarray(3, 7), 0)).toBe(4);
      expect(Array.from(target)).toEqual([0, 0, 0, 1, 2, 3, 4, 0, 0, 0]);

      const big = new Uint8Array(3 * 1024 * 1024 + 7);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 9)) & 0xff;
      h.write(big, 4);
      expect(h.size()).toBe(big.length + 4);
      const back = new Uint8Array(big.length);
      expect(h.read(back, 4)).toBe(big.length);
      expect(firstDifference(back, big)).toBe(-1);
      const piece = new Uint8Array(1001);
      expect(h.read(piece, 4 + 123457)).toBe(1001);
      expect(firstDifference(piece, big.subarray(123457, 123457 + 1001))).toBe(-1);
      h.close();
    }));

  it("shows one handle's writes to another handle of the same file", () =>
    inDir(fixture, (fs, _dir, at) => {
      const a = fs.open(at("f"), "create");
      const b = fs.open(at("f"), "read");
      a.write(bytes(4, 5, 6), 0);
      expect(b.size()).toBe(3);
      const buf = new Uint8Array(3);
      expect(b.read(buf, 0)).toBe(3);
      expect(Array.from(buf)).toEqual([4, 5, 6]);
      a.close();
      b.close();
    }));

  it("truncates down, and up with zeros rather than the old bytes", () =>
    inDir(fixture, (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      h.write(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0);
      h.truncate(4);
      expect(h.size()).toBe(4);
      expect(h.read(new Uint8Array(8), 4)).toBe(0);
      h.truncate(8);
      expect(h.size()).toBe(8);
      h.truncate(8);
      h.close();
      expect(contents(fs, at("f"))).toEqual([1, 2, 3, 4, 0, 0, 0, 0]);
      expect(fs.stat(at("f"))?.size).toBe(8);
      const again = fs.open(at("f"), "write");
      again.truncate(0);
      expect(again.size()).toBe(0);
      again.close();
    }));

  it("syncs synchronously and asynchronously, also with a close in between", () =>
    inDir(fixture, async (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      h.write(bytes(1, 2), 0);
      h.sync();
      h.write(bytes(3), 2);
      await h.syncAsync();
      await Promise.all([h.syncAsync(), h.syncAsync(), h.syncAsync()]);
      h.write(bytes(4), 3);
      const pending = h.syncAsync();
      h.close();
      await pending;
      expect(contents(fs, at("f"))).toEqual([1, 2, 3, 4]);
    }));

  it("refuses every use of a closed handle, and closing twice is fine", () =>
    inDir(fixture, async (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      h.write(bytes(1), 0);
      h.close();
      h.close();
      expect(codeOf(() => h.read(new Uint8Array(1), 0))).toBe("ErrIO");
      expect(codeOf(() => h.write(bytes(2), 0))).toBe("ErrIO");
      expect(codeOf(() => h.size())).toBe("ErrIO");
      expect(codeOf(() => h.truncate(0))).toBe("ErrIO");
      expect(codeOf(() => h.sync())).toBe("ErrIO");
      expect(await codeOfAsync(() => h.syncAsync())).toBe("ErrIO");
      expect(contents(fs, at("f"))).toEqual([1]);
    }));

  it("keeps an open handle working after its file is renamed or removed", () =>
    inDir(fixture, (fs, _dir, at) => {
      const h = fs.open(at("a"), "create");
      h.write(bytes(1, 2), 0);
      fs.rename(at("a"), at("b"));
      h.write(bytes(3), 2);
      expect(contents(fs, at("b"))).toEqual([1, 2, 3]);
      expect(fs.stat(at("a"))).toBeNull();

      fs.remove(at("b"));
      expect(fs.stat(at("b"))).toBeNull();
      // POSIX keeps an unlinked file alive while it is open.
      const buf = new Uint8Array(3);
      expect(h.read(buf, 0)).toBe(3);
      expect(Array.from(buf)).toEqual([1, 2, 3]);
      h.write(bytes(4), 3);
      expect(h.size()).toBe(4);
      h.close();
      expect(fs.stat(at("b"))).toBeNull();
    }));
}

function directoryTests({ it, expect }: TestApi, fixture: AdapterFixture): void {
  it("stats files and directories, and nothing for missing paths or paths through a file", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1, 2, 3, 4, 5));
      const file = fs.stat(at("f"));
      expect(file).toMatchObject({ size: 5, isFile: true, isDirectory: false });
      expect(typeof file?.mtimeMs).toBe("number");
      expect(file?.mtimeMs).toBeGreaterThan(0);
      expect(fs.stat(dir)).toMatchObject({ isFile: false, isDirectory: true });
      expect(fs.stat(at("missing"))).toBeNull();
      expect(fs.stat(at("missing", "deeper"))).toBeNull();
      expect(fs.stat(at("f", "x"))).toBeNull();
      // Not "f/": Deno run with --allow-read/--allow-write (not -A) erases trailing slashes and
      // "x/.." lexically before the kernel sees them, so it stats the file where POSIX says ENOTDIR.
    }));

  it("creates directories with their parents, idempotently, never over a file", () =>
    inDir(fixture, (fs, _dir, at) => {
      fs.mkdir(at("a", "b", "c"));
      expect(fs.stat(at("a", "b", "c"))?.isDirectory).toBe(true);
      fs.mkdir(at("a", "b", "c"));
      fs.mkdir(at("a"));
      expect(fs.list(at("a"))).toEqual(["b"]);
      put(fs, at("f"), bytes(1));
      expect(codeOf(() => fs.mkdir(at("f")))).toBe("ErrIO");
      expect(codeOf(() => fs.mkdir(at("f", "sub")))).toBe("ErrIO");
      expect(fs.stat(at("f"))?.isFile).toBe(true);
      expect(contents(fs, at("f"))).toEqual([1]);
    }));

  it("lists names sorted, directories included, and fails on a missing path or a file", () =>
    inDir(fixture, (fs, dir, at) => {
      expect(fs.list(dir)).toEqual([]);
      for (const name of ["b", "a10", "B", "a2", "_x", "a", "é"]) put(fs, at(name), bytes(0));
      fs.mkdir(at("dir"));
      expect(fs.list(dir)).toEqual(["B", "_x", "a", "a10", "a2", "b", "dir", "é"]);
      expect(codeOf(() => fs.list(at("missing")))).toBe("ErrNotFound");
      expect(codeOf(() => fs.list(at("a")))).toBe("ErrIO");
    }));

  it("renames files and directories, replacing an existing file", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("new"), bytes(2, 2));
      put(fs, at("old"), bytes(1, 1, 1, 1));
      fs.rename(at("new"), at("old"));
      expect(fs.list(dir)).toEqual(["old"]);
      expect(contents(fs, at("old"))).toEqual([2, 2]);

      fs.mkdir(at("d1", "inner"));
      put(fs, at("d1", "inner", "f"), bytes(5));
      fs.mkdir(at("d2"));
      fs.rename(at("old"), at("d2", "moved"));
      expect(contents(fs, at("d2", "moved"))).toEqual([2, 2]);
      fs.rename(at("d1"), at("d3"));
      expect(fs.stat(at("d1"))).toBeNull();
      expect(contents(fs, at("d3", "inner", "f"))).toEqual([5]);
      fs.mkdir(at("empty"));
      fs.rename(at("d3"), at("empty"));
      expect(contents(fs, at("empty", "inner", "f"))).toEqual([5]);
      fs.rename(at("d2", "moved"), at("d2", "moved"));
      expect(contents(fs, at("d2", "moved"))).toEqual([2, 2]);
      expect(fs.list(dir)).toEqual(["d2", "empty"]);
    }));

  it("refuses renames a disk refuses, changing nothing", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1));
      fs.mkdir(at("d", "sub"));
      put(fs, at("d", "sub", "g"), bytes(2));
      fs.mkdir(at("full"));
      put(fs, at("full", "h"), bytes(3));
      const before = tree(fs, dir);
      expect(codeOf(() => fs.rename(at("missing"), at("x")))).toBe("ErrNotFound");
      expect(codeOf(() => fs.rename(at("f"), at("nowhere", "f")))).toBe("ErrNotFound");
      expect(codeOf(() => fs.rename(at("f"), at("d")))).toBe("ErrIO");
      expect(codeOf(() => fs.rename(at("d"), at("f")))).toBe("ErrIO");
      expect(codeOf(() => fs.rename(at("d"), at("full")))).toBe("ErrIO");
      expect(codeOf(() => fs.rename(at("d"), at("d", "sub", "inside")))).toBe("ErrIO");
      expect(tree(fs, dir)).toEqual(before);
    }));

  it("removes files and whole trees, and is fine when nothing is there", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1));
      fs.mkdir(at("t", "u", "v"));
      put(fs, at("t", "u", "g"), bytes(2));
      put(fs, at("t", "h"), bytes(3));
      put(fs, at("keep"), bytes(4));
      fs.remove(at("f"));
      fs.remove(at("t"));
      expect(fs.list(dir)).toEqual(["keep"]);
      expect(fs.stat(at("t", "u"))).toBeNull();
      fs.remove(at("f"));
      fs.remove(at("missing", "deeper"));
      fs.remove(at("keep", "x"));
      expect(contents(fs, at("keep"))).toEqual([4]);
      fs.mkdir(at("t"));
      expect(fs.list(at("t"))).toEqual([]);
    }));

  it("removes asynchronously with removeAsync, and is fine when nothing is there", () =>
    inDir(fixture, async (fs, dir, at) => {
      put(fs, at("f"), bytes(1));
      fs.mkdir(at("t", "u"));
      put(fs, at("t", "u", "g"), bytes(2));
      put(fs, at("keep"), bytes(4));
      await fs.removeAsync(at("f"));
      await fs.removeAsync(at("t"));
      await fs.removeAsync(at("missing", "deeper"));
      await fs.removeAsync(at("keep", "through-a-file"));
      expect(fs.list(dir)).toEqual(["keep"]);
      expect(contents(fs, at("keep"))).toEqual([4]);
    }));

  it("syncs a directory, and fails for a missing path or a file", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1));
      fs.syncDirectory(dir);
      expect(codeOf(() => fs.syncDirectory(at("missing")))).toBe("ErrNotFound");
      expect(codeOf(() => fs.syncDirectory(at("f")))).toBe("ErrIO");
    }));
}

function lockTests({ it, expect }: TestApi, fixture: AdapterFixture): void {
  it("locks a directory exclusively until released, under any spelling of its path", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("data"), bytes(1));
      fs.mkdir(at("other"));
      const lock = fs.lock(dir);
      expect(lock.path).toBe(dir);
      expect(codeOf(() => fs.lock(dir))).toBe("ErrStoreLocked");
      expect(codeOf(() => fs.lock(`${dir}/./`))).toBe("ErrStoreLocked");
      expect(codeOf(() => fs.lock(`${at("other")}/..`))).toBe("ErrStoreLocked");
      // Every adapter here keeps its lock as files, so a store must skip them everywhere.
      const names = fs.list(dir);
      expect(names.some(isLockFileName)).toBe(true);
      expect(names.filter((n) => !isLockFileName(n))).toEqual(["data", "other"]);

      const inner = fs.lock(at("other"));
      inner.release();
      lock.release();
      lock.release();
      expect(fs.list(dir)).toEqual(["data", "other"]);
      const again = fs.lock(dir);
      expect(codeOf(() => fs.lock(dir))).toBe("ErrStoreLocked");
      again.release();
      expect(fs.list(dir)).toEqual(["data", "other"]);
    }));

  it("refuses to lock a missing directory or a file", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1));
      expect(codeOf(() => fs.lock(at("missing")))).toBe("ErrNotFound");
      expect(codeOf(() => fs.lock(at("f")))).toBe("ErrIO");
      expect(fs.list(dir)).toEqual(["f"]);
    }));

  it("takes over a lock left by a process that is gone", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("LOCK"), lockRecord(DEAD_PID));
      const lock = fs.lock(dir);
      expect(codeOf(() => fs.lock(dir))).toBe("ErrStoreLocked");
      lock.release();
      expect(fs.list(dir)).toEqual([]);
    }));

  if (fixture.onDisk) {
    it("refuses a lock held by another live process", () =>
      inDir(fixture, (fs, dir, at) => {
        // pid 1 (init) outlives every test; the record carries no identity to contradict it.
        put(fs, at("LOCK"), lockRecord(1));
        expect(codeOf(() => fs.lock(dir))).toBe("ErrStoreLocked");
        expect(fs.list(dir)).toEqual(["LOCK"]);
        expect(contents(fs, at("LOCK"))).toEqual(Array.from(lockRecord(1)));
      }));
  }
}

function argumentTests({ it, expect }: TestApi, fixture: AdapterFixture): void {
  const badPaths: unknown[] = [42, null, undefined, "", "a\0b", {}, ["x"], new String("x")];

  it("rejects bad paths and modes with ErrInvalidArgument, changing nothing", () =>
    inDir(fixture, (fs, dir, at) => {
      put(fs, at("f"), bytes(1, 2));
      fs.mkdir(at("d"));
      const before = tree(fs, dir);
      const paths = badPaths.map((p) => (p === "a\0b" ? at("a\0b") : p)) as string[];
      for (const p of paths) {
        expect(codeOf(() => fs.open(p, "create"))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.stat(p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.mkdir(p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.list(p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.rename(at("f"), p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.rename(p, at("moved")))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.remove(p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.syncDirectory(p))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.lock(p))).toBe("ErrInvalidArgument");
      }
      for (const mode of ["append", "", "READ", null, undefined, 1, {}]) {
        const open = () => fs.open(at("new"), mode as "read");
        expect(codeOf(open)).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.open(at("f"), mode as "read"))).toBe("ErrInvalidArgument");
      }
      expect(tree(fs, dir)).toEqual(before);
      // A rejected lock took nothing: the directory can still be locked.
      fs.lock(dir).release();
    }));

  it("rejects bad buffers, positions and lengths with ErrInvalidArgument, changing nothing", () =>
    inDir(fixture, (fs, _dir, at) => {
      const h = fs.open(at("f"), "create");
      h.write(bytes(1, 2, 3, 4), 0);
      const badBuffers: unknown[] = [
        [1, 2],
        new ArrayBuffer(2),
        "ab",
        null,
        undefined,
        new DataView(new ArrayBuffer(2)),
        new Uint16Array(2),
        new Int8Array(2),
      ];
      for (const buf of badBuffers) {
        expect(codeOf(() => h.write(buf as Uint8Array, 0))).toBe("ErrInvalidArgument");
        expect(codeOf(() => h.read(buf as Uint8Array, 0))).toBe("ErrInvalidArgument");
      }
      const badPositions: unknown[] = [
        -1,
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        2 ** 53,
        "0",
        null,
        undefined,
        1n,
      ];
      for (const position of badPositions) {
        const target = new Uint8Array(2).fill(0xee);
        expect(codeOf(() => h.write(bytes(9, 9), position as number))).toBe("ErrInvalidArgument");
        expect(codeOf(() => h.read(target, position as number))).toBe("ErrInvalidArgument");
        expect(Array.from(target)).toEqual([0xee, 0xee]);
        expect(codeOf(() => h.truncate(position as number))).toBe("ErrInvalidArgument");
      }
      const nearLimit = Number.MAX_SAFE_INTEGER - 1;
      expect(codeOf(() => h.write(bytes(9, 9, 9), nearLimit))).toBe("ErrInvalidArgument");
      expect(codeOf(() => h.read(new Uint8Array(3), nearLimit))).toBe("ErrInvalidArgument");
      expect(h.size()).toBe(4);
      h.close();
      expect(contents(fs, at("f"))).toEqual([1, 2, 3, 4]);
    }));
}
