/**
 * Permission bits of what a store creates (issue 11, item 14): owner only by
 * default (files 0o600, directories 0o700, as nats-server), `fileMode` for
 * those who mean to share, set exactly whatever the umask, and only on what
 * the call created. Checked through each adapter's own `stat`, the on-disk
 * one (which asks the kernel) and the memory one (which must say the same).
 * The modes 0o666 and 0o777 are there because the usual umask (022) would take
 * bits off them: only an explicit chmod gives them whole.
 */
import { type FileSystem, isLockFileName, joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { codeOf, codeOfAsync, inTempDir } from "./store-helpers.ts";

export function fileModeSuite(api: TestApi, ctx: RuntimeContext): void {
  for (const adapter of ctx.adapters) {
    api.describe(`file modes (${adapter.name})`, () => {
      adapterTests(api, adapter);
      storeTests(api, adapter);
    });
  }
}

function adapterTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  const modeOf = (path: string) => adapter.fs.stat(path)?.mode;

  it("creates files 0o600 and directories 0o700 unless told otherwise", () =>
    inTempDir(adapter, async (dir) => {
      const fs = adapter.fs;
      fs.open(joinPath(dir, "created"), "create").close();
      fs.open(joinPath(dir, "new"), "createNew").close();
      fs.mkdir(joinPath(dir, "a", "b"));
      const lock = fs.lock(joinPath(dir, "a"));
      expect(modeOf(joinPath(dir, "created"))).toBe(0o600);
      expect(modeOf(joinPath(dir, "new"))).toBe(0o600);
      expect(modeOf(joinPath(dir, "a"))).toBe(0o700);
      expect(modeOf(joinPath(dir, "a", "b"))).toBe(0o700);
      expect(modeOf(joinPath(dir, "a", "LOCK"))).toBe(0o600);
      lock.release();
    }));

  it("gives what it creates exactly the permissions asked, bits a umask would drop included", () =>
    inTempDir(adapter, async (dir) => {
      const fs = adapter.fs;
      fs.open(joinPath(dir, "shared"), "create", 0o666).close();
      fs.open(joinPath(dir, "group"), "createNew", 0o640).close();
      fs.mkdir(joinPath(dir, "x", "y"), 0o777);
      fs.mkdir(joinPath(dir, "g"), 0o750);
      const lock = fs.lock(joinPath(dir, "x"), 0o666);
      expect(modeOf(joinPath(dir, "shared"))).toBe(0o666);
      expect(modeOf(joinPath(dir, "group"))).toBe(0o640);
      expect(modeOf(joinPath(dir, "x"))).toBe(0o777);
      expect(modeOf(joinPath(dir, "x", "y"))).toBe(0o777);
      expect(modeOf(joinPath(dir, "g"))).toBe(0o750);
      expect(modeOf(joinPath(dir, "x", "LOCK"))).toBe(0o666);
      lock.release();
    }));

  it("leaves the permissions of an existing file or directory as they are", () =>
    inTempDir(adapter, async (dir) => {
      const fs = adapter.fs;
      const file = fs.open(joinPath(dir, "f"), "create", 0o640);
      file.write(new Uint8Array([1, 2, 3]), 0);
      file.close();
      fs.mkdir(joinPath(dir, "d"), 0o750);
      fs.open(joinPath(dir, "f"), "create", 0o666).close();
      fs.mkdir(joinPath(dir, "d", "e"), 0o777);
      expect(modeOf(joinPath(dir, "f"))).toBe(0o640);
      expect(fs.stat(joinPath(dir, "f"))?.size).toBe(3);
      expect(modeOf(joinPath(dir, "d"))).toBe(0o750);
      expect(modeOf(joinPath(dir, "d", "e"))).toBe(0o777);
    }));

  it("refuses permissions that are not bits from 0 to 0o777, creating nothing", () =>
    inTempDir(adapter, async (dir) => {
      const fs = adapter.fs;
      for (const bad of [-1, 0o1000, 1.5, Number.NaN, "0640", null]) {
        const perm = bad as number;
        expect(codeOf(() => fs.open(joinPath(dir, "f"), "create", perm))).toBe(
          "ErrInvalidArgument",
        );
        expect(codeOf(() => fs.mkdir(joinPath(dir, "d"), perm))).toBe("ErrInvalidArgument");
        expect(codeOf(() => fs.lock(dir, perm))).toBe("ErrInvalidArgument");
      }
      expect(fs.list(dir)).toEqual([]);
    }));
}

function storeTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  const cases: [string, number | undefined, number, number][] = [
    ["by default", undefined, 0o600, 0o700],
    ["with fileMode 0o640", 0o640, 0o640, 0o750],
    ["with fileMode 0o666", 0o666, 0o666, 0o777],
  ];
  for (const [label, fileMode, file, directory] of cases) {
    it(`gives every file and directory of a new store ${file.toString(8)} / ${directory.toString(8)} ${label}, its missing parent too`, () =>
      inTempDir(adapter, async (tmp) => {
        const fs = adapter.fs;
        const parent = joinPath(tmp, "parent");
        const dir = joinPath(parent, "store");
        const store = await FileStore.open({
          dir,
          fs,
          fileMode,
          blockSize: 4096,
          syncIntervalMs: 0,
        });
        for (let i = 0; i < 40; i++) store.storeMsg(`orders.${i % 4}`, null, new Uint8Array(300));
        await store.flush();
        // The lock's files exist only while the store is open.
        const lockFiles = fs.list(dir).filter(isLockFileName);
        expect(lockFiles.length).toBeGreaterThan(0);
        for (const name of lockFiles) expect(modeOf(fs, joinPath(dir, name))).toBe(file);
        await store.close();
        const modes = modesBelow(fs, parent);
        expect(Object.keys(modes).filter((p) => p.endsWith(".blk")).length).toBeGreaterThan(2);
        expect(modes["store/index.ckpt"]).toBe(file);
        const expected = Object.fromEntries(
          Object.keys(modes).map((p) => [
            p,
            fs.stat(joinPath(parent, p))?.isDirectory ? directory : file,
          ]),
        );
        expect({ parent: modeOf(fs, parent), ...modes }).toStrictEqual({
          parent: directory,
          ...expected,
        });
      }));
  }

  it("refuses a fileMode without owner read and write, or not permission bits, creating nothing", () =>
    inTempDir(adapter, async (tmp) => {
      const dir = joinPath(tmp, "store");
      for (const fileMode of [0o400, 0o200, 0o1777, -1, 1.5, "0640", null]) {
        const code = await codeOfAsync(() =>
          FileStore.open({ dir, fs: adapter.fs, fileMode: fileMode as number }),
        );
        expect(code).toBe("ErrInvalidArgument");
      }
      expect(adapter.fs.list(tmp)).toEqual([]);
    }));
}

function modeOf(fs: FileSystem, path: string): number | undefined {
  return fs.stat(path)?.mode;
}

/** The mode of every file and directory below `root`, by path relative to it. */
function modesBelow(fs: FileSystem, root: string): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  const walk = (path: string, rel: string) => {
    for (const name of fs.list(path)) {
      const full = joinPath(path, name);
      const key = rel === "" ? name : `${rel}/${name}`;
      out[key] = modeOf(fs, full);
      if (fs.stat(full)?.isDirectory) walk(full, key);
    }
  };
  walk(root, "");
  return out;
}
