/**
 * Every store the peers bench knows, by the name `PEERS_ONLY` and the tables
 * use, and the module that implements it. Modules load on demand, so a child
 * process holds one store's native addon and code, not all of them, and its
 * peak RSS is that store's.
 */
const MODULES = {
  jetstore: "./jetstore.mjs",
  "jetstore+syncInline": "./jetstore.mjs",
  lmdb: "./lmdb.mjs",
  "better-sqlite3": "./sqlite.mjs",
  "better-sqlite3+index": "./sqlite.mjs",
  "classic-level": "./level.mjs",
  hypercore: "./hypercore.mjs",
  "append-log": "./append-log.mjs",
};

/**
 * The runtimes each store loads under (`--runtime` of run.mjs), as found with
 * Bun 1.4.5 and Deno 2.9.5 on linux-x64; a store not listed for a runtime is
 * left out of that run, with the reason printed:
 * - better-sqlite3 is a nan (V8 API) addon: Bun refuses it ("not yet supported
 *   in Bun", ERR_DLOPEN_FAILED) and Deno loads Node-API addons only.
 * - hypercore is JavaScript, but its storage (hypercore-storage on
 *   rocksdb-native, fs-native-extensions) is native and calls libuv directly:
 *   Bun crashes in the addon, Deno fails on the symbol uv_get_osfhandle.
 * - lmdb and classic-level are Node-API addons and load under both.
 */
const RUNTIMES = {
  jetstore: ["node", "bun", "deno"],
  "jetstore+syncInline": ["node", "bun", "deno"],
  lmdb: ["node", "bun", "deno"],
  "better-sqlite3": ["node"],
  "better-sqlite3+index": ["node"],
  "classic-level": ["node", "bun", "deno"],
  hypercore: ["node"],
  "append-log": ["node", "bun", "deno"],
};

const WHY_NOT = {
  "better-sqlite3": "a nan addon: Bun does not load it, Deno loads Node-API addons only",
  "better-sqlite3+index": "a nan addon: Bun does not load it, Deno loads Node-API addons only",
  hypercore:
    "its storage addons (rocksdb-native, fs-native-extensions) call libuv, which Bun and Deno lack",
};

/** Whether `name` runs under `runtime`, and if not, why. */
export function runsOn(name, runtime) {
  return RUNTIMES[name]?.includes(runtime) ? null : (WHY_NOT[name] ?? "not checked");
}

/** The default set, in table order. */
export const STORE_NAMES = [
  "jetstore",
  "lmdb",
  "better-sqlite3",
  "classic-level",
  "hypercore",
  "append-log",
];

/** Stores run only when PEERS_ONLY names them (too slow for the default run). */
export const EXTRA_STORE_NAMES = ["better-sqlite3+index", "jetstore+syncInline"];

export async function loadStore(name) {
  const path = MODULES[name];
  if (path === undefined) {
    throw new Error(`Unknown store ${name}: one of ${Object.keys(MODULES).join(", ")}`);
  }
  const module = await import(path);
  if (name === "better-sqlite3+index") return module.sqliteStore({ subjectIndex: true });
  if (name === "jetstore+syncInline") return module.jetstoreStore({ syncInline: true });
  return module.default;
}
