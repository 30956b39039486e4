/**
 * The public types as a strict TypeScript user meets them: tsc compiles
 * test/types/public-api.ts against the built declarations (dist/, reached
 * through package.json's exports as `import … from "jetstore"` is) with
 * exactOptionalPropertyTypes. Under Node only: the declarations are the same
 * whatever runtime later loads the package, and one compile takes seconds.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RuntimeContext, TestApi } from "../harness.ts";

export function publicTypesSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  if (ctx.runtime !== "node") return;
  describe("public types", () => {
    it("compile for a user with exactOptionalPropertyTypes (test/types/public-api.ts, after the build)", () => {
      const root = fileURLToPath(new URL("../../", import.meta.url));
      const tsc = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));
      const run = spawnSync(process.execPath, [tsc, "-p", "test/types/tsconfig.json"], {
        cwd: root,
        encoding: "utf8",
      });
      // On failure the compiler's diagnostics are the message.
      expect(`${run.stdout}${run.stderr}`).toBe("");
      expect(run.status).toBe(0);
    }, 60_000);

    it("compile for a user of jetstore/nats (test/types/nats-api.ts, after the build)", () => {
      const root = fileURLToPath(new URL("../../", import.meta.url));
      const tsc = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));
      const run = spawnSync(process.execPath, [tsc, "-p", "test/types/tsconfig.nats.json"], {
        cwd: root,
        encoding: "utf8",
      });
      expect(`${run.stdout}${run.stderr}`).toBe("");
      expect(run.status).toBe(0);
    }, 60_000);
  });
}
