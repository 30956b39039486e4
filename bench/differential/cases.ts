/** The seeded random operation sequences of the Go differential (bench/go-diff.ts). */
import { join } from "node:path";
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

export interface Limits {
  maxMsgs?: number;
  maxBytes?: number;
  maxMsgsPerSubject?: number;
  discard?: "old" | "new";
}

export interface Op {
  op: string;
  subj?: string;
  hdr?: string | null;
  msg?: string;
  seq?: number;
  keep?: number;
  limits?: Limits;
}

export interface Case {
  seed: number;
  dir: string;
  goBlockSize: number;
  blockSize: number;
  limits: Limits;
  filters: string[];
  ops: Op[];
  /** maxBytes on each side, when the case has one: the same message count under both formulas. */
  bytes?: { js: number; go: number };
}

/** mulberry32: a small seeded PRNG, so a failing case is its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FILTERS = [">", "", "a.*", "a.>", "*.x", "a.x", "b.y.1", "*.*.1", "*.>", "b.*.2", "c"];

export function generate(seed: number, maxOps: number, root: string): Case {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  // With maxBytes, every message has one size on each side (the two byte
  // formulas differ, so only then is a byte limit the same message count).
  const uniform = r() < 0.25;
  const limits: Limits = {};
  if (r() < 0.3) limits.maxMsgs = 1 + int(12);
  if (r() < 0.3) limits.maxMsgsPerSubject = 1 + int(4);
  if (uniform && r() < 0.7) limits.maxBytes = 1;
  if (r() < 0.3) limits.discard = "new";
  const subjects = uniform
    ? ["a.x.1", "a.y.2", "b.x.1", "b.y.1", "b.y.2", "c.z.1"]
    : ["a.x", "a.y", "a.x.1", "b.x", "b.y.1", "b.y.2", "c", "a.z.2", "b.x.1"];
  const hdrMode = uniform ? pick(["none", "always"]) : "mixed";
  const payloadOf = () => (uniform ? "p".repeat(8) : "m".repeat(int(40)) + String(int(10)));
  const sizeJs = 36 + 5 + 8 + (hdrMode === "always" ? 6 : 0);
  const sizeGo = 30 + 5 + 8 + (hdrMode === "always" ? 4 + 6 : 0);
  const maxBytesIn = (n: number) => ({
    js: n * sizeJs + int(sizeJs),
    go: n * sizeGo + int(sizeGo),
  });
  let bytesLimit: { js: number; go: number } | undefined;
  if (limits.maxBytes) {
    // Admission compares msgs' bytes plus the new one's against the limit, so
    // n messages fit on either side exactly when the remainder is below one size.
    bytesLimit = maxBytesIn(1 + int(10));
  }
  const ops: Op[] = [];
  const n = 1 + int(maxOps);
  let last = 0;
  const seqArg = () => (r() < 0.1 ? int(3) : int(last + 4));
  for (let i = 0; i < n; i++) {
    const w = r() * 100;
    if (w < 55) {
      const hdr =
        hdrMode === "always" ? "hdr:v1" : hdrMode === "mixed" && r() < 0.3 ? `h:${int(100)}` : null;
      ops.push({ op: "store", subj: pick(subjects), hdr, msg: payloadOf() });
      last++;
    } else if (w < 63) ops.push({ op: "remove", seq: seqArg() });
    else if (w < 66) ops.push({ op: "erase", seq: seqArg() });
    else if (w < 70) {
      ops.push({ op: "skip" });
      last++;
    } else if (w < 72) ops.push({ op: "purge" });
    else if (w < 78) {
      const keep = r() < 0.5 ? int(4) : 0;
      ops.push({
        op: "purgeEx",
        subj: pick([...FILTERS, ...subjects]),
        seq: keep ? 0 : r() < 0.5 ? 0 : seqArg(),
        keep,
      });
    } else if (w < 83) ops.push({ op: "compact", seq: seqArg() });
    else if (w < 88) ops.push({ op: "truncate", seq: seqArg() });
    else if (w < 96) ops.push({ op: "reopen" });
    else {
      const l: Limits = {};
      if (r() < 0.5) l.maxMsgs = 1 + int(12);
      if (r() < 0.5) l.maxMsgsPerSubject = 1 + int(4);
      if (limits.discard) l.discard = limits.discard;
      ops.push({ op: "config", limits: l });
    }
  }
  const filters = [...new Set([pick(FILTERS), pick(FILTERS), pick(FILTERS), pick(subjects)])];
  const c: Case = {
    seed,
    dir: join(root, `go-${seed}`),
    goBlockSize: pick([128, 256, 1024, 65536]),
    blockSize: pick([4096, 8192]),
    limits,
    filters,
    ops,
  };
  if (bytesLimit) c.bytes = bytesLimit;
  return c;
}
