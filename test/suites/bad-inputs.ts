/**
 * The bad-input table: for each public entry point, the inputs tried and the
 * typed error each gets. It is the one source of truth for both the README
 * table ("Bad input") and the tests: every row is one test per engine
 * (store-contract-inputs.ts), and a test checks that the README shows exactly
 * `badInputTableMarkdown()`.
 */
import type { ErrorCode } from "../../src/errors.ts";
import type { StoreOptions } from "../../src/types.ts";
import { multiQueryRows } from "./bad-inputs-multi.ts";
import { enc } from "./store-helpers.ts";

// Bad inputs reach the store through `any`, as they would from JavaScript callers.
// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

/** How a row is tried. */
export type Attempt =
  /**
   * Each call on a store holding messages 1…3 on "foo" must throw and change
   * nothing; with `brokenClock`, once they are stored the `now` option returns 5 (a number).
   */
  | {
      kind: "calls";
      calls: ((store: Loose) => unknown)[];
      options?: StoreOptions;
      brokenClock?: boolean;
    }
  /**
   * Creating a store with each of these options must fail: through the test
   * factory (which adds a FileStore's `dir` and `fs`), or `raw`, passed as they are.
   */
  | { kind: "create"; options: unknown[]; raw?: boolean }
  /** `new` on the engine's class with each argument list must throw (the constructors are private). */
  | { kind: "construct"; args: unknown[][] }
  /** Each call (sync or async) on a store closed after holding messages 1…3 must fail. */
  | { kind: "closed"; calls: ((store: Loose) => unknown)[]; deleted?: boolean }
  /** FileStore.open on a directory prepared on the memory adapter must fail and change nothing. */
  | { kind: "directory"; name: DirectoryCase };

/** Directories FileStore.open refuses; store-contract-inputs.ts prepares each. */
export type DirectoryCase =
  | "a file"
  | "foreign files"
  | "foreign msgs"
  | "newer block"
  | "newer checkpoint"
  | "encrypted, no key"
  | "encrypted, wrong key"
  | "locked"
  | "rekey: bad arguments"
  | "rekey: wrong key"
  | "rekey: not encrypted"
  | "rekey: locked";

export interface BadInputRow {
  /** The entry points, as the README names them. */
  entry: string;
  /** What was tried, as the README says it. */
  inputs: string;
  code: ErrorCode;
  /** FileStore only, or both engines. */
  fileStoreOnly?: boolean;
  attempt: Attempt;
}

/** Sequence and count arguments that are not safe non-negative integers. */
const BAD_SEQS: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "2", 2n, null];
const BAD_SEQS_TEXT = '-1, 1.5, NaN, Infinity, 2^53, "2", 2n, null, undefined';
const BAD_SEQ_ARGS = [...BAD_SEQS, undefined];

const NOT_STRINGS: unknown[] = [42, null, undefined, new String("foo")];
const BAD_SUBJECTS = [
  "",
  "foo bar",
  "foo\tbar",
  "foo\n",
  "foo\u0000",
  "a.*",
  "*",
  ">",
  "a.>",
  "a..b",
  ".a",
  "a.",
  "foo.\ud800",
  "x".repeat(65_536),
];
const BAD_SUBJECTS_TEXT =
  "empty; whitespace or control characters; a wildcard token (`a.*`, `>`); an empty token (`a..b`, `.a`, `a.`); a lone surrogate; more than 65,535 UTF-8 bytes";
const BAD_FILTERS = ["a b", "a.>.b", "a..b", ".", "\udc00"];
const BAD_FILTERS_TEXT =
  "whitespace; `>` before the last token (`a.>.b`); an empty token (`a..b`, `.`); a lone surrogate";
const NOT_BYTES: unknown[] = [
  undefined,
  "payload",
  [1, 2, 3],
  new ArrayBuffer(3),
  new DataView(new ArrayBuffer(3)),
  new Uint16Array(3),
  7,
];
const NOT_BOOLEANS: unknown[] = [undefined, 1, "true", null];
const BAD_TIMESTAMPS: unknown[] = [5, -1n, 1n << 63n, undefined, "5"];
const BAD_COUNT_OPTIONS: unknown[] = [
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  "10",
  2n,
  null,
];
const x = enc("x");

