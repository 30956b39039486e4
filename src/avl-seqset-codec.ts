/**
 * Reading nats-server's encoded AVL sequence set (server/avl/seqset.go), the
 * delete block nats-server writes for a block's deleted sequences: magic 22,
 * a version, u32 node count, u32 sequence count, then per node in the tree's
 * pre-order a u64 base, its bitmap words (32 of 64 bits in version 2, 64 in
 * version 1) and a u16 height, all little-endian. Only reading lives here:
 * jetstore writes its deletions as run-length ranges (FORMAT.md says why).
 *
 * The tree shape is not rebuilt: the sequences are what a reader needs, so
 * each node's set bits are collected and sorted. Stricter than nats-server,
 * the count in the header must equal the bits set (version 2 does not check),
 * a sequence may appear once, and every sequence must be 1 to 2^53 - 1.
 */
import { corrupt, type JetStoreError } from "./errors.ts";
import { AVL_NODE_BUCKETS_V1, AVL_NODE_BUCKETS_V2, AVL_SEQSET_MAGIC, MAX_SEQ } from "./format.ts";

const HEADER = 10; // magic, version, node count, sequence count

/** A decoded seqset: its sequences ascending, and the bytes it took. */
export interface DecodedAvlSeqSet {
  seqs: number[];
  length: number;
}

/** Bytes one node takes in `version`. */
function nodeSize(version: number): number {
  return ((version === 1 ? AVL_NODE_BUCKETS_V1 : AVL_NODE_BUCKETS_V2) + 1) * 8 + 2;
}

/**
 * Decodes the seqset at `bytes[at]`; bytes after it are left to the caller.
 * Malformed input throws ErrCorrupt with the offending offset.
 */
export function decodeAvlSeqSet(bytes: Uint8Array, at: number): DecodedAvlSeqSet {
  const fail = (message: string, offset: number): JetStoreError =>
    corrupt(`Corrupt stream state at byte ${offset}: sequence set ${message}`, { offset });
  if (bytes.length - at < HEADER) throw fail("cut off inside its 10-byte header", at);
  if (bytes[at] !== AVL_SEQSET_MAGIC) throw fail(`magic is ${bytes[at]}`, at);
  const version = bytes[at + 1]!;
  if (version !== 1 && version !== 2) throw fail(`version ${version} is unknown`, at + 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes = view.getUint32(at + 2, true);
  const size = view.getUint32(at + 6, true);
  const perNode = nodeSize(version);
  if (nodes > Math.floor((bytes.length - at - HEADER) / perNode)) {
    throw fail(`of ${nodes} nodes cannot fit in ${bytes.length - at - HEADER} bytes`, at + 2);
  }
  const words = version === 1 ? AVL_NODE_BUCKETS_V1 : AVL_NODE_BUCKETS_V2;
  const seqs: number[] = [];
  let p = at + HEADER;
  for (let n = 0; n < nodes; n++) {
    const base = readU64(view, p);
    if (base === null) throw fail("node base is past 2^53 - 1", p);
    for (let w = 0; w < words; w++) {
      const wordAt = p + 8 + w * 8;
      collectBits(view.getUint32(wordAt, true), base + w * 64, seqs);
      collectBits(view.getUint32(wordAt + 4, true), base + w * 64 + 32, seqs);
    }
    p += perNode;
    if (seqs.length > size) break;
  }
  if (seqs.length !== size) {
    throw fail(`holds ${seqs.length} sequences where its header says ${size}`, at + 6);
  }
  seqs.sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    if (seq < 1 || seq > MAX_SEQ) throw fail(`holds sequence ${seq}, outside 1 to 2^53 - 1`, at);
    if (i > 0 && seqs[i - 1] === seq) throw fail(`holds sequence ${seq} twice`, at);
  }
  return { seqs, length: p - at };
}

/** A little-endian u64 as a number, or null past 2^53 - 1. */
function readU64(view: DataView, at: number): number | null {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x20_0000) return null;
  return hi * 0x1_0000_0000 + lo;
}

function collectBits(word: number, base: number, out: number[]): void {
  let w = word;
  while (w !== 0) {
    const bit = 31 - Math.clz32(w & -w);
    out.push(base + bit);
    w &= w - 1;
  }
}
