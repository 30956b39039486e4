/**
 * The AEAD providers of runtimes/aead.ts. Sealed chunks must open forever
 * and under any runtime, so every provider this runtime has (node:crypto
 * where it works here, the per-cipher default) must produce exactly the
 * bytes @noble/ciphers does, open what the others sealed, refuse any change
 * to ciphertext, tag, nonce, AAD or key with null (never an exception), and
 * match the published vectors: RFC 8439 §2.8.2 for ChaCha20-Poly1305,
 * McGrew–Viega test cases 14 and 16 for AES-256-GCM, RFC 5869 cases 1–3 for
 * HKDF-SHA256. Also: random bytes, and which provider each runtime picks.
 */
import { spawn } from "node:child_process";
import fc from "fast-check";
import {
  type Aead,
  type CipherName,
  type CryptoProvider,
  cryptoChoice,
  defaultCrypto,
  hkdfSha256,
  nodeCrypto,
  randomBytes,
  setDefaultCrypto,
} from "../../runtimes/aead.ts";
import { CIPHERS, KNOWN_ANSWER, nativeCiphers } from "../../runtimes/aead-choice.ts";
import { hasNativeCipher } from "../../runtimes/aead-native.ts";
import { nobleCrypto } from "../../runtimes/aead-noble.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { childCommand } from "./filestore.ts";
import { randomBytes as pseudoRandomBytes } from "./xxhash.ts";

