/**
 * The consumer store variants the consumer-store contract suite runs
 * against. Today the memory variant alone; the file variant joins by adding a
 * factory here (per adapter, like store-factories.ts), and every contract
 * test then runs on it.
 */
import { ConsumerMemStore } from "../../src/consumers/consumer-mem-store.ts";
import type { ConsumerConfig, ConsumerStore } from "../../src/consumers/types.ts";
import type { RuntimeContext } from "../harness.ts";

/** One consumer store under test. */
export interface ConsumerStoreFixture {
  store: ConsumerStore;
  /** How many consumer stores the owning stream counts as live (0 once this one is stopped). */
  liveConsumers(): number;
  /** Stops the store and removes whatever it left behind. */
  cleanup(): Promise<void>;
}

export interface ConsumerStoreFactory {
  /** Shown in test names, e.g. "memory". */
  name: string;
  supports: {
    /** The state survives stopping the store and creating it again. */
    persistence: boolean;
  };
  /** A new consumer store; `now` is the clock its encodings are relative to. */
  create(
    name: string,
    config: ConsumerConfig,
    options?: { now?: () => bigint },
  ): Promise<ConsumerStoreFixture>;
  /** Creation with arguments exactly as given, for bad-input tests. */
  createRaw(name: unknown, config: unknown): Promise<ConsumerStore>;
}

export function consumerStoreFactories(_ctx: RuntimeContext): ConsumerStoreFactory[] {
  return [memoryFactory()];
}

function memoryFactory(): ConsumerStoreFactory {
  return {
    name: "memory",
    supports: { persistence: false },
    async createRaw(name, config) {
      return new ConsumerMemStore(name as string, config as ConsumerConfig);
    },
    async create(name, config, options = {}) {
      let live = 1;
      const store = new ConsumerMemStore(name, config, {
        ...(options.now === undefined ? {} : { now: options.now }),
        onStop: () => {
          live--;
        },
      });
      return {
        store,
        liveConsumers: () => live,
        cleanup: () => store.delete(),
      };
    },
  };
}
