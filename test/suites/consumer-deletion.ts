/**
 * Deleting a consumer of an interest stream is all or nothing, across
 * crashes and failures (durables.ts `delete`, README "Retention"): once the
 * stream reopens, the consumer is either there with every message it had
 * not taken, or gone with every message no other consumer wants.
 *
 * - Power cuts (memory adapter) at every change and inside every write from
 *   the delete() on: the decision's record, the removals and their sync,
 *   messages stored while the delete is under way, the files' removal, the
 *   writes after it and the close. The survivor is judged after its open
 *   (which finishes a deletion a cut left) and once more after a second open.
 * - Failures (every adapter, through a wrapper that fails one kind of call):
 *   one after the decision leaves the name taken until another delete() or
 *   the stream's next open finishes it; one that keeps the decision from
 *   being recorded changes nothing.
 * - On an interest stream a message no consumer wants is never written,
 *   through `storeMsg` or `storeRawMsg`, so no power cut can keep it (the
 *   stored-then-removed message of before could outlive a cut between its
 *   fsync and its removal's).
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { type LoseMode, type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import type { Consumer } from "../../src/consumers/consumer.ts";
import type { ConsumerOptions } from "../../src/consumers/consumer-options.ts";
import { isJetStoreError, JetStoreError } from "../../src/errors.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StreamStore } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";

const DIR = "/s";
/** `a` alone wants d.a; both want d.b. */
const A: ConsumerOptions = { filter: "d.*", ackWaitMs: 60_000 };
const B: ConsumerOptions = { filter: "d.b", ackWaitMs: 60_000 };

function payload(n: number): Uint8Array {
  return Uint8Array.from({ length: 40 + (n % 7) * 9 }, (_, i) => (n * 31 + i) & 0xff);
}

/** Live sequences with their subjects. */
function live(store: StreamStore): Map<number, string> {
  const out = new Map<number, string>();
  const { firstSeq, lastSeq, msgs } = store.fastState();
  if (msgs === 0) return out;
  for (let seq = firstSeq; seq <= lastSeq; seq++) {
    try {
      out.set(seq, store.loadMsg(seq).subject);
    } catch {}
  }
  return out;
}

/** What the crash script learned before its delete, for the judge. */
interface Before {
  /** Synced, not acknowledged by `a`: `a` still wanted them. */
  neededByA: number[];
  /** Synced d.b messages `b` had not acknowledged. */
  neededByB: number[];
  changes: number;
  writes: number;
  /** The delete() resolved. */
  deleted: boolean;
  /** The last sequence a store call returned for (unwanted scripts). */
  stored: number;
}

async function openMem(fs: FileSystem, syncAlways = false): Promise<FileStore> {
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    retention: "interest",
    syncAlways,
  });
}

async function deleteScript(fs: MemoryFileSystem, before: Before): Promise<void> {
  const store = await openMem(fs);
  try {
    const a = store.consumer("a", A);
    const b = store.consumer("b", B);
    for (let i = 0; i < 24; i++) store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, payload(i));
    await store.sync();
    const ackedByA = new Set<number>();
    for (const m of await a.fetch(10, { expiresMs: 0 })) {
      if (m.seq % 3 === 0) {
        a.ack(m.seq);
        ackedByA.add(m.seq);
      }
    }
    const ackedByB = new Set<number>();
    for (const m of await b.fetch(4, { expiresMs: 0 })) {
      b.ack(m.seq);
      ackedByB.add(m.seq);
    }
    await a.sync();
    await b.sync();
    await store.sync();
    const held = live(store);
    before.neededByA = [...held.keys()].filter((seq) => !ackedByA.has(seq));
    before.neededByB = [...held]
      .filter(([seq, subject]) => subject === "d.b" && !ackedByB.has(seq))
      .map(([seq]) => seq);
    before.changes = fs.changes;
    before.writes = fs.counters.writes;
    const deleting = a.delete();
    // A cut may end the script before it is awaited: its failure is the cut's.
    deleting.catch(() => {});
    // Stored while the delete is under way, then made durable: `a` wants none of them.
    for (let i = 0; i < 6; i++) store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, payload(50 + i));
    await store.sync();
    await deleting;
    before.deleted = true;
    store.storeMsg("d.a", null, payload(90));
    store.storeMsg("d.b", null, payload(91));
    await store.sync();
  } finally {
    await store.close().catch(() => {});
  }
}

