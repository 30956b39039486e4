/**
 * The file consumer store: FileStore's `ConsumerStore`, one directory per
 * consumer under the store's `consumers/` (nats-server keeps `obs/<name>/`
 * with `meta.inf` and `o.dat`; server/filestore.go `consumerFileStore`).
 *
 * The rules are the memory store's (it keeps the live state); this class
 * makes that state durable in three files (consumer-files.ts, FORMAT.md
 * "Consumer files"):
 *
 * - `config`: the configuration as JSON, replaced whole;
 * - `state`: a snapshot, the state in nats-server's encoding with the number
 *   of the last update it includes (consumer-snapshot.ts), replaced whole;
 * - `log`: the updates since, appended in one frame per sync round
 *   (consumer-log.ts) and replayed over the snapshot at open.
 *
 * An append log rather than replacing the state at each sync, after
 * measuring both (`npm run bench:consumer-persist`, figures in FORMAT.md): a
 * sync round costs one fdatasync of a small append instead of two fsyncs and
 * a rename, and its cost does not grow with the pending acks (100,000 of
 * them: 0.2 ms a round against 8 ms to write and 13 ms to encode). The log is
 * compacted into a new snapshot once it outgrows twice the last one (and at
 * least 64 KiB), and before a config change, so a replay always runs under
 * the config its updates were made under.
 *
 * Durability: updates are in memory until `sync()` (group commit: one frame
 * serves every caller waiting), the background round every `syncIntervalMs`,
 * `stop()`, or the process's normal exit; with `syncAlways` each update is
 * durable before it returns. A write that fails keeps its updates for the
 * next round, and an fsync that fails owes a snapshot, so no later `sync()`
 * resolves without them.
 */
import type { FileHandle, FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { backgroundInterval, type TimerId } from "../../runtimes/timers.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import { GroupCommit } from "../filestore/group-commit.ts";
import type { RetentionPolicy } from "../types.ts";
import { checkOpen } from "../validate.ts";
import { ConsumerAction, checkConsumerConfig, checkConsumerName } from "./consumer-config.ts";
import {
  CONSUMER_CONFIG_FILE,
  CONSUMER_LOG_FILE,
  CONSUMER_STATE_FILE,
  CONSUMERS_DIR,
  markConsumerDeleting,
  readConsumerFile,
  readWhole,
  removeConsumerDirectory,
  removeConsumerTemps,
  replaceConsumerFile,
  unmarkConsumerDeleting,
} from "./consumer-files.ts";
import { PendingUpdates, replayLog, sealFrame, Update } from "./consumer-log.ts";
import { ConsumerMemStore } from "./consumer-mem-store.ts";
import { encodeSnapshot, restoreSnapshot } from "./consumer-snapshot.ts";
import {
  type BorrowedConsumerState,
  type ConsumerState,
  reachesPast,
  withoutDeliveriesPast,
} from "./consumer-state.ts";
import type { ConsumerConfig, ConsumerStore } from "./types.ts";

function noop(): void {}

/** The log is compacted once past twice the snapshot and at least this. */
const COMPACT_MIN_BYTES = 64 * 1024;

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
  /** Background write period in ms for updates nobody synced (0: none). */
  syncIntervalMs: number;
  /** Called once, when the store is stopped or deleted. */
  onStop: () => void;
}

