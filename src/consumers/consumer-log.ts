/**
 * A file consumer store's update log: the updates made since its snapshot,
 * appended in frames, one per sync round (FORMAT.md, "Consumer files").
 *
 * A frame is a u32 length and a `Sealer` envelope (checksummed, and sealed
 * when the store has a cipher) whose plaintext is the u64 number of its
 * first update and the updates as fixed records. Numbers count every update
 * the consumer ever logged; the snapshot records the number it includes up
 * to, so a replay skips what the snapshot already holds (a crash between a
 * compaction's snapshot and its truncation of the log repeats nothing).
 *
 * A frame that fails its checksum ends the log when nothing valid follows it
 * (a torn tail, cut at open); one followed by a valid frame is damage.
 */
import type { Sealer } from "../at-rest/sealer.ts";
import { corrupt, JetStoreError } from "../errors.ts";
import { SEALED_CHECKPOINT_MAGIC } from "../format.ts";
import type { ConsumerMemStore } from "./consumer-mem-store.ts";

/** The update kinds a record holds. */
export const Update = {
  setStarting: 1,
  updateStarting: 2,
  reset: 3,
  delivered: 4,
  ack: 5,
  removeRedeliveredBelow: 6,
} as const;
export type Update = (typeof Update)[keyof typeof Update];

/** Bytes of each record: kind, then sequences as f64 and a timestamp as i64. */
const RECORD_BYTES: Readonly<Record<number, number>> = {
  [Update.setStarting]: 9,
  [Update.updateStarting]: 9,
  [Update.reset]: 9,
  [Update.delivered]: 1 + 8 + 8 + 4 + 8,
  [Update.ack]: 1 + 8 + 8,
  [Update.removeRedeliveredBelow]: 9,
};

/** Updates gathered for the next frame. */
export class PendingUpdates {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private used = 0;
  /** Updates gathered. */
  count = 0;

  seq(kind: Update, seq: number): void {
    const at = this.room(kind);
    this.view.setFloat64(at + 1, seq, true);
  }

  delivered(dseq: number, sseq: number, dc: number, ts: bigint): void {
    const at = this.room(Update.delivered);
    this.view.setFloat64(at + 1, dseq, true);
    this.view.setFloat64(at + 9, sseq, true);
    this.view.setUint32(at + 17, dc, true);
    this.view.setBigInt64(at + 21, ts, true);
  }

  ack(dseq: number, sseq: number): void {
    const at = this.room(Update.ack);
    this.view.setFloat64(at + 1, dseq, true);
    this.view.setFloat64(at + 9, sseq, true);
  }

  /** The frame's plaintext: the number of its first update, then the records. */
  frame(first: number): Uint8Array {
    const out = new Uint8Array(8 + this.used);
    new DataView(out.buffer).setFloat64(0, first, true);
    out.set(this.buf.subarray(0, this.used), 8);
    return out;
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
  }

  private room(kind: Update): number {
    const need = RECORD_BYTES[kind];
    if (this.used + need > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.used + need));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.used;
    this.buf[at] = kind;
    this.used += need;
    this.count++;
    return at;
  }
}

/** Seals `plain` as a frame: its u32 length, then the envelope. */
export function sealFrame(sealer: Sealer, plain: Uint8Array): Uint8Array {
  const envelope = sealer.sealEnvelope(plain);
  const out = new Uint8Array(4 + envelope.length);
  new DataView(out.buffer).setUint32(0, envelope.length, true);
  out.set(envelope, 4);
  return out;
}

/** What a replay found: where valid frames end, and the number of the last update applied. */
export interface Replayed {
  validLength: number;
  last: number;
}

/**
 * Applies to `rules` every update of the log in `bytes` numbered above
 * `through`. Updates are applied as they were made, errors included (an
 * update that failed after changing the state was logged, and fails again
 * the same way).
 */
