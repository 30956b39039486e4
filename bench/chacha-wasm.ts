/**
 * `npm run bench:aead`: ChaCha20-Poly1305 seal and open in MiB/s of
 * plaintext on 4, 16 and 64 KiB messages with 32 bytes of AAD, for the WASM
 * core (through the `Aead`, which copies in and out, and on core memory,
 * which does not), @noble/ciphers, and the runtime's `node:crypto` where it
 * has the cipher (checked against noble first). The same file runs as is
 * under `bun bench/aead.ts` and `deno run --allow-read --allow-env
 * bench/aead.ts`. Each figure is the median of several runs of ~0.2 s of
 * this process's CPU time (user + system), so other load on a shared machine
 * costs less than it would on the wall clock; quote ratios all the same.
 */

import { Buffer } from "node:buffer";
import * as nodeCrypto from "node:crypto";
import process from "node:process";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { Aead } from "../runtimes/aead.ts";
import { chachaOpenAt, chachaSealAt, wasmChaCha20Poly1305 } from "../src/at-rest/chacha-wasm.ts";
import { getCore } from "../src/wasm/core.ts";

const SIZES = [4096, 16384, 65536];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RUN_SECONDS = 0.2;
const MIB = 1024 * 1024;

const runtime =
  "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${process.version}`;

/** One contender: seals and opens the same message, as often as asked. */
interface Contender {
  name: string;
  /** Prepares a message of `size` bytes; returns the seal and open loops' bodies. */
  prepare(size: number): { seal: () => void; open: () => void };
}

const key = filled(32, 1);
const nonce = filled(12, 2);
const aad = filled(32, 3);

function filled(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 0x9e3779b9 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

function viaAead(name: string, aead: Aead): Contender {
  return {
    name,
    prepare(size) {
      const plaintext = filled(size, size);
      const sealed = aead.seal(key, nonce, plaintext, aad);
      return {
        seal: () => aead.seal(key, nonce, plaintext, aad),
        open: () => {
          if (aead.open(key, nonce, sealed, aad) === null) throw new Error(`${name}: open failed`);
        },
      };
    },
  };
}

/** The core's kernel on bytes already in core memory: what a store with its block there pays. */
const inCore: Contender = {
  name: "wasm core, in place",
  prepare(size) {
    const core = getCore();
    const ptr = core.alloc(48 + 32 + size + 16);
    const [k, n, a, msg] = [ptr, ptr + 32, ptr + 48, ptr + 80];
    core.u8.set(key, k);
    core.u8.set(nonce, n);
    core.u8.set(aad, a);
    core.u8.set(filled(size, size), msg);
    const sealed = core.alloc(size + 16);
    chachaSealAt(core, k, n, a, aad.length, msg, size, sealed);
    const out = core.alloc(size);
    return {
      seal: () => chachaSealAt(core, k, n, a, aad.length, msg, size, msg),
      open: () => {
        if (!chachaOpenAt(core, k, n, a, aad.length, sealed, size + 16, out))
          throw new Error("in core: open failed");
      },
    };
  },
};

function nodeChaCha(): Aead | null {
  const options = { authTagLength: 16 } as const;
  const aead: Aead = {
    seal(k, n, plaintext, ad) {
      const cipher = nodeCrypto.createCipheriv("chacha20-poly1305", k, n, options);
      cipher.setAAD(ad, { plaintextLength: plaintext.length });
      const head = cipher.update(plaintext);
      const tail = cipher.final();
      return Buffer.concat([head, tail, cipher.getAuthTag()]);
    },
    open(k, n, sealed, ad) {
      const length = sealed.length - 16;
      const decipher = nodeCrypto.createDecipheriv("chacha20-poly1305", k, n, options);
      decipher.setAuthTag(sealed.subarray(length));
      decipher.setAAD(ad, { plaintextLength: length });
      const head = decipher.update(sealed.subarray(0, length));
      try {
        return Buffer.concat([head, decipher.final()]);
      } catch {
        return null;
      }
    },
  };
  try {
    const probe = filled(100, 9);
    const sealed = aead.seal(key, nonce, probe, aad);
    const noble = chacha20poly1305(key, nonce, aad).encrypt(probe);
    return Buffer.from(sealed).equals(Buffer.from(noble)) ? aead : null;
  } catch {
    return null;
  }
}

/** Seconds of CPU this process has used. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** MiB/s of `body` over messages of `size` bytes. */
function rate(size: number, body: () => void): number {
  body();
  let iterations = 1;
  // Calibrate so one run takes about RUN_SECONDS.
  for (;;) {
    const t0 = cpuSeconds();
    for (let i = 0; i < iterations; i++) body();
    const seconds = cpuSeconds() - t0;
    if (seconds > RUN_SECONDS / 4) {
      iterations = Math.max(1, Math.round((iterations * RUN_SECONDS) / seconds));
      break;
    }
    iterations *= 4;
  }
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = cpuSeconds();
    for (let i = 0; i < iterations; i++) body();
    rates.push((size * iterations) / MIB / (cpuSeconds() - t0));
  }
  return median(rates);
}

const contenders: Contender[] = [
  viaAead("wasm core, Aead (copies)", wasmChaCha20Poly1305),
  inCore,
  viaAead("@noble/ciphers", {
    seal: (k, n, p, a) => chacha20poly1305(k, n, a).encrypt(p),
    open: (k, n, s, a) => chacha20poly1305(k, n, a).decrypt(s),
  }),
];
const native = nodeChaCha();
if (native !== null) contenders.push(viaAead("node:crypto", native));

console.log(`ChaCha20-Poly1305 on ${runtime}, MiB/s of plaintext (median of ${RUNS}, CPU time)`);
console.log("");
console.log(
  `| implementation | ${SIZES.map((s) => `seal ${s / 1024} KiB | open ${s / 1024} KiB`).join(" | ")} |`,
);
console.log(`|---|${SIZES.map(() => "---:|---:").join("|")}|`);
for (const contender of contenders) {
  const cells: string[] = [];
  for (const size of SIZES) {
    const { seal, open } = contender.prepare(size);
    cells.push(rate(size, seal).toFixed(0), rate(size, open).toFixed(0));
  }
  console.log(`| ${contender.name} | ${cells.join(" | ")} |`);
}
if (native === null) console.log("\nnode:crypto has no chacha20-poly1305 here.");
