/**
 * Corruption stays local: random damage to the files of a closed store (bit
 * flips, zeroed ranges, cuts, a missing checkpoint, a stale LOCK left behind)
 * and a reopen. Whatever the damage, open either succeeds or fails with a
 * typed error that the damage explains (a flipped format version); it never
 * hangs, and a store that opens
 * - returns only byte-identical messages, never a removed one brought back
 *   unless a tombstone was hit;
 * - returns every live message whose record the damage did not touch, the
 *   ones after a damaged record in the same block included (nats-server cuts
 *   the rest of the block there, nats-io/nats-server#7549);
 * - accounts for every live message it cannot return: reported in
 *   `state().lost` with its block and offset, or refused loudly (ErrCorrupt)
 *   when a checkpoint vouched for the block and open did not read it;
 * - keeps all that through a write, a close and another open.
 *
 * The store is built once; each run copies its files into a fresh memory
 * filesystem, damages them, and checks the outcome against an independent
 * parse of the pristine blocks (by FORMAT.md, not by the code under test).
 */
import fc from "fast-check";
import { joinPath, LOCK_FILE } from "../../runtimes/fs.ts";
import { type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { isJetStoreError } from "../../src/errors.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { TestApi } from "../harness.ts";
import { enc, type PlainMsg, plain, testClock } from "./store-helpers.ts";

const DIR = "/store";
const CHECKPOINT = "index.ckpt";
const BLOCK_HEADER = 16;
const VERSION_FIELD: [number, number] = [4, 6];
const FLAG_TOMBSTONE = 0x04;
const FLAG_SKIP = 0x10;
/** The end of a touched range that runs to the end of its file (a cut or a removed file). */
const CUT = Number.MAX_SAFE_INTEGER;

/** Where one record of the pristine store lies. */
interface RecordSpan {
  file: string;
  offset: number;
  length: number;
  seq: number;
  tombstone: boolean;
}

/** The store every run starts from: its files, what it holds, where each record lies. */
interface Pristine {
  files: Map<string, Uint8Array>;
  blocks: string[];
  written: Map<number, PlainMsg>;
  live: Set<number>;
  records: RecordSpan[];
  lastSeq: number;
}

type Damage =
  | { kind: "flip"; file: number; at: number; bit: number }
  | { kind: "flipRecordHead"; record: number; at: number; bit: number }
  | { kind: "zero"; file: number; at: number; length: number }
  | { kind: "cut"; file: number; at: number }
  | { kind: "removeCheckpoint" };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    file: fc.nat(),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  // Length, flags and sequence fields: the bytes a scan must not trust once damaged.
  fc.record({
    kind: fc.constant("flipRecordHead" as const),
    record: fc.nat(),
    at: fc.integer({ min: 0, max: 27 }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("zero" as const),
    file: fc.nat(),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 200 }),
  }),
  fc.record({ kind: fc.constant("cut" as const), file: fc.nat(), at: fc.nat() }),
  fc.constant({ kind: "removeCheckpoint" as const }),
);

/** Byte ranges the damage touched, per file ("whole" for a removed file). */
type Touched = Map<string, Array<[number, number]>>;

