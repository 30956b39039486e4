/**
 * The file consumer store: FileStore's `ConsumerStore`, one directory per
 * consumer under the store's `consumers/` (nats-server keeps `obs/<name>/`
 * with `meta.inf` and `o.dat`; server/filestore.go `consumerFileStore`).
 *
 * The rules are the memory store's (it keeps the live state); this class
 * makes that state durable. Two files, each replaced whole (written beside,
 * fsynced, renamed over, the directory fsynced), so a crash leaves the old
 * copy or the new one and never a mix:
 *
 * - `config`: the configuration as JSON;
 * - `state`: the state in nats-server's encoding (FORMAT.md, "Consumer state").
 *
 * Both are wrapped in the store's envelope (`Sealer.sealEnvelope`: a
 * checksum always, compression and the cipher when the store has them), so
 * damage is told from a wrong key and an encrypted store's consumers are
 * encrypted too. Whole-file replacement was chosen over an append log of
 * updates after measuring both (`node bench/consumer-persist.mjs`; figures
 * in FORMAT.md): a consumer's state is bounded by its pending acks, small
 * for a consumer that keeps up, and one replacement per sync round covers
 * any number of updates.
 *
 * Durability: updates are in memory until `sync()` (group commit: one
 * replacement serves every caller waiting), the background round every
 * `syncIntervalMs`, `stop()`, or the process's normal exit; with
 * `syncAlways` each update is durable before it returns.
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { backgroundInterval, type TimerId } from "../../runtimes/timers.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import { GroupCommit } from "../filestore/group-commit.ts";
import { checkOpen } from "../validate.ts";
import { ConsumerAction, checkConsumerConfig, checkConsumerName } from "./consumer-config.ts";
import {
  CONSUMER_CONFIG_FILE,
  CONSUMER_STATE_FILE,
  CONSUMERS_DIR,
  readConsumerFile,
  removeConsumerDirectory,
  removeConsumerTemps,
  replaceConsumerFile,
} from "./consumer-files.ts";
import { ConsumerMemStore } from "./consumer-mem-store.ts";
import { type ConsumerState, decodeConsumerState } from "./consumer-state.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

/** What FileStore gives each of its consumer stores. */
export interface ConsumerFileStoreOptions {
  fs: FileSystem;
  /** The stream store's directory. */
  storeDir: string;
  sealer: Sealer;
  now: () => bigint;
  fileMode: number;
  directoryMode: number;
  syncAlways: boolean;
  /** Background write period in ms for state nobody synced (0: none). */
  syncIntervalMs: number;
  /** Called once, when the store is stopped or deleted. */
  onStop: () => void;
}

export class ConsumerFileStore implements ConsumerStore {
  readonly name: string;
  private readonly rules: ConsumerMemStore;
  private readonly options: ConsumerFileStoreOptions;
  private readonly dir: string;
  /** Updates made; `written` is the count the state file holds. */
  private changes = 0;
  private written = 0;
  private closed = false;
  private timer: TimerId | null = null;
  private readonly commit: GroupCommit;

  /**
   * Opens the consumer `name` under `options.storeDir`, creating it with
   * `config` or, when it exists, reading its state and recording `config` as
   * its configuration. ErrCorrupt when a file of it is damaged.
   */
  static open(
    name: string,
    config: ConsumerConfig,
    options: ConsumerFileStoreOptions,
  ): ConsumerFileStore {
    checkConsumerName(name, ConsumerAction.create);
    const checked = checkConsumerConfig(config, name, ConsumerAction.create);
    return new ConsumerFileStore(name, checked, options);
  }

  private constructor(name: string, config: ConsumerConfig, options: ConsumerFileStoreOptions) {
    this.name = name;
    this.options = options;
    this.dir = joinPath(options.storeDir, CONSUMERS_DIR, name);
    this.rules = new ConsumerMemStore(name, config, { now: options.now });
    const { fs } = options;
    const existing = fs.stat(this.dir) !== null;
    const saved = existing ? this.readState() : null;
    if (!existing) this.makeDirectory();
    removeConsumerTemps(fs, this.dir);
    this.writeConfig(this.rules.getConfig());
    if (saved !== null) this.rules.restore(saved);
    this.commit = new GroupCommit(() => this.syncRound());
    if (options.syncIntervalMs > 0) {
      this.timer = backgroundInterval(() => {
        if (!this.closed && this.changes !== this.written) this.commit.request().catch(() => {});
      }, options.syncIntervalMs);
    }
  }

