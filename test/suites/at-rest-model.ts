/**
 * The random model of sealed stores with power cuts: random sequences of
 * stores (headers, TTLs), removals, erases, purges (whole, by subject, with
 * keep or a sequence), compacts, truncates, skips, clock jumps, syncs and
 * flushes, syncs left running while later operations write, remove, truncate
 * or close (with turns of the event loop between them), and updateConfig to
 * new limits, run on a FileStore (memory adapter, 4 KiB blocks) in a random
 * at-rest format (plain, snappy, either cipher, either cipher with snappy),
 * sometimes with syncAlways, with random limits (maxMsgs, maxBytes,
 * maxMsgsPerSubject, maxAgeMs, TTLs), and on a MemStore beside it as the
 * model. After every step both returned the same and report the same
 * fastState. Mixed in as operations:
 *
 * - a clean reopen, and a reopen with the checkpoint deleted (every block
 *   scanned): the store holds exactly the model's messages and state;
 * - a snapshot restored into a new store of the same format: it holds
 *   exactly the model's messages and state.
 *
 * Most runs also cut the power after a random change (write, fsync, rename,
 * unlink …) within a random step, lose all, none or a random part of what
 * was not synced, and reopen: the store must keep every message a completed
 * sync(), flush(), close() or truncate acknowledged and the model still
 * holds, bring back no acknowledged removal, agree with a full scan
 * (durability-ledger.ts), take the next write, and open again, with its
 * checkpoint and without it, to the same messages and state.
 *
 * Runs and seed as every model's (model-env.ts): 200 runs from a seed of its
 * own unless the environment says otherwise.
 */
import fc from "fast-check";
import { type LoseMode, type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { FileStoreOptions } from "../../src/filestore/options.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StoreOptions, StreamState } from "../../src/types.ts";
import type { Expect, TestApi } from "../harness.ts";
import { type Format, formatName } from "./at-rest-crash.ts";
import {
  applyModel,
  applyStore,
  liveAtOrBelow,
  type Op,
  opArb,
  payload,
  targetOf,
} from "./at-rest-model-ops.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { modelRuns } from "./model-env.ts";
import { codeOfAsync, type StoreSnapshot, snapshot, testClock } from "./store-helpers.ts";

const DIR = "/s";
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 11 + 3);

const RUNS = modelRuns(200, 20261203);

export const FORMATS: Format[] = [
  { compression: "none", cipher: "none" },
  { compression: "snappy", cipher: "none" },
  { compression: "none", cipher: "chacha20-poly1305" },
  { compression: "snappy", cipher: "chacha20-poly1305" },
  { compression: "none", cipher: "aes-256-gcm" },
  { compression: "snappy", cipher: "aes-256-gcm" },
];

