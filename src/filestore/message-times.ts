/**
 * Timestamps of stored messages, as the limits, fastState and open ask for
 * them: a message's, a block's largest, and the stream's first, which comes
 * from the checkpoint or one record at its block's start before a whole
 * block is read for it.
 */
import { isJetStoreError } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  REC_FLAG_ERASED,
  REC_FLAG_SKIP,
  REC_FLAG_TOMBSTONE,
} from "../format.ts";
import { type Block, NO_RECORD } from "./block.ts";
import { unlessLost } from "./damage.ts";
import { type DecodedFields, decodedTimestamp, decodeFields } from "./message-reader.ts";
import { BlockReads } from "./reads.ts";

export abstract class MessageTimes extends BlockReads {
  /**
   * The block's largest live timestamp, found once and raised by later
   * appends. A message lost to damage (damage.ts) has none to give and no
   * scan returns it, so it is left out, as getSeqFromTime's walk leaves it.
   * @internal
   */
  protected maxTimestamp(block: Block): bigint {
    if (block.maxTs === null) {
      let max = -1n;
      for (let seq = block.nextLive(block.first); seq !== 0; seq = block.nextLive(seq + 1)) {
        const ts = unlessLost(block, seq, () => this.timestampOf(block, seq));
        if (ts !== null && ts > max) max = ts;
      }
      block.maxTs = max;
    }
    return block.maxTs;
  }

  /** @internal */
  protected timestampOf(block: Block, seq: number): bigint {
    const { ptr, available, offset } = this.recordPtr(block, seq);
    decodeFields(ptr, available, block.path, offset);
    return decodedTimestamp();
  }

  /**
   * A live message's timestamp as the age limit sees it. A lost one's (see
   * damage.ts) stands in as its block's first, as for the stream's first
   * (`firstTimestamp`): the age walk past messages that never expire must
   * step over it, not throw on every store.
   * @internal
   */
  protected ageTimestampOf(seq: number): bigint {
    const block = this.findBlock(seq) as Block;
    return unlessLost(block, seq, () => this.timestampOf(block, seq)) ?? block.firstTs;
  }

  /** @internal */
  protected timestampAt(block: Block, offset: number): bigint {
    const { ptr, length } = this.bytesOf(block);
    decodeFields(ptr + offset, length - offset, block.path, offset);
    return decodedTimestamp();
  }

  /** @internal */
  protected firstTimestamp(): bigint {
    const seq = this.firstSeq;
    if (this.firstTsOf === seq) return this.firstTs;
    const block = this.findBlock(seq);
    if (block === undefined) return 0n;
    let ts: bigint | null = null;
    // Recorded when the block's first message was appended (0 when unknown: older checkpoints).
    if (seq === block.first && block.firstTs !== 0n) ts = block.firstTs;
    else if (block !== this.active && !this.cache.holds(block.n))
      ts = this.timestampAtBlockStart(block, seq);
    if (ts === null) {
      try {
        ts = this.timestampOf(block, seq);
      } catch (err) {
        if (!isJetStoreError(err, "ErrCorrupt") || block.offsetOf(seq) !== NO_RECORD) throw err;
        // A lost first message (see damage.ts): its block's first timestamp from the checkpoint stands in.
        ts = block.firstTs;
      }
    }
    this.firstTsOf = seq;
    this.firstTs = ts;
    return ts;
  }

  /**
   * The timestamp of `seq` if it is the first record of `block`, read on its
   * own: a block usually starts with its first message, and reading one record
   * spares an open from loading and indexing a whole block for fastState().
   * @internal
   */
  protected timestampAtBlockStart(block: Block, seq: number): bigint | null {
    const got = this.files.readRecord(block, BLOCK_HEADER_SIZE, this.scratch);
    if (got === 0) return null;
    let f: DecodedFields;
    try {
      f = decodeFields(this.scratch.ptr, got, block.path, BLOCK_HEADER_SIZE);
    } catch {
      // A damaged first record may be a removed message's: the indexed read decides.
      return null;
    }
    if (f.seq !== seq || f.flags & (REC_FLAG_TOMBSTONE | REC_FLAG_SKIP | REC_FLAG_ERASED))
      return null;
    return decodedTimestamp();
  }
}
