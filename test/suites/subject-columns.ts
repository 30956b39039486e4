/**
 * A block's subject-id column (src/filestore/subject-column.ts) is built by
 * grouping its records by subject bytes in the core and resolving one
 * subject per group. Filtered loads go by that column, so whatever the
 * column gets wrong shows as a filtered load MemStore answers differently:
 * subjects longer than the core interns, outside ASCII, two whose hashes
 * collide, more of them than the grouping table starts with, a block of more
 * records than one core call groups, subjects appended to a block after its
 * column was built, removed, erased and skipped messages, ids freed and
 * given to new subjects, filters changing from call to call, and reopening.
 */
import { joinPath } from "../../runtimes/fs.ts";
import { NO_RECORD } from "../../src/filestore/block.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import {
  REC_FLAG_TOMBSTONE,
  REC_FLAG_TTL,
  REC_HEADER_SIZE,
  REC_OFF_FLAGS,
  REC_OFF_SUBJECT_LEN,
  REC_TTL_SIZE,
} from "../../src/format.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StreamStore } from "../../src/types.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS } from "./core-variants.ts";
import {
  enc,
  inTempDir,
  readFileBytes,
  type TestClock,
  testClock,
  writeFileBytes,
} from "./store-helpers.ts";

/** Two subjects whose 32-bit subject hashes (xxHash64's low half) are equal: 3,507,788,874. */
const COLLIDING = ["orders.132413", "orders.163613"];
const LONG = `long.${"x".repeat(70)}`;

/**
 * Records of one block: past the 65,536 one core call groups, on over 5,000
 * subjects (the grouping table starts with room for 2,048).
 */
const MANY = 70_000;

function subjectOf(i: number): string {
  if (i % 1000 === 17) return COLLIDING[(i / 1000) & 1];
  if (i % 10 === 0) return `${LONG}.${i % 7}`;
  if (i % 10 === 1) return `ünï.${i % 11}`;
  return `orders.${["east", "west"][i & 1]}.${i % 5000}`;
}

const FILTERS: [string, boolean][] = [
  ["orders.east.*", true],
  ["orders.*.42", true],
  [COLLIDING[0], false],
  [COLLIDING[1], true],
  ["orders.*", true],
  [`${LONG}.3`, false],
  ["long.>", true],
  ["ünï.*", true],
  ["ünï.5", false],
  ["*.*.4999", true],
  ["fresh.>", true],
  ["nothing.*", true],
  [">", true],
];

const decoder = new TextDecoder();

/**
 * Every match of `filter` from `start` on, as loadNextMsg walks them (W4b's
 * loop): sequence, subject and payload. `scribble` overwrites each payload
 * once noted, as a caller owning it may: no later read may see that.
 */
function walk(
  store: StreamStore,
  filter: string,
  wildcard: boolean,
  start = 1,
  scribble = false,
): string[] {
  const found: string[] = [];
  let seq = start;
  for (;;) {
    let next: { seq: number; subject: string; msg: Uint8Array };
    try {
      next = store.loadNextMsg(filter, wildcard, seq);
    } catch (err) {
      if ((err as { code?: string }).code === "ErrStoreEOF") return found;
      throw err;
    }
    found.push(`${next.seq} ${next.subject} ${decoder.decode(next.msg)}`);
    if (scribble) next.msg.fill(0x2a);
    seq = next.seq + 1;
  }
}

