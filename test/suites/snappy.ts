/**
 * Snappy's raw format in the core (assembly/snappy.ts through
 * src/at-rest/snappy-wasm.ts), both core builds, against snappyjs, the
 * oracle. The compressor follows snappyjs's algorithm, so its output must be
 * the same bytes: random, repetitive, JSON-like and all-zero inputs of
 * lengths 0 … 200,000, around every 64 KiB fragment boundary and the 15-byte
 * margin where matching stops. The decompressor must read whatever snappyjs
 * writes, and every valid stream (built here element by element, with the
 * forms no compressor emits: 4-byte offsets, long literal lengths in more
 * bytes than needed, overlapping copies near the end of the output). On a
 * malformed stream it must fail, never trap, never write outside its output,
 * and never succeed with other bytes than a strict decoder written here from
 * the format's description.
 */
import fc from "fast-check";
import { type Compressor, setSnappy, snappy } from "../../src/at-rest/compression.ts";
import { snappyJs } from "../../src/at-rest/snappy-js.ts";
import { CoreSnappy, maxCompressedLength, wasmSnappy } from "../../src/at-rest/snappy-wasm.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, failure } from "./core-variants.ts";
import { sameBytes } from "./store-helpers.ts";
import { randomBytes } from "./xxhash.ts";

const FRAGMENT = 65536;
/** Lengths at the edges: tiny, the 15-byte matching margin, fragment boundaries. */
const EDGE_LENGTHS = [
  0,
  1,
  2,
  3,
  4,
  5,
  14,
  15,
  16,
  17,
  31,
  32,
  33,
  60,
  61,
  100,
  255,
  256,
  257,
  1000,
  4095,
  4096,
  16384,
  FRAGMENT - 1,
  FRAGMENT,
  FRAGMENT + 1,
  FRAGMENT + 14,
  FRAGMENT + 15,
  FRAGMENT + 16,
  70000,
  2 * FRAGMENT - 1,
  2 * FRAGMENT,
  2 * FRAGMENT + 1,
  200000,
];

const text = new TextEncoder();

/** Inputs of one kind: `length` bytes from `seed`. */
const KINDS: Record<string, (length: number, seed: number) => Uint8Array> = {
  random: randomBytes,
  zero: (length) => new Uint8Array(length),
  /** Four symbols: short matches everywhere, at every offset. */
  fourSymbols: (length, seed) => randomBytes(length, seed).map((b) => b & 3),
  /** A random phrase repeated with sparse changes: long matches, far offsets. */
  phrases: (length, seed) => {
    const phrase = randomBytes(1 + ((seed >>> 0) % 3000), seed);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = phrase[i % phrase.length];
    const noise = randomBytes(length, seed ^ 0x5bd1e995);
    for (let i = 0; i < length; i += 97 + (noise[i] & 0xff)) out[i] = noise[i];
    return out;
  },
  json: (length, seed) => {
    let s = "";
    for (let i = seed >>> 0; s.length < length; i++) {
      s += `${JSON.stringify({
        id: i,
        customer: `customer-${i % 500}`,
        item: `sku-${(i * 7919) % 1000}`,
        qty: 1 + (i % 9),
        price: (i % 10000) / 100,
        note: i % 3 === 0 ? "leave at the door" : "call on arrival",
      })}\n`;
    }
    return text.encode(s.slice(0, length));
  },
};

function implementations(): Compressor[] {
  return CORE_VARIANTS.map((variant) => wasmSnappy(variant));
}

/** The first index where `a` and `b` differ, for readable failures. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * A strict decoder written from the format's description: canonical varint
 * header equal to `plainLength`; literals and copies (1-, 2-, 4-byte offsets)
 * that stay inside the input and the output; offsets in 1 … bytes written;
 * the output filled exactly.
 */
export function referenceUncompress(s: Uint8Array, plainLength: number): Uint8Array | null {
  let pos = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= s.length || shift > 63) return null;
    const c = s[pos++];
    if (pos > 1 && c === 0) return null; // over-long
    declared += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
  }
  if (declared !== plainLength) return null;
  const out = new Uint8Array(plainLength);
  let op = 0;
  while (pos < s.length) {
    const tag = s[pos++];
    if ((tag & 3) === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > s.length) return null;
        len = 1;
        for (let i = 0; i < extra; i++) len += s[pos + i] * 2 ** (8 * i);
        pos += extra;
      }
      if (pos + len > s.length || op + len > plainLength) return null;
      out.set(s.subarray(pos, pos + len), op);
      pos += len;
      op += len;
      continue;
    }
    const width = [0, 1, 2, 4][tag & 3];
    if (pos + width > s.length) return null;
    let offset = 0;
    for (let i = 0; i < width; i++) offset += s[pos + i] * 2 ** (8 * i);
    pos += width;
    let len: number;
    if ((tag & 3) === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset += (tag >>> 5) << 8;
    } else {
      len = (tag >>> 2) + 1;
    }
    if (offset === 0 || offset > op || op + len > plainLength) return null;
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset];
  }
  return op === plainLength ? out : null;
}

