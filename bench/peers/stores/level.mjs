/**
 * classic-level (LevelDB): `db.batch()` of 1000 puts at a time, the last one
 * with `{ sync: true }` so the log holding every batch is fsynced before the
 * store closes (LevelDB fsyncs the tables it builds from older logs). Keys are
 * the sequence as 4 big-endian bytes, so they sort numerically; the value is the
 * record of data.mjs. Reads use `getSync` (abstract-level 3) and an iterator.
 * Durable appends are `put(…, { sync: true })`; LevelDB groups concurrent
 * writers into one log write and fsync itself.
 */
import { ClassicLevel } from "classic-level";
import { decodeRecord, encodeRecord, SUBJECTS } from "../data.mjs";

const BATCH = 1000;

function keyOf(seq) {
  const key = Buffer.allocUnsafe(4);
  key.writeUInt32BE(seq);
  return key;
}

async function openDb(dir) {
  const db = new ClassicLevel(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  return db;
}

export default {
  name: "classic-level",
  package: "classic-level",
  subject: "inside the value (key = sequence)",
  subjectQuery: "no: a full scan, unless the user writes index entries (subject + seq keys) too",
  durability: "last batch with sync: true; W8 put with sync: true",

  async append(dir, count, pool) {
    const db = await openDb(dir);
    for (let start = 0; start < count; start += BATCH) {
      const end = Math.min(start + BATCH, count);
      const ops = [];
      for (let i = start; i < end; i++) {
        ops.push({
          type: "put",
          key: keyOf(i + 1),
          value: encodeRecord(SUBJECTS[i % 1000], pool[i & 1023]),
        });
      }
      await db.batch(ops, { sync: end === count });
    }
    await db.close();
  },

  async openReader(dir) {
    const db = await openDb(dir);
    const [[firstKey]] = await db.iterator({ limit: 1 }).all();
    const [[lastKey]] = await db.iterator({ reverse: true, limit: 1 }).all();
    return {
      first: firstKey.readUInt32BE(),
      last: lastKey.readUInt32BE(),
      get: (seq) => decodeRecord(db.getSync(keyOf(seq))),
      async scan(deadline) {
        let n = 0;
        for await (const value of db.values()) {
          decodeRecord(value);
          if ((++n & 1023) === 0 && performance.now() > deadline) break;
        }
        return n;
      },
      close: () => db.close(),
    };
  },

  async openDurable(dir) {
    const db = await openDb(dir);
    let seq = 0;
    return {
      write: (subject, payload) =>
        db.put(keyOf(++seq), encodeRecord(subject, payload), { sync: true }),
      close: () => db.close(),
    };
  },
};
