/**
 * The memory adapter's POSIX-like tree and its durability model. Every file
 * and directory holds its current state plus an undo log of the changes made
 * since it was last synced; the durable state is the current one with the log
 * undone. A sync just drops the log, so syncing a growing file costs nothing,
 * and a crash replays the logs backwards: all of them (unsynced changes are
 * lost), none, or a seeded random suffix of each, the oldest undone write
 * possibly torn — "ordered writes, cut at a random point", per file and per
 * directory. A same-directory rename is one atomic change; a rename across
 * directories is two, so a crash may keep it in both places or in neither,
 * as POSIX allows until both directories are synced. Keeping a durable copy
 * per file was rejected: every sync would copy the whole file.
 */
import { DEFAULT_DIRECTORY_MODE, DEFAULT_FILE_MODE } from "./fs.ts";
import type { Random } from "./memory-faults.ts";

export interface FileNode {
  kind: "file";
  /** Permission bits, as set at creation. */
  mode: number;
  /** Capacity ≥ size; bytes past `size` are always zero. */
  data: Uint8Array;
  size: number;
  mtimeMs: number;
  /** Changes since the last sync, oldest first. */
  undo: FileChange[];
  /**
   * Ranges a failed fsync dropped, with the bytes the disk still holds there;
   * a range shrinks once a later write over it is made durable.
   */
  dropped: DroppedRange[];
}

interface DroppedRange {
  position: number;
  /** The durable bytes of [position, position + bytes.length): what a crash brings back. */
  bytes: Uint8Array;
}

export interface DirNode {
  kind: "dir";
  /** Permission bits, as set at creation. */
  mode: number;
  entries: Map<string, Node>;
  mtimeMs: number;
  /** Entry changes since the last sync, oldest first; each is atomic. */
  undo: EntryChange[][];
}

export type Node = FileNode | DirNode;

type FileChange =
  /** `old` holds the bytes the write covered below `prevSize`. */
  | { kind: "write"; position: number; length: number; prevSize: number; old: Uint8Array }
  /** `removed` holds the tail a shrinking truncate dropped (empty when it grew). */
  | { kind: "truncate"; prevSize: number; removed: Uint8Array };

/** An entry's previous value: a node, or undefined if it did not exist. */
interface EntryChange {
  name: string;
  prev: Node | undefined;
}

/** What a crash keeps: every unsynced change lost, none, or a random part. */
export type LoseMode = "unsynced" | "none" | "random";

/** The largest memory file; a disk would say EFBIG where this does. */
export const MAX_MEMORY_FILE = 2 ** 31 - 1;

const EMPTY = new Uint8Array(0);

export function newFile(
  now: number,
  bytes: Uint8Array = EMPTY,
  mode = DEFAULT_FILE_MODE,
): FileNode {
  return {
    kind: "file",
    mode,
    data: bytes.slice(),
    size: bytes.length,
    mtimeMs: now,
    undo: [],
    dropped: [],
  };
}

export function newDir(now: number, mode = DEFAULT_DIRECTORY_MODE): DirNode {
  return { kind: "dir", mode, entries: new Map(), mtimeMs: now, undo: [] };
}

/** Copies up to `buf.length` bytes at `position` into `buf`; returns the count. */
export function readAt(file: FileNode, buf: Uint8Array, position: number): number {
  if (position >= file.size) return 0;
  const n = Math.min(buf.length, file.size - position);
  buf.set(file.data.subarray(position, position + n));
  return n;
}

/** Writes `src` at `position`, logging what it overwrote. */
export function writeAt(file: FileNode, src: Uint8Array, position: number, now: number): void {
  if (src.length === 0) return;
  const end = position + src.length;
  const prevSize = file.size;
  const old = position < prevSize ? file.data.slice(position, Math.min(end, prevSize)) : EMPTY;
  file.undo.push({ kind: "write", position, length: src.length, prevSize, old });
  reserve(file, end);
  file.data.set(src, position);
  file.size = Math.max(prevSize, end);
  file.mtimeMs = now;
}

