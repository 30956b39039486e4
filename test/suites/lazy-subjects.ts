/**
 * Subject totals a checkpoint recorded are kept as its bytes until a query,
 * write or removal names a subject (src/filestore/checkpoint-subjects.ts).
 * Whatever touches them first, and in whatever order, the answers must be
 * the ones MemStore gives for the same messages, and the ones a full rescan
 * gives; a damaged subject section is found at open and rescanned.
 */

import xxhash from "xxhash-wasm";
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/filestore/checkpoint.ts";
import { CheckpointSubjects } from "../../src/filestore/checkpoint-subjects.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StreamStore } from "../../src/types.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import {
  codeOf,
  enc,
  errorOf,
  inTempDir,
  readFileBytes,
  type TestClock,
  testClock,
  writeFileBytes,
} from "./store-helpers.ts";

const CHECKPOINT = "index.ckpt";
/** Some subjects outside ASCII, so the byte comparisons see multi-byte UTF-8. */
const subjectOf = (i: number) => `s.${i % 37}.${i % 5 === 0 ? "é" : "x"}`;
const COUNT = 400;

/** The same messages and removals on any store. */
function script(store: StreamStore, clock: TestClock): void {
  for (let i = 1; i <= COUNT; i++) {
    clock.t = BigInt(i) * 1000n;
    store.storeMsg(subjectOf(i), null, enc(`m${i}`));
  }
  // Removals that take subjects' first and last messages (stale bounds in the checkpoint).
  for (let seq = 3; seq <= COUNT; seq += 7) store.removeMsg(seq);
  store.removeMsg(COUNT);
}

type Step = (store: StreamStore) => unknown;

/** Queries, each of which may be the first to touch the totals. */
const QUERIES: Step[] = [
  (s) => s.subjectsState("s.3.x"),
  (s) => s.fastState().numSubjects,
  (s) => s.filteredState(1, "s.10.é"),
  (s) => s.numPending(1, "s.4.x", false),
  (s) => s.loadLastMsg("s.36.x").seq,
  (s) => s.subjectsState("nope"),
  (s) => s.numPending(50, "s.*.é", true),
  (s) => s.subjectsTotals("s.*.x"),
  (s) => s.subjectsState(">"),
  (s) => s.state().numSubjects,
];

const WRITES: Step[] = [
  (s) => s.storeMsg("s.3.x", null, enc("w1")).seq,
  (s) => s.storeMsg("new.é", null, enc("w2")).seq,
  (s) => s.storeMsg("s.10.é", null, enc("w3")).seq,
];

/** Removals naming subjects no query has asked for; 37 + 1 empties a subject of two messages. */
const REMOVALS: Step[] = [
  (s) => s.removeMsg(1),
  (s) => s.removeMsg(38),
  (s) => s.removeMsg(75),
  (s) => s.subjectsState("s.1.x"),
  (s) => s.removeMsg(112),
  (s) => s.removeMsg(149),
  (s) => s.removeMsg(186),
  (s) => s.removeMsg(223),
  (s) => s.removeMsg(260),
  (s) => s.removeMsg(297),
  (s) => s.removeMsg(334),
  (s) => s.removeMsg(371),
  (s) => s.subjectsState("s.1.x"),
  (s) => s.fastState().numSubjects,
  (s) => s.storeMsg("s.1.x", null, enc("back")).seq,
  (s) => s.subjectsState("s.1.x"),
];

function run(store: StreamStore, steps: Step[]): unknown[] {
  return steps.map((step) => {
    try {
      return step(store);
    } catch (err) {
      return { code: (err as { code?: string }).code ?? String(err) };
    }
  });
}

