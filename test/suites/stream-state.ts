/**
 * The stream-state codec (src/stream-state.ts, src/avl-seqset-codec.ts)
 * against nats-server: golden vectors written by nats-server's encode code
 * (test/fixtures/stream-state/stream-state.json) decoded to the states they
 * record; every truncation and hand-made damage refused with ErrCorrupt;
 * random bytes never throw anything but a typed error; fast-check round
 * trips of our encoder and of seqsets built here in nats-server's layout.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { JetStoreError } from "../../src/errors.ts";
import {
  type DecodedStreamState,
  type DeleteBlock,
  decodeStreamState,
  encodeStreamState,
} from "../../src/stream-state.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { fromHex, toHex } from "./consumer-state.ts";

interface Vector extends Omit<DecodedStreamState, "sources"> {
  about: string;
  hex: string;
  sources?: Record<string, { seq: number; ident: string }>;
}

function vectors(): Vector[] {
  const path = fileURLToPath(
    new URL("../fixtures/stream-state/stream-state.json", import.meta.url).href,
  );
  return (JSON.parse(readFileSync(path, "utf8")) as { vectors: Vector[] }).vectors;
}

/** A decoded state as plain data, to compare with a vector. */
function plain(s: DecodedStreamState) {
  const { sources, ...rest } = s;
  return sources === undefined ? rest : { ...rest, sources: Object.fromEntries(sources) };
}

/** Every deleted sequence the blocks hold, ascending. */
function sequencesOf(blocks: DeleteBlock[]): number[] {
  const out: number[] = [];
  for (const b of blocks) {
    if (b.kind === "range") for (let i = 0; i < b.num; i++) out.push(b.first + i);
    else out.push(...b.seqs);
  }
  return out.sort((a, b) => a - b);
}

/** Runs of consecutive sequences. */
function runsOf(seqs: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const s of seqs) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] + 1 === s) last[1] = s;
    else runs.push([s, s]);
  }
  return runs;
}

/**
 * An AVL seqset in nats-server's layout (server/avl/seqset.go): nodes of
 * 2048 sequences (4096 in version 1) with their base aligned, in any order —
 * the decoder does not rebuild the tree, so the order here is the input's.
 */
export function avlBytes(seqs: number[], version: 1 | 2 = 2): Uint8Array {
  const span = version === 1 ? 4096 : 2048;
  const nodes = new Map<number, number[]>();
  for (const s of seqs) {
    const base = Math.floor(s / span) * span;
    nodes.set(base, [...(nodes.get(base) ?? []), s]);
  }
  const perNode = (span / 64 + 1) * 8 + 2;
  const out = new Uint8Array(10 + nodes.size * perNode);
  const view = new DataView(out.buffer);
  out[0] = 22;
  out[1] = version;
  view.setUint32(2, nodes.size, true);
  view.setUint32(6, new Set(seqs).size, true);
  let p = 10;
  for (const [base, members] of nodes) {
    view.setBigUint64(p, BigInt(base), true);
    for (const s of members) {
      const bit = s - base;
      const at = p + 8 + Math.floor(bit / 8);
      out[at] = out[at]! | (1 << (bit % 8));
    }
    view.setUint16(p + 8 + (span / 64) * 8, 1, true);
    p += perNode;
  }
  return out;
}

/** A state header (version 1) with `numDeleted`, followed by `blocks`. */
function stateBytes(numDeleted: number, ...blocks: Uint8Array[]): Uint8Array {
  const head = [42, 1, 5, 50, 1, 10, 0];
  for (let v = numDeleted; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  const out = new Uint8Array(head.length + blocks.reduce((n, b) => n + b.length, 0));
  out.set(head);
  let p = head.length;
  for (const b of blocks) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof JetStoreError ? err.code : `foreign ${String(err)}`;
  }
  return "no error";
}

const runsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 200 })
  .map((seqs) => runsOf(seqs.sort((a, b) => a - b)));