type Element =
  | { kind: "literal"; bytes: Uint8Array; lengthBytes: number }
  | { kind: "copy"; width: 1 | 2 | 4; offsetSeed: number; len: number };

const element: fc.Arbitrary<Element> = fc.oneof(
  fc.record({
    kind: fc.constant("literal" as const),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 80 }),
      fc.uint8Array({ minLength: 1, maxLength: 400 }),
    ),
    lengthBytes: fc.integer({ min: 0, max: 4 }),
  }),
  fc.record({
    kind: fc.constant("copy" as const),
    width: fc.constantFrom(1 as const, 2 as const, 4 as const),
    offsetSeed: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.nat()),
    len: fc.integer({ min: 1, max: 64 }),
  }),
);

/**
 * A valid stream of `elements` and the bytes it holds; `shortestLengths`
 * when every literal's length takes no more bytes than it needs.
 */
function buildStream(elements: Element[]): {
  stream: Uint8Array;
  plain: Uint8Array;
  shortestLengths: boolean;
} {
  const plain: number[] = [];
  const body: number[] = [];
  let shortestLengths = true;
  for (const e of elements) {
    if (e.kind === "literal") {
      const n = e.bytes.length - 1;
      const needed = n < 60 ? 0 : n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : 3;
      const extra = Math.max(needed, e.lengthBytes);
      if (extra !== needed) shortestLengths = false;
      if (extra === 0) body.push(n << 2);
      else {
        body.push((59 + extra) << 2);
        for (let i = 0; i < extra; i++) body.push((n >>> (8 * i)) & 0xff);
      }
      body.push(...e.bytes);
      plain.push(...e.bytes);
      continue;
    }
    if (plain.length === 0) continue;
    const maxOffset = e.width === 1 ? 2047 : e.width === 2 ? 65535 : plain.length;
    const offset = 1 + (e.offsetSeed % Math.min(plain.length, maxOffset));
    if (e.width === 1) {
      const len = 4 + (e.len % 8);
      body.push(1 | ((len - 4) << 2) | ((offset >>> 8) << 5), offset & 0xff);
      for (let i = 0; i < len; i++) plain.push(plain[plain.length - offset]);
      continue;
    }
    body.push((e.width === 2 ? 2 : 3) | ((e.len - 1) << 2));
    for (let i = 0; i < e.width; i++) body.push((offset >>> (8 * i)) & 0xff);
    for (let i = 0; i < e.len; i++) plain.push(plain[plain.length - offset]);
  }
  const header: number[] = [];
  let v = plain.length;
  while (v >= 0x80) {
    header.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  header.push(v);
  return {
    stream: Uint8Array.from([...header, ...body]),
    plain: Uint8Array.from(plain),
    shortestLengths,
  };
}

/** Damage to a valid stream: flips, overwrites, insertions, deletions, a cut. */
const mutation = fc.record({
  kind: fc.constantFrom("flip", "set", "insert", "delete", "truncate"),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(
  stream: Uint8Array,
  mutations: { kind: string; at: number; value: number }[],
): Uint8Array {
  let s = Array.from(stream);
  for (const m of mutations) {
    const at = s.length === 0 ? 0 : m.at % s.length;
    if (m.kind === "flip" && s.length > 0) s[at] ^= 1 << (m.value & 7);
    else if (m.kind === "set" && s.length > 0) s[at] = m.value;
    else if (m.kind === "insert") s.splice(at, 0, m.value);
    else if (m.kind === "delete") s.splice(at, 1);
    else if (m.kind === "truncate") s = s.slice(0, at);
  }
  return Uint8Array.from(s);
}

export function snappySuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  describe("snappy (core kernel against snappyjs)", () => {
    it("compresses to the same bytes as snappyjs at every edge length", () => {
      const impls = implementations();
      for (const [kind, make] of Object.entries(KINDS)) {
        for (const length of EDGE_LENGTHS) {
          const input = make(length, length + 1);
          const want = snappyJs.compress(input);
          for (const impl of impls) {
            const got = impl.compress(input);
            if (!sameBytes(got, want)) {
              expect({
                impl: impl.name,
                kind,
                length,
                differsAt: firstDifference(got, want),
              }).toEqual({
                impl: impl.name,
                kind,
                length,
                differsAt: -1,
              });
            }
            const back = impl.uncompress(got, length);
            if (!sameBytes(back, input))
              expect({ impl: impl.name, kind, length }).toBe("a round trip");
          }
        }
      }
    });

    it("compresses to the same bytes as snappyjs on random inputs up to 200,000 bytes", () => {
      const impls = implementations();
      fc.assert(
        fc.property(
          fc.constantFrom(...Object.keys(KINDS)),
          fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 200000 })),
          fc.integer(),
          (kind, length, seed) => {
            const input = KINDS[kind](length, seed);
            const want = snappyJs.compress(input);
            for (const impl of impls) {
              const got = impl.compress(input);
              if (!sameBytes(got, want)) {
                expect({
                  impl: impl.name,
                  kind,
                  length,
                  seed,
                  at: firstDifference(got, want),
                }).toBe("the same bytes");
              }
              // snappyjs reads ours back, and ours reads snappyjs's.
              expect(sameBytes(snappyJs.uncompress(got, length), input)).toBe(true);
              expect(sameBytes(impl.uncompress(want, length), input)).toBe(true);
            }
          },
        ),
        { numRuns: 40 },
      );
    });

    it("compresses a view at any offset of a larger buffer by its own bytes only", () => {
      const impls = implementations();
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 3000 }),
          fc.nat(40),
          fc.nat(40),
          (middle, before, after) => {
            const buffer = new Uint8Array(before + middle.length + after).fill(7);
            buffer.set(middle, before);
            const view = buffer.subarray(before, before + middle.length);
            const want = snappyJs.compress(middle);
            for (const impl of impls) expect(sameBytes(impl.compress(view), want)).toBe(true);
          },
        ),
        { numRuns: 100 },
      );
    });

    it("uncompresses every valid stream, in every element form, as the reference does", () => {
      const impls = implementations();
      fc.assert(
        fc.property(fc.array(element, { maxLength: 60 }), (elements) => {
          const { stream, plain, shortestLengths } = buildStream(elements);
          expect(sameBytes(referenceUncompress(stream, plain.length), plain)).toBe(true);
          // snappyjs wants 4 bytes after any long-literal tag, so it refuses a
          // short literal whose length is spelled in more bytes than needed.
          if (shortestLengths) {
            expect(sameBytes(snappyJs.uncompress(stream, plain.length), plain)).toBe(true);
          }
          for (const impl of impls) {
            const got = impl.uncompress(stream, plain.length);
            if (!sameBytes(got, plain))
              expect({ impl: impl.name, stream: Array.from(stream) }).toBe("decoded");
          }
        }),
        { numRuns: 400 },
      );
    });

    it("refuses malformed streams of each kind with null", () => {
      const lit = (n: number) => [(n - 1) << 2, ...new Array(n).fill(0x61)];
      const cases: [string, number[], number][] = [
        ["empty input", [], 0],
        ["header only, truncated varint", [0x80], 0],
        ["varint of six bytes", [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 0],
        ["over-long varint", [0x85, 0x00, ...lit(5)], 5],
        ["declared length not the one asked for", [4, ...lit(4)], 5],
        ["stream shorter than declared", [5, ...lit(4)], 5],
        ["literal past the end of the input", [5, (5 - 1) << 2, 1, 2], 5],
        ["literal past the end of the output", [3, ...lit(4)], 3],
        ["long literal, length bytes missing", [70, 62 << 2, 69], 70],
        ["long literal of 2^32 bytes (wraps to 0)", [1, 63 << 2, 0xff, 0xff, 0xff, 0xff, 0x61], 1],
        ["copy before any output", [4, 1, 1], 4],
        ["copy with offset 0", [8, ...lit(4), 1, 0], 8],
        ["copy from before the start", [8, ...lit(4), 1, 5], 8],
        ["2-byte copy from before the start", [8, ...lit(4), 2 | (3 << 2), 0, 1], 8],
        ["4-byte copy, offset 2^32 - 1", [8, ...lit(4), 3 | (3 << 2), 0xff, 0xff, 0xff, 0xff], 8],
        ["copy past the end of the output", [8, ...lit(4), 1 | (1 << 2), 4], 8],
        ["1-byte copy, offset byte missing", [8, ...lit(4), 1], 8],
        ["2-byte copy, offset truncated", [8, ...lit(4), 2 | (3 << 2), 4], 8],
        ["4-byte copy, offset truncated", [8, ...lit(4), 3 | (3 << 2), 4, 0, 0], 8],
        ["trailing bytes after a full output", [4, ...lit(4), 0], 4],
      ];
      for (const impl of [...implementations(), snappyJs]) {
        for (const [what, bytes, plainLength] of cases) {
          const stream = Uint8Array.from(bytes);
          expect({ what, reference: referenceUncompress(stream, plainLength) }).toEqual({
            what,
            reference: null,
          });
          // snappyjs is the oracle for valid streams only: it accepts some
          // of these (a truncated 1-byte copy, a short output).
          if (impl === snappyJs) continue;
          expect({ impl: impl.name, what, got: impl.uncompress(stream, plainLength) }).toEqual({
            impl: impl.name,
            what,
            got: null,
          });
        }
      }
    });

    it("on damaged streams fails or decodes exactly what the strict reference decodes, writing nothing outside its output", () => {
      const GUARD = 64;
      const cores = CORE_VARIANTS.map((variant) => {
        const core = getCore(variant);
        return { variant, core, snappy: new CoreSnappy(core) };
      });
      const source = fc.oneof(
        fc.array(element, { maxLength: 30 }).map((elements) => buildStream(elements)),
        fc
          .tuple(
            fc.constantFrom(...Object.keys(KINDS)),
            fc.integer({ min: 0, max: 3000 }),
            fc.integer(),
          )
          .map(([kind, length, seed]) => {
            const plain = KINDS[kind](length, seed);
            return { stream: snappyJs.compress(plain), plain };
          }),
      );
      fc.assert(
        fc.property(
          source,
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 })),
          ({ stream, plain }, mutations, lengthDelta) => {
            const damaged = mutate(stream, mutations);
            const plainLength = Math.max(0, plain.length + lengthDelta);
            const want = referenceUncompress(damaged, plainLength);
            for (const { variant, core, snappy } of cores) {
              // Source and output each between guard bytes, in core memory.
              const area = core.alloc(damaged.length + plainLength + 4 * GUARD);
              const src = area + GUARD;
              const dst = src + damaged.length + 2 * GUARD;
              const u8 = core.u8;
              u8.fill(0xa5, area, area + damaged.length + plainLength + 4 * GUARD);
              u8.set(damaged, src);
              const ok = snappy.uncompressInCore(src, damaged.length, dst, plainLength);
              const after = core.u8;
              const guardsIntact =
                after.subarray(area, src).every((b) => b === 0xa5) &&
                after.subarray(src + damaged.length, dst).every((b) => b === 0xa5) &&
                after
                  .subarray(dst + plainLength, dst + plainLength + GUARD)
                  .every((b) => b === 0xa5);
              const got = ok ? after.slice(dst, dst + plainLength) : null;
              const sourceIntact = sameBytes(after.subarray(src, src + damaged.length), damaged);
              core.free(area);
              expect({ variant, guardsIntact, sourceIntact }).toEqual({
                variant,
                guardsIntact: true,
                sourceIntact: true,
              });
              if (!sameBytes(got, want)) {
                expect({ variant, damaged: Array.from(damaged), plainLength, got, want }).toBe(
                  "agreement",
                );
              }
            }
          },
        ),
        { numRuns: 1500 },
      );
    });

    it("compresses and uncompresses in core memory without copies", () => {
      for (const variant of CORE_VARIANTS) {
        const core = getCore(variant);
        const snappy = new CoreSnappy(core);
        for (const length of [0, 1, 100, 16384, FRAGMENT + 3]) {
          const input = KINDS.json(length, 1);
          const src = core.alloc(length + 1);
          const dst = core.alloc(maxCompressedLength(length));
          const back = core.alloc(length + 1);
          core.u8.set(input, src);
          const n = snappy.compressInCore(src, length, dst);
          expect(sameBytes(core.u8.slice(dst, dst + n), snappyJs.compress(input))).toBe(true);
          expect(snappy.uncompressInCore(dst, n, back, length)).toBe(true);
          expect(sameBytes(core.u8.slice(back, back + length), input)).toBe(true);
          // One byte more or less than declared is refused.
          expect(snappy.uncompressInCore(dst, n, back, length + 1)).toBe(false);
          if (length > 0) expect(snappy.uncompressInCore(dst, n, back, length - 1)).toBe(false);
          for (const p of [src, dst, back]) core.free(p);
        }
      }
    });

    it("the faster matcher (snapshot frames) writes streams snappyjs and the core read back, no longer than the bound", () => {
      for (const variant of CORE_VARIANTS) {
        const core = getCore(variant);
        const snappy = new CoreSnappy(core);
        const lengths = [...EDGE_LENGTHS, 200_000];
        for (const [kind, make] of Object.entries(KINDS)) {
          for (const length of lengths) {
            const input = make(length, length + 7);
            const src = core.alloc(length + 1);
            const dst = core.alloc(maxCompressedLength(length));
            const back = core.alloc(length + 1);
            core.u8.set(input, src);
            const n = snappy.compressInCore(src, length, dst, true);
            const stream = core.u8.slice(dst, dst + n);
            const where = { variant, kind, length };
            expect({ ...where, fits: n <= maxCompressedLength(length) }).toEqual({
              ...where,
              fits: true,
            });
            expect({ ...where, js: sameBytes(snappyJs.uncompress(stream, length), input) }).toEqual(
              { ...where, js: true },
            );
            expect({
              ...where,
              core:
                snappy.uncompressInCore(dst, n, back, length) &&
                sameBytes(core.u8.slice(back, back + length), input),
            }).toEqual({ ...where, core: true });
            for (const p of [src, dst, back]) core.free(p);
          }
        }
      }
    });

    it("rejects bad arguments with typed errors", () => {
      for (const variant of CORE_VARIANTS) {
        const core = getCore(variant);
        const snappy = new CoreSnappy(core);
        const buf = core.alloc(1024);
        const end = core.u8.length;
        const cases: [string, () => unknown, string][] = [
          ["null pointer", () => snappy.compressInCore(0, 10, buf), "ErrInvalidArgument"],
          [
            "fractional length",
            () => snappy.compressInCore(buf, 1.5, buf + 512),
            "ErrInvalidArgument",
          ],
          [
            "negative length",
            () => snappy.uncompressInCore(buf, -1, buf + 512, 4),
            "ErrInvalidArgument",
          ],
          ["source past memory", () => snappy.compressInCore(end - 4, 10, buf), "ErrOutOfRange"],
          [
            "destination past memory",
            () => snappy.compressInCore(buf, 10, end - 20),
            "ErrOutOfRange",
          ],
          [
            "overlapping buffers",
            () => snappy.compressInCore(buf, 100, buf + 50),
            "ErrInvalidArgument",
          ],
          [
            "overlapping output",
            () => snappy.uncompressInCore(buf, 100, buf + 99, 10),
            "ErrInvalidArgument",
          ],
          [
            "plain length NaN",
            () => snappy.uncompressInCore(buf, 10, buf + 512, Number.NaN),
            "ErrInvalidArgument",
          ],
        ];
        for (const [what, fn, code] of cases) {
          expect({ variant, what, code: failure(fn).code }).toEqual({ variant, what, code });
        }
        core.free(buf);
      }
      for (const impl of implementations()) {
        for (const bad of [null, [1, 2], "abc", new ArrayBuffer(4)]) {
          expect(failure(() => impl.compress(bad as unknown as Uint8Array)).code).toBe(
            "ErrInvalidArgument",
          );
          expect(failure(() => impl.uncompress(bad as unknown as Uint8Array, 0)).code).toBe(
            "ErrInvalidArgument",
          );
        }
        for (const bad of [-1, 1.5, Number.NaN, 2 ** 40]) {
          expect(failure(() => impl.uncompress(Uint8Array.of(0), bad)).code).toBe(
            "ErrInvalidArgument",
          );
        }
        // A length no stream of this size can fill is refused before any allocation.
        expect(impl.uncompress(Uint8Array.of(0x80, 0x80, 0x80, 0x04), 2 ** 30)).toBe(null);
      }
    });

    it("is what stores use by default, and setSnappy still replaces it", () => {
      expect(snappy().name).toBe("jetstore-wasm");
      const previous = setSnappy(snappyJs);
      expect(previous.name).toBe("jetstore-wasm");
      expect(snappy()).toBe(snappyJs);
      setSnappy(previous);
      expect(snappy()).toBe(previous);
    });
  });
}