export function truncateTo(file: FileNode, length: number, now: number): void {
  const prevSize = file.size;
  // What a shrink drops is gone from the disk too; regrown bytes are new.
  trimDropped(file, length, Number.MAX_SAFE_INTEGER);
  const removed = length < prevSize ? file.data.slice(length, prevSize) : EMPTY;
  file.undo.push({ kind: "truncate", prevSize, removed });
  resize(file, length);
  file.mtimeMs = now;
}

/** Sets entries of `dir` as one atomic change; `undefined` removes an entry. */
export function setEntries(dir: DirNode, changes: [string, Node | undefined][], now: number): void {
  dir.undo.push(changes.map(([name]) => ({ name, prev: dir.entries.get(name) })));
  for (const [name, node] of changes) {
    if (node === undefined) dir.entries.delete(name);
    else dir.entries.set(name, node);
  }
  dir.mtimeMs = now;
}

/** Makes everything reachable from `root` durable, as a clean shutdown would. */
export function syncTree(root: DirNode): void {
  root.undo = [];
  for (const node of root.entries.values()) {
    if (node.kind === "dir") syncTree(node);
    else settle(node, node.undo.length);
  }
}

/** A sync succeeded for the first `count` logged changes: they are durable now. */
export function settle(file: FileNode, count: number): void {
  const done = file.undo.slice(0, count);
  file.undo = file.undo.slice(count);
  for (const change of done) {
    if (change.kind === "write")
      trimDropped(file, change.position, change.position + change.length);
  }
}

/**
 * A sync of the first `count` logged changes failed and the kernel dropped
 * them (fsyncgate): they are no longer pending, yet the disk keeps what it
 * held before them, which a crash brings back.
 */
export function drop(file: FileNode, count: number): void {
  const durable = durableBytes(file);
  const lost = file.undo.slice(0, count);
  file.undo = file.undo.slice(count);
  for (const change of lost) {
    if (change.kind !== "write") continue;
    const end = change.position + change.length;
    const bytes = new Uint8Array(change.length);
    if (change.position < durable.length) {
      bytes.set(durable.subarray(change.position, Math.min(end, durable.length)));
    }
    // Ranges of several failed syncs may overlap; each holds the same durable bytes there.
    file.dropped.unshift({ position: change.position, bytes });
  }
}

/** What the disk holds for `file` now: unsynced changes undone, dropped ranges restored. */
function durableBytes(file: FileNode): Uint8Array {
  const copy: FileNode = { ...file, data: file.data.slice(), undo: [], dropped: [] };
  for (let i = file.undo.length - 1; i >= 0; i--) undo(copy, file.undo[i], 0);
  restoreDropped(copy, file.dropped);
  return copy.data.slice(0, copy.size);
}

/** Removes [from, to) from every dropped range of `file`. */
function trimDropped(file: FileNode, from: number, to: number): void {
  if (file.dropped.length === 0) return;
  file.dropped = cutRanges(file.dropped, from, to);
}

function cutRanges(ranges: DroppedRange[], from: number, to: number): DroppedRange[] {
  const out: DroppedRange[] = [];
  for (const r of ranges) {
    const end = r.position + r.bytes.length;
    if (end <= from || r.position >= to) {
      out.push(r);
      continue;
    }
    if (r.position < from)
      out.push({ position: r.position, bytes: r.bytes.subarray(0, from - r.position) });
    if (end > to) out.push({ position: to, bytes: r.bytes.subarray(to - r.position) });
  }
  return out;
}

/** Puts the durable bytes of dropped ranges back, within the file's size. */
function restoreDropped(file: FileNode, ranges: DroppedRange[]): void {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const { position, bytes } = ranges[i];
    if (position >= file.size) continue;
    file.data.set(bytes.subarray(0, Math.min(bytes.length, file.size - position)), position);
  }
}

/**
 * A new tree holding what survives a power cut now. Draws from `random` in a
 * fixed order (depth first, names sorted), so a seed gives one outcome. A
 * file reachable by two names (a cross-directory rename half made durable)
 * becomes two independent copies; a directory cycle made of stale entries is cut.
 */
