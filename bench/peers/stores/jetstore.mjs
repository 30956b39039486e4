/**
 * jetstore, from the repository's built `dist/` (`npm run build`), used as
 * bench/workloads.ts uses it: synchronous `storeMsg`, then `flush()` (write-out,
 * fsync, checkpoint) and `close()`; `sync()` is its group commit.
 * `jetstore+syncInline` (run when PEERS_ONLY names it) is the same with the
 * option that fsyncs in the calling thread, as better-sqlite3 commits.
 */
import { FileStore } from "../../../dist/src/index.js";
import { SUBJECTS } from "../data.mjs";

/** The store, its durable writes fsynced in the calling thread when `syncInline`. */
export function jetstoreStore({ syncInline }) {
  return {
    name: syncInline ? "jetstore+syncInline" : "jetstore",
    subject:
      "a field of each record, plus an in-memory subject index (totals, trie, per-subject sequences)",
    subjectQuery: "yes: literal and wildcard filters (loadNextMsg, filteredState, subjectsState …)",
    durability: `flush() fsyncs blocks and checkpoint; sync() is group commit${syncInline ? ", fsyncs in the calling thread" : ""}`,

    async append(dir, count, pool) {
      const store = await FileStore.open({ dir });
      for (let i = 0; i < count; i++) store.storeMsg(SUBJECTS[i % 1000], null, pool[i & 1023]);
      await store.flush();
      await store.close();
    },

    async openReader(dir) {
      const store = await FileStore.open({ dir });
      const { firstSeq, lastSeq } = store.fastState();
      return {
        first: firstSeq,
        last: lastSeq,
        get: (seq) => store.loadMsg(seq),
        scan(deadline) {
          let n = 0;
          let seq = 0;
          try {
            for (;;) {
              seq = store.loadNextMsg("", false, seq).seq + 1;
              if ((++n & 1023) === 0 && performance.now() > deadline) break;
            }
          } catch (err) {
            if (err.code !== "ErrStoreEOF") throw err;
          }
          return n;
        },
        close: () => store.close(),
      };
    },

    async openDurable(dir) {
      const store = await FileStore.open({ dir, syncInline });
      return {
        async write(subject, payload) {
          store.storeMsg(subject, null, payload);
          await store.sync();
        },
        close: () => store.close(),
      };
    },
  };
}

export default jetstoreStore({ syncInline: false });
