/**
 * Subjects and filters on their own, without a store: `subjectMatches`
 * (src/subject-match.ts) against the regular-expression reference of
 * subject-reference.ts on every corner — `>` alone, `*.*`, `*` and `>` inside
 * a word, UTF-8 and astral tokens — and `checkSubject` / `checkFilter`
 * (src/validate.ts) against nats-server's grammar, written out here as
 * predicates over `split(".")`.
 */
import fc from "fast-check";
import { isJetStoreError } from "../../src/errors.ts";
import { filterTokens, hasWildcard, matchesAll, subjectMatches } from "../../src/subject-match.ts";
import { checkFilter, checkSubject } from "../../src/validate.ts";
import type { TestApi } from "../harness.ts";
import { refMatches } from "./subject-reference.ts";

/** Tokens that collide often, with wildcard characters inside words and multi-byte text. */
const WORDS = ["a", "b", "ab", "a*b", "*x", "x>", ">>", "**", "é", "東京", "🚀", "a\u2028b", "0"];

const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WORDS) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: fc.constantFrom("a", "b", "*", ">", "ü", "😀"), minLength: 1, maxLength: 4 })
      .filter((t) => t !== "*" && t !== ">"),
  },
);

const subjectArb = fc.array(word, { minLength: 1, maxLength: 5 }).map((t) => t.join("."));

/** A filter: literal words and `*` tokens, optionally ending in `>`. */
const filterArb = fc
  .tuple(fc.array(fc.oneof(word, fc.constant("*")), { minLength: 0, maxLength: 5 }), fc.boolean())
  .filter(([tokens, tail]) => tokens.length > 0 || tail)
  .map(([tokens, tail]) => (tail ? [...tokens, ">"] : tokens).join("."));

/** A filter made from `subject` by turning tokens into `*` and cutting the tail into `>`: it often matches. */
function filterFrom(subject: string, stars: boolean[], cut: number): string {
  const tokens = subject.split(".").map((t, i) => (stars[i % stars.length] ? "*" : t));
  if (cut > 0 && cut < tokens.length)
    return [...tokens.slice(0, tokens.length - cut), ">"].join(".");
  return tokens.join(".");
}

/** ASCII whitespace or a control character: what no subject may hold. */
function spaceOrControl(token: string): boolean {
  return [...token].some((c) => c <= " " || c === "\u007f");
}

/** nats' IsValidPublishSubject with our extra limits, from its definition. */
function refValidSubject(text: string): boolean {
  return (
    text.length > 0 &&
    text.split(".").every((t) => t.length > 0 && t !== "*" && t !== ">" && !spaceOrControl(t))
  );
}

/** nats' IsValidSubject (a filter), "" meaning all. */
function refValidFilter(text: string): boolean {
  if (text === "") return true;
  const tokens = text.split(".");
  return tokens.every(
    (t, i) => t.length > 0 && (t !== ">" || i === tokens.length - 1) && !spaceOrControl(t),
  );
}

/** The code `fn` throws, or "ok". */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    return isJetStoreError(err) ? err.code : `foreign: ${String(err)}`;
  }
}

function matches(subject: string, filter: string): boolean {
  return matchesAll(filter) || subjectMatches(subject, filterTokens(filter));
}

