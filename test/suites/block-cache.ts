/**
 * block-cache.ts: the budget holds, a block hit since the last sweep gets a
 * second chance, and blocks that came in provisionally (sealed by a writer,
 * read by a pass) hold at most PROVISIONAL_SHARE of the budget until another
 * read promotes them, oldest out first.
 */
import { BlockCache, PROVISIONAL_SHARE } from "../../src/filestore/block-cache.ts";
import type { TestApi } from "../harness.ts";

export function blockCacheSuite({ describe, it, expect }: TestApi): void {
  describe("block cache", () => {
    const putNew = (cache: BlockCache, n: number, length: number, provisional = false) =>
      cache.put(n, cache.reserve(length), length, provisional);
    const held = (cache: BlockCache, upTo: number) =>
      Array.from({ length: upTo }, (_, n) => n).filter((n) => cache.holds(n));

    it("stays within its budget and evicts a block not hit since the last sweep first", () => {
      const cache = new BlockCache(4000);
      for (let n = 0; n < 4; n++) putNew(cache, n, 1000);
      expect(cache.bytes).toBe(4000);
      cache.get(0);
      cache.get(2);
      putNew(cache, 4, 1000);
      // 0 was hit: 1 goes instead.
      expect(held(cache, 5)).toStrictEqual([0, 2, 3, 4]);
      // The sweep unflagged 0 on its way: now 3 and 0 go for a block of 2000.
      putNew(cache, 5, 2000);
      expect(held(cache, 6)).toStrictEqual([2, 4, 5]);
      expect(cache.bytes).toBe(4000);
      // Every block hit: the sweep clears them all and evicts in order from there.
      for (const n of [2, 4, 5]) cache.get(n);
      putNew(cache, 6, 1000);
      expect(held(cache, 7)).toStrictEqual([2, 5, 6]);
      cache.clear();
      expect(cache.bytes).toBe(0);
    });

    it("keeps a block larger than the budget alone, and nothing with a budget of 0", () => {
      const cache = new BlockCache(1000);
      putNew(cache, 1, 500);
      putNew(cache, 2, 3000);
      expect(held(cache, 3)).toStrictEqual([2]);
      const none = new BlockCache(0);
      putNew(none, 1, 10);
      expect(none.bytes).toBe(10);
      putNew(none, 2, 10);
      expect(held(none, 3)).toStrictEqual([2]);
      cache.clear();
      none.clear();
    });

    it("holds provisional blocks to PROVISIONAL_SHARE until a read promotes them, oldest out first", () => {
      const block = PROVISIONAL_SHARE / 4;
      const cache = new BlockCache(16 * block);
      putNew(cache, 0, block);
      for (let n = 1; n <= 6; n++) putNew(cache, n, block, true);
      // Four provisional blocks fit the share; 1 and 2 went, the block read in fully stayed.
      expect(held(cache, 7)).toStrictEqual([0, 3, 4, 5, 6]);
      // A pass's hit promotes nothing; another read does: 3 no longer takes the share.
      cache.get(4, false);
      cache.get(3);
      for (let n = 7; n <= 9; n++) putNew(cache, n, block, true);
      expect(held(cache, 10)).toStrictEqual([0, 3, 6, 7, 8, 9]);
      expect(cache.bytes).toBe(6 * block);
      cache.drop(7);
      putNew(cache, 10, block, true);
      expect(held(cache, 11)).toStrictEqual([0, 3, 6, 8, 9, 10]);
      cache.clear();
    });
  });
}
