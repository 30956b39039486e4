/**
 * A scan's messages come from runs (src/filestore/scan-run.ts): the core
 * locates the records of ~16 KiB of a verified block in one call
 * (assembly/record-run.ts) and each message is a view of one copy of those
 * bytes. The rows must say what decoding each record says; the messages must
 * be what was stored, whatever their shape (headers, TTLs, payloads larger
 * than a run, more subjects than the core interns), the caller's to change,
 * and served from runs again when a block comes back into the cache.
 */
import fc from "fast-check";
import { joinPath } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { runsStarted } from "../../src/filestore/scan-run.ts";
import { BLOCK_HEADER_SIZE } from "../../src/format.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StoredMsg } from "../../src/types.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS } from "./core-variants.ts";
import { enc, inTempDir, readFileBytes, sameBytes, writeFileBytes } from "./store-helpers.ts";

const ROW = 48;
const RUN = 16 * 1024;

/**
 * Each record of a block file, read by FORMAT.md: seq, timestamp (ns, as a
 * number: exact enough to compare), flags, subject length, subject, headers
 * and record start (block offsets), headers length, record length, payload length.
 */
function parsed(bytes: Uint8Array): number[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[][] = [];
  for (let at = BLOCK_HEADER_SIZE; at < bytes.length; ) {
    const length = view.getUint32(at, true);
    const subjectLen = view.getUint16(at + 4, true);
    const flags = bytes[at + 6];
    const hdrLen = view.getUint32(at + 24, true);
    const subjectAt = at + 28 + (flags & 0x02 ? 8 : 0);
    const hdrAt = subjectAt + subjectLen;
    out.push([
      Number(view.getBigUint64(at + 8, true)),
      Number(view.getBigInt64(at + 16, true)),
      flags,
      subjectLen,
      subjectAt,
      hdrAt,
      at,
      hdrLen,
      length,
      at + length - 8 - hdrAt - hdrLen,
    ]);
    at += length;
  }
  return out;
}

/** The i-th message's shape: subject (thousands of them), headers, TTL and payload size vary. */
function shapeOf(i: number): {
  subject: string;
  hdr: Uint8Array | null;
  msg: Uint8Array;
  ttl: number;
} {
  const size =
    i % 97 === 0 ? 20_000 + i : i % 4 === 2 ? 10_000 : i % 13 === 0 ? 1500 : (i * 37) % 300;
  const msg = new Uint8Array(size).map((_, j) => (i * 31 + j) & 0xff);
  const hdr =
    i % 3 === 0 ? enc(`NATS/1.0\r\nN: ${i}\r\n\r\n`) : i % 3 === 1 ? new Uint8Array(0) : null;
  return {
    subject: `s.${i % 9000}.${i % 7 === 0 ? "ü" : "a"}`,
    hdr,
    msg,
    ttl: i % 5 === 0 ? 60 : 0,
  };
}

/** The messages from `from` up to `until`, as a scan's loop reads them. */
function scanAll(store: FileStore, until: number, from = 1): StoredMsg[] {
  const out: StoredMsg[] = [];
  for (let seq = from; seq <= until; ) {
    try {
      const m = store.loadNextMsg(">", true, seq);
      out.push(m);
      seq = m.seq + 1;
    } catch (err) {
      if ((err as { code?: string }).code === "ErrStoreEOF") return out;
      throw err;
    }
  }
  return out;
}

/** What a scan's resumption may meet between two of its calls (the cursor is where it stands). */
type ScanOp =
  | { kind: "next" }
  | { kind: "restart"; at: number }
  | { kind: "remove" | "erase"; ahead: number }
  | { kind: "load"; at: number }
  | { kind: "store"; count: number }
  | { kind: "compact"; back: number }
  | { kind: "truncate"; back: number };

const scanOpArb: fc.Arbitrary<ScanOp> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: "next" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), at: fc.nat(400) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom("remove" as const, "erase" as const),
      ahead: fc.nat(30),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("load" as const), at: fc.nat(400) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("store" as const), count: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const), back: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), back: fc.nat(60) }) },
);

