/**
 * A power cut that loses the stream's unsynced tail after a consumer synced
 * its deliveries of it: the stream reopens with a lower last sequence and
 * hands those sequences out again. A consumer left closed meanwhile must
 * count what is stored there as new, as an open one does at its open:
 * its interest covers it (another consumer's ack does not take it) and
 * opened again it is given it, through a second power cut too. FileStore
 * with the memory adapter: MemStore has no power cut.
 */
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RetentionPolicy, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { msClock, putMany, ready, seqs } from "./consumer-helpers.ts";
import { snapshot } from "./store-helpers.ts";

function live(store: StreamStore): number[] {
  return snapshot(store).msgs.map((m) => m.seq);
}

export function consumerLostTailCrashTests({ describe, it, expect }: TestApi): void {
  describe("a closed consumer and the stream's tail lost to a power cut (FileStore, memory adapter)", () => {
    for (const retention of ["interest", "limits"] as RetentionPolicy[]) {
      it(`${retention}: what is stored again where the lost tail was reaches a consumer that delivered the tail and stayed closed`, async () => {
        const clock = msClock();
        const open = (fs: MemoryFileSystem) =>
          FileStore.open({ dir: "/s", fs, now: clock.now, syncIntervalMs: 0, retention });
        const disk = memoryFileSystem({ seed: 1 });
        const store = await open(disk);
        const c = store.consumer("c");
        // d's interest keeps everything until it acks it.
        const d = store.consumer("d", { ackWaitMs: 60_000 });
        putMany(store, "a", 3);
        await store.sync();
        await d.close();
        putMany(store, "a", 3);
        for (const m of await ready(c)) c.ack(m.seq);
        // c's state holds 4..6 delivered and acked; the stream never synced them.
        await c.sync();
        const after = disk.crash({ lose: "unsynced" });
        let back = await open(after);
        expect(back.state().lastSeq).toBe(3);
        const stored = putMany(back, "b", 3);
        expect(stored).toEqual([4, 5, 6]);
        const other = back.consumer("d", { ackWaitMs: 60_000 });
        for (const m of await ready(other)) other.ack(m.seq);
        // c has not seen 4..6: its interest keeps them (1..3 it acked go).
        if (retention === "interest") expect(live(back)).toEqual([4, 5, 6]);
        await back.sync();
        // What c forgot must be on disk: a second power cut keeps what was synced.
        back = await open(after.crash({ lose: "unsynced" }));
        expect(seqs(await ready(back.consumer("c")))).toEqual(stored);
        await back.close();
        await store.close().catch(() => {});
      });
    }
  });
}
