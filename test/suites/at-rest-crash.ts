/**
 * Crash points of every rewrite path of sealed stores (issue 13), in the
 * style of crash-points.ts: each workload runs once to count its changes (or
 * writes), then once per index with the memory adapter's power cut aimed
 * there, and each survivor is reopened (with the options the workload asked
 * for) as a power failure and as a killed process. The reopened store must
 * keep every acknowledged message and removal (durability-ledger.ts), and
 * whatever background rewrite was cut must go on to the end: every block
 * file's header then names the target format (FORMAT.md, sealed blocks:
 * version 2, format bits, PACKED once compressed), and no `.tmp` is left.
 *
 * - packing after a roll (compression on): the packer's slices, fsync and rename;
 * - conversion at open between pairs of formats, plain and sealed both ways;
 * - erase, truncate and compact in packed sealed blocks (the rewrite beside and rename);
 * - rekey: only the settings file changes; one of the two keys opens the store at every cut.
 *
 * A SIGKILL suite does the same with a real child process converting a store on disk.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import type { LoseMode, MemoryFileSystem } from "../../runtimes/memory.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { contains, listFiles } from "./at-rest-helpers.ts";
import { expectKeepsAcknowledged, Ledger } from "./durability-ledger.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { codeOfAsync, readFileBytes, type TestClock, testClock } from "./store-helpers.ts";

const DIR = "/s";
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const KEY2 = Uint8Array.from({ length: 32 }, (_, i) => 255 - i * 3);

export interface Format {
  compression: "none" | "snappy";
  cipher: "none" | "chacha20-poly1305" | "aes-256-gcm";
}

const F = {
  plain: { compression: "none", cipher: "none" },
  snappy: { compression: "snappy", cipher: "none" },
  chacha: { compression: "none", cipher: "chacha20-poly1305" },
  chachaSnappy: { compression: "snappy", cipher: "chacha20-poly1305" },
  aes: { compression: "none", cipher: "aes-256-gcm" },
  aesSnappy: { compression: "snappy", cipher: "aes-256-gcm" },
} satisfies Record<string, Format>;

export function formatName(f: Format): string {
  const parts = [
    f.cipher === "none" ? "" : f.cipher.split("-")[0],
    f.compression === "snappy" ? "snappy" : "",
  ];
  return parts.filter((p) => p !== "").join("+") || "plain";
}

/** Pairs whose conversion is crashed at every change: each direction of each kind of change. */
const CRASHED_PAIRS: [Format, Format][] = [
  [F.plain, F.chachaSnappy],
  [F.chacha, F.aes],
  [F.aesSnappy, F.plain],
  [F.snappy, F.chacha],
  [F.chachaSnappy, F.snappy],
  [F.aes, F.aesSnappy],
];

/** `JETSTORE_AT_REST_FULL=1` tries every cut of every workload; by default some take every few. */
const FULL =
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .JETSTORE_AT_REST_FULL === "1";
const thin = (stride: number) => (FULL ? 1 : stride);

/** Every format, for the uncrashed conversions of every pair. */
const ALL_FORMATS: Format[] = Object.values(F);

