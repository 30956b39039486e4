/**
 * SequenceSet (src/seqset.ts over assembly/seqset.ts) holds each block's
 * deleted sequences, so a wrong answer resurrects or hides messages. It is
 * checked on both core builds against a plain `Set<number>` model: fast-check
 * command sequences (shrinkable) and a long seeded run of 100,000 operations
 * whose sequences are dense (runs merge and split), sparse (across the whole
 * 1 … 2^53 - 1 range) or crowded at the top of it. Every answer is compared:
 * add / remove / has results, size, runCount, first, last, runs(from), and
 * encode() against the byte layout documented in assembly/seqset.ts, built
 * here from its definition, plus decode(encode()). Malformed encodings must be
 * ErrCorrupt; bad arguments typed errors that leave the set unchanged.
 */
import fc from "fast-check";
import { MAX_ARRAY_SEQUENCES, SequenceSet } from "../../src/seqset.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, failure } from "./core-variants.ts";

const MAX_SEQ = 2 ** 53 - 1;

/** Unsigned LEB128 of a safe integer, from its definition. */
function leb128(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** Maximal runs [lo, hi] of a set of sequences, ascending. */
function modelRuns(model: Set<number>): [number, number][] {
  const sorted = [...model].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const seq of sorted) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] + 1 === seq) last[1] = seq;
    else runs.push([seq, seq]);
  }
  return runs;
}

/** Runs holding sequences >= from, the first clipped to start at from. */
function runsFrom(runs: [number, number][], from: number): [number, number][] {
  return runs.filter(([, hi]) => hi >= from).map(([lo, hi]) => [Math.max(lo, from), hi]);
}

/** Version 1 encoding: 01, varint run count, then per run varint gap and varint length. */
function modelEncoding(runs: [number, number][]): number[] {
  const out = [1, ...leb128(runs.length)];
  let end = 0;
  for (const [lo, hi] of runs) {
    out.push(...leb128(lo - end), ...leb128(hi - lo + 1));
    end = hi;
  }
  return out;
}

/** Everything observable about a set, as plain values. */
function observe(set: SequenceSet) {
  return {
    size: set.size,
    runCount: set.runCount,
    first: set.first,
    last: set.last,
    runs: [...set.runs()],
    encoded: Array.from(set.encode()),
  };
}

function modelObserve(model: Set<number>) {
  const runs = modelRuns(model);
  return {
    size: model.size,
    runCount: runs.length,
    first: runs.length === 0 ? 0 : runs[0][0],
    last: runs.length === 0 ? 0 : runs[runs.length - 1][1],
    runs,
    encoded: modelEncoding(runs),
  };
}

/** Small xorshift PRNG: the long run is reproducible from one seed. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

interface Model {
  set: Set<number>;
}
interface Real {
  set: SequenceSet;
}

/** Sequences from one of three shapes: dense, sparse, or crowded near 2^53 - 1. */
const seqArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_SEQ }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_SEQ - 40, max: MAX_SEQ }) },
);