export function subjectSuite({ describe, it, expect }: TestApi): void {
  describe("subjects and filters", () => {
    it("match every corner exactly as nats-server does", () => {
      const cases: [string, string, boolean][] = [
        ["a", ">", true],
        ["a.b.c", ">", true],
        ["a", "", true],
        ["a", "*", true],
        ["a.b", "*", false],
        ["a.b", "*.*", true],
        ["a", "*.*", false],
        ["a.b.c", "*.*", false],
        ["a", "a.>", false],
        ["a.b", "a.>", true],
        ["a.b.c", "a.>", true],
        ["a.b", "a.*.>", false],
        ["a.b.c", "a.*.>", true],
        ["a*b.c", "a*b.c", true],
        ["axb.c", "a*b.c", false],
        ["a*b.c", "*.c", true],
        ["a*b", "a*", false],
        ["x>", "x>", true],
        ["x.y", "x>", false],
        [">", ">", true],
        ["注文.東京", "注文.*", true],
        ["注文.東京", "*.東京", true],
        ["注文.東京", "注文", false],
        ["🚀.x", "🚀.>", true],
        ["ab", "a", false],
        ["a", "ab", false],
        ["a.b", "a.b.c", false],
        ["a.b.c", "a.b", false],
      ];
      const got = cases.map(([s, f]) => [s, f, matches(s, f)]);
      expect(got).toStrictEqual(cases);
      expect(cases.map(([s, f]) => [s, f, refMatches(s, f)])).toStrictEqual(cases);
    });

    it("subjectMatches agrees with the reference matcher on random subjects and filters", () => {
      fc.assert(
        fc.property(subjectArb, filterArb, (subject, filter) => {
          expect([subject, filter, matches(subject, filter)]).toStrictEqual([
            subject,
            filter,
            refMatches(subject, filter),
          ]);
        }),
        { numRuns: 3000 },
      );
    });

    it("subjectMatches agrees with the reference on filters derived from the subject", () => {
      fc.assert(
        fc.property(
          subjectArb,
          subjectArb,
          fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
          fc.nat(5),
          (subject, other, stars, cut) => {
            const filter = filterFrom(subject, stars, cut);
            expect(refMatches(subject, filter)).toBe(true);
            expect([subject, filter, matches(subject, filter)]).toStrictEqual([
              subject,
              filter,
              true,
            ]);
            expect([other, filter, matches(other, filter)]).toStrictEqual([
              other,
              filter,
              refMatches(other, filter),
            ]);
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('hasWildcard sees only whole `*` and `>` tokens; matchesAll only "" and ">"', () => {
      const wild = ["*", ">", "a.*", "*.a", "a.>", "a.*.b", "*.*"];
      const literal = ["a", "a*b", "a.b*", "*a", "a>", ">a.b", "a.**", "a.>>"];
      expect(wild.map(hasWildcard)).toStrictEqual(wild.map(() => true));
      expect(literal.map(hasWildcard)).toStrictEqual(literal.map(() => false));
      expect(["", ">", "*", ">.>", "a"].map(matchesAll)).toStrictEqual([
        true,
        true,
        false,
        false,
        false,
      ]);
    });

    it("checkSubject follows nats' publish grammar", () => {
      const valid = [
        "a",
        "a.b",
        "a*b",
        ">x",
        "x>",
        "a.*b.c>",
        "**",
        ">>",
        "注文.東京",
        "🚀",
        "a-b_c:d/e",
      ];
      const invalid = [
        "",
        ".",
        "..",
        ".a",
        "a.",
        "a..b",
        "*",
        ">",
        "a.*",
        "*.a",
        "a.>",
        "a.*.b",
        "a b",
        "a\tb",
        "a\u0000",
        "a.\ud800",
      ];
      expect(valid.map((s) => [s, outcome(() => checkSubject(s, "test"))])).toStrictEqual(
        valid.map((s) => [s, "ok"]),
      );
      expect(invalid.map((s) => [s, outcome(() => checkSubject(s, "test"))])).toStrictEqual(
        invalid.map((s) => [s, "ErrInvalidSubject"]),
      );
      expect(outcome(() => checkSubject(42, "test"))).toBe("ErrInvalidArgument");
    });

    it("checkFilter follows nats' subject grammar with wildcards", () => {
      const valid = [
        "",
        ">",
        "*",
        "a",
        "a.*",
        "*.*",
        "a.>",
        "*.>",
        "a.*.>",
        "a*b.>",
        ">x.*",
        "x>.y",
      ];
      const invalid = [
        ".",
        "..",
        ".a",
        "a.",
        "a..b",
        ".>",
        "*.",
        ">.a",
        "a.>.b",
        ">.>",
        "a b",
        "a.\udc00",
      ];
      expect(valid.map((f) => [f, outcome(() => checkFilter(f, "test"))])).toStrictEqual(
        valid.map((f) => [f, "ok"]),
      );
      expect(invalid.map((f) => [f, outcome(() => checkFilter(f, "test"))])).toStrictEqual(
        invalid.map((f) => [f, "ErrInvalidFilter"]),
      );
      expect([null, 1, ["a"]].map((f) => outcome(() => checkFilter(f, "test")))).toStrictEqual([
        "ErrInvalidArgument",
        "ErrInvalidArgument",
        "ErrInvalidArgument",
      ]);
      // checkFilter remembers the last filter it passed: a repeat is judged the same, a bad one after it still refused.
      for (const f of [...invalid, null, undefined, 1]) {
        const twice = [
          outcome(() => checkFilter(f, "test")),
          outcome(() => checkFilter(f, "test")),
        ];
        expect(outcome(() => checkFilter("a.*", "test"))).toBe("ok");
        expect(outcome(() => checkFilter("a.*", "test"))).toBe("ok");
        expect([f, ...twice]).toStrictEqual([f, twice[0], twice[0]]);
        expect(twice[0]).not.toBe("ok");
      }
    });

    it("checkSubject and checkFilter agree with the grammar on random text", () => {
      const text = fc.string({ unit: fc.constantFrom("a", ".", "*", ">", " ", "é"), maxLength: 8 });
      fc.assert(
        fc.property(text, (t) => {
          const subject = outcome(() => checkSubject(t, "test"));
          const filter = outcome(() => checkFilter(t, "test"));
          expect([t, subject, filter]).toStrictEqual([
            t,
            refValidSubject(t) ? "ok" : "ErrInvalidSubject",
            refValidFilter(t) ? "ok" : "ErrInvalidFilter",
          ]);
        }),
        { numRuns: 3000 },
      );
    });
  });
}
