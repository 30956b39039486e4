/**
 * `sameBytes` (src/bytes.ts), the byte comparison every store module shares,
 * against a reference written here from its definition over random arrays,
 * offsets and lengths, runs that are alike often, and the ranges that run
 * past either array's end; `equalBytes`, the whole-array comparison taken a
 * word at a time, over views at every alignment.
 */
import fc from "fast-check";
import { equalBytes, sameBytes } from "../../src/bytes.ts";
import type { TestApi } from "../harness.ts";

/** The definition: both ranges within their arrays, byte for byte the same. */
function reference(a: Uint8Array, ao: number, b: Uint8Array, bo: number, length: number): boolean {
  if (ao + length > a.length || bo + length > b.length) return false;
  return a.slice(ao, ao + length).join() === b.slice(bo, bo + length).join();
}

/** Small alphabets, so that equal runs are common. */
const bytes = fc.uint8Array({ maxLength: 24, max: 2 });

export function bytesSuite({ describe, it, expect }: TestApi): void {
  describe("sameBytes", () => {
    it("agrees with its definition at any offsets and lengths", () => {
      fc.assert(
        fc.property(bytes, bytes, fc.nat(26), fc.nat(26), fc.nat(26), (a, b, ao, bo, length) => {
          expect(sameBytes(a, ao, b, bo, length)).toBe(reference(a, ao, b, bo, length));
        }),
        { numRuns: 2000 },
      );
    });

    it("compares the runs at the offsets given, within one array too", () => {
      const u8 = Uint8Array.of(9, 1, 2, 3, 7, 1, 2, 3, 1, 2, 4);
      expect(sameBytes(u8, 1, u8, 5, 3)).toBe(true);
      expect(sameBytes(u8, 1, u8, 8, 3)).toBe(false);
      expect(sameBytes(u8, 0, Uint8Array.of(1, 2, 3), 0, 3)).toBe(false);
      expect(sameBytes(u8, 5, Uint8Array.of(1, 2, 3), 0, 3)).toBe(true);
      expect(sameBytes(u8, 3, u8, 9, 0)).toBe(true);
    });

    it("is false where a range runs past its array's end, even over equal bytes", () => {
      const a = Uint8Array.of(1, 2, 3);
      expect(sameBytes(a, 1, a, 1, 3)).toBe(false);
      expect(sameBytes(a, 0, Uint8Array.of(1, 2), 0, 3)).toBe(false);
      expect(sameBytes(Uint8Array.of(1, 2), 0, a, 0, 3)).toBe(false);
      expect(sameBytes(a, 3, a, 3, 0)).toBe(true);
      expect(sameBytes(a, 4, a, 0, 0)).toBe(false);
    });
  });
  describe("equalBytes", () => {
    it("agrees with its definition over views at any alignment, differing anywhere or in length", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 40, max: 2 }),
          fc.nat(3),
          fc.nat(3),
          fc.option(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 255 }))),
          fc.boolean(),
          (content, aShift, bShift, change, shorter) => {
            // The same content in two buffers, at offsets of every alignment.
            const a = new Uint8Array(content.length + aShift).subarray(aShift);
            const b = new Uint8Array(content.length + bShift).subarray(bShift);
            a.set(content);
            b.set(content);
            if (change !== null && content.length > 0) b[change[0] % content.length] ^= change[1];
            const other = shorter && b.length > 0 ? b.subarray(0, b.length - 1) : b;
            expect(equalBytes(a, other)).toBe(a.join() === other.join());
          },
        ),
      );
    });
  });
}
