/**
 * The model test: random sequences of operations run on a persistent engine
 * and on a MemStore side by side, with reopen (close, open the same
 * directory) mixed in as one more operation. MemStore is the model: after
 * every step the two must have returned the same value or failed with the
 * same error code and report the same fastState, and at the end both hold the
 * same messages and the same full state. Sequences and sizes are small so
 * that a few dozen operations already cross block boundaries (the file
 * factories use 4 KiB blocks), remove across blocks, and compact or truncate
 * into the middle of a block. Subject queries (filteredState, subjectsState,
 * numPending, multiLastSeqs, getSeqFromTime, the multi-filter queries of
 * store-model-multi.ts …), purgeEx and filtered loads
 * draw their filters from MODEL_FILTERS: the model's subjects, wildcards over
 * them and a filter that matches nothing.
 *
 * Limits, maxAgeMs, per-message TTLs and subject delete markers are drawn
 * too, and the clock jumps (seconds forward, or back): an expiry happens on
 * the next store, at open and on timers. Timers can only run while the test
 * awaits (flush, reopen), so after each await both stores are brought to the
 * same instant with an `updateConfig` of the same limits, which expires what
 * is due on each.
 */
import fc from "fast-check";
import { MemStore } from "../../src/memstore.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { modelRuns } from "./model-env.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, plain, snapshot, testClock } from "./store-helpers.ts";
import {
  applyMulti,
  expectedMulti,
  MULTI_KINDS,
  type MultiOp,
  multiOpArbs,
} from "./store-model-multi.ts";

type Op =
  | { kind: "store"; subject: number; size: number; hdr: boolean; count: number; ttl: number }
  | { kind: "storeRaw"; subject: number; size: number; tsBack: number; ttl: number }
  | { kind: "jump"; ms: number }
  | { kind: "skip" }
  | { kind: "skipMsgs"; num: number }
  | { kind: "remove"; at: number }
  | { kind: "erase"; at: number }
  | { kind: "purge" }
  | { kind: "compact"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "load"; at: number }
  | { kind: "loadNext"; at: number }
  | { kind: "loadPrev"; at: number }
  | { kind: "flush" }
  | { kind: "reopen" }
  | { kind: "syncLater" }
  | { kind: "settle"; turns: number }
  | { kind: "limits"; limits: StoreOptions }
  | { kind: "filteredState"; at: number; filter: number }
  | { kind: "subjectsState"; filter: number }
  | { kind: "subjectsTotals"; filter: number }
  | { kind: "numPending"; at: number; filter: number; lastPerSubject: boolean }
  | { kind: "multiLastSeqs"; filters: number[]; at: number; bounded: boolean; maxAllowed: number }
  | { kind: "allLastSeqs" }
  | { kind: "subjectForSeq"; at: number }
  | { kind: "getSeqFromTime"; back: number }
  | { kind: "purgeEx"; filter: number; at: number; keep: number; mode: PurgeMode }
  | { kind: "loadLast"; filter: number }
  | { kind: "loadNextFiltered"; filter: number; wildcard: boolean; at: number }
  | MultiOp;

/** Which of purgeEx's bounds an operation passes; "both" must fail and change nothing. */
type PurgeMode = "none" | "seq" | "keep" | "both";

const SUBJECTS = ["orders.east.1", "orders.west.2", "audit", "ünïcode.ß", "orders.west.1"];

const MODEL_FILTERS = [
  "",
  ">",
  "*",
  "*.*",
  "orders.*.1",
  "orders.>",
  "orders.*",
  "*.west.*",
  "orders.east.1",
  "audit",
  "ünïcode.*",
  "nope",
];

const filterIndex = fc.nat(MODEL_FILTERS.length - 1);

/** Mostly no TTL; otherwise "never" or a few seconds, so that clock jumps expire them. */
const ttlArb = fc.constantFrom(0, 0, 0, -1, 1, 2, 5);