export function replayLog(
  bytes: Uint8Array,
  through: number,
  sealer: Sealer,
  rules: ConsumerMemStore,
  path: string,
): Replayed {
  let at = 0;
  let last = through;
  while (at < bytes.length) {
    const plain = openFrame(bytes, at, sealer, path);
    if (plain === null) {
      checkTornTail(bytes, at, sealer, path);
      break;
    }
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    let n = view.getFloat64(0, true);
    for (let p = 8; p < plain.length; n++) {
      const kind = plain[p] as Update;
      const size = RECORD_BYTES[kind];
      if (size === undefined || p + size > plain.length) {
        throw corrupt(`${path}: a frame at offset ${at} holds an unknown record`, {
          file: path,
          offset: at,
        });
      }
      if (n > through) apply(rules, kind, view, p);
      p += size;
      last = Math.max(last, n);
    }
    at += 4 + new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
  }
  return { validLength: at, last };
}

function apply(rules: ConsumerMemStore, kind: Update, view: DataView, p: number): void {
  const a = view.getFloat64(p + 1, true);
  try {
    switch (kind) {
      case Update.setStarting:
        rules.setStarting(a);
        break;
      case Update.updateStarting:
        rules.updateStarting(a);
        break;
      case Update.reset:
        rules.reset(a);
        break;
      case Update.removeRedeliveredBelow:
        rules.removeRedeliveredBelow(a);
        break;
      case Update.ack:
        rules.updateAcks(a, view.getFloat64(p + 9, true));
        break;
      case Update.delivered:
        rules.updateDelivered(
          a,
          view.getFloat64(p + 9, true),
          view.getUint32(p + 17, true),
          view.getBigInt64(p + 21, true),
        );
        break;
    }
  } catch (err) {
    // An ack of what was no longer pending still dropped its redelivery count, as when it was made.
    if (!(err instanceof JetStoreError) || err.code !== "ErrStoreMsgNotFound") throw err;
  }
}

/** The plaintext of the frame at `at`, or null when it is torn or damaged. */
function openFrame(bytes: Uint8Array, at: number, sealer: Sealer, path: string): Uint8Array | null {
  if (at + 4 > bytes.length) return null;
  const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
  if (length === 0 || at + 4 + length > bytes.length) return null;
  try {
    const plain = sealer.openEnvelope(bytes.subarray(at + 4, at + 4 + length), path);
    return plain.length >= 8 ? plain : null;
  } catch (err) {
    if (err instanceof JetStoreError && err.code === "ErrCorrupt") return null;
    throw err;
  }
}

/** ErrCorrupt unless the frame at `at`, which does not open, is a torn tail rather than damage. */
function checkTornTail(bytes: Uint8Array, at: number, sealer: Sealer, path: string): void {
  if (validFrameAfter(bytes, at, sealer, path)) {
    throw corrupt(`${path}: a damaged frame at offset ${at} is followed by valid ones`, {
      file: path,
      offset: at,
    });
  }
}

/**
 * True when a valid frame starts anywhere after `at`. Not only where the
 * length at `at` points: a damaged length would send the search past the
 * frames that follow, and the log would be cut there as if torn.
 */
function validFrameAfter(bytes: Uint8Array, at: number, sealer: Sealer, path: string): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = at + 1; p + 8 <= bytes.length; p++) {
    // The envelope's magic first: opening costs a checksum over the length read there.
    if (view.getUint32(p + 4, true) !== SEALED_CHECKPOINT_MAGIC) continue;
    if (openFrame(bytes, p, sealer, path) !== null) return true;
  }
  return false;
}

/**
 * The log's valid frames sealed again in the store's current format (a
 * cipher added, changed or dropped), or null when its first frame is in that
 * format already. A torn tail is left out; damage followed by valid frames
 * is ErrCorrupt, as at replay, rather than a shorter log.
 */
export function resealLog(
  bytes: Uint8Array,
  sealer: Sealer,
  targetBits: number,
  path: string,
): Uint8Array | null {
  if (bytes.length < 12) return null;
  if (
    (new DataView(bytes.buffer, bytes.byteOffset + 4 + 6, 2).getUint16(0, true) & 0xff) ===
    targetBits
  ) {
    return null;
  }
  const frames: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const plain = openFrame(bytes, at, sealer, path);
    if (plain === null) {
      checkTornTail(bytes, at, sealer, path);
      break;
    }
    frames.push(sealFrame(sealer, plain));
    at += 4 + new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
  }
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let p = 0;
  for (const f of frames) {
    out.set(f, p);
    p += f.length;
  }
  return out;
}
