/**
 * The checkpoint as the only record of a truncate, and a checkpoint written
 * in the middle of a sync round: cases the crash-point workload cannot reach
 * because they need a failed checkpoint write or a round still in flight.
 * Also an open whose clock fails: it must leave no lock or timer behind.
 */
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { TestApi } from "../harness.ts";
import { codeOf, enc } from "./store-helpers.ts";

const dec = new TextDecoder();

export function checkpointOwedSuite({ describe, it, expect }: TestApi): void {
  describe("truncate's checkpoint (memory adapter)", () => {
    it("cuts the holder's file durably: a power cut with the checkpoint gone brings no old tail back beside the new messages", async () => {
      const fs = memoryFileSystem();
      const open = (on = fs) =>
        FileStore.open({ dir: "/s", fs: on, blockSize: 4096, syncIntervalMs: 0 });
      const store = await open();
      for (let i = 1; i <= 12; i++) store.storeMsg("old", null, enc(`old-${i}`.padEnd(200, ".")));
      await store.flush();
      store.truncate(5);
      for (let i = 6; i <= 9; i++) store.storeMsg("new", null, enc(`new-${i}`));
      await store.sync();
      // The checkpoint lost (deleted by hand, say), durably; then the power goes.
      fs.remove("/s/index.ckpt");
      fs.syncDirectory("/s");
      const reopened = await open(fs.crash({ lose: "unsynced" }));
      try {
        const got = [];
        for (let seq = 1; seq <= 9; seq++)
          got.push(dec.decode(reopened.loadMsg(seq).msg).slice(0, 6));
        expect(got).toStrictEqual([
          "old-1.",
          "old-2.",
          "old-3.",
          "old-4.",
          "old-5.",
          "new-6",
          "new-7",
          "new-8",
          "new-9",
        ]);
        expect(reopened.state()).toMatchObject({ msgs: 9, lastSeq: 9, deleted: [] });
      } finally {
        await reopened.close();
        await store.close().catch(() => {});
      }
    });

    it("refuses changes after a truncate whose checkpoint failed until one is written, so a crash keeps a consistent store", async () => {
      const fs = memoryFileSystem();
      const store = await FileStore.open({ dir: "/s", fs, blockSize: 4096, syncIntervalMs: 0 });
      for (let i = 1; i <= 20; i++) store.storeMsg("old", null, enc(`old-${i}`.padEnd(600, ".")));
      await store.flush();
      fs.setFaults({ failWrite: { path: /index\.ckpt\.tmp$/ } });
      expect(codeOf(() => store.truncate(5))).toBe("ErrIO");
      // Still failing: every change is refused and nothing is written.
      expect(codeOf(() => store.storeMsg("new", null, enc("x")))).toBe("ErrIO");
      expect(codeOf(() => store.removeMsg(2))).toBe("ErrIO");
      expect(store.fastState().lastSeq).toBe(5);
      fs.setFaults({ failWrite: null });
      const seqs = [1, 2, 3].map((i) => store.storeMsg("new", null, enc(`new-${i}`)).seq);
      expect(seqs).toStrictEqual([6, 7, 8]);
      await store.sync();
      const reopened = await FileStore.open({
        dir: "/s",
        fs: fs.crash({ lose: "unsynced" }),
        blockSize: 4096,
      });
      try {
        const state = reopened.state();
        expect({ msgs: state.msgs, lastSeq: state.lastSeq, deleted: state.deleted }).toStrictEqual({
          msgs: 8,
          lastSeq: 8,
          deleted: [],
        });
        const got = [6, 7, 8].map((s) => {
          const m = reopened.loadMsg(s);
          return `${m.subject}:${dec.decode(m.msg)}`;
        });
        expect(got).toStrictEqual(["new:new-1", "new:new-2", "new:new-3"]);
        expect(reopened.subjectsTotals(">")).toStrictEqual({ old: 5, new: 3 });
      } finally {
        await reopened.close();
      }
    });

    it("an open consumer follows a truncate whose checkpoint failed: the cut is made, and what is stored there again is delivered", async () => {
      const fs = memoryFileSystem();
      const store = await FileStore.open({ dir: "/s", fs, blockSize: 4096, syncIntervalMs: 0 });
      try {
        for (let i = 1; i <= 8; i++) store.storeMsg("old", null, enc(`old-${i}`.padEnd(600, ".")));
        const consumer = store.consumer("c", { ackWaitMs: 60_000 });
        expect((await consumer.fetch(8, { expiresMs: 0 })).map((m) => m.seq)).toStrictEqual([
          1, 2, 3, 4, 5, 6, 7, 8,
        ]);
        fs.setFaults({ failWrite: { path: /index\.ckpt\.tmp$/ } });
        expect(codeOf(() => store.truncate(5))).toBe("ErrIO");
        fs.setFaults({ failWrite: null });
        expect(store.storeMsg("new", null, enc("new-6")).seq).toBe(6);
        expect(consumer.info()).toMatchObject({
          numAckPending: 5,
          delivered: { consumer: 8, stream: 5 },
        });
        const again = await consumer.fetch(8, { expiresMs: 0 });
        expect(again.map((m) => [m.seq, m.subject, m.deliveryCount])).toStrictEqual([
          [6, "new", 1],
        ]);
      } finally {
        await store.close();
      }
    });

    it("a truncate that an open consumer cannot record is refused before the stream changes; what the consumers forgot comes again (syncAlways)", async () => {
      const fs = memoryFileSystem();
      const store = await FileStore.open({ dir: "/s", fs, syncAlways: true });
      try {
        for (let i = 1; i <= 4; i++) store.storeMsg("old", null, enc(`old-${i}`));
        const [a, b] = [store.consumer("a"), store.consumer("b")];
        for (const c of [a, b]) await c.fetch(4, { expiresMs: 0 });
        fs.setFaults({ failWrite: { path: /consumers\/b\// } });
        expect(codeOf(() => store.truncate(2))).toBe("ErrIO");
        fs.setFaults({ failWrite: null });
        // The consumers' cut comes first: a failure there leaves every message in the stream.
        expect(store.fastState().lastSeq).toBe(4);
        for (const c of [b, a]) {
          expect((await c.fetch(4, { expiresMs: 0 })).map((m) => [m.seq, m.subject])).toStrictEqual(
            [
              [3, "old"],
              [4, "old"],
            ],
          );
        }
        store.truncate(2);
        store.storeMsg("new", null, enc("new-3"));
        for (const c of [b, a]) {
          expect((await c.fetch(4, { expiresMs: 0 })).map((m) => [m.seq, m.subject])).toStrictEqual(
            [[3, "new"]],
          );
        }
      } finally {
        await store.close();
      }
    });

    it("makes a truncate's checkpoint that open read but no one made durable durable at a close that changes nothing", async () => {
      const fs = memoryFileSystem();
      const open = (on = fs) =>
        FileStore.open({ dir: "/s", fs: on, blockSize: 4096, syncIntervalMs: 0 });
      let store = await open();
      for (let i = 1; i <= 12; i++) store.storeMsg("old", null, enc(`old-${i}`.padEnd(200, ".")));
      await store.close();
      const before = fs.readFile("/s/index.ckpt")?.join();
      // The truncate's checkpoint is renamed into place, then its directory's fsync fails
      // (as a process killed right after the rename leaves it): the rename is not durable.
      const renamed = (path: string) =>
        path === "/s" && fs.readFile("/s/index.ckpt")?.join() !== before;
      fs.setFaults({ failSync: { path: renamed } });
      store = await open();
      expect(codeOf(() => store.truncate(5))).toBe("ErrIO");
      await store.close().catch(() => {});
      fs.setFaults({ failSync: null });
      // The next session reads that checkpoint, reads a message and changes nothing.
      store = await open();
      expect(store.state()).toMatchObject({ msgs: 5, lastSeq: 5 });
      expect(dec.decode(store.loadMsg(1).msg).slice(0, 6)).toBe("old-1.");
      await store.close();
      // It closed cleanly: what it saw survives a power cut.
      const reopened = await open(fs.crash({ lose: "unsynced" }));
      try {
        expect(reopened.state()).toMatchObject({ msgs: 5, lastSeq: 5 });
      } finally {
        await reopened.close();
      }
    });

    it("fsyncs blocks whose round is still in flight before a checkpoint vouches for them", async () => {
      const fs = memoryFileSystem();
      const store = await FileStore.open({ dir: "/s", fs, syncIntervalMs: 0 });
      store.storeMsg("a", null, enc("first"));
      await store.flush();
      // The group commit's turn ends, so the next sync() starts its round at once.
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 9; i++) store.storeMsg("a", null, enc(`m${i}`));
      const round = store.sync().catch(() => {});
      for (let i = 0; i < 5; i++) await Promise.resolve();
      // A synchronous checkpoint while that round's fsync has not completed.
      store.truncate(5);
      const after = fs.crash({ lose: "unsynced" });
      await round;
      const reopened = await FileStore.open({ dir: "/s", fs: after, syncIntervalMs: 0 });
      try {
        const state = reopened.state();
        // truncate returned, so 1 … 5 are durable and nothing is lost.
        expect({ lost: state.lost, msgs: state.msgs, lastSeq: state.lastSeq }).toStrictEqual({
          lost: undefined,
          msgs: 5,
          lastSeq: 5,
        });
      } finally {
        await reopened.close();
      }
    });
  });

  describe("open with a clock that fails", () => {
    it("releases the lock and stops its timers when the clock throws at any point of open", async () => {
      const fs = memoryFileSystem();
      let calls = 0;
      const counting = () => {
        calls++;
        return 1_000_000_000n;
      };
      const first = await FileStore.open({ dir: "/c", fs, now: counting, maxAgeMs: 60_000 });
      first.storeMsg("a", null, enc("x"));
      await first.close();
      calls = 0;
      await (await FileStore.open({ dir: "/c", fs, now: counting, maxAgeMs: 60_000 })).close();
      const during = calls;
      expect(during).toBeGreaterThan(0);
      for (let failAt = 1; failAt <= during; failAt++) {
        let n = 0;
        const failing = () => {
          if (++n === failAt) throw new Error("clock broke");
          return 1_000_000_000n;
        };
        const opened = FileStore.open({ dir: "/c", fs, now: failing, maxAgeMs: 60_000 });
        const outcome = await opened.then(
          async (s) => {
            await s.close();
            return "opened";
          },
          () => "failed",
        );
        // Whatever happened, the directory is free again.
        const again = await FileStore.open({ dir: "/c", fs, now: counting });
        expect({ failAt, outcome, msgs: again.fastState().msgs }).toStrictEqual({
          failAt,
          outcome: expect.any(String),
          msgs: 1,
        });
        await again.close();
      }
    });
  });
}
