/**
 * At rest (issue 13): compression and authenticated encryption of a store's
 * files, for every combination that matters (ChaCha20-Poly1305 and
 * AES-256-GCM, each with and without Snappy, and Snappy alone).
 *
 * - Round trip: a workload with subjects, headers, payloads and TTLs,
 *   compared with a MemStore model, through several reopens with the key and
 *   no cipher or compression option.
 * - No plaintext: with a cipher, no subject, header value, payload or key
 *   byte string appears in any file of the directory, after a clean close,
 *   after a power cut mid-workload, and after the reopen that follows.
 * - Keys: a wrong or missing key is ErrBadKey and changes no file; a cipher
 *   without a key is ErrInvalidArgument; no error names the key.
 * - Damage stays local: a flipped bit in one chunk's body or header loses
 *   exactly that chunk's messages, reported with block and offset; the
 *   outcome is checked against the same damage (the chunk's plaintext
 *   zeroed) in a plain store written by the same script. A torn last chunk is
 *   cut like a torn tail.
 * - No (key, nonce) pair seals two different plaintexts over a fuzzed
 *   workload with crashes, fsync failures and failed rewrites.
 * - Pending the lead's work (they fail until it lands, by design): rekey,
 *   conversion to another cipher or compression, packing on roll.
 */
import fc from "fast-check";
import { joinPath } from "../../runtimes/fs.ts";
import { type LoseMode, type MemoryFileSystem, memoryFileSystem } from "../../runtimes/memory.ts";
import { isJetStoreError } from "../../src/errors.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import { CIPHER_CODES, COMPRESSION_CODES } from "../../src/format.ts";
import { MemStore } from "../../src/memstore.ts";
import type { StreamStore } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import {
  COMBOS,
  type Combo,
  errorTexts,
  findPlaintext,
  hashTree,
  keySpellings,
  listFiles,
  parseChunks,
  parseRecords,
  readAll,
  rekey,
  rekeyRaw,
  SealLog,
  sealedHeader,
  sleep,
  testKey,
  withSealLog,
  withTruncateFaults,
} from "./at-rest-helpers.ts";
import {
  codeOfAsync,
  enc,
  inTempDir,
  type StoreSnapshot,
  snapshot,
  type TestClock,
  testClock,
} from "./store-helpers.ts";

const BLOCK_SIZE = 4096;
/**
 * The damage tests' blocks: large enough that a packed block (16 KiB chunks,
 * sealed-file.ts PACK_CHUNK) still has several chunks, and enough messages
 * for several blocks.
 */
const DAMAGE_BLOCK_SIZE = 64 * 1024;
const DAMAGE_MESSAGES = 2400;
/** In every subject, header value and payload marker: 10 bytes no ciphertext will hold by chance. */
const TAG = "Zq8vKpW3xJ";

function atRestOptions(combo: Combo, key: Uint8Array) {
  return combo.cipher === "none"
    ? { cipher: combo.cipher, compression: combo.compression }
    : { cipher: combo.cipher, compression: combo.compression, key };
}

/** Reopen options: the key (a copy), and no cipher or compression. */
function keyOnly(combo: Combo, key: Uint8Array): { key?: Uint8Array } {
  return combo.cipher === "none" ? {} : { key: key.slice() };
}

function formatBits(combo: Combo): number {
  return COMPRESSION_CODES[combo.compression] | (CIPHER_CODES[combo.cipher] << 2);
}

// ---------------------------------------------------------------- workload

interface Written {
  subjects: string[];
  headerValues: string[];
  markers: string[];
  /** Whole payloads without a marker (random bytes): searched for as they are. */
  randomPayloads: Uint8Array[];
}

function newWritten(): Written {
  return { subjects: [], headerValues: [], markers: [], randomPayloads: [] };
}

function seeded(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 747796405 + 2891336453) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Stores `count` messages numbered from `from` on every store in `stores`
 * (the same clock, so the same sequences and timestamps), then removes and
 * erases a few. Subjects, header values and payloads carry TAG.
 */
function workload(
  stores: StreamStore[],
  clock: TestClock,
  from: number,
  count: number,
  written: Written,
): void {
  for (let i = from; i < from + count; i++) {
    clock.t += 1_000_000n;
    const subject = `secret.${TAG}.s${i % 7}`;
    const headerValue = `hv-${TAG}-${i}`;
    const hdr =
      i % 4 === 0
        ? null
        : i % 4 === 1
          ? new Uint8Array(0)
          : enc(`NATS/1.0\r\nX-Secret: ${headerValue}\r\n\r\n`);
    let msg: Uint8Array;
    if (i % 3 === 0) {
      msg = seeded(40 + ((i * 37) % 200), i);
      written.randomPayloads.push(msg);
    } else {
      const marker = `pl-${TAG}-${i}-`;
      written.markers.push(marker);
      // Compressible: JSON-ish and repetitive; now and then larger than a block.
      const body = `{"order":${i},"customer":"c-${i % 13}","items":["apple","pear","plum"],"total":${i * 3}}`;
      msg = enc(marker + body.repeat(i % 10 === 5 ? 60 : 1 + (i % 4)));
    }
    const ttl = i % 6 === 0 ? 3600 : i % 11 === 0 ? -1 : 0;
    if (!written.subjects.includes(subject)) written.subjects.push(subject);
    if (hdr !== null && hdr.length > 0) written.headerValues.push(headerValue);
    for (const s of stores) s.storeMsg(subject, hdr, msg, ttl);
  }
  const last = stores[0].fastState().lastSeq;
  for (let seq = last - count + 1; seq <= last; seq++) {
    if (seq % 9 === 0) for (const s of stores) s.removeMsg(seq);
    else if (seq % 13 === 0) for (const s of stores) s.eraseMsg(seq);
  }
}

function needlesOf(written: Written, key: Uint8Array): Map<string, Uint8Array> {
  const needles = new Map<string, Uint8Array>();
  needles.set("the tag", enc(TAG));
  for (const s of written.subjects) needles.set(`subject ${s}`, enc(s));
  for (const h of written.headerValues) needles.set(`header ${h}`, enc(h));
  for (const m of written.markers) needles.set(`payload ${m}`, enc(m));
  written.randomPayloads.forEach((p, i) => {
    needles.set(`random payload ${i}`, p.subarray(0, 24));
  });
  needles.set("the key", key);
  needles.set("the key's first 12 bytes", key.subarray(0, 12));
  return needles;
}

/** A snapshot without fields set to undefined (toStrictEqual tells them apart from missing ones). */
function snap(store: StreamStore): StoreSnapshot {
  const s = snapshot(store);
  const clean = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return { ...s, state: clean(s.state), fast: clean(s.fast) };
}

/** A brief rendering of a snapshot: payloads as length and sum, so a diff stays readable. */
function brief(s: StoreSnapshot) {
  return {
    ...s,
    msgs: s.msgs.map((m) => ({
      ...m,
      hdr: m.hdr === null ? null : m.hdr.length,
      msg: `${m.msg.length} B, sum ${m.msg.reduce((a, b) => a + b, 0)}`,
    })),
  };
}

// ---------------------------------------------------------------- the suite