export function atRestCrashSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;
  describe("at-rest crash points (memory adapter)", () => {
    for (const format of [F.chachaSnappy, F.snappy]) {
      it(`packing after roll (${formatName(format)}): every change and every write cut, the packing goes on`, async () => {
        const stride = thin(2);
        await crashEverywhere(expect, "changes", packingRun(format), format, stride);
        await crashEverywhere(expect, "writes", packingRun(format), format, stride);
      }, 60_000);
    }
    for (const [i, [from, to]] of CRASHED_PAIRS.entries()) {
      it(
        `conversion at open ${formatName(from)} → ${formatName(to)}: cut at every change, reopened, converted to the end`,
        () => crashEverywhere(expect, "changes", conversionRun(from, to), to, thin(i < 3 ? 1 : 3)),
        60_000,
      );
    }
    it("conversion at open between every pair of formats ends with every block in the target format", async () => {
      for (const from of ALL_FORMATS) {
        for (const to of ALL_FORMATS) {
          if (from === to) continue;
          const clock = testClock();
          const ledger = new Ledger();
          const disk = await prebuilt(from, clock, ledger);
          const store = await openStore(disk, clock, to);
          await settle(store);
          const where = `${formatName(from)} → ${formatName(to)}`;
          expectKeepsAcknowledged(expect, store, ledger, where);
          await store.close();
          expectFormat(expect, disk, to, where);
          const again = await openStore(disk, clock, to);
          expectKeepsAcknowledged(expect, again, ledger, `${where}, reopened`);
          await again.close();
        }
      }
    }, 60_000);
    for (const format of [F.chachaSnappy, F.aes]) {
      it(`erase, truncate and compact in sealed blocks (${formatName(format)}): cut at every change`, async () => {
        const stride = thin(format === F.aes ? 3 : 1);
        await crashEverywhere(expect, "changes", rewritesRun(format), format, stride);
      }, 60_000);
    }
    it(
      "erase, truncate and compact in sealed blocks (chacha+snappy): every write torn",
      () => crashEverywhere(expect, "writes", rewritesRun(F.chachaSnappy), F.chachaSnappy),
      60_000,
    );
    it("a sealed block whose 40-byte header was torn at creation holds nothing: cut at open, not damage reported at every open", async () => {
      for (const tornTo of [6, 20, 38]) {
        const clock = testClock();
        const ledger = new Ledger();
        const disk = await prebuilt(F.chachaSnappy, clock, ledger);
        const names = disk.list(joinPath(DIR, "msgs")).filter((n) => n.endsWith(".blk"));
        const next = Math.max(...names.map((n) => Number.parseInt(n, 10))) + 1;
        const header = readFileBytes(disk, joinPath(DIR, "msgs", "1.blk")) as Uint8Array;
        disk.writeFile(joinPath(DIR, "msgs", `${next}.blk`), header.slice(0, tornTo));
        const where = `header torn to ${tornTo} bytes`;
        const store = await openStore(disk, clock, F.chachaSnappy);
        expectKeepsAcknowledged(expect, store, ledger, where);
        expect({ where, msgs: store.state().lost?.msgs ?? [] }).toStrictEqual({ where, msgs: [] });
        ledger.store(store, clock);
        await store.close();
        ledger.ackAll();
        const again = await openStore(disk, clock, F.chachaSnappy);
        expectKeepsAcknowledged(expect, again, ledger, `${where}, reopened`);
        expect({ where, lost: again.state().lost }).toStrictEqual({ where, lost: undefined });
        await again.close();
      }
    });
    it("a sealed last block whose first chunk (holding the block header) is torn starts over, not kept as a damaged header reported at every open", async () => {
      const clock = testClock();
      const ledger = new Ledger();
      const disk = await prebuilt(F.chachaSnappy, clock, ledger);
      const store = await openStore(disk, clock, F.chachaSnappy);
      // Two big messages: the second rolls to a new block, whose first write-out is one chunk.
      ledger.store(store, clock, 3000);
      ledger.store(store, clock, 3000);
      await store.sync();
      const after = disk.crash({ lose: "none" });
      const names = after.list(joinPath(DIR, "msgs")).filter((n) => n.endsWith(".blk"));
      const last = joinPath(
        DIR,
        "msgs",
        `${Math.max(...names.map((n) => Number.parseInt(n, 10)))}.blk`,
      );
      const bytes = readFileBytes(after, last) as Uint8Array;
      after.writeFile(last, bytes.slice(0, bytes.length - 10));
      const first = await openStore(after, clock, F.chachaSnappy);
      expectKeepsAcknowledged(expect, first, ledger, "torn first chunk");
      ledger.store(first, clock);
      await first.close();
      ledger.ackAll();
      const again = await openStore(after, clock, F.chachaSnappy);
      expectKeepsAcknowledged(expect, again, ledger, "torn first chunk, reopened");
      expect(again.state().lost).toBeUndefined();
      await again.close();
    });
    for (const closedBefore of [true, false]) {
      it(`a plain store converted to a cipher keeps no subject in plaintext once converted: its checkpoint, and one whose write was cut before its rename (${closedBefore ? "a checkpoint on disk" : "none on disk"})`, async () => {
        const subject = new TextEncoder().encode("orders.");
        let found = false;
        for (let k = 1; k <= 20 && !found; k++) {
          const clock = testClock();
          const ledger = new Ledger();
          const disk = closedBefore ? await prebuilt(F.plain, clock, ledger) : freshDisk();
          const store = await openStore(disk, clock, F.plain);
          for (let i = 0; i < (closedBefore ? 10 : 75); i++) ledger.store(store, clock);
          await ledger.acknowledge(store.sync());
          // The close's checkpoint: cut at each change until one leaves its temporary file written.
          disk.setFaults({ crashAfterChanges: disk.changes + k });
          await store.close().catch(() => {});
          const after = disk.crash({ lose: "none" });
          const temp = readFileBytes(after, joinPath(DIR, "index.ckpt.tmp"));
          if (temp === null || !contains(temp, subject)) continue;
          found = true;
          const converted = await openStore(after, clock, F.chachaSnappy);
          await settle(converted);
          await converted.sync();
          expectKeepsAcknowledged(expect, converted, ledger, `cut at change ${k}`);
          // Converted, still open (or killed now): no file holds a subject in plaintext.
          expect({ k, files: filesHolding(after, subject) }).toStrictEqual({ k, files: [] });
          const killed = after.crash({ lose: "unsynced" });
          expect({ k, killed: filesHolding(killed, subject) }).toStrictEqual({ k, killed: [] });
        }
        expect(found).toBe(true);
      });
    }
    for (const aim of ["changes", "writes"] as const) {
      it(
        `rekey cut at every ${aim === "changes" ? "change" : "write"}: one of the two keys opens the store, never neither`,
        () => rekeyEverywhere(expect, aim),
        30_000,
      );
    }
  });
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  describe(`at-rest conversion under SIGKILL (${ctx.runtime} child)`, () => {
    it(
      "a child converting a store (plain → chacha+snappy) is killed midway again and again; each reopen is consistent and the conversion ends",
      () => killConversion(api, ctx, adapter),
      60_000,
    );
  });
}