const hex = (s: string): Uint8Array =>
  new Uint8Array((s.replace(/\s+/g, "").match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
const toHex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
// Compared by hand, not by expect: element-wise matchers on 70 KB arrays dominate the run time.
const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const range = (from: number, count: number): Uint8Array =>
  new Uint8Array(count).map((_, i) => from + i);

interface Vector {
  cipher: CipherName;
  source: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  /** Ciphertext then tag. */
  sealed: string;
}

const VECTORS: Vector[] = [
  {
    cipher: "chacha20-poly1305",
    source: "RFC 8439 §2.8.2",
    key: toHex(range(0x80, 32)),
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: toHex(
      new TextEncoder().encode(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
      ),
    ),
    sealed: `d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
      1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
      3ff4def08e4b7a9de576d26586cec64b6116 1ae10b594f09e26a7e902ecbd0600691`,
  },
  {
    cipher: "aes-256-gcm",
    source: "McGrew–Viega test case 14",
    key: "00".repeat(32),
    nonce: "00".repeat(12),
    aad: "",
    plaintext: "00".repeat(16),
    sealed: "cea7403d4d606b6e074ec5d3baf39d18 d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    cipher: "aes-256-gcm",
    source: "McGrew–Viega test case 16",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    plaintext: `d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`,
    sealed: `522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
      8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662 76fc6ece0f4e1768cddf8853bb2d551b`,
  },
];

/** RFC 5869 appendix A, cases 1–3 (SHA-256). */
const HKDF_CASES = [
  {
    name: "case 1",
    ikm: "0b".repeat(22),
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "case 2 (longer inputs)",
    ikm: toHex(range(0x00, 80)),
    salt: toHex(range(0x60, 80)),
    info: toHex(range(0xb0, 80)),
    okm: `b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09
      da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87`,
  },
  {
    name: "case 3 (empty salt and info)",
    ikm: "0b".repeat(22),
    salt: "",
    info: "",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

interface Subject {
  name: string;
  cipher: CipherName;
  aead: Aead;
}

/** Every (provider, cipher) this runtime offers, the default included. */
function subjects(): Subject[] {
  const out: Subject[] = [];
  const add = (provider: CryptoProvider, ciphers: readonly CipherName[], label = provider.name) => {
    for (const cipher of ciphers) out.push({ name: label, cipher, aead: provider.aead(cipher) });
  };
  add(nobleCrypto, CIPHERS);
  // Every cipher node:crypto has, not only those the choice accepted: a
  // native path that drifted from noble must fail here, not hide behind the fallback.
  add(
    nodeCrypto,
    CIPHERS.filter((c) => hasNativeCipher(c)),
  );
  add(defaultCrypto(), CIPHERS, `default (${defaultCrypto().name})`);
  return out;
}

const oracle = (cipher: CipherName): Aead => nobleCrypto.aead(cipher);

/** `bytes` copied to a random offset of a larger buffer: providers must honour byteOffset. */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const big = new Uint8Array(offset + bytes.length + 7).fill(0xee);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

export function aeadSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("aead", () => {
    it("seals the published vectors and opens them, with every provider here", () => {
      for (const { name, cipher, aead } of subjects()) {
        for (const v of VECTORS.filter((x) => x.cipher === cipher)) {
          const [key, nonce, aad, plaintext] = [v.key, v.nonce, v.aad, v.plaintext].map(hex);
          const sealed = aead.seal(key, nonce, plaintext, aad);
          expect({ name, source: v.source, sealed: toHex(sealed) }).toEqual({
            name,
            source: v.source,
            sealed: toHex(hex(v.sealed)),
          });
          const opened = aead.open(key, nonce, hex(v.sealed), aad);
          expect({ name, source: v.source, opened: opened && toHex(opened) }).toEqual({
            name,
            source: v.source,
            opened: toHex(plaintext),
          });
        }
      }
    });

    it("matches @noble/ciphers byte for byte and opens its output, on random inputs of 0 … 70000 bytes", () => {
      // Each distinct AEAD once: the default often is node:crypto's or noble's own.
      const all = subjects().filter(
        (s, i, list) =>
          s.aead !== oracle(s.cipher) && list.findIndex((t) => t.aead === s.aead) === i,
      );
      const length = fc.oneof(
        fc.integer({ min: 0, max: 70000 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65, 4096, 16384, 65535, 65536, 65537, 70000),
      );
      fc.assert(
        fc.property(
          fc.constantFrom(...CIPHERS),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 12, maxLength: 12 }),
          fc.uint8Array({ maxLength: 100 }),
          length,
          fc.integer(),
          fc.nat(15),
          (cipher, key, nonce, aad, n, seed, offset) => {
            const plaintext = pseudoRandomBytes(n, seed);
            const want = oracle(cipher).seal(key, nonce, plaintext, aad);
            expect(want.length).toBe(n + 16);
            const back = oracle(cipher).open(key, nonce, want, aad);
            if (back === null || !same(back, plaintext))
              expect({ cipher, n }).toBe("noble round-trips");
            for (const { name, aead } of all.filter((s) => s.cipher === cipher)) {
              const input = atOffset(plaintext, offset);
              const sealed = aead.seal(
                atOffset(key, offset),
                atOffset(nonce, offset),
                input,
                atOffset(aad, offset),
              );
              if (toHex(sealed) !== toHex(want))
                expect({ name, cipher, n }).toBe("same bytes as noble");
              expect(toHex(input)).toBe(toHex(plaintext));
              const sealedView = atOffset(want, offset);
              const opened = aead.open(key, nonce, sealedView, aad);
              if (opened === null || !same(opened, plaintext)) {
                expect({ name, cipher, n }).toBe("opens noble's output");
              }
              if (!same(sealedView, want)) expect({ name, cipher, n }).toBe("sealed untouched");
              // noble opens this provider's output: it is byte for byte `want`, opened above.
            }
          },
        ),
        { numRuns: 100 },
      );
    });

    it("opens to null, never throws, when one bit of ciphertext, tag, nonce, AAD or key flips", () => {
      const all = subjects();
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 12, maxLength: 12 }),
          fc.uint8Array({ minLength: 1, maxLength: 40 }),
          fc.uint8Array({ maxLength: 200 }),
          fc.constantFrom("sealed", "nonce", "aad", "key"),
          fc.nat(),
          (key, nonce, aad, plaintext, part, at) => {
            for (const { name, cipher, aead } of all) {
              const inputs = { key, nonce, aad, sealed: aead.seal(key, nonce, plaintext, aad) };
              const target = inputs[part as keyof typeof inputs];
              const bit = at % (target.length * 8);
              const flipped = target.slice();
              flipped[bit >> 3] ^= 1 << (bit & 7);
              const bad = { ...inputs, [part]: flipped };
              let opened: Uint8Array | null | "threw";
              try {
                opened = aead.open(bad.key, bad.nonce, bad.sealed, bad.aad);
              } catch {
                opened = "threw";
              }
              if (opened !== null) expect({ name, cipher, part, bit, opened }).toBe(null);
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("opens to null when the sealed bytes are cut, extended or shorter than a tag", () => {
      const key = range(1, 32);
      const nonce = range(2, 12);
      const aad = range(3, 5);
      for (const { name, cipher, aead } of subjects()) {
        const sealed = aead.seal(key, nonce, range(9, 40), aad);
        const extended = new Uint8Array(sealed.length + 1);
        extended.set(sealed);
        for (const bad of [
          sealed.subarray(0, sealed.length - 1),
          sealed.subarray(1),
          extended,
          sealed.subarray(0, 16),
          sealed.subarray(0, 15),
          new Uint8Array(0),
        ]) {
          expect({
            name,
            cipher,
            length: bad.length,
            opened: aead.open(key, nonce, bad, aad),
          }).toEqual({ name, cipher, length: bad.length, opened: null });
        }
      }
    });

    it("seals and opens into memory of their own, never a view of a shared Buffer pool", () => {
      const key = range(1, 32);
      const nonce = range(2, 12);
      for (const { name, cipher, aead } of subjects()) {
        for (const n of [0, 10, 100, 3000, 5000, 70000]) {
          const sealed = aead.seal(key, nonce, pseudoRandomBytes(n, n), range(0, 4));
          const opened = aead.open(key, nonce, sealed, range(0, 4));
          for (const [what, b] of [
            ["sealed", sealed],
            ["opened", opened],
          ] as const) {
            // A few spare bytes at the end (Bun's Buffers have one) share nothing.
            const own = b !== null && b.byteOffset === 0 && b.buffer.byteLength - b.length <= 16;
            expect({ name, cipher, n, what, own }).toEqual({ name, cipher, n, what, own: true });
          }
        }
      }
    });

    it("throws a RangeError for a key of other than 32 bytes or a nonce of other than 12", () => {
      const none = new Uint8Array(0);
      for (const { name, cipher, aead } of subjects()) {
        const sealed = aead.seal(range(0, 32), range(0, 12), range(0, 10), none);
        const cases = [
          ...[0, 16, 24, 31, 33].map((n) => ({
            what: `${n}-byte key`,
            key: range(0, n),
            nonce: range(0, 12),
          })),
          ...[0, 8, 11, 13, 16].map((n) => ({
            what: `${n}-byte nonce`,
            key: range(0, 32),
            nonce: range(0, n),
          })),
        ];
        for (const { what, key, nonce } of cases) {
          const seal = throwsRange(() => aead.seal(key, nonce, range(0, 10), none));
          const open = throwsRange(() => aead.open(key, nonce, sealed, none));
          expect({ name, cipher, what, seal, open }).toEqual({
            name,
            cipher,
            what,
            seal: true,
            open: true,
          });
        }
      }
    });

    it("derives keys with HKDF-SHA256 as RFC 5869 cases 1–3 give them", () => {
      for (const c of HKDF_CASES) {
        const want = hex(c.okm);
        const got = hkdfSha256(hex(c.ikm), hex(c.salt), hex(c.info), want.length);
        expect({ name: c.name, okm: toHex(got) }).toEqual({ name: c.name, okm: toHex(want) });
      }
      expect(
        hkdfSha256(hex(HKDF_CASES[0].ikm), new Uint8Array(0), new Uint8Array(0), 32),
      ).toBeInstanceOf(Uint8Array);
    });

    it("returns random bytes of the asked length that differ call to call", () => {
      for (const n of [0, 1, 12, 32, 65536, 65537, 200_000]) {
        expect(randomBytes(n).length).toBe(n);
      }
      expect(toHex(randomBytes(32))).not.toBe(toHex(randomBytes(32)));
      // Past getRandomValues' 64 KiB limit every part is filled, not left zero.
      const big = randomBytes(200_000);
      for (const start of [0, 65536, 131072, 196608]) {
        const part = big.subarray(start, start + 3000);
        expect(new Set(part).size).toBeGreaterThan(200);
      }
    });

    it("picks, per cipher, node:crypto where it works here, else the core's ChaCha20-Poly1305 on Bun, else @noble/ciphers", () => {
      const native = nativeCiphers();
      const fallback = (c: CipherName) =>
        ctx.runtime === "bun" && c === "chacha20-poly1305" ? "jetstore wasm" : "@noble/ciphers";
      const want = Object.fromEntries(
        CIPHERS.map((c) => [c, native.includes(c) ? "node:crypto" : fallback(c)]),
      );
      expect(cryptoChoice()).toEqual(want);
      // A native cipher that exists but was refused means it disagrees with noble.
      expect(native).toEqual(CIPHERS.filter((c) => hasNativeCipher(c)));
      // What each runtime is known to have (a new release may add, never remove).
      if (ctx.runtime === "node" || ctx.runtime === "deno") expect(native).toEqual([...CIPHERS]);
      if (ctx.runtime === "bun") expect(native).toContain("aes-256-gcm");
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const plaintext = pseudoRandomBytes(5000, 7);
      for (const cipher of CIPHERS) {
        const aead = defaultCrypto().aead(cipher);
        const opened = aead.open(
          key,
          nonce,
          aead.seal(key, nonce, plaintext, range(0, 9)),
          range(0, 9),
        );
        expect({ cipher, opened: opened && toHex(opened) }).toEqual({
          cipher,
          opened: toHex(plaintext),
        });
      }
    });

    it("checks native ciphers against the known answers @noble/ciphers gives", () => {
      for (const cipher of CIPHERS) {
        const sealed = nobleCrypto
          .aead(cipher)
          .seal(
            KNOWN_ANSWER.key(),
            KNOWN_ANSWER.nonce(),
            KNOWN_ANSWER.plaintext(),
            KNOWN_ANSWER.aad(),
          );
        expect({ cipher, sealed: toHex(sealed) }).toEqual({
          cipher,
          sealed: KNOWN_ANSWER.sealed[cipher],
        });
      }
    });

    it("imports @noble/ciphers only when a cipher needs it: a fallback before then throws ErrInternal", async () => {
      const { nobleFallback, loadFallback } = await import("../../runtimes/aead-choice.ts");
      const probe = () =>
        nobleFallback
          .aead("aes-256-gcm")
          .seal(range(0, 32), range(1, 12), range(0, 3), range(0, 0));
      const want = toHex(
        nobleCrypto.aead("aes-256-gcm").seal(range(0, 32), range(1, 12), range(0, 3), range(0, 0)),
      );
      // Another test of this process may have loaded it already: a fresh process shows the
      // fallback refusing before its load and sealing as noble after.
      const rel =
        ctx.runtime === "node"
          ? "../../dist/runtimes/aead-choice.js"
          : "../../runtimes/aead-choice.ts";
      const script = [
        `const m = await import(${JSON.stringify(new URL(rel, import.meta.url).href)});`,
        "const range = (s, n) => Uint8Array.from({ length: n }, (_, i) => s + i);",
        `const seal = () => m.nobleFallback.aead("aes-256-gcm").seal(range(0, 32), range(1, 12), range(0, 3), range(0, 0));`,
        "let before = null;",
        "try { seal(); } catch (err) { before = err.code ?? String(err); }",
        "await m.loadFallback();",
        `const after = Array.from(seal(), (b) => b.toString(16).padStart(2, "0")).join("");`,
        "console.log(JSON.stringify({ before, after }));",
      ].join("\n");
      const { cmd, args } = childCommand(ctx);
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "inherit"] });
        let text = "";
        child.stdout.on("data", (d) => {
          text += d;
        });
        child.on("error", reject);
        child.on("close", () => resolve(text));
      });
      expect(JSON.parse(out)).toEqual({ before: "ErrInternal", after: want });
      await loadFallback();
      expect(toHex(probe())).toBe(want);
    });

    it("lets a test replace the default provider and put it back", () => {
      const used: string[] = [];
      const recording: CryptoProvider = {
        name: "recording",
        aead(cipher) {
          const inner = nobleCrypto.aead(cipher);
          return {
            seal(key, nonce, plaintext, aad) {
              used.push(`${toHex(key)}/${toHex(nonce)}`);
              return inner.seal(key, nonce, plaintext, aad);
            },
            open: (key, nonce, sealed, aad) => inner.open(key, nonce, sealed, aad),
          };
        },
      };
      const before = defaultCrypto();
      const choice = cryptoChoice();
      expect(setDefaultCrypto(recording)).toBe(before);
      try {
        expect(defaultCrypto()).toBe(recording);
        defaultCrypto()
          .aead("aes-256-gcm")
          .seal(range(0, 32), range(1, 12), range(0, 3), range(0, 0));
        expect(used).toEqual([`${toHex(range(0, 32))}/${toHex(range(1, 12))}`]);
        expect(cryptoChoice()).toEqual(choice);
      } finally {
        expect(setDefaultCrypto(before)).toBe(recording);
      }
      expect(defaultCrypto()).toBe(before);
    });
  });
}

function throwsRange(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (err) {
    return err instanceof RangeError;
  }
}
