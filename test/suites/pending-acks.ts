/**
 * PendingAcks' walks from the lowest pending delivery (lowest, upTo,
 * leadingRun, deleteAfter) keep their own ascending array beside the map: checked
 * against a plain sorted set under the calls a consumer makes. First
 * deliveries come in ascending stream order (gaps: a filter, removed
 * messages), any pending one may be acked, terminated or dropped, and a
 * truncate forgets what is past the cut and hands those sequences out again.
 */
import fc from "fast-check";
import { PendingAcks } from "../../src/consumers/pending-acks.ts";
import type { TestApi } from "../harness.ts";

type Op =
  | { kind: "deliver"; gap: number }
  | { kind: "delete"; pick: number }
  | { kind: "deleteLowest" }
  | { kind: "truncate"; back: number }
  | { kind: "upTo"; pick: number }
  | { kind: "run"; pick: number; extra: number }
  | { kind: "lowest" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deliver" as const), gap: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deleteLowest" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), back: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("upTo" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("lowest" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("run" as const), pick: fc.nat(), extra: fc.nat(40) }),
  },
);

/** Runs `ops`, returning the first disagreement with the model, or null. */
function disagreement(ops: Op[], startPending: number[]): string | null {
  const acks = new PendingAcks();
  const model = new Set<number>();
  const sorted = () => [...model].sort((a, b) => a - b);
  // A reopened consumer adds its saved pending deliveries, ascending, first.
  for (const seq of startPending) {
    acks.add(seq, seq, 1e12);
    model.add(seq);
  }
  let last = startPending.length === 0 ? 0 : startPending[startPending.length - 1];
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    const where = `op ${i} ${JSON.stringify(o)}`;
    if (o.kind === "deliver") {
      last += o.gap + 1;
      acks.add(last, last, 1e12);
      model.add(last);
    } else if (o.kind === "delete" || o.kind === "deleteLowest") {
      const all = sorted();
      if (all.length === 0) continue;
      const seq = o.kind === "delete" ? all[o.pick % all.length] : all[0];
      acks.delete(seq);
      model.delete(seq);
    } else if (o.kind === "truncate") {
      const cut = Math.max(0, last - o.back);
      const had = sorted().some((s) => s > cut);
      const got = acks.deleteAfter(cut);
      for (const s of sorted()) if (s > cut) model.delete(s);
      if (got !== had) return `${where}: deleteAfter(${cut}) said ${got}, model ${had}`;
      last = cut;
    } else if (o.kind === "upTo") {
      const bound = last === 0 ? 0 : o.pick % (last + 2);
      const want = sorted().filter((s) => s <= bound);
      const got = acks.upTo(bound);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        return `${where}: upTo(${bound}) ${JSON.stringify(got)}, model ${JSON.stringify(want)}`;
      }
    } else if (o.kind === "run") {
      // A settle's removed sequences: some pending, some not (never delivered, or acked).
      const all = sorted();
      const seqs = all.filter((_, j) => ((o.pick >>> (j % 30)) & 1) === 1);
      if (o.extra > 0) seqs.push(o.extra);
      const asc = [...new Set(seqs)].sort((a, b) => a - b);
      let want = 0;
      while (want < asc.length && asc[want] === all[want]) want++;
      const got = acks.leadingRun(asc);
      if (got !== want) return `${where}: leadingRun(${JSON.stringify(asc)}) ${got}, model ${want}`;
    }
    const low = sorted()[0] ?? 0;
    if (acks.lowest() !== low) return `${where}: lowest ${acks.lowest()}, model ${low}`;
    if (acks.size !== model.size) return `${where}: size ${acks.size}, model ${model.size}`;
  }
  const want = sorted();
  const got = acks.upTo(Number.MAX_SAFE_INTEGER);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    return `end: upTo(all) ${JSON.stringify(got)}, model ${JSON.stringify(want)}`;
  }
  return null;
}

export function pendingAcksSuite({ describe, it, expect }: TestApi): void {
  describe("PendingAcks (walks from the lowest pending)", () => {
    it("lowest, upTo, leadingRun and deleteAfter agree with a sorted model under deliveries, deletes and truncates", () => {
      fc.assert(
        fc.property(
          fc.array(op, { maxLength: 300 }),
          fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 20 }),
          (ops, saved) => {
            const start = saved.sort((a, b) => a - b);
            expect(disagreement(ops, start)).toBeNull();
          },
        ),
        { numRuns: 300 },
      );
    });

    it("stays right once the walks compact their array (thousands pending, the head acked away)", () => {
      const ops: Op[] = [];
      for (let i = 0; i < 3000; i++) ops.push({ kind: "deliver", gap: i % 3 });
      for (let i = 0; i < 2500; i++) {
        ops.push({ kind: "deleteLowest" });
        if (i % 400 === 0) ops.push({ kind: "truncate", back: 5 });
        if (i % 700 === 0) ops.push({ kind: "deliver", gap: 0 });
      }
      ops.push({ kind: "truncate", back: 2000 });
      for (let i = 0; i < 50; i++) ops.push({ kind: "deliver", gap: 0 });
      expect(disagreement(ops, [])).toBeNull();
    });
  });
}
