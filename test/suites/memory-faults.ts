/**
 * What only the memory adapter can do: power cuts (`crash`, with what each
 * `LoseMode` keeps), injected faults (crashAfterWrites, noSpaceAfterBytes,
 * failRead/failWrite/failSync by index and by path), counters, and the test
 * backdoors readFile/writeFile. Each test builds its own `memoryFileSystem()`
 * so faults and crashes never leak into the shared fixture the contract and
 * store suites use. Outcomes of random crashes are checked against what POSIX
 * allows (an ordered prefix of each file's and directory's changes, the
 * oldest lost write possibly torn), not against one recorded answer, and over
 * many seeds, so a model that is merely deterministic cannot pass.
 */

import type { FileHandle } from "../../runtimes/fs.ts";
import { MAX_MEMORY_FILE, type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { isJetStoreError, type JetStoreError } from "../../src/errors.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { bytes, put } from "./adapter.ts";
import { codeOf, codeOfAsync } from "./store-helpers.ts";

/** A memory filesystem with `dir` created and its entry durable. */
function withDurableDir(dir = "/d", options?: { seed?: number }): MemoryFileSystem {
  const fs = memoryFileSystem(options);
  fs.mkdir(dir);
  for (let p = dir; p !== ""; p = p.slice(0, p.lastIndexOf("/"))) {
    fs.syncDirectory(p.slice(0, p.lastIndexOf("/")) || "/");
  }
  return fs;
}

function numbers(data: Uint8Array | null): number[] | null {
  return data === null ? null : Array.from(data);
}

function thrown(fn: () => unknown): JetStoreError {
  try {
    fn();
  } catch (err) {
    if (isJetStoreError(err)) return err;
    throw err;
  }
  throw new Error("expected an error");
}

function isInjected(err: JetStoreError): boolean {
  return (err.cause as { injected?: unknown } | undefined)?.injected === true;
}

export function memoryFaultSuite(api: TestApi, _ctx: RuntimeContext): void {
  api.describe("memory adapter: power cuts", () => crashTests(api));
  api.describe("memory adapter: injected faults", () => faultTests(api));
  api.describe("memory adapter: paths, clock and backdoors", () => extraTests(api));
}

function crashTests({ it, expect }: TestApi): void {
  /** A synced file, then unsynced writes, a truncate and new entries. */
  function workload(fs: MemoryFileSystem) {
    const h = fs.open("/d/f", "create");
    fs.syncDirectory("/d");
    h.write(bytes(1, 2, 3), 0);
    h.sync();
    h.write(bytes(4, 5), 3);
    h.write(bytes(9), 0);
    h.truncate(4);
    fs.mkdir("/d/sub");
    put(fs, "/d/g", bytes(7));
    return h;
  }

  it("keeps exactly what was synced when unsynced changes are lost", () => {
    const fs = withDurableDir();
    const h = workload(fs);
    const after = fs.crash();
    expect(numbers(after.readFile("/d/f"))).toEqual([1, 2, 3]);
    expect(after.list("/d")).toEqual(["f"]);
    expect(after.crashed).toBe(false);
    expect(after.counters).toEqual({ reads: 0, writes: 0, bytesWritten: 0, syncs: 0 });

    expect(fs.crashed).toBe(true);
    const err = thrown(() => fs.stat("/d"));
    expect(err.code).toBe("ErrIO");
    expect(isInjected(err)).toBe(true);
    expect(codeOf(() => h.read(new Uint8Array(1), 0))).toBe("ErrIO");
    expect(codeOf(() => fs.open("/d/f", "read"))).toBe("ErrIO");
    h.close();
  });

  it("keeps every change, synced or not, when nothing is lost", () => {
    const fs = withDurableDir();
    workload(fs);
    const after = fs.crash({ lose: "none" });
    expect(numbers(after.readFile("/d/f"))).toEqual([9, 2, 3, 4]);
    expect(after.list("/d")).toEqual(["f", "g", "sub"]);
    expect(after.stat("/d/sub")?.isDirectory).toBe(true);
    expect(numbers(after.readFile("/d/g"))).toEqual([7]);
    // The survivor is an ordinary filesystem: it takes writes and crashes again.
    put(after, "/d/h", bytes(1));
    expect(after.crash().list("/d")).toEqual(["f", "g", "sub"]);
  });

  /** Eight unsynced 4-byte appends of 1, 2, … 8 to a file whose entry is durable. */
  function appends(seed = 0): MemoryFileSystem {
    const fs = withDurableDir("/d", { seed });
    const h = fs.open("/d/f", "create");
    fs.syncDirectory("/d");
    for (let i = 1; i <= 8; i++) h.write(new Uint8Array(4).fill(i), (i - 1) * 4);
    return fs;
  }

  it("keeps a reproducible, ordered prefix of the writes for a random loss, sometimes torn", () => {
    const full = numbers(appends().readFile("/d/f"))!;
    const lengths = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const a = numbers(appends().crash({ lose: "random", seed }).readFile("/d/f"))!;
      const b = numbers(appends().crash({ lose: "random", seed }).readFile("/d/f"));
      expect(b).toEqual(a);
      expect(a).toEqual(full.slice(0, a.length));
      lengths.add(a.length);
    }
    expect(lengths.size).toBeGreaterThan(5);
    expect([...lengths].some((n) => n % 4 !== 0)).toBe(true);
    expect([...lengths].some((n) => n === full.length)).toBe(true);

    // The same cut explored twice with one seed gives one answer.
    const fs = appends();
    const first = numbers(fs.crash({ lose: "random", seed: 5 }).readFile("/d/f"));
    expect(numbers(fs.crash({ lose: "random", seed: 5 }).readFile("/d/f"))).toEqual(first);
    // Without a seed of its own, a crash follows the filesystem's seed.
    const x = numbers(appends(42).crash({ lose: "random" }).readFile("/d/f"));
    expect(numbers(appends(42).crash({ lose: "random" }).readFile("/d/f"))).toEqual(x);
  });

  it("undoes overwrites in order: one write's bytes over the one before, nothing older", () => {
    const size = 16;
    const candidates: string[] = [];
    for (let kept = 0; kept <= 8; kept++) {
      for (let torn = 0; torn < (kept === 8 ? 1 : size); torn++) {
        const out = kept === 0 ? [] : new Array(size).fill(kept);
        for (let i = 0; i < torn; i++) out[i] = kept + 1;
        candidates.push(JSON.stringify(out));
      }
    }
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const fs = withDurableDir();
      const h = fs.open("/d/f", "create");
      fs.syncDirectory("/d");
      for (let i = 1; i <= 8; i++) h.write(new Uint8Array(size).fill(i), 0);
      const outcome = JSON.stringify(numbers(fs.crash({ lose: "random", seed }).readFile("/d/f")));
      expect(candidates).toContain(outcome);
      seen.add(outcome);
    }
    expect(seen.size).toBeGreaterThan(10);
  });

  it("loses a synced file whose directory was not synced", () => {
    const fs = withDurableDir();
    const h = fs.open("/d/new", "create");
    h.write(bytes(1, 2), 0);
    h.sync();
    fs.mkdir("/d/a/b");
    fs.syncDirectory("/d/a/b");
    fs.syncDirectory("/d/a");
    expect(fs.crash().list("/d")).toEqual([]);
    expect(fs.crash({ lose: "none" }).list("/d")).toEqual(["a", "new"]);

    const synced = withDurableDir();
    const g = synced.open("/d/new", "create");
    g.write(bytes(1, 2), 0);
    g.sync();
    synced.syncDirectory("/d");
    expect(numbers(synced.crash().readFile("/d/new"))).toEqual([1, 2]);
  });

  it("renames atomically within a directory", () => {
    const setup = () => {
      const fs = withDurableDir();
      put(fs, "/d/data", bytes(1, 1));
      const old = fs.open("/d/data", "write");
      old.sync();
      fs.syncDirectory("/d");
      const tmp = fs.open("/d/tmp", "create");
      tmp.write(bytes(2, 2, 2), 0);
      tmp.sync();
      fs.rename("/d/tmp", "/d/data");
      return fs;
    };
    const state = (fs: MemoryFileSystem) =>
      JSON.stringify([numbers(fs.readFile("/d/data")), numbers(fs.readFile("/d/tmp"))]);
    const allowed = [
      JSON.stringify([[1, 1], null]),
      JSON.stringify([
        [1, 1],
        [2, 2, 2],
      ]),
      JSON.stringify([[2, 2, 2], null]),
    ];
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const outcome = state(setup().crash({ lose: "random", seed }));
      expect(allowed).toContain(outcome);
      seen.add(outcome);
    }
    expect(seen.size).toBe(3);
    expect(state(setup().crash())).toBe(allowed[0]);
    const synced = setup();
    synced.syncDirectory("/d");
    expect(state(synced.crash())).toBe(allowed[2]);
  });

  it("may keep a rename across directories in both places or neither until both are synced", () => {
    const outcome = (sync: string[]) => {
      const fs = memoryFileSystem();
      fs.mkdir("/a");
      fs.mkdir("/b");
      fs.syncDirectory("/");
      put(fs, "/a/f", bytes(3));
      fs.open("/a/f", "write").sync();
      fs.syncDirectory("/a");
      fs.rename("/a/f", "/b/f");
      for (const dir of sync) fs.syncDirectory(dir);
      const after = fs.crash();
      return [after.list("/a"), after.list("/b")];
    };
    expect(outcome([])).toEqual([["f"], []]);
    expect(outcome(["/b"])).toEqual([["f"], ["f"]]);
    expect(outcome(["/a"])).toEqual([[], []]);
    expect(outcome(["/a", "/b"])).toEqual([[], ["f"]]);
  });

  it("removes a tree entry by entry, so a crash can stop the removal midway", () => {
    const setup = () => {
      const fs = withDurableDir();
      fs.mkdir("/d/t");
      for (const name of ["a", "b", "c"]) {
        put(fs, `/d/t/${name}`, bytes(1));
        fs.open(`/d/t/${name}`, "write").sync();
      }
      fs.syncDirectory("/d/t");
      fs.syncDirectory("/d");
      fs.remove("/d/t");
      return fs;
    };
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const after = setup().crash({ lose: "random", seed });
      const names = after.stat("/d/t") === null ? null : after.list("/d/t");
      // rm -r unlinks in name order: what is left is a suffix of a, b, c.
      if (names !== null) expect(["a", "b", "c"].slice(3 - names.length)).toEqual(names);
      seen.add(JSON.stringify(names));
    }
    expect(seen.has("null")).toBe(true);
    expect([...seen].some((s) => s !== "null" && s !== '["a","b","c"]')).toBe(true);
    expect(setup().crash().list("/d/t")).toEqual(["a", "b", "c"]);
    expect(setup().crash({ lose: "none" }).list("/d")).toEqual([]);
  });

  it("makes durable what was written before syncAsync, not after, and nothing if power is cut first", async () => {
    const fs = withDurableDir();
    const h = fs.open("/d/f", "create");
    fs.syncDirectory("/d");
    h.write(bytes(1, 2), 0);
    const pending = h.syncAsync();
    h.write(bytes(3), 2);
    await pending;
    expect(numbers(fs.crash().readFile("/d/f"))).toEqual([1, 2]);

    const cut = withDurableDir();
    const g = cut.open("/d/f", "create");
    cut.syncDirectory("/d");
    g.write(bytes(1, 2), 0);
    const inFlight = g.syncAsync();
    const after = cut.crash();
    expect(await codeOfAsync(() => inFlight)).toBe("ErrIO");
    expect(numbers(after.readFile("/d/f"))).toEqual([]);
  });

  it("drops every lock, and the survivor takes over a LOCK file left behind", () => {
    const fs = withDurableDir();
    const lock = fs.lock("/d");
    fs.syncDirectory("/d");
    const after = fs.crash();
    expect(after.list("/d")).toEqual(["LOCK"]);
    const taken = after.lock("/d");
    expect(codeOf(() => after.lock("/d"))).toBe("ErrStoreLocked");
    taken.release();
    expect(after.list("/d")).toEqual([]);
    expect(codeOf(() => fs.lock("/d"))).toBe("ErrIO");
    lock.release();
    expect(after.list("/d")).toEqual([]);
  });

  it("rejects bad crash options with ErrInvalidArgument and keeps running", () => {
    const fs = withDurableDir();
    put(fs, "/d/f", bytes(1));
    for (const bad of [{ lose: "some" }, { lose: null }, { seed: 1.5 }, { seed: "1" }, 5, null]) {
      expect(codeOf(() => fs.crash(bad as { seed: number }))).toBe("ErrInvalidArgument");
    }
    expect(codeOf(() => fs.crash({ seed: 1, bogus: true } as { seed: number }))).toBe(
      "ErrInvalidArgument",
    );
    expect(fs.crashed).toBe(false);
    put(fs, "/d/g", bytes(2));
    expect(fs.list("/d")).toEqual(["f", "g"]);
  });
}

