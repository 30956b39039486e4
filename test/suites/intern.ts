/**
 * The core's subject intern table (assembly/intern.ts): a subject read once
 * is found again by its bytes, so later reads build no string. Buckets of
 * four slots keep a stream's thousand subjects all interned at once (with
 * two, the ~30 of W1's subjects in overfull buckets evicted each other on
 * every pass); a full bucket gives its slots to new subjects in turn.
 * Interning goes through readSubject here, as in the store: it keeps the
 * string of each slot, which an intern behind its back would make stale.
 */
import { readSubject } from "../../src/filestore/message-reader.ts";
import { getCore } from "../../src/wasm/core.ts";
import type { TestApi } from "../harness.ts";
import { enc } from "./store-helpers.ts";

/**
 * 1,000 subjects shaped as W1's (bench/data.ts), under a prefix no other test
 * interns: a subject another test left interned is found, not put again, and
 * so may be the one a new subject replaces (none of these share a bucket with
 * four others; with two slots a bucket, 13 of them were missing).
 */
const subjectOf = (i: number) =>
  `intern.${["east", "west", "north", "south"][i % 4]}.${Math.floor(i / 4) % 250}`;

export function internSuite({ describe, it, expect }: TestApi): void {
  describe("subject intern table (assembly/intern.ts)", () => {
    const core = getCore();
    const at = core.alloc(128);
    const put = (subject: string) => {
      const bytes = enc(subject);
      core.u8.set(bytes, at);
      return bytes.length;
    };
    const slotOf = (subject: string) => core.abi.subjectSlot(at, put(subject));
    const read = (subject: string) => readSubject(at, put(subject));

    it("keeps a stream's 1,000 subjects interned together", () => {
      const subjects = Array.from({ length: 1000 }, (_, i) => subjectOf(i));
      for (const subject of subjects) expect(read(subject)).toBe(subject);
      const missing = subjects.filter((subject) => slotOf(subject) < 0);
      expect(missing).toStrictEqual([]);
      // Read again: every one the string made at first.
      for (const subject of subjects) expect(read(subject)).toBe(subject);
    });

    it("finds a subject right after it is interned, and gives a full bucket's slots in turn", () => {
      const byBucket = new Map<number, string[]>();
      for (let i = 0; i < 20_000; i++) {
        const subject = `many.${i}`;
        expect(read(subject)).toBe(subject);
        const slot = slotOf(subject);
        expect(slot).toBeGreaterThanOrEqual(0);
        expect(slot).toBeLessThan(8192);
        const bucket = byBucket.get(slot >> 2) ?? [];
        bucket.push(subject);
        byBucket.set(slot >> 2, bucket);
      }
      // The last four subjects of a bucket hold its four slots; the one before them was replaced.
      const [bucket, subjects] = [...byBucket].find(([, s]) => s.length > 5)!;
      const last = subjects.slice(-4);
      expect(new Set(last.map(slotOf)).size).toBe(4);
      for (const subject of last) expect(slotOf(subject) >> 2).toBe(bucket);
      expect(slotOf(subjects[subjects.length - 5])).toBe(-1);
      // Long subjects are never interned; their strings are still right.
      const long = `long.${"x".repeat(80)}`;
      expect(read(long)).toBe(long);
      expect(slotOf(long)).toBe(-1);
    });
  });
}
