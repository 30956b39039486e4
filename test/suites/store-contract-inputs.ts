/**
 * Contract: bad input and closed stores, one test per row of the README's
 * bad-input table (bad-inputs.ts) for every engine. Every entry point given a
 * wrong type, NaN, a float, a negative or unsafe integer, an empty or
 * malformed subject or filter, a non-Uint8Array payload or an oversize message
 * throws the row's typed error and changes nothing; bad options fail the
 * factory; after close or delete every method fails with ErrStoreClosed.
 * Directories FileStore.open refuses are tried once per runtime on the memory
 * adapter (badInputDirectorySuite), and a test checks that the README shows
 * the table the rows render.
 */
import { readFileSync } from "node:fs";
import { joinPath } from "../../runtimes/fs.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { TestApi } from "../harness.ts";
import {
  type Attempt,
  BAD_INPUT_ROWS,
  type BadInputRow,
  badInputTableMarkdown,
  type DirectoryCase,
} from "./bad-inputs.ts";
import type { StoreFactory } from "./store-factories.ts";
import {
  checkpointOfVersion,
  codeOf,
  codeOfAsync,
  enc,
  fill,
  snapshot,
  testClock,
  withStore,
} from "./store-helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

/** A row's name in test output: its entry points and inputs. */
function rowName(row: BadInputRow): string {
  return `${row.entry.replaceAll("`", "")}: ${row.inputs.replaceAll("`", "")} → ${row.code}`;
}

export function inputTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  const isFileStore = factory.name.startsWith("FileStore");
  describe("bad input (README table)", () => {
    for (const row of BAD_INPUT_ROWS) {
      const { attempt } = row;
      if (attempt.kind === "directory" || (row.fileStoreOnly && !isFileStore)) continue;
      it(rowName(row), async () => {
        const got = await codesFor(factory, attempt);
        expect(got).toStrictEqual(got.map(() => row.code));
      });
    }
  });

  /** The code each input of the row got, in order; for calls, also checks nothing changed. */
  async function codesFor(factory: StoreFactory, attempt: Attempt): Promise<string[]> {
    if (attempt.kind === "create") {
      const got: string[] = [];
      for (const options of attempt.options) {
        got.push(
          await codeOfAsync(async () => {
            if (!attempt.raw) return factory.create(options as Loose);
            await (await factory.openRaw(options)).close();
          }),
        );
      }
      return got;
    }
    if (attempt.kind === "construct") {
      return attempt.args.map((args) => codeOf(() => factory.construct(args)));
    }
    if (attempt.kind === "closed") {
      const clock = testClock();
      const fixture = await factory.create({ now: clock.now });
      try {
        fill(fixture.store, clock, 3);
        if (attempt.deleted) await fixture.store.delete();
        else await fixture.store.close();
        const got: string[] = [];
        for (const call of attempt.calls)
          got.push(await codeOfAsync(async () => call(fixture.store)));
        // Closing again is fine; deleting again is one of the row's calls.
        expect(await codeOfAsync(() => fixture.store.close())).toBe("no error");
        return got;
      } finally {
        await fixture.cleanup();
      }
    }
    if (attempt.kind !== "calls") throw new Error(`not a store attempt: ${attempt.kind}`);
    const clock = testClock();
    let broken = false;
    const now = () => (broken ? (5 as Loose as bigint) : clock.now());
    const got: string[] = [];
    await withStore(factory, { ...attempt.options, now }, async (store) => {
      fill(store, clock, 3);
      const before = snapshot(store);
      broken = attempt.brokenClock === true;
      for (const call of attempt.calls) got.push(await codeOfAsync(async () => call(store)));
      broken = false;
      expect(snapshot(store)).toStrictEqual(before);
      // Still working: the next message gets the next sequence.
      expect(store.storeMsg("foo", null, enc("m4")).seq).toBe(4);
    });
    return got;
  }
}

/** Directories FileStore.open refuses, and the README's table matching the rows. */
export function badInputDirectorySuite({ describe, it, expect }: TestApi): void {
  describe("bad input (README table): directories", () => {
    for (const row of BAD_INPUT_ROWS) {
      if (row.attempt.kind !== "directory") continue;
      const name = row.attempt.name;
      it(rowName(row), async () => {
        const fs = memoryFileSystem();
        const { path, held, options, rekeys } = await prepare(fs, name);
        const before = files(fs, "/");
        if (rekeys !== undefined) {
          for (const args of rekeys) {
            const code = await codeOfAsync(() =>
              FileStore.rekey({ dir: path, fs, ...args } as never),
            );
            expect({ args: Object.keys(args), code }).toEqual({
              args: Object.keys(args),
              code: row.code,
            });
          }
        } else {
          const code = await codeOfAsync(() =>
            FileStore.open({ dir: path, fs, syncIntervalMs: 0, blockSize: 4096, ...options }),
          );
          expect(code).toBe(row.code);
        }
        expect(files(fs, "/")).toStrictEqual(before);
        await held?.close();
      });
    }

    it("README lists every row of the table, and only those", () => {
      const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
      const table = badInputTableMarkdown();
      // On failure the expected table is printed whole: paste it into the README.
      expect(readme.includes(table) ? table : readme).toBe(table);
    });
  });
}

