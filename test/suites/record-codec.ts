/**
 * The record codec (src/codec over the release and debug WASM cores, and the
 * plain-TypeScript reference in src/reference) against FORMAT.md. Every
 * stored message goes through it, so the checks are exact:
 * - encoding writes the bytes FORMAT.md draws, rebuilt here field by field
 *   with a DataView and xxhash-wasm's checksum (no project code in the oracle),
 *   and decoding gives every field back, for random subjects (UTF-8), headers
 *   (null, empty, bytes), payloads from 0 bytes to 8 MiB and every record kind;
 * - one flipped bit anywhere in a record is ErrCorrupt, with the reason the
 *   damaged length or checksum implies; random bytes, truncated prefixes and
 *   forged records with a valid checksum are ErrCorrupt or decode to fields
 *   that re-encode to the same bytes, and all three codecs agree on which;
 * - a block scan reports every record's seq / ts / offset / length / flags /
 *   subject hash and stops at the first torn or damaged record, at its offset;
 * - block headers, and bad arguments, which get typed errors.
 */
import fc from "fast-check";
import xxhash from "xxhash-wasm";
import {
  decodeRecord,
  encodedSize,
  encodeRecord,
  type RecordCodec,
  type RecordFields,
  readBlockHeader,
  type ScanResult,
  scanBlock,
  scanRecords,
  wasmCodec,
  writeBlockHeader,
} from "../../src/codec/index.ts";
import { referenceCodec } from "../../src/reference/index.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS, type Failure, failure } from "./core-variants.ts";
import { randomBytes } from "./xxhash.ts";

// Format values written out here, not imported, so a changed constant fails a test.
const HDR = 0x01;
const TTL = 0x02;
const TOMBSTONE = 0x04;
const ERASED = 0x08;
const SKIP = 0x10;
const MAX_SEQ = 2 ** 53 - 1;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
const MIB = 1024 * 1024;
const STATUS_OK = 0;
const STATUS_TRUNCATED = 1;
const STATUS_BAD_LENGTH = 2;
const STATUS_BAD_CHECKSUM = 3;

type H64 = (bytes: Uint8Array, seed: bigint) => bigint;

const utf8 = new TextEncoder();

function codecs(): RecordCodec[] {
  return [...CORE_VARIANTS.map((v) => wasmCodec(getCore(v))), referenceCodec];
}

/** The record FORMAT.md describes for `f`, built with a DataView and xxhash-wasm. */
function formatBytes(f: RecordFields, h64: H64): Uint8Array {
  const subject = utf8.encode(f.subject);
  const hdr = f.hdr ?? new Uint8Array(0);
  const ttl = f.ttl ?? null;
  const fixed = 28 + (ttl === null ? 0 : 8);
  const length = fixed + subject.length + hdr.length + f.msg.length + 8;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint16(4, subject.length, true);
  out[6] = fullFlags(f);
  out[7] = 0;
  view.setBigUint64(8, BigInt(f.seq), true);
  view.setBigInt64(16, f.ts, true);
  view.setUint32(24, hdr.length, true);
  if (ttl !== null) view.setBigInt64(28, BigInt(ttl), true);
  out.set(subject, fixed);
  out.set(hdr, fixed + subject.length);
  out.set(f.msg, fixed + subject.length + hdr.length);
  view.setBigUint64(length - 8, h64(out.subarray(0, length - 8), 0n), true);
  return out;
}

function fullFlags(f: RecordFields): number {
  return (f.flags ?? 0) | (f.hdr === null ? 0 : HDR) | (f.ttl == null ? 0 : TTL);
}

/** Byte arrays as hex when small, as length and hash when large: readable diffs, cheap compares. */
function summary(bytes: Uint8Array | null, h64: H64): string | null {
  if (bytes === null) return null;
  if (bytes.length <= 4096) {
    let hex = "";
    for (const b of bytes) hex += b.toString(16).padStart(2, "0");
    return hex;
  }
  return `${bytes.length} bytes, xxh64 ${h64(bytes, 0n).toString(16)}`;
}

/** What decoding `f` encoded at `offset` must give, byte fields summarized. */
function expectedDecode(f: RecordFields, offset: number, h64: H64) {
  return {
    offset,
    length:
      36 +
      (f.ttl == null ? 0 : 8) +
      utf8.encode(f.subject).length +
      (f.hdr?.length ?? 0) +
      f.msg.length,
    seq: f.seq,
    ts: f.ts,
    flags: fullFlags(f),
    ttl: f.ttl ?? null,
    subject: f.subject,
    hdr: summary(f.hdr, h64),
    msg: summary(f.msg, h64),
  };
}

function decoded(codec: RecordCodec, bytes: Uint8Array, offset: number, h64: H64) {
  const d = codec.decodeRecord(bytes, offset);
  return { ...d, hdr: summary(d.hdr, h64), msg: summary(d.msg, h64) };
}

type Outcome =
  | { error: Failure; ok?: undefined }
  | { ok: ReturnType<typeof decoded>; error?: undefined };

/** Decode outcome, errors flattened, so codecs can be compared with one toEqual. */
function outcome(codec: RecordCodec, bytes: Uint8Array, offset: number, h64: H64): Outcome {
  const err = failure(() => codec.decodeRecord(bytes, offset));
  if (err.code !== "no error") return { error: err };
  return { ok: decoded(codec, bytes, offset, h64) };
}

