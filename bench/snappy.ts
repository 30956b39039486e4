/**
 * `npm run bench:snappy`: Snappy (raw format) compress and uncompress
 * throughput, the core's kernel against snappyjs, on the chunks a sealed
 * block is cut into (16 KiB and 64 KiB), under Node, then Bun and Deno as
 * child processes of the same script. Data, as real records
 * (src/reference/record.ts):
 * - json: W10's ~200-byte JSON order objects as payloads, subject `orders.<r>.<n>`;
 * - random: xorshift bytes, nothing to find;
 * - w1: W1's records, subject `orders.<r>.<n>` and a 128-byte random payload.
 * Figures are MiB/s of plain bytes, median of `BENCH_RUNS` (default 5) runs
 * of at least 250 ms over ~8 MiB of chunks; "wasm" goes through the `Compressor` (copies in and out of
 * core memory), "in-core" calls `CoreSnappy` on bytes already there. Ratio is
 * compressed / plain. Quote ratios between columns: the machine is shared.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Compressor } from "../src/at-rest/compression.ts";
import { snappyJs } from "../src/at-rest/snappy-js.ts";
import { coreSnappy, maxCompressedLength, snappyWasm } from "../src/at-rest/snappy-wasm.ts";
import { encodeRecordAt } from "../src/reference/record.ts";
import { getCore } from "../src/wasm/core.ts";

const CORPUS = 8 * 1024 * 1024;
const CHUNKS = [16 * 1024, 64 * 1024];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MIN_RUN_MS = 250;
const REGIONS = ["east", "west", "north", "south"];
const BASE_TS = 1_700_000_000_000_000_000n;

interface Row {
  runtime: string;
  data: string;
  chunk: number;
  ratio: number;
  /** MiB/s by implementation, compress then uncompress. */
  compress: Record<string, number>;
  uncompress: Record<string, number>;
}

let state = 0x9e3779b9;
function xorshift(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = xorshift();
  return out;
}

