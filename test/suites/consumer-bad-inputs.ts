/**
 * The durable consumers' bad-input table: each row an entry point, the
 * inputs tried and the typed error each gets. One source for the README
 * ("Consumers", bad input) and the tests (consumers-inputs.ts, one test per
 * row and engine, each checking that nothing changed).
 */
import type { ErrorCode } from "../../src/errors.ts";
import type { RetentionPolicy } from "../../src/types.ts";

// Bad inputs reach the API through `any`, as they would from JavaScript callers.
// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

/** How a row is tried. */
export type ConsumerAttempt =
  /**
   * Each call of `store.consumer(…)` must throw, on a stream holding messages
   * 1…3 on "a" where consumer "c" (explicit acks) delivered 1 and 2 and acked
   * 1, open unless `closeFirst`; `filter` is c's filter.
   */
  | {
      kind: "open";
      calls: ((store: Loose) => unknown)[];
      retention?: RetentionPolicy;
      filter?: string;
      closeFirst?: boolean;
    }
  /** Each call on that consumer `c` (with `ackPolicy`) must throw or reject and change nothing. */
  | { kind: "calls"; calls: ((c: Loose) => unknown)[]; ackPolicy?: "none" }
  /** Each call on `c` after its `close()` (or `delete()`, or the stream's close) must fail. */
  | { kind: "closed"; calls: ((c: Loose) => unknown)[]; after: "close" | "delete" | "stream" };

export interface ConsumerBadInputRow {
  entry: string;
  inputs: string;
  code: ErrorCode;
  attempt: ConsumerAttempt;
}

const NOT_SEQS: unknown[] = [0, -1, 1.5, Number.NaN, 2 ** 53, "2", 2n, null, undefined];
const NOT_SEQS_TEXT = '0, -1, 1.5, NaN, 2^53, "2", 2n, null, undefined';
const ACK_CALLS = (seq: unknown) => [
  (c: Loose) => c.ack(seq),
  (c: Loose) => c.nak(seq),
  (c: Loose) => c.term(seq),
  (c: Loose) => c.working(seq),
];
const EVERY_METHOD: ((c: Loose) => unknown)[] = [
  (c) => c.fetch(1),
  (c) => c.next(),
  (c) => c.messages().next(),
  ...ACK_CALLS(2),
  (c) => c.info(),
  (c) => c.sync(),
  (c) => c.delete(),
];
const EVERY_METHOD_TEXT =
  "`fetch`, `next`, `messages`, `ack`, `nak`, `term`, `working`, `info`, `sync`, `delete` (the promises reject); `close` again is fine";

const open = (
  inputs: string,
  code: ErrorCode,
  calls: ((store: Loose) => unknown)[],
  more: Omit<Extract<ConsumerAttempt, { kind: "open" }>, "kind" | "calls"> = {},
  entry = "`store.consumer`",
): ConsumerBadInputRow => ({ entry, inputs, code, attempt: { kind: "open", calls, ...more } });

const options = (list: unknown[]) => list.map((o) => (s: Loose) => s.consumer("d", o));

