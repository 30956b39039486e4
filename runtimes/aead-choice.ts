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
 * exist, seal a fixed input to the bytes @noble/ciphers seals it to (a
 * known answer kept here, which a test checks against @noble/ciphers), open
 * them and refuse a flipped tag. Anything else (a missing cipher, a polyfill
 * that drifts, an exception) falls back to @noble/ciphers, which always
 * works. @noble/ciphers is not imported until a fallback needs it
 * (`loadFallback`): building its AES tables took a quarter of importing
 * jetstore, in runtimes that all have a faster cipher of their own.
 * Runtimes are told apart as in detect.ts: Deno first, then Bun, then Node,
 * since Bun and Deno both fill in `process.versions.node`.
 */

import { wasmCrypto } from "../src/at-rest/chacha-wasm.ts";
import { JetStoreError } from "../src/errors.ts";
import type { Aead, CipherName, CryptoProvider } from "./aead.ts";
import { nodeCrypto } from "./aead-native.ts";
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

let noble: CryptoProvider | null = null;

/** Imports @noble/ciphers for `nobleFallback`; done once. */
export async function loadFallback(): Promise<void> {
  if (noble !== null) return;
  try {
    noble = (await import("./aead-noble.ts")).nobleCrypto;
  } catch (err) {
    // A bundle or install without the dependency: the caller gets a code, not the loader's error.
    const { choice } = chooseCrypto();
    const lacking = CIPHERS.filter((cipher) => choice[cipher] === nobleFallback.name);
    throw new JetStoreError(
      "ErrNotImplemented",
      `this runtime has no working ${lacking.join(" or ")} of its own, and @noble/ciphers, the fallback, cannot be imported (${String((err as Error)?.message ?? err)})`,
      { cause: err },
    );
  }
}

/** Whether `loadFallback` has run: `nobleFallback` seals only then. */
export function fallbackLoaded(): boolean {
  return noble !== null;
}

function loadedNoble(): CryptoProvider {
  if (noble === null) {
    throw new JetStoreError(
      "ErrInternal",
      "this runtime has no working cipher of its own and @noble/ciphers was not loaded: open the store with FileStore.open, restore or rekey first",
    );
  }
  return noble;
}

function nobleAead(cipher: CipherName): Aead {
  return {
    seal: (key, nonce, plaintext, aad) =>
      loadedNoble().aead(cipher).seal(key, nonce, plaintext, aad),
    open: (key, nonce, sealed, aad) => loadedNoble().aead(cipher).open(key, nonce, sealed, aad),
  };
}

/**
 * @noble/ciphers once `loadFallback` has imported it; until then its AEADs
 * throw ErrInternal. The provider of last resort for a cipher no preferred one runs.
 */
export const nobleFallback: CryptoProvider = {
  name: "@noble/ciphers",
  aead: (cipher) => (cipher === "chacha20-poly1305" ? nobleChacha : nobleGcm),
};
const nobleChacha = nobleAead("chacha20-poly1305");
const nobleGcm = nobleAead("aes-256-gcm");

// Fastest first; @noble/ciphers is the implicit last resort everywhere.
const PREFERENCE: Record<RuntimeName, Record<CipherName, readonly CryptoProvider[]>> = {
  node: { "chacha20-poly1305": [nodeCrypto], "aes-256-gcm": [nodeCrypto] },
  bun: { "chacha20-poly1305": [nodeCrypto, wasmCrypto], "aes-256-gcm": [nodeCrypto] },
  deno: { "chacha20-poly1305": [nodeCrypto], "aes-256-gcm": [nodeCrypto] },
};

/**
 * The probe: 100 bytes, so its tag covers a partial block of each cipher.
 * `sealed` is what @noble/ciphers seals it to (test/suites/aead.ts checks).
 */
export const KNOWN_ANSWER = {
  key: () => new Uint8Array(KEY_BYTES).map((_, i) => i * 7 + 1),
  nonce: () => new Uint8Array(NONCE_BYTES).map((_, i) => 0xa0 + i),
  aad: () => new Uint8Array([1, 2, 3]),
  plaintext: () => new Uint8Array(100).map((_, i) => i),
  sealed: {
    "chacha20-poly1305":
      "719a86a9269fda8ad7f00f83920cb0084dc1252bd4ef20df77748c7fbec352b3a8b4d6a7e31c509e75a4422f5e4a2bfbf16b61a56eef2491a13613423fccd4184737627f6963137ab83805e4b0c714c75947a20120e5c68e407007e445d9dfe87aff4cf76841222e3f5478517e0a5ea26361ce2d",
    "aes-256-gcm":
      "517ee593a3811daa1ea0311cd6d9961e9588ae2682460f88724a82be5e831bd9062f094dc85abc51110d2b8282e4f0a0ff3e8cbdbef26c2a1627730c645f58f8f6f3519453f0e55817423924efb466442426858d118f6050a8571ae1ace0ddf0ad043e8bab921f680ebcc079f9b5d16127b59419",
  } satisfies Record<CipherName, string>,
};

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Whether `provider` runs `cipher` here and agrees with @noble/ciphers on the known answer. */
export function worksHere(provider: CryptoProvider, cipher: CipherName): boolean {
  if (provider === nobleFallback) return true;
  try {
    const key = KNOWN_ANSWER.key();
    const nonce = KNOWN_ANSWER.nonce();
    const aad = KNOWN_ANSWER.aad();
    const plaintext = KNOWN_ANSWER.plaintext();
    const want = fromHex(KNOWN_ANSWER.sealed[cipher]);
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

/**
 * What `runtime` would use for each cipher, given what works here, and the
 * provider combining them; `fallback` when @noble/ciphers is in it (then
 * `loadFallback` must have run before it seals).
 */
export function chooseCrypto(runtime: RuntimeName = currentRuntime()): {
  provider: CryptoProvider;
  choice: Record<CipherName, string>;
  fallback: boolean;
} {
  const pick = (cipher: CipherName) =>
    PREFERENCE[runtime][cipher].find((p) => worksHere(p, cipher)) ?? nobleFallback;
  const parts = {
    "chacha20-poly1305": pick("chacha20-poly1305"),
    "aes-256-gcm": pick("aes-256-gcm"),
  };
  return {
    provider: composite(parts),
    fallback: CIPHERS.some((cipher) => parts[cipher] === nobleFallback),
    choice: {
      "chacha20-poly1305": parts["chacha20-poly1305"].name,
      "aes-256-gcm": parts["aes-256-gcm"].name,
    },
  };
}
