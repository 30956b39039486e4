/** Every store the peers bench knows, by the name `PEERS_ONLY` and the tables use. */
import appendLog from "./append-log.mjs";
import hypercore from "./hypercore.mjs";
import jetstore from "./jetstore.mjs";
import level from "./level.mjs";
import lmdb from "./lmdb.mjs";
import sqlite from "./sqlite.mjs";

export const STORES = [jetstore, lmdb, sqlite, level, hypercore, appendLog];

export function storeNamed(name) {
  const store = STORES.find((s) => s.name === name);
  if (store === undefined)
    throw new Error(`Unknown store ${name}: one of ${STORES.map((s) => s.name).join(", ")}`);
  return store;
}