/** Plain arrays of a scan's columns. */
function columns(r: ScanResult) {
  return {
    count: r.count,
    status: r.status,
    stopOffset: r.stopOffset,
    seq: Array.from(r.seq),
    ts: Array.from(r.ts),
    offset: Array.from(r.offset),
    length: Array.from(r.length),
    flags: Array.from(r.flags),
    subjectHash: r.subjectHash === null ? null : Array.from(r.subjectHash),
  };
}

/**
 * The status a single bit flip at byte `at` of a record of `length` bytes
 * must give, when `available` bytes from the record's start are readable.
 */
function flipStatus(record: Uint8Array, at: number, available: number): number {
  if (at >= 4) return STATUS_BAD_CHECKSUM;
  const length = new DataView(record.buffer, record.byteOffset).getUint32(0, true);
  if (length < 36 || length > 0x7fffffff) return STATUS_BAD_LENGTH;
  if (length > available) return STATUS_TRUNCATED;
  return STATUS_BAD_CHECKSUM;
}

/** The words of the ErrCorrupt message for each status (src/codec/status.ts). */
const STATUS_WORDS: Record<number, string> = {
  [STATUS_TRUNCATED]: "truncated",
  [STATUS_BAD_LENGTH]: "impossible length",
  [STATUS_BAD_CHECKSUM]: "does not match its checksum",
};

// ---------------------------------------------------------------- arbitraries

const seqArb = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.constantFrom(1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 52, MAX_SEQ),
  fc.integer({ min: 1, max: MAX_SEQ }),
);
const tsArb = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, MIN_I64, MAX_I64, 1_700_000_000_123_456_789n),
  fc.bigInt({ min: MIN_I64, max: MAX_I64 }),
);
// TTL -1 is nats-server's "never expires" (src/codec/validate.ts).
const ttlArb: fc.Arbitrary<number | null | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(undefined, null) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, -1, 2 ** 32, MAX_SEQ) },
  { weight: 1, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);
const subjectArb = fc.oneof(
  fc.constantFrom("a", "orders.east.42", "$JS.API.STREAM.INFO", "日本.東京", "emoji.🚀.✓", "é"),
  fc.stringMatching(/^[a-z0-9_-]{1,8}(\.[a-z0-9*>]{1,8}){0,4}$/),
  fc.string({ unit: "binary", minLength: 1, maxLength: 30 }),
);
const hdrArb = fc.oneof(
  fc.constant(null),
  fc.constant(new Uint8Array(0)),
  fc.constant(utf8.encode("NATS/1.0\r\nNats-Msg-Id: 42\r\n\r\n")),
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
);
const payloadArb = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 70_000 }), fc.integer())
      .map(([n, seed]) => randomBytes(n, seed)),
  },
);
const countArb = fc.bigInt({ min: 1n, max: BigInt(MAX_SEQ) }).map((c) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, c, true);
  return out;
});

const messageArb: fc.Arbitrary<RecordFields> = fc
  .record({
    subject: subjectArb,
    hdr: hdrArb,
    msg: payloadArb,
    seq: seqArb,
    ts: tsArb,
    ttl: ttlArb,
    explicitFlags: fc.boolean(),
  })
  .map(({ explicitFlags, ...f }) => ({
    ...f,
    // HDR and TTL may be given explicitly when they agree with hdr and ttl.
    flags: explicitFlags ? (f.hdr === null ? 0 : HDR) | (f.ttl == null ? 0 : TTL) : undefined,
  }));
const erasedArb: fc.Arbitrary<RecordFields> = fc.record({
  subject: fc.oneof(fc.constant(""), subjectArb),
  hdr: hdrArb,
  msg: payloadArb,
  seq: seqArb,
  ts: tsArb,
  ttl: ttlArb,
  flags: fc.constant(ERASED),
});
const tombstoneArb: fc.Arbitrary<RecordFields> = fc.record({
  subject: fc.constant(""),
  hdr: fc.constant(null),
  msg: fc.oneof(fc.constant(new Uint8Array(0)), countArb),
  seq: seqArb,
  ts: tsArb,
  flags: fc.constant(TOMBSTONE),
});
const skipArb: fc.Arbitrary<RecordFields> = fc.record({
  subject: fc.constant(""),
  hdr: fc.constant(null),
  msg: countArb,
  seq: seqArb,
  ts: tsArb,
  flags: fc.constant(SKIP),
});
const fieldsArb = fc.oneof(
  { weight: 6, arbitrary: messageArb },
  { weight: 1, arbitrary: erasedArb },
  { weight: 1, arbitrary: tombstoneArb },
  { weight: 1, arbitrary: skipArb },
);
/** Fields whose record stays below a few hundred bytes, for per-bit work. */
const smallFieldsArb = fieldsArb.filter((f) => f.msg.length <= 256);

/**
 * Bytes shaped like a record whose checksum is right but whose fields are
 * random, mostly plausible and sometimes not: the decoder's field rules, not
 * its checksum, decide.
 */
