/**
 * Calls an application starts without awaiting the one before, on one open
 * store: each either completes or throws a typed error with nothing changed,
 * and none sees another's half-done state. Found by a randomized probe of
 * interleavings (writes, removals, syncs, snapshots, consumers, close); each
 * case here is one it found, made deterministic. Run on every engine and adapter.
 */

import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { ExpiredMsg, StreamStore } from "../../src/types.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { putMany, ready, seqs, withStream } from "./consumer-helpers.ts";
import { storeFactories } from "./store-factories.ts";
import { codeOf, enc, testClock, withStore } from "./store-helpers.ts";

const SECOND = 1_000_000_000n;

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

        it("a message an onExpire callback removes, due in the same pass, is skipped: the store that ran the pass neither throws nor leaves the rest unexpired", async () => {
          const clock = testClock(10n * SECOND);
          const heard: number[] = [];
          let target: StreamStore | null = null;
          const onExpire = ({ seq }: ExpiredMsg) => {
            heard.push(seq);
            // Sequence 4 is due in this pass too: an application cleaning up around an expiry.
            if (seq === 1) target?.removeMsg(4);
          };
          await withStore(
            factory,
            { allowMsgTtl: true, now: clock.now, onExpire },
            async (store, fixture) => {
              target = store;
              for (let i = 1; i <= 10; i++)
                store.storeMsg(`t.${i}`, null, enc(`m${i}`), i <= 7 ? 1 : 0);
              clock.t += 2n * SECOND;
              expect(codeOf(() => store.storeMsg("x", null, enc("after")))).toBe("no error");
              expect(heard).toEqual([1, 2, 3, 5, 6, 7]);
              expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 8, lastSeq: 11 });
              expect(store.loadMsg(11).subject).toBe("x");
              if (!factory.supports.persistence) return;
              target = await fixture.reopen();
              expect(target.state()).toMatchObject({ msgs: 4, firstSeq: 8, lastSeq: 11 });
            },
          );
        });

        it("a TTL pass cut short by a throw leaves what it had not removed due for the next pass", async () => {
          const clock = testClock(10n * SECOND);
          const heard: number[] = [];
          const onExpire = ({ seq }: ExpiredMsg) => {
            heard.push(seq);
            // Misuse (onExpire must not throw), but the rest of the pass must not be forgotten.
            if (seq === 2) throw new Error("callback failed");
          };
          await withStore(factory, { allowMsgTtl: true, now: clock.now, onExpire }, (store) => {
            for (let i = 1; i <= 6; i++)
              store.storeMsg(`t.${i}`, null, enc(`m${i}`), i <= 4 ? 1 : 0);
            clock.t += 2n * SECOND;
            expect(codeOf(() => store.storeMsg("x", null, enc("a")))).not.toBe("no error");
            expect(heard).toEqual([1, 2]);
            store.storeMsg("x", null, enc("b"));
            expect(heard).toEqual([1, 2, 3, 4]);
            expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 5, lastSeq: 8 });
          });
        });
      });
    }

    it("FileStore: a checkpoint written inside a TTL pass (a truncate in onExpire) keeps the TTLs the pass has yet to act on, through a power cut", async () => {
      const disk = memoryFileSystem();
      const clock = testClock(10n * SECOND);
      let target: FileStore | null = null;
      const onExpire = ({ seq }: ExpiredMsg) => {
        if (seq === 1) target?.truncate(8);
      };
      const options = { dir: "/s", syncIntervalMs: 0, allowMsgTtl: true, now: clock.now };
      const store = await FileStore.open({ ...options, fs: disk, onExpire });
      target = store;
      for (let i = 1; i <= 10; i++) store.storeMsg(`t.${i}`, null, enc(`m${i}`), i <= 3 ? 1 : 0);
      await store.flush();
      clock.t += 2n * SECOND;
      // The pass removes 1, truncates (its checkpoint recorded at once), then removes 2 and 3,
      // whose tombstones are not yet durable when the power goes.
      store.storeMsg("x", null, enc("after"));
      const reopened = await FileStore.open({ ...options, fs: disk.crash() });
      try {
        // Sequences 2 and 3 come back (their removals were lost) but still expire: their TTLs were in the checkpoint.
        expect(reopened.state()).toMatchObject({ msgs: 5, firstSeq: 4, lastSeq: 8 });
      } finally {
        await reopened.close();
        await store.close().catch(() => {});
      }
    });
  });
}
