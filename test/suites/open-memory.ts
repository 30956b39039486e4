/**
 * What opening a store takes of core memory. V8 counts WebAssembly memory
 * against the heap's limit for its first full collection, so an open that
 * grew core memory by a block (8 MiB) brought that collection into the open
 * itself: the write buffer now takes a block at the first record, and core
 * memory starts at 1 MiB. Memory then grows at points it did not grow at
 * before, such as the first read of a process (the subject intern table).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { WriteBuffer } from "../../src/filestore/write-buffer.ts";
import { BLOCK_HEADER_SIZE, BLOCK_MAGIC } from "../../src/format.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { inTempDir } from "./store-helpers.ts";

const BLOCK = 8 * 1024 * 1024;

/** The core module a child imports: TypeScript for Bun and Deno, the build for Node. */
function childCore(ctx: RuntimeContext): string {
  const rel = ctx.runtime === "node" ? "../../dist/src/wasm/core.js" : "../../src/wasm/core.ts";
  return new URL(rel, import.meta.url).href;
}

/** Runs `script` in a child of this runtime; resolves with its stdout, rejects on a failed exit. */
function runChild(ctx: RuntimeContext, script: string): Promise<string> {
  const { cmd, args } = childCommand(ctx);
  const child = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  child.stderr.on("data", (d) => {
    err += String(d);
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out} ${err}`)),
    );
  });
}

export function openMemorySuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("core memory at open", () => {
    it("the write buffer holds a header's room until records outgrow it, then a whole block at once", () => {
      const buffer = new WriteBuffer(BLOCK + BLOCK_HEADER_SIZE);
      try {
        expect(buffer.capacity).toBeLessThanOrEqual(256);
        buffer.reset(7);
        const small = buffer.capacity;
        buffer.ensure(small + 1);
        // Not doubling from the header's room: appends never copy the block on the way up.
        expect(buffer.capacity).toBe(BLOCK + BLOCK_HEADER_SIZE);
        expect(buffer.used).toBe(BLOCK_HEADER_SIZE);
        // The header written before the growth moved with it.
        expect(getCore().view.getUint32(buffer.ptr, true)).toBe(BLOCK_MAGIC);
        const ptr = buffer.ptr;
        buffer.ensure(BLOCK);
        expect(buffer.ptr).toBe(ptr);
        buffer.ensure(BLOCK + BLOCK_HEADER_SIZE + 1);
        expect(buffer.capacity).toBe(2 * (BLOCK + BLOCK_HEADER_SIZE));
      } finally {
        buffer.dispose();
      }
    });

    const adapter = ctx.adapters.find((a) => a.onDisk);
    if (adapter === undefined) return;
    it(
      "a fresh process's first read grows core memory (its subject table) and returns the message",
      () =>
        inTempDir(adapter, async (dir) => {
          const entry = childEntry(ctx);
          if (!existsSync(new URL(entry))) {
            throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
          }
          // Core memory is filled close to its end first, so the table's allocation must grow it.
          const script = [
            `const { FileStore } = await import(${JSON.stringify(entry)});`,
            `const { getCore } = await import(${JSON.stringify(childCore(ctx))});`,
            `const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
            `store.storeMsg("first.subject", null, new Uint8Array([1, 2, 3]));`,
            "const core = getCore();",
            "const size = () => core.abi.memory.buffer.byteLength;",
            "let was = size();",
            "while (size() === was) core.alloc(16 * 1024);",
            // Most of what that growth added, so what is left is less than the table.
            "core.alloc(Math.floor((size() - was) * 0.8));",
            "was = size();",
            "const msg = store.loadMsg(1);",
            "console.log(JSON.stringify({ grew: size() > was, subject: msg.subject, msg: [...msg.msg] }));",
            "await store.close();",
          ].join("\n");
          const out = JSON.parse(await runChild(ctx, script));
          expect(out).toStrictEqual({ grew: true, subject: "first.subject", msg: [1, 2, 3] });
        }),
      15_000,
    );
  });
}