export function corruptionSuite({ describe, it, expect }: TestApi): void {
  describe("corruption stays local (memory adapter)", () => {
    let pristine: Promise<Pristine> | undefined;
    /** Applies `damages` to a copy of the pristine files and checks the reopen. */
    const tryDamage = async (damages: Damage[], trim: boolean) => {
      const base = await (pristine ??= buildPristine());
      const names = [...base.files.keys()];
      const fs = memoryFileSystem();
      const files = new Map([...base.files].map(([k, v]) => [k, v.slice()]));
      const touched: Touched = new Map();
      for (const d of damages) applyDamage(d, files, names, base, touched);
      fs.mkdir(joinPath(DIR, "msgs"));
      for (const [name, bytes] of files) fs.writeFile(joinPath(DIR, name), bytes);
      await checkReopen(expect, fs, base, touched, trim);
    };

    it("reopens randomly damaged store files without wrong bytes, losing only damaged records", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(damageArb, { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          tryDamage,
        ),
        { numRuns: 150 },
      );
      // 150 reopens take ~2.5 s under Bun alone, past its 5 s default on a loaded machine.
    }, 60_000);

    // Damage the property found, each a bug until fixed; kept so a random run cannot miss them.
    for (const [what, damages] of FOUND) {
      it(`reopens a store with ${what}, and trims it with limits`, async () => {
        const base = await (pristine ??= buildPristine());
        await tryDamage(damages([...base.files.keys()], base), false);
        await tryDamage(damages([...base.files.keys()], base), true);
      });
    }
    it("trims past a message whose damage is found after open, under a subject limit", async () => {
      const base = await (pristine ??= buildPristine());
      // Message 1's payload, in a block the checkpoint vouches for.
      const first = base.records[0];
      const at = first.offset + 40;
      await tryDamage([{ kind: "flip", file: 0, at, bit: 0 }], true);
    });
  });
}

/**
 * One bit of a record's length flipped so that the length lands on the start
 * of a later record of the same block, which verifies: only the records
 * between them may be mistaken for part of the damaged one.
 */
function lengthFlipOntoLaterRecord(names: string[], p: Pristine): Damage {
  for (const r of p.records) {
    for (let bit = 0; bit < 32; bit++) {
      const flipped = (r.length ^ (1 << bit)) >>> 0;
      if (flipped <= r.length) continue;
      const later = p.records.find((q) => q.file === r.file && q.offset === r.offset + flipped);
      if (later === undefined) continue;
      const at = r.offset + (bit >>> 3);
      return { kind: "flip", file: fileIndex(names, r.file), at, bit: bit & 7 };
    }
  }
  throw new Error("no record's length lands on a later record with one bit flipped");
}

/** A file's index among the pristine files, as Damage names them. */
const fileIndex = (names: string[], name: string) => names.indexOf(name);

const FOUND: [string, (names: string[], p: Pristine) => Damage[]][] = [
  [
    "a flipped length bit that makes a record end exactly where a later one starts",
    (n, p) => [lengthFlipOntoLaterRecord(n, p)],
  ],
  [
    "a trusted block's header and first length field zeroed",
    (n) => [{ kind: "zero", file: fileIndex(n, "msgs/1.blk"), at: 0, length: 17 }],
  ],
  [
    "the first block cut to nothing and the next one's first length damaged",
    (n) => [
      { kind: "cut", file: fileIndex(n, "msgs/1.blk"), at: 0 },
      { kind: "flip", file: fileIndex(n, "msgs/2.blk"), at: 16, bit: 0 },
    ],
  ],
  [
    "a damaged length in a block whose removals are recorded in later, trusted blocks",
    (n) => [{ kind: "flip", file: fileIndex(n, "msgs/4.blk"), at: 16, bit: 0 }],
  ],
  [
    "the active block's first length and a block magic damaged",
    (n) => [
      { kind: "flip", file: fileIndex(n, "msgs/6.blk"), at: 16, bit: 0 },
      { kind: "zero", file: fileIndex(n, "msgs/1.blk"), at: 0, length: 1 },
    ],
  ],
  [
    "the last record of a trusted sealed block damaged before its checksum",
    (n, p) => [
      {
        kind: "zero",
        file: fileIndex(n, "msgs/1.blk"),
        at: p.files.get("msgs/1.blk")!.length - 20,
        length: 4,
      },
    ],
  ],
  [
    "the last record of the active block damaged before its checksum",
    (n, p) => [
      {
        kind: "flip",
        file: fileIndex(n, "msgs/6.blk"),
        at: p.files.get("msgs/6.blk")!.length - 20,
        bit: 3,
      },
    ],
  ],
  [
    "a flipped bit in the checkpoint's version",
    (n) => [{ kind: "flip", file: fileIndex(n, CHECKPOINT), at: 4, bit: 1 }],
  ],
  [
    "a flipped bit in the version of a block the checkpoint vouches for",
    (n) => [{ kind: "flip", file: fileIndex(n, "msgs/3.blk"), at: 4, bit: 1 }],
  ],
  [
    "the version of a trusted block flipped, and a record in it damaged",
    (n, p) => [
      { kind: "flip", file: fileIndex(n, "msgs/3.blk"), at: 4, bit: 1 },
      {
        kind: "flip",
        file: fileIndex(n, "msgs/3.blk"),
        at: p.records.find((r) => r.file === "msgs/3.blk")!.offset + 40,
        bit: 2,
      },
    ],
  ],
  [
    "the active block cut to nothing and no checkpoint",
    (n) => [{ kind: "cut", file: fileIndex(n, "msgs/6.blk"), at: 0 }, { kind: "removeCheckpoint" }],
  ],
];

