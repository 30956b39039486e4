/**
 * The paths that rewrite or unlink files: eraseMsg's overwrite in place,
 * purge, compact and truncate. Each keeps its crash-safe order (FORMAT.md):
 * an erase overwrites only once its tombstone is durable; purge makes its
 * range tombstone and the checkpoint durable before the old files go;
 * truncate makes a new block with re-asserted tombstones durable, then the
 * checkpoint, and only then cuts and unlinks files.
 */
import { isJetStoreError, JetStoreError } from "../errors.ts";
import { REC_FLAG_ERASED, REC_FLAG_TTL } from "../format.ts";
import { Action } from "../store-errors.ts";
import { getCore } from "../wasm/core.ts";
import { type Block, NO_RECORD } from "./block.ts";
import { missingRecord } from "./damage.ts";
import { decodeFields } from "./message-reader.ts";
import { Removals } from "./removals.ts";
import { forgetRun } from "./scan-run.ts";
import type { PendingErase } from "./store-base.ts";

export abstract class Rewrites extends Removals {
  /**
   * Overwrites the records of erased messages whose tombstones are durable:
   * a crash before that keeps the message intact (and removed), never a
   * message of random bytes that a checkpoint still counts. Returns the
   * blocks written, for the caller to fsync.
   * @internal
   */
  protected overwriteErased(erases: PendingErase[]): Block[] {
    const written = new Set<Block>();
    for (const e of erases) {
      // Gone with a purge, a compaction or a truncate since: nothing left to overwrite.
      if (this.findBlock(e.seq) !== e.block || e.block.offsetOf(e.seq) !== e.offset) continue;
      try {
        this.overwrite(e.block, e.seq, e.offset, e.ts);
      } catch (err) {
        // Damaged since it was removed: its extent is unknown, so it cannot be overwritten.
        if (isJetStoreError(err, "ErrCorrupt")) continue;
        throw err;
      }
      written.add(e.block);
    }
    return [...written];
  }

  /** With syncAlways: the tombstones are durable; overwrite and fsync now. @internal */
  protected eraseNow(): void {
    const erases = this.pendingErases;
    this.pendingErases = [];
    for (const b of this.overwriteErased(erases)) {
      this.syncBlock(b);
      b.dirty = false;
    }
  }

  /** In a sync round, once this round's tombstones are durable. @internal */
  protected async eraseDurably(erases: PendingErase[]): Promise<void> {
    const written = this.overwriteErased(erases);
    for (const b of written) b.dirty = false;
    const outcomes = await Promise.allSettled(written.map((b) => this.syncInFlight(b)));
    const failure = outcomes.find((o) => o.status === "rejected");
    if (failure !== undefined) {
      for (const b of written) b.dirty = true;
      throw failure.reason;
    }
  }

  /** Rewrites a record in place with random payload bytes and the ERASED flag. @internal */
  protected overwrite(block: Block, seq: number, offset: number, ts: bigint): void {
    const core = getCore();
    const { ptr, available } = this.recordPtr(block, seq);
    const f = decodeFields(ptr, available, block.path, offset);
    const random = new Uint8Array(f.msgLen + f.hdrLen);
    fillRandom(random);
    const hdrAt = f.hdrAt;
    const subjectLen = f.subjectLen;
    const hdrLen = f.hdrLen;
    const msgLen = f.msgLen;
    const flags = (f.flags | REC_FLAG_ERASED) & 0xff;
    const ttl = f.flags & REC_FLAG_TTL ? f.ttl : 0;
    core.u8.set(random, hdrAt);
    forgetRun();
    const length = core.abi.recordSeal(ptr, seq, ts, subjectLen, hdrLen, msgLen, flags, ttl);
    if (length < 0)
      throw new JetStoreError(
        "ErrInternal",
        `Message ${seq} could not be erased (status ${-length})`,
      );
    if (block !== this.active || offset < block.written) {
      const bytes = core.u8.slice(ptr, ptr + length);
      this.files.open(block);
      block.dirty = true;
      try {
        block.durability.overwrite(this.files.of(block), offset, bytes);
      } catch (err) {
        // Kept, and written again before the block's next fsync, whose round reports a lasting failure.
        if (this.options.syncAlways) throw err;
      }
    }
  }

