/**
 * better-sqlite3 in WAL mode: one prepared INSERT, a transaction per batch of
 * 1000 messages, `synchronous = NORMAL` for bulk appends (commits reach the WAL
 * unsynced; closing checkpoints the WAL into the database with fsyncs, so the
 * data is durable once `close()` returns). Durable appends (W8) need
 * `synchronous = FULL`, an fsync per commit; as better-sqlite3 commits
 * synchronously, concurrent writers share commits through group-commit.mjs.
 * The subject is a column. `better-sqlite3` has no index on it, so a subject
 * query scans the table; `better-sqlite3+index` (not in the default set: its
 * W1 takes minutes) adds an index on (subject, seq), which makes subject and
 * prefix queries index range scans but touches up to 1000 index pages per
 * batch, as the 1000 subjects interleave.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SUBJECTS } from "../data.mjs";
import { groupCommit } from "../group-commit.mjs";

const BATCH = 1000;

function openDb(dir, synchronous, subjectIndex) {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "msgs.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  // 64 MiB of page cache, jetstore's default cacheBytes: with SQLite's default
  // 2 MiB the (subject, seq) index of a 1M-row table misses on most inserts.
  db.pragma("cache_size = -65536");
  db.exec(`CREATE TABLE IF NOT EXISTS msgs (
    seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, subject TEXT NOT NULL, payload BLOB NOT NULL)`);
  if (subjectIndex) db.exec("CREATE INDEX IF NOT EXISTS msgs_subject ON msgs (subject, seq)");
  return db;
}

/** A function storing an array of [subject, payload] in one transaction. */
function inserter(db) {
  const insert = db.prepare("INSERT INTO msgs (ts, subject, payload) VALUES (?, ?, ?)");
  return db.transaction((batch) => {
    for (const [subject, payload] of batch) insert.run(Date.now(), subject, payload);
  });
}

export function sqliteStore({ subjectIndex }) {
  return {
    name: subjectIndex ? "better-sqlite3+index" : "better-sqlite3",
    package: "better-sqlite3",
    subject: subjectIndex
      ? "a TEXT column with an index on (subject, seq)"
      : "a TEXT column, not indexed",
    subjectQuery: subjectIndex
      ? "yes: literal by index; wildcards by an index prefix range plus GLOB"
      : "yes in SQL (WHERE subject = ? / GLOB), by a full table scan",
    durability: "WAL, synchronous=NORMAL, durable once close() checkpoints; FULL for W8",

    async append(dir, count, pool) {
      const db = openDb(dir, "NORMAL", subjectIndex);
      const insertBatch = inserter(db);
      for (let start = 0; start < count; start += BATCH) {
        const batch = [];
        for (let i = start; i < Math.min(start + BATCH, count); i++) {
          batch.push([SUBJECTS[i % 1000], pool[i & 1023]]);
        }
        insertBatch(batch);
      }
      db.close();
    },

    async openReader(dir) {
      const db = openDb(dir, "NORMAL", subjectIndex);
      const { first, last } = db
        .prepare("SELECT min(seq) AS first, max(seq) AS last FROM msgs")
        .get();
      const bySeq = db.prepare("SELECT subject, ts, payload AS msg FROM msgs WHERE seq = ?");
      const all = db.prepare("SELECT seq, subject, ts, payload FROM msgs ORDER BY seq");
      return {
        first,
        last,
        get: (seq) => bySeq.get(seq),
        scan(deadline) {
          let n = 0;
          for (const _row of all.iterate()) {
            if ((++n & 1023) === 0 && performance.now() > deadline) break;
          }
          return n;
        },
        close: () => db.close(),
      };
    },

    async openDurable(dir) {
      const db = openDb(dir, "FULL", subjectIndex);
      const commit = groupCommit(inserter(db));
      return {
        write: (subject, payload) => commit([subject, payload]),
        close: () => db.close(),
      };
    },
  };
}

export default sqliteStore({ subjectIndex: false });