/** What is wrong with a survivor of a cut in `deleteScript`, opened. */
function judgeDeletion(store: FileStore, fs: FileSystem, before: Before): string[] {
  const problems: string[] = [];
  const present = fs.stat(`${DIR}/consumers/a`) !== null;
  const held = live(store);
  if (present) {
    if (before.deleted) problems.push("a: delete() resolved, consumer back");
    for (const seq of before.neededByA) {
      if (!held.has(seq)) problems.push(`${seq}: a is there and still wanted it, gone`);
    }
  } else {
    for (const [seq, subject] of held) {
      if (subject === "d.a") problems.push(`${seq}: d.a outlived the deletion of a`);
    }
  }
  for (const seq of before.neededByB) {
    if (!held.has(seq)) problems.push(`${seq}: b still wanted it, gone`);
  }
  return problems;
}

/** Stores what a consumer wants and what none does, each durable before it returns. */
async function unwantedScript(fs: MemoryFileSystem, before: Before): Promise<void> {
  const store = await openMem(fs, true);
  try {
    store.consumer("w", { filter: "w" });
    before.changes = fs.changes;
    before.writes = fs.counters.writes;
    for (let i = 0; i < 6; i++) {
      const { seq } = store.storeMsg(i % 2 === 0 ? "w" : "x", null, payload(i));
      if (i % 2 === 0) before.neededByA.push(seq);
      before.stored = seq;
    }
  } finally {
    await store.close().catch(() => {});
  }
}

/**
 * `unwantedScript` through `storeRawMsg` (restore's, `import --keep-seq`'s
 * and the NATS mirror's write), each message at the next sequence with a
 * time of its own.
 */
async function unwantedRawScript(fs: MemoryFileSystem, before: Before): Promise<void> {
  const store = await openMem(fs, true);
  try {
    store.consumer("w", { filter: "w" });
    before.changes = fs.changes;
    before.writes = fs.counters.writes;
    for (let i = 0; i < 6; i++) {
      const seq = store.fastState().lastSeq + 1;
      store.storeRawMsg(i % 2 === 0 ? "w" : "x", null, payload(i), seq, BigInt(1000 + i));
      if (i % 2 === 0) before.neededByA.push(seq);
      before.stored = seq;
    }
  } finally {
    await store.close().catch(() => {});
  }
}

function judgeUnwanted(store: FileStore, _fs: FileSystem, before: Before): string[] {
  const problems: string[] = [];
  const held = live(store);
  for (const [seq, subject] of held) {
    if (subject !== "w") problems.push(`${seq}: ${subject}, wanted by no consumer, kept`);
  }
  for (const seq of before.neededByA) {
    if (!held.has(seq)) problems.push(`${seq}: stored with syncAlways, lost`);
  }
  // A skip is durable when its call returns, as a message is: its sequence is never handed out again.
  const { lastSeq } = store.fastState();
  if (lastSeq < before.stored) problems.push(`last ${lastSeq}: ${before.stored} was stored`);
  return problems;
}

interface CrashCase {
  name: string;
  syncAlways: boolean;
  script(fs: MemoryFileSystem, before: Before): Promise<void>;
  judge(store: FileStore, fs: FileSystem, before: Before): string[];
  /** Cut points from the script's mark on, at least. */
  minPoints: { changes: number; writes: number };
}

const CASES: CrashCase[] = [
  {
    name: "deleting a consumer: there with its messages or gone with them",
    syncAlways: false,
    script: deleteScript,
    judge: judgeDeletion,
    minPoints: { changes: 15, writes: 2 },
  },
  {
    name: "a message no consumer wants is never kept",
    syncAlways: true,
    script: unwantedScript,
    judge: judgeUnwanted,
    minPoints: { changes: 8, writes: 5 },
  },
  {
    name: "a message no consumer wants, stored raw, is never kept",
    syncAlways: true,
    script: unwantedRawScript,
    judge: judgeUnwanted,
    minPoints: { changes: 8, writes: 5 },
  },
];

function freshBefore(): Before {
  return { neededByA: [], neededByB: [], changes: 0, writes: 0, deleted: false, stored: 0 };
}

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 7 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

/**
 * A store (open, over the returned disk) whose deletion of `a` was decided
 * but whose record could not be made durable (the directory sync failed),
 * so nothing of it was carried out.
 */
