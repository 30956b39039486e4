/**
 * Picks the filesystem adapter of the runtime we are running in. Deno is
 * checked first, then Bun, then Node: Bun and Deno both fill in
 * `process.versions.node`, so sniffing Node first would misfire. Importing
 * all three adapters here is safe everywhere: each touches its runtime only
 * inside its functions (node:fs loads under Bun and Deno too). Dynamic
 * `import()` per runtime was rejected: it would make the choice asynchronous.
 */
import { bunFileSystem } from "./bun.ts";
import { denoFileSystem } from "./deno.ts";
import type { FileSystem } from "./fs.ts";
import { nodeFileSystem } from "./node.ts";

/** The adapter for the current runtime: Deno, Bun, or else Node. */
export function defaultFileSystem(): FileSystem {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return denoFileSystem;
  if (g.Bun !== undefined) return bunFileSystem;
  return nodeFileSystem;
}