async function buildPristine(): Promise<Pristine> {
  const fs = memoryFileSystem();
  const clock = testClock();
  const store = await FileStore.open({
    dir: DIR,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    now: clock.now,
  });
  const written = new Map<number, PlainMsg>();
  const live = new Set<number>();
  for (let i = 1; i <= 240; i++) {
    clock.t = BigInt(i) * 1000n;
    const subject = `orders.${i % 5}.${i % 3}`;
    const hdr = i % 4 === 0 ? enc(`h:${i}`) : null;
    const msg = new Uint8Array(20 + ((i * 7) % 60)).map((_, k) => (i * 31 + k * 7) & 0xff);
    const { seq, ts } = store.storeMsg(subject, hdr, msg);
    written.set(seq, plain({ subject, hdr, msg, seq, ts }));
    live.add(seq);
    // Removals spread over the blocks, so tombstones (and an erased record) are there to damage.
    if (i % 37 === 0) {
      store.removeMsg(i - 20);
      live.delete(i - 20);
    }
    if (i === 150) {
      store.eraseMsg(100);
      live.delete(100);
    }
  }
  await store.close();
  const files = new Map<string, Uint8Array>();
  const blocks = fs
    .list(joinPath(DIR, "msgs"))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    .map((name) => `msgs/${name}`);
  for (const name of [...blocks, CHECKPOINT]) files.set(name, fs.readFile(joinPath(DIR, name))!);
  // A LOCK left behind by a store that was not closed (its owner is gone).
  files.set(LOCK_FILE, enc('{"runtime":"memory"}\n'));
  const records: RecordSpan[] = [];
  for (const file of blocks) records.push(...parseRecords(file, files.get(file)!));
  return { files, blocks, written, live, records, lastSeq: 240 };
}

/** The records of a block file, by FORMAT.md: a 16-byte header, then length-prefixed records. */
function parseRecords(file: string, bytes: Uint8Array): RecordSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RecordSpan[] = [];
  for (let offset = BLOCK_HEADER; offset < bytes.length; ) {
    const length = view.getUint32(offset, true);
    const flags = bytes[offset + 6];
    const seq = Number(view.getBigUint64(offset + 8, true));
    out.push({ file, offset, length, seq, tombstone: (flags & FLAG_TOMBSTONE) !== 0 });
    if (flags & FLAG_SKIP) throw new Error("the pristine store has no skips");
    offset += length;
  }
  return out;
}

