/**
 * Every store the peers bench knows, by the name `PEERS_ONLY` and the tables
 * use, and the module that implements it. Modules load on demand, so a child
 * process holds one store's native addon and code, not all of them, and its
 * peak RSS is that store's.
 */
const MODULES = {
  jetstore: "./jetstore.mjs",
  lmdb: "./lmdb.mjs",
  "better-sqlite3": "./sqlite.mjs",
  "better-sqlite3+index": "./sqlite.mjs",
  "classic-level": "./level.mjs",
  hypercore: "./hypercore.mjs",
  "append-log": "./append-log.mjs",
};

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
export const EXTRA_STORE_NAMES = ["better-sqlite3+index"];

export async function loadStore(name) {
  const path = MODULES[name];
  if (path === undefined) {
    throw new Error(`Unknown store ${name}: one of ${Object.keys(MODULES).join(", ")}`);
  }
  const module = await import(path);
  return name === "better-sqlite3+index"
    ? module.sqliteStore({ subjectIndex: true })
    : module.default;
}
