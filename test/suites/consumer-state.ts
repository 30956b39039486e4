/**
 * The consumer-state codec (src/consumers/consumer-state.ts) against
 * nats-server: golden vectors its own encoder produced
 * (test/fixtures/consumer-state/consumer-state.json, copied from
 * ../shared/vectors) decoded to the states they record and re-encoded to the
 * very same bytes at their base time; bytes written out here by hand for
 * Go's arithmetic (rounding of the base time, truncation of timestamps,
 * zigzag, wrap-around of deltas below the ack floor, version 1); fast-check
 * round trips; and malformed or random bytes, which throw ErrCorrupt (or
 * ErrUnsupportedFormat for a newer version) and nothing else.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  type ConsumerState,
  decodeConsumerState,
  encodeConsumerState,
  encodingBaseSeconds,
} from "../../src/consumers/consumer-state.ts";
import { JetStoreError } from "../../src/errors.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { codeOf } from "./store-helpers.ts";

const S = 1_000_000_000n;

interface Vector {
  hex: string;
  state: ConsumerState;
}

/**
 * The vectors, with every integer of 16 digits or more read as a bigint
 * (JSON.parse would round timestamps to doubles).
 */
function vectors(): Vector[] {
  const path = fileURLToPath(
    new URL("../fixtures/consumer-state/consumer-state.json", import.meta.url).href,
  );
  const text = readFileSync(path, "utf8").replace(
    /(?<=[[,]\s*)(\d{16,})(?=\s*[\],])/g,
    (digits) => `"${digits}"`,
  );
  const raw = JSON.parse(text) as {
    vectors: {
      hex: string;
      state: {
        delivered: [number, number];
        ackFloor: [number, number];
        pending: Record<string, [number, string | number]>;
        redelivered: Record<string, number>;
      };
    }[];
  };
  return raw.vectors.map(({ hex, state }) => ({
    hex,
    state: {
      delivered: { consumer: state.delivered[0], stream: state.delivered[1] },
      ackFloor: { consumer: state.ackFloor[0], stream: state.ackFloor[1] },
      pending: new Map(
        Object.entries(state.pending).map(([k, [sequence, ts]]) => [
          Number(k),
          { sequence, ts: BigInt(ts) },
        ]),
      ),
      redelivered: new Map(Object.entries(state.redelivered).map(([k, n]) => [Number(k), n])),
    },
  }));
}

export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** A state from literals: pending as [sseq, dseq, ts], redelivered as [sseq, count]. */
export function stateOf(
  delivered: [number, number],
  ackFloor: [number, number],
  pending: [number, number, bigint][] = [],
  redelivered: [number, number][] = [],
): ConsumerState {
  return {
    delivered: { consumer: delivered[0], stream: delivered[1] },
    ackFloor: { consumer: ackFloor[0], stream: ackFloor[1] },
    pending: new Map(pending.map(([s, d, ts]) => [s, { sequence: d, ts }])),
    redelivered: new Map(redelivered),
  };
}

/** Plain arrays for toEqual, sorted so map order does not matter. */
export function plain(state: ConsumerState) {
  return {
    delivered: state.delivered,
    ackFloor: state.ackFloor,
    pending: [...state.pending].sort((a, b) => a[0] - b[0]),
    redelivered: [...state.redelivered].sort((a, b) => a[0] - b[0]),
  };
}

/** `state` with pending timestamps cut to whole seconds, as the encoding keeps them. */
export function toSeconds(state: ConsumerState): ConsumerState {
  return {
    ...state,
    pending: new Map(
      [...state.pending].map(([k, p]) => [k, { sequence: p.sequence, ts: (p.ts / S) * S }]),
    ),
  };
}

/** Go's uvarint from its definition, for reading vectors in the test. */
function readUvarint(bytes: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  let i = at;
  for (;;) {
    const b = bytes[i++]!;
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) return [v, i];
  }
}

/** The base seconds a version-2 encoding with pending entries was written at. */
function baseSecondsOf(bytes: Uint8Array): bigint {
  let at = 2;
  for (let i = 0; i < 5; i++) at = readUvarint(bytes, at)[1];
  const [u] = readUvarint(bytes, at);
  return (u & 1n) === 0n ? u >> 1n : -(u >> 1n) - 1n;
}