function applyDamage(
  d: Damage,
  files: Map<string, Uint8Array>,
  names: string[],
  pristine: Pristine,
  touched: Touched,
): void {
  const mark = (file: string, from: number, to: number) => {
    const list = touched.get(file) ?? [];
    list.push([from, to]);
    touched.set(file, list);
  };
  if (d.kind === "removeCheckpoint") {
    if (files.delete(CHECKPOINT)) mark(CHECKPOINT, 0, CUT);
    return;
  }
  if (d.kind === "flipRecordHead") {
    const r = pristine.records[d.record % pristine.records.length];
    const bytes = files.get(r.file)!;
    const at = r.offset + d.at;
    if (at >= bytes.length) return;
    bytes[at] ^= 1 << d.bit;
    mark(r.file, at, at + 1);
    return;
  }
  const name = names[d.file % names.length];
  const bytes = files.get(name);
  if (bytes === undefined || bytes.length === 0) return;
  const at = d.at % bytes.length;
  if (d.kind === "flip") {
    bytes[at] ^= 1 << d.bit;
    mark(name, at, at + 1);
  } else if (d.kind === "zero") {
    const end = Math.min(bytes.length, at + d.length);
    bytes.fill(0, at, end);
    mark(name, at, end);
  } else {
    files.set(name, bytes.slice(0, at));
    mark(name, at, CUT);
  }
}

/**
 * True when the damage took the record of message `seq` and every record after
 * it in its block: a block's end, which a power cut leaves the same way.
 */
function inLostTail(pristine: Pristine, touched: Touched, seq: number): boolean {
  const i = pristine.records.findIndex((x) => x.seq === seq && !x.tombstone);
  const file = pristine.records[i].file;
  return pristine.records
    .slice(i)
    .filter((r) => r.file === file)
    .every((r) => overlaps(touched, r.file, r.offset, r.offset + r.length));
}

function overlaps(touched: Touched, file: string, from: number, to: number): boolean {
  return (touched.get(file) ?? []).some(([a, b]) => a < to && from < b);
}

/** Records the damage reached; a message's own record, or a tombstone that may bring one back. */
function touchedRecords(pristine: Pristine, touched: Touched): RecordSpan[] {
  return pristine.records.filter((r) => overlaps(touched, r.file, r.offset, r.offset + r.length));
}

