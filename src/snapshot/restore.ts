/**
 * `FileStore.restore`: an archive written back as a store. The store is
 * built in a sibling directory (`<dir>.restoring-<hex>`) through the
 * store's own write path (`storeRawMsg` with each message's sequence,
 * timestamp and TTL, `skipMsgs` over the gaps), closed, and renamed into
 * place only once the trailer has checked out: a damaged or cut archive, or
 * any failure on the way, removes the sibling and leaves nothing at `dir`.
 * A sibling left by a restore that crashed is removed by the next restore to
 * the same `dir`, once its lock shows that no process builds it any more.
 * The restored store is then opened with the archive's limits, overridden by
 * the caller's options.
 */
import { prepareCrypto } from "../../runtimes/aead.ts";
import { atExit } from "../../runtimes/exit.ts";
import { type FileSystem, joinPath, LOCK_FILE } from "../../runtimes/fs.ts";
import type { Sealer } from "../at-rest/sealer.ts";
import { type ConsumerState, decodeConsumerState } from "../consumers/consumer-state.ts";
import type { ConsumerConfig, ConsumerStore } from "../consumers/types.ts";
import { corrupt, invalidArgument, JetStoreError } from "../errors.ts";
import type { FileStoreOptions } from "../filestore/options.ts";
import { resolveFileStoreOptions } from "../filestore/options.ts";
import { parentOf } from "../filestore/store-directory.ts";
import type { StreamStore } from "../types.ts";
import { describeValue } from "../validate.ts";
import { getCore } from "../wasm/core.ts";
import { type ArchiveHeader, FrameKind } from "./archive-format.ts";
import {
  type ArchiveKeys,
  chunksOf,
  decodeConsumerFrame,
  decodeHeader,
  decodeMessageAt,
  decodeMessages,
  type Frame,
  readFrames,
} from "./archive-reader.ts";
import { archiveOpener } from "./archive-seal.ts";
import type { ArchivedMsg, ArchiveSource } from "./types.ts";

/** Options of `FileStore.restore`: those of `FileStore.open` but `dir`, which is its own argument. */
export type RestoreOptions = Omit<FileStoreOptions, "dir">;

/** The options the sibling store is built with: how it is written, not the stream's limits. */
const BUILD_KEYS = [
  "fs",
  "blockSize",
  "cacheBytes",
  "cipher",
  "key",
  "compression",
  "fileMode",
  "now",
] as const;

/** Codes a store gives archive content it refuses: damage the checksums did not catch. */
const REFUSALS = new Set([
  "ErrInvalidArgument",
  "ErrInvalidSubject",
  "ErrSequenceMismatch",
  "ErrOutOfRange",
  "ErrStoreOldUpdate",
  "ErrMsgTooLarge",
  "ErrMaxBytes",
  "ErrMaxMsgs",
  "ErrMaxMsgsPerSubject",
]);

/** A store that can be built into and reopened: FileStore, passed in to keep the modules acyclic. */
export interface Restorable extends StreamStore {
  close(): Promise<void>;
  /**
   * FileStore's bulk path: appends the plain message records among `len`
   * bytes of archive records at `src` in core memory from offset `at`
   * (skipping gaps before them), adds to `out` the messages taken and the
   * last one's sequence; returns the offset of the first record it left.
   */
  appendArchived?(
    src: number,
    len: number,
    at: number,
    out: { msgs: number; lastMsg: number },
  ): number;
}

const ACTION = "Cannot restore";
/** Subject of the message that carries the last sequence's timestamp when that sequence holds no message. */
const LAST_TS_SUBJECT = "_jetstore.restore.last";