export function atRestSuite(api: TestApi, ctx: RuntimeContext): void {
  const { describe } = api;
  describe("at rest", () => {
    for (const combo of COMBOS) {
      describe(combo.name, () => {
        for (const adapter of ctx.adapters) {
          describe(`on ${adapter.name}`, () => {
            roundTripTests(api, adapter, combo);
            if (combo.cipher !== "none") {
              noPlaintextTests(api, adapter, combo);
              keyTests(api, adapter, combo);
            }
          });
        }
        damageTests(api, combo);
        if (combo.cipher !== "none") crashPlaintextTests(api, combo);
      });
    }
    for (const adapter of ctx.adapters) {
      describe(`options on ${adapter.name}`, () => optionTests(api, adapter));
    }
    nonceTests(api);
    describe("rekey, conversion and packing", () => {
      for (const adapter of ctx.adapters) {
        describe(`on ${adapter.name}`, () => {
          rekeyTests(api, adapter);
          conversionTests(api, adapter);
        });
      }
      conversionCrashTests(api);
      packingTests(api);
    });
  });
}

// ---------------------------------------------------------------- 1. round trip

function roundTripTests({ it, expect }: TestApi, adapter: AdapterFixture, combo: Combo): void {
  it("keeps subjects, headers, payloads and TTLs through several reopens with only the key, as MemStore does", () =>
    inTempDir(adapter, async (dir) => {
      const clock = testClock();
      const key = testKey(1);
      const open = (extra: object) =>
        FileStore.open({
          dir,
          fs: adapter.fs,
          blockSize: BLOCK_SIZE,
          syncIntervalMs: 0,
          allowMsgTtl: true,
          now: clock.now,
          ...extra,
        });
      const model = MemStore.create({ now: clock.now, allowMsgTtl: true });
      const written = newWritten();
      let store = await open(atRestOptions(combo, key.slice()));
      workload([store, model], clock, 0, 90, written);
      expect(brief(snap(store))).toStrictEqual(brief(snap(model)));
      await store.close();
      for (let round = 0; round < 3; round++) {
        store = await open(keyOnly(combo, key));
        expect({ round, ...snap(store) }).toStrictEqual({ round, ...snap(model) });
        workload([store, model], clock, 90 + round * 25, 25, written);
        if (round === 1) await store.flush();
        await store.close();
      }
      // Without the checkpoint: every block scanned.
      adapter.fs.remove(joinPath(dir, "index.ckpt"));
      store = await open(keyOnly(combo, key));
      expect(snap(store)).toStrictEqual(snap(model));
      await store.close();
      // Every block is sealed in the store's format, and the settings file is there.
      const files = listFiles(adapter.fs, dir);
      expect(files).toContain("atrest");
      const blocks = files.filter((f) => f.startsWith("msgs/") && f.endsWith(".blk"));
      expect(blocks.length).toBeGreaterThan(3);
      for (const b of blocks) {
        const head = sealedHeader(readAll(adapter.fs, joinPath(dir, b)));
        expect({ b, version: head.version, bits: head.bits & 0xf }).toStrictEqual({
          b,
          version: 2,
          bits: formatBits(combo),
        });
      }
    }));

  if (combo.cipher !== "none") {
    it("leaves the caller's key as it was (open works on a copy)", () =>
      inTempDir(adapter, async (dir) => {
        const key = testKey(2);
        const store = await FileStore.open({
          dir,
          fs: adapter.fs,
          syncIntervalMs: 0,
          ...atRestOptions(combo, key),
        });
        store.storeMsg("a", null, enc("x"));
        await store.close();
        expect(Array.from(key)).toStrictEqual(Array.from(testKey(2)));
        const again = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, key });
        expect(again.state().msgs).toBe(1);
        await again.close();
        expect(Array.from(key)).toStrictEqual(Array.from(testKey(2)));
      }));
  }
}

// ---------------------------------------------------------------- 2. no plaintext

function noPlaintextTests({ it, expect }: TestApi, adapter: AdapterFixture, combo: Combo): void {
  it("stores no subject, header value, payload or key in plaintext in any file, removals and TTLs included", () =>
    inTempDir(adapter, async (dir) => {
      const clock = testClock();
      const key = testKey(3);
      const written = newWritten();
      const open = (extra: object) =>
        FileStore.open({
          dir,
          fs: adapter.fs,
          blockSize: BLOCK_SIZE,
          syncIntervalMs: 0,
          allowMsgTtl: true,
          now: clock.now,
          ...extra,
        });
      let store = await open(atRestOptions(combo, key.slice()));
      workload([store], clock, 0, 80, written);
      await store.sync();
      // An erase in a sealed block the checkpoint vouches for, once its tombstone is durable.
      await store.flush();
      store.eraseMsg(store.state().firstSeq + 1);
      workload([store], clock, 80, 20, written);
      await store.close();
      const needles = needlesOf(written, key);
      expect(findPlaintext(adapter.fs, dir, needles)).toStrictEqual([]);
      // The checkpoint's TTL section had something to hide.
      expect(readAll(adapter.fs, joinPath(dir, "index.ckpt")).length).toBeGreaterThan(100);
      // A reopen that writes more and truncates (a cut inside a chunk) hides them too.
      store = await open({ key: key.slice() });
      workload([store], clock, 100, 20, written);
      store.truncate(store.state().lastSeq - 5);
      store.compact(store.state().firstSeq + 3);
      await store.close();
      expect(findPlaintext(adapter.fs, dir, needlesOf(written, key))).toStrictEqual([]);
    }));
}

/** A power cut mid-workload (memory adapter): neither the survivor nor its reopen holds plaintext. */
function crashPlaintextTests({ it, expect }: TestApi, combo: Combo): void {
  it("stores no plaintext after a power cut mid-workload, nor after the reopen that recovers it (memory adapter)", async () => {
    const key = testKey(4);
    for (const at of [25, 70, 140]) {
      for (const lose of ["none", "unsynced"] as LoseMode[]) {
        const disk = memoryFileSystem({ seed: at });
        disk.mkdir("/s");
        disk.syncDirectory("/");
        const clock = testClock();
        const written = newWritten();
        const open = (fs: MemoryFileSystem) =>
          FileStore.open({
            dir: "/s",
            fs,
            blockSize: BLOCK_SIZE,
            syncIntervalMs: 0,
            allowMsgTtl: true,
            now: clock.now,
            ...atRestOptions(combo, key.slice()),
          });
        disk.setFaults({ crashAfterChanges: disk.changes + at });
        try {
          const store = await open(disk);
          for (let round = 0; round < 8; round++) {
            workload([store], clock, round * 15, 15, written);
            await store.sync();
            if (round === 4) await store.flush();
          }
          await store.close();
        } catch {
          // The power went.
        }
        expect({ at, crashed: disk.crashed }).toStrictEqual({ at, crashed: true });
        const survivor = disk.crash({ lose });
        const needles = needlesOf(written, key);
        expect({ at, lose, found: findPlaintext(survivor, "/s", needles) }).toStrictEqual({
          at,
          lose,
          found: [],
        });
        // The settings file is written before any data, so the key opens whatever survived.
        if (survivor.stat("/s/atrest") === null) continue;
        const store = await open(survivor);
        workload([store], clock, 500, 10, written);
        await store.close();
        expect({
          at,
          lose,
          found: findPlaintext(survivor, "/s", needlesOf(written, key)),
        }).toStrictEqual({
          at,
          lose,
          found: [],
        });
      }
    }
  });
}

// ---------------------------------------------------------------- 3. keys

