/**
 * The Bun adapter: the node:fs adapter under Bun's name. Bun's node:fs is
 * Bun's own native implementation (not a shim over Bun.file), and it is the
 * only Bun API with what a store needs: `Bun.file` / `Bun.write` and
 * `FileSink` are asynchronous, write whole files or append through a buffer,
 * and have neither positional writes nor fsync (`FileSink.flush` only hands
 * bytes to the kernel). So readSync/writeSync with a position, fdatasync, and
 * the callback fdatasync (run off the JS thread) it is; a Bun-specific code
 * path would add nothing but a second implementation to keep correct.
 */
import type { FileSystem } from "./fs.ts";
import { createNodeFileSystem } from "./node.ts";

/** The Bun adapter (node:fs as implemented natively by Bun). */
export const bunFileSystem: FileSystem = createNodeFileSystem("bun");