/** A workload under test: run on `disk`, it reports the error that stopped it, if any. */
interface Run {
  /** A disk ready for the workload (made fresh for each run), its ledger and clock. */
  prepare(): Promise<{ disk: MemoryFileSystem; ledger: Ledger; clock: TestClock }>;
  work(disk: MemoryFileSystem, clock: TestClock, ledger: Ledger): Promise<void>;
}

async function crashEverywhere(
  expect: TestApi["expect"],
  aim: "writes" | "changes",
  run: Run,
  target: Format,
  stride = 1,
): Promise<void> {
  const counted = (disk: MemoryFileSystem) =>
    aim === "writes" ? disk.counters.writes : disk.changes;
  const clean = await run.prepare();
  // What preparing the disk did is not the workload's.
  const before = counted(clean.disk);
  await run.work(clean.disk, clean.clock, clean.ledger);
  const points = counted(clean.disk) - before;
  expect(points).toBeGreaterThan(10);
  await reopenAndFinish(expect, clean.disk, clean.clock, clean.ledger, target, "clean run");
  let crashed = 0;
  let reached = 0;
  let tried = 0;
  for (let at = 1; at <= points; at++) {
    // A stride above 1 (to keep the suite's time down) still ends at the last cut.
    if ((points - at) % stride !== 0) {
      crashed++;
      continue;
    }
    tried++;
    const { disk, ledger, clock } = await run.prepare();
    disk.setFaults(
      aim === "writes" ? { crashAfterWrites: before + at } : { crashAfterChanges: before + at },
    );
    let error: unknown = null;
    try {
      await run.work(disk, clock, ledger);
    } catch (err) {
      error = err;
    }
    // The packer runs on timers, so a run may take fewer changes than the counted one
    // (a rewrite finished or abandoned at another moment) and miss the last cuts: the
    // run is checked all the same, and most cuts must be reached (below).
    if (disk.crashed) reached++;
    if (error !== null || !disk.crashed) crashed++;
    // A power failure and a killed process at every cut; a random mix at every other one.
    const cases: [LoseMode, number][] = [
      ["unsynced", 0],
      ["none", 0],
    ];
    if (at % 2 === 1 || aim === "writes") cases.push(["random", at]);
    for (const [lose, seed] of cases) {
      const after = disk.crash({ lose, seed });
      const where = `cut at ${aim === "writes" ? "write" : "change"} ${at} of ${points}, lose ${lose}`;
      await reopenAndFinish(expect, after, clock, ledger, target, where);
    }
  }
  // Every cut surfaced as an error of the workload (a cut inside the packer fails the close).
  expect(crashed).toBe(points);
  expect(reached).toBeGreaterThanOrEqual(Math.floor(tried * 0.8));
}

