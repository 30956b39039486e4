/**
 * The bulk paths of snapshot and restore (src/filestore/bulk-load.ts,
 * assembly/archive.ts) against the per-message paths they stand in for, on
 * every adapter: a snapshot read in runs is the same archive byte for byte;
 * a restore written in runs leaves the same block files and checkpoint byte
 * for byte (a sealed target, whose nonces are random, the same messages);
 * records the bulk path leaves (TTLs, gaps, a message larger than a block, a
 * subject the store refuses) still go through the write path; and a power
 * cut anywhere in a restore leaves either nothing at `dir` or the whole store.
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { memoryFileSystem } from "../../runtimes/memory.ts";
import { xxh64 } from "../../src/codec/index.ts";
import { setBulkPaths } from "../../src/filestore/bulk-load.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { setSnapshotFrameBytes } from "../../src/snapshot/snapshot.ts";
import type { StreamState, StreamStore } from "../../src/types.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import {
  codeOfAsync,
  snapshot as contents,
  enc,
  joinChunks,
  readFileBytes,
  sameBytes,
  type TestClock,
  testClock,
} from "./store-helpers.ts";

const S = 1_000_000_000n;
const T0 = 1_800_000_000n * S;
const BLOCK = 4096;
const KEY = new Uint8Array(32).fill(7);
const SUBJECTS = ["a.b", "a.c", "zürich.1", "orders.east.7", "x", "a.b.c.d.e.f", "q.é"];

/** A stream with what each path must keep: headers (absent, empty, some), TTLs, removals, erasures, skips, a message larger than a block. */
function varied(store: StreamStore, clock: TestClock): void {
  let x = 12345;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  for (let i = 0; i < 600; i++) {
    clock.t += 1_000_000n;
    const hdr = i % 3 === 0 ? null : i % 3 === 1 ? enc("") : enc(`NATS/1.0\r\nk: ${i}\r\n\r\n`);
    const body = new Uint8Array(i === 250 ? BLOCK + 500 : Math.floor(next() * 400)).map(() =>
      Math.floor(next() * 256),
    );
    // TTLs late: a pending one sends the rest of a restore down the write path.
    const ttl = i >= 520 && i % 13 === 0 ? 3600 : i === 531 ? -1 : 0;
    store.storeMsg(SUBJECTS[i % SUBJECTS.length], hdr, body, ttl);
    if (i % 17 === 3) store.removeMsg(1 + Math.floor(next() * (i + 1)));
    if (i === 300) store.eraseMsg(290);
    if (i === 400) store.skipMsgs(store.fastState().lastSeq + 1, 9);
  }
  store.removeMsg(store.fastState().lastSeq);
  store.skipMsgs(store.fastState().lastSeq + 1, 3);
}

async function archiveOf(store: StreamStore, compress: boolean): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of store.snapshot({ consumers: true, compress })) chunks.push(c);
  return joinChunks(chunks);
}

/** Every file of a closed store but its lock, by path, as bytes. */
function filesOf(fs: FileSystem, dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const walk = (path: string, name: string) => {
    for (const entry of fs.list(path)) {
      const full = `${path}/${entry}`;
      const rel = name === "" ? entry : `${name}/${entry}`;
      if ((fs.stat(full) as { isDirectory: boolean }).isDirectory) walk(full, rel);
      else if (entry !== "LOCK") out[rel] = readFileBytes(fs, full) as Uint8Array;
    }
  };
  walk(dir, "");
  return out;
}

function comparable(store: StreamStore): { state: StreamState; msgs: unknown[] } {
  const snap = contents(store);
  const { consumers: _c, ...state } = snap.state;
  return { state: state as StreamState, msgs: snap.msgs };
}

