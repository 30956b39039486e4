/**
 * Calls an application starts without awaiting the one before, on one open
 * store: each either completes or throws a typed error with nothing changed,
 * and none sees another's half-done state. Found by a randomized probe of
 * interleavings (writes, removals, syncs, snapshots, consumers, close); each
 * case here is one it found, made deterministic. Run on every engine and adapter.
 */
import type { RuntimeContext, TestApi } from "../harness.ts";
import { putMany, ready, seqs, withStream } from "./consumer-helpers.ts";
import { storeFactories } from "./store-factories.ts";
import { codeOf } from "./store-helpers.ts";

export function overlappingCallSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  describe("overlapping calls", () => {
    for (const factory of storeFactories(ctx)) {
      describe(factory.name, () => {
        it("a consumer reopened while its close() is under way is ErrConsumerInUse or resumes; never another code", async () => {
          await withStream(factory, {}, async (store) => {
            putMany(store, "a", 4);
            const c = store.consumer("c");
            expect(seqs(await ready(c, 3))).toEqual([1, 2, 3]);
            c.ack(1);
            const closing = c.close();
            let again: ReturnType<typeof store.consumer> | null = null;
            const code = codeOf(() => {
              again = store.consumer("c");
            });
            // MemStore's consumer store stops at once; a FileStore one first writes its state.
            if (code === "no error") expect(again).not.toBeNull();
            else expect(code).toBe("ErrConsumerInUse");
            await closing;
            const resumed = again ?? store.consumer("c");
            expect(resumed.info().delivered.stream).toBe(3);
            expect(resumed.info().ackFloor.stream).toBe(1);
            expect(store.fastState().consumers).toBe(1);
            await resumed.close();
          });
        });
      });
    }
  });
}
