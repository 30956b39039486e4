/**
 * The floor of effort: one file of length-prefixed records (`[u32 length]` then
 * the record of data.mjs), appended with `fs.writeSync` from a 256 KiB buffer
 * and fdatasynced before close. There is no index on disk: opening reads the
 * whole file to rebuild the in-memory offset of every sequence, and a read is
 * one positional `readSync`. Durable appends share fdatasyncs through
 * group-commit.mjs, as a hand-rolled log would.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeRecord, SUBJECTS } from "../data.mjs";
import { groupCommit } from "../group-commit.mjs";

const BUFFER_BYTES = 256 * 1024;
const CHUNK_BYTES = 4 * 1024 * 1024;
const LENGTH_BYTES = 4;
const RECORD_HEADER = 10;
const datasync = promisify(fdatasync);

function openLog(dir, flags) {
  mkdirSync(dir, { recursive: true });
  return openSync(join(dir, "log"), flags);
}

/** Writes records into a reusable buffer and hands it to the file when full. */
function recordWriter(fd) {
  const buf = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;
  const flush = () => {
    let done = 0;
    while (done < used) done += writeSync(fd, buf, done, used - done);
    used = 0;
  };
  const add = (subject, payload) => {
    const subjectBytes = Buffer.byteLength(subject);
    const length = RECORD_HEADER + subjectBytes + payload.length;
    if (used + LENGTH_BYTES + length > BUFFER_BYTES) flush();
    buf.writeUInt32LE(length, used);
    buf.writeDoubleLE(Date.now(), used + 4);
    buf.writeUInt16LE(subjectBytes, used + 12);
    buf.write(subject, used + 14, "utf8");
    buf.set(payload, used + 14 + subjectBytes);
    used += LENGTH_BYTES + length;
  };
  return { add, flush };
}

/**
 * Calls `visit(chunk, filePos, start, length)` for every record, reading the
 * file in 4 MiB chunks, until `visit` returns false.
 */
function forEachRecord(fd, visit) {
  const size = fstatSync(fd).size;
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let chunkPos = 0; // file position of chunk[0]
  let filled = 0;
  let at = 0; // next record's offset within chunk
  while (chunkPos + at < size) {
    if (at + LENGTH_BYTES > filled || at + LENGTH_BYTES + chunk.readUInt32LE(at) > filled) {
      // Move the partial record to the front and refill.
      chunk.copy(chunk, 0, at, filled);
      chunkPos += at;
      filled -= at;
      at = 0;
      const need = filled + LENGTH_BYTES + (filled >= LENGTH_BYTES ? chunk.readUInt32LE(0) : 0);
      if (need > chunk.length) chunk = Buffer.concat([chunk.subarray(0, filled)], need * 2);
      const read = readSync(fd, chunk, filled, chunk.length - filled, chunkPos + filled);
      if (read === 0) break; // a torn last record: the floor of effort drops it
      filled += read;
      continue;
    }
    const length = chunk.readUInt32LE(at);
    const more = visit(chunk, chunkPos + at, at + LENGTH_BYTES, length);
    at += LENGTH_BYTES + length;
    if (more === false) break;
  }
}

export default {
  name: "append-log",
  subject: "inside the record",
  subjectQuery: "no: a full scan of the file",
  durability: "fdatasync before close; W8 group commit by hand",

  async append(dir, count, pool) {
    const fd = openLog(dir, "w");
    const writer = recordWriter(fd);
    for (let i = 0; i < count; i++) writer.add(SUBJECTS[i % 1000], pool[i & 1023]);
    writer.flush();
    fdatasyncSync(fd);
    closeSync(fd);
  },

  async openReader(dir) {
    const fd = openLog(dir, "r");
    const offsets = [];
    const lengths = [];
    forEachRecord(fd, (_chunk, filePos, _start, length) => {
      offsets.push(filePos + LENGTH_BYTES);
      lengths.push(length);
    });
    return {
      first: 1,
      last: offsets.length,
      get(seq) {
        const buf = Buffer.allocUnsafe(lengths[seq - 1]);
        readSync(fd, buf, 0, buf.length, offsets[seq - 1]);
        return decodeRecord(buf);
      },
      scan(deadline) {
        let n = 0;
        forEachRecord(fd, (chunk, _filePos, start, length) => {
          decodeRecord(chunk.subarray(start, start + length));
          return (++n & 1023) !== 0 || performance.now() <= deadline;
        });
        return n;
      },
      close: () => closeSync(fd),
    };
  },

  async openDurable(dir) {
    const fd = openLog(dir, "a");
    const writer = recordWriter(fd);
    const commit = groupCommit(async (batch) => {
      for (const [subject, payload] of batch) writer.add(subject, payload);
      writer.flush();
      await datasync(fd);
    });
    return {
      write: (subject, payload) => commit([subject, payload]),
      close: () => closeSync(fd),
    };
  },
};
