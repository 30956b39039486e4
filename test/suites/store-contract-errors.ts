/**
 * Contract: one wording per case. The same mistake or the same missing
 * message gets the same code and the same message from every engine, so the
 * expected messages here are written out in full: any engine that words a
 * case its own way fails on it.
 */
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { enc, errorOf, errorOfAsync, fill, testClock, withStore } from "./store-helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

type Case = [name: string, call: (store: Loose) => unknown, code: string, message: string];

/** Messages 1, 2, 4, 5 on "foo" (3 removed), 6 and 7 skipped, 8 on "baz": the store every case runs on. */
function prepare(store: StreamStore, clock: ReturnType<typeof testClock>): void {
  fill(store, clock, 5);
  store.removeMsg(3);
  store.skipMsgs(6, 2);
  store.storeMsg("baz", null, enc("b"));
}

const RANGE = "first sequence is 1, last is 8";

const MISSING: Case[] = [
  [
    "loadMsg of a removed sequence",
    (s) => s.loadMsg(3),
    "ErrStoreMsgNotFound",
    `Cannot load message: no message at sequence 3, it was removed or never stored (${RANGE})`,
  ],
  [
    "loadMsg of a skipped sequence",
    (s) => s.loadMsg(6),
    "ErrStoreMsgNotFound",
    `Cannot load message: no message at sequence 6, it was removed or never stored (${RANGE})`,
  ],
  [
    "loadMsg past the end",
    (s) => s.loadMsg(9),
    "ErrStoreEOF",
    "Cannot load message: no message at sequence 9, the last sequence is 8",
  ],
  [
    "loadMsg of sequence 0",
    (s) => s.loadMsg(0),
    "ErrStoreMsgNotFound",
    `Cannot load message: no message at sequence 0, it was removed or never stored (${RANGE})`,
  ],
  [
    "truncate to a removed sequence",
    (s) => s.truncate(3),
    "ErrStoreMsgNotFound",
    `Cannot truncate: no message at sequence 3, it was removed or never stored (${RANGE})`,
  ],
  [
    "subjectForSeq of a removed sequence",
    (s) => s.subjectForSeq(3),
    "ErrStoreMsgNotFound",
    `Cannot read the subject of a message: no message at sequence 3, it was removed or never stored (${RANGE})`,
  ],
  [
    "subjectForSeq past the end",
    (s) => s.subjectForSeq(20),
    "ErrStoreMsgNotFound",
    `Cannot read the subject of a message: no message at sequence 20, it was removed or never stored (${RANGE})`,
  ],
  [
    "loadNextMsg of a literal subject with nothing after start",
    (s) => s.loadNextMsg("foo", false, 6),
    "ErrStoreEOF",
    `Cannot load next message: no message matching "foo" at or after sequence 6 (${RANGE})`,
  ],
  [
    "loadNextMsg of a subject never stored",
    (s) => s.loadNextMsg("nope", false, 0),
    "ErrStoreEOF",
    `Cannot load next message: no message matching "nope" at or after sequence 0 (${RANGE})`,
  ],
  [
    "loadNextMsg of a wildcard matching nothing",
    (s) => s.loadNextMsg("x.*", true, 1),
    "ErrStoreEOF",
    `Cannot load next message: no message matching "x.*" at or after sequence 1 (${RANGE})`,
  ],
  [
    "loadNextMsg of everything past the end",
    (s) => s.loadNextMsg("", false, 9),
    "ErrStoreEOF",
    `Cannot load next message: no message matching "" at or after sequence 9 (${RANGE})`,
  ],
  [
    "loadLastMsg of a subject with no message",
    (s) => s.loadLastMsg("bar"),
    "ErrStoreMsgNotFound",
    `Cannot load last message: no message matching "bar" (${RANGE})`,
  ],
  [
    "loadPrevMsg before the first message",
    (s) => s.loadPrevMsg(0),
    "ErrStoreEOF",
    `Cannot load previous message: no message at or before sequence 0 (${RANGE})`,
  ],
];