const each = <T>(values: T[], call: (value: T) => (s: Loose) => unknown) => values.map(call);

function calls(
  entry: string,
  inputs: string,
  code: ErrorCode,
  list: ((s: Loose) => unknown)[],
  options?: StoreOptions,
  brokenClock?: boolean,
): BadInputRow {
  return { entry, inputs, code, attempt: { kind: "calls", calls: list, options, brokenClock } };
}

function create(
  entry: string,
  inputs: string,
  code: ErrorCode,
  options: unknown[],
  { fileStoreOnly = false, raw = false } = {},
): BadInputRow {
  return { entry, inputs, code, fileStoreOnly, attempt: { kind: "create", options, raw } };
}

function directory(
  inputs: string,
  code: ErrorCode,
  name: DirectoryCase,
  entry = "`FileStore.open`",
): BadInputRow {
  return {
    entry,
    inputs,
    code,
    fileStoreOnly: true,
    attempt: { kind: "directory", name },
  };
}

const EVERY_SYNC_METHOD: ((s: Loose) => unknown)[] = [
  (s) => s.storeMsg("a", null, x),
  (s) => s.storeRawMsg("a", null, x, 4, 1n),
  (s) => s.skipMsg(),
  (s) => s.skipMsgs(4, 2),
  (s) => s.loadMsg(1),
  (s) => s.loadNextMsg("", false, 0),
  (s) => s.loadLastMsg("foo"),
  (s) => s.loadPrevMsg(3),
  (s) => s.removeMsg(1),
  (s) => s.eraseMsg(2),
  (s) => s.purge(),
  (s) => s.purgeEx("", 0, 0),
  (s) => s.compact(2),
  (s) => s.truncate(2),
  (s) => s.state(),
  (s) => s.fastState(),
  (s) => s.filteredState(1, ""),
  (s) => s.subjectsState(""),
  (s) => s.subjectsTotals(""),
  (s) => s.numPending(1, "", false),
  (s) => s.multiLastSeqs([">"], 0, 0),
  (s) => s.allLastSeqs(),
  (s) => s.subjectForSeq(1),
  (s) => s.msgTtl(1),
  (s) => s.getSeqFromTime(0n),
  (s) => s.updateConfig({}),
  (s) => s.consumer("c"),
  (s) => s.encodedStreamState(),
  (s) => s.syncDeleted([]),
];
const EVERY_SYNC_METHOD_TEXT =
  "`storeMsg`, `storeRawMsg`, `skipMsg`, `skipMsgs`, `loadMsg`, `loadNextMsg`, `loadLastMsg`, `loadPrevMsg`, `removeMsg`, `eraseMsg`, `purge`, `purgeEx`, `compact`, `truncate`, `state`, `fastState`, `filteredState`, `subjectsState`, `subjectsTotals`, `numPending`, `multiLastSeqs`, `allLastSeqs`, `subjectForSeq`, `msgTtl`, `getSeqFromTime`, `updateConfig`, `consumer`, `encodedStreamState`, `syncDeleted`";