async function undurableDeletion(): Promise<{
  disk: MemoryFileSystem;
  store: FileStore;
  a: Consumer;
  before: Before;
}> {
  const disk = freshDisk();
  const faults = failing(disk);
  const before = freshBefore();
  const store = await openMem(faults.fs);
  const a = store.consumer("a", A);
  const b = store.consumer("b", B);
  for (let i = 0; i < 12; i++) store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, payload(i));
  for (const m of await a.fetch(4, { expiresMs: 0 })) if (m.seq === 2) a.ack(m.seq);
  for (const m of await b.fetch(2, { expiresMs: 0 })) b.ack(m.seq);
  await a.sync();
  await b.sync();
  await store.sync();
  const held = live(store);
  before.neededByA = [...held.keys()].filter((seq) => seq !== 2);
  before.neededByB = [...held].filter(([seq, s]) => s === "d.b" && seq > 4).map(([seq]) => seq);
  faults.fail((call, path) => call === "syncDirectory" && path === `${DIR}/consumers/a`);
  const failed = await a.delete().then(
    () => false,
    () => true,
  );
  faults.fail(null);
  if (!failed) throw new Error("the delete() was to fail");
  return { disk, store, a, before };
}

/** What is wrong with the survivors of a cut `disk` (each mode), each opened twice. */
async function judgeSurvivors(
  disk: MemoryFileSystem,
  before: Before,
  at: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (const lose of ["unsynced", "none"] as const) {
    const survivor = disk.crash({ lose, seed: at });
    for (let open = 1; open <= 2; open++) {
      const store = await openMem(survivor);
      for (const p of judgeDeletion(store, survivor, before)) {
        problems.push(`cut ${at}, lose ${lose}, open ${open}: ${p}`);
      }
      await store.close();
    }
  }
  return problems;
}

