/**
 * Opening a store, once its directory is locked and its layers built: the
 * state recovery.ts finds taken in, the active block chosen (the last one,
 * or a new one when the last is left unread), limits applied to what is
 * there, and blocks in another format queued for conversion.
 */
import { formatBits } from "../at-rest/sealer.ts";
import { convertConsumerFiles } from "../consumers/consumer-files.ts";
import { BLOCK_HEADER_SIZE } from "../format.ts";
import { Durability } from "./durability.ts";
import { recover } from "./recovery.ts";

/**
 * A last block at least this large (or half a block) that the checkpoint
 * vouches for whole is not read at open: appends start a new block, so
 * opening costs the same whatever the store holds. A smaller one is read
 * and appended to, so opening and closing often does not leave small blocks.
 */
const LAST_BLOCK_KEPT_BELOW = 1024 * 1024;

export abstract class StoreLoad extends Durability {
  /** Takes in what recovery found and readies the store for writes. @internal */
  protected load(): void {
    const { blockSize } = this.options;
    const leaveLastFrom = Math.min(LAST_BLOCK_KEPT_BELOW, blockSize / 2);
    const r = recover(
      this.fs,
      this.files,
      this.dir,
      this.cache,
      this.buffer,
      this.expiry.ttls,
      leaveLastFrom,
    );
    this.blocks = r.blocks;
    this.subjects = r.subjects;
    this.lost = r.lost;
    this.nextBlockNumber = r.nextBlockNumber;
    this.lastSeq = r.lastSeq;
    for (const b of this.blocks) {
      this.policy.addedAll(b.msgs, b.bytes);
      b.durability.synced = b.written;
    }
    if (this.blocks.length === 0 || r.lastLeftUnread) {
      // After a last block left unread, the new one's file waits for a record to hold.
      this.startBlock(r.lastLeftUnread ? null : undefined);
    } else {
      this.active = this.blocks[this.blocks.length - 1];
      const active = this.active;
      this.files.appendingTo = active.n;
      if (active.length <= BLOCK_HEADER_SIZE && this.files.formatDiffers(active)) {
        // Empty: started over in the store's format at its first write-out.
        this.files.truncate(active, 0);
        active.length = active.written = 0;
      }
      if (active.length < BLOCK_HEADER_SIZE) {
        this.buffer.reset(active.n);
        active.length = this.buffer.used;
        active.written = 0;
      }
    }
    this.lastTs = r.checkpointLastTs;
    if (r.lastRecord !== null && r.lastRecord.seq === this.lastSeq) {
      this.lastTs = this.timestampAt(r.lastRecord.block, r.lastRecord.offset);
    }
    // An empty new store starting past 1 records where it starts.
    if (this.lastSeq === 0 && this.limits.firstSeq > 1) {
      this.appendTombstone(this.limits.firstSeq - 1, 1, 0n);
    }
    this.recomputeFirst();
    this.dropEmptyHeadBlocks();
    this.expiry.ttls.retain((seq) => this.findBlock(seq)?.isLive(seq) === true);
    // Limits may be lower than when the store was written, and time has passed.
    this.policy.applyAll(() => this.subjects.map.keys(), "open store");
    // Written in another format than the one asked for: appends go to a new block.
    if (this.active.written > BLOCK_HEADER_SIZE && this.files.formatDiffers(this.active)) {
      this.rollBlock();
    }
    for (const b of this.blocks) {
      if (b !== this.active && this.files.needsConversion(b)) this.packer.add(b);
    }
    convertConsumerFiles(this.fs, this.files.sealer, this.dir, this.options.fileMode);
    // What open changed shows in the comparison (checkpointUnchanged), not in these figures.
    if (r.checkpointBytes !== null) this.checkpointOnDisk = this.onDisk(r.checkpointBytes);
    this.checkpointStale =
      r.checkpointFormat !== null && r.checkpointFormat !== formatBits(this.files.sealer.target);
  }
}
