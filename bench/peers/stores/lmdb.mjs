/**
 * lmdb-js with its own defaults (synced commits, overlappingSync): puts are not
 * awaited one by one but queued, and lmdb-js commits everything queued in one
 * transaction on its write thread, the batching its README recommends. Keys are
 * the sequence (`uint32` key encoding, so they sort numerically); the value is
 * the record of data.mjs. Durable means `db.flushed` resolved: with
 * overlappingSync a put's promise resolves at commit, before the fsync.
 */
import { open } from "lmdb";
import { decodeRecord, encodeRecord, SUBJECTS } from "../data.mjs";

const OPTIONS = { keyEncoding: "uint32", encoding: "binary" };

export default {
  name: "lmdb",
  package: "lmdb",
  subject: "inside the value (key = sequence)",
  subjectQuery: "no: a full scan, unless the user keeps a second (dupSort) database as an index",
  durability: "synced commits (default); awaits db.flushed",

  async append(dir, count, pool) {
    const db = open({ path: dir, ...OPTIONS });
    let last;
    for (let i = 0; i < count; i++) {
      last = db.put(i + 1, encodeRecord(SUBJECTS[i % 1000], pool[i & 1023]));
    }
    await last;
    await db.flushed;
    await db.close();
  },

  async openReader(dir) {
    const db = open({ path: dir, ...OPTIONS });
    const [first] = db.getKeys({ limit: 1 }).asArray;
    const [last] = db.getKeys({ reverse: true, limit: 1 }).asArray;
    return {
      first,
      last,
      get: (seq) => decodeRecord(db.get(seq)),
      scan(deadline) {
        let n = 0;
        for (const { value } of db.getRange()) {
          decodeRecord(value);
          if ((++n & 1023) === 0 && performance.now() > deadline) break;
        }
        return n;
      },
      close: () => db.close(),
    };
  },

  async openDurable(dir) {
    const db = open({ path: dir, ...OPTIONS });
    let seq = 0;
    return {
      async write(subject, payload) {
        await db.put(++seq, encodeRecord(subject, payload));
        await db.flushed;
      },
      close: () => db.close(),
    };
  },
};
