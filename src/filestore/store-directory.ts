/** Where a store may be opened: refusing foreign directories, and the parents `open` creates. */
import type { FileSystem } from "../../runtimes/fs.ts";
import { JetStoreError } from "../errors.ts";
import { CHECKPOINT_FILE } from "./checkpoint.ts";
import { BLOCKS_DIR } from "./recovery.ts";

/** Refuses a directory that holds something other than a jetstore store. */
export function checkStoreDirectory(fs: FileSystem, dir: string): void {
  const stat = fs.stat(dir);
  if (stat === null) return;
  if (!stat.isDirectory) {
    throw new JetStoreError(
      "ErrNotAStore",
      `Cannot open store: ${dir} exists and is not a directory`,
    );
  }
  const entries = fs.list(dir);
  const known = new Set([BLOCKS_DIR, CHECKPOINT_FILE, `${CHECKPOINT_FILE}.tmp`, "LOCK"]);
  const foreign = entries.filter((e) => !known.has(e) && !e.startsWith("LOCK"));
  if (foreign.length > 0 && !entries.includes(BLOCKS_DIR)) {
    throw new JetStoreError(
      "ErrNotAStore",
      `Cannot open store: ${dir} holds other files (${foreign.slice(0, 3).join(", ")}) and no jetstore data`,
    );
  }
}

/**
 * Removes a store directory whose lock the caller holds. It is renamed away
 * first, in one step, so an opener that comes once the lock file is gone
 * finds no directory (and makes a fresh one) rather than a half-removed store
 * whose removal would go on to take its new lock and files. Where the rename
 * fails (a directory that cannot be renamed, such as "."), it is removed in place.
 * The parent is fsynced after the rename, so a power cut cannot bring the
 * store back once this returns, and after the removal, so it leaves nothing
 * beside it; a cut between the two may leave `<dir>.deleting-<hex>`.
 */
export function removeLockedDirectory(fs: FileSystem, dir: string): void {
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  );
  const doomed = `${dir.replace(/\/+$/, "")}.deleting-${suffix.join("")}`;
  const parent = parentOf(dir);
  try {
    fs.rename(dir, doomed);
  } catch {
    fs.remove(dir);
    fs.syncDirectory(parent);
    return;
  }
  fs.syncDirectory(parent);
  fs.remove(doomed);
  fs.syncDirectory(parent);
}

/** `dir` and its ancestors that do not exist yet, deepest first. */
export function missingDirectories(fs: FileSystem, dir: string): string[] {
  const missing: string[] = [];
  for (let path = dir; fs.stat(path) === null; path = parentOf(path)) {
    missing.push(path);
    if (parentOf(path) === path) break;
  }
  return missing;
}

export function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}
