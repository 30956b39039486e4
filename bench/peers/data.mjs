/**
 * The data of ../shared/bench/WORKLOADS.md, shared by every store so they all
 * write the same bytes: subjects `orders.<region>.<n>` (1000 distinct) and
 * deterministic xorshift payloads. Mirrors `subjectOf` and `payloads` of
 * bench/workloads.ts (a TypeScript module this plain-ESM package cannot import
 * without a build of its own).
 *
 * Peers without subject and timestamp columns keep a message as one record:
 * `[f64 ms timestamp][u16 subject length][subject][payload]`, the least a user
 * needs to answer "what was stored under seq N, on which subject, when".
 */
const REGIONS = ["east", "west", "north", "south"];

export function subjectOf(i) {
  return `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;
}

export const SUBJECTS = Array.from({ length: 1000 }, (_, i) => subjectOf(i));

/** A pool of `count` payloads of `size` bytes, reused round-robin (i & 1023). */
export function payloads(size, count = 1024) {
  let x = 0x9e3779b9;
  const out = [];
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

/** Uniformly random sequences in [first, last], the same stream for every store. */
export function randomSeqs(first, last) {
  const span = last - first + 1;
  let x = 12345;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return first + ((x >>> 0) % span);
  };
}

const RECORD_HEADER = 10;

/** One message as one value (see the module comment). */
export function encodeRecord(subject, payload) {
  const subjectBytes = Buffer.byteLength(subject);
  const out = Buffer.allocUnsafe(RECORD_HEADER + subjectBytes + payload.length);
  out.writeDoubleLE(Date.now(), 0);
  out.writeUInt16LE(subjectBytes, 8);
  out.write(subject, RECORD_HEADER, "utf8");
  out.set(payload, RECORD_HEADER + subjectBytes);
  return out;
}

/** What a reader gets back: subject string and payload view, as jetstore's loadMsg. */
export function decodeRecord(buf) {
  const subjectBytes = buf.readUInt16LE(8);
  const end = RECORD_HEADER + subjectBytes;
  return { subject: buf.toString("utf8", RECORD_HEADER, end), msg: buf.subarray(end) };
}
