/**
 * `syncDeleted`: removing the local messages that a peer's decoded stream
 * state says are deleted (nats-server's `SyncDeleted`), so both hold the same
 * deletions. Only sequences up to the local last are considered, as
 * nats-server does; a sequence already gone locally is no error. A range is
 * walked by the live messages inside it, not sequence by sequence, so a
 * range covering a billion skipped sequences costs what it removes.
 *
 * Every block is checked before anything is removed: a malformed one is
 * ErrInvalidArgument with nothing changed.
 */
import { invalidArgument } from "./errors.ts";
import { MAX_SEQ } from "./format.ts";
import type { DeleteBlock } from "./stream-state.ts";
import { describeValue } from "./validate.ts";

/** What `syncDeleted` needs of an engine. */
export interface DeletionTarget {
  readonly lastSeq: number;
  /** The first live sequence at or after `seq`, or 0. */
  nextLive(seq: number): number;
  /** Removes the message at `seq`; false if there was none. */
  remove(seq: number): boolean;
}

/** Removes the live messages the blocks hold; returns how many. */
export function syncDeleted(blocks: unknown, target: DeletionTarget): number {
  const checked = checkBlocks(blocks);
  let removed = 0;
  for (const block of checked) {
    if (block.kind === "range") {
      const last = Math.min(block.first + block.num - 1, target.lastSeq);
      for (let seq = target.nextLive(block.first); seq !== 0 && seq <= last; ) {
        if (target.remove(seq)) removed++;
        seq = seq === last ? 0 : target.nextLive(seq + 1);
      }
    } else {
      for (const seq of block.seqs) {
        if (seq > target.lastSeq) break;
        if (target.remove(seq)) removed++;
      }
    }
  }
  return removed;
}

function checkBlocks(blocks: unknown): DeleteBlock[] {
  const action = "Cannot sync deleted sequences";
  if (!Array.isArray(blocks)) {
    throw invalidArgument(
      `${action}: expected an array of delete blocks, got ${describeValue(blocks)}`,
    );
  }
  const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
  blocks.forEach((block: unknown, i) => {
    const b = block as Partial<{ kind: unknown; first: unknown; num: unknown; seqs: unknown }>;
    if (typeof block !== "object" || block === null) {
      throw invalidArgument(`${action}: block ${i} is ${describeValue(block)}, not a delete block`);
    }
    if (b.kind === "range") {
      if (!isSeq(b.first) || !isSeq(b.num) || b.num - 1 > MAX_SEQ - b.first) {
        throw invalidArgument(
          `${action}: block ${i} is a range of ${describeValue(b.num)} from ${describeValue(b.first)}; both must be safe integers >= 1 ending by 2^53 - 1`,
        );
      }
    } else if (b.kind === "seqset") {
      const seqs = b.seqs;
      if (!Array.isArray(seqs)) {
        throw invalidArgument(
          `${action}: block ${i} has seqs ${describeValue(seqs)}, not an array`,
        );
      }
      seqs.forEach((seq: unknown, j) => {
        if (!isSeq(seq) || (j > 0 && seq <= (seqs[j - 1] as number))) {
          throw invalidArgument(
            `${action}: block ${i} sequence ${j} is ${describeValue(seq)}; sequences must be safe integers >= 1, ascending`,
          );
        }
      });
    } else {
      throw invalidArgument(
        `${action}: block ${i} has kind ${describeValue(b.kind)}, not "range" or "seqset"`,
      );
    }
  });
  return blocks as DeleteBlock[];
}
