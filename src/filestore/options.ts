/**
 * FileStore options: what `FileStore.open` accepts beyond the limits every
 * engine shares, validated up front so a bad option changes nothing on disk.
 */

import { KEY_BYTES } from "../../runtimes/aead.ts";
import { defaultFileSystem } from "../../runtimes/detect.ts";
import { DEFAULT_FILE_MODE, directoryModeOf, type FileSystem } from "../../runtimes/fs.ts";
import { invalidArgument } from "../errors.ts";
import type { StoreOptions } from "../types.ts";
import { checkStoreOptions, describeValue, type ResolvedStoreOptions } from "../validate.ts";

/** Ciphers for data at rest, as nats-server names them. */
export type StoreCipher = "chacha20-poly1305" | "aes-256-gcm" | "none";

/** Block compression, as nats-server names it (Snappy, the core of its S2). */
export type StoreCompression = "snappy" | "none";

/**
 * Options of `FileStore.open`. Every optional one may be spelled `undefined`
 * (as under `exactOptionalPropertyTypes`), which means its default.
 */
export interface FileStoreOptions extends StoreOptions {
  /** Directory of the store; created if missing. */
  dir: string;
  /** Filesystem adapter; defaults to the runtime's own. */
  fs?: FileSystem | undefined;
  /** Bytes at which a block is sealed and a new one started (default 8 MiB). */
  blockSize?: number | undefined;
  /**
   * Budget for sealed blocks held in memory (default 256 MiB): a high-water
   * mark reached only by reads spread over that much of the store; blocks
   * written and not read since hold at most 32 MiB of it.
   */
  cacheBytes?: number | undefined;
  /** fsync every write before `storeMsg` returns, like nats-server's `sync_interval: always`. */
  syncAlways?: boolean | undefined;
  /**
   * Run the fsyncs of `sync()` and `flush()` in the calling thread (default
   * false: on the runtime's worker threads, leaving the event loop free while
   * the disk syncs). Faster where waking a worker costs much of an fsync (one
   * durable writer: +40 % on a 2-core VM), at the price of blocking the event
   * loop for each fsync, as better-sqlite3 does. Group commit still shares them.
   */
  syncInline?: boolean | undefined;
  /** Background fsync period in ms for writes nobody awaited (default 1000; 0 disables). */
  syncIntervalMs?: number | undefined;
  /**
   * Encryption at rest. Unset: what the store was written with ("none" for a
   * new store). Another cipher than the store's converts it, block by block.
   */
  cipher?: StoreCipher | undefined;
  /**
   * The 32-byte key of an encrypted store. It wraps the store's data key
   * (FORMAT.md), so `FileStore.rekey` can change it without rewriting data.
   * Copied at open; the copy is overwritten with zeros once used.
   */
  key?: Uint8Array | undefined;
  /**
   * Compression of sealed blocks. Unset: what the store was written with
   * ("none" for a new store); another value converts it, block by block.
   */
  compression?: StoreCompression | undefined;
  /**
   * Permission bits of every file the store creates (default 0o600, owner
   * only); the directories it creates get the same plus execute wherever read
   * is granted (0o700 by default, 0o750 for 0o640). Set exactly, whatever the
   * umask. Must include owner read and write.
   */
  fileMode?: number | undefined;
}

/** The keys of FileStoreOptions beyond the shared StoreOptions. */
const FILE_STORE_KEYS = [
  "dir",
  "fs",
  "blockSize",
  "cacheBytes",
  "syncAlways",
  "syncInline",
  "syncIntervalMs",
  "cipher",
  "key",
  "compression",
  "fileMode",
] as const satisfies readonly (keyof FileStoreOptions)[];

export interface ResolvedFileStoreOptions extends ResolvedStoreOptions {
  dir: string;
  fs: FileSystem;
  blockSize: number;
  cacheBytes: number;
  syncAlways: boolean;
  syncInline: boolean;
  syncIntervalMs: number;
  /** Permission bits of the files the store creates. */
  fileMode: number;
  /** Permission bits of the directories the store creates. */
  directoryMode: number;
  /** The cipher and compression asked for, undefined when unset. */
  cipher: StoreCipher | undefined;
  compression: StoreCompression | undefined;
  /** A copy of the key, or null. */
  key: Uint8Array | null;
}

/**
 * 8 MiB, nats-server's default. Measured here (1M W1 messages, one process):
 * W1 0.97 / 1.10 / 1.13 / 1.00 M msgs/s, rebuild without checkpoint 681 /
 * 446 / 447 / 427 ms, 200k removals 482 / 321 / 356 / 344 ms for 1 / 4 / 8 /
 * 16 MiB blocks, peak RSS rising with the size (the write buffer is one
 * block). 4 and 8 MiB tie; 8 MiB halves the files of a large store.
 */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
export const MIN_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 1024 * 1024 * 1024;
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

