/**
 * `npm run bench:core`: the record codec's hot paths, WASM core against the
 * plain-TypeScript reference, side by side in one process. W1's data
 * (../shared/bench/WORKLOADS.md): 1,000,000 records, subject `orders.<r>.<n>`,
 * 128-byte xorshift payloads. Timed: encoding every record with its checksum
 * into one buffer, then scanning the encoded bytes as ~8 MiB blocks with every
 * checksum verified (index columns only, then with subject hashes), and a bare
 * xxHash64 pass over the same bytes as the ceiling. Each figure is the median
 * of several runs with min–max; quote ratios, the machine is shared.
 */

import { RecordEncoder } from "../src/codec/encoder.ts";
import { BlockScanner } from "../src/codec/scanner.ts";
import { STATUS_OK } from "../src/format.ts";
import { encodeRecordAt } from "../src/reference/record.ts";
import { ReferenceScanner } from "../src/reference/scan.ts";
import { xxh64Parts } from "../src/reference/xxhash64.ts";
import { getCore } from "../src/wasm/core.ts";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const PAYLOAD = 128;
const BLOCK = 8 * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REGIONS = ["east", "west", "north", "south"];

const subjects: string[] = [];
for (let n = 0; n < 250; n++) for (const r of REGIONS) subjects.push(`orders.${r}.${n}`);
/** Subject of record i: index (i % 4) + 4 * (floor(i / 4) % 250) in `subjects`. */
const subjectOf = (i: number): string => subjects[(i % 4) + 4 * (Math.floor(i / 4) % 250)];

let state = 0x9e3779b9;
function xorshift(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}
// A pool of distinct pseudo-random payloads; record i takes payloads[i % POOL].
const POOL = 4096;
const payloads: Uint8Array[] = [];
for (let i = 0; i < POOL; i++) {
  const p = new Uint8Array(PAYLOAD);
  for (let j = 0; j < PAYLOAD; j += 4) new DataView(p.buffer).setUint32(j, xorshift(), true);
  payloads.push(p);
}
const baseTs = 1_700_000_000_000_000_000n;
const timestamps: bigint[] = [];
for (let i = 0; i < RECORDS; i++) timestamps.push(baseTs + BigInt(i) * 1000n);
const subjectList: string[] = [];
for (let i = 0; i < RECORDS; i++) subjectList.push(subjectOf(i));

const core = getCore("release");
const encoder = new RecordEncoder(core);
const upperBound = RECORDS * (36 + 20 + PAYLOAD) + BLOCK;
const region = core.alloc(upperBound);
const refBytes = new Uint8Array(upperBound);

interface Figure {
  median: number;
  min: number;
  max: number;
}

function summarize(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

function measure(runs: number, body: () => number): Figure {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) rates.push(body());
  return summarize(rates);
}

/** Encodes all records; returns total bytes. */
function encodeWasm(): number {
  let p = region;
  const end = region + upperBound;
  for (let i = 0; i < RECORDS; i++) {
    p += encoder.encodeAt(
      p,
      end - p,
      subjectList[i],
      null,
      payloads[i % POOL],
      i + 1,
      timestamps[i],
      null,
      0,
    );
  }
  return p - region;
}

function encodeReference(): number {
  let p = 0;
  for (let i = 0; i < RECORDS; i++) {
    p += encodeRecordAt(
      refBytes,
      p,
      subjectList[i],
      null,
      payloads[i % POOL],
      i + 1,
      timestamps[i],
      null,
      0,
    );
  }
  return p;
}

let total = 0;
const encodeRates = {
  wasm: measure(3, () => rate(RECORDS, () => (total = encodeWasm()))),
  ref: measure(3, () => rate(RECORDS, encodeReference)),
};
if (!core.u8.subarray(region, region + total).every((b, i) => b === refBytes[i])) {
  throw new Error("WASM and reference encodings differ");
}

// Block boundaries: records are cut into ~8 MiB runs at record starts (as blocks would be).
const cuts: number[] = [0];
{
  const u8 = core.u8;
  let at = 0;
  let blockStart = 0;
  while (at < total) {
    const length =
      (u8[region + at] |
        (u8[region + at + 1] << 8) |
        (u8[region + at + 2] << 16) |
        (u8[region + at + 3] << 24)) >>>
      0;
    if (at + length - blockStart > BLOCK) {
      cuts.push(at);
      blockStart = at;
    }
    at += length;
  }
  cuts.push(total);
}
const capacity = Math.ceil(BLOCK / 36) + 1;
const scanner = new BlockScanner(core, capacity, true);
const refScanner = new ReferenceScanner(capacity, true);

