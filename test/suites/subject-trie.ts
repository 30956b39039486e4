/**
 * The subject trie behind FileStore's wildcard queries, against a plain
 * filter over every subject (subjectMatches, itself checked against a
 * reference matcher in subjects.ts): after random inserts and deletes the
 * trie visits exactly the matching subjects, each once, with its value.
 */
import fc from "fast-check";
import { filterTokens, subjectMatches } from "../../src/subject-match.ts";
import { SubjectTrie } from "../../src/subject-trie.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";

const token = fc.constantFrom("a", "b", "orders", "east", "7", "ü", "a*b", "x>");
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
const filter = fc
  .tuple(fc.array(fc.oneof(token, fc.constant("*")), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([t, tail]) => (tail ? [...t, ">"] : t).join("."));

export function subjectTrieSuite({ describe, it, expect }: TestApi, _ctx: RuntimeContext): void {
  describe("subject trie", () => {
    it("visits exactly the subjects a filter matches, after random inserts and deletes", () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.boolean(), subject), { maxLength: 60 }),
          fc.array(filter, { minLength: 1, maxLength: 5 }),
          (ops, filters) => {
            const trie = new SubjectTrie<number>();
            const model = new Map<string, number>();
            ops.forEach(([insert, s], i) => {
              if (insert) {
                trie.set(s, i);
                model.set(s, i);
              } else {
                trie.delete(s);
                model.delete(s);
              }
            });
            for (const f of filters) {
              const tokens = filterTokens(f);
              const seen: [string, number][] = [];
              trie.forEachMatch(tokens, (s, v) => seen.push([s, v]));
              const want = [...model].filter(([s]) => subjectMatches(s, tokens));
              const byName = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : 1);
              expect({ f, seen: seen.sort(byName) }).toEqual({ f, seen: want.sort(byName) });
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it("prunes emptied branches and forgets everything on clear", () => {
      const trie = new SubjectTrie<number>();
      trie.set("a.b.c", 1);
      trie.set("a.b", 2);
      trie.delete("a.b.c");
      const seen: string[] = [];
      trie.forEachMatch([">"], (s) => seen.push(s));
      expect(seen).toEqual(["a.b"]);
      trie.delete("a.b.c");
      trie.delete("a.b");
      trie.forEachMatch([">"], (s) => seen.push(s));
      expect(seen).toEqual(["a.b"]);
      trie.set("x", 3);
      trie.clear();
      trie.forEachMatch(["*"], (s) => seen.push(s));
      expect(seen).toEqual(["a.b"]);
    });
  });
}
