/**
 * The sizes every AEAD provider shares, and the one check of key and nonce
 * they all make. A leaf module, so providers can import it without a cycle
 * through aead.ts, which imports them to choose one.
 */

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/**
 * Throws a RangeError unless `key` is 32 bytes and `nonce` 12. Checked by
 * every provider alike because the libraries disagree on what else they
 * accept: @noble/ciphers' gcm would run AES-128 on a 16-byte key and take
 * any nonce of 8 bytes or more; node:crypto takes GCM nonces of any length.
 * A store passing a wrong size is a bug, not damage, so this throws where
 * `open` returns null.
 */
export function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`AEAD key must be a ${KEY_BYTES}-byte Uint8Array`);
  }
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) {
    throw new RangeError(`AEAD nonce must be a ${NONCE_BYTES}-byte Uint8Array`);
  }
}