/** The message as plain values, or the error code the call threw. */
function outcome(read: () => StoredMsg): unknown {
  try {
    const m = read();
    return { seq: m.seq, subject: m.subject, hdr: m.hdr && [...m.hdr], msg: [...m.msg] };
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

export function scanRunSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  describe("scan runs (assembly/record-run.ts)", () => {
    for (const variant of CORE_VARIANTS) {
      it(`locates what each record's header says, within the bytes and rows allowed (${variant} core)`, () =>
        inTempDir(ctx.adapters[0], async (dir) => {
          const fs = ctx.adapters[0].fs;
          const store = await FileStore.open({ dir, fs, blockSize: 64 * 1024, allowMsgTtl: true });
          for (let i = 1; i <= 120; i++) {
            const s = shapeOf(i);
            store.storeMsg(s.subject, s.hdr, s.msg, s.ttl);
          }
          await store.close();
          const bytes = readFileBytes(fs, joinPath(dir, "msgs", "1.blk"))!;
          const records = parsed(bytes);
          expect(records.length).toBeGreaterThan(10);
          const core = getCore(variant);
          const buf = core.alloc(bytes.length);
          core.u8.set(bytes, buf);
          const rows = core.alloc(512 * ROW);
          const located: number[][] = [];
          for (let offset = BLOCK_HEADER_SIZE; offset < bytes.length; ) {
            const count = core.abi.locateRun(buf, bytes.length, offset, RUN, 7, rows);
            expect(count).toBeLessThanOrEqual(7);
            if (count === 0) {
              // A record larger than a run: its reader decodes it alone.
              const alone = records.find((r) => r[6] === offset)!;
              expect(alone[8]).toBeGreaterThan(RUN);
              located.push(alone);
              offset += alone[8];
              continue;
            }
            const view = core.view;
            for (let r = 0; r < count; r++) {
              const row = rows + r * ROW;
              const u32 = (k: number) => view.getUint32(row + 4 * k, true);
              const start = offset + u32(6);
              const length = view.getUint32(buf + start, true);
              // Every record of a run ends within its 16 KiB.
              expect(u32(6) + length).toBeLessThanOrEqual(RUN);
              const slot = view.getInt32(row + 20, true);
              expect(slot).toBe(core.abi.subjectSlot(buf + offset + u32(8), u32(7)));
              located.push([
                view.getFloat64(row, true),
                Number(view.getBigInt64(row + 8, true)),
                u32(4),
                u32(7),
                offset + u32(8),
                offset + u32(9),
                start,
                u32(10),
                length,
                u32(11),
              ]);
            }
            const last = located.at(-1)!;
            offset = last[6] + last[8];
          }
          expect(located).toStrictEqual(records);
          // A length running past the bytes given ends the run before that record.
          const short = records[0][8] - 1;
          expect(
            core.abi.locateRun(buf, BLOCK_HEADER_SIZE + short, BLOCK_HEADER_SIZE, RUN, 7, rows),
          ).toBe(0);
          core.free(rows);
          core.free(buf);
        }));
    }

    it("ends a run at a damaged record whose fields run past it, copying no more than a run", () =>
      inTempDir(ctx.adapters[0], async (dir) => {
        const fs = ctx.adapters[0].fs;
        const open = () => FileStore.open({ dir, fs, blockSize: 64 * 1024 });
        const store = await open();
        for (let i = 1; i <= 1500; i++)
          store.storeMsg(`d.${i % 9}`, null, shapeOf(i).msg.subarray(0, 100));
        await store.close();
        const path = joinPath(dir, "msgs", "1.blk");
        const bytes = readFileBytes(fs, path)!;
        const damaged = new Set<number>();
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        // A headers length far past the record (its checksum no longer matches) in every third record.
        for (const [seq, , , , , , at] of parsed(bytes).filter((_, i) => i % 3 === 1)) {
          view.setUint32(at + 24, 0xf0000000, true);
          damaged.add(seq);
        }
        writeFileBytes(fs, path, bytes);
        const reopened = await open();
        const msgs = scanAll(reopened, 1500);
        expect(msgs.length).toBe(1500 - damaged.size);
        let wrong = 0;
        for (const m of msgs) {
          if (damaged.has(m.seq) || !sameBytes(m.msg, shapeOf(m.seq).msg.subarray(0, 100))) wrong++;
          if (m.msg.buffer.byteLength > RUN) wrong++;
        }
        expect(wrong).toBe(0);
        await reopened.close();
      }));

    for (const adapter of ctx.adapters) {
      it(
        `a scan resumed after removals, erasures, reads elsewhere, compaction, truncation and appends reads what MemStore reads (${adapter.name})`,
        () =>
          fc.assert(
            fc.asyncProperty(
              fc.array(scanOpArb, { minLength: 20, maxLength: 160, size: "max" }),
              (ops) =>
                inTempDir(adapter, async (dir) => {
                  // Blocks of ~25 records, so a scan crosses many and a read elsewhere lands in another.
                  const open = () => FileStore.open({ dir, fs: adapter.fs, blockSize: 4096 });
                  let store = await open();
                  const model = MemStore.create();
                  const both = (fn: (s: FileStore | MemStore) => unknown) => [fn(store), fn(model)];
                  let stored = 0;
                  const append = (count: number) => {
                    for (let i = 0; i < count; i++, stored++) {
                      const s = shapeOf(stored % 97 === 0 ? stored + 1 : stored);
                      const msg = s.msg.subarray(0, 200);
                      both((t) => t.storeMsg(s.subject, s.hdr, msg));
                    }
                  };
                  append(300);
                  // Read back from disk, its blocks are verified when cached, and scans are served from runs.
                  await store.close();
                  store = await open();
                  let cursor = 1;
                  const seqAt = (n: number) => Math.max(1, n);
                  try {
                    for (const op of ops) {
                      let got: unknown[];
                      switch (op.kind) {
                        case "next":
                          got = both((t) => outcome(() => t.loadNextMsg("", false, cursor)));
                          if (typeof got[1] === "object")
                            cursor = (got[1] as { seq: number }).seq + 1;
                          break;
                        case "restart":
                          cursor = seqAt(op.at);
                          got = [];
                          break;
                        case "remove":
                          got = both((t) =>
                            outcome(
                              () => ({ seq: Number(t.removeMsg(cursor + op.ahead)) }) as StoredMsg,
                            ),
                          );
                          break;
                        case "erase":
                          got = both((t) =>
                            outcome(
                              () => ({ seq: Number(t.eraseMsg(cursor + op.ahead)) }) as StoredMsg,
                            ),
                          );
                          break;
                        case "load":
                          got = both((t) => outcome(() => t.loadMsg(seqAt(op.at))));
                          break;
                        case "store":
                          append(op.count);
                          got = [];
                          break;
                        case "compact":
                          got = both((t) => t.compact(seqAt(cursor - op.back)));
                          break;
                        case "truncate":
                          got = both((t) =>
                            outcome(() => {
                              t.truncate(Math.max(0, model.state().lastSeq - op.back));
                              return { seq: 0 } as StoredMsg;
                            }),
                          );
                          break;
                      }
                      expect({ op, cursor, file: got[0] }).toEqual({ op, cursor, file: got[1] });
                    }
                  } finally {
                    await store.close();
                  }
                }),
            ),
            { numRuns: 25 },
          ),
        60_000,
      );

      it(`serves the blocks this process sealed from runs, with no reopen (${adapter.name})`, () =>
        inTempDir(adapter, async (dir) => {
          const store = await FileStore.open({ dir, fs: adapter.fs, blockSize: 64 * 1024 });
          const payload = new Uint8Array(100).fill(7);
          for (let i = 0; i < 3000; i++) store.storeMsg(`s.${i % 50}`, null, payload);
          const before = runsStarted();
          const msgs = scanAll(store, 3000);
          expect(msgs.length).toBe(3000);
          // Sealed here, never read back: verified as they are, so scans are served from runs.
          expect(runsStarted() - before).toBeGreaterThan(10);
          expect(msgs.every((m) => sameBytes(m.msg, payload))).toBe(true);
          await store.close();
        }));

      it(`checks the records a checkpoint vouched for once the block holding them is sealed (${adapter.name})`, () =>
        inTempDir(adapter, async (dir) => {
          const fs = adapter.fs;
          const open = () => FileStore.open({ dir, fs, blockSize: 64 * 1024 });
          const payload = (seq: number) => new Uint8Array(100).fill(seq & 0xff);
          let store = await open();
          for (let seq = 1; seq <= 100; seq++) store.storeMsg("s.a", null, payload(seq));
          await store.close();
          // Damage in the block appends go to, which the checkpoint vouches for (it checks only
          // the block's end): open's scan of that block verifies each record it indexes, so once
          // the appends below seal it and its bytes go to the cache as verified, the damaged
          // message is served neither by a scan nor by a read.
          const path = joinPath(dir, "msgs", "1.blk");
          const bytes = readFileBytes(fs, path)!;
          const tenth = parsed(bytes).find((r) => r[0] === 10)!;
          bytes[tenth[5] + tenth[7] + 5] ^= 0xff;
          writeFileBytes(fs, path, bytes);
          store = await open();
          for (let seq = 101; seq <= 1100; seq++) store.storeMsg("s.a", null, payload(seq));
          expect(readFileBytes(fs, joinPath(dir, "msgs", "2.blk"))).not.toBeNull();
          // A scan first: the damage is found by it, not by an earlier read that noted it lost.
          const msgs = scanAll(store, 1100);
          expect(msgs.length).toBe(1099);
          expect(msgs.every((m) => sameBytes(m.msg, payload(m.seq)))).toBe(true);
          let read: unknown;
          try {
            read = store.loadMsg(10).msg;
          } catch (err) {
            read = (err as { code?: string }).code;
          }
          expect(typeof read).toBe("string");
          await store.close();
        }));

      it(
        `serves every shape of message as stored, the caller's to change, from runs again after eviction (${adapter.name})`,
        () =>
          inTempDir(adapter, async (dir) => {
            const open = () =>
              FileStore.open({ dir, fs: adapter.fs, blockSize: 1024 * 1024, allowMsgTtl: true });
            const store = await open();
            // ~37 MiB: more than the 32 MiB a pass keeps cached, so a second pass reads the first blocks again.
            const total = 14_000;
            for (let i = 1; i <= total; i++) {
              const s = shapeOf(i);
              store.storeMsg(s.subject, s.hdr, s.msg, s.ttl);
            }
            await store.close();
            const reopened = await open();
            const early: number[] = [];
            for (let round = 0; round < 2; round++) {
              const before = runsStarted();
              const msgs = scanAll(reopened, 1000);
              early.push(runsStarted() - before);
              msgs.push(...scanAll(reopened, total, 1001));
              expect(msgs.length).toBe(total);
              let wrong = 0;
              for (const m of msgs) {
                const s = shapeOf(m.seq);
                if (m.subject !== s.subject || !sameBytes(m.hdr, s.hdr) || !sameBytes(m.msg, s.msg))
                  wrong++;
                // A payload over 1 KiB does not keep a run alive.
                if (m.msg.length > 1024 && m.msg.buffer.byteLength !== m.msg.length) wrong++;
                m.msg.fill(0xee);
                m.hdr?.fill(0xee);
              }
              expect(wrong).toBe(0);
            }
            // The first blocks, read back after eviction, are served from runs as on their first read.
            expect(early[0]).toBeGreaterThan(100);
            expect(early[1]).toBe(early[0]);
            // Read again, one by one and backwards: copies made anew, unchanged by the scribbles.
            for (const seq of [5, 4, 3, 4, 5, 6]) {
              expect(sameBytes(reopened.loadNextMsg(">", true, seq).msg, shapeOf(seq).msg)).toBe(
                true,
              );
            }
            await reopened.close();
          }),
        60_000,
      );
    }
  });
}