export async function restoreStore<S extends Restorable>(
  open: (options: FileStoreOptions) => Promise<S>,
  dir: unknown,
  source: ArchiveSource,
  options: RestoreOptions | undefined,
): Promise<S> {
  if (typeof dir !== "string" || dir === "") {
    throw invalidArgument(`${ACTION}: dir must be a non-empty string, got ${describeValue(dir)}`);
  }
  // The store is built beside `dir` and renamed onto it: "." or ".." names no entry of a parent.
  const last = dir.replace(/\/+$/, "").split("/").at(-1);
  if (last === "." || last === ".." || last === "") {
    throw invalidArgument(
      `${ACTION}: ${dir} must end in the directory's name (the store is built beside it and renamed into place)`,
    );
  }
  if (
    options !== undefined &&
    (options === null || typeof options !== "object" || Array.isArray(options))
  ) {
    throw invalidArgument(`${ACTION}: options must be an object, got ${describeValue(options)}`);
  }
  if (options !== undefined && "dir" in options) {
    throw invalidArgument(
      `${ACTION}: give the directory as the first argument, not as options.dir`,
    );
  }
  const given = { ...(options ?? {}) } as Record<string, unknown>;
  const fs = resolveChecked({ ...given, dir }).fs;
  checkTarget(fs, dir);
  chunksOf(source);
  const keys: ArchiveKeys = { unseal: null };
  const frames = readFrames(source, keys);
  let opener: Sealer | null = null;
  let building: S | null = null;
  let leaveExit = () => {};
  removeAbandonedBuilds(fs, dir);
  const tmp = `${dir.replace(/\/+$/, "")}${BUILD_SUFFIX}${randomHex()}`;
  try {
    const first = await frames.next();
    if (first.done === true) throw corrupt(`${ACTION}: the archive holds no header`);
    const header = decodeHeader(first.value);
    if (header.sealed !== undefined) {
      await prepareCrypto();
      opener = archiveOpener(header.sealed, given.key as Uint8Array | undefined);
      const sealer = opener;
      keys.unseal = (body) => sealer.openEnvelope(body, "snapshot archive frame");
      keys.binding = bindingOf(header.binding);
      // Restored encrypted as the store was, unless told otherwise. Told "none", the key
      // has done its work (the archive is open): the plain store built would refuse it.
      if (given.cipher === "none") delete given.key;
      given.cipher ??= sealer.target.cipher;
      given.compression ??= sealer.target.compression;
    }
    const final = finalOptions(header, given, dir);
    resolveChecked(final);
    const build: Record<string, unknown> = { dir: tmp, allowMsgTtl: true, syncIntervalMs: 0 };
    for (const key of BUILD_KEYS) if (given[key] !== undefined) build[key] = given[key];
    // Another restore or store must not be at the sibling: the name is random, so this is a bug guard.
    if (fs.stat(tmp) !== null) throw invalidArgument(`${ACTION}: ${tmp} exists`);
    building = await open(build as unknown as FileStoreOptions);
    // A normal exit mid-way closes the build, and its lock with it: no later restore could
    // tell the sibling from one just starting, so the exit removes it (after that close).
    leaveExit = atExit(() => fs.remove(tmp));
    try {
      await replay(building, header, frames);
    } catch (err) {
      throw asArchiveError(err);
    }
    await building.close();
    building = null;
    checkTarget(fs, dir);
    if (fs.stat(dir) !== null) fs.remove(dir);
    fs.rename(tmp, dir);
    leaveExit();
    fs.syncDirectory(parentOf(dir));
    opener?.wipe();
    return await open(final as unknown as FileStoreOptions);
  } catch (err) {
    opener?.wipe();
    await building?.close().catch(() => {});
    await frames.return(undefined).catch(() => {});
    try {
      fs.remove(tmp);
    } catch {
      // Nothing more to do: the sibling's name says what it is.
    }
    leaveExit();
    throw err;
  }
}