function corruptAt(fn: () => unknown): { code: string; offset: number | undefined } {
  try {
    fn();
  } catch (err) {
    if (err instanceof JetStoreError) return { code: err.code, offset: err.offset };
    return { code: `foreign ${String(err)}`, offset: undefined };
  }
  return { code: "no error", offset: undefined };
}

const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const smallSeq = fc.nat({ max: 1_000_000 });
const timestamp = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });
const nearTs = fc.bigInt({ min: 1_700_000_000n * S, max: 1_900_000_000n * S });

/** Any state the encoder takes and the decoder gives back: pending keys ≥ 1, no redelivered key at the floor. */
const anyState = fc
  .record({
    delivered: fc.record({ consumer: fc.oneof(seq, smallSeq), stream: fc.oneof(seq, smallSeq) }),
    ackFloor: fc.record({ consumer: fc.oneof(seq, smallSeq), stream: fc.oneof(seq, smallSeq) }),
    pending: fc.array(
      fc.tuple(fc.oneof(seq, smallSeq), fc.oneof(seq, smallSeq), fc.oneof(timestamp, nearTs)),
      { maxLength: 20 },
    ),
    redelivered: fc.array(fc.tuple(fc.oneof(seq, smallSeq), fc.integer({ min: 1, max: 1e9 })), {
      maxLength: 20,
    }),
  })
  .map(
    ({ delivered, ackFloor, pending, redelivered }): ConsumerState => ({
      delivered,
      ackFloor,
      pending: new Map(
        pending.filter(([s]) => s >= 1).map(([s, d, ts]) => [s, { sequence: d, ts }]),
      ),
      redelivered: new Map(redelivered.filter(([s]) => s !== ackFloor.stream)),
    }),
  );