/** Where an operation aims, in thousandths of [0, last + 2]: anywhere in the stream and just past it. */
const at = fc.integer({ min: 0, max: 1000 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("store" as const),
      subject: fc.nat(SUBJECTS.length - 1),
      size: fc.oneof(fc.nat(64), fc.nat(1500)),
      hdr: fc.boolean(),
      count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 })),
      ttl: ttlArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("storeRaw" as const),
      subject: fc.nat(SUBJECTS.length - 1),
      size: fc.nat(100),
      tsBack: fc.nat(5_000),
      ttl: ttlArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("jump" as const),
      ms: fc.oneof(fc.integer({ min: 500, max: 6_000 }), fc.integer({ min: -3_000, max: 0 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "skip" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("skipMsgs" as const), num: fc.nat(20) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("remove" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("erase" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "purge" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("load" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("loadNext" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("loadPrev" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "reopen" as const }) },
  // A sync left running while later operations write, remove, truncate or reopen.
  { weight: 2, arbitrary: fc.constant({ kind: "syncLater" as const }) },
  // Turns of the event loop: fsyncs, write-outs and removals running meanwhile go on.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      turns: fc.integer({ min: 1, max: 4 }),
    }),
  },
  // New numeric limits (0 lifts one), merged over the run's: the other options stay.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("limits" as const),
      limits: fc.record(
        {
          maxMsgs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
          maxBytes: fc.oneof(fc.constant(0), fc.integer({ min: 2_000, max: 40_000 })),
          maxMsgsPerSubject: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
          maxAgeMs: fc.oneof(fc.constant(0), fc.integer({ min: 1_000, max: 8_000 })),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("filteredState" as const), at, filter: filterIndex }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("subjectsState" as const), filter: filterIndex }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("subjectsTotals" as const), filter: filterIndex }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("numPending" as const),
      at,
      filter: filterIndex,
      lastPerSubject: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("multiLastSeqs" as const),
      filters: fc.array(filterIndex, { maxLength: 3 }),
      at,
      bounded: fc.boolean(),
      maxAllowed: fc.nat(5),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "allLastSeqs" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("subjectForSeq" as const), at }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("getSeqFromTime" as const),
      // Mostly within the last few steps, where storeRaw leaves timestamps out of order.
      back: fc.oneof(fc.nat(6_000), fc.nat(70_000)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("purgeEx" as const),
      filter: filterIndex,
      at,
      keep: fc.nat(30),
      mode: fc.constantFrom<PurgeMode>("none", "seq", "keep", "keep", "both"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("loadLast" as const), filter: filterIndex }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("loadNextFiltered" as const),
      filter: filterIndex,
      wildcard: fc.boolean(),
      at,
    }),
  },
  ...multiOpArbs(MODEL_FILTERS.length, at),
);

function payload(size: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + salt) & 0xff;
  return bytes;
}

/** What one operation returned, as comparable data: a value or an error code. */
function apply(store: StreamStore, op: Op, step: number, rawTs: bigint): unknown {
  const target = (thousandths: number) =>
    Math.round((thousandths / 1000) * (store.fastState().lastSeq + 2));
  const run = (fn: () => unknown): unknown => {
    let out: unknown;
    const code = codeOf(() => {
      out = fn();
    });
    return code === "no error" ? { ok: out } : { error: code };
  };
  switch (op.kind) {
    case "store":
      return run(() => {
        const stored = [];
        for (let i = 0; i < op.count; i++) {
          const subject = SUBJECTS[(op.subject + i) % SUBJECTS.length];
          const hdr = op.hdr ? payload(op.subject + 3, step) : null;
          const msg = payload((op.size + i * 37) % 1500, step + i);
          stored.push(store.storeMsg(subject, hdr, msg, op.ttl));
        }
        return stored;
      });
    case "storeRaw":
      return run(() =>
        store.storeRawMsg(
          SUBJECTS[op.subject],
          null,
          payload(op.size, step),
          store.fastState().lastSeq + 1,
          rawTs - BigInt(op.tsBack),
          op.ttl,
        ),
      );
    case "skip":
      return run(() => store.skipMsg());
    case "skipMsgs":
      return run(() => store.skipMsgs(store.fastState().lastSeq + 1, op.num));
    case "remove":
      return run(() => store.removeMsg(target(op.at)));
    case "erase":
      return run(() => store.eraseMsg(target(op.at)));
    case "purge":
      return run(() => store.purge());
    case "compact":
      return run(() => store.compact(target(op.at)));
    case "truncate":
      return run(() => store.truncate(target(op.at)));
    case "load":
      return run(() => plain(store.loadMsg(target(op.at))));
    case "loadNext":
      return run(() => plain(store.loadNextMsg("", false, target(op.at))));
    case "loadPrev":
      return run(() => plain(store.loadPrevMsg(target(op.at))));
    case "limits":
      return run(() => store.updateConfig(op.limits));
    case "flush":
    case "reopen":
    case "jump":
    case "syncLater":
    case "settle":
      return { ok: undefined };
    default:
      if (isMulti(op)) return applyMulti(store, op, MODEL_FILTERS);
      return applySubjectOp(store, op, target, rawTs, run);
  }
}