  /** Every message goes; sequences go on (purge). @internal */
  protected purgeAll(): number {
    this.flushHeadRemovals();
    const purged = this.msgs;
    this.removeEverythingThrough(this.lastSeq);
    return purged;
  }

  /** Every message below `seq` goes; past the end, the next message gets `seq` (compact). @internal */
  protected compactTo(seq: number): number {
    this.flushHeadRemovals();
    if (seq === 0) return this.purgeAll();
    const before = this.msgs;
    if (seq > this.lastSeq) {
      // Past the end: everything goes and the next message gets `seq`.
      this.removeEverythingThrough(seq - 1);
      return before;
    }
    if (this.msgs === 0 || seq <= this.firstSeq) return 0;
    this.removalWatches.removing(this.firstSeq, seq - 1);
    for (const b of this.blocks) {
      // A block holding only tombstones has no range; the blocks after it still count.
      if (!b.hasRange) continue;
      if (b.first >= seq) break;
      this.dropLive(b, b.first, Math.min(b.last, seq - 1));
    }
    this.appendTombstone(seq - 1, seq - 1, this.lastTs, false);
    this.recomputeFirst();
    this.dropEmptyHeadBlocks();
    if (this.options.syncAlways) this.commitTombstones();
    return before - this.msgs;
  }

  /**
   * Cuts the stream after `seq`. The block holding `seq` is sealed where its
   * record ends and a new block takes the writes, so no file grows again
   * past a cut. Crash-safe in this order: the consumers' states
   * forget what they delivered past the cut, durably (a crash after costs
   * them redeliveries, never a message stored there later); the new block, holding tombstones
   * that re-assert every removal whose tombstone is cut, is made durable;
   * then the checkpoint that no longer lists what is cut; only then are
   * files cut and unlinked (after a crash, open finishes that: see recovery.ts).
   * @internal
   */
  protected truncateAfter(seq: number): void {
    this.flushHeadRemovals();
    const holder = this.findBlock(seq);
    if (holder === undefined || !holder.isLive(seq)) throw this.noMessageAt(Action.truncate, seq);
    if (seq === this.lastSeq) return;
    // The consumers first, on disk: one that fails leaves the stream as it was.
    this.consumers.truncating(seq);
    this.removalWatches.truncating(seq);
    this.writeOut();
    const lastTs = this.timestampOf(holder, seq);
    const end = this.recordEnd(holder, seq);
    // Created before anything changes: a disk too full for a new file refuses the truncate cleanly.
    const file = this.createBlockFile();
    const keep = this.blocks.indexOf(holder) + 1;
    // Blocks holding only tombstones have no range; they go with what is cut.
    const cut = this.blocks.slice(keep);
    // Tombstones in what is cut may name messages that stay: re-asserted below.
    let reassertFrom = Number.MAX_SAFE_INTEGER;
    for (const b of cut) reassertFrom = Math.min(reassertFrom, b.lowestTombstone);
    if (end < holder.written) reassertFrom = Math.min(reassertFrom, holder.lowestTombstone);
    if (holder.last > seq) this.dropLive(holder, seq + 1, holder.last);
    for (const b of cut) this.dropLive(b, b.first, b.last);
    this.sealAt(holder, seq, end);
    this.blocks = this.blocks.slice(0, keep);
    for (const b of cut) {
      this.cache.drop(b.n);
      this.files.release(b.n);
      b.dispose();
    }
    this.lastSeq = seq;
    this.lastTs = lastTs;
    this.startBlock(file);
    // Appends go to the new block: a holder that took them until now keeps its handle bounded.
    this.files.retired(holder);
    this.reassertRemovals(reassertFrom);
    this.expiry.ttls.truncatedTo(seq);
    this.recomputeFirst();
    try {
      // Fsyncs the new block and its directory entry before the checkpoint that lists it.
      this.writeCheckpointNow();
    } catch (err) {
      // Only a checkpoint records a truncate: until one is written, no change may follow
      // (the facade and sync rounds write it first), or a crash would mix the old and new
      // sequences. The files are cut by the open after that checkpoint.
      this.checkpointOwed = true;
      throw err;
    }
    this.cutFiles(holder, end, cut);
  }

