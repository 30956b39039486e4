/**
 * A removal's tombstone records the removed message's time, taken from its
 * record in two 32-bit halves (no BigInt per removal): with the checkpoint
 * gone, open reads the stream's last time from the last record, the
 * tombstone of a removed last message. A time whose low half has its top bit
 * set and whose high half is not zero tells a swapped, sign-extended or
 * truncated half. Both ways a removal reads the record: from its fixed header
 * (a block with a subject-id column, kept under limits) and by decoding it.
 */

import { joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { StreamLimits } from "../../src/types.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { enc, inTempDir, testClock } from "./store-helpers.ts";

/** High half 0x12345, low half 0xfffffff0. */
const LAST_TS = 0x1_2345_ffff_fff0n;

const PATHS: [string, StreamLimits][] = [
  ["decoding the record", {}],
  ["from the record's header (subject-id column, under limits)", { maxMsgs: 1_000 }],
];

export function tombstoneTimeSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  for (const adapter of ctx.adapters) {
    describe(`a removal's tombstone time (${adapter.name})`, () => {
      for (const method of ["removeMsg", "eraseMsg"] as const) {
        for (const [path, limits] of PATHS) {
          it(`${method} ${path}: open without a checkpoint reads the removed last message's time`, () =>
            inTempDir(adapter, async (dir) => {
              const clock = testClock(1_000n);
              const options = { dir, fs: adapter.fs, now: clock.now, ...limits };
              const store = await FileStore.open(options);
              for (const ts of [1_000n, 0xffff_fff0n, LAST_TS]) {
                clock.t = ts;
                store.storeMsg("a.b", null, enc("m"));
              }
              // Later than any message: a tombstone stamped by the clock would be caught.
              clock.t = LAST_TS + 0x1_0000_0000n;
              expect(store[method](2)).toBe(true);
              expect(store[method](3)).toBe(true);
              await store.close();
              adapter.fs.remove(joinPath(dir, "index.ckpt"));
              const reopened = await FileStore.open(options);
              expect(reopened.state()).toMatchObject({
                msgs: 1,
                firstSeq: 1,
                lastSeq: 3,
                lastTs: LAST_TS,
              });
              await reopened.close();
            }));
        }
      }
    });
  }
}