export function consumerStateSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  describe("consumer state codec", () => {
    it("decodes every nats-server golden vector to the state it records", () => {
      const all = vectors();
      expect(all.length).toBeGreaterThanOrEqual(4);
      for (const { hex, state } of all) {
        expect(plain(decodeConsumerState(fromHex(hex)))).toEqual(plain(state));
      }
    });

    it("re-encodes every golden vector to nats-server's bytes at its base time", () => {
      for (const { hex } of vectors()) {
        const bytes = fromHex(hex);
        const decoded = decodeConsumerState(bytes);
        // The decoder keeps the bytes' order in its maps; the base time comes from the bytes.
        const now = decoded.pending.size > 0 ? baseSecondsOf(bytes) * S : 1_700_000_000n * S;
        expect(toHex(encodeConsumerState(decoded, now))).toBe(hex);
      }
    });

    it("our encodings of the golden states decode to those states, at any encoding time", () => {
      for (const { state } of vectors()) {
        for (const now of [0n, 1_796_192_584n * S, 1_796_192_584n * S + 499_999_999n, 9n * S]) {
          expect(plain(decodeConsumerState(encodeConsumerState(state, now)))).toEqual(plain(state));
        }
      }
    });

    it("writes Go's bytes: base time rounded half up, timestamps truncated, zigzag", () => {
      // now 1000.5 s rounds up to 1001; ts 998.999999999 s truncates to 998: 1001 - 998 = 3 → zigzag 6.
      // A ts after the base (1003.2 s → 1003): 1001 - 1003 = -2 → zigzag 3.
      const state = stateOf(
        [5, 12],
        [2, 9],
        [
          [10, 3, 998_999_999_999n],
          [12, 5, 1_003_200_000_000n],
        ],
      );
      const bytes = encodeConsumerState(state, 1_000_500_000_000n);
      // 16 02 | floor 2 9 | delivered 5 12 | 2 pending | base zigzag(1001) = 2002 = d2 0f |
      // (10-9=1, 3-2=1, 6) (12-9=3, 5-2=3, 3) | 0 redelivered
      expect(toHex(bytes)).toBe("16020209050c02d20f010106030303" + "00");
      expect(encodingBaseSeconds(1_000_499_999_999n)).toBe(1000);
      expect(encodingBaseSeconds(1_000_500_000_000n)).toBe(1001);
      expect(encodingBaseSeconds(0n)).toBe(0);
      expect(plain(decodeConsumerState(bytes))).toEqual(
        plain(
          stateOf(
            [5, 12],
            [2, 9],
            [
              [10, 3, 998n * S],
              [12, 5, 1_003n * S],
            ],
          ),
        ),
      );
    });

    it("truncates timestamps at every second's edge exactly, up to 2^63 - 1", () => {
      const edges: bigint[] = [0n, 1n, S - 1n, S, S + 1n, (1n << 63n) - 1n];
      for (const sec of [1n, 1_796_192_584n, 4_611_686_018n, 9_000_000_000n, 9_223_372_035n]) {
        for (const d of [
          -100_001n,
          -100_000n,
          -99_999n,
          -513n,
          -1n,
          0n,
          1n,
          512n,
          99_999n,
          100_000n,
        ]) {
          edges.push(sec * S + d);
        }
      }
      for (const ts of edges) {
        const state = stateOf([1, 1], [0, 0], [[1, 1, ts]]);
        const decoded = decodeConsumerState(encodeConsumerState(state, 1_800_000_000n * S));
        expect({ ts, got: decoded.pending.get(1)!.ts }).toEqual({ ts, got: (ts / S) * S });
      }
    });

    it("wraps deltas below the ack floor around 2^64, as Go's uint64 arithmetic, and back", () => {
      // A redelivered entry left below the floor (a message past maxDeliver) and a pending
      // entry whose consumer sequence is below the consumer floor.
      const state = stateOf([20, 40], [10, 30], [[35, 4, 5n * S]], [[25, 2]]);
      const bytes = encodeConsumerState(state, 5n * S);
      const hex = toHex(bytes);
      // 4 - 10 = 2^64 - 6: fa ff ff ff ff ff ff ff ff 01; 25 - 30 = 2^64 - 5: fb ff … 01.
      expect(hex).toContain("faffffffffffffffff01");
      expect(hex).toContain("fbffffffffffffffff0102");
      expect(plain(decodeConsumerState(bytes))).toEqual(plain(state));
    });

    it("skips redelivered entries at the ack floor or with count 0, as nats-server does", () => {
      // floor (1, 5), delivered (2, 6), no pending, 3 redelivered: (+0 → 5, 2) (+1 → 6, 0) (+1 → 6, 4)
      const bytes = fromHex("16020105020600" + "03" + "0002" + "0100" + "0104");
      expect(plain(decodeConsumerState(bytes))).toEqual(
        plain(stateOf([2, 6], [1, 5], [], [[6, 4]])),
      );
    });

    it("reads version 1: no consumer sequence in pending, delivered relative to the floor, ts added", () => {
      // floor (3, 5); v1 delivered (4, 7) → 4 + 2 = 6, 7 + 4 = 11; 1 pending: base 100 s (zigzag 200 = c8 01),
      // +2 → 7, ts zigzag 20 = +10 → 110 s; 1 redelivered +2 → 7, count 1.
      const bytes = fromHex("16010305040701c8010214" + "010201");
      expect(plain(decodeConsumerState(bytes))).toEqual(
        plain(stateOf([6, 11], [3, 5], [[7, 0, 110n * S]], [[7, 1]])),
      );
    });

    it("round-trips any state, up to the second (fast-check)", () => {
      fc.assert(
        fc.property(anyState, timestamp, (state, now) => {
          const decoded = decodeConsumerState(encodeConsumerState(state, now));
          expect(plain(decoded)).toEqual(plain(toSeconds(state)));
        }),
        { numRuns: 300 },
      );
    });

    it("refuses malformed bytes with ErrCorrupt at the offending offset", () => {
      const cases: [string, number][] = [
        ["", 0],
        ["16", 0],
        ["1702000000000000", 0],
        ["1600000000000000", 1],
        ["160200000000", 6], // cut before the pending count… at its offset
        ["16020000000000", 7], // no redelivered count
        ["1602000000000000ff", 8], // a byte after the end
        ["16028000000000000000", 2], // over-long varint (0 in two bytes)
        ["1602ffffffffffffffffff02000000000000", 2], // 10th byte above 1
        ["1602ffffffffffffffffffff01000000000000", 2], // 11 bytes
        ["1602808080808080801000000000000000", 2], // 2^53: past safe integers
        ["16020000000101", 6], // 1 pending cannot fit in 1 byte
        ["1602000000008080808080808080010000", 6], // 2^63 pending
        ["160200000000010000000000", 8], // pending stream sequence 0 (floor 0, delta 0)
        ["16020000000101feffffffffffffffff01010101" + "00", 19], // base 2^63 - 1 s: ts past range
        ["1602000000000005", 7], // 5 redelivered in 0 bytes
        ["16020000000002", 6], // 2 pending in 0 bytes
      ];
      for (const [hex, offset] of cases) {
        const got = corruptAt(() => decodeConsumerState(fromHex(hex)));
        expect({ hex, ...got }).toEqual({ hex, code: "ErrCorrupt", offset: expect.any(Number) });
        expect({ hex, offset: got.offset }).toEqual({ hex, offset });
      }
      expect(corruptAt(() => decodeConsumerState(fromHex("1603000000000000")))).toEqual({
        code: "ErrUnsupportedFormat",
        offset: 1,
      });
    });

    it("refuses every cut of a valid encoding", () => {
      for (const { hex } of vectors()) {
        const bytes = fromHex(hex);
        for (let n = 0; n < bytes.length; n++) {
          expect(codeOf(() => decodeConsumerState(bytes.subarray(0, n)))).toBe("ErrCorrupt");
        }
      }
    });

    it("a tiny input claiming 2^53 - 1 entries fails at once, allocating nothing for them", () => {
      const huge = "ffffffffffffff0f"; // 2^53 - 1
      const started = performance.now();
      for (let i = 0; i < 1000; i++) {
        expect(codeOf(() => decodeConsumerState(fromHex(`160200000000${huge}02`)))).toBe(
          "ErrCorrupt",
        );
        expect(codeOf(() => decodeConsumerState(fromHex(`16020000000000${huge}`)))).toBe(
          "ErrCorrupt",
        );
      }
      // Not a timing assertion, a loop guard: 2000 decodes of 16 bytes are far below a second.
      expect(performance.now() - started).toBeLessThan(10_000);
    });

    it("decodes random and mutated bytes to a state or ErrCorrupt / ErrUnsupportedFormat, nothing else", () => {
      const allowed = new Set(["no error", "ErrCorrupt", "ErrUnsupportedFormat"]);
      const valid = vectors().map((v) => fromHex(v.hex));
      const garbage = fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.of(22, 2, ...tail)),
        fc.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.of(22, 1, ...tail)),
        fc
          .tuple(
            fc.constantFrom(...valid),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          )
          .map(([base, edits]) => {
            const out = Uint8Array.from(base);
            for (const [at, value] of edits) out[at % out.length] = value;
            return out;
          }),
      );
      fc.assert(
        fc.property(garbage, (bytes) => {
          const code = codeOf(() => decodeConsumerState(bytes));
          expect(allowed.has(code) ? "allowed" : code).toBe("allowed");
          if (code === "no error") {
            // What decodes is a state the encoder takes.
            const state = decodeConsumerState(bytes);
            expect(codeOf(() => encodeConsumerState(state, 0n))).toBe("no error");
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("refuses bad arguments with ErrInvalidArgument", () => {
      const good = stateOf([1, 1], [0, 0], [[1, 1, 0n]]);
      expect(codeOf(() => encodeConsumerState(good, -1n))).toBe("ErrInvalidArgument");
      expect(codeOf(() => encodeConsumerState(good, 1 as unknown as bigint))).toBe(
        "ErrInvalidArgument",
      );
      expect(codeOf(() => encodeConsumerState(null as unknown as ConsumerState))).toBe(
        "ErrInvalidArgument",
      );
      const bad: unknown[] = [
        { ...good, delivered: { consumer: -1, stream: 0 } },
        { ...good, ackFloor: { consumer: 0.5, stream: 0 } },
        { ...good, pending: {} },
        { ...good, redelivered: [] },
        { ...good, pending: new Map([[1, { sequence: 1, ts: -1n }]]) },
        { ...good, pending: new Map([[1, { sequence: 1, ts: 1 }]]) },
        { ...good, pending: new Map([[1, null]]) },
        { ...good, pending: new Map([[2 ** 53, { sequence: 1, ts: 0n }]]) },
        { ...good, redelivered: new Map([[1, 0]]) },
        { ...good, redelivered: new Map([["1", 1]]) },
      ];
      for (const state of bad) {
        expect(codeOf(() => encodeConsumerState(state as ConsumerState, 0n))).toBe(
          "ErrInvalidArgument",
        );
      }
      expect(codeOf(() => decodeConsumerState([22, 2] as unknown as Uint8Array))).toBe(
        "ErrInvalidArgument",
      );
    });
  });
}