export function subjectColumnSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("subject groups (assembly/subject-groups.ts)", () => {
    for (const variant of CORE_VARIANTS) {
      it(`groups records by subject bytes, passing over what has no subject (${variant} core)`, () => {
        const core = getCore(variant);
        const LEN = 400;
        const buf = core.alloc(LEN);
        const u8 = core.u8;
        u8.fill(0, buf, buf + LEN);
        /** A record header at `at` whose subject (after the TTL with REC_FLAG_TTL) is `subject`. */
        const put = (at: number, subject: string, flags = 0, length = subject.length) => {
          u8[buf + at + REC_OFF_SUBJECT_LEN] = length & 0xff;
          u8[buf + at + REC_OFF_SUBJECT_LEN + 1] = length >> 8;
          u8[buf + at + REC_OFF_FLAGS] = flags;
          const subjectAt = buf + at + REC_HEADER_SIZE + (flags & REC_FLAG_TTL ? REC_TTL_SIZE : 0);
          u8.set(enc(subject), subjectAt);
        };
        put(0, "a.b");
        put(64, "a.c");
        put(128, "a.b");
        put(192, "a.b", REC_FLAG_TOMBSTONE);
        put(256, "a.c", REC_FLAG_TTL);
        put(320, "a.d");
        // A subject length running past the bytes (damage the bytes were not verified against).
        put(360, "a.e", 0, 40);
        const offsets = [0, 64, 128, 192, NO_RECORD, 256, 360, 320, LEN - 4];
        const cells = core.alloc(offsets.length * 4 + 4);
        const state = cells + offsets.length * 4;
        // Room for 2 groups: the call stops at the second, growth is the caller's.
        const table = core.alloc(4 * 8 + 2 * 8);
        const [firsts, hashes] = [table + 32, table + 40];
        const u32 = core.u32;
        u32.set(offsets, cells >>> 2);
        u32[state >>> 2] = 0;
        core.abi.subjectGroupsRehash(hashes, 0, table, 4);
        const group = (count: number, verify: boolean) =>
          core.abi.subjectGroups(buf, LEN, cells, count, state, firsts, hashes, table, 4, verify);
        expect(group(offsets.length, false)).toBe(2);
        expect(core.u32[state >>> 2]).toBe(2);
        const grown = core.alloc(8 * 8 + 4 * 8);
        const [firsts2, hashes2] = [grown + 64, grown + 80];
        core.u32.copyWithin(firsts2 >>> 2, firsts >>> 2, (firsts >>> 2) + 2);
        core.u32.copyWithin(hashes2 >>> 2, hashes >>> 2, (hashes >>> 2) + 2);
        core.abi.subjectGroupsRehash(hashes2, 2, grown, 8);
        const rest = offsets.length - 2;
        expect(
          core.abi.subjectGroups(
            buf,
            LEN,
            cells + 8,
            rest,
            state,
            firsts2,
            hashes2,
            grown,
            8,
            false,
          ),
        ).toBe(rest);
        const NONE = 0xffffffff;
        const got = Array.from(core.u32.subarray(cells >>> 2, (cells >>> 2) + offsets.length));
        expect(got).toStrictEqual([0, 1, 0, NONE, NONE, 1, NONE, 2, NONE]);
        expect(core.u32[state >>> 2]).toBe(3);
        expect(Array.from(core.u32.subarray(firsts2 >>> 2, (firsts2 >>> 2) + 3))).toStrictEqual([
          0, 64, 320,
        ]);
        // Group numbers to ids.
        const ids = core.alloc(3 * 4);
        core.u32.set([7, 9, 11], ids >>> 2);
        core.abi.subjectGroupsMap(cells, offsets.length, ids);
        const mapped = Array.from(core.u32.subarray(cells >>> 2, (cells >>> 2) + offsets.length));
        expect(mapped).toStrictEqual([7, 9, 7, NONE, NONE, 9, NONE, 11, NONE]);
        // Verified: none of these headers is a whole record.
        core.u32.set(offsets, cells >>> 2);
        core.u32[state >>> 2] = 0;
        core.abi.subjectGroupsRehash(hashes, 0, table, 4);
        expect(group(offsets.length, true)).toBe(offsets.length);
        const verified = Array.from(core.u32.subarray(cells >>> 2, (cells >>> 2) + offsets.length));
        expect(verified).toStrictEqual(offsets.map(() => NONE));
        for (const ptr of [buf, cells, table, grown, ids]) core.free(ptr);
      });
    }
  });

  /** Filters in turn, each walked from a few starts: the same matches as MemStore's. */
  function expectSameScans(store: StreamStore, model: StreamStore, starts: number[]): void {
    for (const start of starts) {
      for (const [filter, wildcard] of FILTERS) {
        const got = walk(store, filter, wildcard, start, true);
        const want = walk(model, filter, wildcard, start);
        expect(got.length).toBe(want.length);
        expect(got).toStrictEqual(want);
      }
    }
  }

  for (const adapter of ctx.adapters) {
    const open = (dir: string, clock: TestClock) =>
      FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, now: clock.now });

    describe(`subject-id columns (${adapter.name})`, () => {
      it(
        "filter a large block of many subjects as MemStore does, before and after reopening",
        () =>
          inTempDir(adapter, async (dir) => {
            const clock = testClock();
            const store = await open(dir, clock);
            const model = MemStore.create({ now: clock.now });
            const both = (fn: (s: StreamStore) => unknown) => {
              fn(store);
              fn(model);
            };
            for (let i = 0; i < MANY; i++)
              both((s) => s.storeMsg(subjectOf(i), null, enc(`m${i}`)));
            // Columns of the active block, built from the write buffer.
            expectSameScans(store, model, [1, 30_000]);
            // Appends after the columns exist, some on subjects new to the block.
            for (let i = 0; i < 50; i++) {
              both((s) => s.storeMsg(i % 2 ? "fresh.a" : subjectOf(i * 7), null, enc(`n${i}`)));
            }
            both((s) => s.skipMsgs(s.fastState().lastSeq + 1, 3));
            both((s) => s.storeMsg("fresh.b", null, enc("n")));
            both((s) => s.removeMsg(18));
            both((s) => s.eraseMsg(1018));
            expectSameScans(store, model, [1, MANY - 5]);
            await store.close();
            // Sealed blocks read back from disk.
            const reopened = await open(dir, clock);
            expectSameScans(reopened, model, [1, 65_540]);
            await reopened.close();
          }),
        60_000,
      );

      it("filter as MemStore does while subjects empty and their ids go to new subjects", () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const store = await FileStore.open({
            dir,
            fs: adapter.fs,
            blockSize: 4096,
            syncIntervalMs: 0,
            now: clock.now,
          });
          const model = MemStore.create({ now: clock.now });
          const both = (fn: (s: StreamStore) => unknown) => {
            fn(store);
            fn(model);
          };
          for (let i = 0; i < 600; i++) both((s) => s.storeMsg(subjectOf(i), null, enc(`m${i}`)));
          expectSameScans(store, model, [1]);
          // A removed run in the middle of a block, and one that ends a block.
          for (let seq = 101; seq <= 300; seq++) both((s) => s.removeMsg(seq));
          expectSameScans(store, model, [1, 150, 300]);
          // Empty every `ünï.*` subject: their ids are freed, the old blocks' columns still hold them.
          for (let seq = 2; seq <= 600; seq += 10) both((s) => s.removeMsg(seq));
          expectSameScans(store, model, [1]);
          // New subjects take the freed ids.
          for (let i = 0; i < 40; i++) both((s) => s.storeMsg(`fresh.${i}`, null, enc("n")));
          expectSameScans(store, model, [1, 300]);
          both((s) => s.storeMsg("ünï.3", null, enc("back")));
          expectSameScans(store, model, [1]);
          await store.close();
        }));

      it("pass over a damaged record of an active block open read back", () =>
        inTempDir(adapter, async (dir) => {
          const clock = testClock();
          const options = { dir, fs: adapter.fs, blockSize: 4096, syncIntervalMs: 0 };
          const store = await FileStore.open({ ...options, now: clock.now });
          for (let i = 1; i <= 3; i++) store.storeMsg(`orders.${i}`, null, enc(`<${i}>`));
          await store.close();
          // The only block, small: open reads it back into the write buffer and verifies it.
          const path = joinPath(joinPath(dir, "msgs"), "1.blk");
          const bytes = readFileBytes(adapter.fs, path) as Uint8Array;
          const tag = enc("<2>");
          const at = bytes.findIndex((_, j) => tag.every((b, k) => bytes[j + k] === b));
          bytes[at + 1] ^= 0x01;
          writeFileBytes(adapter.fs, path, bytes);
          const reopened = await FileStore.open({ ...options, now: clock.now });
          expect(reopened.state().lost?.msgs).toStrictEqual([2]);
          expect(walk(reopened, "orders.*", true)).toStrictEqual([
            "1 orders.1 <1>",
            "3 orders.3 <3>",
          ]);
          reopened.storeMsg("orders.2", null, enc("<4>"));
          expect(walk(reopened, "orders.2", false)).toStrictEqual(["4 orders.2 <4>"]);
          await reopened.close();
        }));
    });
  }
}
