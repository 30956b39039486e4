/**
 * Varints through the core's codec (src/varint.ts over assembly/leb128.ts) on
 * both core builds: every u64 edge value and random u64s against a bigint
 * reference encoder written here, and rejection of truncated, over-long and
 * overflowing bytes with ErrCorrupt, of bad arguments with typed errors.
 */
import fc from "fast-check";
import { decodeVarint, encodeVarint, MAX_U64, varintLength } from "../../src/varint.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, failure } from "./core-variants.ts";

/** LEB128 written from its definition, the oracle for the core. */
function reference(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0n);
  return out;
}

/** 0, 1, 127, 128, 2^k - 1, 2^k, 2^k + 1 for k up to 64 (within u64), 2^53 - 1. */
function edgeValues(): bigint[] {
  const values = new Set<bigint>([0n, 1n, 127n, 128n, (1n << 53n) - 1n, MAX_U64]);
  for (let k = 1n; k <= 64n; k++) {
    for (const v of [(1n << k) - 1n, 1n << k, (1n << k) + 1n]) if (v <= MAX_U64) values.add(v);
  }
  return [...values];
}

const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_U64 }),
  fc
    .integer({ min: 0, max: 64 })
    .chain((bits) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })),
);

export function varintSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  for (const variant of CORE_VARIANTS) {
    const decode = (bytes: number[], offset = 0) =>
      decodeVarint(Uint8Array.from(bytes), offset, variant);

    describe(`varint (${variant} core)`, () => {
      it("round-trips every u64 edge value with the reference bytes", () => {
        for (const value of edgeValues()) {
          const bytes = encodeVarint(value, variant);
          expect(Array.from(bytes)).toEqual(reference(value));
          expect(varintLength(value, variant)).toBe(bytes.length);
          expect(decodeVarint(bytes, 0, variant)).toEqual({ value, length: bytes.length });
          if (value <= BigInt(Number.MAX_SAFE_INTEGER)) {
            expect(Array.from(encodeVarint(Number(value), variant))).toEqual(reference(value));
          }
        }
        expect(encodeVarint(MAX_U64, variant)).toHaveLength(10);
        expect(encodeVarint(2n ** 63n - 1n, variant)).toHaveLength(9);
      });

      it("round-trips random u64 values", () => {
        fc.assert(
          fc.property(u64, (value) => {
            const bytes = encodeVarint(value, variant);
            expect(Array.from(bytes)).toEqual(reference(value));
            expect(decodeVarint(bytes, 0, variant)).toEqual({ value, length: bytes.length });
          }),
          { numRuns: 500 },
        );
      });

      it("decodes at an offset and ignores the bytes after the varint", () => {
        fc.assert(
          fc.property(
            u64,
            fc.uint8Array({ maxLength: 12 }),
            fc.uint8Array({ maxLength: 12 }),
            (value, before, after) => {
              const bytes = [...before, ...reference(value), ...after];
              expect(decode(bytes, before.length)).toEqual({
                value,
                length: reference(value).length,
              });
            },
          ),
          { numRuns: 300 },
        );
      });

      it("rejects every truncation with ErrCorrupt at the varint's offset", () => {
        expect(failure(() => decode([])).code).toBe("ErrCorrupt");
        expect(failure(() => decode([1, 2], 2)).code).toBe("ErrCorrupt");
        for (const value of edgeValues()) {
          const bytes = reference(value);
          for (let cut = 0; cut < bytes.length; cut++) {
            const err = failure(() => decode([9, ...bytes.slice(0, cut)], 1));
            expect(err.code).toBe("ErrCorrupt");
            expect(err.message).toContain("end inside");
            expect(err.offset).toBe(1);
          }
        }
      });

      it("rejects over-long encodings with ErrCorrupt", () => {
        for (const bytes of [
          [0x80, 0x00],
          [0x81, 0x00],
          [0xff, 0x80, 0x00],
          [...Array(9).fill(0x80), 0x00],
          [...Array(9).fill(0xff), 0x00],
        ]) {
          const err = failure(() => decode(bytes));
          expect(err.code).toBe("ErrCorrupt");
          expect(err.message).toContain("over-long");
        }
        fc.assert(
          fc.property(u64, fc.integer({ min: 1, max: 9 }), (value, pad) => {
            const bytes = reference(value);
            if (bytes.length + pad > 10) return;
            bytes[bytes.length - 1] |= 0x80;
            const padded = [...bytes, ...Array(pad - 1).fill(0x80), 0x00];
            expect(failure(() => decode(padded)).message).toContain("over-long");
          }),
          { numRuns: 300 },
        );
      });

      it("rejects encodings past 2^64 - 1 with ErrCorrupt", () => {
        const nine = Array(9).fill(0xff);
        expect(decode([...Array(9).fill(0x80), 0x01])).toEqual({ value: 1n << 63n, length: 10 });
        for (let last = 2; last <= 0xff; last++) {
          const err = failure(() => decode([...nine, last, 0]));
          expect(err.code).toBe("ErrCorrupt");
          expect(err.message).toContain("exceeds");
        }
        expect(failure(() => decode([...Array(10).fill(0x80), 0x01])).message).toContain("exceeds");
        expect(failure(() => decode([...nine, 0x81])).message).toContain("exceeds");
      });

      it("rejects bad arguments with typed errors", () => {
        expect(failure(() => encodeVarint(-1n, variant)).code).toBe("ErrOutOfRange");
        expect(failure(() => encodeVarint(MAX_U64 + 1n, variant)).code).toBe("ErrOutOfRange");
        expect(failure(() => encodeVarint(-1, variant)).code).toBe("ErrOutOfRange");
        expect(failure(() => encodeVarint(2 ** 53, variant)).code).toBe("ErrOutOfRange");
        for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, "5", null, undefined]) {
          expect(failure(() => encodeVarint(bad as number, variant)).code).toBe(
            "ErrInvalidArgument",
          );
          expect(failure(() => varintLength(bad as number, variant)).code).toBe(
            "ErrInvalidArgument",
          );
        }
        expect(failure(() => decodeVarint([1] as unknown as Uint8Array, 0, variant)).code).toBe(
          "ErrInvalidArgument",
        );
        for (const offset of [-1, 1.5, 3, Number.NaN]) {
          expect(failure(() => decode([1, 2], offset)).code).toBe("ErrOutOfRange");
        }
        expect(failure(() => encodeVarint(1n, "fast" as typeof variant)).code).toBe(
          "ErrInvalidArgument",
        );
      });
    });
  }
}
