/**
 * Disk full and I/O errors, injected by the memory adapter: a write that
 * hits ENOSPC fails with ErrNoSpace and one that hits EIO with ErrIO, where
 * the store reports it (storeMsg with syncAlways or when it seals a block,
 * sync() and flush() otherwise); meanwhile the store stays consistent and
 * serves reads, takes writes again once the disk recovers, without a
 * restart, and loses nothing acknowledged before. A failed fsync is never
 * reported as success, including when the kernel drops the dirty pages it
 * could not write (fsyncgate): the store must write them again.
 */
import { type FileSystem, joinPath, type OpenMode } from "../../runtimes/fs.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { fromSystemError } from "../../src/errors.ts";
import { FileStore, type FileStoreOptions } from "../../src/filestore/filestore.ts";
import { verifyStore } from "../../src/verify.ts";
import type { TestApi } from "../harness.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { codeOf, codeOfAsync, type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/s";

export function diskErrorSuite(api: TestApi): void {
  const { describe, it, expect } = api;
  type Fault = "noSpace" | "failWrite";
  const codeFor = { noSpace: "ErrNoSpace", failWrite: "ErrIO" } as const;
  /** Makes writes fail; with `room`, a full disk still takes that many bytes first. */
  const inject = (disk: MemoryFileSystem, fault: Fault, room = 0) =>
    fault === "noSpace"
      ? disk.setFaults({ noSpaceAfterBytes: disk.counters.bytesWritten + room })
      : disk.setFaults({ failWrite: {} });
  const heal = (disk: MemoryFileSystem) =>
    disk.setFaults({ noSpaceAfterBytes: null, failWrite: null });

  describe("disk full and I/O errors (memory adapter)", () => {
    for (const fault of ["noSpace", "failWrite"] as const) {
      const code = codeFor[fault];

      it(`reports ${code} from sync() and storeMsg, keeps serving reads and resumes once the disk recovers`, async () => {
        const { disk, clock, ledger, store } = await started();
        inject(disk, fault, 300);
        // Buffered writes go on until a block must be sealed; the failure then reaches the caller.
        const codes = new Set<string>();
        for (let i = 0; i < 120; i++) {
          const state = store.fastState();
          const got = codeOf(() => ledger.store(store, clock));
          codes.add(got);
          if (got !== "no error") {
            // A refused message changes nothing and does not use up its sequence.
            expect(store.fastState()).toStrictEqual(state);
            ledger.written.delete(state.lastSeq + 1);
          }
        }
        expect([...codes].sort()).toStrictEqual([code, "no error"].sort());
        expect(await codeOfAsync(() => store.sync())).toBe(code);
        expect(await codeOfAsync(() => store.flush())).toBe(code);
        // Everything accepted so far is still readable and consistent.
        expectKeepsAcknowledged(expect, store, ledger, `during ${fault}`);
        const live = ledger.live.size;
        expect(store.fastState().msgs).toBe(live);

        heal(disk);
        await ledger.acknowledge(store.sync());
        for (let i = 0; i < 30; i++) ledger.store(store, clock);
        await ledger.acknowledge(store.flush());
        await expectSurvivesPowerCut(disk, clock, ledger, `after ${fault}`, expect);
      });

      it(`refuses a syncAlways write with ${code}, changing nothing, and takes the same sequence once the disk recovers`, async () => {
        const { disk, clock, ledger, store } = await started({ syncAlways: true });
        inject(disk, fault);
        const before = store.state();
        const next = before.lastSeq + 1;
        for (let i = 0; i < 3; i++) {
          expect(codeOf(() => ledger.store(store, clock))).toBe(code);
          expect(store.state()).toStrictEqual(before);
        }
        expect(codeOf(() => store.loadMsg(next))).toBe("ErrStoreEOF");
        heal(disk);
        expect(ledger.store(store, clock)).toBe(next);
        ledger.remove(store, 10);
        for (let i = 0; i < 5; i++) ledger.store(store, clock);
        await expectSurvivesPowerCut(disk, clock, ledger, `syncAlways after ${fault}`, expect);
      });

      it(`keeps removals made while writes fail with ${code} and writes their tombstones once it recovers`, async () => {
        const { disk, clock, ledger, store } = await started();
        inject(disk, fault);
        ledger.remove(store, 3);
        ledger.remove(store, 40, true);
        ledger.compact(store, 8);
        expect(await codeOfAsync(() => store.sync())).toBe(code);
        expectKeepsAcknowledged(expect, store, ledger, `removals during ${fault}`);
        heal(disk);
        await ledger.acknowledge(store.sync());
        await expectSurvivesPowerCut(disk, clock, ledger, `removals after ${fault}`, expect);
      });
    }

    for (const fault of ["noSpace", "failWrite"] as const) {
      const code = codeFor[fault];

      it(`with syncAlways, keeps a removal that hit ${code} in effect, reports it, and makes it durable with the next write`, async () => {
        const { disk, clock, ledger, store } = await started({ syncAlways: true });
        inject(disk, fault);
        expect(codeOf(() => ledger.remove(store, 10))).toBe(code);
        expect(codeOf(() => ledger.remove(store, 20, true))).toBe(code);
        expect(codeOf(() => ledger.compact(store, 5))).toBe(code);
        // Not durable yet, but in effect: a removed message never comes back.
        for (const seq of [3, 10, 20]) {
          expect(codeOf(() => store.loadMsg(seq))).toBe("ErrStoreMsgNotFound");
        }
        expectKeepsAcknowledged(expect, store, ledger, `syncAlways removals during ${fault}`);
        heal(disk);
        ledger.store(store, clock);
        await expectSurvivesPowerCut(
          disk,
          clock,
          ledger,
          `syncAlways removals after ${fault}`,
          expect,
        );
      });

      for (const syncAlways of [false, true]) {
        it(`purges while writes fail with ${code} (syncAlways ${syncAlways}) and keeps the purge once the disk recovers`, async () => {
          const { disk, clock, ledger, store } = await started({ syncAlways });
          inject(disk, fault);
          expect(codeOf(() => ledger.purgeAll(store))).toBe(code);
          expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 61, lastSeq: 60 });
          heal(disk);
          ledger.store(store, clock);
          await ledger.acknowledge(store.sync());
          expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 61, lastSeq: 61 });
          await expectSurvivesPowerCut(disk, clock, ledger, `purge after ${fault}`, expect);
        });
      }
    }

    it("refuses a write with ErrNoSpace when a new block file cannot be created, changing nothing", async () => {
      const disk = memoryFileSystem({ seed: 5 });
      disk.mkdir(DIR);
      disk.syncDirectory("/");
      let full = false;
      // The memory adapter fails writes only; a full directory fails the create itself.
      const fs: FileSystem = {
        name: disk.name,
        open: (path: string, mode: OpenMode) => {
          if (full && mode === "create" && path.endsWith(".blk") && disk.stat(path) === null) {
            const cause = Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
            throw fromSystemError(cause, "open", path);
          }
          return disk.open(path, mode);
        },
        stat: (path) => disk.stat(path),
        mkdir: (path) => disk.mkdir(path),
        list: (path) => disk.list(path),
        rename: (from, to) => disk.rename(from, to),
        remove: (path) => disk.remove(path),
        removeAsync: (path) => disk.removeAsync(path),
        syncDirectory: (path) => disk.syncDirectory(path),
        lock: (dir) => disk.lock(dir),
      };
      const clock = testClock();
      const ledger = new Ledger();
      const store = await FileStore.open({
        dir: DIR,
        fs,
        blockSize: 4096,
        syncIntervalMs: 0,
        now: clock.now,
      });
      for (let i = 0; i < 20; i++) ledger.store(store, clock);
      await ledger.acknowledge(store.sync());
      full = true;
      let refused = 0;
      for (let i = 0; i < 60; i++) {
        const before = store.state();
        const code = codeOf(() => ledger.store(store, clock));
        if (code === "no error") continue;
        expect(code).toBe("ErrNoSpace");
        expect(store.state()).toStrictEqual(before);
        ledger.written.delete(before.lastSeq + 1);
        refused++;
      }
      expect(refused).toBeGreaterThan(0);
      const before = store.state();
      expect(codeOf(() => store.purge())).toBe("ErrNoSpace");
      expect(store.state()).toStrictEqual(before);
      expectKeepsAcknowledged(expect, store, ledger, "while no block can be created");
      full = false;
      for (let i = 0; i < 40; i++) ledger.store(store, clock);
      await ledger.acknowledge(store.flush());
      await expectSurvivesPowerCut(disk, clock, ledger, "after block creation failed", expect);
    });

    it("keeps a consumer's deliveries awaiting their acks when a purge told to it is refused for want of a block file", async () => {
      const disk = memoryFileSystem({ seed: 6 });
      let full = false;
      const fs: FileSystem = {
        name: disk.name,
        open: (path: string, mode: OpenMode) => {
          if (full && mode === "create" && path.endsWith(".blk") && disk.stat(path) === null) {
            const cause = Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
            throw fromSystemError(cause, "open", path);
          }
          return disk.open(path, mode);
        },
        stat: (path) => disk.stat(path),
        mkdir: (path) => disk.mkdir(path),
        list: (path) => disk.list(path),
        rename: (from, to) => disk.rename(from, to),
        remove: (path) => disk.remove(path),
        removeAsync: (path) => disk.removeAsync(path),
        syncDirectory: (path) => disk.syncDirectory(path),
        lock: (dir) => disk.lock(dir),
      };
      const store = await FileStore.open({ dir: DIR, fs, syncIntervalMs: 0 });
      try {
        for (let i = 0; i < 3; i++) store.storeMsg("s", null, new Uint8Array(10));
        const consumer = store.consumer("c", { maxAckPending: 2, ackWaitMs: 60_000 });
        expect((await consumer.fetch(2, { expiresMs: 0 })).map((m) => m.seq)).toStrictEqual([1, 2]);
        full = true;
        // The purge tells the consumers before it makes the block it needs, then is refused.
        expect(codeOf(() => store.purge())).toBe("ErrNoSpace");
        full = false;
        // Past the settle's microtask: the messages are still there, so are their deliveries.
        await new Promise((resolve) => setTimeout(resolve, 0));
        expect(store.fastState().msgs).toBe(3);
        expect(consumer.info().numAckPending).toBe(2);
        expect((await consumer.fetch(1, { expiresMs: 0 })).length).toBe(0);
        consumer.ack(1);
        consumer.ack(2);
        expect(consumer.info().ackFloor).toStrictEqual({ consumer: 2, stream: 2 });
      } finally {
        await store.close();
      }
    });

    for (const where of [
      "at a roll",
      "at the first write after an open that left the last block unread",
    ]) {
      it(`leaves no damage behind when a full disk cuts a new sealed block's header short ${where}`, async () => {
        const disk = memoryFileSystem({ seed: 5 });
        const key = new Uint8Array(32).fill(9);
        const options = { cipher: "chacha20-poly1305", key, syncAlways: true } as const;
        const clock = testClock();
        let store = await open(disk, clock, options);
        const files = () => disk.list(joinPath(DIR, "msgs")).length;
        // Messages of one size: a block holds `perBlock` of them, and the next one starts a block.
        const untilRoll = () => {
          const before = files();
          let stored = 0;
          while (files() === before) {
            store.storeMsg("s", null, new Uint8Array(100));
            stored++;
          }
          return stored;
        };
        untilRoll();
        const perBlock = untilRoll();
        for (let i = 1; i < perBlock; i++) store.storeMsg("s", null, new Uint8Array(100));
        if (where !== "at a roll") {
          await store.close();
          store = await open(disk, clock, options);
        }
        const before = store.state();
        disk.setFaults({ noSpaceAfterBytes: disk.counters.bytesWritten + 5 });
        expect(codeOf(() => store.storeMsg("s", null, new Uint8Array(100)))).toBe("ErrNoSpace");
        disk.setFaults({ noSpaceAfterBytes: null });
        expect(store.state()).toStrictEqual(before);
        await store.close();
        store = await open(disk, clock, options);
        expect(store.state().lost).toBeUndefined();
        await store.close();
        const report = verifyStore(DIR, { fs: disk, key });
        expect({ ok: report.ok, damaged: report.damaged }).toStrictEqual({ ok: true, damaged: [] });
      });
    }

    it("keeps serving reads after a failed read and reports ErrIO for it", async () => {
      const { disk, clock, ledger, store } = await started({ cacheBytes: 0 });
      await store.close();
      const reopened = await open(disk, clock, { cacheBytes: 0 });
      disk.setFaults({ failRead: { index: disk.counters.reads + 1 } });
      expect(codeOf(() => reopened.loadMsg(20))).toBe("ErrIO");
      expectKeepsAcknowledged(expect, reopened, ledger, "after a failed read");
      await reopened.close();
    });

    for (const [cacheBytes, syncInline] of [
      [undefined, false],
      [0, false],
      [undefined, true],
    ] as const) {
      const cache = `${cacheBytes === 0 ? "read back from the file" : "from the cache"}${syncInline ? ", syncInline" : ""}`;
      it(`never reports a failed fsync as success when the kernel dropped what it could not write (sealed blocks ${cache})`, async () => {
        const { disk, clock, ledger, store } = await started({ cacheBytes, syncInline });
        disk.setFaults({ failSync: {}, dropUnsyncedOnSyncFailure: true });
        // Enough to seal blocks while every fsync fails and drops its pages.
        for (let i = 0; i < 80; i++) ledger.store(store, clock);
        ledger.remove(store, 30, true);
        expect(await codeOfAsync(() => store.sync())).toBe("ErrIO");
        for (let i = 0; i < 10; i++) ledger.store(store, clock);
        expect(await codeOfAsync(() => store.flush())).toBe("ErrIO");
        expectKeepsAcknowledged(expect, store, ledger, "while fsync fails");
        disk.setFaults({ failSync: null });
        await ledger.acknowledge(store.sync());
        await expectSurvivesPowerCut(disk, clock, ledger, `fsyncgate, ${cache}`, expect);
      });
    }

    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 5 + 3);
    for (const [name, atRest] of [
      ["chacha20-poly1305 + snappy", { cipher: "chacha20-poly1305", compression: "snappy" }],
      ["aes-256-gcm", { cipher: "aes-256-gcm", compression: "none" }],
      ["snappy", { compression: "snappy" }],
    ] as const) {
      for (const syncInline of [false, true]) {
        it(`writes a new ${name} block's header again when the kernel dropped it with a failed first fsync${syncInline ? " (syncInline)" : ""}`, async () => {
          const keyed = "cipher" in atRest ? { key: key.slice() } : {};
          const extra = { syncInline, ...atRest, ...keyed };
          const { disk, clock, ledger, store } = await started(extra);
          disk.setFaults({ failSync: {}, dropUnsyncedOnSyncFailure: true });
          // New blocks are created (their sealed headers written) while every fsync fails.
          for (let i = 0; i < 80; i++) ledger.store(store, clock);
          expect(await codeOfAsync(() => store.sync())).toBe("ErrIO");
          disk.setFaults({ failSync: null });
          await ledger.acknowledge(store.sync());
          const reopen = "cipher" in atRest ? { key: key.slice() } : {};
          await expectSurvivesPowerCut(disk, clock, ledger, `fsyncgate, ${name}`, expect, reopen);
        });
      }
    }
  });
}

