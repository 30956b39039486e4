/**
 * The CLI's read-only overlay filesystem (src/cli/readonly-fs.ts) over the
 * runtime's adapter: every change is seen through the overlay and none
 * reaches the disk; a store opened through it, written and closed, leaves
 * the directory byte for byte and mtime for mtime as it was.
 */

import type { FileSystem } from "../../runtimes/fs.ts";
import { readOnlyOverlay } from "../../src/cli/readonly-fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, TestApi } from "../harness.ts";
import { sampleStore, treePicture } from "./cli-helpers.ts";
import { codeOf, inTempDir } from "./store-helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function overlayTests({ it, expect }: TestApi, disk: AdapterFixture): void {
  it("the read-only overlay shows every change and writes none", () =>
    inTempDir(disk, async (dir) => {
      const base = disk.fs;
      base.mkdir(`${dir}/a/b`);
      const put = (path: string, text: string) => {
        const h = base.open(path, "create");
        h.write(enc.encode(text), 0);
        h.close();
      };
      put(`${dir}/a/x`, "one");
      put(`${dir}/a/b/y`, "why");
      const before = treePicture(dir);
      const fs = readOnlyOverlay(base);
      const read = (path: string) => {
        const h = fs.open(path, "read");
        const buf = new Uint8Array(h.size());
        h.read(buf, 0);
        h.close();
        return dec.decode(buf);
      };

      const x = fs.open(`${dir}/a/x`, "write");
      x.write(enc.encode("TWO!"), 2);
      x.close();
      expect(read(`${dir}/a/x`)).toBe("onTWO!");
      fs.open(`${dir}/a/x`, "write").truncate(2);
      expect(read(`${dir}/a/x`)).toBe("on");
      const fresh = fs.open(`${dir}/a/new`, "createNew");
      fresh.write(enc.encode("new"), 0);
      expect(codeOf(() => fs.open(`${dir}/a/new`, "createNew"))).toBe("ErrIO");
      expect(fs.list(`${dir}/a`)).toStrictEqual(["b", "new", "x"]);
      fs.rename(`${dir}/a/x`, `${dir}/a/z`);
      expect(fs.list(`${dir}/a`)).toStrictEqual(["b", "new", "z"]);
      expect(fs.stat(`${dir}/a/x`)).toBeNull();
      expect(codeOf(() => fs.open(`${dir}/a/x`, "read"))).toBe("ErrNotFound");
      expect(read(`${dir}/a/z`)).toBe("on");
      fs.remove(`${dir}/a/b`);
      expect(fs.stat(`${dir}/a/b/y`)).toBeNull();
      fs.mkdir(`${dir}/a/b`);
      expect(fs.list(`${dir}/a/b`)).toStrictEqual([]);
      fs.mkdir(`${dir}/c/d`);
      expect(fs.stat(`${dir}/c/d`)?.isDirectory).toBe(true);
      fs.lock(dir).release();
      fs.lock(dir);
      fs.lock(dir);

      expect(treePicture(dir)).toStrictEqual(before);
    }));

  it("a store opened through the overlay twice, written and closed, leaves the disk as it was", () =>
    inTempDir(disk, async (dir) => {
      await sampleStore(disk.fs, dir);
      const before = treePicture(dir);
      const one = await FileStore.open({ dir, fs: readOnlyOverlay(disk.fs), syncIntervalMs: 0 });
      const two = await FileStore.open({ dir, fs: readOnlyOverlay(disk.fs), syncIntervalMs: 0 });
      one.storeMsg("more", null, enc.encode("x"));
      one.purgeEx("orders.east.>", 0, 0);
      await one.sync();
      expect(one.state().lastSeq).toBe(121);
      expect(two.state()).toMatchObject({ msgs: 118, lastSeq: 120 });
      await one.close();
      await two.close();
      expect(treePicture(dir)).toStrictEqual(before);
      const store = await FileStore.open({ dir, fs: disk.fs, syncIntervalMs: 0 });
      expect(store.state()).toMatchObject({ msgs: 118, lastSeq: 120 });
      await store.close();
    }));

  it("a store whose consumer deletion was cut short opens through the overlay, and the disk stays as it was", () =>
    inTempDir(disk, async (dir) => {
      // The consumer's directory cannot be renamed away: its deletion is recorded, not finished.
      let failRename = false;
      const failing = new Proxy(disk.fs, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (key !== "rename" || typeof value !== "function") return value;
          return (from: string, to: string) => {
            if (failRename && from.endsWith("/consumers/a"))
              throw new Error(`injected: cannot rename ${from}`);
            return value.call(target, from, to);
          };
        },
      }) as FileSystem;
      const store = await FileStore.open({
        dir,
        fs: failing,
        syncIntervalMs: 0,
        retention: "interest",
      });
      const a = store.consumer("a", { filter: "d.*" });
      store.consumer("b", { filter: "d.b" });
      for (let i = 0; i < 6; i++)
        store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, enc.encode("x"));
      await store.sync();
      failRename = true;
      expect(
        await a.delete().then(
          () => "resolved",
          () => "rejected",
        ),
      ).toBe("rejected");
      await store.close();
      expect(disk.fs.stat(`${dir}/consumers/a/deleting`)).not.toBeNull();
      const before = treePicture(dir);
      const seen = await FileStore.open({ dir, fs: readOnlyOverlay(disk.fs), syncIntervalMs: 0 });
      expect(seen.state()).toMatchObject({ msgs: 3, lastSeq: 6 });
      await seen.close();
      expect(treePicture(dir)).toStrictEqual(before);
    }));
}
