/**
 * copy-pool.ts: the copies handed to callers are theirs (slab views, 8-byte
 * aligned, large ones on their own buffer), and under Bun a collection is
 * hinted per HINT_BYTES handed out (Bun's collector let dead copies pile up
 * to ~4× Node's peak RSS on a scan).
 */
import { HINT_BYTES } from "../../runtimes/collection-hint.ts";
import { copyOut } from "../../src/copy-pool.ts";
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