export function survivingTree(root: DirNode, lose: LoseMode, random: Random): DirNode {
  const files = new Map<FileNode, Uint8Array>();
  const dirs = new Map<DirNode, [string, Node][]>();
  const visit = (dir: DirNode, onPath: Set<DirNode>): DirNode => {
    let entries = dirs.get(dir);
    if (entries === undefined) {
      entries = [...survivingEntries(dir, lose, random)].sort(([a], [b]) => (a < b ? -1 : 1));
      dirs.set(dir, entries);
    }
    const out = newDir(dir.mtimeMs, dir.mode);
    onPath.add(dir);
    for (const [name, node] of entries) {
      if (node.kind === "file") {
        let bytes = files.get(node);
        if (bytes === undefined) {
          bytes = survivingBytes(node, lose, random);
          files.set(node, bytes);
        }
        out.entries.set(name, newFile(node.mtimeMs, bytes, node.mode));
      } else if (!onPath.has(node)) {
        out.entries.set(name, visit(node, onPath));
      }
    }
    onPath.delete(dir);
    return out;
  };
  return visit(root, new Set());
}

/** How many of `n` logged changes survive, oldest first. */
function cut(n: number, lose: LoseMode, random: Random): number {
  if (lose === "none") return n;
  if (lose === "unsynced") return 0;
  return random.below(n + 1);
}

function survivingEntries(dir: DirNode, lose: LoseMode, random: Random): Map<string, Node> {
  const entries = new Map(dir.entries);
  const keep = cut(dir.undo.length, lose, random);
  for (let i = dir.undo.length - 1; i >= keep; i--) {
    const change = dir.undo[i];
    for (let j = change.length - 1; j >= 0; j--) {
      const { name, prev } = change[j];
      if (prev === undefined) entries.delete(name);
      else entries.set(name, prev);
    }
  }
  return entries;
}

function survivingBytes(file: FileNode, lose: LoseMode, random: Random): Uint8Array {
  const copy: FileNode = { ...file, data: file.data.slice(), undo: [], dropped: [] };
  const log = file.undo;
  const keep = cut(log.length, lose, random);
  for (let i = log.length - 1; i > keep; i--) undo(copy, log[i], 0);
  let dropped = file.dropped;
  if (keep < log.length) {
    const oldest = log[keep];
    // The oldest lost write may have landed in part: a torn write.
    const landed = lose === "random" && oldest.kind === "write" ? random.below(oldest.length) : 0;
    undo(copy, oldest, landed);
    if (oldest.kind === "write" && landed > 0) {
      dropped = cutRanges(dropped, oldest.position, oldest.position + landed);
    }
  }
  // Writes that reached the disk cover what a failed fsync had dropped there.
  for (let i = 0; i < Math.min(keep, log.length); i++) {
    const change = log[i];
    if (change.kind === "write") {
      dropped = cutRanges(dropped, change.position, change.position + change.length);
    }
  }
  restoreDropped(copy, dropped);
  return copy.data.slice(0, copy.size);
}

/** Reverts one change on `file`, keeping the first `landed` bytes of a write. */
function undo(file: FileNode, change: FileChange, landed: number): void {
  if (change.kind === "truncate") {
    if (change.removed.length > 0) {
      reserve(file, change.prevSize);
      file.data.set(change.removed, change.prevSize - change.removed.length);
      file.size = change.prevSize;
    } else {
      resize(file, change.prevSize);
    }
    return;
  }
  const { position, length, prevSize, old } = change;
  const restoreEnd = Math.min(position + length, prevSize);
  if (position + landed < restoreEnd) {
    file.data.set(old.subarray(landed, restoreEnd - position), position + landed);
  }
  resize(file, landed > 0 ? Math.max(prevSize, position + landed) : prevSize);
}

/** Sets the size, zero-filling what a shrink drops so growth finds zeros. */
function resize(file: FileNode, length: number): void {
  if (length < file.size) file.data.fill(0, length, file.size);
  else reserve(file, length);
  file.size = length;
}

function reserve(file: FileNode, length: number): void {
  if (length <= file.data.length) return;
  const capacity = Math.min(MAX_MEMORY_FILE, Math.max(length, file.data.length * 2, 64));
  const data = new Uint8Array(capacity);
  data.set(file.data.subarray(0, file.size));
  file.data = data;
}