/** Writes every message and consumer of the archive into `store`. */
async function replay(
  store: Restorable,
  header: ArchiveHeader,
  frames: AsyncGenerator<Frame>,
): Promise<void> {
  const cursor = { next: 1, msgs: 0, lastMsg: 0 };
  const consumers: ReturnType<typeof decodeConsumerFrame>[] = [];
  const bulk = typeof store.appendArchived === "function" ? new BulkSource() : null;
  try {
    for await (const f of frames) {
      if (f.kind === FrameKind.Messages) {
        if (consumers.length > 0) throw corrupt(`${ACTION}: messages after the consumers`);
        if (bulk !== null) replayBulk(store, header, f, bulk, cursor);
        else for (const m of decodeMessages(f)) replayOne(store, header, m, cursor);
      } else if (f.kind === FrameKind.Consumer) {
        consumers.push(decodeConsumerFrame(f));
      } else {
        throw corrupt(`${ACTION}: a second header frame`);
      }
    }
  } finally {
    bulk?.dispose();
  }
  const { msgs, lastMsg, next } = cursor;
  if (msgs !== header.msgs) {
    throw corrupt(`${ACTION}: the archive holds ${msgs} messages, its header says ${header.msgs}`);
  }
  if (msgs > 0 && header.firstSeq !== store.fastState().firstSeq) {
    throw corrupt(`${ACTION}: the first message is not the header's first sequence`);
  }
  if (lastMsg < header.lastSeq) {
    // The last sequence holds no message: a message carries its timestamp there and is removed.
    if (header.lastSeq > next) store.skipMsgs(next, header.lastSeq - next);
    store.storeRawMsg(
      LAST_TS_SUBJECT,
      null,
      new Uint8Array(0),
      header.lastSeq,
      BigInt(header.lastTs),
    );
    store.removeMsg(header.lastSeq);
  }
  for (const c of consumers) {
    const cs = store.consumerStore(c.name, c.config as ConsumerConfig) as ConsumerStore &
      RestoresState;
    try {
      if (c.state !== null) cs.restore(withFloorCount(decodeConsumerState(c.state), c));
    } finally {
      await cs.stop();
    }
  }
}

/** `state` with the redelivery count at its ack floor that the frame carries beside it. */
function withFloorCount(
  state: ConsumerState,
  frame: ReturnType<typeof decodeConsumerFrame>,
): ConsumerState {
  if (frame.floorRedelivered === 0) return state;
  if (state.ackFloor.stream < 1) {
    throw corrupt(`${ACTION}: consumer ${frame.name} has a redelivery count at an ack floor of 0`);
  }
  state.redelivered.set(state.ackFloor.stream, frame.floorRedelivered);
  return state;
}

/** A consumer store that takes an archived state as it was (ConsumerFileStore.restore). */
interface RestoresState {
  restore(state: ConsumerState): void;
}

interface Cursor {
  /** The sequence after the last one written. */
  next: number;
  msgs: number;
  /** Sequence of the last message written. */
  lastMsg: number;
}

/** One message through the store's write path: `skipMsgs` over a gap, then `storeRawMsg`. */
function replayOne(store: Restorable, header: ArchiveHeader, m: ArchivedMsg, c: Cursor): void {
  if (m.seq < c.next || m.seq > header.lastSeq) {
    throw corrupt(`${ACTION}: message ${m.seq} out of order or past the archive's last sequence`);
  }
  if (m.seq > c.next) store.skipMsgs(c.next, m.seq - c.next);
  store.storeRawMsg(m.subject, m.hdr, m.msg, m.seq, m.ts, m.ttl);
  c.next = m.seq + 1;
  c.lastMsg = m.seq;
  c.msgs++;
}

/**
 * A Messages frame through the store's bulk path (filestore/bulk-load.ts):
 * the body copied into core memory once, runs of plain messages appended
 * there, and each record the bulk path leaves (a gap before it, a TTL, a
 * value it does not take) through `replayOne`, which checks and refuses as
 * the write path does.
 */
