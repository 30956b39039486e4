/**
 * Durability: one group-commit round (write out, fsync every dirty block and
 * the directory, then the erases whose tombstones that made durable), the
 * checkpoint (temporary file, fsync, rename, directory fsync) that lets open
 * trust blocks without reading them, and the synchronous close a normal
 * process exit runs for a store left open (runtimes/exit.ts).
 */

import { joinPath, replaceFile } from "../../runtimes/fs.ts";
import { encodeSettings, writeSettings } from "../at-rest/settings.ts";
import { sameBytes } from "../bytes.ts";
import { BLOCK_HEADER_SIZE, REC_CHECKSUM_SIZE } from "../format.ts";
import { getCore } from "../wasm/core.ts";
import type { Block } from "./block.ts";
import {
  CHECKPOINT_CHECKSUM_SIZE,
  CHECKPOINT_FILE,
  type CheckpointToWrite,
  encodeCheckpoint,
} from "./checkpoint.ts";
import { Rewrites } from "./rewrites.ts";
import type { CheckpointOnDisk } from "./store-base.ts";

const EMPTY = new Uint8Array(0);

export abstract class Durability extends Rewrites {
  /** @internal */
  protected hasUnsynced(): boolean {
    if (this.hasPendingWrite() || this.dirDirty) return true;
    if (this.earlySyncs.size > 0 || this.earlySyncError !== null) return true;
    if (this.pendingUnlinks.length > 0 || this.headRemovedThrough > 0) return true;
    if (this.pendingErases.length > 0) return true;
    return this.blocks.some((b) => b.dirty);
  }

  /** One group-commit round: write out, fsync every dirty block and the directory. @internal */
  protected async syncRound(): Promise<void> {
    // Asked for before a delete let the store go: nothing is left to write, and its
    // buffers are freed (a write into one would land in another store's memory).
    if (this.released) return;
    // A truncate's checkpoint first: nothing written since may be acknowledged before it.
    if (this.checkpointOwed) this.writeCheckpointNow();
    this.flushHeadRemovals();
    if (this.writeError !== null) {
      const err = this.writeError;
      this.writeError = null;
      this.writeOut(); // retry; throws again if the cause persists
      if (this.hasPendingWrite()) throw err;
    }
    this.writeOut();
    this.preallocateActive();
    // What this round covers is fixed before its first await: a block sealed
    // while it waits must not drop out of it with its early fsync unawaited.
    const dirty = this.blocks.filter((b) => b.dirty && b.handle !== null);
    for (const b of dirty) b.dirty = false;
    // An early fsync that already failed left its block dirty: this round syncs it again.
    this.earlySyncError = null;
    const early = [...this.earlySyncs];
    const emptied = this.pendingUnlinks;
    this.pendingUnlinks = [];
    // Erases whose tombstones this round writes: overwritten once those are durable.
    const erases = this.pendingErases;
    this.pendingErases = [];
    try {
      // Every fsync settles before the round does: one still running must not overlap the next round's.
      const outcomes = await Promise.allSettled([
        ...early,
        ...dirty.map((b) => this.syncInFlight(b)),
      ]);
      // Deleted meanwhile (delete does not wait for a round): its files went with it, and
      // its directory, gone or another store's by now, is no longer this store's to sync.
      if (this.released) return;
      const failure = outcomes.find((o) => o.status === "rejected");
      if (failure !== undefined) {
        for (const b of dirty) b.dirty = true;
        this.pendingUnlinks.unshift(...emptied);
        throw failure.reason;
      }
      if (!this.released && emptied.length > 0) this.unlinkInBackground(emptied);
      else this.pendingUnlinks.unshift(...emptied);
      if (this.earlySyncError !== null) {
        const err = this.earlySyncError;
        this.earlySyncError = null;
        throw err;
      }
      this.syncDirectoryIfNeeded();
      this.files.trimHandles();
    } catch (err) {
      this.pendingErases.unshift(...erases);
      throw err;
    }
    // Their tombstones are durable now, directory entry included.
    if (erases.length > 0) await this.eraseDurably(erases);
  }

  /**
   * A group-commit round, then the checkpoint (flush, close); false when the
   * store was closed meanwhile, and no checkpoint written.
   * @internal
   */
  protected async syncAndCheckpoint(): Promise<boolean> {
    this.checkpointNext++;
    try {
      await this.commit.request();
    } finally {
      this.checkpointNext--;
    }
    // By a delete, which does not wait for a round in flight: its memory is released,
    // and its directory may be a new store's by now, whose files of the same names
    // this checkpoint's unlinks would take.
    if (this.released) return false;
    this.writeCheckpointNow();
    return true;
  }

