/**
 * copy-pool.ts: the copies handed to callers are theirs (slab views, 8-byte
 * aligned, large ones on their own buffer), and under Bun a collection is
 * hinted per HINT_BYTES handed out (Bun's collector let dead copies pile up
 * to ~4× Node's peak RSS on a scan).
 */
import { HINT_BYTES } from "../../runtimes/collection-hint.ts";
import { copyAhead, copyOut, forgetAhead } from "../../src/copy-pool.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { watchBunGc } from "./store-helpers.ts";

export function copyPoolSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("copy pool", () => {
    it("hands out copies the caller owns, 8-byte aligned, large ones on their own buffer", () => {
      const src = new Uint8Array(4096).map((_, i) => i & 0xff);
      const a = copyOut(src, 3, 10);
      const b = copyOut(src, 100, 229);
      const big = copyOut(src, 0, 2000);
      src.fill(0);
      expect([...a]).toStrictEqual([3, 4, 5, 6, 7, 8, 9]);
      expect(b.length).toBe(129);
      expect(b[0]).toBe(100);
      expect(b.byteOffset % 8).toBe(0);
      expect(big.buffer.byteLength).toBe(2000);
      expect(big[1999]).toBe(1999 & 0xff);
    });

    it("copies ahead for a scan, never hands the same bytes out twice, and forgets on request", () => {
      const src = new Uint8Array(40_000).map((_, i) => (i * 7) & 0xff);
      const owner = {};
      const expected = (from: number, to: number) => [...src.slice(from, to)];
      const a = copyAhead(src, 100, 228, src.length, owner);
      const b = copyAhead(src, 240, 368, src.length, owner);
      // b came from the run a's copy made: one buffer, no new one.
      expect(b.buffer).toBe(a.buffer);
      src.fill(1, 0, 20_000);
      expect([...b]).not.toStrictEqual(expected(240, 368));
      b.fill(9);
      // Bytes handed out already (or behind them) are copied again, as they are now.
      const again = copyAhead(src, 240, 368, src.length, owner);
      expect(again.buffer).not.toBe(a.buffer);
      expect([...again]).toStrictEqual(expected(240, 368));
      // Another owner, or past the run's end (`end` bounds what is copied): a fresh copy.
      expect(copyAhead(src, 400, 500, src.length, {}).buffer).not.toBe(again.buffer);
      const short = copyAhead(src, 30_000, 30_100, 30_150, owner);
      expect(short.buffer.byteLength).toBe(150);
      expect(copyAhead(src, 30_100, 30_200, 30_150, owner).buffer).not.toBe(short.buffer);
      // After forgetAhead, nothing is served from what was copied before.
      const run = copyAhead(src, 21_000, 21_010, src.length, owner);
      forgetAhead();
      src[21_020] = 77;
      const next = copyAhead(src, 21_020, 21_030, src.length, owner);
      expect(next.buffer).not.toBe(run.buffer);
      expect(next[0]).toBe(77);
      // A transferred run is not served from.
      const moved = copyAhead(src, 22_000, 22_010, src.length, owner);
      const buffer = moved.buffer as ArrayBuffer;
      structuredClone(buffer, { transfer: [buffer] });
      expect([...copyAhead(src, 22_020, 22_030, src.length, owner)]).toStrictEqual(
        expected(22_020, 22_030),
      );
    });

    if (ctx.runtime === "bun") {
      it("asks Bun for a collection once per HINT_BYTES handed out", () => {
        const { calls, restore } = watchBunGc();
        try {
          const src = new Uint8Array(1024);
          // Up to the first hint, wherever earlier copies left the count.
          for (let n = 0; calls.length === 0 && n <= HINT_BYTES; n += 128) copyOut(src, 0, 128);
          expect(calls.length).toBe(1);
          for (let n = 128; n < 3 * HINT_BYTES; n += 128) copyOut(src, 0, 128);
          expect(calls.length).toBe(3);
          copyOut(src, 0, 128);
          expect(calls.length).toBe(4);
          expect(calls.every((force) => force === false)).toBe(true);
        } finally {
          restore();
        }
      });
    }
  });
}
