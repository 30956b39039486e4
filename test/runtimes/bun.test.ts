// Bun entry: bun:test's describe/it/expect, the Bun adapter on a temp dir and the memory adapter.
import { describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunFileSystem } from "../../runtimes/bun.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import type { Expect, TestFn } from "../harness.ts";
import { runAllSuites } from "../suites/index.ts";

const fs = memoryFileSystem();
let n = 0;
runAllSuites(
  { describe, it: it as unknown as TestFn, expect: expect as unknown as Expect },
  {
    runtime: "bun",
    adapters: [
      {
        name: "bun",
        onDisk: true,
        fs: bunFileSystem,
        tempDir() {
          const dir = mkdtempSync(join(tmpdir(), "jetstore-"));
          return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