/** A store on a fresh memory disk holding 60 acknowledged messages over a few blocks. */
async function started(extra?: Partial<FileStoreOptions>): Promise<{
  disk: MemoryFileSystem;
  clock: TestClock;
  ledger: Ledger;
  store: FileStore;
}> {
  const disk = memoryFileSystem({ seed: 3 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  const clock = testClock();
  const ledger = new Ledger({ syncAlways: extra?.syncAlways ?? false });
  const store = await open(disk, clock, extra);
  for (let i = 0; i < 60; i++) ledger.store(store, clock);
  await ledger.acknowledge(store.sync());
  return { disk, clock, ledger, store };
}

function open(
  fs: MemoryFileSystem,
  clock: TestClock,
  extra?: Partial<FileStoreOptions>,
): Promise<FileStore> {
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    now: clock.now,
    ...extra,
  });
}

/** Cuts the power now, reopens and checks every acknowledgement held. */
async function expectSurvivesPowerCut(
  disk: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
  where: string,
  expect: TestApi["expect"],
  extra?: Partial<FileStoreOptions>,
): Promise<void> {
  const after = disk.crash({ lose: "unsynced" });
  const reopened = await open(after, clock, extra);
  expectKeepsAcknowledged(expect, reopened, ledger, where);
  expect(reopened.state().lost).toBeUndefined();
  await reopened.close();
}
