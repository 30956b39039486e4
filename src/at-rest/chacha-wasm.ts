/**
 * ChaCha20-Poly1305 (RFC 8439) over the WebAssembly core: the fast path
 * where a runtime has no native one (Bun), byte-identical to
 * @noble/ciphers. Two layers: `chachaSealAt` / `chachaOpenAt` work on bytes
 * already in core memory and copy nothing; `wasmChaCha20Poly1305` is the
 * `Aead` for plain Uint8Arrays, copying through a scratch region of core
 * memory (whose key bytes it zeroes after every call).
 */

import type { Aead, CryptoProvider } from "../../runtimes/aead.ts";
import { checkKeyAndNonce } from "../../runtimes/aead-sizes.ts";
import { checkPointer, describe } from "../codec/validate.ts";
import { invalidArgument } from "../errors.ts";
import { getCore, type WasmCore } from "../wasm/core.ts";

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Scratch layout: key, nonce (padded to 16), then AAD and the message, each 16-aligned. */
const NONCE_AT = KEY_BYTES;
const AAD_AT = 48;

/**
 * Seals `len` bytes at `src` of `core`'s memory under the key (32 bytes at
 * `key`) and nonce (12 bytes at `nonce`), authenticating `aadLen` bytes at
 * `aad`; writes `len + 16` bytes (ciphertext, tag) at `dst`. `dst` may equal
 * `src`, but must not otherwise overlap `src` or the AAD.
 */
export function chachaSealAt(
  core: WasmCore,
  key: number,
  nonce: number,
  aad: number,
  aadLen: number,
  src: number,
  len: number,
  dst: number,
): void {
  checkCall(core, key, nonce, aad, aadLen, src, len, dst, len + TAG_BYTES);
  core.abi.chachaSeal(key, nonce, aad, aadLen, src, len, dst);
}

/**
 * Opens `sealedLen` bytes at `src` (ciphertext, tag) of `core`'s memory:
 * true with the `sealedLen - 16` plaintext bytes written at `dst`, or false
 * (wrong key, nonce or AAD, damaged bytes, shorter than a tag) with nothing
 * written. `dst` may equal `src`, but must not otherwise overlap `src` or
 * the AAD.
 */
export function chachaOpenAt(
  core: WasmCore,
  key: number,
  nonce: number,
  aad: number,
  aadLen: number,
  src: number,
  sealedLen: number,
  dst: number,
): boolean {
  checkCall(core, key, nonce, aad, aadLen, src, sealedLen, dst, Math.max(0, sealedLen - TAG_BYTES));
  return core.abi.chachaOpen(key, nonce, aad, aadLen, src, sealedLen, dst) === 1;
}

function checkCall(
  core: WasmCore,
  key: number,
  nonce: number,
  aad: number,
  aadLen: number,
  src: number,
  srcLen: number,
  dst: number,
  dstLen: number,
): void {
  const size = core.u8.length;
  checkRange(key, KEY_BYTES, size);
  checkRange(nonce, NONCE_BYTES, size);
  checkRange(aad, aadLen, size);
  checkRange(src, srcLen, size);
  checkRange(dst, dstLen, size);
  // The core reads the AAD and (when sealing) the ciphertext after it writes.
  if (dst !== src && overlaps(dst, dstLen, src, srcLen))
    throw invalidArgument("The output overlaps the input without starting at it");
  if (overlaps(dst, dstLen, aad, aadLen)) throw invalidArgument("The output overlaps the AAD");
}

function checkRange(ptr: number, len: number, memorySize: number): void {
  if (!Number.isSafeInteger(len) || len < 0 || len > 0x7fff_0000)
    throw invalidArgument(`Length ${describe(len)} is not a byte count`);
  // An empty range is never read, so any address in memory will do.
  if (len === 0 && Number.isSafeInteger(ptr) && ptr >= 0 && ptr <= memorySize) return;
  checkPointer(ptr, len, memorySize);
}

function overlaps(a: number, aLen: number, b: number, bLen: number): boolean {
  return aLen > 0 && bLen > 0 && a < b + bLen && b < a + aLen;
}

/** The `Aead` over one core: copies in, seals or opens in place, copies out. */
class WasmChaCha implements Aead {
  private readonly core: WasmCore;
  private scratch = 0;
  private scratchSize = 0;

