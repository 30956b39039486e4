/**
 * The stream store engines the contract suite runs against, built per runtime
 * from the runtime's context. Every test goes through a factory, so adding an
 * engine or an adapter here runs the whole contract on it; what an engine
 * cannot do is declared in `supports`, and the suite skips those tests.
 */
import { FileStore, type FileStoreOptions } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext } from "../harness.ts";

/** One store under test. */
export interface StoreFixture {
  store: StreamStore;
  /**
   * Closes the store (if open) and opens it again with the same options. A
   * store without persistence returns the same instance.
   */
  reopen(): Promise<StreamStore>;
  /** For persistent engines: `reopen` with `changes` merged into the options, kept for later reopens. */
  reopenWith?(changes: StoreOptions): Promise<StreamStore>;
  /** Closes the store and removes whatever it left behind. */
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  /** Shown in test names, e.g. "MemStore", "FileStore/node". */
  name: string;
  supports: {
    /** `reopen` keeps every message and the stream's sequences. */
    persistence: boolean;
  };
  create(options?: StoreOptions): Promise<StoreFixture>;
  /** `FileStore.open` / `MemStore.create` with `options` exactly as given, for bad-input tests. */
  openRaw(options: unknown): Promise<StreamStore>;
  /** `new` on the engine's class with `args`, as JavaScript could call it, for bad-input tests. */
  construct(args: unknown[]): unknown;
}

/** Every engine to run the contract on under this runtime. */
export function storeFactories(ctx: RuntimeContext): StoreFactory[] {
  return [memStoreFactory(), ...ctx.adapters.map(fileStoreFactory)];
}

/**
 * FileStore on one adapter, with small blocks so that a few dozen messages
 * already span several block files and every test crosses block boundaries.
 */
function fileStoreFactory(adapter: AdapterFixture): StoreFactory {
  return {
    name: `FileStore/${adapter.name}`,
    supports: { persistence: true },
    openRaw: (options) => FileStore.open(options as FileStoreOptions),
    construct: (args) => new (FileStore as unknown as new (...a: unknown[]) => unknown)(...args),
    async create(options) {
      const { dir, cleanup } = adapter.tempDir();
      let current: StoreOptions = { ...options };
      const open = () =>
        FileStore.open({ blockSize: 4096, syncIntervalMs: 0, ...current, dir, fs: adapter.fs });
      let store: FileStore;
      try {
        store = await open();
      } catch (err) {
        cleanup();
        throw err;
      }
      return {
        get store() {
          return store;
        },
        async reopen() {
          await store.close();
          store = await open();
          return store;
        },
        async reopenWith(changes) {
          current = { ...current, ...changes };
          await store.close();
          store = await open();
          return store;
        },
        async cleanup() {
          await store.close();
          cleanup();
        },
      };
    },
  };
}

function memStoreFactory(): StoreFactory {
  return {
    name: "MemStore",
    supports: { persistence: false },
    openRaw: async (options) => MemStore.create(options as StoreOptions),
    construct: (args) => new (MemStore as unknown as new (...a: unknown[]) => unknown)(...args),
    async create(options) {
      const store = MemStore.create(options);
      return {
        store,
        reopen: async () => store,
        // close() drops everything a MemStore holds; delete() would reject on a store a test closed.
        cleanup: () => store.close(),
      };
    },
  };
}
