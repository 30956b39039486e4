/**
 * What `import("jetstore")` loads: the modules its entry points reach
 * through static, non-type imports. @noble/ciphers (its AES tables),
 * snappyjs and node:crypto were over a third of the import's time and serve
 * only a fallback no supported runtime needs, the tests' oracle and stores
 * that encrypt, so they are loaded on demand (runtimes/aead-choice.ts,
 * runtimes/aead-native.ts) or not at all (src/at-rest/snappy-js.ts).
 */
import { readFileSync } from "node:fs";
import type { TestApi } from "../harness.ts";

const ENTRIES = ["../../src/index.ts", "../../src/nats/index.ts", "../../src/cli/main.ts"];
const ON_DEMAND = ["@noble/ciphers", "snappyjs", "node:crypto"];

// import/export … from "x", and bare import "x"; not `import type`, `export type` or `import(…)`.
const STATIC = /^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?"([^"]+)";/gms;

/** Every module specifier `file` imports statically for its values. */
function staticImports(source: string): string[] {
  return [...source.matchAll(STATIC)].map((m) => m[1]);
}

/** Every module reached, and the package and built-in specifiers (not relative ones) each imports. */
function reach(entries: string[]): { modules: Set<string>; packages: Map<string, string[]> } {
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const queue = entries.map((e) => new URL(e, import.meta.url).href);
  while (queue.length > 0) {
    const url = queue.pop() as string;
    if (seen.has(url)) continue;
    seen.add(url);
    const specs = staticImports(readFileSync(new URL(url), "utf8"));
    for (const spec of specs) {
      if (spec.startsWith(".")) queue.push(new URL(spec, url).href);
      else packages.set(url, [...(packages.get(url) ?? []), spec]);
    }
  }
  return { modules: seen, packages };
}

export function importGraphSuite({ describe, it, expect }: TestApi): void {
  describe("import graph", () => {
    it("finds static imports and skips type-only and dynamic ones", () => {
      const source = [
        'import { a } from "./a.ts";',
        'import {\n  type B,\n  c,\n} from "./c.ts";',
        'import type { D } from "./d.ts";',
        'export { e } from "./e.ts";',
        'export type { F } from "./f.ts";',
        'import "./g.ts";',
        'const h = await import("./h.ts");',
      ].join("\n");
      expect(staticImports(source)).toEqual(["./a.ts", "./c.ts", "./e.ts", "./g.ts"]);
    });

    it("importing the package loads none of @noble/ciphers, snappyjs and node:crypto", () => {
      const { modules, packages } = reach(ENTRIES);
      // The walk reaches the modules that seal and compress.
      for (const module of ["runtimes/aead-choice.ts", "src/at-rest/compression.ts"]) {
        expect([...modules].some((url) => url.endsWith(`/${module}`))).toBe(true);
      }
      const offenders = [...packages].filter(([, specs]) =>
        specs.some((s) => ON_DEMAND.some((p) => s === p || s.startsWith(`${p}/`))),
      );
      expect(offenders).toEqual([]);
    });

    it("importing jetstore itself loads no built-in module (node:fs cost Deno ~19 ms of it)", () => {
      const { packages } = reach([ENTRIES[0]]);
      const builtins = [...packages].filter(([, specs]) =>
        specs.some((s) => s.startsWith("node:")),
      );
      expect(builtins).toEqual([]);
    });
  });
}
