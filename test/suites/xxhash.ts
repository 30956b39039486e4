/**
 * xxHash64, the checksum of every record (FORMAT.md), must be bit-exact
 * forever: a hash that drifts by one bit makes every stored block unreadable.
 * The core's xxh64 (release and debug builds, through src/codec) and the
 * plain-TypeScript reference (src/reference/xxhash64.ts) are checked against
 * an independent implementation, xxhash-wasm's h64, and against published
 * test vectors: random bytes of every length 0 … 1024 (each stripe, tail and
 * 4-byte/1-byte remainder path), inputs at odd offsets of larger buffers,
 * multi-MiB inputs, seed 0 and random 64-bit seeds. Also the 32-bit subject
 * hash the scan reports, and typed errors for bad arguments.
 */
import fc from "fast-check";
import xxhash from "xxhash-wasm";
import { type RecordCodec, wasmCodec, xxh64 } from "../../src/codec/index.ts";
import { referenceCodec, xxh64 as referenceXxh64 } from "../../src/reference/index.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, failure } from "./core-variants.ts";

const MAX_U64 = (1n << 64n) - 1n;

/**
 * `length` pseudo-random bytes from a 32-bit `seed` (xorshift32), fast enough
 * for multi-MiB inputs where a fast-check array arbitrary would not be.
 */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

/** Every implementation under test, by name. */
function implementations(): { name: string; hash: (bytes: Uint8Array, seed?: bigint) => bigint }[] {
  return [
    { name: "codec xxh64 (release core)", hash: xxh64 },
    ...CORE_VARIANTS.map((variant) => {
      const codec = wasmCodec(getCore(variant));
      return { name: codec.name, hash: (b: Uint8Array, s?: bigint) => codec.xxh64(b, s) };
    }),
    { name: "reference xxh64", hash: referenceXxh64 },
    { name: "referenceCodec", hash: (b, s) => referenceCodec.xxh64(b, s) },
  ];
}

export function xxhashSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  // xxhash-wasm instantiates asynchronously; each test awaits the same instance.
  let oracle: Promise<Awaited<ReturnType<typeof xxhash>>> | undefined;
  const h64 = async () => {
    oracle ??= xxhash();
    return (await oracle).h64Raw;
  };
  const encoder = new TextEncoder();

  describe("xxHash64", () => {
    it("matches the published test vectors", () => {
      const vectors: [string, bigint, bigint][] = [
        ["", 0n, 0xef46db3751d8e999n],
        ["a", 0n, 0xd24ec4f1a98c6e5bn],
        ["abc", 0n, 0x44bc2cf5ad770999n],
        ["jetstore", 0n, 0x31b5e16cf6714dd6n],
      ];
      for (const { name, hash } of implementations()) {
        for (const [text, seed, want] of vectors) {
          expect({ name, text, hash: hash(encoder.encode(text), seed) }).toEqual({
            name,
            text,
            hash: want,
          });
        }
        // The default seed is 0.
        expect(hash(encoder.encode("abc"))).toBe(0x44bc2cf5ad770999n);
      }
    });

    it("matches xxhash-wasm on random bytes of every length 0 … 1024, seed 0 and random seeds", async () => {
      const h64Raw = await h64();
      const impls = implementations();
      fc.assert(
        fc.property(fc.integer(), fc.bigInt({ min: 1n, max: MAX_U64 }), (dataSeed, seed) => {
          const all = randomBytes(1024, dataSeed);
          for (let length = 0; length <= 1024; length++) {
            const bytes = all.subarray(0, length);
            for (const s of [0n, seed]) {
              const want = h64Raw(bytes, s);
              for (const { name, hash } of impls) {
                const got = hash(bytes, s);
                if (got !== want) expect({ name, length, seed: s, got }).toEqual({ want });
              }
            }
          }
        }),
        { numRuns: 3 },
      );
    });

    it("matches xxhash-wasm on inputs at any offset of a larger buffer", async () => {
      const h64Raw = await h64();
      const impls = implementations();
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.nat(64),
          fc.nat(64),
          fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: MAX_U64 })),
          (middle, before, after, seed) => {
            const buffer = new Uint8Array(before + middle.length + after).fill(0xa5);
            buffer.set(middle, before);
            const view = buffer.subarray(before, before + middle.length);
            const want = h64Raw(middle, seed);
            for (const { name, hash } of impls) {
              expect({ name, hash: hash(view, seed) }).toEqual({ name, hash: want });
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("matches xxhash-wasm on multi-MiB inputs", async () => {
      const h64Raw = await h64();
      const seed = 0x0123456789abcdefn;
      for (const length of [3 * 1024 * 1024, 3 * 1024 * 1024 + 29]) {
        const bytes = randomBytes(length, length);
        for (const s of [0n, seed]) {
          const want = h64Raw(bytes, s);
          for (const { name, hash } of implementations()) {
            expect({ name, length, hash: hash(bytes, s) }).toEqual({ name, length, hash: want });
          }
        }
      }
    });

    it("gives the scan's subject hash as the low 32 bits of xxHash64 with seed 0", async () => {
      const h64Raw = await h64();
      const codecs: RecordCodec[] = [
        ...CORE_VARIANTS.map((v) => wasmCodec(getCore(v))),
        referenceCodec,
      ];
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 80 }), (subject) => {
          const bytes = encoder.encode(subject);
          const want = Number(h64Raw(bytes, 0n) & 0xffffffffn);
          for (const codec of codecs) {
            expect({ codec: codec.name, hash: codec.subjectHash(subject) }).toEqual({
              codec: codec.name,
              hash: want,
            });
            expect(codec.subjectHash(bytes)).toBe(want);
          }
        }),
        { numRuns: 300 },
      );
    });

    it("rejects bad arguments with typed errors", () => {
      const codecs: RecordCodec[] = [
        ...CORE_VARIANTS.map((v) => wasmCodec(getCore(v))),
        referenceCodec,
      ];
      const bytes = new Uint8Array([1, 2, 3]);
      for (const codec of codecs) {
        const hash = (b: unknown, s?: unknown) => () => codec.xxh64(b as Uint8Array, s as bigint);
        for (const bad of [[1, 2, 3], "abc", null, undefined, new ArrayBuffer(3), 7]) {
          expect({ codec: codec.name, code: failure(hash(bad)).code }).toEqual({
            codec: codec.name,
            code: "ErrInvalidArgument",
          });
        }
        for (const bad of [5, "5", null, Number.NaN]) {
          expect({ codec: codec.name, code: failure(hash(bytes, bad)).code }).toEqual({
            codec: codec.name,
            code: "ErrInvalidArgument",
          });
        }
        for (const bad of [-1n, MAX_U64 + 1n, -(1n << 64n)]) {
          expect({ codec: codec.name, code: failure(hash(bytes, bad)).code }).toEqual({
            codec: codec.name,
            code: "ErrOutOfRange",
          });
        }
        // The extremes of the seed range are accepted.
        expect(codec.xxh64(bytes, MAX_U64)).toBe(referenceXxh64(bytes, MAX_U64));
        for (const bad of [42, null, [97]]) {
          expect(failure(() => codec.subjectHash(bad as unknown as string)).code).toBe(
            "ErrInvalidArgument",
          );
        }
      }
    });
  });
}
