/**
 * The files of a file consumer store (consumer-file-store.ts): where they
 * are, how one is replaced whole, read back, and brought to the store's
 * format at open. The config and the snapshot are each one `Sealer`
 * envelope (a checksum always, the store's compression and cipher when it
 * has them); the log is a run of them (consumer-log.ts).
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath, replaceFile } from "../../runtimes/fs.ts";
import { formatBits, type Sealer } from "../at-rest/sealer.ts";
import type { RetentionPolicy } from "../types.ts";
import { resealLog } from "./consumer-log.ts";

/** The directory under a store that holds one directory per consumer. */
export const CONSUMERS_DIR = "consumers";
/** A consumer's configuration, JSON. */
export const CONSUMER_CONFIG_FILE = "config";
/** A consumer's snapshot: the number of its last update, then the state in nats-server's encoding. */
export const CONSUMER_STATE_FILE = "state";
/** The updates since the snapshot (consumer-log.ts). */
export const CONSUMER_LOG_FILE = "log";

const FILES = [CONSUMER_CONFIG_FILE, CONSUMER_STATE_FILE, CONSUMER_LOG_FILE];
const ENVELOPES = [CONSUMER_CONFIG_FILE, CONSUMER_STATE_FILE];

/**
 * Replaces `dir/file` with `plain` sealed: written beside, fsynced, renamed
 * over, the directory fsynced. A crash leaves the old copy or the new one.
 */
export function replaceConsumerFile(
  fs: FileSystem,
  sealer: Sealer,
  dir: string,
  file: string,
  plain: Uint8Array,
  fileMode: number,
): void {
  replaceBytes(fs, dir, file, sealer.sealEnvelope(plain), fileMode);
}

/** Replaces `dir/file` with `bytes` as they are, as `replaceConsumerFile` does. */
function replaceBytes(
  fs: FileSystem,
  dir: string,
  file: string,
  bytes: Uint8Array,
  fileMode: number,
): void {
  replaceFile(fs, joinPath(dir, file), bytes, fileMode);
  fs.syncDirectory(dir);
}

/** The plain bytes of `dir/file`, or null when it does not exist; ErrCorrupt when damaged. */
export function readConsumerFile(
  fs: FileSystem,
  sealer: Sealer,
  dir: string,
  file: string,
): Uint8Array | null {
  const path = joinPath(dir, file);
  const bytes = readWhole(fs, path);
  return bytes === null ? null : sealer.openEnvelope(bytes, path);
}

/** Removes what a replacement cut short left beside a consumer's files. */
export function removeConsumerTemps(fs: FileSystem, dir: string): void {
  for (const file of FILES) fs.remove(joinPath(dir, `${file}.tmp`));
  fs.remove(joinPath(dir, `${CONSUMER_DELETING_FILE}.tmp`));
}

/**
 * Present in a consumer's directory once its deletion is decided: the
 * deletion is finished (what only it still wanted removed, then its files)
 * by the stream's next open if it was cut short, so no crash or failure
 * leaves the consumer without the messages it had not taken.
 */
export const CONSUMER_DELETING_FILE = "deleting";

/**
 * Records, durably, that the consumer in `dir` is being deleted
 * (`CONSUMER_DELETING_FILE`), with the stream's retention as its content:
 * the store does not keep its retention (an open option), and an open
 * under another one (the CLI's, say) must leave an interest stream's
 * deletion for an open that can make its removals.
 */
export function markConsumerDeleting(
  fs: FileSystem,
  dir: string,
  fileMode: number,
  retention: RetentionPolicy,
): void {
  // Written beside and renamed: a record created in place could outlive a power cut empty or
  // torn, which no open can tell from one under interest, and would refuse the name for good.
  replaceFile(
    fs,
    joinPath(dir, CONSUMER_DELETING_FILE),
    new TextEncoder().encode(retention),
    fileMode,
  );
  fs.syncDirectory(dir);
}

/** Takes back a `markConsumerDeleting` that failed; throws when it cannot. */
export function unmarkConsumerDeleting(fs: FileSystem, dir: string): void {
  fs.remove(joinPath(dir, CONSUMER_DELETING_FILE));
  fs.syncDirectory(dir);
}

/** A consumer whose deletion was decided, not finished, and the retention it was decided under. */
export interface DeletionRecord {
  name: string;
  /**
   * What the record says: null when empty (versions before the record named
   * it wrote it so), "interest" when it says anything else unknown.
   */
  retention: RetentionPolicy | null;
}