export function snapshotBulkSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe, it, expect } = api;

  for (const adapter of ctx.adapters) {
    describe(`snapshot and restore bulk paths (FileStore/${adapter.name})`, () => {
      const withSource = async (
        body: (source: FileStore, clock: TestClock) => Promise<void>,
      ): Promise<void> => {
        const { dir, cleanup } = adapter.tempDir();
        const clock = testClock(T0);
        const source = await FileStore.open({
          dir: `${dir}/source`,
          fs: adapter.fs,
          blockSize: BLOCK,
          allowMsgTtl: true,
          syncIntervalMs: 0,
          now: clock.now,
        });
        const frames = setSnapshotFrameBytes(2048);
        try {
          varied(source, clock);
          const c = source.consumerStore("c1", { ackPolicy: "explicit" });
          c.setStarting(0);
          await c.stop();
          await body(source, clock);
        } finally {
          setSnapshotFrameBytes(frames);
          setBulkPaths(true);
          await source.close();
          cleanup();
        }
      };

      it("a snapshot read in runs is the per-message path's archive, byte for byte", async () => {
        await withSource(async (source) => {
          for (const compress of [true, false]) {
            setBulkPaths(false);
            const slow = await archiveOf(source, compress);
            setBulkPaths(true);
            const fast = await archiveOf(source, compress);
            expect({ compress, same: sameBytes(fast, slow) }).toEqual({ compress, same: true });
          }
        });
      });

      it("a restore in runs writes the per-message path's files, byte for byte, and sealed stores the same messages", async () => {
        await withSource(async (source, clock) => {
          const archive = await archiveOf(source, true);
          const expected = comparable(source);
          const sc = source.consumerStore("c1", { ackPolicy: "explicit" });
          const sourceConsumer = sc.state();
          await sc.stop();
          const { dir, cleanup } = adapter.tempDir();
          try {
            const targets = [
              { name: "plain", options: {} },
              {
                name: "sealed",
                options: {
                  cipher: "chacha20-poly1305" as const,
                  key: KEY,
                  compression: "snappy" as const,
                },
              },
            ];
            for (const { name, options } of targets) {
              const files: Record<string, Uint8Array>[] = [];
              for (const bulk of [false, true]) {
                const at = `${dir}/${name}-${bulk ? "bulk" : "slow"}`;
                setBulkPaths(bulk);
                const restored = await FileStore.restore(at, archive, {
                  fs: adapter.fs,
                  blockSize: BLOCK,
                  syncIntervalMs: 0,
                  now: clock.now,
                  ...options,
                  key: options.key?.slice(),
                });
                setBulkPaths(true);
                expect({ name, bulk, ...comparable(restored) }).toEqual({
                  name,
                  bulk,
                  ...expected,
                });
                const cs = restored.consumerStore("c1", { ackPolicy: "explicit" });
                expect(cs.state()).toEqual(sourceConsumer);
                await cs.stop();
                await restored.close();
                files.push(filesOf(adapter.fs, at));
              }
              if (name === "plain") {
                const [slow, fast] = files;
                expect(Object.keys(fast).sort()).toEqual(Object.keys(slow).sort());
                for (const path of Object.keys(slow)) {
                  expect({ path, same: sameBytes(fast[path], slow[path]) }).toEqual({
                    path,
                    same: true,
                  });
                }
              }
            }
          } finally {
            cleanup();
          }
        });
      });

      it("records the bulk path leaves are refused by the write path as before: a bad subject in an archive is ErrCorrupt, nothing left", async () => {
        await withSource(async (source) => {
          const archive = await archiveOf(source, false);
          // Turn "a.b" (first subject) into "a b" (a space: not a subject) in every record: checksums are recomputed below.
          const damaged = archive.slice();
          const needle = enc("a.b");
          for (let i = 0; i + 3 <= damaged.length; i++) {
            if (
              damaged[i] === needle[0] &&
              damaged[i + 1] === needle[1] &&
              damaged[i + 2] === needle[2]
            )
              damaged[i + 1] = " ".charCodeAt(0);
          }
          refreshChecksums(damaged);
          const { dir, cleanup } = adapter.tempDir();
          try {
            const code = await codeOfAsync(() =>
              FileStore.restore(`${dir}/t`, damaged, { fs: adapter.fs, syncIntervalMs: 0 }),
            );
            expect(code).toBe("ErrCorrupt");
            expect(adapter.fs.list(dir)).toEqual([]);
          } finally {
            cleanup();
          }
        });
      });
    });
  }

  describe("restore of frames in core memory", () => {
    it("a compressed frame declaring more than its bytes can hold is ErrCorrupt before any memory is reserved for it", async () => {
      const store = await FileStore.open({
        dir: "/s",
        fs: memoryFileSystem({ seed: 1 }),
        syncIntervalMs: 0,
      });
      for (let i = 0; i < 200; i++) store.storeMsg("a.b", null, enc("same ".repeat(30)));
      const archive = await archiveOf(store, true);
      await store.close();
      const view = new DataView(archive.buffer, archive.byteOffset, archive.length);
      // Frame 0 is the header; frame 1 the first messages frame, compressed.
      const first = 16 + 20 + view.getUint32(16 + 12, true) + 8;
      expect(archive[first] === 2 && archive[first + 1] === 1).toBe(true);
      view.setUint32(first + 8, 0x4000_0000, true);
      view.setUint32(
        first + 16,
        Number(xxh64(archive.subarray(first, first + 16)) & 0xffffffffn),
        true,
      );
      const fs = memoryFileSystem({ seed: 2 });
      const before = getCore().u8.length;
      const code = await codeOfAsync(() => FileStore.restore("/t", archive, { fs }));
      expect(code).toBe("ErrCorrupt");
      expect(getCore().u8.length - before).toBeLessThan(64 * 1024 * 1024);
      expect(fs.stat("/t")).toBe(null);
    });
  });

  describe("restore bulk path and power cuts", () => {
    it("a power cut at any change of a restore leaves nothing at dir, or the whole store; the next restore removes the abandoned sibling", async () => {
      const clock = testClock(T0);
      const build = memoryFileSystem({ seed: 3 });
      build.mkdir("/src");
      const source = await FileStore.open({
        dir: "/src/s",
        fs: build,
        blockSize: BLOCK,
        allowMsgTtl: true,
        syncIntervalMs: 0,
        now: clock.now,
      });
      varied(source, clock);
      const expected = comparable(source);
      const archive = await archiveOf(source, true);
      await source.close();
      // How many changes a whole restore makes, then a cut after each of a spread of them.
      const probe = memoryFileSystem({ seed: 3 });
      probe.mkdir("/r");
      probe.syncDirectory("/");
      const base = probe.changes;
      await (await FileStore.restore("/r/t", archive, { fs: probe, blockSize: BLOCK })).close();
      const total = probe.changes - base;
      expect(total).toBeGreaterThan(20);
      const points = new Set<number>();
      for (let k = 1; k <= total; k += Math.max(1, Math.floor(total / 40))) points.add(k);
      for (let k = total - 6; k <= total; k++) if (k >= 1) points.add(k);
      let whole = 0;
      let abandoned = 0;
      for (const at of points) {
        const disk = memoryFileSystem({ seed: at });
        disk.mkdir("/r");
        disk.syncDirectory("/");
        disk.setFaults({ crashAfterChanges: disk.changes + at });
        try {
          await (await FileStore.restore("/r/t", archive, { fs: disk, blockSize: BLOCK })).close();
        } catch {
          // The power went.
        }
        for (const lose of ["unsynced", "random"] as const) {
          const after = disk.crash({ lose, seed: at });
          if (after.stat("/r/t") === null) {
            // Restoring again works, and removes the sibling the cut left (it holds a lock file once built far enough).
            const debris = after.list("/r").filter((n) => n.startsWith("t.restoring-"));
            const locked = debris.filter((n) => after.stat(`/r/${n}/LOCK`) !== null);
            await (
              await FileStore.restore("/r/t", archive, { fs: after, blockSize: BLOCK })
            ).close();
            const left = after.list("/r").filter((n) => n.startsWith("t.restoring-"));
            expect({ at, lose, left }).toEqual({
              at,
              lose,
              left: debris.filter((n) => !locked.includes(n)),
            });
            abandoned += locked.length;
            continue;
          }
          // Renamed into place: the whole store, as the archive had it.
          const store = await FileStore.open({ dir: "/r/t", fs: after, allowMsgTtl: true });
          expect({ at, lose, ...comparable(store) }).toEqual({ at, lose, ...expected });
          await store.close();
          whole++;
        }
      }
      expect(whole).toBeGreaterThan(0);
      expect(abandoned).toBeGreaterThan(0);
    });
  });
}

/** Recomputes every frame's header check and checksum of an uncompressed archive (a test's forged content). */
function refreshChecksums(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let at = 16; at < bytes.length; ) {
    const stored = view.getUint32(at + 12, true);
    view.setUint32(at + 16, Number(xxh64(bytes.subarray(at, at + 16)) & 0xffffffffn), true);
    const end = at + 20 + stored;
    view.setBigUint64(end, xxh64(bytes.subarray(at, end)), true);
    at = end + 8;
  }
}