export class ConsumerFileStore implements ConsumerStore {
  readonly name: string;
  private readonly rules: ConsumerMemStore;
  private readonly options: ConsumerFileStoreOptions;
  private readonly dir: string;
  private readonly pending = new PendingUpdates();
  /** Updates numbered so far (the log's numbering, kept across opens). */
  private made = 0;
  private log: FileHandle | null = null;
  private logLength = 0;
  private snapshotBytes = 0;
  /** An update replaced the whole state: the next round writes a snapshot. */
  private snapshotOwed = false;
  private closed = false;
  /** The stop or delete under way or done; null until one is asked for. */
  private ending: Promise<void> | null = null;
  /** A stop's last round (with its second try), before the files are closed; null until one. */
  private lastRound: Promise<void> | null = null;
  /** The delete under way or done; null until one is asked for. */
  private deleting: Promise<void> | null = null;
  /** markDeleting recorded the deletion, or may have: only finishing it is safe. @internal */
  deletionRecorded = false;
  /** The record of the deletion is durable: what the deletion removes may go. @internal */
  deletionDurable = false;
  /** The last delete failed: its directory may still be there, and another delete tries again. */
  private deleteFailed = false;
  /** The log is closed and the stream told (`onStop`, once). */
  private finished = false;
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
    const { fs } = options;
    const existing = fs.stat(this.dir) !== null;
    const stored = existing ? this.readConfig() : null;
    this.rules = new ConsumerMemStore(name, stored ?? config, { now: options.now });
    if (existing) {
      removeConsumerTemps(fs, this.dir);
      this.load();
    } else {
      this.makeDirectory();
    }
    try {
      this.log ??= fs.open(joinPath(this.dir, CONSUMER_LOG_FILE), "create", options.fileMode);
      const wanted = JSON.stringify({ ...config, name });
      if (stored === null || JSON.stringify(this.rules.getConfig()) !== wanted) {
        // The log's updates were made under the stored config: a snapshot takes them first.
        if (this.logLength > 0) this.compact();
        this.writeConfig(config);
        this.rules.updateConfig(config);
      }
    } catch (err) {
      this.log?.close();
      throw err;
    }
    this.commit = new GroupCommit(() => this.syncRound());
    if (options.syncIntervalMs > 0) {
      this.timer = backgroundInterval(() => {
        if (!this.closed && (this.pending.count > 0 || this.snapshotOwed)) {
          this.commit.request().catch(() => {});
        }
      }, options.syncIntervalMs);
    }
  }

  setStarting(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.setStarting);
    this.rules.setStarting(sseq);
    this.pending.seq(Update.setStarting, sseq);
    this.logged();
  }

  updateStarting(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.updateStarting);
    this.rules.updateStarting(sseq);
    this.pending.seq(Update.updateStarting, sseq);
    this.logged();
  }

  reset(sseq: number): void {
    checkOpen(this.closed, ConsumerAction.reset);
    this.rules.reset(sseq);
    this.pending.seq(Update.reset, sseq);
    this.logged();
  }

  hasState(): boolean {
    return this.rules.hasState();
  }

  updateDelivered(dseq: number, sseq: number, dc: number, ts: bigint): void {
    checkOpen(this.closed, ConsumerAction.updateDelivered);
    this.rules.updateDelivered(dseq, sseq, dc, ts);
    this.pending.delivered(dseq, sseq, dc, ts);
    this.logged();
  }

  updateAcks(dseq: number, sseq: number): void {
    checkOpen(this.closed, ConsumerAction.updateAcks);
    try {
      this.rules.updateAcks(dseq, sseq);
    } catch (err) {
      // nats-server drops the redelivery count before finding the ack unknown: logged, it replays alike.
      if (err instanceof JetStoreError && err.code === "ErrStoreMsgNotFound") {
        this.pending.ack(dseq, sseq);
        this.logged();
      }
      throw err;
    }
    this.pending.ack(dseq, sseq);
    this.logged();
  }

  removeRedeliveredBelow(seq: number): void {
    checkOpen(this.closed, ConsumerAction.removeRedeliveredBelow);
    this.rules.removeRedeliveredBelow(seq);
    this.pending.seq(Update.removeRedeliveredBelow, seq);
    this.logged();
  }

  getConfig(): ConsumerConfig {
    return this.rules.getConfig();
  }

  updateConfig(config: ConsumerConfig): void {
    checkOpen(this.closed, ConsumerAction.updateConfig);
    checkConsumerConfig(config, this.name, ConsumerAction.updateConfig);
    this.compact();
    this.writeConfig(config);
    this.rules.updateConfig(config);
  }

  update(state: ConsumerState): void {
    checkOpen(this.closed, ConsumerAction.update);
    this.rules.update(state);
    this.replaced();
  }

  forceUpdate(state: ConsumerState): void {
    checkOpen(this.closed, ConsumerAction.forceUpdate);
    this.rules.forceUpdate(state);
    this.replaced();
  }

  /**
   * Takes `state` as it is, without the checks of `forceUpdate`: a restored
   * archive's, which a store's own rules produced (`setStarting` inside what
   * was delivered leaves pending entries that `forceUpdate` refuses). A
   * snapshot is owed. @internal
   */
  restore(state: ConsumerState): void {
    checkOpen(this.closed, ConsumerAction.forceUpdate);
    this.rules.restore(state);
    this.replaced();
  }

  state(): ConsumerState {
    return this.rules.state();
  }

  borrowState(): BorrowedConsumerState {
    return this.rules.borrowState();
  }

  /**
   * The stream is about to be cut after `seq` (its consumer open, or closed:
   * this store opened for the cut, or still stopping after the handle's
   * close): the state forgets the deliveries past the cut, on disk before
   * this returns, so that nothing the stream stores there again can outlive
   * a crash as delivered. Returns the state. @internal
   */
  cutAfter(seq: number): ConsumerState {
    if (this.finished) {
      throw new JetStoreError("ErrStoreClosed", `Consumer ${this.name} is stopped`);
    }
    const state = this.rules.state();
    if (!reachesPast(state, seq)) return state;
    // The rules' own state, cut: restored as it is (forceUpdate refuses some states they make).
    this.rules.restore(withoutDeliveriesPast(state, seq));
    // Owed until written: the log's frames must not be replayed over the old state.
    this.snapshotOwed = true;
    this.compact();
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
    if (this.pending.count === 0 && !this.snapshotOwed && !this.commit.busy) return;
    await this.commit.request();
  }

  /**
   * Writes what is owed and closes the files. While a stop or delete is under
   * way it waits for that one (whose caller gets its failure): the stream's
   * close and delete stop every consumer store this way, so none is still
   * writing or removing files under the directory once the stream lets it go.
   */
  stop(): Promise<void> {
    if (this.ending !== null) return this.ending.then(noop, noop);
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.stopTimer();
    // Once more when the round fails: after a failed fsync the log holds, in the page cache, a
    // frame that may never reach the disk; the next open would append after it, and a crash
    // would leave valid frames behind a hole (ErrCorrupt). The snapshot owed replaces it.
    const round = this.commit.request().catch(() => this.syncNow());
    this.lastRound = round;
    // A delete() begun meanwhile removes the files, then finishes: until then the name stays
    // taken on the stream, so no store opened again under it reads or loses the files.
    const done = round.then(
      () => this.afterStop(),
      (err) => this.afterStop().then(() => Promise.reject(err)),
    );
    this.ending = done;
    return done;
  }

  private afterStop(): Promise<void> {
    if (this.deleting !== null) return this.deleting.then(noop, noop);
    this.finish();
    return Promise.resolve();
  }

  /**
   * Stops at once, writing what is owed synchronously: the stream's close at
   * process exit, which cannot wait. @internal
   */
  stopNow(): void {
    if (this.finished || this.deleting !== null) return;
    // A stop() under way (the stream's close, at the exit's call) wrote its last frame, but
    // its fsync, or its second try, will not run now: they are done here instead.
    const stopping = this.closed;
    this.closed = true;
    this.stopTimer();
    try {
      try {
        this.syncNow();
        if (stopping) this.syncLog();
      } catch {
        // Once more, as stop() does.
        this.syncNow();
      }
    } finally {
      this.finish();
    }
  }

  /**
   * Records, durably, that the consumer is being deleted: if a crash or a
   * failure cuts the deletion short, the stream's next open finishes it
   * (durables.ts). @internal
   */
  markDeleting(retention: RetentionPolicy): void {
    const { fs, fileMode } = this.options;
    if (this.deletionRecorded) {
      // Decided by an earlier call whose record may not have reached the disk: a removal
      // made before it does could outlive a crash that takes the record, consumer and all.
      markConsumerDeleting(fs, this.dir, fileMode, retention);
      this.deletionDurable = true;
      return;
    }
    checkOpen(this.closed, "delete consumer");
    try {
      markConsumerDeleting(fs, this.dir, fileMode, retention);
    } catch (err) {
      try {
        unmarkConsumerDeleting(fs, this.dir);
      } catch {
        // The record may stand after a crash: only finishing the deletion is safe now, and
        // the next open finishes it if the record is there, so it stays there.
        this.deletionRecorded = true;
        try {
          markConsumerDeleting(fs, this.dir, fileMode, retention);
          this.deletionDurable = true;
        } catch {
          // Still decided: another delete() of the handle records it again.
        }
      }
      throw err;
    }
    this.deletionRecorded = true;
    this.deletionDurable = true;
  }

  /**
   * Removes the consumer's directory, after a stop or round under way. A
   * store already stopped (or deleted) removes nothing, as nats-server's
   * does: the name is free on the stream once it is, and the directory may
   * be a store's opened under it since, on this stream or one reopened. A
   * delete after one that failed tries again.
   */
  delete(): Promise<void> {
    if (this.deleting !== null && !this.deleteFailed) return this.deleting;
    if (this.finished && this.deleting === null) return Promise.resolve();
    const before = this.deleting === null ? this.lastRound : null;
    const open = !this.closed;
    this.closed = true;
    this.deleteFailed = false;
    this.stopTimer();
    const done = (async () => {
      // A round or a stop under way may still write these files: it ends first.
      if (before !== null) await before.catch(noop);
      else if (open) await this.commit.request().catch(noop);
      try {
        removeConsumerDirectory(this.options.fs, this.options.storeDir, this.name);
      } catch (err) {
        this.deleteFailed = true;
        throw err;
      } finally {
        this.finish();
      }
    })();
    this.deleting = done;
    this.ending = done;
    return done;
  }

  /** After an update was gathered: with syncAlways, on disk before the caller goes on. */
  private logged(): void {
    this.made++;
    if (this.options.syncAlways) this.syncNow();
  }

  /** After the whole state was replaced: the pending updates are moot, a snapshot is owed. */
  private replaced(): void {
    this.pending.clear();
    this.snapshotOwed = true;
    if (this.options.syncAlways) this.compact();
  }

  /** Makes every update so far durable before returning. */
  private syncNow(): void {
    if (this.snapshotOwed) {
      this.compact();
      return;
    }
    if (this.writeFrame()) this.syncLog();
  }

  private syncLog(): void {
    try {
      this.log?.sync();
    } catch (err) {
      this.syncFailed();
      throw err;
    }
  }

  private async syncRound(): Promise<void> {
    if (this.snapshotOwed) {
      this.compact();
      return;
    }
    if (!this.writeFrame()) return;
    try {
      await this.log?.syncAsync();
    } catch (err) {
      this.syncFailed();
      throw err;
    }
    if (this.logLength > Math.max(COMPACT_MIN_BYTES, 2 * this.snapshotBytes)) this.compact();
  }

  /**
   * After a failed fsync of the log: what it was to make durable may never
   * reach the disk (Linux drops those pages since 4.13), and a frame appended
   * after them would follow a hole, so the next round writes the whole state.
   */
  private syncFailed(): void {
    this.snapshotOwed = true;
  }

  /**
   * Appends the pending updates as one frame; false when there were none.
   * They stay pending until the write succeeds: the next round writes them
   * again, over what a failed write left.
   */
  private writeFrame(): boolean {
    const count = this.pending.count;
    if (count === 0 || this.log === null) return false;
    const frame = sealFrame(this.options.sealer, this.pending.frame(this.made - count + 1));
    this.log.write(frame, this.logLength);
    this.pending.clear();
    this.logLength += frame.length;
    return true;
  }

  /**
   * Writes a snapshot of the whole state, then empties the log it covers.
   * The pending updates are dropped only once the snapshot holds them: when
   * it fails, they go in the next frame (or the next snapshot, if one was owed).
   */
  private compact(): void {
    const plain = encodeSnapshot(this.rules, this.made);
    const { fs, sealer, fileMode } = this.options;
    replaceConsumerFile(fs, sealer, this.dir, CONSUMER_STATE_FILE, plain, fileMode);
    this.pending.clear();
    this.snapshotOwed = false;
    this.snapshotBytes = plain.length;
    if (this.log !== null && this.logLength > 0) {
      this.log.truncate(0);
      // Later frames go at the start, even when the sync below fails.
      this.logLength = 0;
      try {
        this.log.sync();
      } catch (err) {
        // The old frames may come back after a crash, behind new ones written over their start.
        this.syncFailed();
        throw err;
      }
    }
  }

  /** The snapshot, then the log's updates past it; a torn tail of the log is cut. */
  private load(): void {
    const { fs, sealer, fileMode } = this.options;
    const snapshot = readConsumerFile(fs, sealer, this.dir, CONSUMER_STATE_FILE);
    let through = 0;
    if (snapshot !== null) {
      through = restoreSnapshot(snapshot, this.rules, joinPath(this.dir, CONSUMER_STATE_FILE));
      this.snapshotBytes = snapshot.length;
    }
    const path = joinPath(this.dir, CONSUMER_LOG_FILE);
    const bytes = readWhole(fs, path) ?? new Uint8Array(0);
    const { validLength, last } = replayLog(bytes, through, sealer, this.rules, path);
    this.made = last;
    this.log = fs.open(path, "create", fileMode);
    if (validLength < bytes.length) {
      // New frames must not sit before stale bytes that a later replay would misread.
      this.log.truncate(validLength);
      this.log.sync();
    }
    this.logLength = validLength;
  }

  private readConfig(): ConsumerConfig | null {
    const { fs, sealer } = this.options;
    const plain = readConsumerFile(fs, sealer, this.dir, CONSUMER_CONFIG_FILE);
    if (plain === null) return null;
    const path = joinPath(this.dir, CONSUMER_CONFIG_FILE);
    try {
      return checkConsumerConfig(
        JSON.parse(new TextDecoder().decode(plain)),
        this.name,
        ConsumerAction.create,
      );
    } catch (err) {
      throw corrupt(`${path}: not a consumer config (${(err as Error).message})`, { file: path });
    }
  }

  private writeConfig(config: ConsumerConfig): void {
    const { fs, sealer, fileMode } = this.options;
    const text = JSON.stringify({ ...config, name: this.name });
    replaceConsumerFile(
      fs,
      sealer,
      this.dir,
      CONSUMER_CONFIG_FILE,
      new TextEncoder().encode(text),
      fileMode,
    );
  }

  private makeDirectory(): void {
    const { fs, storeDir, directoryMode } = this.options;
    const parent = joinPath(storeDir, CONSUMERS_DIR);
    const parentExisted = fs.stat(parent) !== null;
    fs.mkdir(this.dir, directoryMode);
    if (!parentExisted) fs.syncDirectory(storeDir);
    fs.syncDirectory(parent);
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    try {
      this.log?.close();
    } finally {
      this.log = null;
      this.rules.stop().catch(() => {});
      this.options.onStop();
    }
  }
}