  /** Where the record of `seq` ends in `block`. @internal */
  protected recordEnd(block: Block, seq: number): number {
    // The whole block, not recordPtr: that may hand back a lone record read past the cache.
    const { ptr, length } = this.bytesOf(block);
    const offset = block.offsetOf(seq);
    if (offset < 0 || offset === NO_RECORD) throw missingRecord(block, seq);
    return offset + decodeFields(ptr + offset, length - offset, block.path, offset).length;
  }

  /** Seals `block` (in memory) right after `seq`'s record, which ends at `end`. @internal */
  protected sealAt(block: Block, seq: number, end: number): void {
    if (block === this.active) {
      // Its bytes move to the cache as they are, verified, as when a block rolls.
      this.buffer.used = end;
      const { ptr } = this.buffer.handOff();
      this.cache.put(block.n, ptr, end).verified = true;
    }
    block.cutAfter(seq);
    block.length = block.written = end;
    block.durability.cut(end);
    block.maxTs = null;
  }

  /**
   * Writes tombstones for every removal of a surviving message at or after
   * `from`, and for the sequences below the first surviving block, whose
   * files may still be on disk waiting to be unlinked.
   * @internal
   */
  protected reassertRemovals(from: number): void {
    const first = this.blocks[0];
    if (first !== undefined && from < first.first) {
      this.appendTombstone(first.first - 1, first.first - from, this.lastTs, false);
    }
    for (const b of this.blocks) {
      if (!b.hasRange || b.last < from) continue;
      for (const [lo, hi] of b.deleted.runs(Math.max(b.first, from))) {
        const to = Math.min(hi, b.last);
        if (lo <= to) this.appendTombstone(to, to - lo + 1, this.lastTs, false);
      }
    }
  }

  /**
   * Cuts the holder's file and unlinks the cut blocks, once the checkpoint
   * that no longer lists them is durable. A failure leaves the store right:
   * open cuts a listed block back to its recorded length and removes
   * unlisted files below the checkpoint's last block (recovery.ts).
   * @internal
   */
  protected cutFiles(holder: Block, end: number, cut: Block[]): void {
    try {
      this.files.truncate(holder, end);
      // Durable before anything is written past the cut: without a checkpoint (deleted, or
      // older than the cut), a crash that undid the truncate would bring the old tail back
      // beside the new block that reuses its sequences.
      this.syncBlock(holder);
      for (const b of cut) this.fs.remove(b.path);
      this.dirDirty = true;
      this.syncDirectoryIfNeeded();
    } catch {
      // Finished by the next open, as after a crash here.
    }
  }

  /** Purge semantics: no message remains, the last sequence becomes `last`. @internal */
  protected removeEverythingThrough(last: number): void {
    if (this.msgs > 0) this.removalWatches.removing(this.firstSeq, this.lastSeq);
    this.writeOut();
    // Created before anything changes: a disk too full for a new file refuses the purge cleanly.
    const file = this.createBlockFile();
    const old = this.blocks;
    // As MemStore: the last timestamp stays that of the last message written, even past the end.
    const lastTs = this.lastTs;
    this.blocks = [];
    this.lastSeq = Math.max(this.lastSeq, last);
    this.startBlock(file);
    if (last > 0) this.appendTombstone(last, last, lastTs, false);
    this.lastSeq = last;
    this.lastTs = lastTs;
    this.policy.emptied();
    this.subjects.clear();
    this.firstSeq = last + 1;
    for (const b of old) {
      this.cache.drop(b.n);
      this.files.release(b.n);
      b.dispose();
    }
    // The old files go once the range tombstone is durable: here, or, if this
    // fails, at the next sync round or checkpoint that succeeds.
    this.pendingUnlinks.push(...old);
    this.writeOut();
    this.syncBlock(this.active);
    this.active.dirty = false;
    this.writeCheckpointNow();
  }
}

function fillRandom(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
  }
}
