/**
 * fsync of one block file, and what it does after a failed one. Since Linux
 * 4.13 a failed fsync may drop the dirty pages it could not write
 * ("fsyncgate"): they count as clean, reads still return them, and the next
 * fsync succeeds without writing them. Retrying the fsync therefore proves
 * nothing. So a block remembers how far an fsync is known to have reached
 * (`synced`) and the erased records it overwrote in place since; after a
 * failure everything past `synced`, and those records, is written again
 * from memory before the next fsync, and only an fsync that started after
 * that rewrite and saw no failure meanwhile counts: one that overlapped a
 * failure is tried again, after the rewrite that failure calls for.
 */
import { JetStoreError } from "../errors.ts";
import type { BlockFile } from "./block-file.ts";

/** fsyncs tried again when another fsync of the same file failed while one ran. */
const OVERLAP_RETRIES = 3;

/** The bytes [from, to) of a block as the store wrote them; throws if they cannot be vouched for. */
export type BlockBytes = (from: number, to: number) => Uint8Array;

/** An erased record written in place, kept until an fsync covers it. */
interface Overwrite {
  offset: number;
  bytes: Uint8Array;
  /** False until written, and again after a failed fsync may have dropped it. */
  written: boolean;
}

/** What an fsync covers, fixed when it starts. */
interface SyncStart {
  length: number;
  /** `synced` when it started: what a failure of this fsync may have dropped starts there. */
  synced: number;
  overwrites: number;
  failures: number;
}

/** One block's durability bookkeeping. */
export class BlockSync {
  /** Bytes from the start of the file that a successful fsync covered. */
  synced = 0;
  /** Set by a failed fsync: bytes from here to the end must be written again; -1 when none. */
  rewriteFrom = -1;
  /** Failed fsyncs so far: a success that overlapped one proves nothing. */
  private failures = 0;
  private overwrites: Overwrite[] = [];

  /**
   * Nothing is owed to the file: no bytes to write again after a failed
   * fsync, no erased record waiting for one. Its handle may then be closed
   * and another opened later (block-file.ts), since what the next fsync must
   * cover is kept here, not in the handle.
   */
  get settled(): boolean {
    return this.rewriteFrom < 0 && this.overwrites.length === 0;
  }

  /** The file is cut to `length`: nothing past it is waiting or durable. */
  cut(length: number): void {
    this.synced = Math.min(this.synced, length);
    if (this.rewriteFrom > length) this.rewriteFrom = length;
    this.overwrites = this.overwrites.filter((o) => o.offset + o.bytes.length <= length);
  }

  /**
   * Writes `bytes` at `offset` in place (an erased record) and keeps them
   * until an fsync covers them. A failed write is kept too, tried again
   * before the next fsync, and thrown to the caller.
   */
  overwrite(file: BlockFile, offset: number, bytes: Uint8Array): void {
    const entry: Overwrite = { offset, bytes, written: false };
    this.overwrites.push(entry);
    file.overwrite(bytes, offset);
    entry.written = true;
  }

  /** fsyncs `file` for the first `length` bytes, after writing again what a failed fsync may have dropped. */
  sync(file: BlockFile, length: number, source: BlockBytes): void {
    const started = this.prepare(file, length, source);
    try {
      file.sync();
    } catch (err) {
      this.failed(started);
      throw err;
    }
    // Nothing else runs during a synchronous fsync, so no failure can overlap it.
    this.succeeded(started);
  }

  /** The same as `sync` with the runtime's asynchronous fsync. */
  async syncAsync(file: BlockFile, length: number, source: BlockBytes): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = this.prepare(file, length, source);
      try {
        await file.syncAsync();
      } catch (err) {
        this.failed(started);
        throw err;
      }
      if (this.succeeded(started)) return;
      if (attempt === OVERLAP_RETRIES) {
        throw new JetStoreError(
          "ErrIO",
          `fsync of ${file.path} kept overlapping failed fsyncs of the same file`,
          { file: file.path },
        );
      }
    }
  }

  private prepare(file: BlockFile, length: number, source: BlockBytes): SyncStart {
    for (const o of this.overwrites) {
      if (!o.written && o.offset + o.bytes.length <= length) {
        // An overwrite again, not a plain write: a sealed file may not hold these bytes yet.
        file.overwrite(o.bytes, o.offset);
        o.written = true;
      }
    }
    if (this.rewriteFrom >= 0) {
      if (length > this.rewriteFrom) {
        file.write(source(this.rewriteFrom, length), this.rewriteFrom);
      }
      this.rewriteFrom = -1;
    }
    return {
      length,
      synced: this.synced,
      overwrites: this.overwrites.length,
      failures: this.failures,
    };
  }

  private failed(started: SyncStart): void {
    this.failures++;
    // From where this fsync started: an fsync that succeeded meanwhile may not have covered it.
    const from = Math.min(this.synced, started.synced);
    this.rewriteFrom = this.rewriteFrom < 0 ? from : Math.min(this.rewriteFrom, from);
    this.synced = from;
    for (const o of this.overwrites) o.written = false;
  }

  /** Records a completed fsync; false when a failure overlapped it, so it proves nothing. */
  private succeeded(started: SyncStart): boolean {
    if (started.failures !== this.failures) return false;
    this.synced = Math.max(this.synced, started.length);
    const covered = this.overwrites.slice(0, started.overwrites);
    if (covered.every((o) => o.written))
      this.overwrites = this.overwrites.slice(started.overwrites);
    return true;
  }
}
