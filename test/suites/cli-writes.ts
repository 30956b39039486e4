/**
 * The CLI's write commands (purge, compact, remove, import) as child
 * processes: refused with ErrStoreLocked while another process holds the
 * store, refused without --yes when stdin is not a terminal, quiet on
 * success; and `cat --follow` printing what another process stores.
 */
import { join } from "node:path";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { holdStore, runCli, sampleStore, startCli, stop, treePicture } from "./cli-helpers.ts";
import { inTempDir } from "./store-helpers.ts";

const T = 60_000;

async function stateOf(disk: AdapterFixture, dir: string) {
  const store = await FileStore.open({ dir, fs: disk.fs, syncIntervalMs: 0 });
  try {
    const { msgs, firstSeq, lastSeq } = store.state();
    return { msgs, firstSeq, lastSeq, east: store.filteredState(1, "orders.east.>").msgs };
  } finally {
    await store.close();
  }
}

export function cliWriteTests(
  { it, expect }: TestApi,
  ctx: RuntimeContext,
  disk: AdapterFixture,
): void {
  it(
    "write commands are refused while another process holds the store (ErrStoreLocked, exit 2)",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const holder = await holdStore(ctx, dir);
        try {
          const before = treePicture(dir);
          for (const args of [
            ["purge", dir, "--yes"],
            ["compact", dir, "50", "--yes"],
            ["remove", dir, "3", "--yes"],
            ["import", dir],
          ]) {
            const r = await runCli(ctx, args, '{"subject":"x","msg":""}\n');
            expect({ args, code: r.code, stdout: r.stdout }).toStrictEqual({
              args,
              code: 2,
              stdout: "",
            });
            expect(r.stderr).toMatch(
              /^jetstore \w+: ErrStoreLocked: .* is open in another process/,
            );
          }
          expect(treePicture(dir)).toStrictEqual(before);
        } finally {
          await stop(holder);
        }
      }),
    T,
  );

  it(
    "purge, compact and remove ask for --yes off a terminal, then change the store quietly",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const asked = await runCli(ctx, ["purge", dir]);
        expect(asked.code).toBe(2);
        expect(asked.stderr).toContain("pass --yes to confirm (stdin is not a terminal)");
        expect(await stateOf(disk, dir)).toMatchObject({ msgs: 118, firstSeq: 1 });

        const quiet = { code: 0, stdout: "", stderr: "" };
        expect(await runCli(ctx, ["remove", dir, "3", "4", "--yes"])).toStrictEqual(quiet);
        expect(await runCli(ctx, ["remove", dir, "5", "--erase", "-y"])).toStrictEqual(quiet);
        // Given twice, removed once: the second is not "not in the store".
        expect(await runCli(ctx, ["remove", dir, "12", "12", "--yes"])).toStrictEqual(quiet);
        expect(await stateOf(disk, dir)).toMatchObject({ msgs: 114, firstSeq: 1 });
        const missing = await runCli(ctx, ["remove", dir, "6", "999", "--yes"]);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("ErrStoreMsgNotFound: not in the store: 999");
        expect(await runCli(ctx, ["compact", dir, "50", "--yes"])).toStrictEqual(quiet);
        expect(await stateOf(disk, dir)).toMatchObject({ msgs: 71, firstSeq: 50, lastSeq: 120 });
        const keep = ["purge", dir, "--subject", "orders.east.>", "--keep", "2", "--yes"];
        expect(await runCli(ctx, keep)).toStrictEqual(quiet);
        expect(await stateOf(disk, dir)).toMatchObject({ east: 2 });
        expect(await runCli(ctx, ["purge", dir, "--yes"])).toStrictEqual(quiet);
        expect(await stateOf(disk, dir)).toMatchObject({ msgs: 0, lastSeq: 120 });
        const verify = await runCli(ctx, ["verify", dir]);
        expect(verify.code).toBe(0);
      }),
    T,
  );

  it(
    "bench measures every workload against a temporary directory it removes",
    () =>
      inTempDir(disk, async (dir) => {
        const r = await runCli(ctx, ["bench", "--messages", "2000", "--dir", dir, "--json"]);
        expect({ code: r.code, stderr: r.stderr }).toStrictEqual({ code: 0, stderr: "" });
        const figures = JSON.parse(r.stdout) as { id: string; value: number }[];
        expect(figures.map((f) => f.id).sort()).toStrictEqual(
          ["W1", "W2", "W3", "W4a", "W4b", "W5a", "W5b", "W6", "W7", "W8a", "W8b"].sort(),
        );
        for (const f of figures) expect(Number.isFinite(f.value) && f.value >= 0).toBe(true);
        expect(treePicture(dir)).toStrictEqual({});
      }),
    T,
  );

  it(
    "cat --follow prints the messages another process stores after it started",
    () =>
      inTempDir(disk, async (dir) => {
        const writer = await FileStore.open({
          dir: join(dir, "s"),
          fs: disk.fs,
          syncIntervalMs: 0,
        });
        const follower = startCli(ctx, ["cat", join(dir, "s"), "--follow", "--subject", "live.>"]);
        try {
          writer.storeMsg("live.a", null, new TextEncoder().encode("one"));
          writer.storeMsg("other", null, new TextEncoder().encode("skip"));
          await writer.sync();
          let out = "";
          follower.stdout!.on("data", (d) => {
            out += String(d);
          });
          const seen = async (n: number) => {
            for (let waited = 0; out.split("\n").length <= n; waited += 50) {
              if (waited > 20_000) throw new Error(`cat --follow printed ${JSON.stringify(out)}`);
              await new Promise((r) => setTimeout(r, 50));
            }
          };
          await seen(1);
          writer.storeMsg("live.b", null, new TextEncoder().encode("two"));
          await writer.sync();
          await seen(2);
          expect(out).toMatch(/^#1 \S+ live\.a one\n#3 \S+ live\.b two\n$/);
        } finally {
          await stop(follower);
          await writer.close();
        }
      }),
    T,
  );
}