export function resolveFileStoreOptions(options: unknown): ResolvedFileStoreOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `Invalid FileStore options: expected an object, got ${describeValue(options)}`,
    );
  }
  const given = options as FileStoreOptions;
  checkAtRest(given);
  if (typeof given.dir !== "string" || given.dir.length === 0) {
    throw invalidArgument(
      `Invalid FileStore option dir: must be a non-empty string, got ${describeValue(given.dir)}`,
    );
  }
  const base = checkStoreOptions(options, FILE_STORE_KEYS);
  // Only a missing option takes its default: null is a wrong value, not "unset".
  const fs = given.fs === undefined ? defaultFileSystem() : given.fs;
  checkFsOption("FileStore", fs);
  const blockSize = given.blockSize === undefined ? DEFAULT_BLOCK_SIZE : given.blockSize;
  if (
    !Number.isSafeInteger(blockSize) ||
    blockSize < MIN_BLOCK_SIZE ||
    blockSize > MAX_BLOCK_SIZE
  ) {
    throw invalidArgument(
      `Invalid FileStore option blockSize: must be an integer from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}, got ${describeValue(blockSize)}`,
    );
  }
  const cacheBytes = given.cacheBytes === undefined ? DEFAULT_CACHE_BYTES : given.cacheBytes;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
    throw invalidArgument(
      `Invalid FileStore option cacheBytes: must be a non-negative safe integer, got ${describeValue(cacheBytes)}`,
    );
  }
  const syncAlways = booleanOption(given.syncAlways, "syncAlways");
  const syncInline = booleanOption(given.syncInline, "syncInline");
  const syncIntervalMs =
    given.syncIntervalMs === undefined ? DEFAULT_SYNC_INTERVAL_MS : given.syncIntervalMs;
  if (!Number.isSafeInteger(syncIntervalMs) || syncIntervalMs < 0) {
    throw invalidArgument(
      `Invalid FileStore option syncIntervalMs: must be a non-negative safe integer, got ${describeValue(syncIntervalMs)}`,
    );
  }
  const fileMode = given.fileMode === undefined ? DEFAULT_FILE_MODE : given.fileMode;
  if (
    !Number.isInteger(fileMode) ||
    fileMode < 0 ||
    fileMode > 0o777 ||
    (fileMode & 0o600) !== 0o600
  ) {
    throw invalidArgument(
      `Invalid FileStore option fileMode: must be permission bits from 0o600 to 0o777 that include owner read and write (0o600), got ${describeMode(fileMode)}`,
    );
  }
  return {
    ...base,
    dir: given.dir.replace(/\/+$/, "") || "/",
    fs,
    blockSize,
    cacheBytes,
    syncAlways,
    syncInline,
    syncIntervalMs,
    fileMode,
    directoryMode: directoryModeOf(fileMode),
    cipher: given.cipher,
    compression: given.compression,
    key: given.key === undefined ? null : given.key.slice(),
  };
}

/** A mode in octal, as people write it, or the value as it came. */
function describeMode(value: unknown): string {
  return Number.isInteger(value) && (value as number) >= 0
    ? `0o${(value as number).toString(8)}`
    : describeValue(value);
}

const CIPHERS: readonly StoreCipher[] = ["chacha20-poly1305", "aes-256-gcm", "none"];
const COMPRESSIONS: readonly StoreCompression[] = ["snappy", "none"];

/** Encryption and compression: a value that is none of the known ones, or a key that is not 32 bytes, is bad input. */
function checkAtRest(given: FileStoreOptions): void {
  const { cipher, key, compression } = given;
  if (cipher !== undefined && !CIPHERS.includes(cipher)) {
    throw invalidArgument(
      `Invalid FileStore option cipher: must be ${CIPHERS.map((c) => `"${c}"`).join(", ")}, got ${describeValue(cipher)}`,
    );
  }
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) {
    throw invalidArgument(
      `Invalid FileStore option compression: must be "snappy" or "none", got ${describeValue(compression)}`,
    );
  }
  if (key !== undefined) checkKeyOption("FileStore", "key", key);
}

/** ErrInvalidArgument unless `key` is a key: a Uint8Array of KEY_BYTES (`owner`: FileStore, rekey, verifyStore). */
export function checkKeyOption(owner: string, name: string, key: unknown): void {
  if (key instanceof Uint8Array && key.length === KEY_BYTES) return;
  // Never the key's bytes: only what kind of value it is.
  const what =
    key instanceof Uint8Array ? `a Uint8Array of ${key.length} bytes` : describeKind(key);
  throw invalidArgument(
    `Invalid ${owner} option ${name}: must be a Uint8Array of ${KEY_BYTES} bytes, got ${what}`,
  );
}

/** ErrInvalidArgument unless `fs` is a FileSystem adapter. */
export function checkFsOption(owner: string, fs: unknown): void {
  if (typeof fs === "object" && fs !== null && typeof (fs as FileSystem).open === "function")
    return;
  throw invalidArgument(
    `Invalid ${owner} option fs: expected a FileSystem adapter, got ${describeValue(fs)}`,
  );
}

/** What a value is, without showing it (a key must never reach a message). */
export function describeKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a ${typeof value}`;
}

/** A boolean option, false when unset. */
function booleanOption(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw invalidArgument(
      `Invalid FileStore option ${name}: must be a boolean, got ${describeValue(value)}`,
    );
  }
  return value;
}