function isMulti(op: Op): op is MultiOp {
  return MULTI_KINDS.has(op.kind);
}

type SubjectOp = Extract<
  Op,
  {
    kind:
      | "filteredState"
      | "subjectsState"
      | "subjectsTotals"
      | "numPending"
      | "multiLastSeqs"
      | "allLastSeqs"
      | "subjectForSeq"
      | "getSeqFromTime"
      | "purgeEx"
      | "loadLast"
      | "loadNextFiltered";
  }
>;

/** The subject queries, purgeEx and filtered loads of `apply`. */
function applySubjectOp(
  store: StreamStore,
  op: SubjectOp,
  target: (thousandths: number) => number,
  now: bigint,
  run: (fn: () => unknown) => unknown,
): unknown {
  switch (op.kind) {
    case "filteredState":
      return run(() => store.filteredState(target(op.at), MODEL_FILTERS[op.filter]));
    case "subjectsState":
      return run(() => store.subjectsState(MODEL_FILTERS[op.filter]));
    case "subjectsTotals":
      return run(() => store.subjectsTotals(MODEL_FILTERS[op.filter]));
    case "numPending":
      return run(() =>
        store.numPending(target(op.at), MODEL_FILTERS[op.filter], op.lastPerSubject),
      );
    case "multiLastSeqs": {
      const filters = op.filters.map((i) => MODEL_FILTERS[i]);
      return run(() => store.multiLastSeqs(filters, op.bounded ? target(op.at) : 0, op.maxAllowed));
    }
    case "allLastSeqs":
      return run(() => store.allLastSeqs());
    case "subjectForSeq":
      return run(() => store.subjectForSeq(target(op.at)));
    case "getSeqFromTime": {
      const ts = now - BigInt(op.back);
      return run(() => store.getSeqFromTime(ts < 0n ? 0n : ts));
    }
    case "purgeEx": {
      const seq = op.mode === "seq" || op.mode === "both" ? target(op.at) : 0;
      const keep = op.mode === "keep" || op.mode === "both" ? op.keep + 1 : 0;
      return run(() => store.purgeEx(MODEL_FILTERS[op.filter], seq, keep));
    }
    case "loadLast":
      return run(() => plain(store.loadLastMsg(MODEL_FILTERS[op.filter])));
    case "loadNextFiltered":
      return run(() =>
        plain(store.loadNextMsg(MODEL_FILTERS[op.filter], op.wildcard, target(op.at))),
      );
  }
}

