/**
 * The runtime's own synchronous `node:crypto` AEADs (OpenSSL under Node,
 * BoringSSL under Bun, Rust under Deno). Whether a cipher exists, and is
 * faster than @noble/ciphers, differs per runtime; aead-choice.ts decides,
 * this module only wraps `createCipheriv` / `createDecipheriv`.
 */
import type { Aead, CipherName, CryptoProvider } from "./aead.ts";
import { checkKeyAndNonce, TAG_BYTES } from "./aead-sizes.ts";
import { builtinModule } from "./builtin.ts";

interface AeadStream {
  setAAD(aad: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/**
 * What jetstore uses of `node:crypto`, spelled out so the declarations it
 * ships need no Node types.
 */
interface NodeCrypto {
  createCipheriv(
    cipher: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): AeadStream & { getAuthTag(): Uint8Array };
  createDecipheriv(
    cipher: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): AeadStream & { setAuthTag(tag: Uint8Array): unknown };
  hkdfSync(
    digest: string,
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number,
  ): ArrayBuffer;
}

let loaded: NodeCrypto | undefined;

/**
 * `node:crypto`, loaded on first use (builtin.ts): a static import cost every
 * import of jetstore ~3 ms under Node (a tenth of it), for stores that may
 * never encrypt.
 */
export function nodeCryptoModule(): NodeCrypto {
  loaded ??= builtinModule<NodeCrypto>("node:crypto");
  return loaded;
}

// One options object for every call: a fresh literal per call is measurable
// at 256-byte inputs.
const OPTIONS = { authTagLength: TAG_BYTES };

/**
 * A Uint8Array over `out` that shares no memory with anyone else. Node and
 * Deno hand small outputs out of an 8 KiB pool slab shared with unrelated
 * Buffers, so those are copied; a Buffer that owns its store (allowing Bun's
 * one spare byte at the end) is reused as is, which saves a copy per
 * decryption of a large chunk.
 */
function ownBytes(out: Uint8Array): Uint8Array {
  if (out.byteOffset === 0 && out.buffer.byteLength - out.byteLength <= TAG_BYTES) {
    return new Uint8Array(out.buffer, 0, out.byteLength);
  }
  // Not out.slice(): on a Buffer that is a view, not a copy.
  return new Uint8Array(out);
}

function nativeAead(name: CipherName): Aead {
  return {
    seal(key, nonce, plaintext, aad) {
      checkKeyAndNonce(key, nonce);
      const c = nodeCryptoModule().createCipheriv(name, key, nonce, OPTIONS);
      c.setAAD(aad);
      const body = c.update(plaintext);
      // final() yields nothing for these stream-mode AEADs, but must run before getAuthTag.
      c.final();
      const tag = c.getAuthTag();
      // One allocation of the exact size; Buffer.concat would add a pool detour.
      const out = new Uint8Array(body.length + TAG_BYTES);
      out.set(body, 0);
      out.set(tag, body.length);
      return out;
    },
    open(key, nonce, sealed, aad) {
      checkKeyAndNonce(key, nonce);
      if (!(sealed instanceof Uint8Array) || sealed.length < TAG_BYTES) return null;
      const split = sealed.length - TAG_BYTES;
      try {
        const d = nodeCryptoModule().createDecipheriv(name, key, nonce, OPTIONS);
        d.setAAD(aad);
        d.setAuthTag(sealed.subarray(split));
        const body = d.update(sealed.subarray(0, split));
        // Throws when the tag does not match; the unauthenticated body is dropped then.
        d.final();
        return ownBytes(body);
      } catch {
        return null;
      }
    },
  };
}

/**
 * Whether the runtime's `node:crypto` knows `cipher` at all (Bun's lacks
 * chacha20-poly1305). Existing is not enough to be used: aead-choice.ts also
 * checks it agrees with @noble/ciphers; tests check every cipher that exists.
 */
export function hasNativeCipher(cipher: CipherName): boolean {
  try {
    nodeCryptoModule().createCipheriv(cipher, new Uint8Array(32), new Uint8Array(12), OPTIONS);
    return true;
  } catch {
    return false;
  }
}

/**
 * The runtime's `node:crypto`. `aead` always answers, but a cipher the
 * runtime lacks (chacha20-poly1305 under Bun) throws on first use; see
 * `hasNativeCipher`, and `nativeCiphers` in aead-choice.ts for what is used.
 */
export const nodeCrypto: CryptoProvider = {
  name: "node:crypto",
  aead: (cipher) => (cipher === "chacha20-poly1305" ? nativeChacha : nativeGcm),
};
const nativeChacha = nativeAead("chacha20-poly1305");
const nativeGcm = nativeAead("aes-256-gcm");