export function seqsetSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  /** Runs `body` with a fresh set and disposes it whatever happens. */
  const withSet = <T>(variant: "release" | "debug", body: (set: SequenceSet) => T): T => {
    const set = new SequenceSet({ variant });
    try {
      return body(set);
    } finally {
      set.dispose();
    }
  };

  for (const variant of CORE_VARIANTS) {
    describe(`SequenceSet (${variant} core)`, () => {
      it("matches a Set<number> over random command sequences", () => {
        class Add implements fc.Command<Model, Real> {
          readonly seq: number;
          constructor(seq: number) {
            this.seq = seq;
          }
          check = () => true;
          run(m: Model, r: Real) {
            expect(r.set.add(this.seq)).toBe(!m.set.has(this.seq));
            m.set.add(this.seq);
            expect(r.set.size).toBe(m.set.size);
          }
          toString = () => `add(${this.seq})`;
        }
        /**
         * Adds just above the largest sequence, as a limit removing the oldest
         * messages does: the set keeps such a run outside the core until a
         * call needs the whole set, so no size is read here.
         */
        class AddAbove implements fc.Command<Model, Real> {
          readonly gap: number;
          constructor(gap: number) {
            this.gap = gap;
          }
          check = () => true;
          run(m: Model, r: Real) {
            let top = 0;
            for (const s of m.set) if (s > top) top = s;
            const seq = Math.min(top + 1 + this.gap, MAX_SEQ);
            expect(r.set.add(seq)).toBe(!m.set.has(seq));
            m.set.add(seq);
            expect(r.set.last).toBe(Math.max(top, seq));
          }
          toString = () => `addAbove(+${this.gap})`;
        }
        /**
         * `addAtHead` just above the largest sequence (or further up): when it
         * accepts, the sequence was absent and above every member, and the
         * set then holds it; when it refuses, nothing changed (the Check
         * command compares everything).
         */
        class AddAtHead implements fc.Command<Model, Real> {
          readonly gap: number;
          constructor(gap: number) {
            this.gap = gap;
          }
          check = () => true;
          run(m: Model, r: Real) {
            let top = 0;
            for (const s of m.set) if (s > top) top = s;
            const seq = Math.min(Math.max(top + 1 + this.gap, 1), MAX_SEQ);
            const size = m.set.size;
            if (r.set.addAtHead(seq)) {
              expect(seq > top).toBe(true);
              m.set.add(seq);
            }
            expect(r.set.has(seq)).toBe(m.set.has(seq));
            if (seq < MAX_SEQ) expect(r.set.has(seq + 1)).toBe(m.set.has(seq + 1));
            expect(r.set.size).toBe(m.set.size);
            expect(m.set.size - size).toBeLessThanOrEqual(1);
          }
          toString = () => `addAtHead(+${this.gap})`;
        }
        /** Adds and looks up the `k`-th largest member or its neighbour, where a run kept outside the core lies. */
        class NearTop implements fc.Command<Model, Real> {
          readonly k: number;
          readonly offset: number;
          constructor(k: number, offset: number) {
            this.k = k;
            this.offset = offset;
          }
          check = () => true;
          run(m: Model, r: Real) {
            const sorted = [...m.set].sort((a, b) => b - a);
            const seq = Math.min(Math.max((sorted[this.k] ?? 1) + this.offset, 1), MAX_SEQ);
            expect(r.set.has(seq)).toBe(m.set.has(seq));
            expect(r.set.add(seq)).toBe(!m.set.has(seq));
            m.set.add(seq);
          }
          toString = () => `nearTop(${this.k}, ${this.offset})`;
        }
        class AddRange implements fc.Command<Model, Real> {
          readonly lo: number;
          readonly span: number;
          constructor(lo: number, span: number) {
            this.lo = lo;
            this.span = span;
          }
          check = () => true;
          run(m: Model, r: Real) {
            const hi = Math.min(this.lo + this.span, MAX_SEQ);
            let fresh = 0;
            for (let s = this.lo; s <= hi; s++) {
              if (!m.set.has(s)) fresh++;
              m.set.add(s);
            }
            expect(r.set.addRange(this.lo, hi)).toBe(fresh);
            expect(r.set.size).toBe(m.set.size);
          }
          toString = () => `addRange(${this.lo}, +${this.span})`;
        }
        class Remove implements fc.Command<Model, Real> {
          readonly seq: number;
          constructor(seq: number) {
            this.seq = seq;
          }
          check = () => true;
          run(m: Model, r: Real) {
            expect(r.set.remove(this.seq)).toBe(m.set.has(this.seq));
            m.set.delete(this.seq);
            expect(r.set.size).toBe(m.set.size);
          }
          toString = () => `remove(${this.seq})`;
        }
        class Has implements fc.Command<Model, Real> {
          readonly seq: number;
          constructor(seq: number) {
            this.seq = seq;
          }
          check = () => true;
          run(m: Model, r: Real) {
            expect(r.set.has(this.seq)).toBe(m.set.has(this.seq));
          }
          toString = () => `has(${this.seq})`;
        }
        class NextAbsent implements fc.Command<Model, Real> {
          readonly seq: number;
          constructor(seq: number) {
            this.seq = seq;
          }
          check = () => true;
          run(m: Model, r: Real) {
            let expected = this.seq;
            while (m.set.has(expected)) expected++;
            expect(r.set.nextAbsent(this.seq)).toBe(expected);
          }
          toString = () => `nextAbsent(${this.seq})`;
        }
        class Check implements fc.Command<Model, Real> {
          readonly from: number;
          constructor(from: number) {
            this.from = from;
          }
          check = () => true;
          run(m: Model, r: Real) {
            expect(observe(r.set)).toEqual(modelObserve(m.set));
            expect([...r.set.runs(this.from)]).toEqual(runsFrom(modelRuns(m.set), this.from));
          }
          toString = () => `check(runs from ${this.from})`;
        }
        class RoundTrip implements fc.Command<Model, Real> {
          check = () => true;
          run(_m: Model, r: Real) {
            const bytes = r.set.encode();
            const copy = SequenceSet.decode(bytes, { variant });
            try {
              expect(observe(copy)).toEqual(observe(r.set));
            } finally {
              copy.dispose();
            }
          }
          toString = () => "roundTrip";
        }
        class Clear implements fc.Command<Model, Real> {
          check = () => true;
          run(m: Model, r: Real) {
            r.set.clear();
            m.set.clear();
            expect(observe(r.set)).toEqual(modelObserve(m.set));
          }
          toString = () => "clear";
        }
        const commands = fc.commands(
          [
            seqArb.map((s) => new Add(s)),
            seqArb.map((s) => new Add(s)),
            fc.oneof(fc.constant(0), fc.constant(0), fc.nat(2)).map((g) => new AddAbove(g)),
            fc.oneof(fc.constant(0), fc.constant(0), fc.nat(2)).map((g) => new AddAbove(g)),
            fc
              .oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -3, max: 2 }))
              .map((g) => new AddAtHead(g)),
            fc
              .oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -3, max: 2 }))
              .map((g) => new AddAtHead(g)),
            fc
              .tuple(fc.nat(4), fc.integer({ min: -2, max: 2 }))
              .map(([k, offset]) => new NearTop(k, offset)),
            fc.tuple(seqArb, fc.nat(12)).map(([lo, span]) => new AddRange(lo, span)),
            seqArb.map((s) => new Remove(s)),
            seqArb.map((s) => new Remove(s)),
            seqArb.map((s) => new Has(s)),
            fc.oneof(fc.constant(0), seqArb).map((s) => new Check(s)),
            seqArb.map((s) => new NextAbsent(s)),
            fc.constant(new RoundTrip()),
            fc.constant(new Clear()),
          ],
          { maxCommands: 80 },
        );
        fc.assert(
          fc.property(commands, (cmds) => {
            withSet(variant, (set) => {
              const model = { set: new Set<number>() };
              fc.modelRun(() => ({ model, real: { set } }), cmds);
              expect(observe(set)).toEqual(modelObserve(model.set));
            });
          }),
          { numRuns: 200 },
        );
      });

      it("matches a Set<number> over 100,000 seeded random operations", () => {
        fc.assert(
          fc.property(fc.integer(), (seed) => {
            const random = prng(seed);
            const int = (n: number) => Math.floor(random() * n);
            // A pool of sparse sequences across the range, each with neighbours so runs can form.
            const pool: number[] = [];
            for (let i = 0; i < 60; i++) {
              const s = 2 + Math.floor(random() * (MAX_SEQ - 4));
              pool.push(s - 1, s, s + 1);
            }
            const pick = (shape: number): number => {
              if (shape < 5) return 1 + int(300); // dense
              if (shape < 7) return pool[int(pool.length)]; // sparse
              if (shape < 8) return MAX_SEQ - int(64); // crowded at the top
              return 1 + int(MAX_SEQ); // anywhere
            };
            withSet(variant, (set) => {
              const model = new Set<number>();
              for (let op = 1; op <= 100_000; op++) {
                const seq = pick(int(10));
                const kind = int(10);
                if (kind < 4) {
                  const fresh = !model.has(seq);
                  model.add(seq);
                  if (set.add(seq) !== fresh) expect({ op, add: seq }).toEqual({ returned: fresh });
                } else if (kind < 7) {
                  const had = model.delete(seq);
                  if (set.remove(seq) !== had)
                    expect({ op, remove: seq }).toEqual({ returned: had });
                } else if (kind < 9) {
                  if (set.has(seq) !== model.has(seq)) {
                    expect({ op, has: seq }).toEqual({ returned: model.has(seq) });
                  }
                } else {
                  if (set.size !== model.size)
                    expect({ op, size: set.size }).toEqual({ size: model.size });
                }
                if (op % 2_000 === 0) {
                  const want = modelObserve(model);
                  expect({ op, ...observe(set) }).toEqual({ op, ...want });
                  const from = pick(int(10));
                  expect([...set.runs(from)]).toEqual(runsFrom(want.runs, from));
                  const copy = SequenceSet.decode(set.encode(), { variant });
                  try {
                    expect({ op, ...observe(copy) }).toEqual({ op, ...want });
                  } finally {
                    copy.dispose();
                  }
                }
                if (op % 25_000 === 0) {
                  // Start over sometimes so both full and empty-ish sets are exercised.
                  set.clear();
                  model.clear();
                }
              }
            });
          }),
          { numRuns: 1 },
        );
      });

      it("handles the edges: empty, one, 2^53 - 1, the whole range", () => {
        withSet(variant, (set) => {
          expect(observe(set)).toEqual({
            size: 0,
            runCount: 0,
            first: 0,
            last: 0,
            runs: [],
            encoded: [1, 0],
          });
          expect(set.toArray()).toEqual([]);
          expect(set.has(1)).toBe(false);
          expect(set.remove(1)).toBe(false);
          expect(set.add(1)).toBe(true);
          expect(set.add(1)).toBe(false);
          expect(observe(set)).toEqual({
            size: 1,
            runCount: 1,
            first: 1,
            last: 1,
            runs: [[1, 1]],
            encoded: [1, 1, 1, 1],
          });
          expect(set.add(MAX_SEQ)).toBe(true);
          expect(set.has(MAX_SEQ)).toBe(true);
          expect(set.has(MAX_SEQ - 1)).toBe(false);
          expect(observe(set)).toEqual({
            size: 2,
            runCount: 2,
            first: 1,
            last: MAX_SEQ,
            runs: [
              [1, 1],
              [MAX_SEQ, MAX_SEQ],
            ],
            // gap 2^53 - 2 is 0xfe 0xff 0xff 0xff 0xff 0xff 0xff 0x0f in LEB128.
            encoded: [1, 2, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1],
          });
          expect(set.toArray()).toEqual([1, MAX_SEQ]);
          expect([...set.runs(2)]).toEqual([[MAX_SEQ, MAX_SEQ]]);
          expect(set.remove(MAX_SEQ)).toBe(true);
          expect(set.remove(1)).toBe(true);
          expect(observe(set).encoded).toEqual([1, 0]);

          // The whole range is one run of 2^53 - 1 sequences.
          expect(set.addRange(1, MAX_SEQ)).toBe(MAX_SEQ);
          expect(observe(set)).toEqual({
            size: MAX_SEQ,
            runCount: 1,
            first: 1,
            last: MAX_SEQ,
            runs: [[1, MAX_SEQ]],
            encoded: [1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f],
          });
          expect(failure(() => set.toArray()).code).toBe("ErrOutOfRange");
          expect(set.addRange(5, 10)).toBe(0);
          expect(set.remove(2 ** 52)).toBe(true);
          expect([...set.runs()]).toEqual([
            [1, 2 ** 52 - 1],
            [2 ** 52 + 1, MAX_SEQ],
          ]);
          expect(set.size).toBe(MAX_SEQ - 1);
          expect(MAX_ARRAY_SEQUENCES).toBe(2 ** 24);
          const copy = SequenceSet.decode(set.encode(), { variant });
          try {
            expect(observe(copy)).toEqual(observe(set));
          } finally {
            copy.dispose();
          }
          set.clear();
          expect(observe(set).encoded).toEqual([1, 0]);
        });
      });

      it("splits a run when a sequence in its middle is removed and merges it back", () => {
        withSet(variant, (set) => {
          expect(set.addRange(1, 10)).toBe(10);
          expect(set.remove(5)).toBe(true);
          expect(observe(set)).toEqual({
            size: 9,
            runCount: 2,
            first: 1,
            last: 10,
            runs: [
              [1, 4],
              [6, 10],
            ],
            encoded: [1, 2, 1, 4, 2, 5],
          });
          expect(set.remove(1)).toBe(true);
          expect(set.remove(10)).toBe(true);
          expect([...set.runs()]).toEqual([
            [2, 4],
            [6, 9],
          ]);
          expect(set.add(5)).toBe(true);
          expect([...set.runs()]).toEqual([[2, 9]]);
          expect(set.runCount).toBe(1);
          // Adding next to a run extends it; a gap of one keeps runs apart.
          expect(set.add(11)).toBe(true);
          expect([...set.runs()]).toEqual([
            [2, 9],
            [11, 11],
          ]);
          expect(set.add(10)).toBe(true);
          expect([...set.runs()]).toEqual([[2, 11]]);
          // A range bridging several runs merges them all and counts only new sequences.
          for (const s of [20, 22, 24]) set.add(s);
          expect(set.addRange(12, 25)).toBe(11);
          expect([...set.runs()]).toEqual([[2, 25]]);
          expect(set.size).toBe(24);
          // runs(from) clips the first run.
          expect([...set.runs(7)]).toEqual([[7, 25]]);
          expect([...set.runs(26)]).toEqual([]);
          expect(observe(set).encoded).toEqual([1, 1, 2, 24]);
        });
      });

      it("addAtHead extends the run at the top and refuses anything else, changing nothing", () => {
        withSet(variant, (set) => {
          // Head removals: 1, 2, 3 in a row, each accepted without the core.
          expect([set.addAtHead(1), set.addAtHead(2), set.addAtHead(3)]).toEqual([
            true,
            true,
            true,
          ]);
          // A gap, a held sequence, one below: refused.
          expect([set.addAtHead(5), set.addAtHead(3), set.addAtHead(2)]).toEqual([
            false,
            false,
            false,
          ]);
          expect(observe(set)).toMatchObject({ size: 3, runs: [[1, 3]] });
          // A member above the run (a removal in the middle of the block): refused below it.
          expect(set.add(10)).toBe(true);
          expect(set.addAtHead(4)).toBe(false);
          // The same once the core holds it (size moves the run kept here into the core).
          expect(set.size).toBe(4);
          expect(set.addAtHead(4)).toBe(false);
          expect(set.has(4)).toBe(false);
          expect(set.addAtHead(11)).toBe(true);
          expect([...set.runs()]).toEqual([
            [1, 3],
            [10, 11],
          ]);
          set.dispose();
          expect(set.addAtHead(12)).toBe(false);
        });
      });

      it("iterates more runs than one batch holds", () => {
        withSet(variant, (set) => {
          // 1000 runs of one sequence each: 1, 3, 5, … 1999.
          for (let s = 1; s < 2000; s += 2) set.add(s);
          const runs = [...set.runs()];
          expect(runs).toHaveLength(1000);
          expect(runs.every(([lo, hi], i) => lo === 2 * i + 1 && hi === lo)).toBe(true);
          expect([...set.runs(1001)]).toHaveLength(500);
          expect(set.runCount).toBe(1000);
          expect(set.toArray()).toEqual(runs.map(([lo]) => lo));
        });
      });

      it("decodes only canonical encodings; anything else is ErrCorrupt", () => {
        const bad: [string, number[]][] = [
          ["empty", []],
          ["only a version", [1]],
          ["unknown version 0", [0, 0]],
          ["unknown version 2", [2, 0]],
          ["count without runs", [1, 1]],
          ["run without length", [1, 1, 1]],
          ["first run at gap 0 (sequence 0)", [1, 1, 0, 1]],
          ["empty run", [1, 1, 1, 0]],
          ["touching runs", [1, 2, 1, 1, 1, 1]],
          ["overlapping runs", [1, 2, 1, 3, 0, 1]],
          ["bytes after the last run", [1, 0, 0]],
          ["bytes after a run", [1, 1, 1, 1, 7]],
          ["over-long varint", [1, 0x81, 0x00, 1, 1]],
          ["run past 2^53 - 1", [1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 2]],
          [
            "second run past 2^53 - 1",
            [1, 2, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 2],
          ],
          ["varint past 2^64", [1, 1, ...Array(9).fill(0xff), 0x7f, 1]],
          ["forged huge run count", [1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1]],
        ];
        for (const [name, bytes] of bad) {
          expect({
            name,
            code: failure(() => SequenceSet.decode(Uint8Array.from(bytes), { variant })).code,
          }).toEqual({
            name,
            code: "ErrCorrupt",
          });
        }
        // Random bytes either fail with ErrCorrupt or are canonical: they re-encode to themselves.
        fc.assert(
          fc.property(
            fc.oneof(
              fc.uint8Array({ maxLength: 24 }),
              fc
                .uint8Array({ maxLength: 20 })
                .map((b) => Uint8Array.from([1, b.length >> 1, ...b])),
            ),
            (bytes) => {
              let set: SequenceSet | undefined;
              const err = failure(() => {
                set = SequenceSet.decode(bytes, { variant });
              });
              if (set === undefined) {
                expect(err.code).toBe("ErrCorrupt");
                return;
              }
              try {
                expect(Array.from(set.encode())).toEqual(Array.from(bytes));
                const runs = [...set.runs()];
                expect(modelEncoding(runs)).toEqual(Array.from(bytes));
              } finally {
                set.dispose();
              }
            },
          ),
          { numRuns: 1000 },
        );
      });

      it("rejects bad sequences with typed errors and leaves the set unchanged", () => {
        withSet(variant, (set) => {
          set.addRange(3, 7);
          set.add(20);
          const before = observe(set);
          const invalid: unknown[] = [
            1.5,
            -0.5,
            Number.NaN,
            Number.POSITIVE_INFINITY,
            "3",
            3n,
            null,
            undefined,
            {},
            [3],
          ];
          // Integers outside 1 … 2^53 - 1 (2^60 and MAX_VALUE are integers as doubles).
          const outOfRange: unknown[] = [
            0,
            -0,
            -1,
            2 ** 53,
            2 ** 60,
            Number.MAX_VALUE,
            -Number.MAX_VALUE,
          ];
          const ops: [string, (s: SequenceSet, v: unknown) => unknown][] = [
            ["add", (s, v) => s.add(v as number)],
            ["remove", (s, v) => s.remove(v as number)],
            ["has", (s, v) => s.has(v as number)],
            ["addRange lo", (s, v) => s.addRange(v as number, 8)],
            ["addRange hi", (s, v) => s.addRange(1, v as number)],
          ];
          for (const [op, call] of ops) {
            for (const value of invalid) {
              const code = failure(() => call(set, value)).code;
              expect({ op, value: String(value), code }).toEqual({
                op,
                value: String(value),
                code: "ErrInvalidArgument",
              });
            }
            for (const value of outOfRange) {
              expect({ op, value, code: failure(() => call(set, value)).code }).toEqual({
                op,
                value,
                code: "ErrOutOfRange",
              });
            }
          }
          expect(failure(() => set.addRange(9, 8)).code).toBe("ErrInvalidArgument");
          expect(failure(() => [...set.runs(-1)]).code).toBe("ErrOutOfRange");
          expect(failure(() => [...set.runs(2 ** 53)]).code).toBe("ErrOutOfRange");
          expect(failure(() => [...set.runs(1.5)]).code).toBe("ErrInvalidArgument");
          expect(failure(() => [...set.runs("1" as unknown as number)]).code).toBe(
            "ErrInvalidArgument",
          );
          expect(observe(set)).toEqual(before);
        });
        for (const bad of [null, [1, 0], "\x01\x00", new ArrayBuffer(2), new Uint16Array([1, 0])]) {
          expect(
            failure(() => SequenceSet.decode(bad as unknown as Uint8Array, { variant })).code,
          ).toBe("ErrInvalidArgument");
        }
        for (const options of [5, "release", null, { variant: "fast" }, { variant: 1 }]) {
          expect(failure(() => new SequenceSet(options as object).dispose()).code).toBe(
            "ErrInvalidArgument",
          );
        }
      });

      it("refuses every use after dispose with ErrInvalidArgument", () => {
        const set = new SequenceSet({ variant });
        expect(set.variant).toBe(variant);
        set.addRange(1, 3);
        const runs = set.runs();
        expect(set.disposed).toBe(false);
        set.dispose();
        expect(set.disposed).toBe(true);
        set.dispose(); // idempotent
        const uses: [string, () => unknown][] = [
          ["add", () => set.add(1)],
          ["addRange", () => set.addRange(1, 2)],
          ["remove", () => set.remove(1)],
          ["has", () => set.has(1)],
          ["size", () => set.size],
          ["runCount", () => set.runCount],
          ["first", () => set.first],
          ["last", () => set.last],
          ["runs", () => set.runs()],
          ["runs iterator made before dispose", () => runs.next()],
          ["toArray", () => set.toArray()],
          ["encode", () => set.encode()],
          ["clear", () => set.clear()],
        ];
        for (const [name, use] of uses) {
          expect({ name, code: failure(use).code }).toEqual({ name, code: "ErrInvalidArgument" });
        }
        // Sets are independent: disposing one leaves another intact.
        withSet(variant, (a) => {
          withSet(variant, (b) => {
            a.add(5);
            b.add(6);
            expect([a.has(5), a.has(6), b.has(5), b.has(6)]).toEqual([true, false, false, true]);
          });
          expect(a.toArray()).toEqual([5]);
        });
      });
    });
  }
}