async function checkReopen(
  expect: TestApi["expect"],
  fs: MemoryFileSystem,
  pristine: Pristine,
  touched: Touched,
  trim: boolean,
): Promise<void> {
  const hit = touchedRecords(pristine, touched);
  const hitMsgs = new Set(hit.filter((r) => !r.tombstone).map((r) => r.seq));
  const hitTombstone = hit.some((r) => r.tombstone);
  // A newer version in a block header is refused unless the checkpoint vouches for the block
  // (its length and last checksum unchanged): then it is a damaged header (FORMAT.md). Which
  // blocks a damaged store's checkpoint still vouches for is recovery's call (a cut elsewhere,
  // a block past the checkpoint), so a refusal is accepted wherever a version field was hit.
  const versionHit = pristine.blocks.some((b) => overlaps(touched, b, ...VERSION_FIELD));
  const damage = JSON.stringify([...touched]);

  let store: FileStore;
  try {
    store = await FileStore.open({ dir: DIR, fs, blockSize: 4096, syncIntervalMs: 0 });
  } catch (err) {
    const what = isJetStoreError(err) ? err.code : `untyped ${String(err)}`;
    // A block header claiming a newer format is refused as such (FORMAT.md); nothing else may fail open.
    expect({ damage, what }).toStrictEqual({
      damage,
      what: versionHit ? "ErrUnsupportedFormat" : "opened",
    });
    return;
  }
  // A scan first, so damage is also met by a scan before any read; it skips what is lost.
  const scanned = scanAll(expect, store, pristine, damage);
  const { readable, corrupt } = readAll(expect, store, pristine, hitMsgs, hitTombstone, damage);
  expect({ damage, scanned: [...scanned] }).toStrictEqual({ damage, scanned: [...readable] });
  const state = store.state();
  // Counted: what reads return, plus damage found after open (counted until the next open).
  expect({ damage, msgs: state.msgs }).toStrictEqual({
    damage,
    msgs: readable.size + corrupt.size,
  });
  const lost = new Set(state.lost?.msgs ?? []);
  for (const stretch of state.lost?.damaged ?? []) {
    const file = `msgs/${stretch.block}.blk`;
    // Every stretch reported holds, ends at or starts at bytes the damage touched.
    const real =
      stretch.bytes === 0 ||
      (touched.get(file) ?? []).some(
        ([a, b]) => a <= stretch.offset + stretch.bytes && stretch.offset <= b,
      );
    expect({ damage, stretch, real }).toStrictEqual({ damage, stretch, real: true });
    for (const seq of stretch.msgs) expect(lost.has(seq)).toBe(true);
  }
  const told = (state.lost?.damaged ?? []).flatMap((d) => d.msgs).sort((a, b) => a - b);
  expect({ damage, told }).toStrictEqual({ damage, told: [...lost] });
  // Without the checkpoint nothing says that messages before the first verified record, or at a
  // block's damaged end (indistinguishable from writes a power cut lost), ever existed.
  const unknowable = (seq: number) =>
    touched.has(CHECKPOINT) && (seq < Math.min(...readable) || inLostTail(pristine, touched, seq));
  for (const seq of pristine.live) {
    if (readable.has(seq) || unknowable(seq)) continue;
    // Open skipped its damaged record, or the first read of a block open trusted found it: reported.
    const accounted = lost.has(seq);
    expect({ damage, seq, hit: hitMsgs.has(seq), accounted }).toStrictEqual({
      damage,
      seq,
      hit: true,
      accounted: true,
    });
  }
  // Still a working store: a write gets a fresh sequence, and a reopen keeps every readable message.
  const next = store.storeMsg("after.damage", null, enc("n")).seq;
  expect(next).toBeGreaterThan(Math.max(0, ...readable));
  // The checkpoint promises the last sequence: none is issued twice while it stands.
  if (!touched.has(CHECKPOINT)) expect({ damage, next }).toStrictEqual({ damage, next: 241 });
  const kept = trim ? trimPastDamage(expect, store, pristine, readable, damage) : readable;
  await store.close();
  const again = await FileStore.open({ dir: DIR, fs, blockSize: 4096, syncIntervalMs: 0 });
  const { readable: reread, corrupt: stillCorrupt } = readAll(
    expect,
    again,
    pristine,
    hitMsgs,
    hitTombstone,
    damage,
    next,
    trim ? kept : pristine.live,
  );
  // The reopen rescanned every block where damage was found: none is counted any more.
  expect({ damage, stillCorrupt: [...stillCorrupt], msgs: again.state().msgs }).toStrictEqual({
    damage,
    stillCorrupt: [],
    msgs: reread.size + 1,
  });
  expect({ damage, missing: [...kept].filter((s) => !reread.has(s)) }).toStrictEqual({
    damage,
    missing: [],
  });
  expect(again.loadMsg(next).subject).toBe("after.damage");
  await again.close();
}

/**
 * Limits that remove messages through the damaged ones too: the trims must
 * neither stop at a record that failed verification nor loop on a subject
 * total it left behind. Returns the readable messages that survive.
 */
function trimPastDamage(
  expect: TestApi["expect"],
  store: FileStore,
  pristine: Pristine,
  readable: Set<number>,
  damage: string,
): Set<number> {
  store.updateConfig({ maxMsgs: 120, maxMsgsPerSubject: 10 });
  const kept = new Set<number>();
  // Per subject: messages read back, and messages still counted though found damaged after open.
  const counts = new Map<string, { kept: number; damaged: number }>();
  const count = (subject: string) => {
    const c = counts.get(subject) ?? { kept: 0, damaged: 0 };
    counts.set(subject, c);
    return c;
  };
  for (let seq = 1; seq <= pristine.lastSeq; seq++) {
    try {
      const subject = store.loadMsg(seq).subject;
      if (readable.has(seq)) kept.add(seq);
      count(subject).kept++;
    } catch (err) {
      if (isJetStoreError(err, "ErrCorrupt")) count(pristine.written.get(seq)!.subject).damaged++;
    }
  }
  const totals = store.subjectsTotals("");
  const wrong = Object.entries(totals).filter(([subject, n]) => {
    if (subject === "after.damage") return n !== 1;
    const c = counts.get(subject) ?? { kept: 0, damaged: 0 };
    return n > 10 || n < c.kept || n > c.kept + c.damaged;
  });
  expect({ damage, wrong, atMost120: store.state().msgs <= 120 }).toStrictEqual({
    damage,
    wrong: [],
    atMost120: true,
  });
  return kept;
}