  setStarting(sseq: number): void {
    this.rules.setStarting(sseq);
    this.changed();
  }

  updateStarting(sseq: number): void {
    this.rules.updateStarting(sseq);
    this.changed();
  }

  reset(sseq: number): void {
    this.rules.reset(sseq);
    this.changed();
  }

  hasState(): boolean {
    return this.rules.hasState();
  }

  updateDelivered(dseq: number, sseq: number, dc: number, ts: bigint): void {
    this.rules.updateDelivered(dseq, sseq, dc, ts);
    this.changed();
  }

  updateAcks(dseq: number, sseq: number): void {
    this.rules.updateAcks(dseq, sseq);
    this.changed();
  }

  removeRedeliveredBelow(seq: number): void {
    this.rules.removeRedeliveredBelow(seq);
    this.changed();
  }

  getConfig(): ConsumerConfig {
    return this.rules.getConfig();
  }

  updateConfig(config: ConsumerConfig): void {
    checkOpen(this.closed, ConsumerAction.updateConfig);
    const checked = checkConsumerConfig(config, this.name, ConsumerAction.updateConfig);
    this.writeConfig({ ...checked, name: this.name });
    this.rules.updateConfig(config);
  }

  update(state: ConsumerState): void {
    this.rules.update(state);
    this.changed();
  }

  forceUpdate(state: ConsumerState): void {
    this.rules.forceUpdate(state);
    this.changed();
  }

  state(): ConsumerState {
    return this.rules.state();
  }

  encodedState(): Uint8Array {
    return this.rules.encodedState();
  }

  /** Resolves once every update made before the call is on disk. */
  async sync(): Promise<void> {
    if (this.closed) {
      throw new JetStoreError("ErrStoreClosed", `Cannot sync consumer ${this.name}: it is stopped`);
    }
    if (this.changes === this.written && !this.commit.busy) return;
    await this.commit.request();
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    try {
      // A round in flight finishes before the last write, so the last write wins.
      await this.commit.request();
      if (this.changes !== this.written) this.writeState();
    } finally {
      this.finish();
    }
  }

  /**
   * Stops at once, writing what is owed synchronously: the stream's close at
   * process exit, which cannot wait. @internal
   */
  stopNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    try {
      if (this.changes !== this.written) this.writeState();
    } finally {
      this.finish();
    }
  }

  async delete(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.stopTimer();
      await this.commit.request().catch(() => {});
      this.finish();
    }
    removeConsumerDirectory(this.options.fs, this.options.storeDir, this.name);
  }

  private changed(): void {
    this.changes++;
    if (this.options.syncAlways) this.writeState();
  }

  private async syncRound(): Promise<void> {
    if (this.changes === this.written) return;
    this.writeState();
  }

  private writeState(): void {
    const changes = this.changes;
    this.replace(CONSUMER_STATE_FILE, this.rules.encodedState());
    this.written = changes;
  }

  private writeConfig(config: ConsumerConfig): void {
    this.replace(CONSUMER_CONFIG_FILE, new TextEncoder().encode(JSON.stringify(config)));
  }

  private replace(file: string, plain: Uint8Array): void {
    const { fs, sealer, fileMode } = this.options;
    replaceConsumerFile(fs, sealer, this.dir, file, plain, fileMode);
  }

  private makeDirectory(): void {
    const { fs, storeDir, directoryMode } = this.options;
    const parent = joinPath(storeDir, CONSUMERS_DIR);
    const parentExisted = fs.stat(parent) !== null;
    fs.mkdir(this.dir, directoryMode);
    if (!parentExisted) fs.syncDirectory(storeDir);
    fs.syncDirectory(parent);
  }

  /** The saved state, or null when none was written yet. */
  private readState(): ConsumerState | null {
    const plain = readConsumerFile(
      this.options.fs,
      this.options.sealer,
      this.dir,
      CONSUMER_STATE_FILE,
    );
    if (plain === null) return null;
    try {
      return decodeConsumerState(plain);
    } catch (err) {
      throw corrupt(
        `consumer ${this.name}: its state does not decode (${(err as Error).message})`,
        {
          file: joinPath(this.dir, CONSUMER_STATE_FILE),
        },
      );
    }
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private finish(): void {
    this.rules.stop().catch(() => {});
    this.options.onStop();
  }
}
