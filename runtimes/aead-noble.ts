/**
 * @noble/ciphers: the portable AEADs, in plain JavaScript. They run in every
 * runtime and are the oracle every faster path is checked against byte for
 * byte; they are the fallback wherever a runtime has no working native path.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { Aead, CryptoProvider } from "./aead.ts";
import { checkKeyAndNonce, TAG_BYTES } from "./aead-sizes.ts";

function nobleAead(make: typeof chacha20poly1305 | typeof gcm): Aead {
  return {
    seal(key, nonce, plaintext, aad) {
      checkKeyAndNonce(key, nonce);
      return make(key, nonce, aad).encrypt(plaintext);
    },
    open(key, nonce, sealed, aad) {
      checkKeyAndNonce(key, nonce);
      if (!(sealed instanceof Uint8Array) || sealed.length < TAG_BYTES) return null;
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