function keyTests({ it, expect }: TestApi, adapter: AdapterFixture, combo: Combo): void {
  /** A store of a few blocks written with `key`, closed. */
  const build = async (dir: string, key: Uint8Array) => {
    const clock = testClock();
    const store = await FileStore.open({
      dir,
      fs: adapter.fs,
      blockSize: BLOCK_SIZE,
      syncIntervalMs: 0,
      allowMsgTtl: true,
      now: clock.now,
      ...atRestOptions(combo, key.slice()),
    });
    workload([store], clock, 0, 60, newWritten());
    await store.close();
  };
  const expectUntouched = async (
    dir: string,
    options: object,
    code: string,
    keys: Uint8Array[],
  ) => {
    const before = hashTree(adapter.fs, dir);
    let error: unknown = null;
    try {
      const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, ...options });
      await store.close();
    } catch (err) {
      error = err;
    }
    expect(isJetStoreError(error) ? error.code : String(error)).toBe(code);
    // Not one file changed, none added (a LOCK left behind included), none removed.
    expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
    const texts = errorTexts(error);
    for (const k of keys) {
      for (const spelling of keySpellings(k))
        expect({ leak: texts.includes(spelling) }).toStrictEqual({ leak: false });
    }
  };

  it("refuses a wrong key with ErrBadKey, changing no file and naming no key", () =>
    inTempDir(adapter, async (dir) => {
      const key = testKey(5);
      await build(dir, key);
      const wrong = testKey(6);
      await expectUntouched(dir, { key: wrong.slice() }, "ErrBadKey", [key, wrong]);
      // Also when a cipher and compression are named, the store's own or another.
      await expectUntouched(dir, { ...atRestOptions(combo, wrong.slice()) }, "ErrBadKey", [
        key,
        wrong,
      ]);
      const other = combo.cipher === "aes-256-gcm" ? "chacha20-poly1305" : "aes-256-gcm";
      await expectUntouched(dir, { cipher: other, key: wrong.slice() }, "ErrBadKey", [key, wrong]);
      // One flipped bit of the right key is a wrong key.
      const near = key.slice();
      near[31] ^= 1;
      await expectUntouched(dir, { key: near }, "ErrBadKey", [key, near]);
      // And the right key still opens it.
      const store = await FileStore.open({
        dir,
        fs: adapter.fs,
        syncIntervalMs: 0,
        key: key.slice(),
      });
      expect(store.state().msgs).toBeGreaterThan(0);
      await store.close();
    }));

  it("refuses an encrypted store opened without a key with ErrBadKey, changing no file", () =>
    inTempDir(adapter, async (dir) => {
      const key = testKey(7);
      await build(dir, key);
      await expectUntouched(dir, {}, "ErrBadKey", [key]);
      await expectUntouched(dir, { cipher: combo.cipher }, "ErrBadKey", [key]);
      await expectUntouched(dir, { compression: combo.compression }, "ErrBadKey", [key]);
      // Asking for no cipher needs the key too (to read what is there).
      await expectUntouched(dir, { cipher: "none" }, "ErrBadKey", [key]);
    }));

  it("refuses a cipher without a key on a new store with ErrInvalidArgument, creating nothing", () =>
    inTempDir(adapter, async (dir) => {
      const sub = joinPath(dir, "new-store");
      const error = await codeOfAsync(() =>
        FileStore.open({
          dir: sub,
          fs: adapter.fs,
          cipher: combo.cipher,
          compression: combo.compression,
        }),
      );
      expect(error).toBe("ErrInvalidArgument");
      expect(adapter.fs.stat(sub)).toBeNull();
    }));

  it("refuses a key that is not 32 bytes in a Uint8Array with ErrInvalidArgument, and never shows it", () =>
    inTempDir(adapter, async (dir) => {
      const good = testKey(8);
      const bad: unknown[] = [
        good.subarray(0, 31),
        new Uint8Array([...good, 9]),
        new Uint8Array(0),
        Array.from(good),
        Array.from(good).join(","),
        new Uint16Array(32).fill(0x4142),
        good.buffer,
        null,
        new DataView(good.buffer),
      ];
      for (const key of bad) {
        const before = hashTree(adapter.fs, dir);
        let error: unknown = null;
        try {
          await FileStore.open({
            dir,
            fs: adapter.fs,
            cipher: combo.cipher,
            key: key as Uint8Array,
          });
        } catch (err) {
          error = err;
        }
        expect(isJetStoreError(error) ? error.code : String(error)).toBe("ErrInvalidArgument");
        expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
        const texts = errorTexts(error);
        for (const spelling of [...keySpellings(good), ...keySpellings(good.subarray(0, 31))]) {
          expect({ spelling, leak: texts.includes(spelling) }).toStrictEqual({
            spelling,
            leak: false,
          });
        }
      }
    }));
}

function optionTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  it("refuses unknown cipher and compression names with ErrInvalidArgument", () =>
    inTempDir(adapter, async (dir) => {
      const sub = joinPath(dir, "s");
      for (const options of [
        { cipher: "aes", key: testKey(9) },
        { cipher: "AES-256-GCM", key: testKey(9) },
        { cipher: "chacha20", key: testKey(9) },
        { cipher: "", key: testKey(9) },
        { cipher: null, key: testKey(9) },
        { compression: "s2" },
        { compression: "Snappy" },
        { compression: true },
        { compression: null },
      ]) {
        const code = await codeOfAsync(() =>
          FileStore.open({ dir: sub, fs: adapter.fs, ...(options as object) } as never),
        );
        expect({ options: Object.keys(options), code }).toStrictEqual({
          options: Object.keys(options),
          code: "ErrInvalidArgument",
        });
        expect(adapter.fs.stat(sub)).toBeNull();
      }
    }));

  it("refuses a key for a plain store when no cipher is asked for, changing no file", () =>
    inTempDir(adapter, async (dir) => {
      const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
      store.storeMsg("plain", null, enc("x"));
      await store.close();
      const before = hashTree(adapter.fs, dir);
      const code = await codeOfAsync(() =>
        FileStore.open({ dir, fs: adapter.fs, key: testKey(10) }),
      );
      expect(code).toBe("ErrInvalidArgument");
      expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
    }));
}

// ---------------------------------------------------------------- 4. damage stays local

interface DamageBase {
  /** The sealed store's files and the plain store's, written by the same script. */
  sealed: Map<string, Uint8Array>;
  plain: Map<string, Uint8Array>;
  blocks: string[];
  lastSeq: number;
  /** What every sequence held, read back from the undamaged plain store. */
  payloads: Map<number, string>;
}

const DAMAGE_DIR = "/d";