function faultTests({ it, expect }: TestApi): void {
  it("cuts the power right after the N-th change of any kind, keeping that change", async () => {
    const changes: [string, (fs: MemoryFileSystem, h: FileHandle) => unknown][] = [
      ["write", (_, h) => h.write(new Uint8Array(4).fill(9), 0)],
      ["truncate", (_, h) => h.truncate(1)],
      ["sync", (_, h) => h.sync()],
      ["syncAsync", (_, h) => h.syncAsync()],
      ["open with create", (fs) => fs.open("/d/new", "create")],
      ["mkdir", (fs) => fs.mkdir("/d/sub")],
      ["rename", (fs) => fs.rename("/d/f", "/d/g")],
      ["remove", (fs) => fs.remove("/d/f")],
      ["syncDirectory", (fs) => fs.syncDirectory("/d")],
    ];
    for (const [name, change] of changes) {
      const fs = withDurableDir("/d");
      const h = fs.open("/d/f", "create");
      h.write(new Uint8Array(8).fill(1), 0);
      h.sync();
      fs.syncDirectory("/d");
      // Reads, stats and a create-open of an existing file change nothing.
      fs.open("/d/f", "create").close();
      h.read(new Uint8Array(1), 0);
      fs.stat("/d/f");
      fs.setFaults({ crashAfterChanges: fs.changes + 1 });
      let err: unknown = null;
      try {
        await change(fs, h);
      } catch (e) {
        err = e;
      }
      expect({
        name,
        code: (err as JetStoreError | null)?.code,
        crashed: fs.crashed,
      }).toStrictEqual({
        name,
        code: "ErrIO",
        crashed: true,
      });
      expect(codeOf(() => fs.stat("/d/f"))).toBe("ErrIO");
      // Kept as a killed process keeps it: the change was made before the power went.
      const after = fs.crash({ lose: "none" });
      const kept: Record<string, () => boolean> = {
        write: () => after.readFile("/d/f")![0] === 9 && after.stat("/d/f")!.size === 8,
        truncate: () => after.stat("/d/f")!.size === 1,
        sync: () => after.stat("/d/f")!.size === 8,
        syncAsync: () => after.stat("/d/f")!.size === 8,
        "open with create": () => after.stat("/d/new") !== null,
        mkdir: () => after.stat("/d/sub")?.isDirectory === true,
        rename: () => after.stat("/d/g") !== null && after.stat("/d/f") === null,
        remove: () => after.stat("/d/f") === null,
        syncDirectory: () => after.stat("/d/f") !== null,
      };
      expect({ name, kept: kept[name]() }).toStrictEqual({ name, kept: true });
    }
  });

  it("tears the N-th write at crashAfterWrites, then fails everything with ErrIO", async () => {
    const run = (seed: number) => {
      const fs = withDurableDir("/d", { seed });
      const h = fs.open("/d/f", "create");
      fs.syncDirectory("/d");
      fs.setFaults({ crashAfterWrites: fs.counters.writes + 3 });
      h.write(new Uint8Array(8).fill(1), 0);
      h.write(new Uint8Array(8).fill(2), 8);
      expect(fs.crashed).toBe(false);
      const err = thrown(() => h.write(new Uint8Array(8).fill(3), 16));
      expect(err.code).toBe("ErrIO");
      expect(isInjected(err)).toBe(true);
      expect(fs.crashed).toBe(true);
      return { fs, h };
    };
    const { fs, h } = run(7);
    const torn = fs.counters.bytesWritten - 16;
    expect(torn).toBeGreaterThanOrEqual(0);
    expect(torn).toBeLessThan(8);
    expect(fs.counters.writes).toBe(3);

    const dead: [string, () => unknown][] = [
      ["write", () => h.write(bytes(1), 0)],
      ["read", () => h.read(new Uint8Array(1), 0)],
      ["size", () => h.size()],
      ["truncate", () => h.truncate(0)],
      ["sync", () => h.sync()],
      ["open", () => fs.open("/d/g", "create")],
      ["stat", () => fs.stat("/d/f")],
      ["list", () => fs.list("/d")],
      ["mkdir", () => fs.mkdir("/e")],
      ["rename", () => fs.rename("/d/f", "/d/g")],
      ["remove", () => fs.remove("/d/f")],
      ["syncDirectory", () => fs.syncDirectory("/d")],
      ["lock", () => fs.lock("/d")],
      ["writeFile", () => fs.writeFile("/d/f", bytes(1))],
    ];
    for (const [name, op] of dead) expect([name, codeOf(op)]).toEqual([name, "ErrIO"]);
    expect(await codeOfAsync(() => h.syncAsync())).toBe("ErrIO");
    h.close();
    expect(fs.counters.writes).toBe(3);

    const kept = numbers(fs.crash({ lose: "none" }).readFile("/d/f"))!;
    expect(kept).toEqual([
      ...new Array(8).fill(1),
      ...new Array(8).fill(2),
      ...new Array(torn).fill(3),
    ]);
    expect(fs.crash().readFile("/d/f")?.length).toBe(0);

    const again = run(7).fs;
    expect(again.counters.bytesWritten).toBe(16 + torn);
    const tornBySeed = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) tornBySeed.add(run(seed).fs.counters.bytesWritten - 16);
    expect(tornBySeed.size).toBeGreaterThan(2);
  });

  it("lands what fits before ErrNoSpace, stays readable, and writes again once cleared", () => {
    const fs = memoryFileSystem();
    const h = fs.open("f", "create");
    fs.setFaults({ noSpaceAfterBytes: fs.counters.bytesWritten + 10 });
    h.write(new Uint8Array(6).fill(1), 0);
    const err = thrown(() => h.write(new Uint8Array(6).fill(2), 6));
    expect(err.code).toBe("ErrNoSpace");
    expect(isInjected(err)).toBe(true);
    expect(h.size()).toBe(10);
    expect(codeOf(() => h.write(bytes(3), 10))).toBe("ErrNoSpace");
    expect(h.size()).toBe(10);
    h.write(new Uint8Array(0), 10);
    const buf = new Uint8Array(10);
    expect(h.read(buf, 0)).toBe(10);
    expect(Array.from(buf)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(fs.crashed).toBe(false);

    fs.setFaults({ noSpaceAfterBytes: null });
    expect(fs.faults.noSpaceAfterBytes).toBeNull();
    h.write(bytes(3, 3), 10);
    expect(numbers(fs.readFile("/f"))).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(fs.counters).toEqual({ reads: 1, writes: 5, bytesWritten: 12, syncs: 0 });
  });

  it("fails the write, read or sync with the given index and no other", async () => {
    const fs = withDurableDir();
    const h = fs.open("/d/f", "create");
    fs.syncDirectory("/d");
    h.write(bytes(1, 2, 3, 4), 0);

    fs.setFaults({ failWrite: { index: fs.counters.writes + 2 } });
    h.write(bytes(5), 0);
    const err = thrown(() => h.write(bytes(6), 1));
    expect(err.code).toBe("ErrIO");
    expect(isInjected(err)).toBe(true);
    h.write(bytes(7), 2);
    expect(numbers(fs.readFile("/d/f"))).toEqual([5, 2, 7, 4]);

    fs.setFaults({ failRead: { index: fs.counters.reads + 1 } });
    const buf = new Uint8Array(4).fill(0xee);
    expect(codeOf(() => h.read(buf, 0))).toBe("ErrIO");
    expect(Array.from(buf)).toEqual([0xee, 0xee, 0xee, 0xee]);
    expect(h.read(buf, 0)).toBe(4);
    expect(Array.from(buf)).toEqual([5, 2, 7, 4]);

    const s = fs.counters.syncs;
    fs.setFaults({ failSync: { index: s + 1 } });
    expect(codeOf(() => h.sync())).toBe("ErrIO");
    expect(numbers(fs.crash().readFile("/d/f"))).toEqual([]);

    const later = withDurableDir();
    const g = later.open("/d/f", "create");
    later.syncDirectory("/d");
    g.write(bytes(1), 0);
    later.setFaults({ failSync: { index: later.counters.syncs + 1 } });
    expect(await codeOfAsync(() => g.syncAsync())).toBe("ErrIO");
    expect(numbers(later.crash({ lose: "unsynced" }).readFile("/d/f"))).toEqual([]);
    g.close();

    const dirs = withDurableDir();
    put(dirs, "/d/f", bytes(1));
    dirs.setFaults({ failSync: { index: dirs.counters.syncs + 1 } });
    expect(codeOf(() => dirs.syncDirectory("/d"))).toBe("ErrIO");
    expect(dirs.crash().list("/d")).toEqual([]);
  });

  it("lets the sync after a failed one make the data durable", () => {
    const fs = withDurableDir();
    const h = fs.open("/d/f", "create");
    h.write(bytes(1), 0);
    fs.setFaults({ failSync: { index: fs.counters.syncs + 1 } });
    expect(codeOf(() => fs.syncDirectory("/d"))).toBe("ErrIO");
    fs.syncDirectory("/d");
    fs.setFaults({ failSync: { index: fs.counters.syncs + 1 } });
    expect(codeOf(() => h.sync())).toBe("ErrIO");
    h.sync();
    expect(numbers(fs.crash().readFile("/d/f"))).toEqual([1]);
  });

  it("drops what a failed sync could not write when told to, as Linux does (fsyncgate)", async () => {
    /** A file holding [1, 2, 3, 4] durably, then [9, 2, 3, 4, 5, 6] whose last sync failed and dropped them. */
    const dropped = () => {
      const fs = withDurableDir();
      const h = fs.open("/d/f", "create");
      fs.syncDirectory("/d");
      h.write(bytes(1, 2, 3, 4), 0);
      h.sync();
      h.write(bytes(5, 6), 4);
      h.write(bytes(9), 0);
      fs.setFaults({ failSync: { index: fs.counters.syncs + 1 }, dropUnsyncedOnSyncFailure: true });
      expect(codeOf(() => h.sync())).toBe("ErrIO");
      return { fs, h };
    };
    const a = dropped();
    // Reads still see the dropped bytes, and the next sync succeeds without writing them.
    expect(numbers(a.fs.readFile("/d/f"))).toEqual([9, 2, 3, 4, 5, 6]);
    a.h.sync();
    expect(numbers(a.fs.crash({ lose: "none" }).readFile("/d/f"))).toEqual([1, 2, 3, 4, 0, 0]);

    // Written again and synced, they are durable; a write not yet synced does not cover them.
    const b = dropped();
    b.h.write(bytes(9), 0);
    b.h.sync();
    b.h.write(bytes(5, 6), 4);
    expect(numbers(b.fs.crash({ lose: "unsynced" }).readFile("/d/f"))).toEqual([9, 2, 3, 4, 0, 0]);
    expect(numbers(b.fs.crash({ lose: "none" }).readFile("/d/f"))).toEqual([9, 2, 3, 4, 5, 6]);

    const c = dropped();
    c.h.write(bytes(9, 2, 3, 4, 5, 6), 0);
    await c.h.syncAsync();
    expect(numbers(c.fs.crash().readFile("/d/f"))).toEqual([9, 2, 3, 4, 5, 6]);

    // The same through syncAsync, and without the option the next sync still writes them.
    const later = withDurableDir();
    const g = later.open("/d/f", "create");
    later.syncDirectory("/d");
    g.write(bytes(7, 7), 0);
    later.setFaults({
      failSync: { index: later.counters.syncs + 1 },
      dropUnsyncedOnSyncFailure: true,
    });
    expect(await codeOfAsync(() => g.syncAsync())).toBe("ErrIO");
    await g.syncAsync();
    expect(numbers(later.crash().readFile("/d/f"))).toEqual([0, 0]);
  });

  it("matches fault rules by path as a string, a RegExp or a function, on the normalised path", () => {
    const fs = memoryFileSystem();
    fs.mkdir("/d");
    const a = fs.open("d//./a", "create");
    const b = fs.open("/d/b", "create");
    const outcome = () => [codeOf(() => a.write(bytes(1), 0)), codeOf(() => b.write(bytes(1), 0))];

    fs.setFaults({ failWrite: { path: "/d/a" } });
    expect(outcome()).toEqual(["ErrIO", "no error"]);
    expect(outcome()).toEqual(["ErrIO", "no error"]);
    fs.setFaults({ failWrite: { path: /b$/ } });
    expect(outcome()).toEqual(["no error", "ErrIO"]);
    expect(outcome()).toEqual(["no error", "ErrIO"]);
    fs.setFaults({ failWrite: { path: (p: string) => p.startsWith("/d/") } });
    expect(outcome()).toEqual(["ErrIO", "ErrIO"]);
    fs.setFaults({ failWrite: { path: "/d/a", index: fs.counters.writes + 3 } });
    expect(outcome()).toEqual(["no error", "no error"]);
    expect(outcome()).toEqual(["ErrIO", "no error"]);
    expect(outcome()).toEqual(["no error", "no error"]);
    fs.setFaults({ failWrite: null });

    fs.setFaults({ failRead: { path: "/d/b" } });
    expect(codeOf(() => a.read(new Uint8Array(1), 0))).toBe("no error");
    expect(codeOf(() => b.read(new Uint8Array(1), 0))).toBe("ErrIO");
    fs.setFaults({ failSync: { path: "/d" } });
    expect(codeOf(() => fs.syncDirectory("d/"))).toBe("ErrIO");
    expect(codeOf(() => a.sync())).toBe("no error");
    expect(codeOf(() => fs.syncDirectory("/"))).toBe("no error");
  });

  it("rejects bad fault settings with ErrInvalidArgument, keeping the faults in force", () => {
    const fs = memoryFileSystem();
    fs.setFaults({ failRead: { index: 3 }, noSpaceAfterBytes: 100 });
    const before = fs.faults;
    expect(before).toMatchObject({
      crashAfterWrites: null,
      noSpaceAfterBytes: 100,
      failRead: { index: 3 },
      failWrite: null,
      failSync: null,
    });
    const bad: unknown[] = [
      null,
      5,
      "x",
      { crashAfterWrites: 0 },
      { crashAfterWrites: 1.5 },
      { crashAfterWrites: "3" },
      { crashAfterChanges: 0 },
      { crashAfterChanges: 2.5 },
      { crashAfterChanges: "4" },
      { noSpaceAfterBytes: -1 },
      { noSpaceAfterBytes: Number.NaN },
      { failRead: 5 },
      { failRead: { index: 0 } },
      { failWrite: { path: 5 } },
      { failSync: { bogus: 1 } },
      { bogus: 1 },
      { crashAfterWrites: 2, noSpaceAfterBytes: -1 },
    ];
    for (const changes of bad) {
      expect(codeOf(() => fs.setFaults(changes as object))).toBe("ErrInvalidArgument");
      expect(fs.faults).toEqual(before);
    }
    fs.setFaults({ failRead: undefined });
    expect(fs.faults).toEqual(before);
    for (const options of [{ seed: 1.5 }, { now: 5 }, { bogus: 1 }, 7, null]) {
      expect(codeOf(() => memoryFileSystem(options as { seed: number }))).toBe(
        "ErrInvalidArgument",
      );
    }
  });

  it("counts reads, writes, bytes and syncs, failed ones included, but not rejected arguments", async () => {
    const fs = memoryFileSystem();
    const h = fs.open("/f", "create");
    h.write(bytes(1, 2, 3), 0);
    h.write(new Uint8Array(0), 0);
    h.read(new Uint8Array(2), 0);
    h.sync();
    await h.syncAsync();
    fs.syncDirectory("/");
    const snapshot = fs.counters;
    expect(snapshot).toEqual({ reads: 1, writes: 2, bytesWritten: 3, syncs: 3 });

    fs.setFaults({ failWrite: {}, failRead: {}, failSync: {} });
    expect(codeOf(() => h.write(bytes(4), 0))).toBe("ErrIO");
    expect(codeOf(() => h.read(new Uint8Array(1), 0))).toBe("ErrIO");
    expect(codeOf(() => h.sync())).toBe("ErrIO");
    expect(codeOf(() => h.write("x" as unknown as Uint8Array, 0))).toBe("ErrInvalidArgument");
    expect(codeOf(() => h.read(new Uint8Array(1), -1))).toBe("ErrInvalidArgument");
    expect(fs.counters).toEqual({ reads: 2, writes: 3, bytesWritten: 3, syncs: 4 });
    expect(snapshot).toEqual({ reads: 1, writes: 2, bytesWritten: 3, syncs: 3 });
  });

  it("fails writes and truncates past the largest memory file like a disk, with ErrIO", () => {
    const fs = memoryFileSystem();
    const h = fs.open("/f", "create");
    h.write(bytes(1), 0);
    expect(codeOf(() => h.truncate(MAX_MEMORY_FILE + 1))).toBe("ErrIO");
    expect(codeOf(() => h.write(bytes(1, 2), MAX_MEMORY_FILE - 1))).toBe("ErrIO");
    expect(h.size()).toBe(1);
  });
}