  /** Writes the checkpoint atomically: temp file, fsync, rename, directory fsync. @internal */
  protected writeCheckpointNow(): void {
    this.flushHeadRemovals();
    this.writeOut();
    // The checkpoint's last block has exactly its recorded size, so a clean open leaves it unread.
    if (this.active !== undefined && this.files.trimZeros(this.active)) this.active.dirty = true;
    for (const b of this.blocks) {
      if ((b.dirty || b.syncing > 0) && b.handle !== null) {
        this.syncBlock(b);
        b.dirty = false;
      }
    }
    // Every block the checkpoint lists must survive a power cut that keeps its rename.
    this.syncDirectoryIfNeeded();
    if (this.pendingErases.length > 0) this.eraseNow();
    if (this.checkpointUnchanged()) {
      this.checkpointOwed = false;
      return;
    }
    const plain = encodeCheckpoint(this.checkpoint());
    // Under a cipher the checkpoint holds subjects: it is sealed like the blocks.
    const sealer = this.files.sealer;
    const bytes = sealer.sealsFiles ? sealer.sealEnvelope(plain) : plain;
    // Unknown until the rename is done: a write that fails midway must not let a later skip trust either file.
    this.checkpointOnDisk = null;
    replaceFile(this.fs, joinPath(this.dir, CHECKPOINT_FILE), bytes, this.options.fileMode);
    this.checkpointStale = false;
    this.dirDirty = true;
    if (!sealer.sealsFiles) this.checkpointOnDisk = this.onDisk(plain);
    const emptied = this.pendingUnlinks;
    this.pendingUnlinks = [];
    this.unlinkEmptied(emptied);
    this.syncDirectoryIfNeeded();
    this.checkpointOwed = false;
  }

  /**
   * A block was rewritten in the background (or the store opened): its
   * rename waits for the next directory fsync. Once no block is left in
   * another format, a checkpoint in another format is written again (a
   * plain one holds subjects). And when a store converted
   * to `cipher: "none"` has no block left sealed with a cipher, the
   * checkpoint is written plain, then the settings file without the data
   * key, so the store opens without a key from now on.
   * @internal
   */
  protected blockRewritten(): void {
    // The rename of a rewritten block: durable with the next directory fsync.
    this.dirDirty = true;
    const sealer = this.files.sealer;
    if (this.closed) return;
    // An empty block (the active one started over) is written in the store's format.
    if (
      this.checkpointStale &&
      !this.blocks.some((b) => b.written > BLOCK_HEADER_SIZE && this.files.formatDiffers(b))
    ) {
      try {
        this.writeCheckpointNow();
      } catch {
        // Tried again after the next rewrite or open; a close writes it anyway.
      }
    }
    if (sealer.target.cipher !== "none" || !sealer.hasDataKey) return;
    if (this.files.anyEncrypted(this.blocks)) return;
    try {
      this.writeCheckpointNow();
      writeSettings(
        this.fs,
        this.dir,
        encodeSettings({ ...sealer.target, dataKey: null }, null),
        this.options.fileMode,
      );
      sealer.wipe();
    } catch {
      // Tried again at the next open, when the packer has nothing to do.
    }
  }

  /**
   * True when the checkpoint file already says what one written now would:
   * nothing it records changed since open read it or this process wrote it
   * (most sessions that only read close without writing; one whose filtered
   * queries named subjects writes, as they reorder its subject entries).
   * Compared by length and the checkpoint's own trailing checksum (xxHash64
   * of its body), so no copy of a checkpoint that may take tens of MiB is
   * kept: a false match would take two encodings of one length with the same
   * 64-bit hash. A block still unchecked counts with the checksum it was
   * vouched for, as the file on disk vouches for it, so the comparison opens
   * no block file (it takes their sizes). No new checkpoint then vouches for
   * an unchecked file.
   * The file open read may be the rename of a process killed before its
   * directory fsync: open leaves the directory to be fsynced (blockRewritten),
   * which the round and writeCheckpointNow do before this, or a skip would
   * leave that checkpoint undurable and a power cut bring the one before back.
   * @internal
   */
  protected checkpointUnchanged(): boolean {
    const disk = this.checkpointOnDisk;
    if (disk === null || this.checkpointOwed || this.pendingUnlinks.length > 0) return false;
    if (this.files.sealer.sealsFiles || this.active === undefined) return false;
    const active = this.active;
    if (disk.lastSeq !== this.lastSeq || disk.blocks !== this.blocks.length) return false;
    if (disk.activeN !== active.n || disk.activeWritten !== active.written) return false;
    // A file longer than recorded holds a truncate's tail (vouched-blocks.ts), which only a
    // checkpoint written after it cuts (lastChecksumOf): one is written then.
    for (const b of this.blocks) {
      const length = this.files.vouched.recordedLength(b.n);
      if (length !== undefined && this.fs.stat(b.path)?.size !== length) return false;
    }
    const plain = encodeCheckpoint(this.checkpoint(true));
    const at = plain.length - CHECKPOINT_CHECKSUM_SIZE;
    return (
      plain.length === disk.length &&
      sameBytes(plain, at, disk.checksum, 0, CHECKPOINT_CHECKSUM_SIZE)
    );
  }