async function buildDamageBase(combo: Combo): Promise<DamageBase> {
  const build = async (options: object) => {
    const fs = memoryFileSystem();
    const clock = testClock();
    const store = await FileStore.open({
      dir: DAMAGE_DIR,
      fs,
      blockSize: DAMAGE_BLOCK_SIZE,
      syncIntervalMs: 0,
      now: clock.now,
      ...options,
    });
    for (let i = 1; i <= DAMAGE_MESSAGES; i++) {
      clock.t = BigInt(i) * 1000n;
      const hdr = i % 4 === 0 ? enc(`h:${i}`) : null;
      store.storeMsg(`orders.${i % 5}`, hdr, seeded(20 + ((i * 7) % 60), i));
      // A write-out every few messages: several chunks per block.
      if (i % 4 === 0) await store.sync();
    }
    await store.close();
    const files = new Map<string, Uint8Array>();
    for (const rel of listFiles(fs, DAMAGE_DIR))
      files.set(rel, fs.readFile(joinPath(DAMAGE_DIR, rel))!);
    return files;
  };
  const sealed = await build(atRestOptions(combo, testKey(11)));
  const plain = await build({});
  const blocks = [...sealed.keys()]
    .filter((f) => f.startsWith("msgs/"))
    .sort((a, b) => Number.parseInt(a.slice(5), 10) - Number.parseInt(b.slice(5), 10));
  const { payloads } = await outcomeOf(plain, {}, DAMAGE_MESSAGES);
  return { sealed, plain, blocks, lastSeq: DAMAGE_MESSAGES, payloads };
}

interface Outcome {
  lastSeq: number;
  msgs: number;
  /** Sequences that load, and those that do not. */
  loads: number[];
  lost: number[];
  damaged: { block: number; offset: number }[];
}

/** Opens a store on `files`, loads every sequence, and reports what it found. */
async function outcomeOf(
  files: Map<string, Uint8Array>,
  options: object,
  lastSeq: number,
): Promise<Outcome & { payloads: Map<number, string> }> {
  const fs = memoryFileSystem();
  fs.mkdir(joinPath(DAMAGE_DIR, "msgs"));
  for (const [rel, bytes] of files) fs.writeFile(joinPath(DAMAGE_DIR, rel), bytes);
  const store = await FileStore.open({
    dir: DAMAGE_DIR,
    fs,
    blockSize: DAMAGE_BLOCK_SIZE,
    syncIntervalMs: 0,
    ...options,
  });
  const loads: number[] = [];
  const payloads = new Map<number, string>();
  for (let seq = 1; seq <= lastSeq; seq++) {
    try {
      const m = store.loadMsg(seq);
      loads.push(seq);
      payloads.set(
        seq,
        `${m.subject}|${m.hdr === null ? "-" : Array.from(m.hdr).join(",")}|${Array.from(m.msg).join(",")}`,
      );
    } catch {
      // Lost (or damaged and found now).
    }
  }
  const state = store.state();
  const out = {
    lastSeq: state.lastSeq,
    msgs: state.msgs,
    loads,
    lost: state.lost?.msgs ?? [],
    damaged: (state.lost?.damaged ?? []).map((d) => ({ block: d.block, offset: d.offset })),
    payloads,
  };
  // The store keeps working: a write, a close, a reopen.
  const next = store.storeMsg("after.damage", null, enc("still here"));
  await store.close();
  const again = await FileStore.open({
    dir: DAMAGE_DIR,
    fs,
    blockSize: DAMAGE_BLOCK_SIZE,
    syncIntervalMs: 0,
    ...options,
  });
  const back = again.loadMsg(next.seq);
  if (new TextDecoder().decode(back.msg) !== "still here" || next.seq !== state.lastSeq + 1) {
    throw new Error(`after damage: the next write came back as ${back.seq} ${back.subject}`);
  }
  await again.close();
  return out;
}

type ChunkDamage = "body" | "header";

