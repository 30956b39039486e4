/**
 * Golden fixtures: files of format version 1 written once by
 * test/fixtures/generate.ts and committed. FORMAT.md promises that every later
 * version reads them, so this suite checks every field of every record, the
 * block header, an encoded SequenceSet and a run of varints against values
 * written out here as literals (never recomputed by the code under test), on
 * both core builds and the reference codec. It also checks that today's
 * encoders still write the very same bytes. If a test here fails, the format
 * changed: fix the code, or add a v2 fixture and keep reading v1.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type RecordCodec, readBlockHeader, wasmCodec } from "../../src/codec/index.ts";
import { referenceCodec } from "../../src/reference/index.ts";
import { SequenceSet } from "../../src/seqset.ts";
import { decodeVarint } from "../../src/varint.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { CORE_VARIANTS } from "./core-variants.ts";

/** A fixture's bytes, as a plain Uint8Array (Node gives a Buffer). */
function fixture(name: string): Uint8Array {
  // A path string, not a URL object: Deno's and Node's URL types differ under type checking.
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url).href);
  return new Uint8Array(readFileSync(path));
}

function hex(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One record of v1-block.blk as it must read, every field a literal. */
interface Golden {
  offset: number;
  length: number;
  subjectLength: number;
  flags: number;
  seq: number;
  ts: bigint;
  hdrLength: number;
  ttl: number | null;
  subject: string;
  /** Hex, or null when the record has no headers. */
  hdr: string | null;
  msg: string;
  checksum: bigint;
  /** Low 32 bits of xxHash64 of the subject's UTF-8 bytes. */
  subjectHash: number;
}

const BLOCK_LENGTH = 538;
const BLOCK_HEADER_HEX = "4a53424b010000000700000000000000"; // "JSBK", v1, flags 0, block 7

const RECORDS: Golden[] = [
  {
    offset: 16,
    length: 54,
    subjectLength: 13,
    flags: 0x00,
    seq: 1,
    ts: 1_700_000_000_000_000_001n,
    hdrLength: 0,
    ttl: null,
    subject: "orders.east.1",
    hdr: null,
    msg: "68656c6c6f", // "hello"
    checksum: 0xa2b5de2b278d790an,
    subjectHash: 0x34db98a3,
  },
  {
    offset: 70,
    length: 90,
    subjectLength: 13,
    flags: 0x01, // HDR
    seq: 2,
    ts: 1_700_000_000_000_000_002n,
    hdrLength: 29,
    ttl: null,
    subject: "orders.west.2",
    // "NATS/1.0\r\nNats-Msg-Id: m2\r\n\r\n"
    hdr: "4e4154532f312e300d0a4e6174732d4d73672d49643a206d320d0a0d0a",
    msg: "776974682068656164657273", // "with headers"
    checksum: 0x6649930373036b64n,
    subjectHash: 0xf0c8c20b,
  },
  {
    offset: 160,
    length: 49,
    subjectLength: 13,
    flags: 0x01, // HDR, empty headers
    seq: 3,
    ts: 1_700_000_000_000_000_003n,
    hdrLength: 0,
    ttl: null,
    subject: "orders.east.3",
    hdr: "",
    msg: "",
    checksum: 0x93c7fe20f39264d8n,
    subjectHash: 0x5082859e,
  },
  {
    offset: 209,
    length: 57,
    subjectLength: 17,
    flags: 0x00,
    seq: 4,
    ts: 1_700_000_000_000_000_004n,
    hdrLength: 0,
    ttl: null,
    subject: "caf\u00e9.\u65e5\u672c.\u{1f680}", // "café.日本.🚀"
    hdr: null,
    msg: "00ff807f",
    checksum: 0x6201979080b6ca49n,
    subjectHash: 0xc0b9fca6,
  },
  {
    offset: 266,
    length: 57,
    subjectLength: 10,
    flags: 0x02, // TTL
    seq: 5,
    ts: 1_700_000_000_000_000_005n,
    hdrLength: 0,
    ttl: 3600,
    subject: "jobs.retry",
    hdr: null,
    msg: "74746c", // "ttl"
    checksum: 0x416bbef4357da4b5n,
    subjectHash: 0x80060042,
  },
  {
    offset: 323,
    length: 55,
    subjectLength: 11,
    flags: 0x08, // ERASED
    seq: 6,
    ts: 1_700_000_000_000_000_006n,
    hdrLength: 0,
    ttl: null,
    subject: "secrets.key",
    hdr: null,
    msg: "5a13c702ee914b30",
    checksum: 0xd9ef90f4e8a90d39n,
    subjectHash: 0x7a632649,
  },
  {
    offset: 378,
    length: 44,
    subjectLength: 0,
    flags: 0x10, // SKIP of 3: sequences 7 … 9
    seq: 9,
    ts: 1_700_000_000_000_000_009n,
    hdrLength: 0,
    ttl: null,
    subject: "",
    hdr: null,
    msg: "0300000000000000",
    checksum: 0x0ddf9c755ba375fen,
    subjectHash: 0x51d8e999,
  },
  {
    offset: 422,
    length: 36,
    subjectLength: 0,
    flags: 0x04, // TOMBSTONE of sequence 2
    seq: 2,
    ts: 1_700_000_000_000_000_010n,
    hdrLength: 0,
    ttl: null,
    subject: "",
    hdr: null,
    msg: "",
    checksum: 0x59949ce1d92d8ae0n,
    subjectHash: 0x51d8e999,
  },
  {
    offset: 458,
    length: 44,
    subjectLength: 0,
    flags: 0x04, // TOMBSTONE with a count of 2: sequences 4 … 5
    seq: 5,
    ts: 1_700_000_000_000_000_011n,
    hdrLength: 0,
    ttl: null,
    subject: "",
    hdr: null,
    msg: "0200000000000000",
    checksum: 0x70ad13ff0a34dccen,
    subjectHash: 0x51d8e999,
  },
  {
    offset: 502,
    length: 36,
    subjectLength: 0,
    flags: 0x04, // TOMBSTONE of sequence 6
    seq: 6,
    ts: 1_700_000_000_000_000_012n,
    hdrLength: 0,
    ttl: null,
    subject: "",
    hdr: null,
    msg: "",
    checksum: 0xcd73e38992baf1cen,
    subjectHash: 0x51d8e999,
  },
];

const MAX_SEQ = 9_007_199_254_740_991;
const SEQSET_HEX =
  "01" + // version 1
  "04" + // 4 runs
  "0103" + // gap 1, length 3: 1 … 3
  "0701" + // gap 7, length 1: 10
  "de07e807" + // gap 990, length 1000: 1000 … 1999
  "aff0ffffffffff0f02"; // gap 2^53 - 2001, length 2: 2^53 - 2 … 2^53 - 1
const SEQSET_RUNS = [
  [1, 3],
  [10, 10],
  [1000, 1999],
  [MAX_SEQ - 1, MAX_SEQ],
];

const VARINTS_HEX =
  "00" + // 0
  "01" + // 1
  "7f" + // 127
  "8001" + // 128
  "ac02" + // 300
  "ff7f" + // 16383
  "808001" + // 16384
  "ffffffff0f" + // 2^32 - 1
  "ffffffffffffff0f" + // 2^53 - 1
  "80808080808080808001" + // 2^63
  "ffffffffffffffffff01"; // 2^64 - 1
const VARINT_VALUES: [bigint, number][] = [
  [0n, 1],
  [1n, 1],
  [127n, 1],
  [128n, 2],
  [300n, 2],
  [16383n, 2],
  [16384n, 3],
  [4_294_967_295n, 5],
  [9_007_199_254_740_991n, 8],
  [9_223_372_036_854_775_808n, 10],
  [18_446_744_073_709_551_615n, 10],
];

function codecs(): RecordCodec[] {
  return [...CORE_VARIANTS.map((v) => wasmCodec(getCore(v))), referenceCodec];
}

export function fixtureSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  describe("golden fixtures (format v1)", () => {
    it("v1-block.blk has the expected header and length", () => {
      const bytes = fixture("v1-block.blk");
      expect(bytes.length).toBe(BLOCK_LENGTH);
      expect(hex(bytes.subarray(0, 16))).toBe(BLOCK_HEADER_HEX);
      expect(readBlockHeader(bytes)).toEqual({ version: 1, flags: 0, blockNumber: 7 });
      // The records tile the file exactly.
      expect(RECORDS[0].offset).toBe(16);
      RECORDS.forEach((r, i) => {
        expect(r.offset + r.length).toBe(RECORDS[i + 1]?.offset ?? BLOCK_LENGTH);
      });
    });

    it("v1-block.blk records have every fixed field where FORMAT.md puts it", () => {
      const bytes = fixture("v1-block.blk");
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (const r of RECORDS) {
        const at = r.offset;
        const ttlSize = r.ttl === null ? 0 : 8;
        const subjectAt = at + 28 + ttlSize;
        const raw = {
          seq: r.seq,
          length: view.getUint32(at, true),
          subjectLength: view.getUint16(at + 4, true),
          flags: bytes[at + 6],
          reserved: bytes[at + 7],
          seqField: view.getBigUint64(at + 8, true),
          ts: view.getBigInt64(at + 16, true),
          hdrLength: view.getUint32(at + 24, true),
          ttl: ttlSize === 0 ? null : Number(view.getBigInt64(at + 28, true)),
          hdr:
            r.hdr === null
              ? null
              : hex(
                  bytes.subarray(
                    subjectAt + r.subjectLength,
                    subjectAt + r.subjectLength + r.hdrLength,
                  ),
                ),
          msg: hex(bytes.subarray(subjectAt + r.subjectLength + r.hdrLength, at + r.length - 8)),
          checksum: view.getBigUint64(at + r.length - 8, true),
        };
        expect(raw).toEqual({
          seq: r.seq,
          length: r.length,
          subjectLength: r.subjectLength,
          flags: r.flags,
          reserved: 0,
          seqField: BigInt(r.seq),
          ts: r.ts,
          hdrLength: r.hdrLength,
          ttl: r.ttl,
          hdr: r.hdr,
          msg: r.msg,
          checksum: r.checksum,
        });
      }
    });

    for (const codec of codecs()) {
      it(`v1-block.blk decodes field by field (${codec.name})`, () => {
        const bytes = fixture("v1-block.blk");
        for (const r of RECORDS) {
          const d = codec.decodeRecord(bytes, r.offset);
          expect({ ...d, hdr: hex(d.hdr), msg: hex(d.msg) }).toEqual({
            offset: r.offset,
            length: r.length,
            seq: r.seq,
            ts: r.ts,
            flags: r.flags,
            ttl: r.ttl,
            subject: r.subject,
            hdr: r.hdr,
            msg: r.msg,
          });
        }
      });

      it(`v1-block.blk scans to the expected columns (${codec.name})`, () => {
        const bytes = fixture("v1-block.blk");
        const scan = codec.scanBlock(bytes, { subjectHashes: true });
        expect({
          header: scan.header,
          count: scan.count,
          status: scan.status,
          stopOffset: scan.stopOffset,
          seq: Array.from(scan.seq),
          ts: Array.from(scan.ts),
          offset: Array.from(scan.offset),
          length: Array.from(scan.length),
          flags: Array.from(scan.flags),
          subjectHash: Array.from(scan.subjectHash ?? []),
        }).toEqual({
          header: { version: 1, flags: 0, blockNumber: 7 },
          count: 10,
          status: 0,
          stopOffset: BLOCK_LENGTH,
          seq: [1, 2, 3, 4, 5, 6, 9, 2, 5, 6],
          ts: RECORDS.map((r) => r.ts),
          offset: [16, 70, 160, 209, 266, 323, 378, 422, 458, 502],
          length: [54, 90, 49, 57, 57, 55, 44, 36, 44, 36],
          flags: [0x00, 0x01, 0x01, 0x00, 0x02, 0x08, 0x10, 0x04, 0x04, 0x04],
          subjectHash: RECORDS.map((r) => r.subjectHash),
        });
      });

      it(`today's encoder writes v1-block.blk's records byte for byte (${codec.name})`, () => {
        const bytes = fixture("v1-block.blk");
        for (const r of RECORDS) {
          const kind = r.flags & 0x1c;
          const encoded = codec.encodeRecord({
            subject: r.subject,
            hdr: r.hdr === null ? null : fromHex(r.hdr),
            msg: fromHex(r.msg),
            seq: r.seq,
            ts: r.ts,
            ttl: r.ttl,
            flags: kind === 0 ? undefined : kind,
          });
          expect({ offset: r.offset, bytes: hex(encoded) }).toEqual({
            offset: r.offset,
            bytes: hex(bytes.subarray(r.offset, r.offset + r.length)),
          });
        }
      });
    }

    for (const variant of CORE_VARIANTS) {
      it(`v1-seqset.bin decodes to the expected runs and re-encodes to itself (${variant} core)`, () => {
        const bytes = fixture("v1-seqset.bin");
        expect(hex(bytes)).toBe(SEQSET_HEX);
        const set = SequenceSet.decode(bytes, { variant });
        try {
          expect([...set.runs()]).toEqual(SEQSET_RUNS);
          expect([set.size, set.runCount, set.first, set.last]).toEqual([1006, 4, 1, MAX_SEQ]);
          expect([set.has(3), set.has(4), set.has(10), set.has(999), set.has(1999)]).toEqual([
            true,
            false,
            true,
            false,
            true,
          ]);
          expect(hex(set.encode())).toBe(SEQSET_HEX);
        } finally {
          set.dispose();
        }
      });

      it(`v1-varints.bin decodes to the expected values (${variant} core)`, () => {
        const bytes = fixture("v1-varints.bin");
        expect(hex(bytes)).toBe(VARINTS_HEX);
        let at = 0;
        const got: [bigint, number][] = [];
        while (at < bytes.length) {
          const { value, length } = decodeVarint(bytes, at, variant);
          got.push([value, length]);
          at += length;
        }
        expect(got).toEqual(VARINT_VALUES);
      });
    }
  });
}
