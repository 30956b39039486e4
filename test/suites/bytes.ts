/**
 * `sameBytes` (src/bytes.ts), the byte comparison every store module shares,
 * against a reference written here from its definition over random arrays,
 * offsets and lengths, runs that are alike often, and the ranges that run
 * past either array's end.
 */
import fc from "fast-check";
import { sameBytes } from "../../src/bytes.ts";
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
}