/** Every row of the README's consumer bad-input table, in its order. */
export const CONSUMER_BAD_INPUT_ROWS: ConsumerBadInputRow[] = [
  open(
    'a name that is not a non-empty string, or holds a space, `.`, `*`, `>`, `/`, `\\` or a control character ("", "a.b", "a b", "a*", 5, null)',
    "ErrInvalidArgument",
    ["", "a.b", "a b", "a*", "a>", "a/b", "a\\b", "a\u0001", 5, null].map(
      (name) => (s: Loose) => s.consumer(name),
    ),
  ),
  open(
    'options not an object (5, "x", an array, null); an unknown option (`filterSubject`)',
    "ErrInvalidArgument",
    options([5, "x", [], null, { filterSubject: "a" }]),
  ),
  open(
    "`filter` not a string; `filters` not a non-empty array of strings; both `filter` and `filters`; `filters` that overlap (`a.*` and `a.b`)",
    "ErrInvalidArgument",
    options([
      { filter: 5 },
      { filter: null },
      { filters: "a" },
      { filters: [] },
      { filters: ["a", 5] },
      { filter: "a", filters: ["b"] },
      { filters: ["a.*", "a.b"] },
      { filters: ["x", ">"] },
    ]),
  ),
  open(
    "a `filter` or one of `filters` that is no filter (`a..b`, `a.>.b`, `a b`)",
    "ErrInvalidFilter",
    options([{ filter: "a..b" }, { filter: "a.>.b" }, { filters: ["x", "a b"] }]),
  ),
  open(
    '`deliverPolicy` or `ackPolicy` not one of its values ("first", "explicitly", null)',
    "ErrInvalidArgument",
    options([{ deliverPolicy: "first" }, { deliverPolicy: null }, { ackPolicy: "explicitly" }]),
  ),
  open(
    '`optStartSeq` missing or not a safe integer ≥ 1 with `deliverPolicy` "byStartSequence", or given with another; `optStartTime` missing or not a bigint of nanoseconds in [0, 2^63 − 1] (5, -1n, a Date) with "byStartTime", or given with another',
    "ErrInvalidArgument",
    options([
      { deliverPolicy: "byStartSequence" },
      { deliverPolicy: "byStartSequence", optStartSeq: 0 },
      { deliverPolicy: "byStartSequence", optStartSeq: 1.5 },
      { optStartSeq: 2 },
      { deliverPolicy: "byStartTime" },
      { deliverPolicy: "byStartTime", optStartTime: 5 },
      { deliverPolicy: "byStartTime", optStartTime: -1n },
      { deliverPolicy: "byStartTime", optStartTime: new Date() },
      { deliverPolicy: "new", optStartTime: 5n },
    ]),
  ),
  open(
    '`ackWaitMs` not a safe integer ≥ 1; `maxDeliver` or `maxAckPending` not a safe integer ≥ -1; `backoffMs` not an array of safe integers ≥ 1 (0, -2, 1.5, "5", null, [0], [1, "2"])',
    "ErrInvalidArgument",
    options([
      { ackWaitMs: 0 },
      { ackWaitMs: 1.5 },
      { ackWaitMs: "5" },
      { maxDeliver: -2 },
      { maxDeliver: null },
      { maxAckPending: -2 },
      { maxAckPending: 1.5 },
      { backoffMs: 5, maxDeliver: 5 },
      { backoffMs: [0], maxDeliver: 5 },
      { backoffMs: [1, "2"], maxDeliver: 5 },
    ]),
  ),
  open(
    "`backoffMs` without a `maxDeliver` above its length (nats-server's rule)",
    "ErrInvalidArgument",
    options([
      { backoffMs: [10, 20] },
      { backoffMs: [10, 20], maxDeliver: 2 },
      { backoffMs: [10], maxDeliver: -1 },
    ]),
  ),
  open("a name open already", "ErrConsumerInUse", [
    (s) => s.consumer("c"),
    (s) => s.consumer("c", { ackPolicy: "all" }),
  ]),
  open(
    "a consumer's name with another filter, deliver policy or start, or ack policy than it was created with",
    "ErrConsumerConflict",
    [
      (s) => s.consumer("c", { filter: "b" }),
      (s) => s.consumer("c"),
      (s) => s.consumer("c", { filter: "a", deliverPolicy: "new" }),
      (s) => s.consumer("c", { filter: "a", deliverPolicy: "byStartSequence", optStartSeq: 1 }),
      (s) => s.consumer("c", { filter: "a", ackPolicy: "all" }),
    ],
    { closeFirst: true, filter: "a" },
  ),
  open(
    '`ackPolicy` other than "explicit", or `deliverPolicy` other than "all"',
    "ErrInvalidArgument",
    options([
      { filter: "z", ackPolicy: "all" },
      { filter: "z", ackPolicy: "none" },
      { filter: "z", deliverPolicy: "last" },
    ]),
    { retention: "workqueue", filter: "a" },
    "`store.consumer` on a workqueue stream",
  ),
  open(
    "no filter beside another consumer; filters that overlap another consumer's, open or closed (`a`, `>`, `*`)",
    "ErrConsumerConflict",
    options([{}, { filter: "a" }, { filter: ">" }, { filters: ["z.1", "*"] }]),
    { retention: "workqueue", filter: "a", closeFirst: true },
    "`store.consumer` on a workqueue stream",
  ),
  {
    entry: "`fetch`, `next`",
    inputs:
      '`max` not a safe integer ≥ 1 (0, -1, 1.5, "2", null); options not an object; an unknown option; `expiresMs` not a safe integer ≥ 0 (-1, 1.5, "5")',
    code: "ErrInvalidArgument",
    attempt: {
      kind: "calls",
      calls: [
        ...[0, -1, 1.5, "2", null].map((max) => (c: Loose) => c.fetch(max)),
        (c) => c.fetch(1, 5),
        (c) => c.next(null),
        (c) => c.fetch(1, { expires: 5 }),
        ...[-1, 1.5, "5"].map((expiresMs) => (c: Loose) => c.next({ expiresMs })),
      ],
    },
  },
  {
    entry: "`ack`, `nak`, `term`, `working`",
    inputs: `a sequence that is ${NOT_SEQS_TEXT}`,
    code: "ErrInvalidArgument",
    attempt: { kind: "calls", calls: NOT_SEQS.flatMap(ACK_CALLS) },
  },
  {
    entry: "`nak`",
    inputs: 'a `delayMs` not a safe integer ≥ 0 (-1, 1.5, "5", null)',
    code: "ErrInvalidArgument",
    attempt: {
      kind: "calls",
      calls: [-1, 1.5, "5", null].map((delay) => (c: Loose) => c.nak(2, delay)),
    },
  },
  {
    entry: "`ack`, `nak`, `term`, `working`",
    inputs: "a sequence that awaits no ack: never delivered (3, 99) or acknowledged already (1)",
    code: "ErrNotPending",
    attempt: { kind: "calls", calls: [3, 99, 1].flatMap(ACK_CALLS) },
  },
  {
    entry: "`ack`, `nak`, `term`, `working`",
    inputs: "any sequence under ack policy none",
    code: "ErrNoAckPolicy",
    attempt: { kind: "calls", ackPolicy: "none", calls: [1, 2].flatMap(ACK_CALLS) },
  },
  {
    entry: "every consumer method",
    inputs: `any call after \`close()\`: ${EVERY_METHOD_TEXT}`,
    code: "ErrStoreClosed",
    attempt: { kind: "closed", after: "close", calls: EVERY_METHOD },
  },
  {
    entry: "every consumer method",
    inputs: "any call after `delete()`, as after `close()`",
    code: "ErrStoreClosed",
    attempt: { kind: "closed", after: "delete", calls: EVERY_METHOD },
  },
  {
    entry: "every consumer method",
    inputs: "any call after the stream's `close()`",
    code: "ErrStoreClosed",
    attempt: { kind: "closed", after: "stream", calls: EVERY_METHOD },
  },
];

/** The README's table, rendered from the rows. */
export function consumerBadInputTableMarkdown(): string {
  const lines = ["| entry point | inputs tried | error |", "|---|---|---|"];
  for (const row of CONSUMER_BAD_INPUT_ROWS) {
    lines.push(`| ${row.entry} | ${row.inputs.replaceAll("|", "\\|")} | \`${row.code}\` |`);
  }
  return lines.join("\n");
}
