// Node entry: vitest's describe/it/expect, the node:fs adapter on a temp dir and the memory adapter.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { nodeFileSystem } from "../../runtimes/node.ts";
import type { Expect } from "../harness.ts";
import { runAllSuites } from "../suites/index.ts";

runAllSuites(
  { describe, it, expect: expect as unknown as Expect },
  {
    runtime: "node",
    adapters: [
      {
        name: "node",
        onDisk: true,
        fs: nodeFileSystem,
        tempDir() {
          const dir = mkdtempSync(join(tmpdir(), "jetstore-"));
          return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
        },
      },
      memoryFixture(),
    ],
  },
);

function memoryFixture() {
  const fs = memoryFileSystem();
  let n = 0;
  return {
    name: "memory",
    onDisk: false,
    fs,
    tempDir() {
      const dir = `/mem/t${++n}`;
      fs.mkdir(dir);
      return { dir, cleanup: () => fs.remove(dir) };
    },
  };
}