function damageTests({ describe, it, expect }: TestApi, combo: Combo): void {
  describe("damage stays local (memory adapter)", () => {
    let base: Promise<DamageBase> | undefined;
    const key = testKey(11);
    const options = keyOnly(combo, key);

    /**
     * Damages chunk `pick` of block `blockIndex` (negative: from the end) and
     * checks the outcome: exactly the messages of that chunk lost, reported
     * with the block and an offset inside the chunk, every other message
     * intact, the same as zeroing that chunk's plaintext in the plain store
     * (filling it with 0xff at the plain block's end, where zeros are preallocation).
     */
    const check = async (
      blockIndex: number,
      pick: (n: number) => number,
      damage: ChunkDamage,
      checkpoint: boolean,
    ) => {
      const b = await (base ??= buildDamageBase(combo));
      const blockName = b.blocks.at(blockIndex)!;
      const blockNo = Number.parseInt(blockName.slice(5), 10);
      const sealed = new Map([...b.sealed].map(([k, v]) => [k, v.slice()]));
      const plain = new Map([...b.plain].map(([k, v]) => [k, v.slice()]));
      const file = sealed.get(blockName)!;
      const chunks = parseChunks(file, combo.cipher !== "none");
      expect(chunks.length).toBeGreaterThan(3);
      const c = chunks[pick(chunks.length)];
      const isLast = c === chunks.at(-1) && blockIndex === -1;
      // Inside the body (past any compression header: the middle), or in the header's length field.
      const at =
        damage === "body" ? c.fileStart + c.headerLength + (c.storedLength >> 1) : c.fileStart + 5;
      file[at] ^= 0x10;
      const plainBlock = plain.get(blockName)!;
      // Zeros at the very end of a plain block read as its preallocated room, not as damage:
      // the last chunk of the last block is matched by bytes that fail verification as zeros do.
      plainBlock.fill(isLast ? 0xff : 0, c.plainStart, c.plainStart + c.plainLength);
      if (!checkpoint) {
        sealed.delete("index.ckpt");
        plain.delete("index.ckpt");
      }
      const got = await outcomeOf(sealed, options, b.lastSeq);
      const want = await outcomeOf(plain, {}, b.lastSeq);
      const where = {
        block: blockName,
        chunk: chunks.indexOf(c),
        of: chunks.length,
        damage,
        checkpoint,
      };
      // The records the chunk held, by an independent parse of the pristine plain block.
      const inChunk = parseRecords(b.plain.get(blockName)!)
        .filter(
          (r) => r.offset < c.plainStart + c.plainLength && r.offset + r.length > c.plainStart,
        )
        .map((r) => r.seq);
      expect(inChunk.length).toBeGreaterThan(0);
      if (combo.cipher !== "none") {
        // Every message outside the chunk loads, byte for byte as in the plain store.
        expect({ ...where, loads: got.loads }).toStrictEqual({
          ...where,
          loads: range(1, isLast && !checkpoint ? inChunk[0] - 1 : b.lastSeq).filter(
            (s) => !inChunk.includes(s),
          ),
        });
        if (!isLast || checkpoint) {
          expect({ ...where, lost: got.lost }).toStrictEqual({ ...where, lost: inChunk });
          // Told to this block, at offsets inside the chunk, or at the start of
          // the record that runs into it from the chunk before (records here
          // are under 256 bytes).
          expect(got.damaged.length).toBeGreaterThan(0);
          for (const d of got.damaged) {
            const inside =
              d.block === blockNo &&
              d.offset > c.plainStart - 256 &&
              d.offset <= c.plainStart + c.plainLength;
            expect({ ...where, d, inside }).toStrictEqual({ ...where, d, inside: true });
          }
        }
        // The same as the plain store with the chunk's bytes zeroed.
        expect({ ...where, ...got, payloads: undefined }).toStrictEqual({
          ...where,
          ...want,
          payloads: undefined,
        });
      } else {
        // Without a tag, a flipped body bit costs its record only; never more than the chunk.
        for (const s of got.lost)
          expect({ ...where, s, inChunk: inChunk.includes(s) }).toStrictEqual({
            ...where,
            s,
            inChunk: true,
          });
        expect(got.loads.length).toBeGreaterThanOrEqual(
          b.lastSeq - inChunk.length - (isLast ? 0 : 0),
        );
      }
      // Whatever loads is what was written.
      for (const seq of got.loads) {
        expect({ seq, payload: got.payloads.get(seq) }).toStrictEqual({
          seq,
          payload: b.payloads.get(seq),
        });
      }
    };

    for (const checkpoint of [true, false]) {
      const cp = checkpoint ? "with the checkpoint" : "without the checkpoint";
      for (const damage of ["body", "header"] as const) {
        it(`loses only the messages of a chunk whose ${damage} has a flipped bit, in a middle block, ${cp}`, () =>
          check(1, (n) => n >> 1, damage, checkpoint));
        it(`loses only the messages of a chunk whose ${damage} has a flipped bit, in the middle of the last block, ${cp}`, () =>
          check(-1, (n) => n >> 1, damage, checkpoint));
        it(`loses only the messages of the last block's last chunk whose ${damage} has a flipped bit, ${cp}`, () =>
          check(-1, (n) => n - 1, damage, checkpoint));
        it(`loses only the messages of a block's first chunk whose ${damage} has a flipped bit, ${cp}`, () =>
          check(2, () => 0, damage, checkpoint));
      }
    }

    for (const checkpoint of [true, false]) {
      it(`cuts the last block inside its last chunk like a torn tail and keeps working, ${checkpoint ? "with" : "without"} the checkpoint`, async () => {
        const b = await (base ??= buildDamageBase(combo));
        const blockName = b.blocks.at(-1)!;
        const sealed = new Map([...b.sealed].map(([k, v]) => [k, v.slice()]));
        const plain = new Map([...b.plain].map(([k, v]) => [k, v.slice()]));
        const chunks = parseChunks(sealed.get(blockName)!, combo.cipher !== "none");
        const c = chunks.at(-1)!;
        for (const cut of [
          c.fileStart + 3,
          c.fileStart + c.headerLength + (c.storedLength >> 1),
          c.fileStart + c.headerLength + c.storedLength - 1,
        ]) {
          const files = new Map(sealed);
          files.set(blockName, sealed.get(blockName)!.slice(0, cut));
          const plainFiles = new Map(plain);
          // The plain twin: torn inside the chunk's first record (a torn chunk is torn from its start).
          plainFiles.set(blockName, plain.get(blockName)!.slice(0, c.plainStart + 5));
          if (!checkpoint) {
            files.delete("index.ckpt");
            plainFiles.delete("index.ckpt");
          }
          const got = await outcomeOf(files, options, b.lastSeq);
          const want = await outcomeOf(plainFiles, {}, b.lastSeq);
          expect({ cut, ...got, payloads: undefined }).toStrictEqual({
            cut,
            ...want,
            payloads: undefined,
          });
          const inChunk = parseRecords(b.plain.get(blockName)!)
            .filter((r) => r.offset >= c.plainStart)
            .map((r) => r.seq);
          expect({ cut, loads: got.loads }).toStrictEqual({
            cut,
            loads: range(1, inChunk[0] - 1),
          });
        }
      });
    }
  });
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------- 5. nonces

type NonceOp =
  | { kind: "store"; count: number; size: number; hdr: boolean; ttl: boolean }
  | { kind: "remove"; at: number }
  | { kind: "erase"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "compact"; at: number }
  | { kind: "purge" }
  | { kind: "sync" }
  | { kind: "flush" }
  | { kind: "reopen" }
  | { kind: "crash"; after: number; lose: LoseMode }
  | { kind: "failSync"; drop: boolean }
  | { kind: "failRewrite" };

const at = fc.integer({ min: 0, max: 1000 });
const nonceOpArb: fc.Arbitrary<NonceOp> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("store" as const),
      count: fc.integer({ min: 1, max: 25 }),
      size: fc.oneof(fc.nat(80), fc.nat(3000)),
      hdr: fc.boolean(),
      ttl: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("remove" as const), at }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("erase" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), at }) },
  { weight: 1, arbitrary: fc.constant({ kind: "purge" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "sync" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "reopen" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("crash" as const),
      after: fc.integer({ min: 1, max: 40 }),
      lose: fc.constantFrom<LoseMode>("none", "unsynced", "random"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("failSync" as const), drop: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "failRewrite" as const }) },
);

/** Runs `ops` on a store sealed with `cipher`, crashing and faulting as told; returns the ops that threw. */
async function runNonceWorkload(
  ops: NonceOp[],
  cipher: Combo["cipher"],
  compression: Combo["compression"],
  syncAlways: boolean,
  failRewrites = true,
): Promise<void> {
  let fs = memoryFileSystem({ seed: 1 });
  fs.mkdir("/n");
  const clock = testClock();
  const key = testKey(12);
  const open = () =>
    FileStore.open({
      dir: "/n",
      fs,
      blockSize: BLOCK_SIZE,
      syncIntervalMs: 0,
      syncAlways,
      allowMsgTtl: true,
      now: clock.now,
      cipher,
      compression,
      key: key.slice(),
    });
  let store: FileStore | null = await open();
  let step = 0;
  const target = (s: FileStore, thousandths: number) =>
    Math.max(1, Math.round((thousandths / 1000) * (s.fastState().lastSeq + 2)));
  const recover = async () => {
    await store?.close().catch(() => {});
    store = null;
    if (fs.crashed) fs = fs.crash({ lose: "unsynced" });
    fs.setFaults({
      failSync: null,
      failWrite: null,
      dropUnsyncedOnSyncFailure: null,
      crashAfterChanges: null,
    });
    store = await open();
  };
  for (const op of ops) {
    step++;
    const s: FileStore = store ?? (await open());
    store = s;
    try {
      switch (op.kind) {
        case "store":
          for (let i = 0; i < op.count; i++) {
            clock.t += 1_000_000n;
            s.storeMsg(
              `n.${step % 5}`,
              op.hdr ? enc(`h-${step}-${i}`) : null,
              seeded(op.size, step * 100 + i),
              op.ttl ? 3600 : 0,
            );
          }
          break;
        case "remove":
          s.removeMsg(target(s, op.at));
          break;
        case "erase":
          s.eraseMsg(target(s, op.at));
          break;
        case "truncate":
          s.truncate(target(s, op.at));
          break;
        case "compact":
          s.compact(target(s, op.at));
          break;
        case "purge":
          s.purge();
          break;
        case "sync":
          await s.sync();
          break;
        case "flush":
          await s.flush();
          break;
        case "reopen":
          await s.close();
          store = await open();
          break;
        case "crash": {
          fs.setFaults({ crashAfterChanges: fs.changes + op.after });
          // Run on until the power goes (or give up after a while and cut it by hand).
          for (let i = 0; i < 30 && !fs.crashed; i++) {
            clock.t += 1_000_000n;
            s.storeMsg("c", null, seeded(200, step * 1000 + i));
            if (i % 3 === 2) await s.sync();
          }
          await s.close().catch(() => {});
          store = null;
          fs = fs.crash({ lose: op.lose, seed: step });
          store = await open();
          break;
        }
        case "failSync":
          fs.setFaults({
            // Without failed rewrites, an fsync of a file written beside a block never fails.
            failSync: failRewrites
              ? { index: fs.counters.syncs + 1 }
              : { index: fs.counters.syncs + 1, path: (p: string) => !p.endsWith(".tmp") },
            dropUnsyncedOnSyncFailure: op.drop,
          });
          clock.t += 1_000_000n;
          s.storeMsg("f", null, seeded(100, step));
          await s.sync().catch(() => {});
          fs.setFaults({ failSync: null });
          await s.sync().catch(() => {});
          fs.setFaults({ dropUnsyncedOnSyncFailure: null });
          break;
        case "failRewrite": {
          // A file written beside a block (erase's rewrite of a sealed block) fails once; later syncs write again.
          fs.setFaults({ failWrite: { path: (p: string) => p.endsWith(".tmp") } });
          const first = s.fastState().firstSeq;
          if (s.fastState().msgs > 0) s.eraseMsg(first);
          await s.sync().catch(() => {});
          fs.setFaults({ failWrite: null });
          await s.sync().catch(() => {});
          break;
        }
      }
    } catch {
      await recover();
    }
    if (fs.crashed) await recover();
  }
  await (store as FileStore | null)?.close().catch(() => {});
}