export function consumerDeletionSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  describe("consumer deletion on an interest stream, all or nothing", () => {
    for (const c of CASES) {
      for (const aim of ["changes", "writes"] as const) {
        it(`${c.name}: power cut at every ${aim === "writes" ? "write" : "change"} (memory adapter)`, async () => {
          const clean = freshDisk();
          const cleanBefore = freshBefore();
          await c.script(clean, cleanBefore);
          const total = aim === "writes" ? clean.counters.writes : clean.changes;
          const from = aim === "writes" ? cleanBefore.writes : cleanBefore.changes;
          expect(total - from).toBeGreaterThan(c.minPoints[aim]);
          const uncut = await openMem(clean, c.syncAlways);
          expect(c.judge(uncut, clean, cleanBefore)).toStrictEqual([]);
          await uncut.close();
          const modes: LoseMode[] =
            aim === "writes" ? ["unsynced", "none", "random"] : ["unsynced", "none"];
          for (let at = from + 1; at <= total; at++) {
            const disk = freshDisk();
            disk.setFaults(aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: at });
            const before = freshBefore();
            await c.script(disk, before).catch(() => {});
            for (const lose of modes) {
              const survivor = disk.crash({ lose, seed: at });
              const where = `${aim} ${at} of ${total}, lose ${lose}`;
              for (let open = 1; open <= 2; open++) {
                const store = await openMem(survivor, c.syncAlways);
                const problems = c.judge(store, survivor, before);
                await store.close();
                expect({ where, open, problems }).toStrictEqual({ where, open, problems: [] });
              }
            }
          }
        }, 120_000);
      }
    }

    it("a deletion the stream's open finishes: power cut at every change of that open, then opened again (memory adapter)", async () => {
      const pending = async (): Promise<{ disk: MemoryFileSystem; before: Before }> => {
        const { disk, store, before } = await undurableDeletion();
        await store.close();
        expect(disk.stat(`${DIR}/consumers/a/deleting`)).not.toBeNull();
        return { disk, before };
      };
      const clean = await pending();
      const from = clean.disk.changes;
      const opened = await openMem(clean.disk);
      expect(judgeDeletion(opened, clean.disk, clean.before)).toStrictEqual([]);
      expect(clean.disk.stat(`${DIR}/consumers/a`)).toBeNull();
      await opened.close();
      const total = clean.disk.changes;
      expect(total - from).toBeGreaterThan(8);
      for (let at = from + 1; at <= total; at++) {
        const { disk, before } = await pending();
        disk.setFaults({ crashAfterChanges: at });
        await openMem(disk)
          .then((s) => s.close())
          .catch(() => {});
        expect(await judgeSurvivors(disk, before, at)).toStrictEqual([]);
      }
    }, 120_000);

    it("a deletion decided on an interest stream waits for an open under interest: one under another retention (the CLI's) keeps its messages and files and refuses its name (memory adapter)", async () => {
      const { disk, store, before } = await undurableDeletion();
      await store.close();
      expect(before.neededByA.length).toBeGreaterThan(0);
      const other = await FileStore.open({
        dir: DIR,
        fs: disk,
        blockSize: 4096,
        syncIntervalMs: 0,
      });
      const held = live(other);
      let code = "";
      try {
        other.consumer("a", A);
      } catch (err) {
        code = isJetStoreError(err) ? err.code : String(err);
      }
      await other.close();
      expect(code).toBe("ErrConsumerInUse");
      expect(before.neededByA.filter((seq) => !held.has(seq))).toStrictEqual([]);
      expect(disk.stat(`${DIR}/consumers/a/deleting`)).not.toBeNull();
      const opened = await openMem(disk);
      expect(judgeDeletion(opened, disk, before)).toStrictEqual([]);
      expect(disk.stat(`${DIR}/consumers/a`)).toBeNull();
      await opened.close();
    });

    for (const retention of ["limits", "workqueue"] as const) {
      it(`a ${retention} stream's consumer deletion, power cut at every change and inside every write: reopened under ${retention}, the name is never left refused (memory adapter)`, async () => {
        const open = (fs: FileSystem) =>
          FileStore.open({ dir: DIR, fs, blockSize: 4096, syncIntervalMs: 0, retention });
        const script = async (
          disk: MemoryFileSystem,
          from: { changes: number; writes: number },
        ) => {
          const store = await open(disk);
          try {
            const a = store.consumer("a", A);
            for (let i = 0; i < 6; i++) store.storeMsg("d.a", null, payload(i));
            for (const m of await a.fetch(3, { expiresMs: 0 })) if (m.seq === 1) a.ack(1);
            await a.sync();
            await store.sync();
            from.changes = disk.changes;
            from.writes = disk.counters.writes;
            await a.delete();
          } finally {
            await store.close().catch(() => {});
          }
        };
        const clean = freshDisk();
        const cleanFrom = { changes: 0, writes: 0 };
        await script(clean, cleanFrom);
        expect(clean.changes - cleanFrom.changes).toBeGreaterThan(3);
        const problems: string[] = [];
        const cuts: [aim: "changes" | "writes", at: number][] = [];
        for (let at = cleanFrom.changes + 1; at <= clean.changes; at++) cuts.push(["changes", at]);
        for (let at = cleanFrom.writes + 1; at <= clean.counters.writes; at++)
          cuts.push(["writes", at]);
        for (const [aim, at] of cuts) {
          const disk = freshDisk();
          disk.setFaults(aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: at });
          await script(disk, { changes: 0, writes: 0 }).catch(() => {});
          for (const lose of ["unsynced", "none", "random"] as const) {
            const survivor = disk.crash({ lose, seed: at });
            for (let n = 1; n <= 2; n++) {
              const store = await open(survivor);
              try {
                // Kept or deleted, either is an answer to a delete() that never returned; refused for good is not.
                await store.consumer("a", A).close();
              } catch (err) {
                problems.push(`${aim} ${at}, lose ${lose}, open ${n}: ${String(err)}`);
              }
              await store.close();
            }
          }
        }
        expect(problems).toStrictEqual([]);
      });
    }

    it("an interest stream's deletion, power cut at every change: opened first under limits (the CLI's), then under interest, all or nothing (memory adapter)", async () => {
      const clean = freshDisk();
      const cleanBefore = freshBefore();
      await deleteScript(clean, cleanBefore);
      expect(clean.changes - cleanBefore.changes).toBeGreaterThan(10);
      const problems: string[] = [];
      for (let at = cleanBefore.changes + 1; at <= clean.changes; at++) {
        const disk = freshDisk();
        disk.setFaults({ crashAfterChanges: at });
        const before = freshBefore();
        await deleteScript(disk, before).catch(() => {});
        for (const lose of ["unsynced", "none"] as const) {
          const survivor = disk.crash({ lose, seed: at });
          const cli = await FileStore.open({
            dir: DIR,
            fs: survivor,
            blockSize: 4096,
            syncIntervalMs: 0,
          });
          await cli.close();
          const store = await openMem(survivor);
          for (const p of judgeDeletion(store, survivor, before)) {
            problems.push(`cut ${at}, lose ${lose}: ${p}`);
          }
          await store.close();
        }
      }
      expect(problems).toStrictEqual([]);
    }, 120_000);

    it("a deletion record left empty (an earlier version's, which named no retention) on a limits stream is finished by the open, as that version did (memory adapter)", async () => {
      const disk = freshDisk();
      const open = () => FileStore.open({ dir: DIR, fs: disk, blockSize: 4096, syncIntervalMs: 0 });
      const store = await open();
      const a = store.consumer("a", A);
      for (let i = 0; i < 4; i++) store.storeMsg("d.a", null, payload(i));
      await a.fetch(2, { expiresMs: 0 });
      await a.close();
      await store.close();
      disk.open(`${DIR}/consumers/a/deleting`, "create", 0o644).close();
      disk.syncDirectory(`${DIR}/consumers/a`);
      const again = await open();
      expect(disk.stat(`${DIR}/consumers/a`)).toBeNull();
      expect(again.consumer("a", A).info().numAckPending).toBe(0);
      expect(again.fastState().msgs).toBe(4);
      await again.close();
    });

    it("a delete() called again after its decision's record could not be made durable: power cut at every change from there (memory adapter)", async () => {
      const again = async (crashAt: number | null) => {
        const { disk, store, a, before } = await undurableDeletion();
        const from = disk.changes;
        if (crashAt !== null) disk.setFaults({ crashAfterChanges: from + crashAt });
        try {
          await a.delete();
          before.deleted = true;
        } catch {
          // The cut's.
        }
        await store.close().catch(() => {});
        return { disk, before, changes: disk.changes - from };
      };
      const clean = await again(null);
      expect(clean.before.deleted).toBe(true);
      expect(clean.changes).toBeGreaterThan(8);
      for (let at = 1; at <= clean.changes; at++) {
        const { disk, before } = await again(at);
        expect(await judgeSurvivors(disk, before, at)).toStrictEqual([]);
      }
    }, 120_000);

    for (const engine of ["MemStore", "FileStore"] as const) {
      it(`a snapshot taken while a consumer's deletion is under way holds it with its messages or neither (${engine})`, async () => {
        const disk = freshDisk();
        const store: StreamStore =
          engine === "MemStore" ? MemStore.create({ retention: "interest" }) : await openMem(disk);
        try {
          const a = store.consumer("a", A);
          store.consumer("b", B);
          for (let i = 0; i < 8; i++) store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, payload(i));
          const deleting = a.delete();
          const chunks: Uint8Array[] = [];
          for await (const chunk of store.snapshot({ consumers: true })) chunks.push(chunk.slice());
          await deleting;
          const copy = await FileStore.restore("/copy", chunks, {
            fs: disk,
            retention: "interest",
          });
          const held = [...live(copy).values()];
          const restoredA = disk.stat("/copy/consumers/a") !== null;
          await copy.close();
          expect({ restoredA, dA: held.filter((s) => s === "d.a").length }).toStrictEqual(
            restoredA ? { restoredA, dA: 4 } : { restoredA, dA: 0 },
          );
        } finally {
          await (store as FileStore).close();
        }
      });
    }

    for (const adapter of ctx.adapters) failureTests(api, adapter);
  });
}

