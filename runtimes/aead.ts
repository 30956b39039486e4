/**
 * Authenticated encryption for data at rest: the two AEADs a store may use
 * (ChaCha20-Poly1305 and AES-256-GCM, 32-byte keys, 12-byte nonces, 16-byte
 * tags), HKDF-SHA256 for per-block keys, and random bytes. @noble/ciphers
 * is the portable implementation and the oracle every faster path is
 * checked against byte for byte; a runtime's own synchronous `node:crypto`
 * is used where it is faster. The pieces: aead-sizes.ts (sizes and argument
 * checks), aead-noble.ts and aead-native.ts (the providers), aead-choice.ts
 * (which one per runtime and cipher, as detect.ts picks a filesystem).
 */
import { chooseCrypto, fallbackLoaded, loadFallback } from "./aead-choice.ts";
import { nodeCryptoModule } from "./aead-native.ts";

export { nodeCrypto } from "./aead-native.ts";
export { KEY_BYTES, NONCE_BYTES, TAG_BYTES } from "./aead-sizes.ts";

/** The ciphers a store may be sealed with, as nats-server names them. */
export type CipherName = "chacha20-poly1305" | "aes-256-gcm";

/**
 * One AEAD. Both directions are synchronous and leave their inputs untouched;
 * a key of other than 32 bytes or a nonce of other than 12 throws a RangeError.
 */
export interface Aead {
  /** Seals `plaintext` under (`key`, `nonce`), authenticating `aad` too: ciphertext then the 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * Opens what `seal` returned; null when the tag does not match (wrong key,
   * damaged bytes). Both return memory of their own, never a view into a
   * Buffer pool shared with unrelated data.
   */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
}

/** Where a runtime's AEADs come from. */
export interface CryptoProvider {
  /** For reports and benchmarks: "@noble/ciphers", "node:crypto", … */
  readonly name: string;
  aead(cipher: CipherName): Aead;
}

// Chosen on first use, not at import: the choice seals a probe with each
// candidate, which a process that never encrypts need not pay for.
let automatic: ReturnType<typeof chooseCrypto> | undefined;
let chosen: CryptoProvider | undefined;

function automaticChoice(): ReturnType<typeof chooseCrypto> {
  automatic ??= chooseCrypto();
  return automatic;
}

/**
 * Makes `defaultCrypto()` ready to seal: imports @noble/ciphers when this
 * runtime has no working cipher of its own for one of the two (none of
 * Node, Bun and Deno needs it). Every path that unwraps or wraps a data key
 * with the caller's key awaits it first (open, restore, rekey, `jetstore
 * verify`); callers of the synchronous `verifyStore` with a key must, where
 * it is needed (exported from jetstore).
 */
export async function prepareCrypto(): Promise<void> {
  if (automaticChoice().fallback) await loadFallback();
}

/**
 * Whether `defaultCrypto()` can seal and open both ciphers now, without
 * awaiting `prepareCrypto()`: a synchronous caller (`verifyStore`) cannot
 * import @noble/ciphers itself, so it asks this first and refuses with a
 * typed error instead of failing halfway through with ErrInternal.
 */
export function cryptoReady(): boolean {
  if (chosen !== undefined && chosen !== automatic?.provider) return true;
  return !automaticChoice().fallback || fallbackLoaded();
}

/** The provider stores use in this runtime: the fastest that works here, per cipher, unless replaced. */
export function defaultCrypto(): CryptoProvider {
  chosen ??= automaticChoice().provider;
  return chosen;
}

/** Replaces the provider stores use (tests record every seal through it); returns the previous one. */
export function setDefaultCrypto(provider: CryptoProvider): CryptoProvider {
  const previous = defaultCrypto();
  chosen = provider;
  return previous;
}

/**
 * Which provider this runtime picks for each cipher (its name), for reports
 * such as the README's table. The automatic choice: a provider installed by
 * `setDefaultCrypto` does not change it.
 */
export function cryptoChoice(): Record<CipherName, string> {
  return { ...automaticChoice().choice };
}

/** HKDF-SHA256 (RFC 5869): `length` bytes of key from `ikm`, `salt` and `info`. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(nodeCryptoModule().hkdfSync("sha256", ikm, salt, info, length));
}

/** `n` bytes from the runtime's cryptographic random source. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}