const forgedArb = fc
  .record({
    flags: fc.oneof(
      fc.constantFrom(0, HDR, TTL, HDR | TTL, TOMBSTONE, ERASED, ERASED | HDR | TTL, SKIP),
      fc.integer({ min: 0, max: 0x1f }),
      fc.integer({ min: 0, max: 0xff }),
    ),
    reserved: fc.oneof(
      { weight: 9, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) },
    ),
    seq: fc.oneof(
      { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: BigInt(MAX_SEQ) }) },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    ),
    ts: fc.bigInt({ min: MIN_I64, max: MAX_I64 }),
    ttl: fc.oneof(
      fc.bigInt({ min: 0n, max: BigInt(MAX_SEQ) }),
      fc.constantFrom(-1n, -2n, BigInt(MAX_SEQ) + 1n, MIN_I64),
      fc.bigInt({ min: MIN_I64, max: MAX_I64 }),
    ),
    subject: fc.oneof(
      fc.constant(new Uint8Array(0)),
      subjectArb.map((s) => utf8.encode(s)),
      fc.uint8Array({ maxLength: 8 }),
    ),
    hdr: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 12 })),
    msg: fc.oneof(fc.constant(new Uint8Array(0)), countArb, fc.uint8Array({ maxLength: 12 })),
    subjectSkew: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
    ),
    hdrSkew: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
    ),
  })
  .map((r) => (h64: H64) => {
    const ttlSize = (r.flags & TTL) !== 0 ? 8 : 0;
    const length = 28 + ttlSize + r.subject.length + r.hdr.length + r.msg.length + 8;
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    view.setUint32(0, length, true);
    view.setUint16(4, (r.subject.length + r.subjectSkew) & 0xffff, true);
    out[6] = r.flags;
    out[7] = r.reserved;
    view.setBigUint64(8, r.seq, true);
    view.setBigInt64(16, r.ts, true);
    view.setUint32(24, (r.hdr.length + r.hdrSkew) >>> 0, true);
    if (ttlSize !== 0) view.setBigInt64(28, r.ttl, true);
    out.set(r.subject, 28 + ttlSize);
    out.set(r.hdr, 28 + ttlSize + r.subject.length);
    out.set(r.msg, 28 + ttlSize + r.subject.length + r.hdr.length);
    view.setBigUint64(length - 8, h64(out.subarray(0, length - 8), 0n), true);
    return out;
  });

/** Records back to back after a block header; returns the bytes and each record's offset. */
function block(records: Uint8Array[], number: number): { bytes: Uint8Array; offsets: number[] } {
  const total = records.reduce((n, r) => n + r.length, 16);
  const bytes = new Uint8Array(total);
  writeBlockHeader(bytes, 0, number);
  const offsets: number[] = [];
  let at = 16;
  for (const r of records) {
    offsets.push(at);
    bytes.set(r, at);
    at += r.length;
  }
  return { bytes, offsets };
}

/** Scan columns expected for `fields` at `offsets`, stopping as given. */
function expectedColumns(
  fields: RecordFields[],
  offsets: number[],
  status: number,
  stopOffset: number,
  hashes: number[] | null,
) {
  return {
    count: fields.length,
    status,
    stopOffset,
    seq: fields.map((f) => f.seq),
    ts: fields.map((f) => f.ts),
    offset: offsets.slice(0, fields.length),
    length: fields.map((f) => expectedDecode(f, 0, () => 0n).length),
    flags: fields.map(fullFlags),
    subjectHash: hashes,
  };
}

