/**
 * `npm run bench:aead`: throughput of each AEAD provider this runtime has,
 * per cipher, sealing and opening 256 B, 4 KiB, 16 KiB and 64 KiB inputs
 * (with 16 bytes of AAD, as a chunk header would be). Each figure is the
 * median MiB/s of `BENCH_RUNS` rounds (default 5) of `BENCH_MS` ms each
 * (default 200); rounds visit every cell in turn, so drift on a shared
 * machine hits all alike. Runs unchanged under Bun and Deno:
 *   node_modules/.bin/bun bench/aead.ts
 *   node_modules/.bin/deno run --allow-read --allow-env bench/aead.ts
 * These numbers order the preferences in runtimes/aead-choice.ts.
 */
import {
  type CipherName,
  type CryptoProvider,
  cryptoChoice,
  nodeCrypto,
} from "../runtimes/aead.ts";
import { CIPHERS, currentRuntime, nativeCiphers } from "../runtimes/aead-choice.ts";
import { nobleCrypto } from "../runtimes/aead-noble.ts";

const SIZES = [256, 4096, 16384, 65536];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MS = Number(process.env.BENCH_MS ?? 200);

interface Cell {
  provider: CryptoProvider;
  cipher: CipherName;
  size: number;
  seal: number[];
  open: number[];
}

/** Deterministic bytes (xorshift32); the ciphers do not care what they are. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

/** MiB/s of `op` on `size`-byte inputs over about `MS` milliseconds. */
function rate(size: number, op: () => Uint8Array | null): number {
  let sink = 0;
  let calls = 0;
  const start = performance.now();
  let now = start;
  // Check the clock every few calls only: performance.now() costs about as
  // much as sealing 256 bytes natively.
  const batch = Math.max(1, Math.floor(65536 / size));
  while (now - start < MS) {
    for (let i = 0; i < batch; i++) sink += op()?.length ?? 0;
    calls += batch;
    now = performance.now();
  }
  // Consumed, so no engine can drop the calls as dead code.
  if (sink < 0) console.log(sink);
  return (calls * size) / (1024 * 1024) / ((now - start) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const native = nativeCiphers();
const cells: Cell[] = [];
for (const cipher of CIPHERS) {
  const providers = native.includes(cipher) ? [nobleCrypto, nodeCrypto] : [nobleCrypto];
  for (const provider of providers) {
    for (const size of SIZES) cells.push({ provider, cipher, size, seal: [], open: [] });
  }
}

const key = bytes(32, 1);
const nonce = bytes(12, 2);
const aad = bytes(16, 3);
for (let run = 0; run < RUNS; run++) {
  for (const cell of cells) {
    const aead = cell.provider.aead(cell.cipher);
    const plaintext = bytes(cell.size, cell.size);
    const sealed = aead.seal(key, nonce, plaintext, aad);
    cell.seal.push(rate(cell.size, () => aead.seal(key, nonce, plaintext, aad)));
    cell.open.push(rate(cell.size, () => aead.open(key, nonce, sealed, aad)));
  }
}

const version =
  (globalThis as { Deno?: { version: { deno: string } } }).Deno?.version.deno ??
  (globalThis as { Bun?: { version: string } }).Bun?.version ??
  process.versions.node;
console.log(`${currentRuntime()} ${version}: median MiB/s of ${RUNS} × ${MS} ms\n`);
console.log("| cipher | provider | size | seal | open |");
console.log("|---|---|--:|--:|--:|");
const kib = (n: number) => (n < 1024 ? `${n} B` : `${n / 1024} KiB`);
for (const c of cells) {
  const seal = median(c.seal).toFixed(0);
  const open = median(c.open).toFixed(0);
  console.log(`| ${c.cipher} | ${c.provider.name} | ${kib(c.size)} | ${seal} | ${open} |`);
}
const choice = cryptoChoice();
console.log(`\nchosen here: ${CIPHERS.map((c) => `${c} → ${choice[c]}`).join(", ")}`);
