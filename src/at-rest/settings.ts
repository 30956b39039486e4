/**
 * The at-rest settings of a store (`atrest`, FORMAT.md): the compression and
 * cipher new files are written with, and the store's data key wrapped under
 * the user's key. Data keys of blocks and checkpoints derive from the data
 * key, never from the user's key, so changing the user's key (`rekey`)
 * rewrites this file alone. Written atomically (temporary file, fsync,
 * rename, directory fsync).
 */

import {
  type CipherName,
  defaultCrypto,
  hkdfSha256,
  KEY_BYTES,
  NONCE_BYTES,
  randomBytes,
  TAG_BYTES,
} from "../../runtimes/aead.ts";
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath, replaceFile } from "../../runtimes/fs.ts";
import { ByteReader, ByteWriter } from "../bytes.ts";
import { xxh64 } from "../codec/index.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import {
  ATREST_MAGIC,
  ATREST_VERSION,
  CIPHER_CODES,
  COMPRESSION_CODES,
  SALT_BYTES,
} from "../format.ts";

export const ATREST_FILE = "atrest";

export type Compression = keyof typeof COMPRESSION_CODES;
export type Cipher = keyof typeof CIPHER_CODES;

/** What the settings file holds, the data key unwrapped. */
export interface AtRestSettings {
  compression: Compression;
  cipher: Cipher;
  /** The store's data key (32 bytes), or null for a store that never had a cipher. */
  dataKey: Uint8Array | null;
}

/** The settings file as read, the data key still wrapped. */
export interface StoredSettings {
  compression: Compression;
  cipher: Cipher;
  wrapped: { salt: Uint8Array; nonce: Uint8Array; sealed: Uint8Array } | null;
  /** The bytes authenticated with the wrapped key. */
  aad: Uint8Array;
}

const WRAP_INFO = new TextEncoder().encode("jetstore data key wrap v1");
/** The wrap is always ChaCha20-Poly1305: 48 bytes, whatever the store's cipher. */
const WRAP_CIPHER: CipherName = "chacha20-poly1305";

export function compressionOf(code: number): Compression | null {
  for (const [name, c] of Object.entries(COMPRESSION_CODES))
    if (c === code) return name as Compression;
  return null;
}

export function cipherOf(code: number): Cipher | null {
  for (const [name, c] of Object.entries(CIPHER_CODES)) if (c === code) return name as Cipher;
  return null;
}

/** Reads `dir`'s settings file; null when the store has none (plain, as before at-rest existed). */
export function readSettings(fs: FileSystem, dir: string): StoredSettings | null {
  const path = joinPath(dir, ATREST_FILE);
  const stat = fs.stat(path);
  if (stat === null) return null;
  const handle = fs.open(path, "read");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(stat.size);
    const n = handle.read(bytes, 0);
    bytes = bytes.subarray(0, n);
  } finally {
    handle.close();
  }
  return decodeSettings(bytes, path);
}

export function decodeSettings(bytes: Uint8Array, path: string): StoredSettings {
  if (bytes.length < 16)
    throw corrupt(`${path} is too short to be a settings file`, { file: path });
  const body = bytes.subarray(0, bytes.length - 8);
  const sum = new DataView(bytes.buffer, bytes.byteOffset + body.length, 8).getBigUint64(0, true);
  if (xxh64(body) !== sum) throw corrupt(`${path} fails its checksum`, { file: path });
  const r = new ByteReader(body, "settings file", path);
  if (r.u32() !== ATREST_MAGIC)
    throw corrupt(`${path} is not a jetstore settings file`, { file: path });
  const version = r.u16();
  if (version > ATREST_VERSION) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `${path} has version ${version}; this jetstore reads up to ${ATREST_VERSION}`,
      { file: path },
    );
  }
  r.u16();
  const compression = compressionOf(r.u8());
  const cipher = cipherOf(r.u8());
  const hasKey = r.u8();
  r.u8();
  if (compression === null || cipher === null) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `${path} names a compression or cipher this jetstore does not know`,
      { file: path },
    );
  }
  const aad = body.slice(0, 12);
  if (hasKey === 0) return { compression, cipher, wrapped: null, aad };
  const salt = r.fixed(SALT_BYTES);
  const nonce = r.fixed(NONCE_BYTES);
  const sealed = r.fixed(KEY_BYTES + TAG_BYTES);
  return { compression, cipher, wrapped: { salt, nonce, sealed }, aad };
}

/** The data key `stored` wraps, opened with `key`; ErrBadKey when `key` is not the one it was wrapped with. */
export function unwrapDataKey(stored: StoredSettings, key: Uint8Array): Uint8Array {
  const w = stored.wrapped;
  if (w === null) throw new JetStoreError("ErrInternal", "the store has no data key to unwrap");
  const kek = hkdfSha256(key, w.salt, WRAP_INFO, KEY_BYTES);
  const dataKey = defaultCrypto().aead(WRAP_CIPHER).open(kek, w.nonce, w.sealed, stored.aad);
  kek.fill(0);
  if (dataKey === null) throw badKey("the key does not open this store");
  return dataKey;
}

export function badKey(why: string): JetStoreError {
  return new JetStoreError("ErrBadKey", `Cannot open store: ${why}`);
}

/** The settings file's bytes: `settings` with its data key wrapped under `key`. */
export function encodeSettings(settings: AtRestSettings, key: Uint8Array | null): Uint8Array {
  const w = new ByteWriter();
  w.u32(ATREST_MAGIC);
  w.u16(ATREST_VERSION);
  w.u16(0);
  w.u8(COMPRESSION_CODES[settings.compression]);
  w.u8(CIPHER_CODES[settings.cipher]);
  const wrap = settings.dataKey !== null && key !== null;
  w.u8(wrap ? 1 : 0);
  w.u8(0);
  if (wrap) {
    const head = w.finish().slice();
    const salt = randomBytes(SALT_BYTES);
    const nonce = randomBytes(NONCE_BYTES);
    const kek = hkdfSha256(key, salt, WRAP_INFO, KEY_BYTES);
    const sealed = defaultCrypto()
      .aead(WRAP_CIPHER)
      .seal(kek, nonce, settings.dataKey as Uint8Array, head);
    kek.fill(0);
    w.raw(salt);
    w.raw(nonce);
    w.raw(sealed);
  }
  const body = w.finish();
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  new DataView(out.buffer).setBigUint64(body.length, xxh64(body), true);
  return out;
}

/** Writes the settings file atomically. */
export function writeSettings(
  fs: FileSystem,
  dir: string,
  bytes: Uint8Array,
  fileMode: number,
): void {
  replaceFile(fs, joinPath(dir, ATREST_FILE), bytes, fileMode);
  fs.syncDirectory(dir);
}
