/**
 * One store's means of sealing: the compression and cipher new files get,
 * the data key, and per-file keys derived from it with HKDF under a random
 * salt that the file's header keeps, so no data key spans two files and a
 * rewritten file starts under a fresh key. Nonces are random (96 bits) per
 * chunk: nothing about a nonce depends on what a crash left on disk, so no
 * (key, nonce) pair can seal two different plaintexts. Also the sealed
 * envelope of whole small files (the checkpoint).
 */
import {
  type Aead,
  type CipherName,
  type CryptoProvider,
  defaultCrypto,
  hkdfSha256,
  KEY_BYTES,
  NONCE_BYTES,
  randomBytes,
  TAG_BYTES,
} from "../../runtimes/aead.ts";
import { xxh64 } from "../codec/index.ts";
import { corrupt } from "../errors.ts";
import { CIPHER_CODES, COMPRESSION_CODES, SALT_BYTES, SEALED_CHECKPOINT_MAGIC } from "../format.ts";
import { type Compressor, snappy } from "./compression.ts";
import { badKey, type Cipher, type Compression, cipherOf, compressionOf } from "./settings.ts";

const NONCE_POOL = 256;
const encoder = new TextEncoder();

/** The format of one file: how its chunks are compressed and sealed. */
export interface FileFormat {
  compression: Compression;
  cipher: Cipher;
}

export function formatBits(f: FileFormat): number {
  return COMPRESSION_CODES[f.compression] | (CIPHER_CODES[f.cipher] << 2);
}

/** The format bits name, or null for codes this version does not know. */
export function formatOfBits(bits: number): FileFormat | null {
  const compression = compressionOf(bits & 3);
  const cipher = cipherOf((bits >> 2) & 3);
  return compression === null || cipher === null ? null : { compression, cipher };
}

export function sameFormat(a: FileFormat, b: FileFormat): boolean {
  return a.compression === b.compression && a.cipher === b.cipher;
}

export const PLAIN: FileFormat = { compression: "none", cipher: "none" };

export class Sealer {
  /** The format new files are written in. */
  readonly target: FileFormat;
  private dataKey: Uint8Array | null;
  /** Chosen on first use: probing the runtime's ciphers costs a plain store's open for nothing. */
  private crypto: CryptoProvider | null = null;
  readonly compressor: Compressor;
  private pool: Uint8Array = new Uint8Array(0);
  private poolAt = 0;

  /** False for a store that never had at-rest settings: none of its files can be sealed. */
  readonly mayHoldSealed: boolean;

  constructor(target: FileFormat, dataKey: Uint8Array | null, mayHoldSealed = true) {
    this.target = target;
    this.mayHoldSealed = mayHoldSealed;
    this.dataKey = dataKey;
    this.compressor = snappy();
  }

  /** True when new files are chunked (compressed, sealed or both). */
  get sealsFiles(): boolean {
    return !sameFormat(this.target, PLAIN);
  }

  aead(cipher: CipherName): Aead {
    this.crypto ??= defaultCrypto();
    return this.crypto.aead(cipher);
  }

  /** The key of a file sealed with `cipher` whose header holds `salt`. */
  fileKey(cipher: CipherName, salt: Uint8Array, purpose: "block" | "checkpoint"): Uint8Array {
    if (this.dataKey === null) throw badKey("the store holds encrypted files and no key was given");
    return hkdfSha256(
      this.dataKey,
      salt,
      encoder.encode(`jetstore ${purpose} ${cipher} v1`),
      KEY_BYTES,
    );
  }

  /** A fresh random nonce. */
  nonce(): Uint8Array {
    if (this.poolAt + NONCE_BYTES > this.pool.length) {
      this.pool = randomBytes(NONCE_BYTES * NONCE_POOL);
      this.poolAt = 0;
    }
    const out = this.pool.slice(this.poolAt, this.poolAt + NONCE_BYTES);
    this.poolAt += NONCE_BYTES;
    return out;
  }

  /** True while the store has a data key (it has or had a cipher). */
  get hasDataKey(): boolean {
    return this.dataKey !== null;
  }

  /** Overwrites the data key and the unused nonces (the store closes). */
  wipe(): void {
    this.dataKey?.fill(0);
    this.dataKey = null;
    this.pool.fill(0);
  }

