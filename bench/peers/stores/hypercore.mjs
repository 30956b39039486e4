/**
 * hypercore 11: a signed, Merkle-hashed append-only log (block i is sequence
 * i + 1), stored through hypercore-storage in RocksDB. Appends go 1000 blocks
 * per `append([...])` call (one signature and tree update per call); each
 * block is the record of data.mjs. hypercore never asks RocksDB to sync its
 * write-ahead log, so no append is durable against power loss when its promise
 * resolves, nor after `close()`: W1/W2 are timed like the others but are not
 * durable, and W8 (durable appends) does not apply.
 */
import Hypercore from "hypercore";
import { decodeRecord, encodeRecord, SUBJECTS } from "../data.mjs";

const BATCH = 1000;

async function openCore(dir) {
  const core = new Hypercore(dir);
  await core.ready();
  return core;
}

export default {
  name: "hypercore",
  package: "hypercore",
  subject: "inside the block (block index = sequence − 1)",
  subjectQuery: "no: a full scan (an index would be a second structure, e.g. a Hyperbee)",
  durability: "none: RocksDB's WAL is never synced, so W1/W2 are not durable and W8 is skipped",

  async append(dir, count, pool) {
    const core = await openCore(dir);
    for (let start = 0; start < count; start += BATCH) {
      const batch = [];
      for (let i = start; i < Math.min(start + BATCH, count); i++) {
        batch.push(encodeRecord(SUBJECTS[i % 1000], pool[i & 1023]));
      }
      await core.append(batch);
    }
    await core.close();
  },

  async openReader(dir) {
    const core = await openCore(dir);
    return {
      first: 1,
      last: core.length,
      asyncGet: true,
      get: async (seq) => decodeRecord(await core.get(seq - 1)),
      async scan(deadline) {
        let n = 0;
        for await (const block of core.createReadStream()) {
          decodeRecord(block);
          if ((++n & 1023) === 0 && performance.now() > deadline) break;
        }
        return n;
      },
      close: () => core.close(),
    };
  },

  openDurable: null,
};
