/**
 * `jetstore backup` and `restore` as child processes: a store another
 * process holds backed up without a change to its files, restored into a
 * new directory with the same state, messages and consumer; a cut archive
 * refused with nothing left behind.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { holdStore, runCli, sampleStore, stop, treePicture } from "./cli-helpers.ts";
import { inTempDir } from "./store-helpers.ts";

const T = 60_000;

async function contents(disk: AdapterFixture, dir: string) {
  const store = await FileStore.open({ dir, fs: disk.fs, syncIntervalMs: 0 });
  try {
    const { deleted: _d, ...state } = store.state();
    const msgs = [];
    for (let seq = 1; seq <= state.lastSeq; seq++) {
      try {
        msgs.push(store.loadMsg(seq));
      } catch {}
    }
    return { state, msgs };
  } finally {
    await store.close();
  }
}

export function cliBackupTests(
  { it, expect }: TestApi,
  ctx: RuntimeContext,
  disk: AdapterFixture,
): void {
  it(
    "backup of a held store changes nothing; restore gives the same state, messages and consumer",
    () =>
      inTempDir(disk, async (dir) => {
        const src = join(dir, "src");
        await sampleStore(disk.fs, src);
        const archive = join(dir, "data.snapshot");
        const holder = await holdStore(ctx, src);
        try {
          const before = treePicture(src);
          const r = await runCli(ctx, ["backup", src, archive]);
          expect(r).toStrictEqual({ code: 0, stdout: "", stderr: "" });
          expect(treePicture(src)).toStrictEqual(before);
        } finally {
          await stop(holder);
        }
        const restored = await runCli(ctx, ["restore", archive, join(dir, "dst")]);
        expect(restored).toStrictEqual({ code: 0, stdout: "", stderr: "" });
        const a = await contents(disk, src);
        const b = await contents(disk, join(dir, "dst"));
        expect(b).toStrictEqual(a);
        const info = await runCli(ctx, ["info", join(dir, "dst"), "--json"]);
        expect(JSON.parse(info.stdout).consumers).toMatchObject([{ name: "east", ackPending: 3 }]);

        const bytes = readFileSync(archive);
        writeFileSync(join(dir, "cut.snapshot"), bytes.subarray(0, bytes.length - 7));
        const cut = await runCli(ctx, ["restore", join(dir, "cut.snapshot"), join(dir, "bad")]);
        expect(cut.code).toBe(1);
        expect(cut.stderr).toMatch(/^jetstore restore: ErrCorrupt: /);
        expect(disk.fs.stat(join(dir, "bad"))).toBeNull();
        const missing = await runCli(ctx, ["restore", join(dir, "nope"), join(dir, "bad")]);
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain("ErrIO");
      }),
    T,
  );
}
