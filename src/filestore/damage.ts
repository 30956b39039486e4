/**
 * Damage found in a block that a checkpoint vouched for, so open never
 * scanned it: the block's first read (which builds its offset index) skips
 * records that fail verification and notes where (`Block.damage`). This turns
 * those notes into the `lost` report: a live message with no verified record
 * is lost, and it is told to the stretch of damaged bytes that lies between
 * its verified neighbours.
 */
import { isJetStoreError, type JetStoreError } from "../errors.ts";
import { lostToDamage } from "../store-errors.ts";
import type { DamagedBytes, LostData } from "../types.ts";
import { type Block, NO_RECORD } from "./block.ts";

/** The damaged stretches of an indexed block and the live messages they took, in file order. */
export function damagedMessages(block: Block): DamagedBytes[] {
  const stretches = (block.damage ?? []).map(([offset, bytes]) => ({
    block: block.n,
    offset,
    bytes,
    msgs: [] as number[],
  }));
  if (stretches.length === 0 || block.offsets === null) return stretches;
  let pending: number[] = [];
  const tell = (before: number) => {
    // The last stretch starting before the next verified record holds what went missing.
    let owner = stretches[0];
    for (const s of stretches) if (s.offset < before) owner = s;
    owner.msgs.push(...pending);
    pending = [];
  };
  for (let seq = block.nextLive(block.first); seq !== 0; seq = block.nextLive(seq + 1)) {
    const offset = block.offsetOf(seq);
    if (offset === NO_RECORD) pending.push(seq);
    else if (pending.length > 0) tell(offset);
  }
  if (pending.length > 0) tell(Number.MAX_SAFE_INTEGER);
  return stretches;
}

/** `lost` as open found it, plus damage found since in blocks open did not read. */
export function lostReport(atOpen: LostData | undefined, blocks: Block[]): LostData | undefined {
  let report = atOpen === undefined ? undefined : copyLost(atOpen);
  for (const block of blocks) {
    if (block.damage === null || block.damage.length === 0) continue;
    report ??= { msgs: [], bytes: 0, damaged: [] };
    for (const stretch of damagedMessages(block)) {
      report.damaged.push(stretch);
      report.bytes += stretch.bytes;
      report.msgs.push(...stretch.msgs);
    }
  }
  if (report !== undefined && report !== atOpen) report.msgs.sort((a, b) => a - b);
  return report;
}

function copyLost(lost: LostData): LostData {
  return {
    msgs: [...lost.msgs],
    bytes: lost.bytes,
    damaged: lost.damaged.map((d) => ({ ...d, msgs: [...d.msgs] })),
  };
}

/** What `read` gives, or null when it fails because damage swallowed `seq`'s record. @internal */
export function unlessLost<T>(block: Block, seq: number, read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    if (isLost(err, block, seq)) return null;
    throw err;
  }
}

/** True when `err` is a read of `seq` failing because damage swallowed its record. */
export function isLost(err: unknown, block: Block, seq: number): boolean {
  return isJetStoreError(err, "ErrCorrupt") && lostInIndexed(block, seq);
}

/**
 * True when the live message `seq` has no verified record in its block's
 * offset index: lost, as far as the block's reads so far have found (a block
 * not read since open has no index, and damage in it is not known yet).
 */
export function lostInIndexed(block: Block, seq: number): boolean {
  return block.offsetOf(seq) === NO_RECORD;
}

/** A live message whose record a scan found damaged and skipped. @internal */
export function missingRecord(block: Block, seq: number): JetStoreError {
  const stretch = damagedMessages(block).find((d) => d.msgs.includes(seq));
  return lostToDamage("ErrCorrupt", seq, { file: block.path, offset: stretch?.offset });
}
