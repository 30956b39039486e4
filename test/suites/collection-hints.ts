/**
 * Under Bun, calls whose results are garbage to most callers (storeMsg's
 * result, polled count queries, subjectsState) hint a collection per
 * HINT_BYTES they allocate: Bun's collector let them pile up to 1.3–1.7× of
 * Node's peak RSS in W1 and W6. Node and Deno get no hint.
 */
import { HINT_BYTES } from "../../runtimes/collection-hint.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { inTempDir, watchBunGc } from "./store-helpers.ts";

export function collectionHintSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  if (ctx.runtime !== "bun") return;
  const payload = new Uint8Array(16);

  /** The Bun.gc calls `work` makes. */
  const hintsOf = (work: () => void): boolean[] => {
    const { calls, restore } = watchBunGc();
    try {
      work();
    } finally {
      restore();
    }
    return calls;
  };

  describe("collection hints (Bun)", () => {
    it("storeMsg hints a collection about every 65,536 messages", () =>
      inTempDir(ctx.adapters[0], async (dir) => {
        const store = await FileStore.open({ dir, fs: ctx.adapters[0].fs, syncIntervalMs: 0 });
        const perHint = HINT_BYTES / 64;
        const calls = hintsOf(() => {
          for (let i = 0; i < 2 * perHint + 1; i++) store.storeMsg("s", null, payload);
        });
        await store.close();
        expect(calls.length).toBeGreaterThanOrEqual(2);
        expect(calls.length).toBeLessThanOrEqual(3);
        expect(calls.every((force) => force === false)).toBe(true);
      }));

    it("polled filteredState, numPending and subjectsState hint collections", () =>
      inTempDir(ctx.adapters[0], async (dir) => {
        const store = await FileStore.open({ dir, fs: ctx.adapters[0].fs, syncIntervalMs: 0 });
        for (let i = 0; i < 1000; i++) store.storeMsg(`orders.${i}`, null, payload);
        const polls = (2 * HINT_BYTES) / 256 + 1;
        const filtered = hintsOf(() => {
          for (let i = 0; i < polls; i++) store.filteredState(1, "orders.7");
        });
        const pending = hintsOf(() => {
          for (let i = 0; i < polls; i++) store.numPending(1, "orders.*", true);
        });
        // 1,000 subjects a call: about 96 KB of results.
        const subjects = hintsOf(() => {
          for (let i = 0; i < 100; i++) store.subjectsState("orders.*");
        });
        await store.close();
        for (const calls of [filtered, pending, subjects]) {
          expect(calls.length).toBeGreaterThanOrEqual(2);
          expect(calls.every((force) => force === false)).toBe(true);
        }
      }));
  });
}
