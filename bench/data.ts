/** The WORKLOADS.md data: subjects and payloads, shared by the workloads. */

const REGIONS = ["east", "west", "north", "south"];

/** Subject of message i (from 0), as WORKLOADS.md defines it. */
export function subjectOf(i: number): string {
  return `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;
}

/** Deterministic pseudo-random payloads (xorshift32), a pool reused round-robin. */
export function payloads(size: number, count = 1024): Uint8Array[] {
  let x = 0x9e3779b9;
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const p = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      p[j] = x & 0xff;
    }
    out.push(p);
  }
  return out;
}
