/**
 * ChaCha20-Poly1305 in the WASM core (src/at-rest/chacha-wasm.ts over
 * assembly/chacha20poly1305.ts) must seal exactly as @noble/ciphers does, or
 * blocks sealed on one runtime will not open on another. Checked, on both
 * builds of the core and through both layers (the `Aead` on Uint8Arrays and
 * the kernel on core pointers, at odd addresses, in place and not): RFC 8439's
 * test vectors; byte equality with noble for every length 0 … 1100 (each
 * path through the 4-block groups, the 192-byte head and the tail), random
 * lengths to 200,000 and AAD to 300 bytes; all-0xff inputs, which drive every
 * Poly1305 carry to its bound; opening noble's output; and that any flipped
 * bit of ciphertext, tag, AAD, nonce or key fails the open.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import fc from "fast-check";
import type { Aead } from "../../runtimes/aead.ts";
import {
  chachaOpenAt,
  chachaSealAt,
  wasmChaCha20Poly1305,
  wasmChaCha20Poly1305For,
  wasmCrypto,
} from "../../src/at-rest/chacha-wasm.ts";
import { getCore, type WasmCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, failure } from "./core-variants.ts";
import { randomBytes } from "./xxhash.ts";

const hex = (text: string): Uint8Array =>
  Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const toHex = (bytes: Uint8Array | null): string =>
  bytes === null ? "null" : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

const noble = (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) =>
  chacha20poly1305(key, nonce, aad).encrypt(plaintext);

/**
 * The kernel on core pointers, as a store with its bytes in core memory calls
 * it: every input at an odd address `misalign` bytes past an allocation, the
 * output in place over the input or in a separate range.
 */
function pointerAead(core: WasmCore, misalign: number, inPlace: boolean): Aead {
  const run = <T>(
    key: Uint8Array,
    nonce: Uint8Array,
    input: Uint8Array,
    aad: Uint8Array,
    body: (k: number, n: number, a: number, src: number, dst: number) => T,
  ): T => {
    const base = core.alloc(32 + 12 + aad.length + 2 * (input.length + 16) + 64);
    try {
      const k = base + misalign;
      const n = k + 32 + 3;
      const a = n + 12 + 5;
      const src = a + aad.length + 7;
      const dst = inPlace ? src : src + input.length + 16 + 1;
      const u8 = core.u8;
      u8.set(key, k);
      u8.set(nonce, n);
      u8.set(aad, a);
      u8.set(input, src);
      return body(k, n, a, src, dst);
    } finally {
      core.free(base);
    }
  };
  return {
    seal: (key, nonce, plaintext, aad) =>
      run(key, nonce, plaintext, aad, (k, n, a, src, dst) => {
        chachaSealAt(core, k, n, a, aad.length, src, plaintext.length, dst);
        return core.u8.slice(dst, dst + plaintext.length + 16);
      }),
    open: (key, nonce, sealed, aad) =>
      run(key, nonce, sealed, aad, (k, n, a, src, dst) => {
        const ok = chachaOpenAt(core, k, n, a, aad.length, src, sealed.length, dst);
        return ok ? core.u8.slice(dst, dst + sealed.length - 16) : null;
      }),
  };
}

/** Every way to reach the kernel, by name. */
function implementations(): { name: string; aead: Aead }[] {
  return [
    { name: "wasmChaCha20Poly1305", aead: wasmChaCha20Poly1305 },
    ...CORE_VARIANTS.flatMap((variant) => {
      const core = getCore(variant);
      return [
        { name: `Aead, ${variant} core`, aead: wasmChaCha20Poly1305For(core) },
        { name: `pointers in place, ${variant} core`, aead: pointerAead(core, 1, true) },
        { name: `pointers apart, ${variant} core`, aead: pointerAead(core, 3, false) },
      ];
    }),
  ];
}

