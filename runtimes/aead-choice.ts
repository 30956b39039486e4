/**
 * Which provider seals each cipher in this runtime. The order of preference
 * per runtime comes from `bench/aead.ts`, 256 B to 64 KiB, seal and open:
 * where node:crypto has a cipher it beat @noble/ciphers at every size, by
 * at least 2× at 256 B (where creating the cipher object dominates) and at
 * least 3× from 4 KiB up (Deno's ChaCha the closest, Bun's AES the farthest,
 * over 50×). Issue 13's quiet-machine figures at 16 KiB agree:
 *
 * - Node: node:crypto for both (OpenSSL, ~1.4–1.7 GB/s; noble ~170 and ~50 MiB/s).
 * - Bun: node:crypto for AES-256-GCM (BoringSSL, ~3.8 GB/s); its node:crypto
 *   has no ChaCha20-Poly1305, so that one runs in the WASM core's kernel
 *   (src/at-rest/chacha-wasm.ts, 4–7× noble there: `npm run bench:chacha`).
 * - Deno: node:crypto for both; its AES-256-GCM is slow (~200 MiB/s) but
 *   still four times noble's.
 *
 * A preferred provider is used only after it proves itself here: it must
 * exist, seal a fixed input to the same bytes as @noble/ciphers, open them
 * and refuse a flipped tag. Anything else (a missing cipher, a polyfill that
 * drifts, an exception) falls back to @noble/ciphers, which always works.
 * Runtimes are told apart as in detect.ts: Deno first, then Bun, then Node,
 * since Bun and Deno both fill in `process.versions.node`.
 */

import { wasmCrypto } from "../src/at-rest/chacha-wasm.ts";
import type { CipherName, CryptoProvider } from "./aead.ts";
import { nodeCrypto } from "./aead-native.ts";
import { nobleCrypto } from "./aead-noble.ts";
import { KEY_BYTES, NONCE_BYTES } from "./aead-sizes.ts";

export type RuntimeName = "node" | "bun" | "deno";

export const CIPHERS: readonly CipherName[] = ["chacha20-poly1305", "aes-256-gcm"];

/** The runtime we are running in: Deno, Bun, or else Node. */
export function currentRuntime(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

// Fastest first; @noble/ciphers is the implicit last resort everywhere.
const PREFERENCE: Record<RuntimeName, Record<CipherName, readonly CryptoProvider[]>> = {
  node: { "chacha20-poly1305": [nodeCrypto], "aes-256-gcm": [nodeCrypto] },
  bun: { "chacha20-poly1305": [nodeCrypto, wasmCrypto], "aes-256-gcm": [nodeCrypto] },
  deno: { "chacha20-poly1305": [nodeCrypto], "aes-256-gcm": [nodeCrypto] },
};

/**
 * Whether `provider` runs `cipher` here and agrees with @noble/ciphers. The
 * probe is 100 bytes, so its tag covers a partial block of each cipher.
 */
export function worksHere(provider: CryptoProvider, cipher: CipherName): boolean {
  if (provider === nobleCrypto) return true;
  try {
    const key = new Uint8Array(KEY_BYTES).map((_, i) => i * 7 + 1);
    const nonce = new Uint8Array(NONCE_BYTES).map((_, i) => 0xa0 + i);
    const aad = new Uint8Array([1, 2, 3]);
    const plaintext = new Uint8Array(100).map((_, i) => i);
    const want = nobleCrypto.aead(cipher).seal(key, nonce, plaintext, aad);
    const aead = provider.aead(cipher);
    const got = aead.seal(key, nonce, plaintext, aad);
    if (!sameBytes(got, want)) return false;
    const opened = aead.open(key, nonce, want, aad);
    if (opened === null || !sameBytes(opened, plaintext)) return false;
    want[want.length - 1] ^= 1;
    return aead.open(key, nonce, want, aad) === null;
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The ciphers the runtime's `node:crypto` handles correctly here. */
export function nativeCiphers(): CipherName[] {
  return CIPHERS.filter((cipher) => worksHere(nodeCrypto, cipher));
}

/** A provider that takes each cipher from its own provider. */
function composite(parts: Record<CipherName, CryptoProvider>): CryptoProvider {
  const chacha = parts["chacha20-poly1305"];
  const aes = parts["aes-256-gcm"];
  if (chacha === aes) return chacha;
  const aeads = {
    "chacha20-poly1305": chacha.aead("chacha20-poly1305"),
    "aes-256-gcm": aes.aead("aes-256-gcm"),
  };
  return {
    name: `${aes.name} (aes-256-gcm) + ${chacha.name} (chacha20-poly1305)`,
    aead: (cipher) => aeads[cipher],
  };
}

/** What `runtime` would use for each cipher, given what works here, and the provider combining them. */
export function chooseCrypto(runtime: RuntimeName = currentRuntime()): {
  provider: CryptoProvider;
  choice: Record<CipherName, string>;
} {
  const pick = (cipher: CipherName) =>
    PREFERENCE[runtime][cipher].find((p) => worksHere(p, cipher)) ?? nobleCrypto;
  const parts = {
    "chacha20-poly1305": pick("chacha20-poly1305"),
    "aes-256-gcm": pick("aes-256-gcm"),
  };
  return {
    provider: composite(parts),
    choice: {
      "chacha20-poly1305": parts["chacha20-poly1305"].name,
      "aes-256-gcm": parts["aes-256-gcm"].name,
    },
  };
}
