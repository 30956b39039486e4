/**
 * Authenticated encryption for data at rest: the two AEADs a store may use
 * (ChaCha20-Poly1305 and AES-256-GCM, 32-byte keys, 12-byte nonces, 16-byte
 * tags), HKDF-SHA256 for per-block keys, and random bytes. @noble/ciphers
 * is the portable implementation and the oracle every faster path is
 * checked against byte for byte; a runtime's own synchronous `node:crypto`
 * is used where it is faster (the choice per runtime lives here, as the
 * filesystem adapters' does in detect.ts).
 */
import { hkdfSync } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** The ciphers a store may be sealed with, as nats-server names them. */
export type CipherName = "chacha20-poly1305" | "aes-256-gcm";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** One AEAD. Both directions are synchronous and leave their inputs untouched. */
export interface Aead {
  /** Seals `plaintext` under (`key`, `nonce`), authenticating `aad` too: ciphertext then the 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Opens what `seal` returned; null when the tag does not match (wrong key, damaged bytes). */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
}

/** Where a runtime's AEADs come from. */
export interface CryptoProvider {
  /** For reports and benchmarks: "@noble/ciphers", "node:crypto", … */
  readonly name: string;
  aead(cipher: CipherName): Aead;
}

function nobleAead(make: typeof chacha20poly1305 | typeof gcm): Aead {
  return {
    seal: (key, nonce, plaintext, aad) => make(key, nonce, aad).encrypt(plaintext),
    open: (key, nonce, sealed, aad) => {
      try {
        return make(key, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },
  };
}

/** @noble/ciphers: runs everywhere; the oracle. */
export const nobleCrypto: CryptoProvider = {
  name: "@noble/ciphers",
  aead: (cipher) => (cipher === "chacha20-poly1305" ? nobleChacha : nobleGcm),
};
const nobleChacha = nobleAead(chacha20poly1305);
const nobleGcm = nobleAead(gcm);

let chosen: CryptoProvider = nobleCrypto;

/** The provider stores use in this runtime. */
export function defaultCrypto(): CryptoProvider {
  return chosen;
}

/** Replaces the provider stores use (tests record every seal through it); returns the previous one. */
export function setDefaultCrypto(provider: CryptoProvider): CryptoProvider {
  const previous = chosen;
  chosen = provider;
  return previous;
}

/** HKDF-SHA256 (RFC 5869): `length` bytes of key from `ikm`, `salt` and `info`. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

/** `n` bytes from the runtime's cryptographic random source. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}