/** Reopens a survivor with the target options, checks it, lets the rewrites finish, checks again. */
async function reopenAndFinish(
  expect: TestApi["expect"],
  fs: MemoryFileSystem,
  clock: TestClock,
  ledger: Ledger,
  target: Format,
  where: string,
): Promise<void> {
  const store = await openStore(fs, clock, target);
  expectKeepsAcknowledged(expect, store, ledger, where);
  await settle(store);
  expect({ where, error: packerOf(store).lastError }).toStrictEqual({ where, error: null });
  await store.close();
  expectFormat(expect, fs, target, where);
  const again = await openStore(fs, clock, target);
  expectKeepsAcknowledged(expect, again, ledger, `${where}, reopened after the rewrites`);
  expect({ where, lost: again.state().lost }).toStrictEqual({ where, lost: undefined });
  await again.close();
}

function freshDisk(): MemoryFileSystem {
  const disk = memoryFileSystem({ seed: 11 });
  disk.mkdir(DIR);
  disk.syncDirectory("/");
  return disk;
}

function openStore(
  fs: FileSystem,
  clock: TestClock,
  format: Format,
  key: Uint8Array | null = KEY,
): Promise<FileStore> {
  // A key where a cipher is asked for or the store already wraps one (open wipes the copy it gets).
  const keyed = key !== null && (format.cipher !== "none" || hasWrappedKey(fs));
  return FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    now: clock.now,
    compression: format.compression,
    cipher: format.cipher,
    ...(keyed ? { key: (key as Uint8Array).slice() } : {}),
  });
}

/** The files under the store holding `needle`. */
function filesHolding(fs: FileSystem, needle: Uint8Array): string[] {
  return listFiles(fs, DIR).filter((f) =>
    contains(readFileBytes(fs, joinPath(DIR, f)) ?? new Uint8Array(0), needle),
  );
}

/** True when the store's settings file holds a wrapped data key (byte 10 of the file, FORMAT.md). */
function hasWrappedKey(fs: FileSystem): boolean {
  const bytes = readFileBytes(fs, joinPath(DIR, "atrest"));
  return bytes !== null && bytes.length > 10 && bytes[10] === 1;
}

interface Packable {
  packer: { busy: boolean; lastError: unknown };
}

function packerOf(store: FileStore): Packable["packer"] {
  return (store as unknown as Packable).packer;
}