function nonceTests({ describe, it, expect }: TestApi): void {
  describe("nonces (memory adapter, every seal recorded)", () => {
    for (const cipher of ["chacha20-poly1305", "aes-256-gcm"] as const) {
      for (const syncAlways of [false, true]) {
        for (const failedRewrites of [false, true]) {
          const mode = syncAlways ? "syncAlways" : "group commit";
          const faults = failedRewrites
            ? "crashes, fsync failures and failed block rewrites"
            : "crashes and fsync failures";
          it(`never seals two different plaintexts under one (key, nonce) over a fuzzed workload with ${faults} (${cipher}, ${mode})`, async () => {
            const log = new SealLog();
            let seals = 0;
            const ops = failedRewrites
              ? nonceOpArb
              : nonceOpArb.filter((op) => op.kind !== "failRewrite");
            await withSealLog(log, async () => {
              await fc.assert(
                fc.asyncProperty(
                  fc.array(ops, { minLength: 5, maxLength: 30, size: "max" }),
                  fc.boolean(),
                  async (ops, snappy) => {
                    log.clear();
                    await runNonceWorkload(
                      ops,
                      cipher,
                      snappy ? "snappy" : "none",
                      syncAlways,
                      failedRewrites,
                    );
                    seals += log.seals;
                    expect(log.reuses).toStrictEqual([]);
                  },
                ),
                { numRuns: syncAlways ? 10 : 15 },
              );
            });
            expect(seals).toBeGreaterThan(100);
          }, 60_000);
        }
      }
    }

    for (const grow of [true, false]) {
      it(`never reseals a chunk under its nonce when syncAlways took a record back and its cut failed (next record ${grow ? "longer" : "shorter"})`, async () => {
        const log = new SealLog();
        await withSealLog(log, async () => {
          const disk = memoryFileSystem();
          const faulty = withTruncateFaults(disk);
          const clock = testClock();
          const key = testKey(14);
          const open = () =>
            FileStore.open({
              dir: "/t",
              fs: faulty.fs,
              blockSize: BLOCK_SIZE,
              syncIntervalMs: 0,
              syncAlways: true,
              now: clock.now,
              cipher: "chacha20-poly1305",
              key: key.slice(),
            });
          const store = await open();
          for (let i = 0; i < 5; i++) {
            clock.t += 1_000_000n;
            store.storeMsg("t", null, seeded(100, i));
          }
          // The fsync of the next record fails; taking it back, its cut fails too.
          disk.setFaults({ failSync: { index: disk.counters.syncs + 1 } });
          faulty.failTruncate = true;
          clock.t += 1_000_000n;
          const refused = codeOfSync(() => store.storeMsg("t", null, seeded(300, 99)));
          disk.setFaults({ failSync: null });
          faulty.failTruncate = false;
          expect({ refused, truncatesFailed: faulty.truncatesFailed }).toStrictEqual({
            refused: "ErrIO",
            truncatesFailed: 1,
          });
          // The next record is written where the refused one was.
          clock.t += 1_000_000n;
          const next = store.storeMsg("t", null, enc(grow ? "n".repeat(400) : "short"));
          await store.close();

          const again = await open();
          expect(new TextDecoder().decode(again.loadMsg(next.seq).msg)).toBe(
            grow ? "n".repeat(400) : "short",
          );
          // (What is left of the refused record after a shorter one is cut at open, as in a plain store.)
          await again.close();
          expect(log.reuses).toStrictEqual([]);
        });
      });
    }

    it("restores the default provider after recording", async () => {
      const { defaultCrypto } = await import("../../runtimes/aead.ts");
      const before = defaultCrypto();
      await withSealLog(new SealLog(), async () => {
        expect(defaultCrypto()).not.toBe(before);
      });
      expect(defaultCrypto()).toBe(before);
    });

    for (const syncAlways of [false, true]) {
      it(`never reseals an erased record under the old chunk's nonce when the erase's rewrite of the block failed (${syncAlways ? "syncAlways" : "group commit"})`, async () => {
        const log = new SealLog();
        await withSealLog(log, async () => {
          const fs = memoryFileSystem();
          const clock = testClock();
          const key = testKey(13);
          const open = () =>
            FileStore.open({
              dir: "/e",
              fs,
              blockSize: BLOCK_SIZE,
              syncIntervalMs: 0,
              syncAlways,
              now: clock.now,
              cipher: "chacha20-poly1305",
              key: key.slice(),
            });
          const store = await open();
          for (let i = 0; i < 60; i++) {
            clock.t += 1_000_000n;
            store.storeMsg("e", null, seeded(150, i));
          }
          await store.flush();
          // The rewrite of block 1 (written beside it, then renamed) fails once.
          fs.setFaults({ failWrite: { path: (p: string) => p.endsWith(".tmp") } });
          try {
            store.eraseMsg(2);
            await store.sync();
          } catch {
            // Reported; the erase is kept and written again before the block's next fsync.
          }
          fs.setFaults({ failWrite: null });
          // Anything that fsyncs block 1 again writes the kept erase.
          await store.sync().catch(() => {});
          store.removeMsg(3);
          await store.flush().catch(() => {});
          await store.close().catch(() => {});
          expect(log.reuses).toStrictEqual([]);
          const again = await open();
          expect(codeOfSync(() => again.loadMsg(2))).toBe("ErrStoreMsgNotFound");
          expect(again.loadMsg(1).seq).toBe(1);
          await again.close();
        });
      });
    }
  });
}

function codeOfSync(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (err) {
    return isJetStoreError(err) ? err.code : String(err);
  }
}

// ---------------------------------------------------------------- 6. rekey (pending)

function rekeyTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  for (const cipher of ["chacha20-poly1305", "aes-256-gcm"] as const) {
    it(`rekey (${cipher}) rewrites only the atrest file; the old key is refused, the new one opens everything`, () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const key = testKey(20);
        const newKey = testKey(21);
        const model = MemStore.create({ now: clock.now, allowMsgTtl: true });
        const options = {
          dir,
          fs: adapter.fs,
          blockSize: BLOCK_SIZE,
          syncIntervalMs: 0,
          allowMsgTtl: true,
          now: clock.now,
        };
        const store = await FileStore.open({
          ...options,
          cipher,
          compression: "snappy",
          key: key.slice(),
        });
        workload([store, model], clock, 0, 60, newWritten());
        await store.close();
        const before = hashTree(adapter.fs, dir);
        await rekey({ dir, key: key.slice(), newKey: newKey.slice(), fs: adapter.fs });
        const after = hashTree(adapter.fs, dir);
        expect(Object.keys(after)).toStrictEqual(Object.keys(before));
        const { atrest: a1, ...rest1 } = before;
        const { atrest: a2, ...rest2 } = after;
        expect(rest2).toStrictEqual(rest1);
        expect(a2).not.toBe(a1);
        expect(await codeOfAsync(() => FileStore.open({ ...options, key: key.slice() }))).toBe(
          "ErrBadKey",
        );
        expect(hashTree(adapter.fs, dir)).toStrictEqual(after);
        const reopened = await FileStore.open({ ...options, key: newKey.slice() });
        expect(snap(reopened)).toStrictEqual(snap(model));
        await reopened.close();
        // The caller's keys are left as they were.
        expect(Array.from(key)).toStrictEqual(Array.from(testKey(20)));
      }));
  }

  it("rekey with a wrong key is ErrBadKey and changes nothing; bad arguments are ErrInvalidArgument", () =>
    inTempDir(adapter, async (dir) => {
      const key = testKey(22);
      const store = await FileStore.open({
        dir,
        fs: adapter.fs,
        syncIntervalMs: 0,
        cipher: "chacha20-poly1305",
        key: key.slice(),
      });
      store.storeMsg(`secret.${TAG}`, null, enc("x"));
      await store.close();
      const before = hashTree(adapter.fs, dir);
      const wrong = testKey(23);
      let error: unknown = null;
      try {
        await rekey({ dir, key: wrong.slice(), newKey: testKey(24), fs: adapter.fs });
      } catch (err) {
        error = err;
      }
      expect(isJetStoreError(error) ? error.code : String(error)).toBe("ErrBadKey");
      const texts = errorTexts(error);
      for (const k of [key, wrong, testKey(24)]) {
        for (const s of keySpellings(k))
          expect({ leak: texts.includes(s) }).toStrictEqual({ leak: false });
      }
      expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
      const bad: unknown[] = [
        undefined,
        null,
        "dir",
        { dir, key: key.slice(), fs: adapter.fs },
        { dir, newKey: testKey(24), fs: adapter.fs },
        { dir, key: key.subarray(0, 31), newKey: testKey(24), fs: adapter.fs },
        { dir, key: key.slice(), newKey: new Uint8Array(33), fs: adapter.fs },
        { dir, key: Array.from(key), newKey: testKey(24), fs: adapter.fs },
        { dir: "", key: key.slice(), newKey: testKey(24), fs: adapter.fs },
        { dir: 5, key: key.slice(), newKey: testKey(24), fs: adapter.fs },
        { dir, key: key.slice(), newKey: testKey(24), fs: adapter.fs, extra: 1 },
      ];
      for (const [i, args] of bad.entries()) {
        expect({ i, code: await codeOfAsync(() => rekeyRaw(args)) }).toStrictEqual({
          i,
          code: "ErrInvalidArgument",
        });
        expect(hashTree(adapter.fs, dir)).toStrictEqual(before);
      }
      // A plain store has no key to change.
      const plainDir = joinPath(dir, "plain");
      const p = await FileStore.open({ dir: plainDir, fs: adapter.fs, syncIntervalMs: 0 });
      await p.close();
      const code = await codeOfAsync(() =>
        rekey({ dir: plainDir, key: key.slice(), newKey: testKey(24), fs: adapter.fs }),
      );
      expect(["ErrInvalidArgument", "ErrBadKey"]).toContain(code);
      // A store that is open is locked.
      const open = await FileStore.open({
        dir,
        fs: adapter.fs,
        syncIntervalMs: 0,
        key: key.slice(),
      });
      try {
        expect(
          await codeOfAsync(() =>
            rekey({ dir, key: key.slice(), newKey: testKey(24), fs: adapter.fs }),
          ),
        ).toBe("ErrStoreLocked");
      } finally {
        await open.close();
      }
    }));
}

// ---------------------------------------------------------------- conversion (pending)

/** True when every block file of `dir` is in `combo`'s format (and packed when it compresses, except the last). */
function blocksIn(fs: AdapterFixture["fs"], dir: string, combo: Combo): string[] {
  const wrong: string[] = [];
  const blocks = listFiles(fs, dir).filter((f) => /^msgs\/\d+\.blk$/.test(f));
  for (const b of blocks) {
    const bytes = readAll(fs, joinPath(dir, b));
    if (bytes.length === 0) continue;
    const head = sealedHeader(bytes);
    const plainWanted = combo.cipher === "none" && combo.compression === "none";
    if (
      plainWanted
        ? head.version !== 1
        : head.version !== 2 || (head.bits & 0xf) !== formatBits(combo)
    ) {
      wrong.push(`${b}: version ${head.version} bits ${head.bits}`);
    }
  }
  return wrong;
}

/** Waits (the store open) until every block is in `combo`'s format, up to a few seconds. */
async function settleConversion(
  store: FileStore,
  fs: AdapterFixture["fs"],
  dir: string,
  combo: Combo,
): Promise<string[]> {
  let wrong = blocksIn(fs, dir, combo);
  for (let i = 0; i < 50 && wrong.length > 0; i++) {
    await store.flush();
    await sleep(20);
    wrong = blocksIn(fs, dir, combo);
  }
  return wrong;
}

const PLAIN_COMBO: Combo = { name: "plain", cipher: "none", compression: "none" };

function conversionTests({ it, expect }: TestApi, adapter: AdapterFixture): void {
  const cases: [Combo, Combo][] = [
    [PLAIN_COMBO, COMBOS[3]],
    [COMBOS[1], COMBOS[2]],
    [COMBOS[2], COMBOS[4]],
    [COMBOS[3], PLAIN_COMBO],
  ];
  // On disk two cases; every case on the memory adapter (time).
  for (const [from, to] of adapter.onDisk ? cases.slice(0, 2) : cases) {
    it(`converts a store written ${from.name} to ${to.name} block by block, keeping every message`, () =>
      inTempDir(adapter, async (dir) => {
        const clock = testClock();
        const key = testKey(30);
        const model = MemStore.create({ now: clock.now, allowMsgTtl: true });
        const written = newWritten();
        const options = {
          dir,
          fs: adapter.fs,
          blockSize: BLOCK_SIZE,
          syncIntervalMs: 0,
          allowMsgTtl: true,
          now: clock.now,
        };
        let store = await FileStore.open({ ...options, ...atRestOptions(from, key.slice()) });
        workload([store, model], clock, 0, 70, written);
        await store.close();
        const withKey = from.cipher !== "none" || to.cipher !== "none" ? { key: key.slice() } : {};
        store = await FileStore.open({
          ...options,
          cipher: to.cipher,
          compression: to.compression,
          ...withKey,
        });
        expect(snap(store)).toStrictEqual(snap(model));
        workload([store, model], clock, 70, 20, written);
        const wrong = await settleConversion(store, adapter.fs, dir, to);
        expect(wrong).toStrictEqual([]);
        expect(snap(store)).toStrictEqual(snap(model));
        await store.close();
        if (to.cipher !== "none")
          expect(findPlaintext(adapter.fs, dir, needlesOf(written, key))).toStrictEqual([]);
        // Reopened with no at-rest options (the key only when it now has a cipher): the new settings hold.
        store = await FileStore.open({
          ...options,
          ...(to.cipher !== "none" ? { key: key.slice() } : {}),
        });
        expect(snap(store)).toStrictEqual(snap(model));
        await store.close();
        expect(blocksIn(adapter.fs, dir, to)).toStrictEqual([]);
      }));
  }
}