/** Records until `CORPUS` bytes, payload i from `payload(i)`. */
function records(payload: (i: number) => Uint8Array): Uint8Array {
  const out = new Uint8Array(CORPUS + 64 * 1024);
  let at = 0;
  for (let i = 0; at < CORPUS; i++) {
    const subject = `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;
    at += encodeRecordAt(
      out,
      at,
      subject,
      null,
      payload(i),
      i + 1,
      BASE_TS + BigInt(i) * 1000n,
      null,
      0,
    );
  }
  return out.subarray(0, CORPUS);
}

const text = new TextEncoder();
const NOTES = ["leave at the door", "call on arrival", "gift wrap, no invoice", "fragile"];
function jsonOrder(i: number): Uint8Array {
  const order = {
    id: i,
    customer: `customer-${i % 500}`,
    item: `sku-${(i * 7919) % 1000}`,
    qty: 1 + (i % 9),
    price: ((i * 2654435761) % 100000) / 100,
    currency: "EUR",
    status: i % 10 === 0 ? "backordered" : "confirmed",
    note: NOTES[i % NOTES.length],
    ts: 1_700_000_000 + i,
  };
  return text.encode(JSON.stringify(order));
}

const datasets: Record<string, () => Uint8Array> = {
  json: () => records(jsonOrder),
  random: () => randomBytes(CORPUS),
  w1: () => records(() => randomBytes(128)),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function rate(bytes: number, body: () => void): number {
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    body();
    calls++;
    elapsed = performance.now() - t0;
  } while (elapsed < MIN_RUN_MS);
  return (calls * bytes) / (1024 * 1024) / (elapsed / 1000);
}

interface Case {
  way: "compress" | "uncompress";
  name: string;
  body: () => void;
}

/**
 * MiB/s of each case over `bytes` plain bytes per call: each run repeats a
 * body for at least MIN_RUN_MS, and runs go round-robin over the cases so a
 * busy neighbour slows them alike; median of RUNS runs.
 */
function measureCases(bytes: number, cases: Case[], row: Row): void {
  for (const c of cases) c.body(); // warm-up
  const rates = cases.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < cases.length; i++) rates[i].push(rate(bytes, cases[i].body));
  }
  for (let i = 0; i < cases.length; i++) row[cases[i].way][cases[i].name] = median(rates[i]);
}

function measureChunks(data: string, corpus: Uint8Array, chunk: number, runtime: string): Row {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at + chunk <= corpus.length; at += chunk)
    chunks.push(corpus.subarray(at, at + chunk));
  const plain = chunks.length * chunk;
  const row: Row = { runtime, data, chunk, ratio: 0, compress: {}, uncompress: {} };
  const cases: Case[] = [];
  for (const impl of [snappyJs, snappyWasm] as Compressor[]) {
    const compressed = chunks.map((c) => impl.compress(c));
    row.ratio = compressed.reduce((n, c) => n + c.length, 0) / plain;
    cases.push({
      way: "compress",
      name: impl.name,
      body: () => {
        for (const c of chunks) impl.compress(c);
      },
    });
    cases.push({
      way: "uncompress",
      name: impl.name,
      body: () => {
        for (const c of compressed) if (impl.uncompress(c, chunk) === null) throw new Error("bad");
      },
    });
  }
  // In core: the chunks already in core memory, output into kept buffers.
  const core = getCore();
  const snappy = coreSnappy(core);
  const src = core.alloc(plain);
  const room = maxCompressedLength(chunk);
  const out = core.alloc(room * chunks.length);
  const back = core.alloc(chunk);
  core.u8.set(corpus.subarray(0, plain), src);
  const lengths = new Array<number>(chunks.length);
  const compressAll = () => {
    for (let i = 0; i < chunks.length; i++)
      lengths[i] = snappy.compressInCore(src + i * chunk, chunk, out + i * room);
  };
  compressAll();
  cases.push({ way: "compress", name: "in-core", body: compressAll });
  cases.push({
    way: "uncompress",
    name: "in-core",
    body: () => {
      for (let i = 0; i < chunks.length; i++)
        if (!snappy.uncompressInCore(out + i * room, lengths[i], back, chunk))
          throw new Error("bad");
    },
  });
  measureCases(plain, cases, row);
  core.free(src);
  core.free(out);
  core.free(back);
  return row;
}

function runHere(runtime: string): Row[] {
  const rows: Row[] = [];
  for (const [data, make] of Object.entries(datasets)) {
    const corpus = make();
    for (const chunk of CHUNKS) rows.push(measureChunks(data, corpus, chunk, runtime));
  }
  return rows;
}

function runtimeName(): string {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/** Runs this script's source under Bun and Deno from the repository's node_modules. */
function runChildren(): Row[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // Built as dist/bench/snappy.js; the children run the TypeScript source.
  const root = here.endsWith(join("dist", "bench")) ? join(here, "..", "..") : join(here, "..");
  const source = join(root, "bench", "snappy.ts");
  const bin = join(root, "node_modules", ".bin");
  const children = [
    { name: "bun", argv: [join(bin, "bun"), source, "--child"] },
    { name: "deno", argv: [join(bin, "deno"), "run", "-A", source, "--child"] },
  ];
  const rows: Row[] = [];
  for (const { name, argv } of children) {
    process.stderr.write(`${name} … `);
    const child = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", cwd: root });
    if (child.status !== 0) {
      process.stderr.write(`failed (exit ${child.status}): ${child.stderr || child.error}\n`);
      continue;
    }
    rows.push(...(JSON.parse(child.stdout.trim().split("\n").pop() as string) as Row[]));
    process.stderr.write("done\n");
  }
  return rows;
}

function table(rows: Row[]): string {
  const names = ["snappyjs", "jetstore-wasm", "in-core"];
  const f = (n: number) => n.toFixed(0).padStart(6);
  const lines = [
    "| runtime | data | chunk | ratio | compress MiB/s: snappyjs / wasm / in-core (×) | uncompress MiB/s: snappyjs / wasm / in-core (×) |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const c = names.map((n) => f(r.compress[n])).join(" /");
    const u = names.map((n) => f(r.uncompress[n])).join(" /");
    const cx = (r.compress["jetstore-wasm"] / r.compress.snappyjs).toFixed(1);
    const ux = (r.uncompress["jetstore-wasm"] / r.uncompress.snappyjs).toFixed(1);
    lines.push(
      `| ${r.runtime} | ${r.data} | ${r.chunk / 1024} KiB | ${r.ratio.toFixed(3)} | ${c} (${cx}×) | ${u} (${ux}×) |`,
    );
  }
  return lines.join("\n");
}

const child = process.argv.includes("--child");
if (child) {
  console.log(JSON.stringify(runHere(runtimeName())));
} else {
  process.stderr.write("node … ");
  const rows = runHere(runtimeName());
  process.stderr.write("done\n");
  if (!process.argv.includes("--only-here")) rows.push(...runChildren());
  console.log(table(rows));
}
