// Bundles what tsc emitted (dist/src, dist/runtimes) into the JavaScript the
// package ships, dist/bundle: one module per entry point of package.json's
// `exports` and the CLI, with the modules they share in common chunks, so a
// program that imports both `jetstore` and `jetstore/node` gets one copy of
// each class. Loading ~180 modules one by one took Node longer than
// everything else an import does (`npm run bench:import`, 2026-12-03: a median
// of 156 ms one by one, 67 ms bundled); the declarations stay where tsc wrote them.
// Dependencies stay imports: the application installs them once.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bundle");

/** Entry points, as tsc emitted them (paths below dist/). */
export const ENTRIES = [
  "src/index.js",
  "src/nats/index.js",
  "src/cli/main.js",
  "runtimes/node.js",
  "runtimes/bun.js",
  "runtimes/deno.js",
  "runtimes/memory.js",
];

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: ENTRIES.map((entry) => join(root, "dist", entry)),
  outbase: join(root, "dist"),
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  // node: built-ins stay imports (Bun and Deno provide them); so do packages.
  platform: "node",
  packages: "external",
  target: "es2022",
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
