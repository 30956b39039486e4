/**
 * A file consumer store's snapshot, the plaintext of its `state` file
 * (FORMAT.md, "Consumer files"): the f64 number of the last update it
 * includes, a record of kind 7 when the state has a redelivery count at its
 * ack floor, then the state in nats-server's encoding.
 *
 * nats-server's encoding drops a count at the floor (it stores redelivered
 * sequences relative to the floor and skips a delta of 0); once the updates
 * after a snapshot move the floor on, the live store still has that count,
 * and a store reopened from the encoding alone would not. The count goes in
 * the snapshot itself rather than in the log a compaction leaves: one file
 * replaced whole holds everything a compaction writes, so no crash can
 * leave the new snapshot without it.
 */
import { corrupt } from "../errors.ts";
import type { ConsumerMemStore } from "./consumer-mem-store.ts";
import { type ConsumerState, decodeConsumerState } from "./consumer-state.ts";

/** The record's kind byte, numbered after the log's update kinds (the encoding's magic is 22). */
const AT_FLOOR_KIND = 7;
/** The kind byte, the f64 stream sequence and the f64 count. */
const AT_FLOOR_BYTES = 1 + 8 + 8;

/** The snapshot of `rules`' state, which includes every update up to number `through`. */
export function encodeSnapshot(rules: ConsumerMemStore, through: number): Uint8Array {
  const encoded = rules.encodedState();
  const atFloor = rules.redeliveredAtFloor();
  const extra = atFloor === null ? 0 : AT_FLOOR_BYTES;
  const plain = new Uint8Array(8 + extra + encoded.length);
  const view = new DataView(plain.buffer);
  view.setFloat64(0, through, true);
  if (atFloor !== null) {
    plain[8] = AT_FLOOR_KIND;
    view.setFloat64(9, atFloor.sseq, true);
    view.setFloat64(17, atFloor.count, true);
  }
  plain.set(encoded, 8 + extra);
  return plain;
}

/**
 * Sets `rules`' state to the snapshot's and returns the number of the last
 * update it includes; ErrCorrupt (naming `path`) when it does not decode.
 */
export function restoreSnapshot(plain: Uint8Array, rules: ConsumerMemStore, path: string): number {
  const fail = (why: string) => corrupt(`${path}: ${why}`, { file: path });
  if (plain.length < 8) throw fail("too short for a snapshot");
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  let at = 8;
  let atFloor: { sseq: number; count: number } | null = null;
  if (plain[at] === AT_FLOOR_KIND) {
    if (plain.length < at + AT_FLOOR_BYTES) throw fail("a redelivery count cut short");
    atFloor = { sseq: view.getFloat64(at + 1, true), count: view.getFloat64(at + 9, true) };
    at += AT_FLOOR_BYTES;
  }
  let state: ConsumerState;
  try {
    state = decodeConsumerState(plain.subarray(at));
  } catch (err) {
    throw fail(`the state does not decode (${(err as Error).message})`);
  }
  if (atFloor !== null) {
    if (
      atFloor.sseq !== state.ackFloor.stream ||
      !(Number.isSafeInteger(atFloor.count) && atFloor.count > 0)
    ) {
      throw fail(
        `a redelivery count of ${atFloor.count} at ${atFloor.sseq} is not one at the ack floor (${state.ackFloor.stream})`,
      );
    }
    state.redelivered.set(atFloor.sseq, atFloor.count);
  }
  rules.restore(state);
  return view.getFloat64(0, true);
}
