/**
 * The consumer store variants the consumer-store contract suite runs
 * against: the memory variant through MemStore, and the file variant through
 * FileStore on every adapter. Each is made the way applications make one,
 * by the stream store's `consumerStore(name, config)`.
 */

import type { ConsumerConfig, ConsumerStore } from "../../src/consumers/types.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext } from "../harness.ts";

/** One consumer store under test. */
export interface ConsumerStoreFixture {
  store: ConsumerStore;
  /** The stream store it belongs to. */
  stream: StreamStore;
  /** How many consumer stores the owning stream counts as live (0 once this one is stopped). */
  liveConsumers(): number;
  /**
   * Persistent variants: closes the stream (stopping the consumer store),
   * opens it again and the consumer store with `config`; returns the new one.
   */
  reopen?(config?: ConsumerConfig): Promise<ConsumerStore>;
  /** Stops the store and removes whatever it left behind. */
  cleanup(): Promise<void>;
}

export interface ConsumerStoreFactory {
  /** Shown in test names, e.g. "memory", "file/node". */
  name: string;
  supports: {
    /** The state survives stopping the store and creating it again. */
    persistence: boolean;
  };
  /** A new consumer store; `now` is the clock its encodings are relative to. */
  create(
    name: string,
    config: ConsumerConfig,
    options?: { now?: () => bigint; stream?: StoreOptions },
  ): Promise<ConsumerStoreFixture>;
  /** Creation with arguments exactly as given, for bad-input tests. */
  createRaw(name: unknown, config: unknown): Promise<ConsumerStore>;
}

export function consumerStoreFactories(ctx: RuntimeContext): ConsumerStoreFactory[] {
  return [memoryFactory(), ...ctx.adapters.map(fileFactory)];
}

function memoryFactory(): ConsumerStoreFactory {
  return {
    name: "memory",
    supports: { persistence: false },
    async createRaw(name, config) {
      const stream = MemStore.create();
      try {
        return withStreamClosedOnDelete(
          stream.consumerStore(name as string, config as ConsumerConfig),
          () => stream.close(),
        );
      } catch (err) {
        await stream.close();
        throw err;
      }
    },
    async create(name, config, options = {}) {
      const stream = MemStore.create({
        ...options.stream,
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      const store = stream.consumerStore(name, config);
      return {
        store,
        stream,
        liveConsumers: () =>
          (stream as unknown as { consumers: { count: number } }).consumers.count,
        cleanup: async () => {
          await store.delete();
          await stream.close();
        },
      };
    },
  };
}

function fileFactory(adapter: AdapterFixture): ConsumerStoreFactory {
  return {
    name: `file/${adapter.name}`,
    supports: { persistence: true },
    async createRaw(name, config) {
      const { dir, cleanup } = adapter.tempDir();
      const stream = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
      const done = async () => {
        await stream.close();
        cleanup();
      };
      try {
        return withStreamClosedOnDelete(
          stream.consumerStore(name as string, config as ConsumerConfig),
          done,
        );
      } catch (err) {
        await done();
        throw err;
      }
    },
    async create(name, config, options = {}) {
      const { dir, cleanup } = adapter.tempDir();
      const open = () =>
        FileStore.open({
          syncIntervalMs: 0,
          ...options.stream,
          ...(options.now === undefined ? {} : { now: options.now }),
          dir,
          fs: adapter.fs,
        });
      let stream = await open();
      let store: ConsumerStore;
      try {
        store = stream.consumerStore(name, config);
      } catch (err) {
        await stream.close();
        cleanup();
        throw err;
      }
      return {
        get store() {
          return store;
        },
        get stream() {
          return stream;
        },
        liveConsumers: () =>
          (stream as unknown as { consumers: { count: number } }).consumers.count,
        async reopen(again = config) {
          await stream.close();
          stream = await open();
          store = stream.consumerStore(name, again);
          return store;
        },
        async cleanup() {
          try {
            await store.delete();
            await stream.close();
          } finally {
            cleanup();
          }
        },
      };
    },
  };
}

/** `store`, whose `delete` also closes the stream the factory opened for it. */
function withStreamClosedOnDelete(store: ConsumerStore, close: () => Promise<void>): ConsumerStore {
  const remove = store.delete.bind(store);
  (store as { delete: () => Promise<void> }).delete = async () => {
    await remove();
    await close();
  };
  return store;
}