function scanWasm(hashes: boolean): number {
  let records = 0;
  for (let b = 0; b + 1 < cuts.length; b++) {
    const len = cuts[b + 1] - cuts[b];
    records += scanner.scan(region + cuts[b], len, 0, capacity, hashes);
    if (scanner.status !== STATUS_OK || scanner.stopOffset !== len)
      throw new Error("WASM scan stopped early");
  }
  return records;
}

function scanReference(hashes: boolean): number {
  let records = 0;
  for (let b = 0; b + 1 < cuts.length; b++) {
    const block = refBytes.subarray(cuts[b], cuts[b + 1]);
    records += refScanner.scan(block, block.length, 0, capacity, hashes);
    if (refScanner.status !== STATUS_OK) throw new Error("Reference scan stopped early");
  }
  return records;
}

function hashWasm(): number {
  for (let b = 0; b + 1 < cuts.length; b++)
    core.abi.xxh64(region + cuts[b], cuts[b + 1] - cuts[b], 0, 0);
  return total;
}

function hashReference(): number {
  for (let b = 0; b + 1 < cuts.length; b++)
    xxh64Parts(refBytes, cuts[b], cuts[b + 1] - cuts[b], 0, 0);
  return total;
}

function rate(units: number, body: () => unknown): number {
  const t0 = performance.now();
  body();
  return units / ((performance.now() - t0) / 1000);
}

function scanFigures(
  scan: (hashes: boolean) => number,
  hashes: boolean,
  runs: number,
): { mbps: Figure; rps: Figure } {
  const seconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const n = scan(hashes);
    seconds.push((performance.now() - t0) / 1000);
    if (n !== RECORDS) throw new Error(`Scan found ${n} of ${RECORDS} records`);
  }
  return {
    mbps: summarize(seconds.map((s) => total / s / 1e6)),
    rps: summarize(seconds.map((s) => RECORDS / s)),
  };
}

const refRuns = Math.max(3, Math.ceil(RUNS / 2));
const scanPlain = {
  wasm: scanFigures(scanWasm, false, RUNS),
  ref: scanFigures(scanReference, false, refRuns),
};
const scanHashed = {
  wasm: scanFigures(scanWasm, true, RUNS),
  ref: scanFigures(scanReference, true, refRuns),
};
const bare = {
  wasm: measure(RUNS, () => rate(total / 1e6, hashWasm)),
  ref: measure(refRuns, () => rate(total / 1e6, hashReference)),
};

const fmt = (f: Figure, scale: number, digits: number): string =>
  `${(f.median / scale).toFixed(digits)} (${(f.min / scale).toFixed(digits)}–${(f.max / scale).toFixed(digits)})`;
const rows: [string, string, string, string][] = [
  [
    "encode + checksum, M records/s",
    fmt(encodeRates.wasm, 1e6, 2),
    fmt(encodeRates.ref, 1e6, 2),
    ratio(encodeRates.wasm, encodeRates.ref),
  ],
  [
    "scan, verify + index, MB/s",
    fmt(scanPlain.wasm.mbps, 1, 0),
    fmt(scanPlain.ref.mbps, 1, 0),
    ratio(scanPlain.wasm.mbps, scanPlain.ref.mbps),
  ],
  [
    "scan, verify + index, M records/s",
    fmt(scanPlain.wasm.rps, 1e6, 2),
    fmt(scanPlain.ref.rps, 1e6, 2),
    ratio(scanPlain.wasm.rps, scanPlain.ref.rps),
  ],
  [
    "scan + subject hash, MB/s",
    fmt(scanHashed.wasm.mbps, 1, 0),
    fmt(scanHashed.ref.mbps, 1, 0),
    ratio(scanHashed.wasm.mbps, scanHashed.ref.mbps),
  ],
  [
    "scan + subject hash, M records/s",
    fmt(scanHashed.wasm.rps, 1e6, 2),
    fmt(scanHashed.ref.rps, 1e6, 2),
    ratio(scanHashed.wasm.rps, scanHashed.ref.rps),
  ],
  [
    "bare xxHash64 over the blocks, MB/s",
    fmt(bare.wasm, 1, 0),
    fmt(bare.ref, 1, 0),
    ratio(bare.wasm, bare.ref),
  ],
];

function ratio(a: Figure, b: Figure): string {
  return `${(a.median / b.median).toFixed(1)}×`;
}

console.log(
  `jetstore core codec: ${RECORDS.toLocaleString("en")} records, ${PAYLOAD}-byte payloads, ` +
    `${(total / 1e6).toFixed(1)} MB in ${cuts.length - 1} blocks of ~8 MiB; median (min–max)`,
);
const header: [string, string, string, string] = ["", "WASM core", "TS reference", "WASM/TS"];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
for (const row of [header, ...rows])
  console.log(
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "),
  );