function replayBulk(
  store: Restorable,
  header: ArchiveHeader,
  f: Frame,
  bulk: BulkSource,
  c: Cursor,
): void {
  const append = store.appendArchived as NonNullable<Restorable["appendArchived"]>;
  // A plain archive's frame is in core memory already; a sealed one's body is copied in.
  const src = f.core ?? bulk.load(f.body);
  const len = f.length;
  const at = { offset: 0 };
  const taken = { msgs: 0, lastMsg: 0 };
  while (at.offset < len) {
    taken.msgs = 0;
    at.offset = append.call(store, src, len, at.offset, taken);
    const last = store.fastState().lastSeq;
    if (last > header.lastSeq) {
      throw corrupt(`${ACTION}: message ${last} past the archive's last sequence`);
    }
    c.next = last + 1;
    if (taken.msgs > 0) {
      c.msgs += taken.msgs;
      c.lastMsg = taken.lastMsg;
    }
    if (at.offset < len) replayOne(store, header, decodeMessageAt(f, at), c);
  }
}

/** Core memory a frame's body is copied into for the bulk path, kept for the next frame. */
class BulkSource {
  private ptr = 0;
  private capacity = 0;

  /** Copies `body` into core memory; returns its address. */
  load(body: Uint8Array): number {
    const core = getCore();
    if (body.length > this.capacity) {
      if (this.ptr !== 0) core.free(this.ptr);
      this.ptr = 0;
      this.capacity = Math.max(body.length, 2 * 1024 * 1024);
      this.ptr = core.alloc(this.capacity);
    }
    core.u8.set(body, this.ptr);
    return this.ptr;
  }

  dispose(): void {
    if (this.ptr !== 0) getCore().free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}

/** The options the restored store opens with: the archive's limits, then the caller's. */
function finalOptions(
  header: ArchiveHeader,
  given: Record<string, unknown>,
  dir: string,
): Record<string, unknown> {
  const { firstSeq: _first, ...limits } = header.limits;
  return { ...limits, ...given, dir };
}

function resolveChecked(options: Record<string, unknown>): { fs: FileSystem } {
  const resolved = resolveFileStoreOptions(options);
  resolved.key?.fill(0);
  return resolved;
}

/** Refuses a `dir` that holds anything: a restore never writes over a store. */
function checkTarget(fs: FileSystem, dir: string): void {
  const stat = fs.stat(dir);
  if (stat === null) return;
  if (!stat.isDirectory || fs.list(dir).length > 0) {
    throw invalidArgument(`${ACTION}: ${dir} exists and is not an empty directory`);
  }
}

function asArchiveError(err: unknown): unknown {
  if (err instanceof JetStoreError && REFUSALS.has(err.code)) {
    return corrupt(`${ACTION}: the archive's content is refused (${err.message})`);
  }
  return err;
}

const BUILD_SUFFIX = ".restoring-";

/** A header's binding as bytes; null when absent or not hex (a bound archive's reader refuses that). */
function bindingOf(hex: unknown): Uint8Array | null {
  if (typeof hex !== "string" || !/^([0-9a-f]{2})+$/.test(hex)) return null;
  return Uint8Array.from(hex.match(/../g) as string[], (h) => Number.parseInt(h, 16));
}

/**
 * Removes the siblings `<dir>.restoring-<hex>` of restores that died (a
 * crash, a kill, a power cut): each holds the lock of the store being built,
 * which a live restore keeps, so one whose lock can be taken is abandoned.
 * One without a lock file may be a restore starting this instant: left.
 */
function removeAbandonedBuilds(fs: FileSystem, dir: string): void {
  const parent = parentOf(dir);
  const trimmed = dir.replace(/\/+$/, "");
  const prefix = `${trimmed.slice(trimmed.lastIndexOf("/") + 1)}${BUILD_SUFFIX}`;
  if (fs.stat(parent)?.isDirectory !== true) return;
  for (const name of fs.list(parent)) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{12}$/.test(name.slice(prefix.length))) continue;
    const path = joinPath(parent, name);
    try {
      if (fs.stat(joinPath(path, LOCK_FILE)) === null) continue;
      fs.lock(path).release();
      fs.remove(path);
    } catch {
      // Held by a live restore, or not removable: it stays, as before this restore.
    }
  }
}

function randomHex(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}
