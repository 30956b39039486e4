/** Every store the peers bench knows, by the name `PEERS_ONLY` and the tables use. */
import appendLog from "./append-log.mjs";
import hypercore from "./hypercore.mjs";
import jetstore from "./jetstore.mjs";
import level from "./level.mjs";
import lmdb from "./lmdb.mjs";
import sqlite, { sqliteStore } from "./sqlite.mjs";

export const STORES = [jetstore, lmdb, sqlite, level, hypercore, appendLog];

/** Stores run only when PEERS_ONLY names them (too slow for the default run). */
export const EXTRA_STORES = [sqliteStore({ subjectIndex: true })];

export function storeNamed(name) {
  const all = [...STORES, ...EXTRA_STORES];
  const store = all.find((s) => s.name === name);
  if (store === undefined) {
    throw new Error(`Unknown store ${name}: one of ${all.map((s) => s.name).join(", ")}`);
  }
  return store;
}
