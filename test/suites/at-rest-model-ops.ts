/**
 * The operations of the at-rest model (at-rest-model.ts): their random
 * generation and how each runs on the FileStore (noting in the ledger what
 * it writes before it writes it) and on the MemStore model. Removals,
 * compacts and truncates aim at thousandths of the stream, so they land
 * anywhere in it and just past it; a truncate aims at a live message.
 */
import fc from "fast-check";
import type { FileStore } from "../../src/filestore/filestore.ts";
import type { MemStore } from "../../src/memstore.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { Ledger } from "./durability-ledger.ts";
import { codeOf, plain, type TestClock } from "./store-helpers.ts";

/** At-rest formats, as indexes into the model's list. */
export const FORMAT_COUNT = 6;

const SUBJECTS = ["orders.east.1", "orders.west.2", "audit", "orders.west.1"];
const FILTERS = [">", "orders.>", "orders.*.1", "audit", "orders.west.2", "nope"];

export type Op =
  | { kind: "store"; subject: number; size: number; hdr: boolean; count: number; ttl: number }
  | { kind: "remove"; at: number }
  | { kind: "erase"; at: number }
  | { kind: "purge" }
  | { kind: "purgeEx"; filter: number; at: number; keep: number; mode: "none" | "seq" | "keep" }
  | { kind: "compact"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "skip" }
  | { kind: "skipMsgs"; num: number }
  | { kind: "jump"; ms: number }
  | { kind: "sync" }
  | { kind: "flush" }
  | { kind: "reopen"; checkpoint: "keep" | "delete" }
  | { kind: "restore" }
  | { kind: "convert"; to: number }
  | { kind: "syncLater" }
  | { kind: "settle"; turns: number }
  | { kind: "limits"; limits: StoreOptions };

/**
 * New limits for updateConfig: often tighter than the run's, so that they
 * remove at once (head removals, emptied head blocks); allowMsgTtl stays the
 * run's (at-rest-model.ts), as a stream cannot turn it off.
 */
const newLimits: fc.Arbitrary<StoreOptions> = fc.record(
  {
    maxMsgs: fc.integer({ min: 1, max: 60 }),
    maxBytes: fc.integer({ min: 3_000, max: 60_000 }),
    maxMsgsPerSubject: fc.integer({ min: 1, max: 12 }),
    maxAgeMs: fc.integer({ min: 1_000, max: 8_000 }),
  },
  { requiredKeys: [] },
);

/** Where an operation aims, in thousandths of [0, last + 2]. */
const at = fc.integer({ min: 0, max: 1000 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({
      kind: fc.constant("store" as const),
      subject: fc.nat(SUBJECTS.length - 1),
      size: fc.oneof(fc.nat(80), fc.nat(1800)),
      hdr: fc.boolean(),
      count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 30 })),
      ttl: fc.constantFrom(0, 0, 0, -1, 1, 3),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("remove" as const), at }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("erase" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "purge" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("purgeEx" as const),
      filter: fc.nat(FILTERS.length - 1),
      at,
      keep: fc.nat(8),
      mode: fc.constantFrom("none" as const, "seq" as const, "keep" as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "skip" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("skipMsgs" as const), num: fc.nat(12) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("jump" as const),
      ms: fc.oneof(fc.integer({ min: 500, max: 6_000 }), fc.integer({ min: -2_000, max: 0 })),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "sync" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("reopen" as const),
      checkpoint: fc.constantFrom("keep" as const, "delete" as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "restore" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("convert" as const), to: fc.nat(FORMAT_COUNT - 1) }),
  },
  // A sync left running while the next operations write, remove, truncate or close.
  { weight: 3, arbitrary: fc.constant({ kind: "syncLater" as const }) },
  // Turns of the event loop: what is running (fsyncs, a round's erases) goes on meanwhile.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      turns: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("limits" as const), limits: newLimits }) },
);

export function payload(size: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + salt * 7) & 0xff;
  return bytes;
}

/** The last message at or before `seq` (a truncate elsewhere is refused), or `seq` when none. */
export function liveAtOrBelow(store: StreamStore, seq: number): number {
  try {
    return store.loadPrevMsg(seq).seq;
  } catch {
    return seq;
  }
}

export function targetOf(store: StreamStore, thousandths: number): number {
  return Math.round((thousandths / 1000) * (store.fastState().lastSeq + 2));
}