/** No limits half the time; otherwise small ones, so that they bite within a run. */
const limitsArb: fc.Arbitrary<StoreOptions> = fc.oneof(
  fc.constant({}),
  fc.record(
    {
      maxMsgs: fc.integer({ min: 1, max: 60 }),
      maxBytes: fc.integer({ min: 3_000, max: 60_000 }),
      maxMsgsPerSubject: fc.integer({ min: 1, max: 12 }),
      maxAgeMs: fc.integer({ min: 1_000, max: 8_000 }),
      allowMsgTtl: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
);

/**
 * The power cut: within step `step` (modulo the second half of the run),
 * right after `after` more changes, or torn inside the `after`th write.
 */
const cutArb = fc.option(
  fc.record({
    step: fc.nat(200),
    aim: fc.constantFrom("changes" as const, "changes" as const, "writes" as const),
    after: fc.integer({ min: 1, max: 60 }),
    seed: fc.nat(1_000),
  }),
  { freq: 4, nil: null },
);

type Cut = { step: number; aim: "changes" | "writes"; after: number; seed: number };

/** Each cut is looked at as a power failure, a killed process and a random mix. */
const LOSSES: LoseMode[] = ["unsynced", "none", "random"];

/** The open options of `format`, for a new store. */
export function atRest(format: Format): Partial<FileStoreOptions> {
  return {
    ...(format.compression === "none" ? {} : { compression: format.compression }),
    ...(format.cipher === "none" ? {} : { cipher: format.cipher, key: KEY }),
  };
}

export function atRestModelSuite({ describe, it, expect }: TestApi): void {
  describe("at-rest model: sealed stores against MemStore, with reopen, restore and power cuts (memory adapter)", () => {
    it(`keeps the model's messages through every path, and every acknowledged one through a power cut (${RUNS.numRuns} runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...FORMATS),
          fc.constantFrom(false, false, true),
          limitsArb,
          fc.array(opArb, { minLength: 1, maxLength: 50, size: "max" }),
          cutArb,
          (format, syncAlways, limits, ops, cut) =>
            runModel(expect, { format, syncAlways, limits, ops, cut }),
        ),
        RUNS,
      );
    }, 600_000);
  });
}

interface Run {
  format: Format;
  syncAlways: boolean;
  limits: StoreOptions;
  ops: Op[];
  cut: Cut | null;
}

/** One run: the operations on both engines, then the checks after the cut, if it came. */
async function runModel(expect: Expect, run: Run): Promise<void> {
  const { syncAlways, cut } = run;
  // The limits now: updateConfig replaces them.
  let limits = run.limits;
  let format = run.format;
  // TTLs where they are allowed: a refused store is the contract suites' business.
  const ttlsAllowed = limits.allowMsgTtl === true;
  const ops = run.ops.map((op) =>
    op.kind === "store" && !ttlsAllowed
      ? { ...op, ttl: 0 }
      : op.kind === "limits" && limits.allowMsgTtl !== undefined
        ? { ...op, limits: { ...op.limits, allowMsgTtl: limits.allowMsgTtl } }
        : op,
  );
  const clock = testClock(1_000_000n);
  const disk = memoryFileSystem({ seed: cut?.seed ?? 0 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  const options = (fs: MemoryFileSystem): FileStoreOptions => ({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    syncAlways,
    now: clock.now,
    ...limits,
    // Both named, so that "none" converts back; the key while the settings hold a wrapped one.
    compression: format.compression,
    cipher: format.cipher,
    ...(format.cipher !== "none" || wrapsKey(fs) ? { key: KEY } : {}),
  });
  const model = MemStore.create({ now: clock.now, ...limits });
  const ledger = new Ledger({ syncAlways });
  const trail: string[] = [
    `${formatName(format)}${syncAlways ? " syncAlways" : ""} ${JSON.stringify(limits)}`,
  ];
  let store: FileStore | null = await FileStore.open(options(disk));
  // Late in the run, when there is most to keep.
  const cutStep =
    cut === null ? -1 : (ops.length >> 1) + (cut.step % (ops.length - (ops.length >> 1)));
  let restores = 0;
  // Syncs left running: each settles to null or its error.
  const running: Promise<unknown>[] = [];
  const later = (request: Promise<void>) => {
    running.push(
      request.then(
        () => null,
        (err: unknown) => err,
      ),
    );
  };
  // Waits for them; one that failed without a power cut is a failure of the run.
  const settleRunning = async () => {
    const errors = await Promise.all(running.splice(0));
    const failed = errors.find((err) => err !== null);
    if (failed !== undefined && !disk.crashed) throw failed;
  };
  // Expiries that timers would have made: both stores brought to the clock's instant.
  const align = () => {
    model.updateConfig(limits);
    try {
      store?.updateConfig(limits);
    } catch (err) {
      // Its removals write: the power may go there too.
      if (!disk.crashed) throw err;
    }
  };
  try {
    for (let step = 0; step < ops.length; step++) {
      const op = ops[step];
      trail.push(JSON.stringify(op));
      if (step === cutStep && cut !== null) {
        disk.setFaults(
          cut.aim === "changes"
            ? { crashAfterChanges: disk.changes + cut.after }
            : { crashAfterWrites: disk.counters.writes + cut.after },
        );
      }
      clock.t += 1_000n;
      if (op.kind === "jump") {
        const next = clock.t + BigInt(op.ms) * 1_000_000n;
        clock.t = next < 1_000_000n ? 1_000_000n : next;
      }
      // A truncate that cuts something writes a checkpoint: everything before it is durable.
      const cuts =
        op.kind === "truncate" &&
        liveAtOrBelow(model, targetOf(model, op.at)) < model.fastState().lastSeq;
      const s: FileStore = store;
      let actual: unknown;
      // Whether a limits step got as far as its updateConfig (see below).
      let limitsCalled = false;
      try {
        if (op.kind === "limits") {
          // New limits apply at the next open too, to whatever a power cut kept: a removal
          // not yet durable (a purge's tombstone in a block not yet synced) brings its
          // message back, and a tighter limit then removes an older, acknowledged one,
          // rightly. What is durable when they change is what the ledger can hold them to.
          await ledger.acknowledge(s.sync());
          limitsCalled = true;
        }
        actual = await applyStore(
          s,
          op,
          step,
          clock,
          ledger,
          async () => {
            // Syncs still running when the close comes complete: the close makes all durable.
            await s.close();
            store = null;
            await settleRunning();
            ledger.ackAll();
            if (op.kind === "convert") format = FORMATS[op.to];
            if (op.kind === "reopen" && op.checkpoint === "delete") {
              disk.remove(`${DIR}/index.ckpt`);
              disk.syncDirectory(DIR);
            }
            store = await FileStore.open(options(disk));
            return store;
          },
          later,
        );
      } catch (err) {
        if (!disk.crashed) throw err;
        // The power went inside this step: the model takes the step whole, the check allows both.
        // But the power went before the new limits were given: they never were.
        if (op.kind === "limits" && !limitsCalled) break;
        if (op.kind === "truncate")
          ledger.truncating = liveAtOrBelow(model, targetOf(model, op.at));
        applyModel(model, op, step, clock);
        if (op.kind === "limits") limits = op.limits;
        break;
      }
      if (disk.crashed) {
        // The power went at the step's end, or in a background write: it may be done or not.
        if (op.kind === "truncate")
          ledger.truncating = liveAtOrBelow(model, targetOf(model, op.at));
        applyModel(model, op, step, clock);
        if (op.kind === "limits") limits = op.limits;
        break;
      }
      if (
        op.kind === "sync" ||
        op.kind === "flush" ||
        op.kind === "reopen" ||
        op.kind === "convert" ||
        op.kind === "restore" ||
        op.kind === "settle"
      )
        align();
      if (disk.crashed) break;
      const expected = applyModel(model, op, step, clock);
      expect({ trail, result: actual }).toEqual({ trail, result: expected });
      expect({ trail, state: store!.fastState() }).toEqual({ trail, state: model.fastState() });
      noteLive(ledger, model);
      if (op.kind === "limits" && "ok" in (actual as object)) limits = op.limits;
      if (cuts && "ok" in (actual as object)) ledger.ackAll();
      else if (syncAlways) ledger.ackAll();
      if (op.kind === "reopen" || op.kind === "convert") {
        expect({ trail, contents: comparable(snapshot(store!)) }).toEqual({
          trail,
          contents: comparable(snapshot(model)),
        });
      }
      if (op.kind === "restore") {
        const restored = await restoreCopy(store!, disk, `/r${++restores}`, options);
        if (restored === null) break;
        expect({ trail, restored }).toEqual({ trail, restored: comparable(snapshot(model)) });
      }
    }
    if (!disk.crashed) align();
    if (!disk.crashed) {
      expect({ trail, contents: comparable(snapshot(store!)) }).toEqual({
        trail,
        contents: comparable(snapshot(model)),
      });
      const closing = store!.close();
      store = null;
      if ((await codeOfAsync(() => closing)) === "no error") ledger.ackAll();
      await settleRunning();
    }
    if (!disk.crashed) return;
    await (store as FileStore | null)?.close().catch(() => {});
    store = null;
    // A sync that was running settles now, not while the survivor is checked against the ledger.
    await settleRunning();
    // Whatever expired by the clock goes on reopen: the model says which.
    model.updateConfig(limits);
    noteLive(ledger, model);
    for (const lose of LOSSES) {
      const after = disk.crash({ lose, seed: cut?.seed ?? 0 });
      const where = `${trail.join("\n")}\ncut: ${JSON.stringify(cut)}, lose ${lose}`;
      await checkSurvivor(expect, after, options, ledger, where);
    }
  } finally {
    await (store as FileStore | null)?.close().catch(() => {});
    await model.delete();
  }
}

/** After the cut: the ledger's checks, one more write, then a reopen with and without the checkpoint. */
async function checkSurvivor(
  expect: Expect,
  fs: MemoryFileSystem,
  options: (fs: MemoryFileSystem) => FileStoreOptions,
  ledger: Ledger,
  where: string,
): Promise<void> {
  const store = await FileStore.open(options(fs));
  try {
    expectKeepsAcknowledged(expect, store, ledger, where);
    const before = store.fastState();
    const next = store.storeMsg("after.cut", null, payload(20, 1));
    expect({ where, seq: next.seq }).toEqual({ where, seq: before.lastSeq + 1 });
  } finally {
    await store.close();
  }
  const again = await FileStore.open(options(fs));
  const clean = comparable(snapshot(again));
  await again.close();
  expect({ where, lost: clean.state.lost }).toEqual({ where, lost: undefined });
  fs.remove(`${DIR}/index.ckpt`);
  const rebuilt = await FileStore.open(options(fs));
  try {
    expect({ where, rebuilt: comparable(snapshot(rebuilt)) }).toEqual({ where, rebuilt: clean });
  } finally {
    await rebuilt.close();
  }
}

/** A snapshot of `store` restored at `dir` in the same format: its contents, or null if the power went. */
async function restoreCopy(
  store: FileStore,
  disk: MemoryFileSystem,
  dir: string,
  options: (fs: MemoryFileSystem) => FileStoreOptions,
): Promise<Comparable | null> {
  const chunks: Uint8Array[] = [];
  let restored: FileStore | null = null;
  try {
    for await (const chunk of store.snapshot()) chunks.push(chunk);
    // The archive of a store that is not (or no longer) encrypted holds plaintext: no key.
    const { dir: _d, key, ...rest } = options(disk);
    restored = await FileStore.restore(
      dir,
      chunks,
      rest.cipher === "none" ? rest : { ...rest, key },
    );
    return comparable(snapshot(restored));
  } catch (err) {
    if (disk.crashed) return null;
    throw err;
  } finally {
    await restored?.close().catch(() => {});
  }
}

type Comparable = { state: StreamState; msgs: unknown[] };

/** True when the store's settings file holds a wrapped data key (FORMAT.md, "Settings file"). */
function wrapsKey(fs: MemoryFileSystem): boolean {
  return fs.readFile(`${DIR}/atrest`)?.[10] === 1;
}

/** Contents without the consumer count. */
function comparable(snap: StoreSnapshot): Comparable {
  const { consumers: _c, ...state } = snap.state;
  return { state: state as StreamState, msgs: snap.msgs };
}

/** The ledger's live messages are the model's. */
function noteLive(ledger: Ledger, model: MemStore): void {
  ledger.live.clear();
  for (const m of snapshot(model).msgs) ledger.live.set(m.seq, m);
  ledger.lastSeq = model.fastState().lastSeq;
}
