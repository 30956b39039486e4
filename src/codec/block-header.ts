/**
 * The 16-byte block file header (magic "JSBK", u16 version, u16 flags, u64
 * block number). Plain TypeScript: it is read once per block, so crossing into
 * WASM would cost more than it saves.
 */
import { corrupt, invalidArgument, JetStoreError, outOfRange } from "../errors.ts";
import {
  BLOCK_HEADER_SIZE,
  BLOCK_MAGIC,
  BLOCK_OFF_FLAGS,
  BLOCK_OFF_MAGIC,
  BLOCK_OFF_NUMBER,
  BLOCK_OFF_VERSION,
  FORMAT_VERSION,
  MAX_SEQ,
} from "../format.ts";
import type { BlockHeader } from "./types.ts";
import { describe } from "./validate.ts";

/** Writes a version-1 block header for block `blockNumber` at `at` in `dst`. */
export function writeBlockHeader(dst: Uint8Array, at: number, blockNumber: number): void {
  if (!(dst instanceof Uint8Array))
    throw invalidArgument(`Destination must be a Uint8Array, not ${describe(dst)}`);
  if (!Number.isSafeInteger(at) || at < 0 || at + BLOCK_HEADER_SIZE > dst.length) {
    throw outOfRange(`Block header at ${describe(at)} does not fit in ${dst.length} bytes`);
  }
  if (!Number.isSafeInteger(blockNumber) || blockNumber < 0) {
    throw invalidArgument(
      `Block number ${describe(blockNumber)} is not a non-negative safe integer`,
    );
  }
  const view = new DataView(dst.buffer, dst.byteOffset + at, BLOCK_HEADER_SIZE);
  view.setUint32(BLOCK_OFF_MAGIC, BLOCK_MAGIC, true);
  view.setUint16(BLOCK_OFF_VERSION, FORMAT_VERSION, true);
  view.setUint16(BLOCK_OFF_FLAGS, 0, true);
  view.setBigUint64(BLOCK_OFF_NUMBER, BigInt(blockNumber), true);
}

/**
 * The version of the block header at `at` in `bytes` (16 bytes there), or -1
 * when it lacks our magic: the test of a header that open and a block's first
 * use both make (block-load.ts, vouched-blocks.ts), on core memory or a copy.
 * Whether a newer version is damage or a newer writer's is for the caller.
 */
export function blockHeaderVersion(bytes: Uint8Array, at: number): number {
  const m = at + BLOCK_OFF_MAGIC;
  const magic =
    (bytes[m] | (bytes[m + 1] << 8) | (bytes[m + 2] << 16) | (bytes[m + 3] << 24)) >>> 0;
  if (magic !== BLOCK_MAGIC) return -1;
  return bytes[at + BLOCK_OFF_VERSION] | (bytes[at + BLOCK_OFF_VERSION + 1] << 8);
}

/**
 * Reads and checks the block header at the start of `bytes`: ErrCorrupt for a
 * short file or a wrong magic, ErrUnsupportedFormat for a newer version or
 * flags this version does not know.
 */
export function readBlockHeader(bytes: Uint8Array, file?: string): BlockHeader {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgument(`Block must be a Uint8Array, not ${describe(bytes)}`);
  const where = file === undefined ? { offset: 0 } : { file, offset: 0 };
  const name = file ?? "Block";
  if (bytes.length < BLOCK_HEADER_SIZE) {
    throw corrupt(
      `${name} is ${bytes.length} bytes, shorter than its ${BLOCK_HEADER_SIZE}-byte header`,
      where,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, BLOCK_HEADER_SIZE);
  const magic = view.getUint32(BLOCK_OFF_MAGIC, true);
  if (magic !== BLOCK_MAGIC) {
    throw corrupt(
      `${name} has magic 0x${magic.toString(16)}, not 0x${BLOCK_MAGIC.toString(16)} ("JSBK")`,
      where,
    );
  }
  const version = view.getUint16(BLOCK_OFF_VERSION, true);
  const flags = view.getUint16(BLOCK_OFF_FLAGS, true);
  if (version === 0 || version > FORMAT_VERSION || flags !== 0) {
    throw new JetStoreError(
      "ErrUnsupportedFormat",
      `${name} has version ${version} and flags ${flags}; this reader knows version ${FORMAT_VERSION} with flags 0`,
      where,
    );
  }
  const number = view.getBigUint64(BLOCK_OFF_NUMBER, true);
  if (number > BigInt(MAX_SEQ))
    throw corrupt(`${name} has block number ${number}, beyond 2^53 - 1`, where);
  return { version, flags, blockNumber: Number(number) };
}