export function chachaWasmSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  const impls = implementations();

  /** Seals with every implementation and noble, compares, and opens noble's output. */
  const agree = (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => {
    const want = noble(key, nonce, plaintext, aad);
    for (const { name, aead } of impls) {
      const sealed = aead.seal(key, nonce, plaintext, aad);
      if (toHex(sealed) !== toHex(want)) {
        expect({ name, length: plaintext.length, aad: aad.length, sealed: toHex(sealed) }).toEqual({
          name,
          length: plaintext.length,
          aad: aad.length,
          sealed: toHex(want),
        });
      }
      const opened = aead.open(key, nonce, want, aad);
      if (toHex(opened) !== toHex(plaintext)) {
        expect({ name, length: plaintext.length, opened: toHex(opened) }).toEqual({
          name,
          length: plaintext.length,
          opened: toHex(plaintext),
        });
      }
    }
  };

  describe("chacha20-poly1305 in the WASM core", () => {
    it("seals RFC 8439's §2.8.2 example", () => {
      const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
      const nonce = hex("07000000 40414243 44454647");
      const aad = hex("50515253 c0c1c2c3 c4c5c6c7");
      const plaintext = new TextEncoder().encode(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
      );
      const want = hex(`
        d31a8d34648e60db7b86afbc53ef7ec2 a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b 1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58 fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b 6116
        1ae10b594f09e26a7e902ecbd0600691`);
      for (const { name, aead } of impls) {
        expect({ name, sealed: toHex(aead.seal(key, nonce, plaintext, aad)) }).toEqual({
          name,
          sealed: toHex(want),
        });
        expect({ name, opened: toHex(aead.open(key, nonce, want, aad)) }).toEqual({
          name,
          opened: toHex(plaintext),
        });
      }
    });

    it("opens RFC 8439's §A.5 example", () => {
      const key = hex("1c9240a5eb55d38af333888604f6b5f0 473917c1402b80099dca5cbc207075c0");
      const nonce = hex("000000000102030405060708");
      const aad = hex("f33388860000000000004e91");
      const sealed = hex(`
        64a0861575861af460f062c79be643bd 5e805cfd345cf389f108670ac76c8cb2
        4c6cfc18755d43eea09ee94e382d26b0 bdb7b73c321b0100d4f03b7f355894cf
        332f830e710b97ce98c8a84abd0b9481 14ad176e008d33bd60f982b1ff37c855
        9797a06ef4f0ef61c186324e2b350638 3606907b6a7c02b0f9f6157b53c867e4
        b9166c767b804d46a59b5216cde7a4e9 9040c5a40433225ee282a1b0a06c523e
        af4534d7f83fa1155b0047718cbc546a 0d072b04b3564eea1b422273f548271a
        0bb2316053fa76991955ebd63159434e cebb4e466dae5a1073a6727627097a10
        49e617d91d361094fa68f0ff77987130 305beaba2eda04df997b714d6c6f2c29
        a6ad5cb4022b02709b
        eead9d67890cbb22392336fea1851f38`);
      const text =
        "Internet-Drafts are draft documents valid for a maximum of six months and may be " +
        "updated, replaced, or obsoleted by other documents at any time. It is inappropriate " +
        "to use Internet-Drafts as reference material or to cite them other than as " +
        "/\u201cwork in progress./\u201d";
      for (const { name, aead } of impls) {
        const opened = aead.open(key, nonce, sealed, aad);
        expect({ name, text: opened && new TextDecoder().decode(opened) }).toEqual({ name, text });
        expect({ name, sealed: toHex(aead.seal(key, nonce, opened!, aad)) }).toEqual({
          name,
          sealed: toHex(sealed),
        });
      }
    });

    it("matches @noble/ciphers on every length 0 … 1100 with random keys, nonces and AAD", () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const all = randomBytes(1100 + 32 + 12 + 300, seed);
          for (let length = 0; length <= 1100; length++) {
            const at = 1100 + ((length * 7) % 32);
            const key = all.subarray(length % 1100, (length % 1100) + 32);
            const nonce = all.subarray(at, at + 12);
            const aad = all.subarray(at, at + ((length * 13) % 301));
            agree(key, nonce, all.subarray(0, length), aad);
          }
        }),
        { numRuns: 1 },
      );
    }, 120_000);

    it("matches @noble/ciphers on random lengths to 200,000 and inputs at odd offsets", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 200_000 }),
          fc.integer({ min: 0, max: 300 }),
          fc.nat(15),
          fc.integer(),
          (length, aadLength, offset, seed) => {
            const bytes = randomBytes(offset + length + aadLength + 44, seed);
            const plaintext = bytes.subarray(offset, offset + length);
            const aad = bytes.subarray(offset + length, offset + length + aadLength);
            const key = bytes.subarray(
              offset + length + aadLength,
              offset + length + aadLength + 32,
            );
            const nonce = bytes.subarray(bytes.length - 12);
            agree(key, nonce, plaintext, aad);
          },
        ),
        { numRuns: 8 },
      );
    }, 120_000);

    it("matches @noble/ciphers where every Poly1305 limb and carry is at its maximum", () => {
      const ones = new Uint8Array(1100 + 300).fill(0xff);
      for (let length = 0; length <= 1100; length += 1 + (length % 5)) {
        agree(
          ones.subarray(0, 32),
          ones.subarray(0, 12),
          ones.subarray(0, length),
          ones.subarray(0, length % 301),
        );
        // Ciphertext of all ones: the plaintext is the keystream itself.
        const key = ones.subarray(0, 32);
        const nonce = new Uint8Array(12);
        const keystream = noble(key, nonce, new Uint8Array(length), new Uint8Array(0));
        agree(
          key,
          nonce,
          keystream.subarray(0, length).map((b) => b ^ 0xff),
          ones.subarray(0, 16),
        );
      }
    }, 120_000);

    it("fails to open when any bit of ciphertext, tag, AAD, nonce or key is flipped", () => {
      const bytes = randomBytes(40 + 20 + 32 + 12, 0x5eed);
      const plaintext = bytes.subarray(0, 40);
      const aad = bytes.subarray(40, 60);
      const key = bytes.subarray(60, 92);
      const nonce = bytes.subarray(92);
      const sealed = noble(key, nonce, plaintext, aad);
      const flipped = (input: Uint8Array, bit: number) => {
        const copy = input.slice();
        copy[bit >> 3] ^= 1 << (bit & 7);
        return copy;
      };
      for (const { name, aead } of impls) {
        const opens: string[] = [];
        for (let bit = 0; bit < sealed.length * 8; bit++) {
          if (aead.open(key, nonce, flipped(sealed, bit), aad) !== null)
            opens.push(`sealed ${bit}`);
        }
        for (let bit = 0; bit < aad.length * 8; bit++) {
          if (aead.open(key, nonce, sealed, flipped(aad, bit)) !== null) opens.push(`aad ${bit}`);
        }
        for (let bit = 0; bit < 96; bit++) {
          if (aead.open(key, flipped(nonce, bit), sealed, aad) !== null) opens.push(`nonce ${bit}`);
        }
        for (let bit = 0; bit < 256; bit++) {
          if (aead.open(flipped(key, bit), nonce, sealed, aad) !== null) opens.push(`key ${bit}`);
        }
        expect({ name, opens }).toEqual({ name, opens: [] });
        // Shorter than a tag, or cut by a byte: nothing opens.
        expect(aead.open(key, nonce, sealed.subarray(0, 15), aad)).toBeNull();
        expect(aead.open(key, nonce, sealed.subarray(0, sealed.length - 1), aad)).toBeNull();
      }
    });

    it("fails to open a flipped bit anywhere in long messages, groups and tail alike", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 5000 }),
          fc.integer({ min: 0, max: 300 }),
          fc.nat(),
          fc.constantFrom("sealed", "aad", "nonce", "key"),
          fc.integer(),
          (length, aadLength, bitSeed, where, seed) => {
            const bytes = randomBytes(length + aadLength + 44, seed);
            const plaintext = bytes.subarray(0, length);
            const aad = bytes.subarray(length, length + aadLength);
            const key = bytes.subarray(length + aadLength, length + aadLength + 32);
            const nonce = bytes.subarray(length + aadLength + 32);
            const sealed = noble(key, nonce, plaintext, aad);
            const inputs = { sealed, aad, nonce, key };
            const target = inputs[where as keyof typeof inputs];
            if (target.length === 0) return;
            const bit = bitSeed % (target.length * 8);
            const bad = target.slice();
            bad[bit >> 3] ^= 1 << (bit & 7);
            const args = { ...inputs, [where]: bad };
            for (const { name, aead } of impls) {
              const opened = aead.open(args.key, args.nonce, args.sealed, args.aad);
              expect({ name, where, bit, opened: toHex(opened) }).toEqual({
                name,
                where,
                bit,
                opened: "null",
              });
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it("leaves zeros, not plaintext, where a failed open wrote", () => {
      for (const variant of CORE_VARIANTS) {
        const core = getCore(variant);
        const key = randomBytes(32, 1);
        const nonce = randomBytes(12, 2);
        const plaintext = randomBytes(3000, 3);
        const sealed = noble(key, nonce, plaintext, new Uint8Array(0));
        sealed[sealed.length - 1] ^= 1;
        const ptr = core.alloc(64 + sealed.length);
        core.u8.set(key, ptr);
        core.u8.set(nonce, ptr + 32);
        core.u8.set(sealed, ptr + 64);
        const ok = chachaOpenAt(core, ptr, ptr + 32, 0, 0, ptr + 64, sealed.length, ptr + 64);
        const written = core.u8.slice(ptr + 64, ptr + 64 + plaintext.length);
        core.free(ptr);
        expect({ variant, ok, nonZero: written.some((b) => b !== 0) }).toEqual({
          variant,
          ok: false,
          nonZero: false,
        });
      }
    });

    it("refuses bad arguments with typed errors", () => {
      const aead = wasmChaCha20Poly1305;
      const key = new Uint8Array(32);
      const nonce = new Uint8Array(12);
      const bytes = new Uint8Array(10);
      // Sizes are checked as every provider checks them (runtimes/aead-sizes.ts): a RangeError.
      for (const [what, fn] of [
        ["short key", () => aead.seal(new Uint8Array(31), nonce, bytes, bytes)],
        ["long nonce", () => aead.seal(key, new Uint8Array(13), bytes, bytes)],
      ] as const) {
        let thrown: unknown = null;
        try {
          fn();
        } catch (err) {
          thrown = err;
        }
        expect({ what, range: thrown instanceof RangeError }).toEqual({ what, range: true });
      }
      const bad: [string, () => unknown][] = [
        ["array plaintext", () => aead.seal(key, nonce, [1, 2] as unknown as Uint8Array, bytes)],
        ["missing aad", () => aead.open(key, nonce, bytes, undefined as unknown as Uint8Array)],
      ];
      for (const [what, fn] of bad) {
        expect({ what, code: failure(fn).code }).toEqual({ what, code: "ErrInvalidArgument" });
      }
      const core = getCore();
      const ptr = core.alloc(256);
      const size = core.u8.length;
      const pointerCases: [string, () => unknown, string][] = [
        ["null key", () => chachaSealAt(core, 0, ptr, ptr, 0, ptr, 0, ptr), "ErrInvalidArgument"],
        [
          "past memory",
          () => chachaSealAt(core, ptr, ptr, ptr, 0, size - 4, 8, ptr + 64),
          "ErrOutOfRange",
        ],
        [
          "output overlaps input",
          () => chachaSealAt(core, ptr, ptr, ptr, 0, ptr + 64, 32, ptr + 65),
          "ErrInvalidArgument",
        ],
        [
          "output overlaps aad",
          () => chachaSealAt(core, ptr, ptr, ptr + 64, 16, ptr + 128, 16, ptr + 56),
          "ErrInvalidArgument",
        ],
        [
          "negative length",
          () => chachaOpenAt(core, ptr, ptr, ptr, 0, ptr, -1, ptr),
          "ErrInvalidArgument",
        ],
      ];
      for (const [what, fn, code] of pointerCases) {
        expect({ what, code: failure(fn).code }).toEqual({ what, code });
      }
      core.free(ptr);
    });

    it("is the chacha20-poly1305 of the wasm provider, which has no AES-256-GCM", () => {
      expect(wasmCrypto.aead("chacha20-poly1305")).toBe(wasmChaCha20Poly1305);
      expect(() => wasmCrypto.aead("aes-256-gcm")).toThrow(RangeError);
    });
  });
}