  /**
   * A whole small file (the checkpoint) in the target format: magic "JSCE",
   * u16 version 1, u16 format bits, salt, nonce, u32 plain length, the body
   * (compressed when that is shorter, then sealed), and an xxHash64 of every
   * byte before it, so damage and a wrong key stay apart.
   */
  sealEnvelope(plain: Uint8Array): Uint8Array {
    const f = this.target;
    let body: Uint8Array = plain;
    let compressed = 0;
    if (f.compression === "snappy") {
      const c = this.compressor.compress(plain);
      if (c.length < plain.length) {
        body = c;
        compressed = 1;
      }
    }
    const salt = f.cipher === "none" ? new Uint8Array(0) : randomBytes(SALT_BYTES);
    const nonce = f.cipher === "none" ? new Uint8Array(0) : this.nonce();
    const head = new Uint8Array(16 + salt.length + nonce.length);
    const view = new DataView(head.buffer);
    view.setUint32(0, SEALED_CHECKPOINT_MAGIC, true);
    view.setUint16(4, 1, true);
    view.setUint16(6, formatBits(f) | (compressed << 8), true);
    head.set(salt, 8);
    head.set(nonce, 8 + salt.length);
    view.setUint32(8 + salt.length + nonce.length, plain.length, true);
    view.setUint32(12 + salt.length + nonce.length, body.length, true);
    if (f.cipher !== "none") {
      const key = this.fileKey(f.cipher, salt, "checkpoint");
      body = this.aead(f.cipher).seal(key, nonce, body, head);
      key.fill(0);
    }
    const out = new Uint8Array(head.length + body.length + 8);
    out.set(head);
    out.set(body, head.length);
    new DataView(out.buffer).setBigUint64(
      out.length - 8,
      xxh64(out.subarray(0, out.length - 8)),
      true,
    );
    return out;
  }

  /** The plain bytes of an envelope; ErrCorrupt when it is damaged. */
  openEnvelope(bytes: Uint8Array, path: string): Uint8Array {
    const damaged = (why: string) => corrupt(`${path}: ${why}`, { file: path });
    if (bytes.length < 24) throw damaged("too short");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (xxh64(bytes.subarray(0, bytes.length - 8)) !== view.getBigUint64(bytes.length - 8, true)) {
      throw damaged("fails its checksum");
    }
    const bits = view.getUint16(6, true);
    const f = formatOfBits(bits & 0xff);
    if (f === null) throw damaged("names an unknown format");
    const saltLen = f.cipher === "none" ? 0 : SALT_BYTES;
    const nonceLen = f.cipher === "none" ? 0 : NONCE_BYTES;
    const headLen = 16 + saltLen + nonceLen;
    const plainLength = view.getUint32(8 + saltLen + nonceLen, true);
    const bodyLength = view.getUint32(12 + saltLen + nonceLen, true);
    const sealedLength = bodyLength + (f.cipher === "none" ? 0 : TAG_BYTES);
    if (headLen + sealedLength + 8 !== bytes.length) throw damaged("has the wrong length");
    let body: Uint8Array | null = bytes.subarray(headLen, headLen + sealedLength);
    if (f.cipher !== "none") {
      const key = this.fileKey(f.cipher, bytes.subarray(8, 8 + saltLen), "checkpoint");
      body = this.aead(f.cipher).open(
        key,
        bytes.subarray(8 + saltLen, 8 + saltLen + nonceLen),
        body,
        bytes.subarray(0, headLen),
      );
      key.fill(0);
      if (body === null) throw damaged("fails its tag");
    }
    if ((bits >> 8) & 1) {
      body = this.compressor.uncompress(body, plainLength);
      if (body === null) throw damaged("does not uncompress");
    }
    if (body.length !== plainLength) throw damaged("has the wrong length");
    return body;
  }
}

/** True when `bytes` start like a sealed envelope. */
export function isEnvelope(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === SEALED_CHECKPOINT_MAGIC
  );
}

/** The format bits (`formatBits`) an envelope was sealed with. */
export function envelopeFormat(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getUint16(6, true) & 0xff;
}
