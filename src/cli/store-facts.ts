/**
 * What `info` reports beyond `state()`: the files on disk, the at-rest
 * settings, the checkpoint's age and the saved consumers, all read without
 * writing (the consumers through the same reader the store resumes them with).
 */
import { defaultFileSystem } from "../../runtimes/detect.ts";
import { type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { readSettings } from "../at-rest/settings.ts";
import { consumersBeingDeleted, type DeletionRecord } from "../consumers/consumer-files.ts";
import { readSavedConsumers } from "../consumers/file-store-consumers.ts";
import { CHECKPOINT_FILE } from "../filestore/checkpoint.ts";
import type { FileStore } from "../filestore/filestore.ts";
import { BLOCKS_DIR } from "../filestore/recovery.ts";
import { storeSealer } from "../verify.ts";

export interface DiskFacts {
  blocks: number;
  blockBytes: number;
  /** Every file under the directory, blocks included. */
  totalBytes: number;
  cipher: string;
  compression: string;
  /** Milliseconds since the checkpoint was written, or null without one. */
  checkpointAgeMs: number | null;
}

export interface ConsumerFacts {
  name: string;
  ackPolicy: string;
  filters: string[];
  /** Last delivered stream sequence. */
  delivered: number;
  /** Every stream sequence up to this one is acknowledged. */
  ackFloor: number;
  /** Delivered, awaiting an ack. */
  ackPending: number;
  /** Stored after the last delivery and matching the filters: still to deliver. */
  numPending: number;
}

function treeBytes(fs: FileSystem, path: string): number {
  const stat = fs.stat(path);
  if (stat === null) return 0;
  if (!stat.isDirectory) return stat.size;
  let sum = 0;
  for (const name of fs.list(path)) sum += treeBytes(fs, joinPath(path, name));
  return sum;
}

/** The files of the store in `dir`, as they are on disk. */
export function diskFacts(dir: string, now = Date.now()): DiskFacts {
  const fs = defaultFileSystem();
  const blocksDir = joinPath(dir, BLOCKS_DIR);
  let blocks = 0;
  let blockBytes = 0;
  for (const name of fs.list(blocksDir)) {
    if (!name.endsWith(".blk")) continue;
    blocks++;
    blockBytes += fs.stat(joinPath(blocksDir, name))?.size ?? 0;
  }
  const settings = readSettings(fs, dir);
  const checkpoint = fs.stat(joinPath(dir, CHECKPOINT_FILE));
  return {
    blocks,
    blockBytes,
    totalBytes: treeBytes(fs, dir),
    cipher: settings?.cipher ?? "none",
    compression: settings?.compression ?? "none",
    checkpointAgeMs: checkpoint === null ? null : Math.max(0, now - checkpoint.mtimeMs),
  };
}

/** The consumers saved under `dir`, with what each has left to deliver in `store`. */
export function consumerFacts(
  dir: string,
  store: FileStore,
  key: Uint8Array | undefined,
): ConsumerFacts[] {
  const fs = defaultFileSystem();
  const sealer = storeSealer(fs, dir, key);
  try {
    const now = () => BigInt(Date.now()) * 1_000_000n;
    return readSavedConsumers(fs, sealer, dir, now).map(({ name, config, state }) => {
      const filters = config.durable?.filters ?? [];
      const delivered = state?.delivered.stream ?? (config.durable?.startSeq ?? 1) - 1;
      const from = delivered + 1;
      const numPending = (filters.length === 0 ? [">"] : filters).reduce(
        (sum, f) => sum + store.numPending(Math.max(from, 1), f, false).total,
        0,
      );
      return {
        name,
        ackPolicy: config.ackPolicy,
        filters,
        delivered,
        ackFloor: state?.ackFloor.stream ?? 0,
        ackPending: state?.pending.size ?? 0,
        numPending,
      };
    });
  } finally {
    sealer.wipe();
  }
}

/**
 * The consumers of the store in `dir` whose deletion was decided and not
 * finished (`consumerFacts` leaves them out): read from the disk, since a
 * read-only open finishes such a deletion in its overlay only.
 */
export function consumersBeingDeletedIn(dir: string): DeletionRecord[] {
  return consumersBeingDeleted(defaultFileSystem(), dir);
}