/** No limits half the time; otherwise small ones, so that they bite within a run. */
const limitsArb: fc.Arbitrary<StoreOptions> = fc.oneof(
  fc.constant({}),
  fc
    .record(
      {
        maxMsgs: fc.integer({ min: 1, max: 40 }),
        maxBytes: fc.integer({ min: 2_000, max: 40_000 }),
        maxMsgsPerSubject: fc.integer({ min: 1, max: 10 }),
        discard: fc.constantFrom("old" as const, "new" as const),
        discardNewPerSubject: fc.boolean(),
        maxAgeMs: fc.integer({ min: 1_000, max: 8_000 }),
        allowMsgTtl: fc.boolean(),
        subjectDeleteMarkerTtl: fc.integer({ min: 1, max: 5 }),
      },
      { requiredKeys: [] },
    )
    .filter(
      (o) =>
        (!o.discardNewPerSubject || (o.discard === "new" && (o.maxMsgsPerSubject ?? 0) > 0)) &&
        (o.subjectDeleteMarkerTtl === undefined || o.allowMsgTtl === true),
    ),
);

export function modelTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  if (!factory.supports.persistence) return;
  describe("model: random operations against MemStore, with reopen", () => {
    it("returns what MemStore returns and ends in the same state", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }),
          limitsArb,
          async (ops, runLimits) => {
            const clock = testClock(1_000_000n);
            const model = MemStore.create({ now: clock.now, ...runLimits });
            const fixture = await factory.create({ now: clock.now, ...runLimits });
            let store = fixture.store;
            const trail: string[] = [];
            // The limits now: updateConfig replaces them, and a reopen opens with them.
            let limits = runLimits;
            const reopen = () =>
              fixture.reopenWith === undefined ? fixture.reopen() : fixture.reopenWith(limits);
            // Syncs left running: each settles to null or its error, and must not fail.
            const running: Promise<unknown>[] = [];
            const settleRunning = async () => {
              const errors = await Promise.all(running.splice(0));
              expect({ trail, errors: errors.filter((e) => e !== null) }).toEqual({
                trail,
                errors: [],
              });
            };
            try {
              for (let step = 0; step < ops.length; step++) {
                const drawn = ops[step];
                // New limits go over the ones in force: updateConfig replaces them all.
                const op =
                  drawn.kind === "limits"
                    ? { ...drawn, limits: { ...limits, ...drawn.limits } }
                    : drawn;
                trail.push(JSON.stringify(op));
                clock.t += 1_000n;
                if (op.kind === "jump") {
                  const next = clock.t + BigInt(op.ms) * 1_000_000n;
                  clock.t = next < 1_000_000n ? 1_000_000n : next;
                }
                if (op.kind === "reopen") {
                  store = await reopen();
                  await settleRunning();
                }
                if (op.kind === "flush") await store.flush();
                if (op.kind === "syncLater")
                  running.push(
                    store.sync().then(
                      () => null,
                      (err: unknown) => err,
                    ),
                  );
                if (op.kind === "settle") {
                  for (let i = 0; i < op.turns; i++)
                    await new Promise((resolve) => setTimeout(resolve, 0));
                }
                if (op.kind === "reopen" || op.kind === "flush" || op.kind === "settle") {
                  model.updateConfig(limits);
                  store.updateConfig(limits);
                }
                const expected = apply(model, op, step, clock.t);
                const actual = apply(store, op, step, clock.t);
                expect({ trail, result: actual }).toEqual({ trail, result: expected });
                if (op.kind === "limits" && "ok" in (actual as object)) limits = op.limits;
                if (isMulti(op)) {
                  // Both engines share the multi-filter code: check it against other queries.
                  const oracle = expectedMulti(model, op, MODEL_FILTERS);
                  expect({ trail, result: expected }).toEqual({ trail, result: oracle });
                }
                expect({ trail, state: store.fastState() }).toEqual({
                  trail,
                  state: model.fastState(),
                });
              }
              await settleRunning();
              expect(snapshot(store)).toEqual(snapshot(model));
              store = await reopen();
              model.updateConfig(limits);
              store.updateConfig(limits);
              expect(snapshot(store)).toEqual(snapshot(model));
            } finally {
              await fixture.cleanup();
              await model.delete();
            }
          },
        ),
        modelRuns(100),
      );
    }, 600_000);
  });
}
