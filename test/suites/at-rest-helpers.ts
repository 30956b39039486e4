/**
 * Tools of the at-rest suite: every file of a directory with its bytes and
 * hash, a byte-string search, an independent parse of sealed block files
 * (by FORMAT.md and the brief, not by the code under test), and a crypto
 * provider that records every seal so a test can look for a (key, nonce)
 * pair that sealed two different plaintexts.
 */
import { createHash } from "node:crypto";
import {
  type Aead,
  type CipherName,
  type CryptoProvider,
  defaultCrypto,
  setDefaultCrypto,
} from "../../runtimes/aead.ts";
import { type FileHandle, type FileSystem, joinPath } from "../../runtimes/fs.ts";
import { JetStoreError } from "../../src/errors.ts";
import { FileStore, type FileStoreOptions } from "../../src/filestore/filestore.ts";
import { readFileBytes, writeFileBytes } from "./store-helpers.ts";

export type CipherOption = "chacha20-poly1305" | "aes-256-gcm" | "none";
export type CompressionOption = "snappy" | "none";

/** One at-rest combination under test. */
export interface Combo {
  name: string;
  cipher: CipherOption;
  compression: CompressionOption;
}

export const COMBOS: Combo[] = [
  { name: "chacha20-poly1305", cipher: "chacha20-poly1305", compression: "none" },
  { name: "chacha20-poly1305 + snappy", cipher: "chacha20-poly1305", compression: "snappy" },
  { name: "aes-256-gcm", cipher: "aes-256-gcm", compression: "none" },
  { name: "aes-256-gcm + snappy", cipher: "aes-256-gcm", compression: "snappy" },
  { name: "snappy alone", cipher: "none", compression: "snappy" },
];

/** A deterministic 32-byte key, different per `seed`, with no zero byte (so it is easy to find). */
export function testKey(seed: number): Uint8Array {
  const key = new Uint8Array(32);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < 32; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    key[i] = 1 + ((x >>> 16) % 255);
  }
  return key;
}

/** Every spelling of `key` an error message or a log might use. */
export function keySpellings(key: Uint8Array): string[] {
  const hex = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
  let binary = "";
  for (const b of key) binary += String.fromCharCode(b);
  const base64 = btoa(binary);
  const base64url = base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const list = Array.from(key).join(",");
  const spaced = Array.from(key).join(", ");
  // Any run of 8 bytes is enough to call it a leak.
  const head = Array.from(key.subarray(0, 8)).join(",");
  const headSpaced = Array.from(key.subarray(0, 8)).join(", ");
  const hexHead = hex.slice(0, 16);
  return [hex, hex.toUpperCase(), base64, base64url, list, spaced, head, headSpaced, hexHead];
}

/** Every text an error carries: message, stack, JSON, String(), its causes'. */
export function errorTexts(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== undefined && e !== null; depth++) {
    parts.push(String(e));
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? "");
    }
    try {
      parts.push(
        JSON.stringify(e, (_k, v) =>
          v instanceof Uint8Array ? Array.from(v) : typeof v === "bigint" ? v.toString() : v,
        ) ?? "",
      );
    } catch {
      // Circular: what String() gave is enough.
    }
    if (typeof e === "object") {
      for (const k of Object.getOwnPropertyNames(e)) {
        const v = (e as Record<string, unknown>)[k];
        if (typeof v === "string") parts.push(v);
        if (v instanceof Uint8Array) parts.push(Array.from(v).join(","));
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join("\n");
}

/** Every file under `dir` (recursively), as paths relative to it, sorted. */
export function listFiles(fs: FileSystem, dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of fs.list(dir)) {
    const path = joinPath(dir, name);
    const stat = fs.stat(path);
    if (stat === null) continue;
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    if (stat.isDirectory) out.push(...listFiles(fs, path, rel));
    else out.push(rel);
  }
  return out.sort();
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every file under `dir` and the hash of its bytes. */
export function hashTree(fs: FileSystem, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of listFiles(fs, dir)) out[rel] = sha256(readAll(fs, joinPath(dir, rel)));
  return out;
}

/** True when `needle` occurs in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (
    let i = haystack.indexOf(first);
    i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    for (let k = 1; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return true;
  }
  return false;
}

/** Which of `needles` (by label) occur in which file under `dir`. */
export function findPlaintext(
  fs: FileSystem,
  dir: string,
  needles: Map<string, Uint8Array>,
): string[] {
  const found: string[] = [];
  for (const rel of listFiles(fs, dir)) {
    const bytes = readAll(fs, joinPath(dir, rel));
    for (const [label, needle] of needles) {
      if (contains(bytes, needle)) found.push(`${rel}: ${label}`);
    }
  }
  return found;
}

// --- Sealed block files (version 2), parsed by the layout in the brief and sealed-file.ts ---

export const SEALED_HEADER = 40;
const CHUNK_FIXED = 16;
const NONCE = 12;
const CHECK = 4;

export interface ChunkSpan {
  /** Offset of the chunk's header in the file. */
  fileStart: number;
  headerLength: number;
  plainStart: number;
  plainLength: number;
  storedLength: number;
  flags: number;
}

export interface SealedHeader {
  version: number;
  /** Compression code | cipher code << 2 | packed 0x10. */
  bits: number;
  n: number;
}

export function sealedHeader(bytes: Uint8Array): SealedHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    version: view.getUint16(4, true),
    bits: view.getUint16(6, true),
    n: view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000,
  };
}