  /**
   * What `checkpointOnDisk` keeps of the plain checkpoint `plain`, read or
   * written, with the store's figures when it was taken. @internal
   */
  protected onDisk(plain: Uint8Array): CheckpointOnDisk {
    return {
      length: plain.length,
      checksum: plain.slice(plain.length - CHECKPOINT_CHECKSUM_SIZE),
      lastSeq: this.lastSeq,
      blocks: this.blocks.length,
      activeN: this.active.n,
      activeWritten: this.active.written,
    };
  }

  /** @internal */
  protected checkpoint(asVouched = false): CheckpointToWrite {
    return {
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      blocks: this.blocks
        .filter((b) => !b.fileDeferred)
        .map((b) => ({
          n: b.n,
          first: b.first,
          last: b.last,
          firstTs: b.firstTs,
          lastTs: b.lastTs,
          msgs: b.msgs,
          bytes: b.bytes,
          length: b.written,
          lastChecksum: this.lastChecksumOf(b, asVouched),
          tombstones: b.tombstones,
          lowestTombstone: b.lowestTombstone,
          deleted: b.deleted.encode(),
        })),
      subjects: this.subjects.checkpointEntries(),
      ttls: [...this.expiry.ttls.scheduled()],
      never: [...this.expiry.ttls.neverSeqs()],
    };
  }

  /** @internal */
  protected lastChecksumOf(block: Block, asVouched = false): Uint8Array {
    if (block.written <= BLOCK_HEADER_SIZE) return EMPTY;
    // Open took it on the last checkpoint's word (vouched-blocks.ts): checked before this one
    // vouches for it, so no checkpoint vouches for a file no open or first use looked at.
    const vouched = this.files.vouched.lastChecksum(block.n);
    if (vouched !== null && asVouched) return vouched;
    if (vouched !== null) this.files.open(block);
    // Damage found since open (see damage.ts), or a file found shorter (vouched-blocks.ts): no
    // checksum, which vouches only for a block without records, so the next open rescans it.
    if (block.damage !== null || this.files.vouched.shortEnd(block.n) !== undefined) return EMPTY;
    const actual = this.readLastChecksum(block);
    // Its last bytes are not those the last checkpoint vouched for: damage, not vouched for either.
    const same =
      vouched?.length === actual.length && sameBytes(actual, 0, vouched, 0, actual.length);
    if (vouched !== null && !same) return EMPTY;
    return actual;
  }

  /** @internal */
  protected readLastChecksum(block: Block): Uint8Array {
    const out = new Uint8Array(REC_CHECKSUM_SIZE);
    if (block === this.active) {
      out.set(this.buffer.view(block.written - REC_CHECKSUM_SIZE, block.written));
    } else {
      const cached = this.cache.get(block.n);
      if (cached !== undefined) {
        out.set(getCore().u8.subarray(cached.ptr + block.written - 8, cached.ptr + block.written));
      } else {
        this.files.readTail(block, block.written, out);
      }
    }
    return out;
  }

  /**
   * What a normal exit does to a store left open: what close() does, but
   * synchronously (exit listeners cannot wait). Buffered records are written
   * and fsynced, the checkpoint recorded and the lock released; on failure
   * whatever could be written is, and the next open recovers the rest.
   * @internal
   */
  protected closeAtExit(): void {
    if (this.released) return;
    try {
      this.writeCheckpointNow();
    } catch {
      try {
        this.flushHeadRemovals();
        this.writeOut();
      } catch {
        // Nothing more can be done at exit; recovery reads what reached the file.
      }
    } finally {
      this.closed = true;
      this.released = true;
      this.lock.release();
    }
  }
}