export function recordCodecSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  let oracle: Promise<Awaited<ReturnType<typeof xxhash>>> | undefined;
  const h64 = async (): Promise<H64> => {
    oracle ??= xxhash();
    const { h64Raw } = await oracle;
    return h64Raw;
  };

  describe("record codec: encode and decode", () => {
    it("encodes the bytes FORMAT.md describes and decodes every field back", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(fieldsArb, (f) => {
          const want = summary(formatBytes(f, hash), hash);
          const fields = expectedDecode(f, 0, hash);
          for (const codec of codecs()) {
            const bytes = codec.encodeRecord(f);
            expect({ codec: codec.name, bytes: summary(bytes, hash) }).toEqual({
              codec: codec.name,
              bytes: want,
            });
            expect(codec.encodedSize(f)).toBe(fields.length);
            expect(decoded(codec, bytes, 0, hash)).toEqual(fields);
          }
        }),
        { numRuns: 400 },
      );
    });

    it("decodes a record at any offset between other bytes", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          smallFieldsArb,
          fc.uint8Array({ maxLength: 80 }),
          fc.uint8Array({ maxLength: 80 }),
          (f, before, after) => {
            const record = formatBytes(f, hash);
            const bytes = new Uint8Array([...before, ...record, ...after]);
            for (const codec of codecs()) {
              expect(decoded(codec, bytes, before.length, hash)).toEqual(
                expectedDecode(f, before.length, hash),
              );
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("round-trips payloads up to 8 MiB and subjects up to 65535 bytes", async () => {
      const hash = await h64();
      const cases: RecordFields[] = [
        { subject: "big.one", hdr: null, msg: randomBytes(MIB + 3, 1), seq: 7, ts: 1n },
        {
          subject: "big.eight",
          hdr: randomBytes(4096, 2),
          msg: randomBytes(8 * MIB, 3),
          seq: MAX_SEQ,
          ts: MAX_I64,
          ttl: 60,
        },
        {
          subject: "s".repeat(65535),
          hdr: new Uint8Array(0),
          msg: new Uint8Array(0),
          seq: 1,
          ts: 0n,
        },
        // 21845 three-byte characters: 65535 UTF-8 bytes from 21845 UTF-16 units.
        { subject: "€".repeat(21845), hdr: null, msg: new Uint8Array([1]), seq: 2, ts: -1n },
        // 16383 four-byte characters and 3 ASCII: 65535 bytes.
        { subject: `${"𝄞".repeat(16383)}abc`, hdr: null, msg: new Uint8Array(0), seq: 3, ts: 5n },
      ];
      for (const f of cases) {
        const want = summary(formatBytes(f, hash), hash);
        for (const codec of codecs()) {
          const bytes = codec.encodeRecord(f);
          expect({ codec: codec.name, bytes: summary(bytes, hash) }).toEqual({
            codec: codec.name,
            bytes: want,
          });
          expect(decoded(codec, bytes, 0, hash)).toEqual(expectedDecode(f, 0, hash));
        }
      }
    });

    it("round-trips a subject that starts with U+FEFF", () => {
      // A TextDecoder without ignoreBOM drops a leading U+FEFF as a byte-order mark.
      for (const codec of codecs()) {
        for (const subject of ["\ufeffa.b", "\ufeff"]) {
          const bytes = codec.encodeRecord({
            subject,
            hdr: null,
            msg: new Uint8Array(0),
            seq: 1,
            ts: 0n,
          });
          expect(Array.from(bytes.subarray(28, 31))).toEqual([0xef, 0xbb, 0xbf]);
          expect({ codec: codec.name, subject: codec.decodeRecord(bytes).subject }).toEqual({
            codec: codec.name,
            subject,
          });
        }
      }
    });

    it("gives the same results through the module functions as through the release codec", async () => {
      const hash = await h64();
      const release = wasmCodec(getCore("release"));
      fc.assert(
        fc.property(fc.array(smallFieldsArb, { minLength: 1, maxLength: 5 }), (list) => {
          const records = list.map((f) => encodeRecord(f));
          list.forEach((f, i) => {
            expect(summary(records[i], hash)).toEqual(summary(release.encodeRecord(f), hash));
            expect(encodedSize(f)).toBe(records[i].length);
            expect(decodeRecord(records[i])).toEqual(release.decodeRecord(records[i]));
          });
          const { bytes } = block(records, 3);
          expect(columns(scanBlock(bytes))).toEqual(columns(release.scanBlock(bytes)));
          expect(scanBlock(bytes).header).toEqual({ version: 1, flags: 0, blockNumber: 3 });
          const body = bytes.subarray(16);
          expect(columns(scanRecords(body, { subjectHashes: true }))).toEqual(
            columns(release.scanRecords(body, { subjectHashes: true })),
          );
        }),
        { numRuns: 50 },
      );
    });
  });

  describe("record codec: damage", () => {
    it("detects every single bit flip in small records of each kind", async () => {
      const hash = await h64();
      const samples: RecordFields[] = [
        { subject: "a", hdr: null, msg: new Uint8Array(0), seq: 1, ts: 0n },
        {
          subject: "orders.é",
          hdr: utf8.encode("NATS/1.0\r\n\r\n"),
          msg: utf8.encode("hi"),
          seq: 2 ** 40,
          ts: -5n,
          ttl: 9,
        },
        {
          subject: "x",
          hdr: new Uint8Array(0),
          msg: new Uint8Array([0]),
          seq: MAX_SEQ,
          ts: MAX_I64,
          ttl: -1,
        },
        { subject: "", hdr: null, msg: new Uint8Array(0), seq: 9, ts: 1n, flags: TOMBSTONE },
        {
          subject: "",
          hdr: null,
          msg: new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]),
          seq: 9,
          ts: 1n,
          flags: SKIP,
        },
        {
          subject: "gone",
          hdr: null,
          msg: new Uint8Array([1, 2, 3]),
          seq: 4,
          ts: 2n,
          flags: ERASED,
        },
      ];
      for (const f of samples) {
        const record = formatBytes(f, hash);
        for (let bit = 0; bit < record.length * 8; bit++) {
          const damaged = record.slice();
          damaged[bit >> 3] ^= 1 << (bit & 7);
          const status = flipStatus(damaged, bit >> 3, damaged.length);
          for (const codec of codecs()) {
            const err = failure(() => codec.decodeRecord(damaged));
            if (err.code !== "ErrCorrupt" || !err.message.includes(STATUS_WORDS[status])) {
              expect({ codec: codec.name, subject: f.subject, bit, err }).toEqual({
                status: STATUS_WORDS[status],
              });
            }
            expect(err.offset).toBe(0);
          }
        }
      }
    });

    it("detects a random bit flip in random records, alone or inside other bytes", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          fieldsArb,
          fc.nat(),
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 40 }),
          (f, pick, before, after) => {
            const record = formatBytes(f, hash);
            const bit = pick % (record.length * 8);
            record[bit >> 3] ^= 1 << (bit & 7);
            const bytes = new Uint8Array(before.length + record.length + after.length);
            bytes.set(before);
            bytes.set(record, before.length);
            bytes.set(after, before.length + record.length);
            const status = flipStatus(record, bit >> 3, record.length + after.length);
            for (const codec of codecs()) {
              const err = failure(() => codec.decodeRecord(bytes, before.length));
              expect({ codec: codec.name, code: err.code, offset: err.offset }).toEqual({
                codec: codec.name,
                code: "ErrCorrupt",
                offset: before.length,
              });
              expect(err.message).toContain(STATUS_WORDS[status]);
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("rejects every truncated prefix of a record as truncated", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(smallFieldsArb, fc.uint8Array({ maxLength: 20 }), (f, before) => {
          const record = formatBytes(f, hash);
          const bytes = new Uint8Array([...before, ...record]);
          for (let cut = before.length; cut < bytes.length; cut++) {
            const prefix = bytes.subarray(0, cut);
            for (const codec of codecs()) {
              const err = failure(() => codec.decodeRecord(prefix, before.length));
              expect({ codec: codec.name, cut, code: err.code, offset: err.offset }).toEqual({
                codec: codec.name,
                cut,
                code: "ErrCorrupt",
                offset: before.length,
              });
              expect(err.message).toContain("truncated");
            }
          }
        }),
        { numRuns: 60 },
      );
    });

    it("rejects random bytes with ErrCorrupt only", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, pick) => {
          const offset = pick % (bytes.length + 1);
          for (const codec of codecs()) {
            const err = failure(() => codec.decodeRecord(bytes, offset));
            expect({ codec: codec.name, code: err.code, offset: err.offset }).toEqual({
              codec: codec.name,
              code: "ErrCorrupt",
              offset,
            });
          }
        }),
        { numRuns: 500 },
      );
      // Plausible lengths with garbage after them: still only ErrCorrupt.
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 300 }),
          fc.uint8Array({ maxLength: 300 }),
          (n, tail) => {
            const bytes = new Uint8Array(4 + tail.length);
            new DataView(bytes.buffer).setUint32(0, n, true);
            bytes.set(tail, 4);
            for (const codec of codecs()) {
              expect(failure(() => codec.decodeRecord(bytes)).code).toBe("ErrCorrupt");
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("treats a forged record with a valid checksum alike in every codec: ErrCorrupt or exact re-encoding", async () => {
      const hash = await h64();
      let decodedCount = 0;
      let runs = 0;
      fc.assert(
        fc.property(forgedArb, fc.uint8Array({ maxLength: 16 }), (forge, before) => {
          runs++;
          const record = forge(hash);
          const bytes = new Uint8Array([...before, ...record]);
          const [first, ...rest] = codecs().map((c) => ({
            codec: c,
            result: outcome(c, bytes, before.length, hash),
          }));
          for (const other of rest) {
            expect({ codec: other.codec.name, ...other.result }).toEqual({
              codec: other.codec.name,
              ...first.result,
            });
          }
          const { error } = first.result;
          if (error !== undefined) {
            expect(error.code).toBe("ErrCorrupt");
            expect(error.offset).toBe(before.length);
            return;
          }
          decodedCount++;
          // Whatever decodes re-encodes to the very same bytes (FORMAT.md is one-to-one).
          const d = first.codec.decodeRecord(bytes, before.length);
          const fields = {
            subject: d.subject,
            hdr: d.hdr,
            msg: d.msg,
            seq: d.seq,
            ts: d.ts,
            ttl: d.ttl,
            flags: d.flags,
          };
          for (const codec of codecs()) {
            expect(summary(codec.encodeRecord(fields), hash)).toBe(summary(record, hash));
          }
        }),
        { numRuns: 1500 },
      );
      // The generator must reach the decoder's field rules on both sides. About
      // 5 % of forged records decode; the bound leaves room for unlucky seeds.
      expect(decodedCount).toBeGreaterThan(runs / 50);
      expect(decodedCount).toBeLessThan(runs - runs / 20);
    });
  });

  describe("record codec: block scan", () => {
    it("reports every record of a block and its header", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          fc.array(smallFieldsArb, { maxLength: 12 }),
          fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(MAX_SEQ)),
          (list, number) => {
            const { bytes, offsets } = block(
              list.map((f) => formatBytes(f, hash)),
              number,
            );
            const hashes = list.map((f) => Number(hash(utf8.encode(f.subject), 0n) & 0xffffffffn));
            for (const codec of codecs()) {
              const plain = codec.scanBlock(bytes);
              expect(plain.header).toEqual({ version: 1, flags: 0, blockNumber: number });
              expect({ codec: codec.name, ...columns(plain) }).toEqual({
                codec: codec.name,
                ...expectedColumns(list, offsets, STATUS_OK, bytes.length, null),
              });
              expect(columns(codec.scanBlock(bytes, { subjectHashes: true }))).toEqual(
                expectedColumns(list, offsets, STATUS_OK, bytes.length, hashes),
              );
              // A view into a larger buffer (byteOffset 3) scans the same.
              const padded = new Uint8Array(bytes.length + 5).fill(0x77);
              padded.set(bytes, 3);
              const view = padded.subarray(3, 3 + bytes.length);
              expect(columns(codec.scanBlock(view, { subjectHashes: true }))).toEqual(
                expectedColumns(list, offsets, STATUS_OK, bytes.length, hashes),
              );
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it("resumes from start and stops after maxRecords", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          fc.array(smallFieldsArb, { minLength: 1, maxLength: 10 }),
          fc.nat(),
          fc.nat(12),
          (list, pickStart, max) => {
            const records = list.map((f) => formatBytes(f, hash));
            const { bytes, offsets } = block(records, 1);
            const body = bytes.subarray(16);
            const local = offsets.map((o) => o - 16);
            const from = pickStart % list.length;
            const taken = list.slice(from, from + max);
            const stop =
              from + taken.length < list.length ? local[from + taken.length] : body.length;
            for (const codec of codecs()) {
              expect(
                columns(codec.scanRecords(body, { start: local[from], maxRecords: max })),
              ).toEqual(expectedColumns(taken, local.slice(from), STATUS_OK, stop, null));
              expect(columns(codec.scanBlock(bytes, { start: offsets[from] }))).toEqual(
                expectedColumns(
                  list.slice(from),
                  offsets.slice(from),
                  STATUS_OK,
                  bytes.length,
                  null,
                ),
              );
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it("stops at a torn record and reports its offset", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          fc.array(smallFieldsArb, { minLength: 1, maxLength: 8 }),
          fc.nat(),
          (list, pick) => {
            const { bytes, offsets } = block(
              list.map((f) => formatBytes(f, hash)),
              2,
            );
            const cut = 16 + (pick % (bytes.length - 16));
            const torn = bytes.subarray(0, cut);
            // Records wholly before the cut are reported; one the cut passes through is torn.
            const whole = offsets.filter((_, i) => (offsets[i + 1] ?? bytes.length) <= cut);
            const boundary = whole.length === list.length || offsets[whole.length] === cut;
            for (const codec of codecs()) {
              expect({ codec: codec.name, cut, ...columns(codec.scanBlock(torn)) }).toEqual({
                codec: codec.name,
                cut,
                ...expectedColumns(
                  list.slice(0, whole.length),
                  offsets,
                  boundary ? STATUS_OK : STATUS_TRUNCATED,
                  boundary ? cut : offsets[whole.length],
                  null,
                ),
              });
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it("stops at a damaged record and reports its offset, keeping the records before it", async () => {
      const hash = await h64();
      fc.assert(
        fc.property(
          fc.array(smallFieldsArb, { minLength: 1, maxLength: 8 }),
          fc.nat(),
          fc.nat(),
          (list, pickRecord, pickBit) => {
            const records = list.map((f) => formatBytes(f, hash));
            const k = pickRecord % list.length;
            const { bytes, offsets } = block(records, 5);
            const bit = pickBit % (records[k].length * 8);
            bytes[offsets[k] + (bit >> 3)] ^= 1 << (bit & 7);
            const status = flipStatus(
              bytes.subarray(offsets[k]),
              bit >> 3,
              bytes.length - offsets[k],
            );
            for (const codec of codecs()) {
              expect({ codec: codec.name, ...columns(codec.scanBlock(bytes)) }).toEqual({
                codec: codec.name,
                ...expectedColumns(list.slice(0, k), offsets, status, offsets[k], null),
              });
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it("scans more records than one core call takes (70,000)", async () => {
      const hash = await h64();
      const release = wasmCodec(getCore("release"));
      const n = 70_000;
      const list: RecordFields[] = [];
      const records: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const f: RecordFields = {
          subject: `s.${i % 97}`,
          hdr: null,
          msg: new Uint8Array(i % 5),
          seq: i + 1,
          ts: BigInt(i) * 1000n,
          flags: i % 1000 === 999 ? TOMBSTONE : undefined,
        };
        if (f.flags === TOMBSTONE) f.subject = "";
        if (f.flags === TOMBSTONE) f.msg = new Uint8Array(0);
        list.push(f);
        records.push(release.encodeRecord(f));
      }
      const { bytes, offsets } = block(records, 9);
      const want = expectedColumns(list, offsets, STATUS_OK, bytes.length, null);
      for (const codec of codecs()) {
        const got = columns(codec.scanBlock(bytes));
        // Compared column by column: one toEqual over 70,000-entry arrays is slow in some runners.
        expect([codec.name, got.count, got.status, got.stopOffset]).toEqual([
          codec.name,
          n,
          STATUS_OK,
          bytes.length,
        ]);
        for (const key of ["seq", "ts", "offset", "length", "flags"] as const) {
          const mismatch = got[key].findIndex((v, i) => v !== want[key][i]);
          expect({ codec: codec.name, key, mismatch }).toEqual({
            codec: codec.name,
            key,
            mismatch: -1,
          });
        }
        // Damage the record right after the first batch of 65,536.
        const damaged = bytes.slice();
        damaged[offsets[65_540] + 20] ^= 0x40;
        const cut = columns(codec.scanBlock(damaged));
        expect([cut.count, cut.status, cut.stopOffset]).toEqual([
          65_540,
          STATUS_BAD_CHECKSUM,
          offsets[65_540],
        ]);
      }
      expect(summary(bytes.subarray(offsets[3], offsets[4]), hash)).toBe(
        summary(formatBytes(list[3], hash), hash),
      );
    });

    it("scans empty input to nothing", () => {
      for (const codec of codecs()) {
        expect(columns(codec.scanRecords(new Uint8Array(0)))).toEqual(
          expectedColumns([], [], STATUS_OK, 0, null),
        );
        const header = new Uint8Array(16);
        writeBlockHeader(header, 0, 4);
        expect(columns(codec.scanBlock(header, { subjectHashes: true }))).toEqual(
          expectedColumns([], [], STATUS_OK, 16, []),
        );
        // Fewer than 4 bytes left: the length itself is torn.
        expect(columns(codec.scanRecords(new Uint8Array(3)))).toEqual(
          expectedColumns([], [], STATUS_TRUNCATED, 0, null),
        );
      }
    });
  });

  describe("record codec: block header", () => {
    it("writes the 16 bytes FORMAT.md describes and reads them back", () => {
      fc.assert(
        fc.property(fc.maxSafeNat(), fc.nat(40), fc.nat(40), (number, at, extra) => {
          const bytes = new Uint8Array(at + 16 + extra).fill(0xee);
          writeBlockHeader(bytes, at, number);
          const want = new Uint8Array(16);
          want.set([0x4a, 0x53, 0x42, 0x4b, 1, 0, 0, 0]);
          new DataView(want.buffer).setBigUint64(8, BigInt(number), true);
          expect(Array.from(bytes.subarray(at, at + 16))).toEqual(Array.from(want));
          // Bytes around the header are untouched.
          expect(bytes.subarray(0, at).every((b) => b === 0xee)).toBe(true);
          expect(bytes.subarray(at + 16).every((b) => b === 0xee)).toBe(true);
          expect(readBlockHeader(bytes.subarray(at))).toEqual({
            version: 1,
            flags: 0,
            blockNumber: number,
          });
        }),
        { numRuns: 200 },
      );
    });

    it("refuses short, foreign, newer and impossible headers", () => {
      const good = new Uint8Array(16);
      writeBlockHeader(good, 0, 12);
      const with_ = (at: number, values: number[]) => {
        const bytes = good.slice();
        bytes.set(values, at);
        return bytes;
      };
      const cases: [Uint8Array, string][] = [
        [new Uint8Array(0), "ErrCorrupt"],
        [good.subarray(0, 15), "ErrCorrupt"],
        [with_(0, [0x4a, 0x53, 0x42, 0x4c]), "ErrCorrupt"],
        [with_(0, [0, 0, 0, 0]), "ErrCorrupt"],
        [with_(4, [2, 0]), "ErrUnsupportedFormat"],
        [with_(4, [0, 1]), "ErrUnsupportedFormat"],
        [with_(4, [0, 0]), "ErrUnsupportedFormat"],
        [with_(6, [1, 0]), "ErrUnsupportedFormat"],
        [with_(6, [0, 0x80]), "ErrUnsupportedFormat"],
        [with_(8, [0, 0, 0, 0, 0, 0, 0x20, 0]), "ErrCorrupt"], // 2^53
        [with_(8, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "ErrCorrupt"],
      ];
      for (const [bytes, code] of cases) {
        expect({
          bytes: Array.from(bytes),
          code: failure(() => readBlockHeader(bytes)).code,
        }).toEqual({
          bytes: Array.from(bytes),
          code,
        });
        for (const codec of codecs()) {
          expect(failure(() => codec.scanBlock(bytes)).code).toBe(code);
        }
      }
      // 2^53 - 1 is the largest block number.
      expect(readBlockHeader(with_(8, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0]))).toEqual({
        version: 1,
        flags: 0,
        blockNumber: MAX_SEQ,
      });
    });

    it("rejects bad arguments to writeBlockHeader and readBlockHeader with typed errors", () => {
      const dst = new Uint8Array(20);
      const write = (d: unknown, at: unknown, n: unknown) => () =>
        writeBlockHeader(d as Uint8Array, at as number, n as number);
      for (const bad of [null, [0], new ArrayBuffer(16), "x".repeat(16)]) {
        expect(failure(write(bad, 0, 1)).code).toBe("ErrInvalidArgument");
        expect(failure(() => readBlockHeader(bad as unknown as Uint8Array)).code).toBe(
          "ErrInvalidArgument",
        );
      }
      for (const at of [-1, 5, 1.5, Number.NaN, "0"]) {
        expect({ at, code: failure(write(dst, at, 1)).code }).toEqual({
          at,
          code: "ErrOutOfRange",
        });
      }
      for (const n of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY, "1", 1n]) {
        expect({ n, code: failure(write(dst, 0, n)).code }).toEqual({
          n,
          code: "ErrInvalidArgument",
        });
      }
      // Nothing was written by any refused call.
      expect(dst.every((b) => b === 0)).toBe(true);
    });
  });

  describe("record codec: bad arguments", () => {
    const base: RecordFields = {
      subject: "a.b",
      hdr: null,
      msg: new Uint8Array([1]),
      seq: 1,
      ts: 0n,
    };
    const cases: [string, Record<string, unknown>, string][] = [
      ["numeric subject", { subject: 5 }, "ErrInvalidArgument"],
      ["null subject", { subject: null }, "ErrInvalidArgument"],
      ["missing subject", { subject: undefined }, "ErrInvalidArgument"],
      ["empty subject of a message", { subject: "" }, "ErrInvalidArgument"],
      ["lone high surrogate", { subject: "a.\ud800" }, "ErrInvalidArgument"],
      ["lone low surrogate", { subject: "\udc00.b" }, "ErrInvalidArgument"],
      ["65536-byte subject", { subject: "s".repeat(65536) }, "ErrOutOfRange"],
      ["65537-byte UTF-8 subject", { subject: `${"€".repeat(21845)}é` }, "ErrOutOfRange"],
      ["array headers", { hdr: [1, 2] }, "ErrInvalidArgument"],
      ["undefined headers", { hdr: undefined }, "ErrInvalidArgument"],
      ["string headers", { hdr: "NATS/1.0" }, "ErrInvalidArgument"],
      ["ArrayBuffer payload", { msg: new ArrayBuffer(1) }, "ErrInvalidArgument"],
      ["string payload", { msg: "hello" }, "ErrInvalidArgument"],
      ["array payload", { msg: [1] }, "ErrInvalidArgument"],
      ["null payload", { msg: null }, "ErrInvalidArgument"],
      ["Uint16Array payload", { msg: new Uint16Array(1) }, "ErrInvalidArgument"],
      ["DataView payload", { msg: new DataView(new ArrayBuffer(1)) }, "ErrInvalidArgument"],
      ["negative seq", { seq: -1 }, "ErrOutOfRange"],
      ["seq 2^53", { seq: 2 ** 53 }, "ErrOutOfRange"],
      ["seq 1e300", { seq: 1e300 }, "ErrOutOfRange"],
      ["fractional seq", { seq: 1.5 }, "ErrInvalidArgument"],
      ["NaN seq", { seq: Number.NaN }, "ErrInvalidArgument"],
      ["infinite seq", { seq: Number.POSITIVE_INFINITY }, "ErrInvalidArgument"],
      ["string seq", { seq: "1" }, "ErrInvalidArgument"],
      ["bigint seq", { seq: 1n }, "ErrInvalidArgument"],
      ["numeric timestamp", { ts: 0 }, "ErrInvalidArgument"],
      ["timestamp 2^63", { ts: MAX_I64 + 1n }, "ErrOutOfRange"],
      ["timestamp -2^63 - 1", { ts: MIN_I64 - 1n }, "ErrOutOfRange"],
      ["TTL -2", { ttl: -2 }, "ErrOutOfRange"],
      ["TTL 2^53", { ttl: 2 ** 53 }, "ErrOutOfRange"],
      ["fractional TTL", { ttl: 0.5 }, "ErrInvalidArgument"],
      ["NaN TTL", { ttl: Number.NaN }, "ErrInvalidArgument"],
      ["string TTL", { ttl: "5" }, "ErrInvalidArgument"],
      ["unknown flag bit", { flags: 0x20 }, "ErrInvalidArgument"],
      ["flags above a byte", { flags: 0x104 }, "ErrInvalidArgument"],
      ["negative flags", { flags: -1 }, "ErrInvalidArgument"],
      ["fractional flags", { flags: 1.5 }, "ErrInvalidArgument"],
      ["string flags", { flags: "4" }, "ErrInvalidArgument"],
      ["HDR flag without headers", { flags: HDR }, "ErrInvalidArgument"],
      ["TTL flag without TTL", { flags: TTL }, "ErrInvalidArgument"],
      [
        "two kinds",
        { subject: "", msg: new Uint8Array(0), flags: TOMBSTONE | SKIP },
        "ErrInvalidArgument",
      ],
      ["erased tombstone", { flags: TOMBSTONE | ERASED }, "ErrInvalidArgument"],
      [
        "tombstone with a subject",
        { msg: new Uint8Array(0), flags: TOMBSTONE },
        "ErrInvalidArgument",
      ],
      [
        "tombstone with headers",
        { subject: "", hdr: new Uint8Array(0), msg: new Uint8Array(0), flags: TOMBSTONE },
        "ErrInvalidArgument",
      ],
      [
        "tombstone with a TTL",
        { subject: "", msg: new Uint8Array(0), ttl: 5, flags: TOMBSTONE },
        "ErrInvalidArgument",
      ],
      ["tombstone with a 1-byte payload", { subject: "", flags: TOMBSTONE }, "ErrInvalidArgument"],
      [
        "tombstone with a 9-byte payload",
        { subject: "", msg: new Uint8Array(9), flags: TOMBSTONE },
        "ErrInvalidArgument",
      ],
      [
        "skip without a count",
        { subject: "", msg: new Uint8Array(0), flags: SKIP },
        "ErrInvalidArgument",
      ],
      [
        "skip with a 7-byte count",
        { subject: "", msg: new Uint8Array(7), flags: SKIP },
        "ErrInvalidArgument",
      ],
      ["skip with a subject", { msg: new Uint8Array(8), flags: SKIP }, "ErrInvalidArgument"],
    ];

    it("refuses bad record fields with the right error code in every codec", () => {
      for (const codec of codecs()) {
        for (const [name, change, code] of cases) {
          const fields = { ...base, ...change } as unknown as RecordFields;
          expect({
            codec: codec.name,
            name,
            code: failure(() => codec.encodeRecord(fields)).code,
          }).toEqual({
            codec: codec.name,
            name,
            code,
          });
          expect({
            codec: codec.name,
            name,
            code: failure(() => codec.encodedSize(fields)).code,
          }).toEqual({
            codec: codec.name,
            name,
            code,
          });
        }
        for (const bad of [null, undefined, 5, "fields"]) {
          expect(failure(() => codec.encodeRecord(bad as unknown as RecordFields)).code).toBe(
            "ErrInvalidArgument",
          );
        }
        // The codec still works after every refusal.
        expect(codec.decodeRecord(codec.encodeRecord(base)).subject).toBe("a.b");
      }
    });

    it("refuses bad decode and scan arguments with ErrInvalidArgument", () => {
      const record = encodeRecord(base);
      for (const codec of codecs()) {
        for (const bad of [null, [1, 2], "bytes", new ArrayBuffer(40), new Uint16Array(20)]) {
          expect(failure(() => codec.decodeRecord(bad as unknown as Uint8Array)).code).toBe(
            "ErrInvalidArgument",
          );
          expect(failure(() => codec.scanRecords(bad as unknown as Uint8Array)).code).toBe(
            "ErrInvalidArgument",
          );
          expect(failure(() => codec.scanBlock(bad as unknown as Uint8Array)).code).toBe(
            "ErrInvalidArgument",
          );
        }
        for (const offset of [-1, 1.5, Number.NaN, record.length + 1, "0"]) {
          expect({
            codec: codec.name,
            offset,
            code: failure(() => codec.decodeRecord(record, offset as number)).code,
          }).toEqual({
            codec: codec.name,
            offset,
            code: "ErrInvalidArgument",
          });
        }
        const options: unknown[] = [
          null,
          5,
          { start: -1 },
          { start: record.length + 1 },
          { start: 0.5 },
          { maxRecords: -1 },
          { maxRecords: 1.5 },
          { maxRecords: Number.NaN },
          { subjectHashes: "yes" },
        ];
        for (const option of options) {
          expect({
            codec: codec.name,
            option,
            code: failure(() => codec.scanRecords(record, option as object)).code,
          }).toEqual({
            codec: codec.name,
            option,
            code: "ErrInvalidArgument",
          });
        }
      }
    });
  });
}