/** The consumers under the store at `storeDir` whose deletion was decided, not finished. */
export function consumersBeingDeleted(fs: FileSystem, storeDir: string): DeletionRecord[] {
  const parent = joinPath(storeDir, CONSUMERS_DIR);
  const out: DeletionRecord[] = [];
  for (const name of consumerNames(fs, storeDir)) {
    const bytes = readWhole(fs, joinPath(parent, name, CONSUMER_DELETING_FILE));
    if (bytes === null) continue;
    const text = new TextDecoder().decode(bytes);
    // Unknown is taken for interest, the one whose deletion needs removals: left pending, not finished wrongly.
    const retention =
      text === "" ? null : text === "limits" || text === "workqueue" ? text : "interest";
    out.push({ name, retention });
  }
  return out;
}

/** What a consumer's directory is renamed to while it is removed (names never hold a '.'). */
const DELETING = ".deleting-";

/** The names of the consumers kept under the store at `storeDir`, sorted. */
export function consumerNames(fs: FileSystem, storeDir: string): string[] {
  const parent = joinPath(storeDir, CONSUMERS_DIR);
  if (fs.stat(parent) === null) return [];
  return fs
    .list(parent)
    .filter((name) => !name.includes(".") && fs.stat(joinPath(parent, name))?.isDirectory === true);
}

/**
 * Removes a consumer's directory in one step that a crash cannot leave
 * half done: renamed away (durably), then removed; what a crash leaves of
 * the renamed copy `removeDeletedConsumers` takes at the next open.
 */
export function removeConsumerDirectory(fs: FileSystem, storeDir: string, name: string): void {
  const parent = joinPath(storeDir, CONSUMERS_DIR);
  const dir = joinPath(parent, name);
  if (fs.stat(dir) === null) return;
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
  const doomed = joinPath(parent, `${DELETING}${suffix}`);
  fs.rename(dir, doomed);
  fs.syncDirectory(parent);
  fs.remove(doomed);
}

/** Removes what consumer deletions cut short left behind. */
export function removeDeletedConsumers(fs: FileSystem, storeDir: string): void {
  const parent = joinPath(storeDir, CONSUMERS_DIR);
  if (fs.stat(parent) === null) return;
  for (const name of fs.list(parent)) {
    if (name.startsWith(DELETING)) fs.remove(joinPath(parent, name));
  }
}

/**
 * Rewrites, in the store's format, every consumer file written in another
 * (a cipher added, changed or dropped since): a store that drops its data
 * key once its blocks are converted must leave nothing sealed under it.
 */
export function convertConsumerFiles(
  fs: FileSystem,
  sealer: Sealer,
  storeDir: string,
  fileMode: number,
): void {
  const target = formatBits(sealer.target);
  removeDeletedConsumers(fs, storeDir);
  for (const name of consumerNames(fs, storeDir)) {
    const dir = joinPath(storeDir, CONSUMERS_DIR, name);
    removeConsumerTemps(fs, dir);
    for (const file of ENVELOPES) {
      const bytes = readWhole(fs, joinPath(dir, file));
      if (bytes === null || bytes.length < 8) continue;
      if ((new DataView(bytes.buffer).getUint16(6, true) & 0xff) === target) continue;
      const plain = sealer.openEnvelope(bytes, joinPath(dir, file));
      replaceConsumerFile(fs, sealer, dir, file, plain, fileMode);
    }
    const logPath = joinPath(dir, CONSUMER_LOG_FILE);
    const log = readWhole(fs, logPath);
    const resealed = log === null ? null : resealLog(log, sealer, target, logPath);
    if (resealed !== null) replaceBytes(fs, dir, CONSUMER_LOG_FILE, resealed, fileMode);
  }
}

/** A whole file's bytes, or null when it does not exist. */
export function readWhole(fs: FileSystem, path: string): Uint8Array | null {
  const stat = fs.stat(path);
  if (stat === null) return null;
  const bytes = new Uint8Array(stat.size);
  const handle = fs.open(path, "read");
  try {
    let at = 0;
    while (at < bytes.length) {
      const n = handle.read(bytes.subarray(at), at);
      if (n === 0) return bytes.subarray(0, at);
      at += n;
    }
    return bytes;
  } finally {
    handle.close();
  }
}