/** Every message `loadNextMsg` walks to, each byte-identical to what was stored. */
function scanAll(
  expect: TestApi["expect"],
  store: FileStore,
  pristine: Pristine,
  damage: string,
): Set<number> {
  const seen = new Set<number>();
  for (let start = 1; start <= pristine.lastSeq; ) {
    let got: PlainMsg;
    try {
      got = plain(store.loadNextMsg("", false, start));
    } catch (err) {
      const code = isJetStoreError(err) ? err.code : `untyped ${String(err)}`;
      if (code !== "ErrStoreEOF") expect({ damage, start, code }).toBe("a scan to the end");
      break;
    }
    if (got.seq > pristine.lastSeq) break;
    const want = pristine.written.get(got.seq)!;
    if (!samePlain(got, want)) expect({ damage, got }).toStrictEqual({ damage, got: want });
    seen.add(got.seq);
    start = got.seq + 1;
  }
  return seen;
}

/**
 * Loads every sequence the pristine store issued; returns those that came
 * back. Each must be byte-identical to what was stored and live (or revived
 * by a damaged tombstone); each failure must be a typed "not here" or "damaged".
 */
function readAll(
  expect: TestApi["expect"],
  store: FileStore,
  pristine: Pristine,
  hitMsgs: Set<number>,
  hitTombstone: boolean,
  damage: string,
  /** A sequence written after the damage, reissued when open could not know it was used. */
  rewritten = 0,
  /** What must still be there, unless damaged (less than the stored messages once limits trimmed). */
  live: Set<number> = pristine.live,
): { readable: Set<number>; corrupt: Set<number> } {
  const readable = new Set<number>();
  const corrupt = new Set<number>();
  for (let seq = 1; seq <= pristine.lastSeq; seq++) {
    if (seq === rewritten) continue;
    let got: PlainMsg | null = null;
    let code = "no error";
    try {
      got = plain(store.loadMsg(seq));
    } catch (err) {
      code = isJetStoreError(err) ? err.code : `untyped ${String(err)}`;
    }
    if (got === null) {
      if (code === "ErrCorrupt") corrupt.add(seq);
      if (!["ErrStoreMsgNotFound", "ErrCorrupt", "ErrStoreEOF"].includes(code)) {
        expect({ damage, seq, code }).toBe("a typed not-found or corrupt error");
      }
      if (live.has(seq) && !hitMsgs.has(seq)) {
        expect({ damage, seq, code }).toStrictEqual({ damage, seq, code: "readable" });
      }
      continue;
    }
    // A matcher per message is most of the run time: compare plainly, and let a matcher show a difference.
    const want = pristine.written.get(seq)!;
    if (!samePlain(got, want)) expect({ damage, got }).toStrictEqual({ damage, got: want });
    if (!pristine.live.has(seq) && !hitTombstone) {
      expect({ damage, seq }).toBe("a removed message stays removed");
    }
    readable.add(seq);
  }
  return { readable, corrupt };
}

function samePlain(a: PlainMsg, b: PlainMsg): boolean {
  const same = (x: number[] | null, y: number[] | null) =>
    x === y || (x !== null && y !== null && x.length === y.length && x.every((v, i) => v === y[i]));
  return (
    a.subject === b.subject &&
    a.seq === b.seq &&
    a.ts === b.ts &&
    same(a.hdr, b.hdr) &&
    same(a.msg, b.msg)
  );
}