export function lazySubjectsSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("checkpoint subjects kept compact", () => {
    it("finds, takes and writes back entries byte for byte, UTF-8 included", () => {
      const subjects = ["a", "b.é", "c.日本", "d", "e.x.y"].map((subject, i) => ({
        subject,
        msgs: i + 1,
        first: 10 * i + 1,
        last: 2 ** 40 + i,
      }));
      const encoded = encodeCheckpoint({
        lastSeq: 9,
        lastTs: 9n,
        blocks: [],
        subjects,
        ttls: [],
        never: [],
      });
      const body = encoded.subarray(0, encoded.length - 8);
      // Header (24 bytes), no blocks, then the subject count.
      const at = 24 + 4 + 4;
      const { subjects: read, end } = CheckpointSubjects.read(body, at, subjects.length, "x");
      expect(end).toBe(body.length);
      for (const [i, s] of subjects.entries()) {
        expect(read.find(s.subject)).toBe(i);
        expect([read.subject(i), read.msgs(i), read.first(i), read.last(i)]).toStrictEqual([
          s.subject,
          s.msgs,
          s.first,
          s.last,
        ]);
      }
      expect([read.find("c.日"), read.find("b.e"), read.find("")]).toStrictEqual([-1, -1, -1]);
      read.take(1);
      read.take(3);
      read.take(3);
      expect([read.live, read.find("b.é"), read.find("a")]).toStrictEqual([3, -1, 0]);
      const again = encodeCheckpoint({
        lastSeq: 9,
        lastTs: 9n,
        blocks: [],
        subjects: { count: read.live, size: read.liveBytes, write: (w) => read.writeLive(w) },
        ttls: [],
        never: [],
      });
      const kept = CheckpointSubjects.read(again.subarray(0, again.length - 8), at, 3, "x");
      expect([0, 1, 2].map((i) => kept.subjects.subject(i))).toStrictEqual([
        "a",
        "c.日本",
        "e.x.y",
      ]);
      expect(kept.subjects.last(2)).toBe(2 ** 40 + 4);
    });

    it("refuses a section that lists a subject twice, claims more than it holds, or ends early", () => {
      const at = 32;
      expect(
        codeOf(() => CheckpointSubjects.read(subjectSection(["a", "b", "a"]), at, 3, "x")),
      ).toBe("ErrCorrupt");
      expect(codeOf(() => CheckpointSubjects.read(subjectSection(["a"]), at, 2 ** 30, "x"))).toBe(
        "ErrCorrupt",
      );
      expect(
        codeOf(() =>
          CheckpointSubjects.read(subjectSection(["a", "b"]).subarray(0, 60), at, 2, "x"),
        ),
      ).toBe("ErrCorrupt");
    });

    it("tells apart subjects whose hashes are the same, of one length and of two", () => {
      // Pairs with the same 32-bit FNV-1a hash (found by search): only their bytes differ.
      const names = ["s.0562789", "s.0779192", "s.46578", "s.1206890", "s.M2Cc", "s.aCad", "a"];
      const { subjects } = CheckpointSubjects.read(subjectSection(names), 32, names.length, "x");
      expect(names.map((name) => subjects.find(name))).toStrictEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(subjects.find("s.0779193")).toBe(-1);
    });

    it("names where a damaged entry fails and why, the first damage in entry order", () => {
      // Entries from 32: "a" is its length at 32, its byte at 36, msgs, first, last at 37..60;
      // "b" starts at 61, its byte at 65, its integers at 66..89; "日" (3 bytes) the same way.
      const at = 32;
      const failure = (bytes: Uint8Array, count = 2) =>
        errorOf(() => CheckpointSubjects.read(bytes, at, count, "x")).message;
      const badUtf8 = subjectSection(["a", "b"]);
      badUtf8[65] = 0xff;
      expect(failure(badUtf8)).toBe("Checkpoint x holds invalid UTF-8 at offset 65");
      const tooLarge = subjectSection(["a", "b"]);
      tooLarge[66 + 23] = 0x20;
      expect(failure(tooLarge)).toBe("Checkpoint x holds an out-of-range integer at offset 66");
      // The UTF-8 of an earlier entry, and of the same one, fails before a later check.
      const both = subjectSection(["a", "b"]);
      both[36] = 0x80;
      both[66 + 7] = 0x40;
      expect(failure(both)).toBe("Checkpoint x holds invalid UTF-8 at offset 36");
      const same = subjectSection(["a", "b"]);
      same[65] = 0xc0;
      same[66 + 15] = 0x20;
      expect(failure(same)).toBe("Checkpoint x holds invalid UTF-8 at offset 65");
      const long = subjectSection(["a", "b"]);
      long.set([0xff, 0xff, 0xff, 0xff], 61);
      expect(failure(long)).toBe("Checkpoint x ends early at offset 61");
      expect(failure(subjectSection(["a", "b"]).subarray(0, 89))).toBe(
        "Checkpoint x ends early at offset 61",
      );
      // Past the walk's first chunk of 65,536 entries: read whole, and damage found where it is.
      const many = Array.from({ length: 70_000 }, (_, i) => (i === 69_000 ? "é" : `s.${i}`));
      const big = CheckpointSubjects.read(subjectSection(many), at, many.length, "x").subjects;
      expect([big.find("s.0"), big.find("s.65536"), big.find("é"), big.find("s.69999")]).toEqual([
        0, 65_536, 69_000, 69_999,
      ]);
      expect([big.subject(65_535), big.last(65_536)]).toStrictEqual(["s.65535", 1]);
      const late = subjectSection(many);
      const entry = (i: number) =>
        at + 28 * i + many.slice(0, i).reduce((n, m) => n + enc(m).length, 0);
      late[entry(69_000) + 4] = 0xc3;
      late[entry(69_000) + 5] = 0x28;
      expect(failure(late, many.length)).toBe(
        `Checkpoint x holds invalid UTF-8 at offset ${entry(69_000) + 4}`,
      );
      late[entry(66_000) + 4 + 7 + 23] = 0x20;
      expect(failure(late, many.length)).toBe(
        `Checkpoint x holds an out-of-range integer at offset ${entry(66_000) + 4 + 7}`,
      );
      // Valid UTF-8 beyond ASCII passes, and is found again by its bytes.
      const wide = CheckpointSubjects.read(subjectSection(["日", "a", "é.b"]), at, 3, "x").subjects;
      expect([wide.find("é.b"), wide.find("日"), wide.subject(0)]).toStrictEqual([2, 0, "日"]);
    });
  });

  for (const adapter of ctx.adapters) {
    const open = (dir: string, clock: TestClock, fs: FileSystem = adapter.fs) =>
      FileStore.open({ dir, fs, blockSize: 4096, syncIntervalMs: 0, now: clock.now });

    /** A FileStore and a MemStore holding `script`'s messages; the FileStore closed. */
    async function prepared(dir: string): Promise<{ clock: TestClock; mem: MemStore }> {
      const clock = testClock();
      const store = await open(dir, clock);
      script(store, clock);
      await store.close();
      const mem = MemStore.create({ now: clock.now });
      script(mem, testClock());
      return { clock, mem };
    }

    describe(`subject totals read lazily from the checkpoint (${adapter.name})`, () => {
      const orders: [string, Step[]][] = [
        ["queries right after open", QUERIES],
        ["writes before the first query", [...WRITES, ...QUERIES]],
        ["removals of subjects never asked for", [...REMOVALS, ...QUERIES]],
        ["a wildcard query first, then the rest", [QUERIES[8], ...WRITES, ...REMOVALS, ...QUERIES]],
      ];
      for (const [name, steps] of orders) {
        it(`answers as MemStore does: ${name}`, () =>
          inTempDir(adapter, async (dir) => {
            const { clock, mem } = await prepared(dir);
            const store = await open(dir, clock);
            expect(run(store, steps)).toStrictEqual(run(mem, steps));
            await store.close();
          }));
      }

      it("reopens after writes and removals to a lazily loaded store as a rescan does", () =>
        inTempDir(adapter, async (dir) => {
          const { clock, mem } = await prepared(dir);
          let store = await open(dir, clock);
          // Only some subjects are taken out of the checkpoint's bytes before it is written again.
          const touched = [...WRITES, ...REMOVALS.slice(0, 3)];
          expect(run(store, touched)).toStrictEqual(run(mem, touched));
          await store.close();
          // Written from both halves: the entries taken out and those still kept as bytes.
          expect(recordedTotals(adapter.fs, dir)).toStrictEqual(mem.subjectsTotals(">"));
          store = await open(dir, clock);
          expect(run(store, QUERIES)).toStrictEqual(run(mem, QUERIES));
          // Writes on the reopened store, then once more, before any query.
          expect(run(store, REMOVALS.slice(3))).toStrictEqual(run(mem, REMOVALS.slice(3)));
          await store.close();
          expect(recordedTotals(adapter.fs, dir)).toStrictEqual(mem.subjectsTotals(">"));
          store = await open(dir, clock);
          const want = run(mem, QUERIES);
          expect(run(store, QUERIES)).toStrictEqual(want);
          await store.close();
          adapter.fs.remove(joinPath(dir, CHECKPOINT));
          store = await open(dir, clock);
          expect(run(store, QUERIES)).toStrictEqual(want);
          await store.close();
        }));

      const damages: [string, (b: Uint8Array, h64: (b: Uint8Array) => bigint) => void][] = [
        [
          "a flipped bit (the checksum fails)",
          (b) => {
            b[b.length - 8 - 12] ^= 0x10;
          },
        ],
        [
          "the last entry's sequence out of range, under a checksum that matches",
          (b, h64) => {
            const body = b.length - 8;
            b[body - 1] = 0xff;
            new DataView(b.buffer).setBigUint64(body, h64(b.subarray(0, body)), true);
          },
        ],
        [
          "the last entry's subject length past the end, under a checksum that matches",
          (b, h64) => {
            const body = b.length - 8;
            const view = new DataView(b.buffer);
            view.setUint32(lastEntryAt(b, body), 0xfff0, true);
            view.setBigUint64(body, h64(b.subarray(0, body)), true);
          },
        ],
      ];
      for (const [name, damage] of damages) {
        it(`rescans the blocks when the subject section holds ${name}`, () =>
          inTempDir(adapter, async (dir) => {
            const { clock, mem } = await prepared(dir);
            const path = joinPath(dir, CHECKPOINT);
            const bytes = readFileBytes(adapter.fs, path) as Uint8Array;
            const { h64Raw } = await xxhash();
            damage(bytes, (body) => h64Raw(body, 0n));
            writeFileBytes(adapter.fs, path, bytes);
            const store = await open(dir, clock);
            // Nothing in the blocks is lost: only the checkpoint was damaged.
            expect(store.state().lost).toBeUndefined();
            const steps = [...QUERIES, ...REMOVALS, ...QUERIES];
            expect(run(store, steps)).toStrictEqual(run(mem, steps));
            await store.close();
          }));
      }
    });
  }
}