const MISTAKES: Case[] = [
  [
    "storeRawMsg at a sequence other than the next",
    (s) => s.storeRawMsg("a", null, enc("x"), 3, 1n),
    "ErrSequenceMismatch",
    "Cannot store raw message at sequence 3: the next sequence is 9",
  ],
  [
    "skipMsgs at a sequence other than the next",
    (s) => s.skipMsgs(3, 1),
    "ErrSequenceMismatch",
    "Cannot skip messages at sequence 3: the next sequence is 9",
  ],
  [
    "multiLastSeqs past maxAllowed",
    (s) => s.multiLastSeqs([">"], 0, 1),
    "ErrTooManyResults",
    "Cannot read last sequences: more than the 1 allowed sequences match",
  ],
  [
    "multiLastSeqs with filters that are not an array",
    (s) => s.multiLastSeqs("foo", 0, 0),
    "ErrInvalidArgument",
    'Cannot read last sequences: filters must be an array of strings, got "foo"',
  ],
  [
    "purgeEx with both a sequence and keep",
    (s) => s.purgeEx("foo", 2, 1),
    "ErrInvalidArgument",
    "Cannot purge: give a sequence (2) or a number to keep (1), not both",
  ],
  [
    "filteredState with a bad sequence",
    (s) => s.filteredState(-1, "foo"),
    "ErrInvalidArgument",
    "Cannot read filtered state: sequence must be a non-negative safe integer, got -1",
  ],
  [
    "subjectsState with a filter that is not a string",
    (s) => s.subjectsState(5),
    "ErrInvalidArgument",
    "Cannot read subjects state: filter must be a string, got 5",
  ],
  [
    "subjectsTotals with a bad filter",
    (s) => s.subjectsTotals("a..b"),
    "ErrInvalidFilter",
    'Cannot read subject totals: filter "a..b" has an empty token (a leading, trailing or doubled ".")',
  ],
  [
    "numPending with a lastPerSubject that is not a boolean",
    (s) => s.numPending(1, "", 1),
    "ErrInvalidArgument",
    "Cannot count pending messages: lastPerSubject must be a boolean, got 1",
  ],
  [
    "subjectForSeq with a bad sequence",
    (s) => s.subjectForSeq(1.5),
    "ErrInvalidArgument",
    "Cannot read the subject of a message: sequence must be a non-negative safe integer, got 1.5",
  ],
];

/** Every method of a closed store, and the action its ErrStoreClosed message names. */
const CLOSED: [string, (store: Loose) => unknown, string][] = [
  ["storeMsg", (s) => s.storeMsg("a", null, enc("x")), "store message"],
  ["storeRawMsg", (s) => s.storeRawMsg("a", null, enc("x"), 9, 1n), "store raw message"],
  ["skipMsg", (s) => s.skipMsg(), "skip message"],
  ["skipMsgs", (s) => s.skipMsgs(9, 1), "skip messages"],
  ["loadMsg", (s) => s.loadMsg(1), "load message"],
  ["loadNextMsg", (s) => s.loadNextMsg("", false, 0), "load next message"],
  ["loadLastMsg", (s) => s.loadLastMsg("foo"), "load last message"],
  ["loadPrevMsg", (s) => s.loadPrevMsg(3), "load previous message"],
  ["removeMsg", (s) => s.removeMsg(1), "remove message"],
  ["eraseMsg", (s) => s.eraseMsg(1), "erase message"],
  ["purge", (s) => s.purge(), "purge"],
  ["purgeEx", (s) => s.purgeEx("", 0, 0), "purge"],
  ["compact", (s) => s.compact(2), "compact"],
  ["truncate", (s) => s.truncate(2), "truncate"],
  ["state", (s) => s.state(), "read state"],
  ["fastState", (s) => s.fastState(), "read state"],
  ["filteredState", (s) => s.filteredState(1, ""), "read filtered state"],
  ["subjectsState", (s) => s.subjectsState(""), "read subjects state"],
  ["subjectsTotals", (s) => s.subjectsTotals(""), "read subject totals"],
  ["numPending", (s) => s.numPending(1, "", false), "count pending messages"],
  ["multiLastSeqs", (s) => s.multiLastSeqs([">"], 0, 0), "read last sequences"],
  ["allLastSeqs", (s) => s.allLastSeqs(), "read last sequences"],
  ["subjectForSeq", (s) => s.subjectForSeq(1), "read the subject of a message"],
  ["msgTtl", (s) => s.msgTtl(1), "read the TTL of a message"],
  ["getSeqFromTime", (s) => s.getSeqFromTime(0n), "find a sequence by time"],
  ["updateConfig", (s) => s.updateConfig({}), "update config"],
  ["flush", (s) => s.flush(), "flush"],
  ["sync", (s) => s.sync(), "sync"],
];