export function streamStateSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  describe("stream state codec", () => {
    it("decodes every nats-server golden vector to the state it records", () => {
      const all = vectors();
      expect(all.length).toBeGreaterThanOrEqual(8);
      for (const v of all) {
        const { about: _about, hex, ...expected } = v;
        expect(plain(decodeStreamState(fromHex(hex)))).toEqual(expected);
      }
    });

    it("writes the vectors' headers byte for byte, and deletions as nats-server's run-length ranges", () => {
      const encoded = (deletedRuns: [number, number][], failed = 0) => {
        const numDeleted = deletedRuns.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
        const src = { msgs: 30 - numDeleted, bytes: 2048, firstSeq: 1, lastSeq: 30 };
        return toHex(encodeStreamState({ ...src, numDeleted, deletedRuns }, failed));
      };
      const [fresh, ten, purged] = vectors();
      expect(toHex(encodeStreamState({ ...fresh!, deletedRuns: [] }, 0))).toBe(fresh!.hex);
      expect(toHex(encodeStreamState({ ...ten!, deletedRuns: [] }, 0))).toBe(ten!.hex);
      expect(toHex(encodeStreamState({ ...purged!, deletedRuns: [] }, 0))).toBe(purged!.hex);
      // The gap of the file-store vector alone, as a range (magic 33, first 11, num 10).
      expect(encoded([[11, 20]], 3)).toBe("2a01148010011e030a210b0a");
      // Adjacent runs are merged into one range.
      expect(
        encoded(
          [
            [11, 15],
            [16, 20],
          ],
          3,
        ),
      ).toBe("2a01148010011e030a210b0a");
    });

    it("round-trips any set of deleted runs through our encoder", () => {
      fc.assert(
        fc.property(runsArb, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (runs, failed) => {
          const numDeleted = runs.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
          const src = { msgs: 7, bytes: 99, firstSeq: 1, lastSeq: 6000, numDeleted };
          const decoded = decodeStreamState(
            encodeStreamState({ ...src, deletedRuns: runs }, failed),
          );
          expect(decoded).toMatchObject({ ...src, failed });
          expect(runsOf(sequencesOf(decoded.deleted))).toEqual(runs);
          for (const b of decoded.deleted) expect(b.kind).toBe("range");
        }),
      );
    });

    it("decodes seqsets in nats-server's layout, both versions, nodes in any order", () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 300 }),
          fc.constantFrom(1 as const, 2 as const),
          fc.integer({ min: 0, max: 3 }),
          (seqs, version, ranges) => {
            const extra = Array.from({ length: ranges }, (_, i) =>
              Uint8Array.of(33, 0x80 + (i % 100), 0x02, 1),
            );
            // Ranges of one sequence from 256 on (the decoder does not check overlaps).
            const bytes = stateBytes(seqs.length + ranges, avlBytes(seqs, version), ...extra);
            const decoded = decodeStreamState(bytes);
            const set = decoded.deleted[0]!;
            expect(set).toEqual({ kind: "seqset", seqs: [...seqs].sort((a, b) => a - b) });
            expect(decoded.deleted.slice(1)).toEqual(
              extra.map((_, i) => ({ kind: "range", first: 256 + (i % 100), num: 1 })),
            );
          },
        ),
      );
    });

    it("refuses every truncation of every vector with ErrCorrupt", () => {
      for (const { hex } of vectors()) {
        const bytes = fromHex(hex);
        for (let n = 0; n < bytes.length; n++) {
          expect(failure(() => decodeStreamState(bytes.subarray(0, n)))).toBe("ErrCorrupt");
        }
      }
    });

    it("refuses damaged bytes with ErrCorrupt, and a newer version with ErrUnsupportedFormat", () => {
      const ok = stateBytes(2, Uint8Array.of(33, 3, 2));
      expect(decodeStreamState(ok).deleted).toEqual([{ kind: "range", first: 3, num: 2 }]);
      const damaged: [string, Uint8Array][] = [
        ["wrong magic", Uint8Array.of(43, ...ok.subarray(1))],
        ["version 0", Uint8Array.of(42, 0, ...ok.subarray(2))],
        ["unknown block kind", stateBytes(2, Uint8Array.of(34, 3, 2))],
        [
          "a range of no sequences",
          stateBytes(0 + 2, Uint8Array.of(33, 3, 0), Uint8Array.of(33, 9, 2)),
        ],
        ["a range from 0", stateBytes(2, Uint8Array.of(33, 0, 2))],
        [
          "a range past 2^53 - 1",
          stateBytes(2, Uint8Array.of(33, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 2)),
        ],
        ["fewer deletions than counted", stateBytes(3, Uint8Array.of(33, 3, 2))],
        ["more deletions than counted", stateBytes(1, Uint8Array.of(33, 3, 2))],
        ["bytes after a state without deletions", stateBytes(0, Uint8Array.of(33, 3, 2))],
        ["an over-long varint", Uint8Array.of(42, 1, 0x85, 0x00, 50, 1, 10, 0, 0)],
        [
          "a value past 2^53 - 1",
          Uint8Array.of(
            42,
            1,
            ...[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
            50,
            1,
            10,
            0,
            0,
          ),
        ],
        ["a varint past 10 bytes", Uint8Array.of(42, 1, ...new Array(11).fill(0xff), 0)],
        ["a seqset whose count is wrong", stateBytes(2, withCount(avlBytes([4, 5]), 3))],
        ["a seqset of more nodes than bytes", stateBytes(2, withNodes(avlBytes([4, 5]), 2))],
        [
          "a seqset of an unknown version",
          stateBytes(2, Uint8Array.of(22, 3, ...avlBytes([4, 5]).subarray(2))),
        ],
        ["a seqset holding sequence 0", stateBytes(2, avlBytes([0, 5]))],
        ["a seqset holding one sequence twice", stateBytes(2, twoNodes())],
        ["a source cut off", Uint8Array.of(42, 2, 5, 50, 1, 10, 0, 1, 6, 0x4f, 0)],
        ["a source name not UTF-8", Uint8Array.of(42, 2, 5, 50, 1, 10, 0, 1, 1, 0xff, 1, 0, 0)],
      ];
      for (const [what, bytes] of damaged) {
        expect([what, failure(() => decodeStreamState(bytes))]).toEqual([what, "ErrCorrupt"]);
      }
      expect(failure(() => decodeStreamState(Uint8Array.of(42, 3, 0, 0, 0, 0, 0, 0)))).toBe(
        "ErrUnsupportedFormat",
      );
      expect(failure(() => decodeStreamState("2a01" as unknown as Uint8Array))).toBe(
        "ErrInvalidArgument",
      );
    });

    it("answers random and bit-flipped bytes with a state or a typed error, never anything else", () => {
      const all = vectors().map((v) => fromHex(v.hex));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc
              .tuple(fc.constantFrom(...all), fc.nat(), fc.integer({ min: 1, max: 255 }))
              .map(([bytes, at, xor]) => {
                const copy = bytes.slice();
                copy[at % copy.length] = copy[at % copy.length]! ^ xor;
                return copy;
              }),
          ),
          (bytes) => {
            const code = failure(() => decodeStreamState(bytes));
            expect(["no error", "ErrCorrupt", "ErrUnsupportedFormat"]).toContain(code);
          },
        ),
      );
    });
  });
}

function withCount(set: Uint8Array, count: number): Uint8Array {
  const copy = set.slice();
  new DataView(copy.buffer).setUint32(6, count, true);
  return copy;
}

function withNodes(set: Uint8Array, nodes: number): Uint8Array {
  const copy = set.slice();
  new DataView(copy.buffer).setUint32(2, nodes, true);
  return copy;
}

/** Two nodes of the same base, each holding sequence 4: the count (2) matches the bits set. */
function twoNodes(): Uint8Array {
  const one = avlBytes([4]);
  const node = one.subarray(10);
  const out = new Uint8Array(10 + 2 * node.length);
  out.set(one.subarray(0, 10));
  new DataView(out.buffer).setUint32(2, 2, true);
  new DataView(out.buffer).setUint32(6, 2, true);
  out.set(node, 10);
  out.set(node, 10 + node.length);
  return out;
}