/** The chunks of an undamaged sealed block file. */
export function parseChunks(bytes: Uint8Array, withCipher: boolean): ChunkSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = CHUNK_FIXED + (withCipher ? NONCE : 0) + CHECK;
  const out: ChunkSpan[] = [];
  for (let pos = SEALED_HEADER; pos < bytes.length; ) {
    const chunk: ChunkSpan = {
      fileStart: pos,
      headerLength,
      plainStart: view.getUint32(pos, true),
      plainLength: view.getUint32(pos + 4, true),
      storedLength: view.getUint32(pos + 8, true),
      flags: bytes[pos + 12],
    };
    out.push(chunk);
    pos += headerLength + chunk.storedLength;
  }
  return out;
}

/** Where one record of a plain (version 1) block lies. */
export interface RecordSpan {
  offset: number;
  length: number;
  seq: number;
  flags: number;
}

/** The records of a plain block file: a 16-byte header, then length-prefixed records (FORMAT.md). */
export function parseRecords(bytes: Uint8Array): RecordSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RecordSpan[] = [];
  for (let offset = 16; offset + 36 <= bytes.length; ) {
    const length = view.getUint32(offset, true);
    out.push({
      offset,
      length,
      seq: Number(view.getBigUint64(offset + 8, true)),
      flags: bytes[offset + 6],
    });
    offset += length;
  }
  return out;
}

// --- Recording every seal ---

/** (cipher, key, nonce) → what was sealed under it, and the reuses found. */
export class SealLog {
  readonly seen = new Map<string, string>();
  readonly reuses: string[] = [];
  seals = 0;

  record(
    cipher: CipherName,
    key: Uint8Array,
    nonce: Uint8Array,
    plain: Uint8Array,
    aad: Uint8Array,
  ): void {
    this.seals++;
    const id = `${cipher}|${hex(key)}|${hex(nonce)}`;
    const what = `${sha256(plain)}|${sha256(aad)}`;
    const before = this.seen.get(id);
    if (before === undefined) this.seen.set(id, what);
    else if (before !== what && this.reuses.length < 20) {
      this.reuses.push(`${cipher} nonce ${hex(nonce)}: sealed ${before} then ${what}`);
    }
  }

  clear(): void {
    this.seen.clear();
    this.reuses.length = 0;
    this.seals = 0;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs `body` with every seal of the default provider recorded in `log`; restores the provider after. */
export async function withSealLog<T>(log: SealLog, body: () => Promise<T>): Promise<T> {
  const inner = defaultCrypto();
  const wrap = (cipher: CipherName): Aead => {
    const aead = inner.aead(cipher);
    return {
      seal(key, nonce, plaintext, aad) {
        log.record(cipher, key, nonce, plaintext, aad);
        return aead.seal(key, nonce, plaintext, aad);
      },
      open: (key, nonce, sealed, aad) => aead.open(key, nonce, sealed, aad),
    };
  };
  const recording: CryptoProvider = { name: `recording ${inner.name}`, aead: wrap };
  const previous = setDefaultCrypto(recording);
  try {
    return await body();
  } finally {
    setDefaultCrypto(previous);
  }
}

// --- Entry points the lead is adding ---

export interface RekeyOptions {
  dir: string;
  key: Uint8Array;
  newKey: Uint8Array;
  fs?: FileSystem | undefined;
}

/** `FileStore.rekey`. */
export function rekey(options: RekeyOptions): Promise<void> {
  return FileStore.rekey(options);
}

/** `FileStore.rekey` with arguments exactly as given (bad-input tests). */
export function rekeyRaw(options: unknown): Promise<void> {
  return rekey(options as RekeyOptions);
}

export type AtRestOptions = Pick<FileStoreOptions, "cipher" | "compression" | "key">;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A filesystem whose handles' `truncate` fails while `failTruncate` is set (the memory adapter cannot fail one). */
export interface TruncateFaults {
  fs: FileSystem;
  failTruncate: boolean;
  truncatesFailed: number;
}

export function withTruncateFaults(inner: FileSystem): TruncateFaults {
  const state: TruncateFaults = { fs: inner, failTruncate: false, truncatesFailed: 0 };
  const wrapHandle = (h: FileHandle): FileHandle => ({
    get path() {
      return h.path;
    },
    read: (buf, position) => h.read(buf, position),
    write: (buf, position) => h.write(buf, position),
    size: () => h.size(),
    truncate(length) {
      if (state.failTruncate) {
        state.truncatesFailed++;
        throw new JetStoreError("ErrIO", `I/O error: truncate ${h.path}: injected`);
      }
      h.truncate(length);
    },
    sync: () => h.sync(),
    syncAsync: () => h.syncAsync(),
    close: () => h.close(),
  });
  state.fs = {
    name: inner.name,
    open: (path, mode, permissions) => wrapHandle(inner.open(path, mode, permissions)),
    stat: (path) => inner.stat(path),
    mkdir: (path, permissions) => inner.mkdir(path, permissions),
    list: (path) => inner.list(path),
    rename: (from, to) => inner.rename(from, to),
    remove: (path) => inner.remove(path),
    removeAsync: (path) => inner.removeAsync(path),
    syncDirectory: (path) => inner.syncDirectory(path),
    lock: (directory, permissions) => inner.lock(directory, permissions),
  };
  return state;
}

/** A file's bytes through the adapter; empty when it is missing. */
export function readAll(fs: FileSystem, path: string): Uint8Array {
  return readFileBytes(fs, path) ?? new Uint8Array(0);
}

export { writeFileBytes as writeAll };