/** Every row of the README's bad-input table, in its order. */
export const BAD_INPUT_ROWS: BadInputRow[] = [
  // ------------------------------------------------------------ creating a store
  create(
    "`FileStore.open`, `MemStore.create`",
    "options that are not an object (null, 5, an array)",
    "ErrInvalidArgument",
    [null, 5, []],
    { raw: true },
  ),
  create(
    "`FileStore.open`, `MemStore.create`",
    `\`maxMsgs\`, \`maxBytes\`, \`maxAgeMs\`, \`maxMsgsPerSubject\`, \`maxMsgSize\`, \`firstSeq\`: -1, 1.5, NaN, Infinity, 2^53, "10", 2n, null`,
    "ErrInvalidArgument",
    ["maxMsgs", "maxBytes", "maxAgeMs", "maxMsgsPerSubject", "maxMsgSize", "firstSeq"].flatMap(
      (name) => BAD_COUNT_OPTIONS.map((value) => ({ [name]: value })),
    ),
  ),
  create(
    "`FileStore.open`, `MemStore.create`",
    '`discard` other than "old" or "new"; `discardNewPerSubject`, `allowMsgTtl` not booleans; `now` not a function',
    "ErrInvalidArgument",
    [
      { discard: "oldest" },
      { discard: null },
      { discardNewPerSubject: 1 },
      { allowMsgTtl: "yes" },
      { now: 5 },
    ],
  ),
  create(
    "`FileStore.open`, `MemStore.create`",
    '`retention` other than "limits", "interest" or "workqueue" ("work", 1, null)',
    "ErrInvalidArgument",
    [{ retention: "work" }, { retention: 1 }, { retention: null }],
  ),
  create(
    "`FileStore.open`, `MemStore.create`",
    '`discardNewPerSubject` without `discard: "new"` and a `maxMsgsPerSubject`',
    "ErrInvalidArgument",
    [
      { discardNewPerSubject: true },
      { discardNewPerSubject: true, discard: "new" },
      { discardNewPerSubject: true, maxMsgsPerSubject: 5 },
    ],
  ),
  create(
    "`FileStore.open`, `MemStore.create`",
    "an unknown option (`maxMsg`, `ttl`)",
    "ErrInvalidArgument",
    [{ maxMsg: 5 }, { ttl: 5 }],
  ),
  {
    entry: "`new FileStore()`, `new MemStore()`",
    inputs:
      "any arguments (none, `{ dir }`, `{}`): use `FileStore.open()` / `MemStore.create()`, the constructors are private",
    code: "ErrInvalidArgument",
    attempt: { kind: "construct", args: [[], [{ dir: "/no-store" }], [{}], [undefined, {}]] },
  },
  create(
    "`FileStore.open`",
    "no options; `dir` missing, empty or not a string",
    "ErrInvalidArgument",
    [undefined, {}, { dir: undefined }, { dir: "" }, { dir: 5 }],
    { fileStoreOnly: true, raw: true },
  ),
  create(
    "`FileStore.open`",
    "`blockSize` below 4096, above 1 GiB or not an integer; `cacheBytes`, `syncIntervalMs` negative or not integers; `syncAlways` or `syncInline` not a boolean; `fs` not an adapter",
    "ErrInvalidArgument",
    [
      { blockSize: 100 },
      { blockSize: 2 ** 31 },
      { blockSize: 4096.5 },
      { blockSize: "4096" },
      { cacheBytes: -1 },
      { cacheBytes: 1.5 },
      { syncIntervalMs: -1 },
      { syncIntervalMs: Number.NaN },
      { syncAlways: 1 },
      { syncInline: "yes" },
      { dir: "/no-store", fs: {} },
      { dir: "/no-store", fs: null },
    ].map((options) => ({ dir: "/no-store", ...options })),
    { fileStoreOnly: true, raw: true },
  ),
  create(
    "`FileStore.open`",
    '`fileMode` not permission bits from 0o600 to 0o777 with owner read and write (0o400, 0o200, 0o1777, -1, 1.5, "0640", null)',
    "ErrInvalidArgument",
    [0o400, 0o200, 0o1777, -1, 1.5, "0640", null].map((fileMode) => ({ fileMode })),
    { fileStoreOnly: true },
  ),
  create(
    "`FileStore.open`",
    '`cipher` other than "chacha20-poly1305", "aes-256-gcm" or "none" ("aes", 5, null); `compression` other than "snappy" or "none" ("s2", true, null); `key` not a Uint8Array of 32 bytes ("secret", an array, null, 16 or 33 bytes, a Uint16Array)',
    "ErrInvalidArgument",
    [
      { cipher: "aes" },
      { cipher: 5 },
      { cipher: null },
      { compression: "s2" },
      { compression: true },
      { compression: null },
      { key: "secret" },
      { key: [1, 2, 3] },
      { key: null },
      { key: new Uint8Array(16) },
      { key: new Uint8Array(33) },
      { key: new Uint16Array(16) },
    ],
    { fileStoreOnly: true },
  ),
  create(
    "`FileStore.open`",
    '`cipher` "chacha20-poly1305" or "aes-256-gcm" without a `key`; a `key` for a store that is not encrypted, with no cipher asked for',
    "ErrInvalidArgument",
    [
      { cipher: "chacha20-poly1305" },
      { cipher: "aes-256-gcm" },
      { key: new Uint8Array(32) },
      { cipher: "none", key: new Uint8Array(32) },
    ],
    { fileStoreOnly: true },
  ),
  directory("an encrypted store opened without a key", "ErrBadKey", "encrypted, no key"),
  directory("an encrypted store opened with another key", "ErrBadKey", "encrypted, wrong key"),
  directory(
    "`dir` not a non-empty string; `key` or `newKey` not a Uint8Array of 32 bytes; `fs` not an adapter",
    "ErrInvalidArgument",
    "rekey: bad arguments",
    "`FileStore.rekey`",
  ),
  directory(
    "a `key` that does not open the store",
    "ErrBadKey",
    "rekey: wrong key",
    "`FileStore.rekey`",
  ),
  directory(
    "a store that is not encrypted",
    "ErrBadKey",
    "rekey: not encrypted",
    "`FileStore.rekey`",
  ),
  directory(
    "a store open in this or another process",
    "ErrStoreLocked",
    "rekey: locked",
    "`FileStore.rekey`",
  ),
  directory("a path that is a file", "ErrNotAStore", "a file"),
  directory("a directory holding other files and no store", "ErrNotAStore", "foreign files"),
  directory("a `msgs` directory of someone else's files", "ErrNotAStore", "foreign msgs"),
  directory(
    "a store with a block of a newer format version that no checkpoint vouches for",
    "ErrUnsupportedFormat",
    "newer block",
  ),
  directory(
    "a store whose checkpoint has a newer format version",
    "ErrUnsupportedFormat",
    "newer checkpoint",
  ),
  directory("a store this process (or a live one) has open", "ErrStoreLocked", "locked"),

  // ------------------------------------------------------------ writing
  calls(
    "`storeMsg`, `storeRawMsg`",
    "a subject that is not a string (42, null, undefined, a String object)",
    "ErrInvalidArgument",
    NOT_STRINGS.flatMap((subject) => [
      (s: Loose) => s.storeMsg(subject, null, x),
      (s: Loose) => s.storeRawMsg(subject, null, x, 4, 1n),
    ]),
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    `a subject that is ${BAD_SUBJECTS_TEXT}`,
    "ErrInvalidSubject",
    BAD_SUBJECTS.flatMap((subject) => [
      (s: Loose) => s.storeMsg(subject, null, x),
      (s: Loose) => s.storeRawMsg(subject, null, x, 4, 1n),
    ]),
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    "headers not a Uint8Array or null; a payload not a Uint8Array (undefined, null, a string, an array, an ArrayBuffer, a DataView, a Uint16Array, a number)",
    "ErrInvalidArgument",
    [...NOT_BYTES, null].flatMap((bytes) => [
      ...(bytes === null
        ? []
        : [
            (s: Loose) => s.storeMsg("a", bytes, x),
            (s: Loose) => s.storeRawMsg("a", bytes, x, 4, 1n),
          ]),
      (s: Loose) => s.storeMsg("a", null, bytes),
      (s: Loose) => s.storeRawMsg("a", null, bytes, 4, 1n),
    ]),
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    "headers plus payload over `maxMsgSize` (10)",
    "ErrMsgTooLarge",
    [
      (s) => s.storeMsg("a", null, new Uint8Array(11)),
      (s) => s.storeMsg("a", new Uint8Array(6), new Uint8Array(5)),
      (s) => s.storeRawMsg("a", null, new Uint8Array(11), 4, 1n),
    ],
    { maxMsgSize: 10 },
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    "a message whose record alone is over `maxBytes` (200)",
    "ErrMaxBytes",
    [
      (s) => s.storeMsg("a", null, new Uint8Array(200)),
      (s) => s.storeRawMsg("a", null, new Uint8Array(200), 4, 1n),
    ],
    { maxBytes: 200 },
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    'a TTL that is not a whole number of seconds in [-1, 2^32 − 1] (-2, 1.5, NaN, 2^32, "5", 5n, null), even with `allowMsgTtl`',
    "ErrInvalidArgument",
    [-2, 1.5, Number.NaN, 2 ** 32, "5", 5n, null].flatMap((ttl) => [
      (s: Loose) => s.storeMsg("a", null, x, ttl),
      (s: Loose) => s.storeRawMsg("a", null, x, 4, 1n, ttl),
    ]),
    { allowMsgTtl: true },
  ),
  calls(
    "`storeMsg`, `storeRawMsg`",
    "any TTL but 0 (5, -1) without `allowMsgTtl`",
    "ErrInvalidArgument",
    [5, -1].flatMap((ttl) => [
      (s: Loose) => s.storeMsg("a", null, x, ttl),
      (s: Loose) => s.storeRawMsg("a", null, x, 4, 1n, ttl),
    ]),
  ),
  calls(
    "`storeRawMsg`",
    `a sequence that is ${BAD_SEQS_TEXT}; a timestamp not a bigint in [0, 2^63 − 1] (5, -1n, 2^63, undefined, "5")`,
    "ErrInvalidArgument",
    [
      ...each(BAD_SEQ_ARGS, (seq) => (s) => s.storeRawMsg("a", null, x, seq, 1n)),
      ...each(BAD_TIMESTAMPS, (ts) => (s) => s.storeRawMsg("a", null, x, 4, ts)),
    ],
  ),
  calls(
    "`storeRawMsg`, `skipMsgs`",
    "a sequence other than the next one (3, 9)",
    "ErrSequenceMismatch",
    [
      (s) => s.storeRawMsg("a", null, x, 3, 1n),
      (s) => s.storeRawMsg("a", null, x, 9, 1n),
      (s) => s.skipMsgs(3, 1),
      (s) => s.skipMsgs(9, 1),
    ],
  ),
  calls("`skipMsgs`", `a sequence or count that is ${BAD_SEQS_TEXT}`, "ErrInvalidArgument", [
    ...each(BAD_SEQ_ARGS, (seq) => (s) => s.skipMsgs(seq, 1)),
    ...each(BAD_SEQ_ARGS, (num) => (s) => s.skipMsgs(4, num)),
  ]),
  calls("`skipMsgs`", "a count that would take the last sequence past 2^53 − 1", "ErrOutOfRange", [
    (s) => s.skipMsgs(4, 2 ** 53 - 1),
    (s) => s.skipMsgs(4, 2 ** 53 - 3),
  ]),

  // ------------------------------------------------------------ reading and removing
  calls(
    "`loadMsg`, `loadPrevMsg`, `removeMsg`, `eraseMsg`, `compact`, `truncate`, `subjectForSeq`, `msgTtl`",
    `a sequence that is ${BAD_SEQS_TEXT}`,
    "ErrInvalidArgument",
    BAD_SEQ_ARGS.flatMap((seq) => [
      (s: Loose) => s.loadMsg(seq),
      (s: Loose) => s.loadPrevMsg(seq),
      (s: Loose) => s.removeMsg(seq),
      (s: Loose) => s.eraseMsg(seq),
      (s: Loose) => s.compact(seq),
      (s: Loose) => s.truncate(seq),
      (s: Loose) => s.subjectForSeq(seq),
      (s: Loose) => s.msgTtl(seq),
    ]),
  ),
  calls(
    "`loadNextMsg`, `filteredState`, `numPending`, `purgeEx`, `multiLastSeqs`",
    `a sequence, \`keep\`, \`maxSeq\` or \`maxAllowed\` that is ${BAD_SEQS_TEXT}`,
    "ErrInvalidArgument",
    BAD_SEQ_ARGS.flatMap((seq) => [
      (s: Loose) => s.loadNextMsg("", false, seq),
      (s: Loose) => s.filteredState(seq, ""),
      (s: Loose) => s.numPending(seq, "", false),
      (s: Loose) => s.purgeEx("", seq, 0),
      (s: Loose) => s.purgeEx("", 0, seq),
      (s: Loose) => s.multiLastSeqs([">"], seq, 0),
      (s: Loose) => s.multiLastSeqs([">"], 0, seq),
    ]),
  ),
  calls(
    "`loadNextMsg`, `loadLastMsg`, `filteredState`, `subjectsState`, `subjectsTotals`, `numPending`, `purgeEx`, `multiLastSeqs`",
    "a filter (or `loadLastMsg` subject) that is not a string (5, null, undefined); `multiLastSeqs` filters not an array of strings",
    "ErrInvalidArgument",
    [
      ...[5, null, undefined].flatMap((filter) => [
        (s: Loose) => s.loadNextMsg(filter, true, 0),
        (s: Loose) => s.loadLastMsg(filter),
        (s: Loose) => s.filteredState(1, filter),
        (s: Loose) => s.subjectsState(filter),
        (s: Loose) => s.subjectsTotals(filter),
        (s: Loose) => s.numPending(1, filter, false),
        (s: Loose) => s.purgeEx(filter, 0, 0),
        (s: Loose) => s.multiLastSeqs([filter], 0, 0),
      ]),
      (s) => s.multiLastSeqs("foo", 0, 0),
      (s) => s.multiLastSeqs(null, 0, 0),
    ],
  ),
  calls(
    "`loadNextMsg`, `loadLastMsg`, `filteredState`, `subjectsState`, `subjectsTotals`, `numPending`, `purgeEx`, `multiLastSeqs`",
    `a filter with ${BAD_FILTERS_TEXT}`,
    "ErrInvalidFilter",
    BAD_FILTERS.flatMap((filter) => [
      (s: Loose) => s.loadNextMsg(filter, true, 0),
      (s: Loose) => s.loadLastMsg(filter),
      (s: Loose) => s.filteredState(1, filter),
      (s: Loose) => s.subjectsState(filter),
      (s: Loose) => s.subjectsTotals(filter),
      (s: Loose) => s.numPending(1, filter, false),
      (s: Loose) => s.purgeEx(filter, 0, 0),
      (s: Loose) => s.multiLastSeqs(["foo", filter], 0, 0),
    ]),
  ),
  calls(
    "`loadNextMsg`, `numPending`",
    '`wildcard` or `lastPerSubject` not a boolean (undefined, 1, "true", null)',
    "ErrInvalidArgument",
    NOT_BOOLEANS.flatMap((flag) => [
      (s: Loose) => s.loadNextMsg("foo", flag, 0),
      (s: Loose) => s.numPending(1, "", flag),
    ]),
  ),
  ...multiQueryRows({
    calls,
    each,
    BAD_SEQ_ARGS,
    BAD_SEQS_TEXT,
    BAD_FILTERS,
    BAD_FILTERS_TEXT,
    NOT_BOOLEANS,
  }),
  calls(
    "`getSeqFromTime`",
    'a timestamp not a bigint in [0, 2^63 − 1] (5, -1n, 2^63, undefined, "5")',
    "ErrInvalidArgument",
    each(BAD_TIMESTAMPS, (ts) => (s) => s.getSeqFromTime(ts)),
  ),
  calls(
    "`encodedStreamState`",
    '`failed` that is -1, 1.5, NaN, Infinity, 2^53, "2", 2n, null',
    "ErrInvalidArgument",
    each(BAD_SEQS, (failed) => (s) => s.encodedStreamState(failed)),
  ),
  calls(
    "`syncDeleted`",
    "blocks not an array; a block not an object, of another kind, a range whose `first` or `num` is not a safe integer ≥ 1 or that ends past 2^53 − 1, seqset `seqs` not an ascending array of safe integers ≥ 1 — next to a valid block",
    "ErrInvalidArgument",
    [
      (s) => s.syncDeleted(null),
      (s) => s.syncDeleted({ kind: "range", first: 1, num: 1 }),
      ...[
        null,
        5,
        { kind: "avl", seqs: [1] },
        { kind: "range", first: 0, num: 1 },
        { kind: "range", first: 1, num: 0 },
        { kind: "range", first: "1", num: 1 },
        { kind: "range", first: 2 ** 53 - 1, num: 2 },
        { kind: "seqset", seqs: "1,2" },
        { kind: "seqset", seqs: [2, 1] },
        { kind: "seqset", seqs: [0] },
        { kind: "seqset", seqs: [1.5] },
      ].map((bad) => (s: Loose) => s.syncDeleted([{ kind: "range", first: 1, num: 3 }, bad])),
    ],
  ),
  calls("`purgeEx`", "both `seq` and `keep` above 0", "ErrInvalidArgument", [
    (s) => s.purgeEx("", 2, 1),
  ]),
  calls(
    "`updateConfig`",
    "limits not an object; any invalid limit as at open; an unknown key; `now`; a different `firstSeq`",
    "ErrInvalidArgument",
    [
      (s) => s.updateConfig(null),
      (s) => s.updateConfig(5),
      (s) => s.updateConfig({ maxMsgs: -1 }),
      (s) => s.updateConfig({ maxBytes: Number.NaN }),
      (s) => s.updateConfig({ discard: "oldest" }),
      (s) => s.updateConfig({ discardNewPerSubject: true }),
      (s) => s.updateConfig({ maxMsg: 5 }),
      (s) => s.updateConfig({ now: () => 1n }),
      (s) => s.updateConfig({ firstSeq: 5 }),
    ],
  ),
  calls(
    "`updateConfig`",
    "limits without `allowMsgTtl: true` on a store that has it (it cannot be turned off)",
    "ErrInvalidArgument",
    [(s) => s.updateConfig({}), (s) => s.updateConfig({ maxMsgs: 5 })],
    { allowMsgTtl: true },
  ),
  calls(
    "`updateConfig`",
    "a `retention` other than the stream was created with, given or left out (it cannot change)",
    "ErrInvalidArgument",
    [
      (s) => s.updateConfig({}),
      (s) => s.updateConfig({ retention: "limits" }),
      (s) => s.updateConfig({ retention: "interest" }),
    ],
    { retention: "workqueue" },
  ),
  calls(
    "`storeMsg`, `skipMsg`, `skipMsgs`",
    "a `now` option that returns no bigint in [0, 2^63 − 1]",
    "ErrInvalidArgument",
    [(s) => s.storeMsg("a", null, x), (s) => s.skipMsg(), (s) => s.skipMsgs(4, 2)],
    undefined,
    true,
  ),

  // ------------------------------------------------------------ closed stores
  {
    entry: "every method",
    inputs: `any call after \`close()\`: ${EVERY_SYNC_METHOD_TEXT}; \`flush\`, \`sync\` and \`delete\` reject (a closed handle holds no lock, so it deletes nothing; \`close\` again is fine)`,
    code: "ErrStoreClosed",
    attempt: {
      kind: "closed",
      calls: [...EVERY_SYNC_METHOD, (s) => s.flush(), (s) => s.sync(), (s) => s.delete()],
    },
  },
  {
    entry: "every method",
    inputs: "any call after `delete()`, as after `close()`",
    code: "ErrStoreClosed",
    attempt: {
      kind: "closed",
      deleted: true,
      calls: [...EVERY_SYNC_METHOD, (s) => s.flush(), (s) => s.sync(), (s) => s.delete()],
    },
  },
];

/** The README's table, rendered from the rows. */
export function badInputTableMarkdown(): string {
  const lines = ["| entry point | inputs tried | error |", "|---|---|---|"];
  for (const row of BAD_INPUT_ROWS) {
    lines.push(`| ${row.entry} | ${row.inputs.replaceAll("|", "\\|")} | \`${row.code}\` |`);
  }
  return lines.join("\n");
}