  constructor(core: WasmCore) {
    this.core = core;
  }

  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkArgs(key, nonce, plaintext, aad);
    const ptr = this.load(key, nonce, aad, plaintext, TAG_BYTES);
    const msg = ptr + messageAt(aad.length);
    const len = plaintext.length;
    try {
      this.core.abi.chachaSeal(ptr, ptr + NONCE_AT, ptr + AAD_AT, aad.length, msg, len, msg);
      return this.core.u8.slice(msg, msg + len + TAG_BYTES);
    } finally {
      this.core.u8.fill(0, ptr, ptr + KEY_BYTES);
    }
  }

  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
    checkArgs(key, nonce, sealed, aad);
    if (sealed.length < TAG_BYTES) return null;
    const ptr = this.load(key, nonce, aad, sealed, 0);
    const msg = ptr + messageAt(aad.length);
    const len = sealed.length;
    try {
      const ok = this.core.abi.chachaOpen(
        ptr,
        ptr + NONCE_AT,
        ptr + AAD_AT,
        aad.length,
        msg,
        len,
        msg,
      );
      return ok === 1 ? this.core.u8.slice(msg, msg + len - TAG_BYTES) : null;
    } finally {
      this.core.u8.fill(0, ptr, ptr + KEY_BYTES);
    }
  }

  /** Copies the inputs into scratch (with `extra` bytes of room after the message); returns its address. */
  private load(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    message: Uint8Array,
    extra: number,
  ): number {
    const at = messageAt(aad.length);
    const ptr = this.reserve(at + message.length + extra);
    const u8 = this.core.u8;
    u8.set(key, ptr);
    u8.set(nonce, ptr + NONCE_AT);
    u8.set(aad, ptr + AAD_AT);
    u8.set(message, ptr + at);
    return ptr;
  }

  private reserve(size: number): number {
    if (size > this.scratchSize) {
      if (this.scratch !== 0) this.core.free(this.scratch);
      this.scratch = 0;
      const want = Math.max(65536, 2 ** Math.ceil(Math.log2(size)));
      this.scratch = this.core.alloc(want);
      this.scratchSize = want;
    }
    return this.scratch;
  }
}

/** Offset of the message in scratch: after the AAD, 16-aligned for the core's vector loads. */
function messageAt(aadLen: number): number {
  return AAD_AT + ((aadLen + 15) & ~15);
}

function checkArgs(key: unknown, nonce: unknown, message: unknown, aad: unknown): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES)
    throw invalidArgument(`Key must be a ${KEY_BYTES}-byte Uint8Array`);
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES)
    throw invalidArgument(`Nonce must be a ${NONCE_BYTES}-byte Uint8Array, not ${describe(nonce)}`);
  if (!(message instanceof Uint8Array))
    throw invalidArgument(`Message must be a Uint8Array, not ${describe(message)}`);
  if (!(aad instanceof Uint8Array))
    throw invalidArgument(`AAD must be a Uint8Array, not ${describe(aad)}`);
}

const perCore = new Map<WasmCore, Aead>();

/** The ChaCha20-Poly1305 `Aead` over `core` (one per core; tests use the debug build). */
export function wasmChaCha20Poly1305For(core: WasmCore): Aead {
  let aead = perCore.get(core);
  if (aead === undefined) {
    aead = new WasmChaCha(core);
    perCore.set(core, aead);
  }
  return aead;
}

/** ChaCha20-Poly1305 over the release core, instantiated on first use. */
export const wasmChaCha20Poly1305: Aead = {
  seal: (key, nonce, plaintext, aad) => {
    checkKeyAndNonce(key, nonce);
    return wasmChaCha20Poly1305For(getCore()).seal(key, nonce, plaintext, aad);
  },
  open: (key, nonce, sealed, aad) => {
    checkKeyAndNonce(key, nonce);
    return wasmChaCha20Poly1305For(getCore()).open(key, nonce, sealed, aad);
  },
};

/**
 * ChaCha20-Poly1305 from the core, for runtimes without it natively. It has
 * no AES-256-GCM: asking for it throws a RangeError (aead-choice.ts then
 * looks further).
 */
export const wasmCrypto: CryptoProvider = {
  name: "jetstore wasm",
  aead: (cipher) => {
    if (cipher === "chacha20-poly1305") return wasmChaCha20Poly1305;
    throw new RangeError(`the WebAssembly core has no ${cipher}`);
  },
};
