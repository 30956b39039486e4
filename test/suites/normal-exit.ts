/**
 * A normal exit without `close()` keeps what was stored: a child process of
 * the runtime under test opens a store, stores 10 messages and ends (on its
 * own, or through `process.exit()` / `Deno.exit()`), and the parent finds
 * all 10, a checkpoint and no lock left behind. In-process: every store
 * shares one exit listener, and a store leaves the exit registry when it is
 * closed or deleted.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { pendingExitTasks } from "../../runtimes/exit.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { codeOfAsync, enc, plain } from "./store-helpers.ts";

const COUNT = 10;

function childScript(entry: string, dir: string, exit: boolean): string {
  return [
    `const { FileStore } = await import(${JSON.stringify(entry)});`,
    `const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
    `for (let i = 1; i <= ${COUNT}; i++) store.storeMsg("exit." + i, null, new TextEncoder().encode("m" + i));`,
    exit ? "globalThis.Deno ? Deno.exit(0) : process.exit(0);" : "",
  ].join("\n");
}

/** Runs `script` in a child of this runtime; resolves with its exit code and stderr. */
function runChild(
  ctx: RuntimeContext,
  script: string,
): Promise<{ code: number | null; stderr: string }> {
  const { cmd, args } = childCommand(ctx);
  const child = spawn(cmd, args(script), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += String(d);
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

export function normalExitSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter !== undefined) {
    describe(`a normal exit without close() (${ctx.runtime} child)`, () => {
      for (const [how, exit] of [
        ["ends", false],
        ["calls exit()", true],
      ] as const) {
        it(`keeps every message a child stored before it ${how}, with a checkpoint and no lock left`, async () => {
          const entry = childEntry(ctx);
          if (!existsSync(new URL(entry))) {
            throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
          }
          const { dir, cleanup } = adapter.tempDir();
          try {
            const { code, stderr } = await runChild(ctx, childScript(entry, dir, exit));
            expect({ code, stderr }).toStrictEqual({ code: 0, stderr: "" });
            const left = adapter.fs.list(dir);
            const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
            try {
              expect(store.fastState()).toMatchObject({ msgs: COUNT, lastSeq: COUNT });
              for (let seq = 1; seq <= COUNT; seq++) {
                expect(plain(store.loadMsg(seq))).toMatchObject({
                  subject: `exit.${seq}`,
                  msg: Array.from(enc(`m${seq}`)),
                });
              }
              expect(store.state().lost).toBeUndefined();
              // The exit wrote the checkpoint and released the lock, as close() does.
              expect(left).toStrictEqual(["index.ckpt", "msgs"]);
            } finally {
              await store.close();
            }
          } finally {
            cleanup();
          }
        }, 20_000);
      }
    });
  }

  if (adapter !== undefined) {
    describe(`a normal exit during a restore (${ctx.runtime} child)`, () => {
      it("leaves nothing beside the target, where the exit's close of the build would leave a sibling no restore removes", async () => {
        const entry = childEntry(ctx);
        const { dir: parent, cleanup } = adapter.tempDir();
        try {
          const script = [
            `const { FileStore } = await import(${JSON.stringify(entry)});`,
            `const src = await FileStore.open({ dir: ${JSON.stringify(joinPath(parent, "src"))}, syncIntervalMs: 0 });`,
            `for (let i = 1; i <= ${COUNT}; i++) src.storeMsg("exit." + i, null, new TextEncoder().encode("m" + i));`,
            "const chunks = [];",
            "for await (const chunk of src.snapshot()) chunks.push(chunk);",
            "await src.close();",
            // Every frame but the trailer, then the exit, while the restore waits for more.
            "async function* cut() { yield* chunks.slice(0, -1); globalThis.Deno ? Deno.exit(0) : process.exit(0); }",
            `await FileStore.restore(${JSON.stringify(joinPath(parent, "dst"))}, cut(), { syncIntervalMs: 0 });`,
          ].join("\n");
          const { code, stderr } = await runChild(ctx, script);
          expect({ code, stderr }).toStrictEqual({ code: 0, stderr: "" });
          expect(adapter.fs.list(parent)).toStrictEqual(["src"]);
          // The next restore to the same place starts clean and completes.
          const src = await FileStore.open({ dir: joinPath(parent, "src"), fs: adapter.fs });
          const chunks: Uint8Array[] = [];
          for await (const chunk of src.snapshot()) chunks.push(chunk);
          await src.close();
          const restored = await FileStore.restore(joinPath(parent, "dst"), chunks, {
            fs: adapter.fs,
          });
          expect(restored.fastState()).toMatchObject({ msgs: COUNT, lastSeq: COUNT });
          await restored.close();
          expect(adapter.fs.list(parent).sort()).toStrictEqual(["dst", "src"]);
        } finally {
          cleanup();
        }
      }, 20_000);
    });
  }

  describe("exit registry", () => {
    it("serves any number of stores with one exit listener; a store leaves it on close and delete", async () => {
      const fs = memoryFileSystem();
      const listeners = () =>
        (
          globalThis as { process?: { listenerCount?: (event: string) => number } }
        ).process?.listenerCount?.("exit") ?? 0;
      const tasks = pendingExitTasks();
      const before = listeners();
      const stores: FileStore[] = [];
      for (let i = 0; i < 40; i++) {
        stores.push(await FileStore.open({ dir: joinPath("/s", `${i}`), fs, syncIntervalMs: 0 }));
      }
      expect(pendingExitTasks()).toBe(tasks + 40);
      // A refused open (the directory is locked) joins nothing.
      expect(await codeOfAsync(() => FileStore.open({ dir: "/s/0", fs, syncIntervalMs: 0 }))).toBe(
        "ErrStoreLocked",
      );
      expect(pendingExitTasks()).toBe(tasks + 40);
      expect(listeners() - before).toBeLessThanOrEqual(1);
      for (const [i, store] of stores.entries()) {
        if (i % 2 === 0) await store.close();
        else await store.delete();
      }
      expect(pendingExitTasks()).toBe(tasks);
      expect(listeners() - before).toBeLessThanOrEqual(1);
    });
  });
}