type Rule = (call: string, path: string) => boolean;

/** `fs` with the calls `rule` picks failing with ErrIO, until it is cleared. */
function failing(fs: FileSystem): { fs: FileSystem; fail(rule: Rule | null): void } {
  let rule: Rule | null = null;
  const wrapped = new Proxy(fs, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const path = args[0];
        if (rule !== null && typeof path === "string" && rule(String(key), path)) {
          throw new JetStoreError("ErrIO", `Cannot ${String(key)} ${path}: injected I/O error`);
        }
        return value.apply(target, args);
      };
    },
  });
  return {
    fs: wrapped,
    fail(r) {
      rule = r;
    },
  };
}

function failureTests(api: TestApi, adapter: AdapterFixture): void {
  const { it, expect } = api;

  async function withSetup(
    body: (s: {
      dir: string;
      store: FileStore;
      a: Consumer;
      faults: ReturnType<typeof failing>;
      neededByA: number[];
      neededByB: number[];
      reopen(): Promise<FileStore>;
    }) => Promise<void>,
  ): Promise<void> {
    const { dir, cleanup } = adapter.tempDir();
    const faults = failing(adapter.fs);
    const options = { dir, syncIntervalMs: 0, retention: "interest" as const };
    const store = await FileStore.open({ ...options, fs: faults.fs });
    const opened: FileStore[] = [store];
    try {
      const a = store.consumer("a", A);
      const b = store.consumer("b", B);
      for (let i = 0; i < 12; i++) store.storeMsg(i % 2 === 0 ? "d.a" : "d.b", null, payload(i));
      for (const m of await a.fetch(4, { expiresMs: 0 })) if (m.seq === 2) a.ack(m.seq);
      for (const m of await b.fetch(2, { expiresMs: 0 })) b.ack(m.seq);
      await a.sync();
      await b.sync();
      await store.sync();
      const held = live(store);
      const neededByA = [...held.keys()].filter((seq) => seq !== 2);
      const neededByB = [...held].filter(([seq, s]) => s === "d.b" && seq > 4).map(([seq]) => seq);
      await body({
        dir,
        store,
        a,
        faults,
        neededByA,
        neededByB,
        reopen: async () => {
          const s = await FileStore.open({ ...options, fs: adapter.fs });
          opened.push(s);
          return s;
        },
      });
    } finally {
      faults.fail(null);
      for (const s of opened) await s.close().catch(() => {});
      cleanup();
    }
  }

  const consumerDir = (dir: string) => `${dir}/consumers/a`;
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return "resolved";
    } catch (err) {
      return isJetStoreError(err) ? err.code : String(err);
    }
  };
  const subjects = (store: StreamStore) => [...live(store).values()];

  it(`a delete() that fails once decided keeps the name until another delete() finishes it (${adapter.name})`, () =>
    withSetup(async ({ dir, store, a, faults, neededByB }) => {
      // The consumer's directory cannot be renamed away: after the removals were made durable.
      faults.fail((call, path) => call === "rename" && path === consumerDir(dir));
      expect(await codeOf(a.delete())).toBe("ErrIO");
      faults.fail(null);
      // Not a consumer without its messages: its name is taken until the deletion ends.
      expect(await codeOf(Promise.resolve().then(() => store.consumer("a", A)))).toBe(
        "ErrConsumerInUse",
      );
      expect(subjects(store)).not.toContain("d.a");
      await a.delete();
      expect(adapter.fs.stat(consumerDir(dir))).toBeNull();
      const fresh = store.consumer("a", A);
      expect(fresh.info().delivered.consumer).toBe(0);
      await fresh.close();
      const held = live(store);
      for (const seq of neededByB) expect(held.has(seq)).toBe(true);
    }));

  it(`a delete() that fails once decided is finished by the stream's next open (${adapter.name})`, () =>
    withSetup(async ({ dir, store, a, faults, neededByB, reopen }) => {
      faults.fail((call, path) => call === "rename" && path === consumerDir(dir));
      expect(await codeOf(a.delete())).toBe("ErrIO");
      faults.fail(null);
      await store.close();
      const again = await reopen();
      expect(adapter.fs.stat(consumerDir(dir))).toBeNull();
      expect(subjects(again)).not.toContain("d.a");
      const held = live(again);
      for (const seq of neededByB) expect(held.has(seq)).toBe(true);
      expect(again.consumer("a", A).info().delivered.consumer).toBe(0);
    }));

  it(`a delete() that cannot record its decision changes nothing (${adapter.name})`, () =>
    withSetup(async ({ dir, store, a, faults, neededByA, reopen }) => {
      let failed = 0;
      faults.fail(
        (call, path) => call === "syncDirectory" && path === consumerDir(dir) && ++failed === 1,
      );
      expect(await codeOf(a.delete())).toBe("ErrIO");
      faults.fail(null);
      const again1 = store.consumer("a", A);
      expect(again1.info().numAckPending).toBe(3);
      const held = live(store);
      for (const seq of neededByA) expect(held.has(seq)).toBe(true);
      await again1.close();
      await store.close();
      const again = await reopen();
      expect(adapter.fs.stat(consumerDir(dir))).not.toBeNull();
      const back = live(again);
      for (const seq of neededByA) expect(back.has(seq)).toBe(true);
      expect(again.consumer("a", A).info().numAckPending).toBe(3);
    }));

  it(`a delete() whose decision can neither be recorded nor taken back is decided (${adapter.name})`, () =>
    withSetup(async ({ dir, store, a, faults, reopen }) => {
      faults.fail((call, path) => call === "syncDirectory" && path === consumerDir(dir));
      expect(await codeOf(a.delete())).toBe("ErrIO");
      faults.fail(null);
      expect(await codeOf(Promise.resolve().then(() => store.consumer("a", A)))).toBe(
        "ErrConsumerInUse",
      );
      await store.close();
      const again = await reopen();
      expect(adapter.fs.stat(consumerDir(dir))).toBeNull();
      expect(subjects(again)).not.toContain("d.a");
    }));
}