/** Messages per subject as the checkpoint in `dir` records them (it must decode). */
function recordedTotals(fs: FileSystem, dir: string): Record<string, number> {
  const path = joinPath(dir, CHECKPOINT);
  const { subjects } = decodeCheckpoint(readFileBytes(fs, path) as Uint8Array, path);
  const out: Record<string, number> = {};
  for (let i = 0; i < subjects.count; i++) out[subjects.subject(i)] = subjects.msgs(i);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Where the last subject entry of a version 1 checkpoint body ending at `end` starts. */
function lastEntryAt(b: Uint8Array, end: number): number {
  const view = new DataView(b.buffer, b.byteOffset);
  // The entry is a u32 length, the subject, then 24 bytes; find the length that fits.
  for (let length = 0; length < 256; length++) {
    const at = end - 24 - length - 4;
    if (at >= 0 && view.getUint32(at, true) === length) return at;
  }
  throw new Error("no subject entry found");
}

/** A checkpoint holding one message on each of `names`, without its trailing checksum. */
function subjectSection(names: string[]): Uint8Array {
  const bytes = encodeCheckpoint({
    lastSeq: 1,
    lastTs: 1n,
    blocks: [],
    subjects: names.map((subject) => ({ subject, msgs: 1, first: 1, last: 1 })),
    ttls: [],
    never: [],
  });
  return bytes.slice(0, bytes.length - 8);
}
