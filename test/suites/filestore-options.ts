/**
 * FileStore options whose effect is on disk rather than in the store's
 * answers: the at-rest options that are no-ops today ("none").
 */
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { enc, inTempDir, plain } from "./store-helpers.ts";

export function fileStoreOptionsSuite(api: TestApi, ctx: RuntimeContext): void {
  api.describe("FileStore options", () => {
    for (const adapter of ctx.adapters) {
      api.describe(`on ${adapter.name}`, () => {
        atRestTests(api, adapter);
      });
    }
  });
}

function atRestTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  it('takes cipher "none" and compression "none" as what a store does anyway: plain blocks', () =>
    inTempDir(adapter, async (dir) => {
      const store = await FileStore.open({
        dir,
        fs: adapter.fs,
        cipher: "none",
        compression: "none",
        syncIntervalMs: 0,
      });
      store.storeMsg("orders.east.42", null, enc("in the clear"));
      await store.close();
      const block = readAll(adapter.fs, joinPath(dir, "msgs", "1.blk"));
      expect(new TextDecoder().decode(block)).toContain("orders.east.42");
      expect(new TextDecoder().decode(block)).toContain("in the clear");
      const reopened = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
      expect(plain(reopened.loadMsg(1))).toMatchObject({
        subject: "orders.east.42",
        msg: Array.from(enc("in the clear")),
      });
      await reopened.close();
    }));
}

function readAll(fs: FileSystem, path: string): Uint8Array {
  const size = fs.stat(path)?.size ?? 0;
  const out = new Uint8Array(size);
  const handle = fs.open(path, "read");
  try {
    handle.read(out, 0);
  } finally {
    handle.close();
  }
  return out;
}
