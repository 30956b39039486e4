/**
 * The bad-input rows of the multi-filter queries (loadNextMsgMulti,
 * loadPrevMsgMulti, the filtered loadPrevMsg, numPendingMulti,
 * multiLastMsgs), kept apart from bad-inputs.ts, which builds them with its
 * own helpers and places them in the README's table.
 */
import type { ErrorCode } from "../../src/errors.ts";
import type { BadInputRow } from "./bad-inputs.ts";

// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;
type Call = (s: Loose) => unknown;

/** What bad-inputs.ts lends: its row builder and its lists of bad values. */
export interface RowHelpers {
  calls(entry: string, inputs: string, code: ErrorCode, list: Call[]): BadInputRow;
  each<T>(values: T[], call: (value: T) => Call): Call[];
  BAD_SEQ_ARGS: unknown[];
  BAD_SEQS_TEXT: string;
  BAD_FILTERS: string[];
  BAD_FILTERS_TEXT: string;
  NOT_BOOLEANS: unknown[];
}

/** The multi-filter queries (their rows are kept apart from the older methods' rows). */
const MULTI_ENTRY =
  "`loadNextMsgMulti`, `loadPrevMsgMulti`, `loadPrevMsg` with a filter, `numPendingMulti`, `multiLastMsgs`";
const MULTI_CALLS: Call[] = [
  (s) => s.loadNextMsgMulti(["foo"], 0),
  (s) => s.loadPrevMsgMulti(["foo"], 3),
  (s) => s.loadPrevMsg(3, "foo"),
  (s) => s.numPendingMulti(1, ["foo"], false),
  (s) => s.multiLastMsgs(["foo"], 0, 0, 0),
];

export function multiQueryRows(h: RowHelpers): BadInputRow[] {
  const { calls, each, BAD_SEQ_ARGS, BAD_SEQS_TEXT, BAD_FILTERS, BAD_FILTERS_TEXT, NOT_BOOLEANS } =
    h;
  return [
    calls(
      MULTI_ENTRY,
      `a sequence, \`minSeq\`, \`maxSeq\` or \`maxAllowed\` that is ${BAD_SEQS_TEXT}`,
      "ErrInvalidArgument",
      BAD_SEQ_ARGS.flatMap((seq) => [
        (s: Loose) => s.loadNextMsgMulti(["foo"], seq),
        (s: Loose) => s.loadPrevMsgMulti(["foo"], seq),
        (s: Loose) => s.loadPrevMsg(seq, "foo"),
        (s: Loose) => s.numPendingMulti(seq, ["foo"], false),
        (s: Loose) => s.multiLastMsgs(["foo"], seq, 0, 0),
        (s: Loose) => s.multiLastMsgs(["foo"], 0, seq, 0),
        (s: Loose) => s.multiLastMsgs(["foo"], 0, 0, seq),
      ]),
    ),
    calls(
      MULTI_ENTRY,
      'filters not a non-empty array of strings ([], "foo", null, undefined, [5], ["foo", null]); a `loadPrevMsg` filter not a string (5, null)',
      "ErrInvalidArgument",
      [
        ...[[], "foo", null, undefined, [5], ["foo", null]].flatMap((filters) => [
          (s: Loose) => s.loadNextMsgMulti(filters, 0),
          (s: Loose) => s.loadPrevMsgMulti(filters, 3),
          (s: Loose) => s.numPendingMulti(1, filters, false),
          (s: Loose) => s.multiLastMsgs(filters, 0, 0, 0),
        ]),
        (s) => s.loadPrevMsg(3, 5),
        (s) => s.loadPrevMsg(3, null),
      ],
    ),
    calls(
      MULTI_ENTRY,
      `a filter with ${BAD_FILTERS_TEXT}`,
      "ErrInvalidFilter",
      BAD_FILTERS.flatMap((filter) => [
        (s: Loose) => s.loadNextMsgMulti(["foo", filter], 0),
        (s: Loose) => s.loadPrevMsgMulti(["foo", filter], 3),
        (s: Loose) => s.loadPrevMsg(3, filter),
        (s: Loose) => s.numPendingMulti(1, ["foo", filter], false),
        (s: Loose) => s.multiLastMsgs(["foo", filter], 0, 0, 0),
      ]),
    ),
    calls(
      "`numPendingMulti`",
      '`lastPerSubject` not a boolean (undefined, 1, "true", null)',
      "ErrInvalidArgument",
      each(NOT_BOOLEANS, (flag) => (s) => s.numPendingMulti(1, ["foo"], flag)),
    ),
    {
      entry: MULTI_ENTRY,
      inputs: "any call after `close()`",
      code: "ErrStoreClosed",
      attempt: { kind: "closed", calls: MULTI_CALLS },
    },
    {
      entry: MULTI_ENTRY,
      inputs: "any call after `delete()`",
      code: "ErrStoreClosed",
      attempt: { kind: "closed", deleted: true, calls: MULTI_CALLS },
    },
  ];
}