function conversionCrashTests({ it, expect }: TestApi): void {
  it("a conversion (plain to chacha20-poly1305 + snappy) cut by a power cut at any change reopens consistent and goes on (memory adapter)", async () => {
    const to = COMBOS[1];
    const key = testKey(31);
    const clock = testClock();
    const model = MemStore.create({ now: clock.now, allowMsgTtl: true });
    const base = memoryFileSystem({ seed: 3 });
    base.mkdir("/c");
    const opts = (fs: MemoryFileSystem) => ({
      dir: "/c",
      fs,
      allowMsgTtl: true,
      blockSize: BLOCK_SIZE,
      syncIntervalMs: 0,
      now: clock.now,
    });
    const first = await FileStore.open(opts(base));
    const written = newWritten();
    workload([first, model], clock, 0, 60, written);
    await first.close();
    const want = snap(model);
    const files = new Map(listFiles(base, "/c").map((f) => [f, base.readFile(joinPath("/c", f))!]));
    const fresh = () => {
      const fs = memoryFileSystem({ seed: 3 });
      fs.mkdir("/c/msgs");
      // Directories a power cut keeps: made durable as a store that was open before would have them.
      fs.syncDirectory("/");
      fs.syncDirectory("/c");
      for (const [f, b] of files) fs.writeFile(joinPath("/c", f), b);
      return fs;
    };
    // Count the conversion's changes in a clean run.
    const clean = fresh();
    const c0 = clean.changes;
    const s = await FileStore.open({
      ...opts(clean),
      cipher: to.cipher,
      compression: to.compression,
      key: key.slice(),
    });
    const left = await settleConversion(s, clean, "/c", to);
    await s.close();
    expect(left).toStrictEqual([]);
    const points = clean.changes - c0;
    expect(points).toBeGreaterThan(5);
    for (let k = 1; k <= points; k += Math.max(1, Math.floor(points / 25))) {
      for (const lose of ["unsynced", "none"] as LoseMode[]) {
        const fs = fresh();
        fs.setFaults({ crashAfterChanges: fs.changes + k });
        try {
          const st = await FileStore.open({
            ...opts(fs),
            cipher: to.cipher,
            compression: to.compression,
            key: key.slice(),
          });
          await settleConversion(st, fs, "/c", to).catch(() => []);
          await st.close();
        } catch {
          // The power went.
        }
        const survivor = fs.crash({ lose });
        const withKey = survivor.stat("/c/atrest") === null ? {} : { key: key.slice() };
        const again = await FileStore.open({
          ...opts(survivor),
          cipher: to.cipher,
          compression: to.compression,
          ...withKey,
          key: key.slice(),
        });
        expect({ k, lose, ...snap(again) }).toStrictEqual({ k, lose, ...want });
        expect({ k, lose, left: await settleConversion(again, survivor, "/c", to) }).toStrictEqual({
          k,
          lose,
          left: [],
        });
        await again.close();
        expect({
          k,
          lose,
          found: findPlaintext(survivor, "/c", needlesOf(written, key)),
        }).toStrictEqual({ k, lose, found: [] });
      }
    }
  }, 60_000);
}

// ---------------------------------------------------------------- packing (pending)

function packingTests({ it, expect }: TestApi): void {
  for (const combo of [COMBOS[1], COMBOS[4]]) {
    it(`packs full blocks of a ${combo.name} store: compressible messages take at most 60 % of a plain store's bytes`, async () => {
      const sizeOf = async (options: object) => {
        const fs = memoryFileSystem();
        const clock = testClock();
        const store = await FileStore.open({
          dir: "/p",
          fs,
          blockSize: 64 * 1024,
          syncIntervalMs: 0,
          now: clock.now,
          ...options,
        });
        for (let i = 0; i < 1500; i++) {
          clock.t += 1000n;
          store.storeMsg(
            `orders.${i % 5}`,
            null,
            enc(
              JSON.stringify({
                id: i,
                user: `user-${i % 50}`,
                status: "shipped",
                items: [
                  { sku: "A-1", qty: 1 },
                  { sku: "B-2", qty: 2 },
                ],
              }),
            ),
          );
        }
        await store.flush();
        // Packing runs off the hot path: give it time.
        for (let i = 0; i < 50; i++) {
          const packed = listFiles(fs, "/p")
            .filter((f) => /^msgs\/\d+\.blk$/.test(f))
            .map((f) => sealedHeader(fs.readFile(joinPath("/p", f))!));
          if (packed.slice(0, -1).every((h) => (h.bits & 0x10) !== 0)) break;
          await sleep(20);
        }
        await store.close();
        let bytes = 0;
        for (const f of listFiles(fs, "/p"))
          if (f.startsWith("msgs/")) bytes += fs.readFile(joinPath("/p", f))!.length;
        // And what it holds is intact.
        const again = await FileStore.open({
          dir: "/p",
          fs,
          syncIntervalMs: 0,
          ...("key" in options ? { key: testKey(40) } : {}),
        });
        const ok =
          again.state().msgs === 1500 &&
          JSON.parse(new TextDecoder().decode(again.loadMsg(1234).msg)).id === 1233;
        await again.close();
        return { bytes, ok };
      };
      const plain = await sizeOf({});
      const packed = await sizeOf(atRestOptions(combo, testKey(40)));
      expect(packed.ok).toBe(true);
      expect(packed.bytes / plain.bytes).toBeLessThanOrEqual(0.6);
    });
  }

  it("packing never puts plaintext on disk with a cipher, and a crashed pack leaves a readable store (memory adapter)", async () => {
    const combo = COMBOS[1];
    const key = testKey(41);
    const fs = memoryFileSystem({ seed: 9 });
    fs.mkdir("/q");
    fs.syncDirectory("/");
    const clock = testClock();
    const written = newWritten();
    const store = await FileStore.open({
      dir: "/q",
      fs,
      blockSize: BLOCK_SIZE,
      syncIntervalMs: 0,
      allowMsgTtl: true,
      now: clock.now,
      ...atRestOptions(combo, key.slice()),
    });
    workload([store], clock, 0, 120, written);
    await store.sync();
    await sleep(100);
    const survivor = fs.crash({ lose: "unsynced" });
    await store.close().catch(() => {});
    expect(findPlaintext(survivor, "/q", needlesOf(written, key))).toStrictEqual([]);
    const again = await FileStore.open({
      dir: "/q",
      fs: survivor,
      syncIntervalMs: 0,
      allowMsgTtl: true,
      key: key.slice(),
    });
    expect(again.state().lost).toBeUndefined();
    await again.close();
    // Packed blocks exist (the flag 0x10 in a sealed header).
    const heads = listFiles(survivor, "/q")
      .filter((f) => /^msgs\/\d+\.blk$/.test(f))
      .map((f) => sealedHeader(survivor.readFile(joinPath("/q", f))!));
    expect(heads.some((h) => (h.bits & 0x10) !== 0)).toBe(true);
  });
}