/** `op` on the FileStore, noting what it writes in the ledger first. */
export async function applyStore(
  store: FileStore,
  op: Op,
  step: number,
  clock: TestClock,
  ledger: Ledger,
  reopen: () => Promise<FileStore>,
  later: (request: Promise<void>) => void,
): Promise<unknown> {
  switch (op.kind) {
    case "store":
      return result(() => {
        const stored = [];
        for (let i = 0; i < op.count; i++) {
          const m = message(op, step, i);
          const seq = store.fastState().lastSeq + 1;
          ledger.written.set(seq, plain({ ...m, seq, ts: clock.t }));
          if (op.ttl === 0) ledger.ttls.delete(seq);
          else ledger.ttls.set(seq, op.ttl);
          const r = store.storeMsg(m.subject, m.hdr, m.msg, op.ttl);
          ledger.written.set(r.seq, plain({ ...m, ...r }));
          stored.push(r);
        }
        return stored;
      }, true);
    case "sync":
    case "flush": {
      await ledger.acknowledge(op.kind === "sync" ? store.sync() : store.flush());
      return { ok: undefined };
    }
    case "reopen":
    case "convert":
      await reopen();
      return { ok: undefined };
    case "restore":
      return { ok: undefined };
    case "syncLater":
      later(ledger.acknowledge(store.sync()));
      return { ok: undefined };
    case "settle":
      for (let i = 0; i < op.turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
      return { ok: undefined };
    default:
      return applyCommon(store, op, step, clock, true);
  }
}

/** `op` on the model. */
export function applyModel(model: MemStore, op: Op, step: number, clock: TestClock): unknown {
  switch (op.kind) {
    case "store":
      return result(() => {
        const stored = [];
        for (let i = 0; i < op.count; i++) {
          const m = message(op, step, i);
          stored.push(model.storeMsg(m.subject, m.hdr, m.msg, op.ttl));
        }
        return stored;
      }, false);
    case "sync":
    case "flush":
    case "reopen":
    case "convert":
    case "restore":
    case "syncLater":
    case "settle":
      return { ok: undefined };
    default:
      return applyCommon(model, op, step, clock, false);
  }
}

function message(op: Extract<Op, { kind: "store" }>, step: number, i: number) {
  return {
    subject: SUBJECTS[(op.subject + i) % SUBJECTS.length],
    hdr: op.hdr ? payload(op.subject + 5, step) : null,
    msg: payload((op.size + i * 37) % 1800, step * 41 + i),
  };
}

/**
 * A value or an error code. On the FileStore (`rethrow`) an error after the
 * power went is thrown on, so the run stops there.
 */
function result(fn: () => unknown, rethrow: boolean): unknown {
  let out: unknown;
  let thrown: unknown = null;
  const code = codeOf(() => {
    try {
      out = fn();
    } catch (err) {
      thrown = err;
      throw err;
    }
  });
  if (code === "no error") return { ok: out };
  if (rethrow && code === "ErrIO") throw thrown;
  return { error: code };
}

function applyCommon(
  store: StreamStore,
  op: Exclude<
    Op,
    { kind: "store" | "sync" | "flush" | "reopen" | "convert" | "restore" | "syncLater" | "settle" }
  >,
  _step: number,
  _clock: TestClock,
  rethrow: boolean,
): unknown {
  const target = (thousandths: number) => targetOf(store, thousandths);
  switch (op.kind) {
    case "remove":
      return result(() => store.removeMsg(target(op.at)), rethrow);
    case "erase":
      return result(() => store.eraseMsg(target(op.at)), rethrow);
    case "purge":
      return result(() => store.purge(), rethrow);
    case "purgeEx": {
      const seq = op.mode === "seq" ? target(op.at) : 0;
      const keep = op.mode === "keep" ? op.keep + 1 : 0;
      return result(() => store.purgeEx(FILTERS[op.filter], seq, keep), rethrow);
    }
    case "compact":
      return result(() => store.compact(target(op.at)), rethrow);
    case "truncate":
      return result(() => store.truncate(liveAtOrBelow(store, target(op.at))), rethrow);
    case "skip":
      return result(() => store.skipMsg(), rethrow);
    case "skipMsgs":
      return result(() => store.skipMsgs(store.fastState().lastSeq + 1, op.num), rethrow);
    case "jump":
      return { ok: undefined };
    case "limits":
      return result(() => store.updateConfig(op.limits), rethrow);
  }
}
