/**
 * Subject filters as nats-server reads them: tokens separated by ".", where a
 * `*` token matches exactly one token and a trailing `>` token matches one or
 * more. The empty filter and ">" match everything. Filters are split into
 * tokens once per query and subjects are walked in place with `indexOf`, so
 * matching a stored subject allocates nothing; splitting every subject, or
 * compiling filters to regular expressions, was rejected for the garbage and
 * the escaping it costs.
 */

/** True when `filter` selects every subject ("" or ">"). */
export function matchesAll(filter: string): boolean {
  return filter === "" || filter === ">";
}

/** True when `filter` has a `*` or `>` token, i.e. is not one literal subject. */
export function hasWildcard(filter: string): boolean {
  if (!filter.includes("*") && !filter.includes(">")) return false;
  for (const token of filter.split(".")) {
    if (token === "*" || token === ">") return true;
  }
  return false;
}

/** The tokens of a filter, for `subjectMatches`. */
export function filterTokens(filter: string): string[] {
  return filter.split(".");
}

/** True when `subject` matches the filter split by `filterTokens`. */
export function subjectMatches(subject: string, tokens: readonly string[]): boolean {
  const length = subject.length;
  let start = 0; // where the current subject token begins; past `length` once all are used
  for (let i = 0; i < tokens.length; i++) {
    if (start > length) return false;
    const token = tokens[i];
    if (token === ">") return true;
    let end = subject.indexOf(".", start);
    if (end < 0) end = length;
    if (token !== "*" && (end - start !== token.length || !subject.startsWith(token, start))) {
      return false;
    }
    start = end + 1;
  }
  return start > length;
}

/** A filter split once, for engines that test many subjects (or calls) against it. */
export interface CompiledFilter {
  readonly text: string;
  /** "" or ">": every subject matches. */
  readonly all: boolean;
  /** No wildcard token: a subject matches when it equals `text`. */
  readonly literal: boolean;
  readonly tokens: readonly string[];
}

/** Compiles a filter already checked by `checkFilter`. */
export function compileFilter(filter: string): CompiledFilter {
  const tokens = filterTokens(filter);
  const literal = !tokens.some((token) => token === "*" || token === ">");
  return { text: filter, all: matchesAll(filter), literal, tokens };
}

/** True when `subject` matches a compiled filter. */
export function filterMatches(filter: CompiledFilter, subject: string): boolean {
  if (filter.all) return true;
  if (filter.literal) return subject === filter.text;
  return subjectMatches(subject, filter.tokens);
}

/**
 * True when some subject matches both filters (nats-server's
 * SubjectsCollide): token by token, a `>` in either matches the rest, a `*`
 * any one token, literals must be equal, and without a `>` the lengths must
 * agree. nats-server 2.9's work-queue check only asked whether one filter
 * was a subset of the other, which misses `a.*.c` against `a.b.*`.
 */
export function filtersOverlap(a: string, b: string): boolean {
  if (matchesAll(a) || matchesAll(b)) return true;
  const ta = filterTokens(a);
  const tb = filterTokens(b);
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === ">" || y === ">") return true;
    if (x !== "*" && y !== "*" && x !== y) return false;
  }
  return ta.length === tb.length;
}