export function errorWordingTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("one wording per case", () => {
    for (const [name, call, code, message] of [...MISSING, ...MISTAKES]) {
      it(`words ${name} as every engine does`, async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, (store) => {
          prepare(store, clock);
          expect(errorOf(() => call(store))).toStrictEqual({ code, message });
        });
      });
    }

    it("words an empty store's missing messages as every engine does", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        expect(errorOf(() => store.loadMsg(1))).toStrictEqual({
          code: "ErrStoreEOF",
          message: "Cannot load message: no message at sequence 1, the last sequence is 0",
        });
        fill(store, clock, 3);
        store.purge();
        expect(errorOf(() => store.loadMsg(2))).toStrictEqual({
          code: "ErrStoreMsgNotFound",
          message:
            "Cannot load message: no message at sequence 2, it was removed or never stored (the store is empty, last sequence is 3)",
        });
        expect(errorOf(() => store.loadPrevMsg(3))).toStrictEqual({
          code: "ErrStoreEOF",
          message:
            "Cannot load previous message: no message at or before sequence 3 (the store is empty, last sequence is 3)",
        });
      });
    });

    it("names the method in every ErrStoreClosed, as every engine does", async () => {
      const clock = testClock();
      const fixture = await factory.create({ now: clock.now });
      try {
        const store = fixture.store;
        fill(store, clock, 3);
        await store.close();
        const got: [string, { code: string; message: string }][] = [];
        for (const [name, call] of CLOSED) {
          got.push([name, await errorOfAsync(async () => call(store))]);
        }
        got.push(["delete", await errorOfAsync(() => store.delete())]);
        const expected = CLOSED.map(([name, , action]) => [
          name,
          { code: "ErrStoreClosed", message: `Cannot ${action}: the store is closed` },
        ]);
        expected.push([
          "delete",
          {
            code: "ErrStoreClosed",
            message:
              "Cannot delete the store: this handle is closed, and a closed handle no longer holds the store's lock (open it again to delete it)",
          },
        ]);
        expect(got).toStrictEqual(expected);
      } finally {
        await fixture.cleanup();
      }
    });

    it("refuses every call once close() has begun, consumers and snapshots too; a close() meanwhile settles with it", async () => {
      const clock = testClock();
      const fixture = await factory.create({ now: clock.now });
      try {
        const store = fixture.store;
        fill(store, clock, 3);
        // The stream's consumer stores stop first, which takes a turn: calls come in meanwhile.
        store.consumerStore("early", { ackPolicy: "explicit" }).updateDelivered(1, 1, 1, 1n);
        const closing = store.close();
        const got: [string, string][] = [];
        for (const [name, call] of CLOSED) {
          got.push([name, (await errorOfAsync(async () => call(store))).code]);
        }
        // A consumer opened now would outlive the stream: never stopped, writing without its lock.
        got.push(["consumer", errorOf(() => store.consumer("late", {})).code]);
        got.push([
          "consumerStore",
          errorOf(() => store.consumerStore("late", { ackPolicy: "explicit" })).code,
        ]);
        got.push(["snapshot", errorOf(() => store.snapshot()).code]);
        expect(got).toStrictEqual(
          [...CLOSED.map(([name]) => name), "consumer", "consumerStore", "snapshot"].map((name) => [
            name,
            "ErrStoreClosed",
          ]),
        );
        await Promise.all([closing, store.close()]);
        await store.close();
        if (factory.supports.persistence) {
          const reopened = await fixture.reopen();
          expect(reopened.state().msgs).toBe(3);
        }
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
