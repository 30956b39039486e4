/**
 * A FileStore's consumers, kept under its directory: the stream's registry
 * making file consumer stores there, and the consumers as saved, read
 * without opening them (one is opened only for a cut: a truncate's, or a
 * lost tail's): the config, and the state as the snapshot plus the
 * log's updates make it (the replay consumer-file-store.ts does at open,
 * here without writing: a torn log tail is only skipped). The durable
 * consumers read those to check a reopen and to keep the interest of
 * consumers that are not open (durables.ts).
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { corrupt } from "../errors.ts";
import type { StreamStore } from "../types.ts";
import { checkConsumerConfig } from "./consumer-config.ts";
import { ConsumerFileStore, type ConsumerFileStoreOptions } from "./consumer-file-store.ts";
import {
  CONSUMER_CONFIG_FILE,
  CONSUMER_DELETING_FILE,
  CONSUMER_LOG_FILE,
  CONSUMER_STATE_FILE,
  CONSUMERS_DIR,
  consumerNames,
  consumersBeingDeleted,
  readConsumerFile,
  readWhole,
  removeConsumerDirectory,
} from "./consumer-files.ts";
import { replayLog } from "./consumer-log.ts";
import { ConsumerMemStore } from "./consumer-mem-store.ts";
import { restoreSnapshot } from "./consumer-snapshot.ts";
import type { SavedConsumer } from "./durables.ts";
import { StreamConsumers, type StreamFacts } from "./registry.ts";

/** The consumers of the FileStore `stream` kept under its directory. */
export function fileStoreConsumers(
  stream: StreamStore,
  where: Pick<ConsumerFileStoreOptions, "fs" | "storeDir" | "sealer">,
  options: Pick<
    ConsumerFileStoreOptions,
    "now" | "fileMode" | "directoryMode" | "syncAlways" | "syncIntervalMs"
  >,
  facts: Omit<
    StreamFacts,
    "saved" | "beingDeleted" | "savedOne" | "removeFiles" | "confirmDeletion" | "cutSaved"
  >,
): StreamConsumers {
  const { fs, storeDir, sealer } = where;
  const { now, fileMode, directoryMode, syncAlways, syncIntervalMs } = options;
  const settings = {
    fs,
    storeDir,
    sealer,
    now,
    fileMode,
    directoryMode,
    syncAlways,
    syncIntervalMs,
  };
  return new StreamConsumers(
    stream,
    (name, config, onStop) => ConsumerFileStore.open(name, config, { ...settings, onStop }),
    now,
    {
      ...facts,
      saved: () => readSavedConsumers(fs, sealer, storeDir, now),
      beingDeleted: () => consumersBeingDeleted(fs, storeDir),
      savedOne: (name) => readSavedConsumers(fs, sealer, storeDir, now, [name])[0] ?? null,
      removeFiles: (name) => removeConsumerDirectory(fs, storeDir, name),
      confirmDeletion: (name) => fs.syncDirectory(joinPath(storeDir, CONSUMERS_DIR, name)),
      cutSaved: (name, config, seq) => {
        // Opened for the cut alone: no timer, stopped before the truncate goes on.
        const store = ConsumerFileStore.open(name, config, {
          ...settings,
          syncIntervalMs: 0,
          onStop: () => {},
        });
        try {
          return store.cutAfter(seq);
        } finally {
          store.stopNow();
        }
      },
    },
  );
}

/**
 * Every consumer kept under the store at `storeDir` but those being deleted
 * (or, given `names`, those); ErrCorrupt when one does not read back.
 */
export function readSavedConsumers(
  fs: FileSystem,
  sealer: Sealer,
  storeDir: string,
  now: () => bigint,
  names?: readonly string[],
): SavedConsumer[] {
  const saved: SavedConsumer[] = [];
  for (const name of names ?? consumerNames(fs, storeDir)) {
    const dir = joinPath(storeDir, CONSUMERS_DIR, name);
    if (names === undefined && fs.stat(joinPath(dir, CONSUMER_DELETING_FILE)) !== null) continue;
    const configBytes = readConsumerFile(fs, sealer, dir, CONSUMER_CONFIG_FILE);
    if (configBytes === null) continue;
    let rules: ConsumerMemStore;
    try {
      const config = checkConsumerConfig(
        JSON.parse(new TextDecoder().decode(configBytes)),
        name,
        "read consumer config",
      );
      rules = new ConsumerMemStore(name, config, { now });
    } catch (err) {
      const file = joinPath(dir, CONSUMER_CONFIG_FILE);
      throw corrupt(`${file}: not a consumer config (${(err as Error).message})`, { file });
    }
    let through = 0;
    const snapshot = readConsumerFile(fs, sealer, dir, CONSUMER_STATE_FILE);
    if (snapshot !== null) {
      through = restoreSnapshot(snapshot, rules, joinPath(dir, CONSUMER_STATE_FILE));
    }
    const logPath = joinPath(dir, CONSUMER_LOG_FILE);
    const log = readWhole(fs, logPath);
    if (log !== null) replayLog(log, through, sealer, rules, logPath);
    const hasState = snapshot !== null || (log !== null && log.length > 0);
    saved.push({ name, config: rules.getConfig(), state: hasState ? rules.state() : null });
  }
  return saved;
}