/** Sets up a directory case; returns the path to open and a store holding it, if any. */
async function prepare(
  fs: MemoryFileSystem,
  name: DirectoryCase,
): Promise<{
  path: string;
  held?: FileStore;
  options?: { key: Uint8Array };
  /** Arguments of `FileStore.rekey` to try, beside `dir` and `fs`, instead of an open. */
  rekeys?: Record<string, unknown>[];
}> {
  const dir = "/d";
  const makeStore = async () => {
    const store = await FileStore.open({ dir, fs, syncIntervalMs: 0, blockSize: 4096 });
    for (let i = 0; i < 100; i++) store.storeMsg(`s.${i % 3}`, null, new Uint8Array(60));
    return store;
  };
  const patchVersion = (path: string) => {
    const bytes = fs.readFile(path)!;
    bytes[4] = 3; // the u16 format version of a block: 1 plain, 2 sealed (FORMAT.md)
    fs.writeFile(path, bytes);
  };
  switch (name) {
    case "a file":
      fs.writeFile(dir, enc("not a directory"));
      return { path: dir };
    case "foreign files":
      fs.mkdir(dir);
      fs.writeFile(joinPath(dir, "notes.txt"), enc("my notes"));
      return { path: dir };
    case "foreign msgs":
      fs.mkdir(joinPath(dir, "msgs"));
      fs.writeFile(joinPath(dir, "msgs", "inbox.txt"), enc("dear diary"));
      return { path: dir };
    case "rekey: bad arguments":
    case "rekey: wrong key":
    case "rekey: locked": {
      const key = new Uint8Array(32).fill(1);
      const store = await FileStore.open({
        dir,
        fs,
        cipher: "chacha20-poly1305",
        key: key.slice(),
      });
      store.storeMsg("s.1", null, new Uint8Array(60));
      const newKey = new Uint8Array(32).fill(3);
      if (name === "rekey: locked") return { path: dir, held: store, rekeys: [{ key, newKey }] };
      await store.close();
      if (name === "rekey: wrong key") {
        return { path: dir, rekeys: [{ key: new Uint8Array(32).fill(2), newKey }] };
      }
      return {
        path: dir,
        rekeys: [
          { key: new Uint8Array(31), newKey },
          { key, newKey: new Uint8Array(33) },
          { key, newKey: "secret" },
          { key: [1, 2], newKey },
          { key },
          { dir: "", key, newKey },
          { dir: 5, key, newKey },
          { key, newKey, fs: {} },
        ],
      };
    }
    case "rekey: not encrypted":
      await (await makeStore()).close();
      return {
        path: dir,
        rekeys: [{ key: new Uint8Array(32), newKey: new Uint8Array(32).fill(3) }],
      };
    case "encrypted, no key":
    case "encrypted, wrong key": {
      const key = new Uint8Array(32).fill(1);
      const store = await FileStore.open({ dir, fs, cipher: "aes-256-gcm", key, blockSize: 4096 });
      store.storeMsg("s.1", null, new Uint8Array(60));
      await store.close();
      return name === "encrypted, no key"
        ? { path: dir }
        : { path: dir, options: { key: new Uint8Array(32).fill(2) } };
    }
    case "newer block": {
      await (await makeStore()).close();
      const blocks = fs
        .list(joinPath(dir, "msgs"))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
      patchVersion(joinPath(dir, "msgs", blocks[blocks.length - 1]));
      fs.remove(joinPath(dir, "index.ckpt"));
      return { path: dir };
    }
    case "newer checkpoint": {
      await (await makeStore()).close();
      const path = joinPath(dir, "index.ckpt");
      fs.writeFile(path, await checkpointOfVersion(fs.readFile(path)!, 3));
      return { path: dir };
    }
    case "locked": {
      const held = await makeStore();
      await held.sync();
      return { path: dir, held };
    }
  }
}

/** Every file under `dir` with its bytes, to show nothing changed. */
function files(fs: MemoryFileSystem, dir: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of fs.list(dir)) {
    const path = joinPath(dir, name);
    if (fs.stat(path)!.isDirectory) Object.assign(out, files(fs, path));
    else out[path] = Array.from(fs.readFile(path)!);
  }
  return out;
}
