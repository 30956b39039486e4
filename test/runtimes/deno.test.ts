// Deno entry: Deno.test through a describe/it shim, jest's expect, the Deno adapter and the memory adapter.
import { expect } from "expect";
import { denoFileSystem } from "../../runtimes/deno.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import type { Expect } from "../harness.ts";
import { runAllSuites } from "../suites/index.ts";
import { describe, it } from "./deno-bdd.ts";

const fs = memoryFileSystem();
let n = 0;
runAllSuites(
  { describe, it, expect: expect as unknown as Expect },
  {
    runtime: "deno",
    adapters: [
      {
        name: "deno",
        onDisk: true,
        fs: denoFileSystem,
        tempDir() {
          const dir = Deno.makeTempDirSync({ prefix: "jetstore-" });
          const cleanup = () => {
            try {
              Deno.removeSync(dir, { recursive: true });
            } catch (err) {
              // delete() may already have removed it.
              if (!(err instanceof Deno.errors.NotFound)) throw err;
            }
          };
          return { dir, cleanup };
        },
      },
      {
        name: "memory",
        onDisk: false,
        fs,
        tempDir() {
          const dir = `/mem/t${++n}`;
          fs.mkdir(dir);
          return { dir, cleanup: () => fs.remove(dir) };
        },
      },
    ],
  },
);