function extraTests({ it, expect }: TestApi): void {
  it("resolves relative paths from /, and '.', '..' and repeated slashes as the kernel does", () => {
    const fs = memoryFileSystem();
    fs.mkdir("a/b");
    expect(fs.stat("/a/b")?.isDirectory).toBe(true);
    put(fs, "a//b/./c", bytes(1));
    expect(numbers(fs.readFile("/a/b/c"))).toEqual([1]);
    expect(fs.stat("/a/b/../b/c")?.isFile).toBe(true);
    expect(fs.stat("../../a/b/c")?.isFile).toBe(true);
    expect(fs.list("a/./b/")).toEqual(["c"]);
    // ".." is walked, not erased: a missing component before it is still missing.
    expect(fs.stat("/a/x/../b/c")).toBeNull();
    expect(fs.stat("/a/b/c/")).toBeNull();
    expect(fs.stat("/a/b/c/.")).toBeNull();
    expect(codeOf(() => fs.open("/a/b/c/", "read"))).toBe("ErrIO");
    expect(codeOf(() => fs.open("/a/b/new/", "create"))).toBe("ErrIO");
    expect(fs.list("/a/b")).toEqual(["c"]);
    expect(fs.list("/")).toEqual(["a"]);
    expect(codeOf(() => fs.remove("/"))).toBe("ErrIO");
    expect(codeOf(() => fs.rename("/a", "/"))).toBe("ErrIO");
    const lock = fs.lock("a/b");
    expect(codeOf(() => fs.lock("/a//b/"))).toBe("ErrStoreLocked");
    lock.release();
  });

  it("stamps modification times from the clock option", () => {
    let t = 1000;
    const fs = memoryFileSystem({ now: () => t });
    expect(fs.stat("/")?.mtimeMs).toBe(1000);
    const h = fs.open("/f", "create");
    t = 2000;
    h.write(bytes(1), 0);
    expect(fs.stat("/f")?.mtimeMs).toBe(2000);
    expect(fs.stat("/")?.mtimeMs).toBe(1000);
    t = 3000;
    fs.mkdir("/d");
    expect(fs.stat("/")?.mtimeMs).toBe(3000);
    expect(fs.stat("/d")?.mtimeMs).toBe(3000);
    t = 4000;
    expect(fs.crash({ lose: "none" }).stat("/f")?.mtimeMs).toBe(2000);
  });

  it("reads and writes files directly and durably through readFile and writeFile", () => {
    const fs = memoryFileSystem();
    fs.mkdir("/d");
    fs.syncDirectory("/");
    const counted = fs.counters;
    fs.writeFile("/d/x", bytes(1, 2, 3));
    expect(numbers(fs.readFile("d/x"))).toEqual([1, 2, 3]);
    expect(fs.counters).toEqual(counted);

    const h = fs.open("/d/x", "write");
    h.write(bytes(7), 5);
    fs.writeFile("/d/x", bytes(9, 9));
    expect(h.size()).toBe(2);
    const buf = new Uint8Array(2);
    expect(h.read(buf, 0)).toBe(2);
    expect(Array.from(buf)).toEqual([9, 9]);
    const copy = fs.readFile("/d/x")!;
    copy[0] = 0;
    expect(numbers(fs.readFile("/d/x"))).toEqual([9, 9]);

    expect(fs.readFile("/d/missing")).toBeNull();
    expect(fs.readFile("/d/x/y")).toBeNull();
    expect(codeOf(() => fs.readFile("/d"))).toBe("ErrIO");
    expect(codeOf(() => fs.writeFile("/d", bytes(1)))).toBe("ErrIO");
    expect(codeOf(() => fs.writeFile("/nowhere/x", bytes(1)))).toBe("ErrNotFound");
    expect(codeOf(() => fs.writeFile("/d/y", [1] as unknown as Uint8Array))).toBe(
      "ErrInvalidArgument",
    );
    expect(codeOf(() => fs.readFile(5 as unknown as string))).toBe("ErrInvalidArgument");
    expect(numbers(fs.crash().readFile("/d/x"))).toEqual([9, 9]);
  });

  it("keeps its state per filesystem: faults, counters and locks do not leak between instances", () => {
    const one = memoryFileSystem();
    const two = memoryFileSystem();
    one.mkdir("/d");
    two.mkdir("/d");
    one.setFaults({ failWrite: {} });
    put(two, "/d/f", bytes(1));
    expect(two.counters.writes).toBe(1);
    expect(one.counters.writes).toBe(0);
    const lock = one.lock("/d");
    two.lock("/d").release();
    lock.release();
    expect(one.stat("/d/f")).toBeNull();
  });
}