/** Waits until the store's background rewrites are done (the packer runs on timers). */
export async function settle(store: FileStore, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (packerOf(store).busy) {
    if (Date.now() > until) throw new Error("the packer did not finish");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A store of ~4 blocks in `format`, closed, every message acknowledged. */
async function prebuilt(
  format: Format,
  clock: TestClock,
  ledger: Ledger,
): Promise<MemoryFileSystem> {
  const disk = freshDisk();
  const store = await openStore(disk, clock, format);
  for (let i = 0; i < 75; i++) ledger.store(store, clock);
  ledger.remove(store, 7);
  ledger.remove(store, 40, true);
  await settle(store);
  await store.close();
  ledger.ackAll();
  // The copy the workload runs on: counters and changes start at zero.
  return disk.crash({ lose: "none" });
}

function packingRun(format: Format): Run {
  return {
    prepare: async () => ({ disk: freshDisk(), ledger: new Ledger(), clock: testClock() }),
    async work(disk, clock, ledger) {
      const store = await openStore(disk, clock, format);
      try {
        for (let batch = 0; batch < 6; batch++) {
          for (let i = 0; i < 14; i++) ledger.store(store, clock);
          await ledger.acknowledge(store.sync());
          // Some batches let the packer run between them, some do not.
          if (batch % 2 === 1) await settle(store);
        }
        ledger.remove(store, 3);
        await ledger.acknowledge(store.sync());
        await settle(store);
      } finally {
        await store.close();
      }
      ledger.ackAll();
    },
  };
}

function conversionRun(from: Format, to: Format): Run {
  return {
    async prepare() {
      const clock = testClock();
      const ledger = new Ledger();
      const disk = await prebuilt(from, clock, ledger);
      return { disk, ledger, clock };
    },
    async work(disk, clock, ledger) {
      const store = await openStore(disk, clock, to);
      try {
        // Writes while the conversion runs.
        for (let i = 0; i < 5; i++) ledger.store(store, clock);
        await ledger.acknowledge(store.sync());
        await settle(store);
        ledger.remove(store, 12);
        await ledger.acknowledge(store.sync());
      } finally {
        await store.close();
      }
      ledger.ackAll();
    },
  };
}

function rewritesRun(format: Format): Run {
  return {
    async prepare() {
      const clock = testClock();
      const ledger = new Ledger();
      const disk = await prebuilt(format, clock, ledger);
      return { disk, ledger, clock };
    },
    async work(disk, clock, ledger) {
      const store = await openStore(disk, clock, format);
      try {
        // An erase in a sealed (packed) block: the block is rewritten beside and renamed.
        ledger.remove(store, 20, true);
        await ledger.acknowledge(store.sync());
        // Erase in the block the packer may be rewriting right now.
        for (let i = 0; i < 30; i++) ledger.store(store, clock);
        ledger.remove(store, ledger.liveAtOrAfter(72), true);
        await ledger.acknowledge(store.sync());
        await settle(store);
        // A truncate inside a packed block: cut mid-chunk, the kept part rewritten.
        ledger.remove(store, 50);
        await ledger.acknowledge(store.sync());
        ledger.truncate(store, 55);
        for (let i = 0; i < 4; i++) ledger.store(store, clock);
        await ledger.acknowledge(store.sync());
        // A compact past the first blocks.
        ledger.compact(store, 33);
        await ledger.acknowledge(store.sync());
        await settle(store);
      } finally {
        await store.close();
      }
      ledger.ackAll();
    },
  };
}

async function rekeyEverywhere(
  expect: TestApi["expect"],
  aim: "writes" | "changes",
): Promise<void> {
  const format = F.aesSnappy;
  const prepare = async () => {
    const clock = testClock();
    const ledger = new Ledger();
    return { disk: await prebuilt(format, clock, ledger), clock, ledger };
  };
  const rekey = (fs: FileSystem, from = KEY, to = KEY2) =>
    FileStore.rekey({ dir: DIR, fs, key: from.slice(), newKey: to.slice() });
  const clean = await prepare();
  await rekey(clean.disk);
  const points = aim === "writes" ? clean.disk.counters.writes : clean.disk.changes;
  expect(points).toBeGreaterThan(aim === "writes" ? 0 : 3);
  const seen = { old: 0, new: 0 };
  for (let at = 1; at <= points; at++) {
    const { disk, clock, ledger } = await prepare();
    disk.setFaults(aim === "writes" ? { crashAfterWrites: at } : { crashAfterChanges: at });
    const code = await codeOfAsync(() => rekey(disk));
    expect({ at, crashed: disk.crashed, code }).toStrictEqual({ at, crashed: true, code: "ErrIO" });
    for (const lose of ["unsynced", "none", "random"] as LoseMode[]) {
      const after = disk.crash({ lose, seed: at });
      const where = `rekey cut at ${aim} ${at} of ${points}, lose ${lose}`;
      const opens: string[] = [];
      for (const [name, key] of [
        ["old", KEY],
        ["new", KEY2],
      ] as const) {
        const code = await codeOfAsync(async () => {
          const store = await openStore(after, clock, format, key);
          expectKeepsAcknowledged(expect, store, ledger, `${where}, ${name} key`);
          await store.close();
        });
        if (code === "no error") opens.push(name);
        else expect({ where, name, code }).toStrictEqual({ where, name, code: "ErrBadKey" });
      }
      // Exactly one of the keys: the settings file is the old one or the new one, whole.
      expect({ where, opens: opens.length }).toStrictEqual({ where, opens: 1 });
      seen[opens[0] as "old" | "new"]++;
      // The rekey can be done (again) with the key that opens it.
      const [from, to] = opens[0] === "old" ? [KEY, KEY2] : [KEY2, KEY];
      await rekey(after, from, to);
      const store = await openStore(after, clock, format, to);
      expectKeepsAcknowledged(expect, store, ledger, `${where}, rekeyed again`);
      await store.close();
    }
  }
  if (aim === "changes") expect(seen.old > 0 && seen.new > 0).toBe(true);
}

/**
 * Every block file of the store at `dir` is in `format` (FORMAT.md): plain
 * is version 1 with flags 0; sealed is version 2 with the format bits
 * (compression | cipher << 2), and PACKED (0x10) on every block but the
 * last when compressed. No rewrite is left beside a block.
 */
export function expectFormat(
  expect: TestApi["expect"],
  fs: FileSystem,
  format: Format,
  where: string,
  dir = DIR,
): void {
  const names = fs.list(joinPath(dir, "msgs"));
  expect({ where, tmp: names.filter((n) => n.endsWith(".tmp")) }).toStrictEqual({ where, tmp: [] });
  const numbers = names
    .map((n) => /^(\d+)\.blk$/.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const bits =
    ({ none: 0, snappy: 1 } as const)[format.compression] |
    (({ none: 0, "chacha20-poly1305": 1, "aes-256-gcm": 2 } as const)[format.cipher] << 2);
  const plain = bits === 0;
  const got: string[] = [];
  const want: string[] = [];
  for (const n of numbers) {
    const bytes = readFileBytes(fs, joinPath(dir, "msgs", `${n}.blk`)) as Uint8Array;
    const last = n === numbers.at(-1);
    // The active block may be empty (started over in the store's format at its first write-out).
    if (bytes.length === 0 && last) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = bytes.length >= 8 ? view.getUint32(0, true) : 0;
    got.push(
      `${n}: ${magic.toString(16)} v${bytes.length >= 8 ? view.getUint16(4, true) : -1} flags ${bytes.length >= 8 ? view.getUint16(6, true) : -1}`,
    );
    const packed = format.compression === "snappy" && !last ? 0x10 : 0;
    want.push(`${n}: 4b42534a v${plain ? 1 : 2} flags ${plain ? 0 : bits | packed}`);
  }
  expect({ where, blocks: got }).toStrictEqual({ where, blocks: want });
}

/* ---------------------------------------------------------------------------------------------- */
/* SIGKILL of a real child converting a store                                                      */

const KILL_ROUNDS = 6;

/** The payload of `seq` in the killed store; its source goes to the child too. */
const killPayload = (seq: number): Uint8Array =>
  new TextEncoder().encode(`{"seq":${seq},"note":"${"converted ".repeat(1 + (seq % 9))}"}`);

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function killChildScript(entry: string, dir: string): string {
  return `
const { FileStore } = await import(${JSON.stringify(entry)});
const killPayload = ${killPayload.toString()};
const key = new Uint8Array(${JSON.stringify(hex(KEY))}.match(/../g).map((h) => parseInt(h, 16)));
const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0, blockSize: 4096,
  cipher: "chacha20-poly1305", compression: "snappy", key });
const first = store.fastState().lastSeq + 1;
for (let seq = first; seq < first + 20; seq++) store.storeMsg("conv." + (seq % 5), null, killPayload(seq));
await store.sync();
console.log("ready " + (first + 19));
while (store.packer.busy) await new Promise((r) => setTimeout(r, 1));
console.log("done");
await store.close();
console.log("closed");
`;
}

async function killConversion(
  api: TestApi,
  ctx: RuntimeContext,
  adapter: AdapterFixture,
): Promise<void> {
  const { expect } = api;
  const entry = childEntry(ctx);
  if (!existsSync(new URL(entry))) {
    throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
  }
  const { dir, cleanup } = adapter.tempDir();
  const open = (extra: object = {}) =>
    FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, blockSize: 4096, ...extra });
  const target = { cipher: "chacha20-poly1305", compression: "snappy" } as const;
  try {
    // A plain store of ~120 blocks.
    const store = await open();
    let top = 0;
    for (let seq = 1; seq <= 2500; seq++)
      top = store.storeMsg(`conv.${seq % 5}`, null, killPayload(seq)).seq;
    await store.close();
    let killedMidway = 0;
    for (let round = 1; round <= KILL_ROUNDS + 1; round++) {
      const finish = round > KILL_ROUNDS;
      const out = await runChild(ctx, killChildScript(entry, dir), finish ? null : 5 + round * 7);
      const ready = /^ready (\d+)$/m.exec(out.text);
      if (ready !== null) top = Math.max(top, Number(ready[1]));
      if (!finish && !/^done$/m.test(out.text)) killedMidway++;
      if (finish) expect(out.text).toMatch(/^closed$/m);
      const where = `round ${round}`;
      // Reopened in this process: every acknowledged message is there, as written; nothing lost.
      const check = await open({ ...target, key: KEY.slice() });
      try {
        const state = check.state();
        expect({ where, lost: state.lost, atLeast: state.lastSeq >= top }).toStrictEqual({
          where,
          lost: undefined,
          atLeast: true,
        });
        const bad: number[] = [];
        for (let seq = 1; seq <= top; seq++) {
          const m = check.loadMsg(seq);
          const want = killPayload(seq);
          if (
            m.subject !== `conv.${seq % 5}` ||
            m.msg.length !== want.length ||
            m.msg.some((b, i) => b !== want[i])
          )
            bad.push(seq);
        }
        expect({ where, bad }).toStrictEqual({ where, bad: [] });
        expect({ where, msgs: state.msgs }).toStrictEqual({ where, msgs: state.lastSeq });
      } finally {
        await check.close();
      }
    }
    expect(killedMidway).toBeGreaterThan(KILL_ROUNDS / 2);
    expectFormat(expect, adapter.fs, target, "after the last child", dir);
  } finally {
    cleanup();
  }
}

/** Runs a child to its end (`killAfterMs` null), or SIGKILLs it that long after it said ready. */
async function runChild(
  ctx: RuntimeContext,
  script: string,
  killAfterMs: number | null,
): Promise<{ text: string }> {
  const { cmd, args } = childCommand(ctx);
  const child: ChildProcess = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  child.stderr!.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const deadline = Date.now() + 30_000;
    while (!/^ready \d+$/m.test(out)) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`the child did not get ready: ${out}\n${err}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (killAfterMs !== null) {
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      child.kill("SIGKILL");
    }
    await exited;
    if (killAfterMs === null && child.exitCode !== 0) throw new Error(`the child failed: ${err}`);
    return { text: out.slice(0, out.lastIndexOf("\n") + 1) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
