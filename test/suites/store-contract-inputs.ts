/**
 * Contract: bad input and closed stores. Every entry point given a wrong type,
 * NaN, a float, a negative or unsafe integer, an empty or malformed subject or
 * a non-Uint8Array payload throws a typed error and changes nothing; bad
 * options fail the factory; after close every method fails with
 * ErrStoreClosed.
 */
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, codeOfAsync, enc, fill, snapshot, testClock, withStore } from "./store-helpers.ts";

// Bad inputs reach the store through `any`, as they would from JavaScript callers.
// biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed arguments
type Loose = any;

const BAD_SEQS: [string, unknown][] = [
  ["-1", -1],
  ["1.5", 1.5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["2^53", 2 ** 53],
  ['"2"', "2"],
  ["2n", 2n],
  ["null", null],
  ["undefined", undefined],
];

const BAD_SUBJECT_TYPES: [string, unknown][] = [
  ["42", 42],
  ["null", null],
  ["undefined", undefined],
  ["a String object", new String("foo")],
];

const BAD_SUBJECTS: [string, string][] = [
  ["empty", ""],
  ["with a space", "foo bar"],
  ["with a tab", "foo\tbar"],
  ["with a newline", "foo\n"],
  ["with a NUL", "foo\u0000"],
  ["with a lone surrogate", "foo.\ud800"],
  ["of 65536 bytes", "x".repeat(65_536)],
];

const BAD_BYTES: [string, unknown][] = [
  ["undefined", undefined],
  ["a string", "payload"],
  ["a number array", [1, 2, 3]],
  ["an ArrayBuffer", new ArrayBuffer(3)],
  ["a DataView", new DataView(new ArrayBuffer(3))],
  ["a Uint16Array", new Uint16Array(3)],
  ["a number", 7],
];

const BAD_FILTERS: [string, unknown, string][] = [
  ["a number", 5, "ErrInvalidArgument"],
  ["null", null, "ErrInvalidArgument"],
  ["undefined", undefined, "ErrInvalidArgument"],
  ["with a space", "a b", "ErrInvalidFilter"],
  ["with > before the end", "a.>.b", "ErrInvalidFilter"],
  ["with a lone surrogate", "\udc00", "ErrInvalidFilter"],
];

/** One bad call: a name, what it does to the store (seeded with messages 1…3) and the code it must throw. */
type BadCall = [string, (store: Loose) => unknown, string];

function badCalls(): BadCall[] {
  const calls: BadCall[] = [];
  const x = enc("x");
  for (const [name, subject] of BAD_SUBJECT_TYPES) {
    calls.push([
      `storeMsg subject ${name}`,
      (s) => s.storeMsg(subject, null, x),
      "ErrInvalidArgument",
    ]);
    calls.push([
      `storeRawMsg subject ${name}`,
      (s) => s.storeRawMsg(subject, null, x, 4, 1n),
      "ErrInvalidArgument",
    ]);
  }
  for (const [name, subject] of BAD_SUBJECTS) {
    calls.push([
      `storeMsg subject ${name}`,
      (s) => s.storeMsg(subject, null, x),
      "ErrInvalidSubject",
    ]);
    calls.push([
      `storeRawMsg subject ${name}`,
      (s) => s.storeRawMsg(subject, null, x, 4, 1n),
      "ErrInvalidSubject",
    ]);
  }
  for (const [name, bytes] of BAD_BYTES) {
    calls.push([`storeMsg hdr ${name}`, (s) => s.storeMsg("a", bytes, x), "ErrInvalidArgument"]);
    calls.push([`storeMsg msg ${name}`, (s) => s.storeMsg("a", null, bytes), "ErrInvalidArgument"]);
    calls.push([
      `storeRawMsg hdr ${name}`,
      (s) => s.storeRawMsg("a", bytes, x, 4, 1n),
      "ErrInvalidArgument",
    ]);
    calls.push([
      `storeRawMsg msg ${name}`,
      (s) => s.storeRawMsg("a", null, bytes, 4, 1n),
      "ErrInvalidArgument",
    ]);
  }
  calls.push(["storeMsg msg null", (s) => s.storeMsg("a", null, null), "ErrInvalidArgument"]);
  for (const [name, seq] of BAD_SEQS) {
    const bad = "ErrInvalidArgument";
    calls.push([`storeRawMsg seq ${name}`, (s) => s.storeRawMsg("a", null, x, seq, 1n), bad]);
    calls.push([`skipMsgs seq ${name}`, (s) => s.skipMsgs(seq, 1), bad]);
    calls.push([`skipMsgs num ${name}`, (s) => s.skipMsgs(4, seq), bad]);
    calls.push([`loadMsg ${name}`, (s) => s.loadMsg(seq), bad]);
    calls.push([`loadNextMsg start ${name}`, (s) => s.loadNextMsg("", false, seq), bad]);
    calls.push([`loadPrevMsg ${name}`, (s) => s.loadPrevMsg(seq), bad]);
    calls.push([`removeMsg ${name}`, (s) => s.removeMsg(seq), bad]);
    calls.push([`eraseMsg ${name}`, (s) => s.eraseMsg(seq), bad]);
    calls.push([`compact ${name}`, (s) => s.compact(seq), bad]);
    calls.push([`truncate ${name}`, (s) => s.truncate(seq), bad]);
  }
  for (const [name, ts] of [
    ["a number", 5],
    ["-1n", -1n],
    ["2^63", 1n << 63n],
    ["undefined", undefined],
    ["a string", "5"],
  ] as [string, unknown][]) {
    calls.push([
      `storeRawMsg ts ${name}`,
      (s) => s.storeRawMsg("a", null, x, 4, ts),
      "ErrInvalidArgument",
    ]);
  }
  for (const [name, ttl] of [
    ["-2", -2],
    ["1.5", 1.5],
    ["NaN", Number.NaN],
    ["2^53", 2 ** 53],
    ['"5"', "5"],
    ["5n", 5n],
    ["null", null],
  ] as [string, unknown][]) {
    calls.push([
      `storeMsg ttl ${name}`,
      (s) => s.storeMsg("a", null, x, ttl),
      "ErrInvalidArgument",
    ]);
    calls.push([
      `storeRawMsg ttl ${name}`,
      (s) => s.storeRawMsg("a", null, x, 4, 1n, ttl),
      "ErrInvalidArgument",
    ]);
  }
  for (const [name, filter, code] of BAD_FILTERS) {
    calls.push([`loadNextMsg filter ${name}`, (s) => s.loadNextMsg(filter, true, 0), code]);
    calls.push([`loadLastMsg subject ${name}`, (s) => s.loadLastMsg(filter), code]);
  }
  for (const [name, wildcard] of [
    ["undefined", undefined],
    ["1", 1],
    ['"true"', "true"],
  ] as [string, unknown][]) {
    calls.push([
      `loadNextMsg wildcard ${name}`,
      (s) => s.loadNextMsg("a", wildcard, 0),
      "ErrInvalidArgument",
    ]);
  }
  return calls;
}

/** Every method with valid arguments for a store holding messages 1…3. */
const EVERY_METHOD: [string, (store: StreamStore) => unknown][] = [
  ["storeMsg", (s) => s.storeMsg("a", null, enc("x"))],
  ["storeRawMsg", (s) => s.storeRawMsg("a", null, enc("x"), 4, 1n)],
  ["skipMsg", (s) => s.skipMsg()],
  ["skipMsgs", (s) => s.skipMsgs(4, 2)],
  ["loadMsg", (s) => s.loadMsg(1)],
  ["loadNextMsg", (s) => s.loadNextMsg("", false, 0)],
  ["loadLastMsg", (s) => s.loadLastMsg("foo")],
  ["loadPrevMsg", (s) => s.loadPrevMsg(3)],
  ["removeMsg", (s) => s.removeMsg(1)],
  ["eraseMsg", (s) => s.eraseMsg(2)],
  ["purge", (s) => s.purge()],
  ["compact", (s) => s.compact(2)],
  ["truncate", (s) => s.truncate(2)],
  ["state", (s) => s.state()],
  ["fastState", (s) => s.fastState()],
  ["updateConfig", (s) => s.updateConfig({})],
];

export function inputTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("bad input", () => {
    it("gets a typed error and changes nothing, for every entry point", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 3);
        const before = snapshot(store);
        const calls = badCalls();
        const got = calls.map(([name, call]) => [name, codeOf(() => call(store))]);
        expect(got).toStrictEqual(calls.map(([name, , code]) => [name, code]));
        expect(snapshot(store)).toStrictEqual(before);
        expect(store.storeMsg("foo", null, enc("m4")).seq).toBe(4);
      });
    });

    it("from a now option that returns no valid timestamp fails the write and changes nothing", async () => {
      const clock = testClock();
      let broken = false;
      const now = () => (broken ? (5 as Loose as bigint) : clock.now());
      await withStore(factory, { now }, (store) => {
        fill(store, clock, 2);
        const before = snapshot(store);
        broken = true;
        expect(codeOf(() => store.storeMsg("a", null, enc("x")))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.skipMsg())).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.skipMsgs(3, 2))).toBe("ErrInvalidArgument");
        expect(snapshot(store)).toStrictEqual(before);
      });
    });

    it("in options fails creation with ErrInvalidArgument", async () => {
      const bad: [string, unknown][] = [
        ["maxMsgs -1", { maxMsgs: -1 }],
        ["maxBytes 1.5", { maxBytes: 1.5 }],
        ["maxAgeMs NaN", { maxAgeMs: Number.NaN }],
        ["maxMsgsPerSubject a string", { maxMsgsPerSubject: "10" }],
        ["maxMsgSize 2^53", { maxMsgSize: 2 ** 53 }],
        ["discard oldest", { discard: "oldest" }],
        ["discardNewPerSubject 1", { discardNewPerSubject: 1 }],
        ["allowMsgTtl a string", { allowMsgTtl: "yes" }],
        ["firstSeq -1", { firstSeq: -1 }],
        ["firstSeq 1.5", { firstSeq: 1.5 }],
        ["firstSeq 2^53", { firstSeq: 2 ** 53 }],
        ["now a number", { now: 5 }],
      ];
      const got: [string, string][] = [];
      for (const [name, options] of bad) {
        got.push([name, await codeOfAsync(() => factory.create(options as Loose))]);
      }
      expect(got).toStrictEqual(bad.map(([name]) => [name, "ErrInvalidArgument"]));
    });
  });

  describe("closed store", () => {
    it("fails every method with ErrStoreClosed", async () => {
      const clock = testClock();
      const fixture = await factory.create({ now: clock.now });
      try {
        fill(fixture.store, clock, 3);
        await fixture.store.close();
        const got = EVERY_METHOD.map(([name, call]) => [name, codeOf(() => call(fixture.store))]);
        expect(got).toStrictEqual(EVERY_METHOD.map(([name]) => [name, "ErrStoreClosed"]));
        expect(await codeOfAsync(() => fixture.store.flush())).toBe("ErrStoreClosed");
        expect(await codeOfAsync(() => fixture.store.sync())).toBe("ErrStoreClosed");
        expect(await codeOfAsync(() => fixture.store.close())).toBe("no error");
      } finally {
        await fixture.cleanup();
      }
    });

    it("after delete fails every method with ErrStoreClosed", async () => {
      const clock = testClock();
      const fixture = await factory.create({ now: clock.now });
      try {
        fill(fixture.store, clock, 3);
        await fixture.store.flush();
        await fixture.store.sync();
        await fixture.store.delete();
        const got = EVERY_METHOD.map(([name, call]) => [name, codeOf(() => call(fixture.store))]);
        expect(got).toStrictEqual(EVERY_METHOD.map(([name]) => [name, "ErrStoreClosed"]));
        expect(await codeOfAsync(() => fixture.store.delete())).toBe("no error");
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
