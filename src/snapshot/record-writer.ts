/**
 * The plain body of a Messages frame, built record by record (FORMAT.md,
 * "Snapshot archive"). The store's own records are copied straight from
 * core memory (`addRecord`: the fixed part and one copy of subject, headers
 * and payload, which lie back to back there as in the archive); messages a
 * removal saved come as objects (`addMsg`). No per-message object or string
 * is made on the store's path: at a million messages that garbage cost more
 * than the reading.
 */
import type { ArchivedMsg } from "./types.ts";

/** seq u64, ts i64, ttl i64, header length i32 (-1: no headers), subject length u32, payload length u32. */
export const RECORD_FIXED = 36;
const TWO_32 = 0x1_0000_0000;
const encoder = new TextEncoder();

export class RecordWriter {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  /** Bytes written. */
  length = 0;
  /** Records written. */
  count = 0;
  /** Sequence of the last record written (0: none). */
  lastSeq = 0;

  /**
   * A record whose timestamp is the 8 bytes at `tsAt` and whose subject,
   * headers (`hdrLen` -1: none) and payload lie back to back from `at`, in `mem`.
   */
  addRecord(
    mem: Uint8Array,
    seq: number,
    tsAt: number,
    ttl: number,
    at: number,
    subjectLen: number,
    hdrLen: number,
    msgLen: number,
  ): void {
    const bytes = subjectLen + Math.max(hdrLen, 0) + msgLen;
    const o = this.fixed(seq, ttl, hdrLen, subjectLen, msgLen, bytes);
    const buf = this.buf;
    for (let i = 0; i < 8; i++) buf[o + 8 + i] = mem[tsAt + i];
    buf.set(mem.subarray(at, at + bytes), o + RECORD_FIXED);
  }

  /** A message as an object (one a removal saved, or MemStore's). */
  addMsg(m: ArchivedMsg): void {
    const subject = encoder.encode(m.subject);
    const hdrLen = m.hdr === null ? -1 : m.hdr.length;
    const bytes = subject.length + Math.max(hdrLen, 0) + m.msg.length;
    const o = this.fixed(m.seq, m.ttl, hdrLen, subject.length, m.msg.length, bytes);
    this.view.setBigInt64(o + 8, m.ts, true);
    let at = o + RECORD_FIXED;
    this.buf.set(subject, at);
    at += subject.length;
    if (m.hdr !== null) {
      this.buf.set(m.hdr, at);
      at += m.hdr.length;
    }
    this.buf.set(m.msg, at);
  }

  /** `count` whole records, the last at `lastSeq`, already in the archive's layout (a bulk read). */
  addRaw(records: Uint8Array, count: number, lastSeq: number): void {
    this.reserve(records.length);
    this.buf.set(records, this.length);
    this.length += records.length;
    this.count += count;
    this.lastSeq = lastSeq;
  }

  /** The body written so far (a view, valid until the next add after `reset`). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
    this.count = 0;
  }

  /** Writes the fixed part but the timestamp; returns where the record starts. */
  private fixed(
    seq: number,
    ttl: number,
    hdrLen: number,
    subjectLen: number,
    msgLen: number,
    bytes: number,
  ): number {
    const o = this.length;
    this.reserve(RECORD_FIXED + bytes);
    const v = this.view;
    v.setUint32(o, seq % TWO_32, true);
    v.setUint32(o + 4, Math.floor(seq / TWO_32), true);
    v.setInt32(o + 16, ttl < 0 ? -1 : ttl | 0, true);
    v.setInt32(o + 20, ttl < 0 ? -1 : 0, true);
    v.setInt32(o + 24, hdrLen, true);
    v.setUint32(o + 28, subjectLen, true);
    v.setUint32(o + 32, msgLen, true);
    this.length = o + RECORD_FIXED + bytes;
    this.count++;
    this.lastSeq = seq;
    return o;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
