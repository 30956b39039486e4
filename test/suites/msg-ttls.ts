/**
 * The TTL timing wheel against a plain Map: after any mix of adds, removals,
 * truncates and clock moves (forward across many wheel turns, or back), `due`
 * hands out exactly the live sequences whose expiry has come, each once, in
 * ascending order.
 */
import fc from "fast-check";
import { expiresAtMs, MessageTtls } from "../../src/msg-ttls.ts";
import type { TestApi } from "../harness.ts";

type Op =
  | { kind: "add"; ttl: number; back: number }
  | { kind: "remove"; pick: number }
  | { kind: "truncate"; pick: number }
  | { kind: "move"; ms: number }
  | { kind: "due" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      ttl: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 20_000 })),
      back: fc.oneof(fc.constant(0), fc.nat(10_000)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      ms: fc.oneof(
        fc.integer({ min: -3_000, max: 3_000 }),
        fc.integer({ min: 0, max: 20_000_000 }),
      ),
    }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: "due" as const }) },
);

export function msgTtlSuite({ describe, it, expect }: TestApi): void {
  describe("MessageTtls (timing wheel)", () => {
    it("expires at the TTL rounded up to the millisecond, never before", () => {
      expect(expiresAtMs(1_000_000_000n, 1)).toBe(2_000);
      expect(expiresAtMs(1_000_000_001n, 1)).toBe(2_001);
      const ttls = new MessageTtls();
      ttls.add(1, 1_000_000_001n, 1);
      expect(ttls.due(2_000_999_999n)).toStrictEqual([]);
      expect(ttls.due(2_001_000_000n)).toStrictEqual([1]);
    });

    it("finds a due entry behind a later one added first to the same second", () => {
      const ttls = new MessageTtls();
      ttls.add(1, 10_000_000_000n, 2); // 12.000 s
      ttls.add(2, 11_900_000_000n, 1); // 12.900 s
      ttls.add(3, 10_100_000_000n, 2); // 12.100 s, behind 12.900 in the same second
      expect(ttls.due(12_500_000_000n)).toStrictEqual([1, 3]);
      expect(ttls.due(13_000_000_000n)).toStrictEqual([2]);
    });

    it("hands out exactly the due live sequences, as a Map model does", () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 200, size: "max" }), (ops) => {
          const ttls = new MessageTtls();
          const model = new Map<number, number>();
          let now = 5_000_000_000_000n;
          let next = 1;
          for (const op of ops) {
            switch (op.kind) {
              case "add": {
                const ts = now - BigInt(op.back) * 1_000_000n;
                ttls.add(next, ts, op.ttl);
                model.set(next, expiresAtMs(ts, op.ttl));
                next++;
                break;
              }
              case "remove": {
                const seq = (op.pick % next) + 1;
                ttls.remove(seq);
                model.delete(seq);
                break;
              }
              case "truncate": {
                const seq = op.pick % next;
                ttls.truncatedTo(seq);
                for (const s of [...model.keys()]) if (s > seq) model.delete(s);
                next = seq + 1;
                break;
              }
              case "move":
                now += BigInt(op.ms) * 1_000_000n;
                break;
              case "due": {
                const nowMs = Number(now / 1_000_000n);
                const want = [...model]
                  .filter(([, at]) => at <= nowMs)
                  .map(([seq]) => seq)
                  .sort((a, b) => a - b);
                for (const seq of want) model.delete(seq);
                expect(ttls.due(now)).toStrictEqual(want);
                expect(ttls.pending).toBe(model.size);
              }
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  });
}
