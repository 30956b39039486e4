/**
 * `jetstore backup` and `restore` as child processes: a store another
 * process holds backed up without a change to its files, restored into a
 * new directory with the same state, messages and consumer; a cut archive
 * refused with nothing left behind; a FILE that is a directory or a pipe
 * refused, and a directory given as the archive, with nothing left beside
 * them; a FILE that is a symbolic link written through; the archive file
 * whole or absent after a power cut (in process, on the memory adapter);
 * progress while a slow archive is restored; a piped backup's 100 % line
 * shown once; stdin or stdout on a terminal refused.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { writeWhole } from "../../src/cli/commands/backup.ts";
import { progress } from "../../src/cli/progress.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import {
  type CliRun,
  cliCommand,
  holdStore,
  runCli,
  runOnTerminal,
  sampleStore,
  stop,
  treePicture,
} from "./cli-helpers.ts";
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

  it(
    "a FILE that is a directory or a named pipe is refused (exit 2), left as it was, with nothing beside it or at DIR",
    () =>
      inTempDir(disk, async (dir) => {
        const src = join(dir, "src");
        await sampleStore(disk.fs, src);
        const taken = join(dir, "taken");
        mkdirSync(taken);
        const backup = await runCli(ctx, ["backup", src, taken]);
        expect(backup.code).toBe(2);
        expect(backup.stderr).toMatch(/^jetstore backup: ErrInvalidArgument: .*directory.*\n$/);
        expect(readdirSync(dir).sort()).toStrictEqual(["src", "taken"]);
        expect(readdirSync(taken)).toStrictEqual([]);
        // A FIFO another process reads from: renamed over, it became a regular file.
        const fifo = join(dir, "fifo");
        execFileSync("mkfifo", [fifo]);
        const piped = await runCli(ctx, ["backup", src, fifo]);
        expect(piped.code).toBe(2);
        expect(piped.stderr).toMatch(/^jetstore backup: ErrInvalidArgument: .*not a regular file/);
        expect(lstatSync(fifo).isFIFO()).toBe(true);
        rmSync(fifo);
        expect(readdirSync(dir).sort()).toStrictEqual(["src", "taken"]);
        const restore = await runCli(ctx, ["restore", taken, join(dir, "dst")]);
        expect(restore.code).toBe(2);
        expect(restore.stderr).toMatch(/^jetstore restore: ErrIO: .*taken.*\n$/);
        expect(readdirSync(dir).sort()).toStrictEqual(["src", "taken"]);
      }),
    T,
  );

  it(
    "restore - with stdin on a terminal is refused at once (exit 2), nothing made",
    () =>
      inTempDir(disk, async (dir) => {
        const restore = await runOnTerminal(ctx, ["restore", "-", join(dir, "dst")]);
        expect(restore.code).toBe(2);
        expect(restore.output).toMatch(
          /^jetstore restore: ErrInvalidArgument: restore - reads the archive from stdin.*\r\n$/,
        );
        expect(readdirSync(dir)).toStrictEqual([]);
      }),
    T,
  );

  it(
    "backup DIR - with stdout on a terminal is refused (exit 2): no binary on the screen",
    () =>
      inTempDir(disk, async (dir) => {
        await sampleStore(disk.fs, dir);
        const backup = await runOnTerminal(ctx, ["backup", dir, "-"]);
        expect(backup).toStrictEqual({
          code: 2,
          output: expect.stringMatching(
            /^jetstore backup: ErrInvalidArgument: backup - writes a binary archive to stdout, which is a terminal: .*\r\n$/,
          ),
        });
      }),
    T,
  );

  it(
    "a FILE that is a symbolic link gets the archive where it points, the link kept; one that leads nowhere is refused",
    () =>
      inTempDir(disk, async (dir) => {
        const src = join(dir, "src");
        await sampleStore(disk.fs, src);
        const real = join(dir, "real");
        mkdirSync(real);
        writeFileSync(join(real, "data.snapshot"), "an older archive");
        const link = join(dir, "link.snapshot");
        symlinkSync("real/data.snapshot", link);
        expect(await runCli(ctx, ["backup", src, link])).toStrictEqual({
          code: 0,
          stdout: "",
          stderr: "",
        });
        expect(readlinkSync(link)).toBe("real/data.snapshot");
        expect(readdirSync(real)).toStrictEqual(["data.snapshot"]);
        const restored = await runCli(ctx, [
          "restore",
          join(real, "data.snapshot"),
          join(dir, "dst"),
        ]);
        expect(restored.code).toBe(0);
        expect(await contents(disk, join(dir, "dst"))).toStrictEqual(await contents(disk, src));

        const dangling = join(dir, "dangling.snapshot");
        symlinkSync("real/none.snapshot", dangling);
        const refused = await runCli(ctx, ["backup", src, dangling]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(
          /^jetstore backup: ErrInvalidArgument: .*dangling\.snapshot is a symbolic link to real\/none\.snapshot, which does not exist/,
        );
        expect(readlinkSync(dangling)).toBe("real/none.snapshot");
        expect(readdirSync(real)).toStrictEqual(["data.snapshot"]);
        expect(readdirSync(dir).sort()).toStrictEqual([
          "dangling.snapshot",
          "dst",
          "link.snapshot",
          "real",
          "src",
        ]);
      }),
    T,
  );

  it("the archive file is whole or absent after a power cut at any point, and whole once written", async () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
    async function* archive() {
      for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
    }
    const fresh = (seed: number) => {
      const fs = memoryFileSystem({ seed });
      fs.mkdir("/b");
      fs.syncDirectory("/");
      return fs;
    };
    const clean = fresh(0);
    const start = clean.changes;
    await writeWhole(clean, "/b/data.snapshot", archive());
    const points = clean.changes - start;
    expect(clean.list("/b")).toStrictEqual(["data.snapshot"]);
    expect(points).toBeGreaterThan(4);
    const sameBytes = (got: Uint8Array | null) =>
      got !== null && got.length === bytes.length && got.every((b, i) => b === bytes[i]);
    for (let at = 1; at <= points + 1; at++) {
      const fs = fresh(at);
      // Past the last change: the power goes once writeWhole has returned.
      if (at <= points) fs.setFaults({ crashAfterChanges: fs.changes + at });
      let finished = false;
      try {
        await writeWhole(fs, "/b/data.snapshot", archive());
        finished = true;
      } catch {
        // The power went.
      }
      for (const lose of ["unsynced", "random"] as const) {
        const file = fs.crash({ lose, seed: at }).readFile("/b/data.snapshot");
        const outcome = sameBytes(file) ? "whole" : file === null ? "absent" : "torn";
        expect({ at, lose, outcome }).toStrictEqual({
          at,
          lose,
          outcome: finished ? "whole" : outcome === "torn" ? "whole or absent" : outcome,
        });
      }
    }
  });

  it("backup's progress, piped, shows its 100 % line once though the consumers and trailer come after the last message", () =>
    inTempDir(disk, async (dir) => {
      await sampleStore(disk.fs, dir);
      const store = await FileStore.open({ dir, fs: disk.fs, syncIntervalMs: 0 });
      const lines: string[] = [];
      const stderr = {
        tty: false,
        colour: false,
        write: async (text: string | Uint8Array) => {
          lines.push(String(text));
        },
      };
      // A slow disk: every report comes more than the second a piped line waits for.
      let now = 0;
      const bar = progress(stderr, "backup", false, () => (now += 1_100));
      try {
        const archive = store.snapshot({
          consumers: true,
          onProgress: (p) => bar.update(p.msgs, p.totalMsgs, `${p.msgs} messages`),
        });
        for await (const _ of archive) {
          // Only the progress matters here.
        }
      } finally {
        bar.end();
        await store.close();
      }
      expect(lines.filter((l) => l.includes("100%"))).toStrictEqual([
        "backup: 100% 118 messages\n",
      ]);
      expect(lines.at(-1)).toBe("backup: 100% 118 messages\n");
    }));

  it(
    "restore prints progress on stderr while a slow archive comes in",
    () =>
      inTempDir(disk, async (dir) => {
        const src = join(dir, "src");
        await sampleStore(disk.fs, src);
        const archive = join(dir, "data.snapshot");
        expect((await runCli(ctx, ["backup", src, archive])).code).toBe(0);
        const bytes = readFileSync(archive);
        const half = bytes.length >> 1;
        // Half the archive now, the rest a second after the restore started (its sibling is
        // there), the second a progress line waits for: a child slow to start on a busy
        // machine must not eat into it.
        const r = await runWithInput(ctx, ["restore", "-", join(dir, "dst")], async (stdin) => {
          stdin.write(bytes.subarray(0, half));
          await until(() => readdirSync(dir).some((n) => n.startsWith("dst.restoring-")));
          await new Promise((resolve) => setTimeout(resolve, 1_300));
          stdin.end(bytes.subarray(half));
        });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/^restore: \d[\d.]* (B|KiB) read\n/);
        expect((await runCli(ctx, ["verify", join(dir, "dst")])).code).toBe(0);
      }),
    T,
  );
  it(
    "Ctrl-C (SIGINT) during a restore or a backup exits 130 and leaves nothing half-made",
    () =>
      inTempDir(disk, async (dir) => {
        const src = join(dir, "src");
        await bulkyStore(src);
        const archive = join(dir, "data.snapshot");
        expect((await runCli(ctx, ["backup", src, archive])).code).toBe(0);
        const bytes = readFileSync(archive);
        const before = readdirSync(dir).sort();
        const restore = await runWithInput(
          ctx,
          ["restore", "-", join(dir, "dst")],
          async (stdin, child) => {
            stdin.write(bytes.subarray(0, bytes.length >> 1));
            await until(() => readdirSync(dir).some((n) => n.startsWith("dst.restoring-")));
            interrupt(child);
          },
        );
        expect({ code: restore.code, left: readdirSync(dir).sort() }).toStrictEqual({
          code: 130,
          left: before,
        });
        const backup = await runWithInput(
          ctx,
          ["backup", src, join(dir, "again.snapshot")],
          async (stdin, child) => {
            stdin.end();
            await until(() => readdirSync(dir).some((n) => n.startsWith("again.snapshot.tmp")));
            interrupt(child);
          },
        );
        expect({ code: backup.code, left: readdirSync(dir).sort() }).toStrictEqual({
          code: 130,
          left: before,
        });
      }),
    T,
  );
}

/** A store of 48 MiB of incompressible payloads: enough for a backup to be caught mid-way. */
async function bulkyStore(dir: string): Promise<void> {
  const store = await FileStore.open({ dir, syncIntervalMs: 0 });
  const payload = new Uint8Array(4096);
  for (let i = 0; i < 12_288; i++) {
    crypto.getRandomValues(payload);
    store.storeMsg(`bulk.${i % 8}`, null, payload);
  }
  await store.close();
}

/**
 * Ctrl-C: SIGINT to `child`. Through process.kill, as a terminal sends it: Deno's
 * ChildProcess.kill() reports the child as killed by the signal whatever its exit code.
 */
function interrupt(child: ChildProcess): void {
  process.kill(child.pid!, "SIGINT");
}

/** Resolves once `done()` holds, checking every millisecond. */
async function until(done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs `jetstore ...args` to its end, `feed` writing its stdin. */
function runWithInput(
  ctx: RuntimeContext,
  args: string[],
  feed: (stdin: NodeJS.WritableStream, child: ChildProcess) => Promise<void>,
): Promise<CliRun> {
  const { cmd, args: lead } = cliCommand(ctx);
  const child = spawn(cmd, [...lead, ...args], {
    cwd: new URL("../../", import.meta.url).pathname,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  // A child stopped before it read all its input is what some tests are after.
  child.stdin!.on("error", () => {});
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr!.on("data", (d) => {
    stderr += String(d);
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
  return feed(child.stdin!, child).then(() => done);
}
