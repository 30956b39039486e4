/**
 * The StreamStore contract: one body of tests run against every engine the
 * factories provide (abstract-level's `suite({ factory })`), so MemStore and
 * FileStore on every adapter answer alike. Semantics are nats-server's
 * (server/memstore.go, filestore.go) except where src/memstore.ts documents a
 * deliberate difference. Assertions are exact: sequences, timestamps from an
 * injected clock, bytes, deleted lists and error codes. Topics live in
 * store-contract-*.ts; the random-operations model test in store-model.ts.
 */
import { MAX_DELETED_LISTED } from "../../src/store-errors.ts";
import type { TestApi } from "../harness.ts";
import { errorWordingTests } from "./store-contract-errors.ts";
import { inputTests } from "./store-contract-inputs.ts";
import { limitTests } from "./store-contract-limits.ts";
import { markerTests } from "./store-contract-markers.ts";
import { multiQueryTests } from "./store-contract-multi.ts";
import { persistenceTests } from "./store-contract-persistence.ts";
import { queryTests } from "./store-contract-queries.ts";
import { removalTests } from "./store-contract-removal.ts";
import { streamStateTests } from "./store-contract-stream-state.ts";
import { subjectTests } from "./store-contract-subjects.ts";
import { ttlTests } from "./store-contract-ttl.ts";
import type { StoreFactory } from "./store-factories.ts";
import {
  codeOf,
  enc,
  errorOf,
  expectedSize,
  fill,
  plain,
  testClock,
  utf8Bytes,
  withoutDeleted,
  withStore,
} from "./store-helpers.ts";
import { modelTests } from "./store-model.ts";

export function storeContractSuite(api: TestApi, factories: StoreFactory[]): void {
  api.describe("store contract", () => {
    for (const factory of factories) {
      api.describe(factory.name, () => {
        basicTests(api, factory);
        sequenceTests(api, factory);
        queryTests(api, factory);
        multiQueryTests(api, factory);
        removalTests(api, factory);
        inputTests(api, factory);
        errorWordingTests(api, factory);
        persistenceTests(api, factory);
        limitTests(api, factory);
        ttlTests(api, factory);
        markerTests(api, factory);
        subjectTests(api, factory);
        modelTests(api, factory);
        streamStateTests(api, factory);
      });
    }
  });
}

function basicTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("store and load", () => {
    it("stamps messages by default in nanoseconds since the epoch: near Date.now(), never decreasing, finer than a millisecond", async () => {
      await withStore(factory, undefined, async (store) => {
        const before = BigInt(Date.now()) * 1_000_000n;
        const stamps: bigint[] = [];
        for (let i = 0; i < 2000; i++) stamps.push(store.storeMsg("clock", null, enc("x")).ts);
        const after = BigInt(Date.now()) * 1_000_000n;
        // The monotonic clock and the wall clock agree to well within a second unless the wall clock is set.
        const second = 1_000_000_000n;
        expect(stamps[0] > before - second && stamps[stamps.length - 1] < after + second).toBe(
          true,
        );
        expect(stamps.every((t, i) => i === 0 || t >= stamps[i - 1])).toBe(true);
        expect(stamps.some((t) => t % 1_000_000n !== 0n)).toBe(true);
        expect(store.loadMsg(2000).ts).toBe(stamps[1999]);
        expect(store.fastState().lastTs).toBe(stamps[1999]);
      });
    });

    it("reports a fresh store as empty with first and last 0, as nats-server does, and still after a reopen (where nats-server 2.9.10's fileStore says first 1)", async () => {
      await withStore(factory, undefined, async (store, fixture) => {
        const empty = {
          msgs: 0,
          bytes: 0,
          firstSeq: 0,
          firstTs: 0n,
          lastSeq: 0,
          lastTs: 0n,
          numSubjects: 0,
          numDeleted: 0,
          consumers: 0,
        };
        expect(store.state()).toStrictEqual({ ...empty, deleted: [] });
        expect(store.fastState()).toStrictEqual(empty);
        const reopened = await fixture.reopen();
        expect(reopened.state()).toStrictEqual({ ...empty, deleted: [] });
        expect(reopened.fastState()).toStrictEqual(empty);
      });
    });

    it("reports first = last + 1 once a sequence was handed out and the stream is empty", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        expect(store.skipMsg()).toBe(1);
        expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 2, lastSeq: 1 });
      });
      await withStore(factory, { now: clock.now }, async (store, fixture) => {
        store.storeMsg("a", null, enc("x"));
        expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 1, lastSeq: 1 });
        expect(store.purge()).toBe(1);
        expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 2, lastSeq: 1 });
        const reopened = await fixture.reopen();
        expect(reopened.fastState()).toMatchObject({ msgs: 0, firstSeq: 2, lastSeq: 1 });
      });
    });

    it("stores a message at the next sequence with the clock's timestamp and loads it back", async () => {
      const clock = testClock(1_000n);
      await withStore(factory, { now: clock.now }, (store) => {
        expect(store.storeMsg("foo", null, enc("hello"))).toStrictEqual({ seq: 1, ts: 1_000n });
        clock.t = 2_500n;
        expect(store.storeMsg("bar", enc("h:1"), enc("world"))).toStrictEqual({
          seq: 2,
          ts: 2_500n,
        });
        expect(plain(store.loadMsg(1))).toStrictEqual({
          subject: "foo",
          hdr: null,
          msg: Array.from(enc("hello")),
          seq: 1,
          ts: 1_000n,
        });
        expect(plain(store.loadMsg(2))).toStrictEqual({
          subject: "bar",
          hdr: Array.from(enc("h:1")),
          msg: Array.from(enc("world")),
          seq: 2,
          ts: 2_500n,
        });
        expect(store.state()).toStrictEqual({
          msgs: 2,
          bytes: 28 + 3 + 5 + 8 + (28 + 3 + 3 + 5 + 8),
          firstSeq: 1,
          firstTs: 1_000n,
          lastSeq: 2,
          lastTs: 2_500n,
          numSubjects: 2,
          numDeleted: 0,
          deleted: [],
          consumers: 0,
        });
      });
    });

    it("keeps null headers apart from empty headers", async () => {
      await withStore(factory, undefined, (store) => {
        store.storeMsg("a", null, enc("x"));
        store.storeMsg("a", new Uint8Array(0), enc("x"));
        store.storeMsg("a", enc("k: v"), enc("x"));
        expect(store.loadMsg(1).hdr).toBeNull();
        const empty = store.loadMsg(2).hdr;
        expect(empty).toBeInstanceOf(Uint8Array);
        expect(empty?.length).toBe(0);
        expect(plain(store.loadMsg(3)).hdr).toStrictEqual(Array.from(enc("k: v")));
        expect(Array.from(store.loadMsg(2).msg)).toStrictEqual(Array.from(enc("x")));
        expect(store.fastState().bytes).toBe(2 * expectedSize("a", 0, 1) + expectedSize("a", 4, 1));
      });
    });

    it("stores empty payloads with and without headers", async () => {
      await withStore(factory, undefined, (store) => {
        store.storeMsg("e", null, new Uint8Array(0));
        store.storeMsg("e", enc("h"), new Uint8Array(0));
        const first = store.loadMsg(1);
        expect(first.msg).toBeInstanceOf(Uint8Array);
        expect(first.msg.length).toBe(0);
        expect(plain(store.loadMsg(2))).toMatchObject({ hdr: Array.from(enc("h")), msg: [] });
        expect(store.fastState().bytes).toBe(expectedSize("e", 0, 0) + expectedSize("e", 1, 0));
      });
    });

    it("round-trips non-ASCII subjects and counts their UTF-8 bytes", async () => {
      const subjects = ["注文.東京.42", "émoji.🚀", "ünïcödé", "a.ß.*x"];
      await withStore(factory, undefined, (store) => {
        for (const subject of subjects) store.storeMsg(subject, null, enc(subject));
        subjects.forEach((subject, i) => {
          const sm = store.loadMsg(i + 1);
          expect(sm.subject).toBe(subject);
          expect(new TextDecoder().decode(sm.msg)).toBe(subject);
        });
        const bytes = subjects.reduce((sum, s) => sum + expectedSize(s, 0, utf8Bytes(s)), 0);
        expect(store.fastState().bytes).toBe(bytes);
        expect(utf8Bytes("注文.東京.42")).toBe(16);
        expect(store.fastState().numSubjects).toBe(4);
      });
    });

    it("accepts a subject of 65535 UTF-8 bytes and refuses one of 65536", async () => {
      await withStore(factory, undefined, (store) => {
        const longest = `${"x".repeat(65_533)}é`;
        expect(store.storeMsg(longest, null, enc("ok")).seq).toBe(1);
        expect(store.loadMsg(1).subject).toBe(longest);
        expect(store.fastState().bytes).toBe(expectedSize(longest, 0, 2));
        expect(codeOf(() => store.storeMsg(`${longest}x`, null, enc("no")))).toBe(
          "ErrInvalidSubject",
        );
        expect(codeOf(() => store.storeMsg("€".repeat(21_846), null, enc("no")))).toBe(
          "ErrInvalidSubject",
        );
        expect(store.fastState().msgs).toBe(1);
      });
    });

    it("copies payloads on store and on load", async () => {
      await withStore(factory, undefined, (store) => {
        const hdr = enc("hh");
        const msg = enc("payload");
        store.storeMsg("c", hdr, msg);
        hdr.fill(0);
        msg.fill(0);
        const loaded = store.loadMsg(1);
        expect(plain(loaded)).toMatchObject({
          hdr: Array.from(enc("hh")),
          msg: Array.from(enc("payload")),
        });
        loaded.msg.fill(1);
        loaded.hdr?.fill(1);
        expect(plain(store.loadMsg(1))).toMatchObject({
          hdr: Array.from(enc("hh")),
          msg: Array.from(enc("payload")),
        });
      });
    });

    it("counts distinct subjects exactly as messages come and go", async () => {
      await withStore(factory, undefined, (store) => {
        for (const s of ["a", "b", "a", "c", "a"]) store.storeMsg(s, null, enc(s));
        expect(store.fastState().numSubjects).toBe(3);
        store.removeMsg(2);
        expect(store.fastState().numSubjects).toBe(2);
        store.removeMsg(1);
        store.removeMsg(3);
        expect(store.fastState().numSubjects).toBe(2);
        store.removeMsg(5);
        expect(store.fastState().numSubjects).toBe(1);
        store.purge();
        expect(store.fastState().numSubjects).toBe(0);
      });
    });

    it("fastState equals state without the deleted list", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 10);
        for (const seq of [2, 5, 6, 10]) store.removeMsg(seq);
        store.skipMsg();
        const state = store.state();
        expect(state.deleted).toStrictEqual([2, 5, 6, 10, 11]);
        expect(state.numDeleted).toBe(5);
        expect(store.fastState()).toStrictEqual(withoutDeleted(state));
        expect("deleted" in store.fastState()).toBe(false);
        expect(state.lost).toBeUndefined();
      });
    });

    it("storeRawMsg keeps the caller's timestamp, in any order and at the i64 bounds", async () => {
      const clock = testClock(77n);
      await withStore(factory, { now: clock.now }, (store) => {
        store.storeRawMsg("r", null, enc("1"), 1, 5_000n);
        store.storeRawMsg("r", null, enc("2"), 2, 0n);
        store.storeRawMsg("r", enc("h"), enc("3"), 3, (1n << 63n) - 1n);
        expect(store.loadMsg(1).ts).toBe(5_000n);
        expect(store.loadMsg(2).ts).toBe(0n);
        expect(plain(store.loadMsg(3))).toMatchObject({
          hdr: Array.from(enc("h")),
          ts: (1n << 63n) - 1n,
        });
        expect(store.fastState()).toMatchObject({
          firstTs: 5_000n,
          lastTs: (1n << 63n) - 1n,
          lastSeq: 3,
        });
      });
    });

    it("refuses a TTL on a store without allowMsgTtl, storing nothing", async () => {
      await withStore(factory, undefined, (store) => {
        expect(codeOf(() => store.storeMsg("t", null, enc("a"), 60))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.storeMsg("t", null, enc("a"), -1))).toBe("ErrInvalidArgument");
        expect(codeOf(() => store.storeRawMsg("t", null, enc("a"), 1, 1n, 5))).toBe(
          "ErrInvalidArgument",
        );
        expect(store.storeMsg("t", null, enc("a"), 0).seq).toBe(1);
        expect(store.fastState().bytes).toBe(expectedSize("t", 0, 1));
      });
    });
  });
}

function sequenceTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("sequences", () => {
    it("never reuses the sequence of a removed last message", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 3);
        expect(store.removeMsg(3)).toBe(true);
        expect(store.state()).toMatchObject({
          msgs: 2,
          lastSeq: 3,
          lastTs: 3_000n,
          deleted: [3],
          numDeleted: 1,
        });
        clock.t = 9_000n;
        expect(store.storeMsg("foo", null, enc("next"))).toStrictEqual({ seq: 4, ts: 9_000n });
      });
    });

    it("continues after purge, and after removing every message, at last + 1", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 5);
        expect(store.purge()).toBe(5);
        expect(store.state()).toStrictEqual({
          msgs: 0,
          bytes: 0,
          firstSeq: 6,
          firstTs: 0n,
          lastSeq: 5,
          lastTs: 5_000n,
          numSubjects: 0,
          numDeleted: 0,
          deleted: [],
          consumers: 0,
        });
        expect(store.storeMsg("foo", null, enc("x")).seq).toBe(6);
        store.storeMsg("foo", null, enc("y"));
        store.removeMsg(7);
        store.removeMsg(6);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 8,
          lastSeq: 7,
          numDeleted: 0,
          deleted: [],
        });
        expect(store.storeMsg("foo", null, enc("z")).seq).toBe(8);
      });
    });

    it("continues after compact beyond the end at the compact sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 3);
        expect(store.compact(50)).toBe(3);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 50,
          lastSeq: 49,
          lastTs: 3_000n,
          deleted: [],
        });
        expect(store.storeMsg("foo", null, enc("x")).seq).toBe(50);
      });
    });

    it("skipMsg on an empty store moves the first sequence past the skip", async () => {
      const clock = testClock(7n);
      await withStore(factory, { now: clock.now }, (store) => {
        expect(store.skipMsg()).toBe(1);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 2,
          firstTs: 0n,
          lastSeq: 1,
          lastTs: 7n,
          numDeleted: 0,
          deleted: [],
        });
        expect(codeOf(() => store.loadMsg(1))).toBe("ErrStoreMsgNotFound");
        clock.t = 8n;
        expect(store.storeMsg("a", null, enc("x"))).toStrictEqual({ seq: 2, ts: 8n });
        expect(store.fastState()).toMatchObject({ firstSeq: 2, firstTs: 8n });
      });
    });

    it("skipMsg after messages leaves a deleted gap and stamps the last time", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 2);
        clock.t = 2_500n;
        expect(store.skipMsg()).toBe(3);
        expect(store.state()).toMatchObject({
          msgs: 2,
          lastSeq: 3,
          lastTs: 2_500n,
          deleted: [3],
          numDeleted: 1,
        });
        expect(store.storeMsg("foo", null, enc("x")).seq).toBe(4);
        expect(store.state()).toMatchObject({ deleted: [3], numDeleted: 1 });
        expect(codeOf(() => store.loadMsg(3))).toBe("ErrStoreMsgNotFound");
      });
    });

    it("skipMsgs needs the next sequence and skips num sequences", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 2);
        const before = store.state();
        for (const seq of [0, 1, 2, 4, 100]) {
          expect(codeOf(() => store.skipMsgs(seq, 3))).toBe("ErrSequenceMismatch");
        }
        expect(store.state()).toStrictEqual(before);
        clock.t = 4_000n;
        store.skipMsgs(3, 3);
        expect(store.state()).toMatchObject({
          msgs: 2,
          firstSeq: 1,
          lastSeq: 5,
          lastTs: 4_000n,
          deleted: [3, 4, 5],
          numDeleted: 3,
        });
        expect(store.storeMsg("foo", null, enc("x")).seq).toBe(6);
      });
    });

    it("skipMsgs on an empty store moves the first sequence past the skipped range", async () => {
      const clock = testClock(5n);
      await withStore(factory, { now: clock.now }, (store) => {
        store.skipMsgs(1, 10);
        expect(store.state()).toMatchObject({
          msgs: 0,
          firstSeq: 11,
          lastSeq: 10,
          lastTs: 5n,
          deleted: [],
        });
        store.skipMsgs(11, 1_000_000_000_000);
        expect(store.fastState()).toMatchObject({
          firstSeq: 1_000_000_000_011,
          lastSeq: 1_000_000_000_010,
        });
        expect(store.storeMsg("a", null, enc("x")).seq).toBe(1_000_000_000_011);
        expect(store.state()).toMatchObject({ msgs: 1, numDeleted: 0, deleted: [] });
      });
    });

    it("skipMsgs with a count of zero changes nothing", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 1);
        const before = store.state();
        clock.t = 99_000n;
        store.skipMsgs(2, 0);
        expect(store.state()).toStrictEqual(before);
        expect(codeOf(() => store.skipMsgs(3, 0))).toBe("ErrSequenceMismatch");
      });
    });

    it("bounds state()'s deleted list: a skip of 2^40 gets ErrTooManyResults naming fastState(), changing nothing", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 1);
        store.skipMsgs(2, 2 ** 40);
        clock.t = 5_000n;
        store.storeMsg("foo", null, enc("after"));
        const fast = store.fastState();
        expect(fast).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: 2 ** 40 + 2 });
        expect(fast.numDeleted).toBe(2 ** 40);
        expect(errorOf(() => store.state())).toStrictEqual({
          code: "ErrTooManyResults",
          message: `Cannot read state: ${2 ** 40} sequences are deleted, more than the 10000000 state() lists; fastState() gives every count without the list`,
        });
        expect(store.fastState()).toStrictEqual(fast);
        expect(plain(store.loadMsg(2 ** 40 + 2))).toMatchObject({ subject: "foo", ts: 5_000n });
        expect(store.loadNextMsg("", false, 2).seq).toBe(2 ** 40 + 2);
      });
    });

    it(`lists up to ${MAX_DELETED_LISTED} deleted sequences in state() and refuses one more`, async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 1);
        store.skipMsgs(2, MAX_DELETED_LISTED);
        fill(store, clock, 1);
        const deleted = store.state().deleted ?? [];
        expect([deleted.length, deleted[0], deleted[deleted.length - 1]]).toStrictEqual([
          MAX_DELETED_LISTED,
          2,
          MAX_DELETED_LISTED + 1,
        ]);
        expect(store.removeMsg(MAX_DELETED_LISTED + 2)).toBe(true);
        expect(codeOf(() => store.state())).toBe("ErrTooManyResults");
        expect(store.fastState().numDeleted).toBe(MAX_DELETED_LISTED + 1);
      });
    }, 30_000);

    it("refuses sequences past the largest safe integer", async () => {
      const max = Number.MAX_SAFE_INTEGER;
      await withStore(factory, undefined, (store) => {
        expect(store.compact(max - 1)).toBe(0);
        expect(codeOf(() => store.skipMsgs(max - 1, 3))).toBe("ErrOutOfRange");
        store.skipMsgs(max - 1, 1);
        expect(store.storeMsg("a", null, enc("x")).seq).toBe(max);
        const before = store.state();
        expect(codeOf(() => store.storeMsg("a", null, enc("y")))).toBe("ErrOutOfRange");
        expect(codeOf(() => store.skipMsg())).toBe("ErrOutOfRange");
        expect(codeOf(() => store.skipMsgs(max + 1, 1))).toBe("ErrInvalidArgument");
        expect(store.state()).toStrictEqual(before);
        expect(plain(store.loadMsg(max))).toMatchObject({ seq: max, subject: "a" });
      });
    });

    it("storeRawMsg accepts only the next sequence", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 2);
        const before = store.state();
        for (const seq of [0, 1, 2, 4, 1_000]) {
          expect(codeOf(() => store.storeRawMsg("r", null, enc("x"), seq, 1n))).toBe(
            "ErrSequenceMismatch",
          );
        }
        expect(store.state()).toStrictEqual(before);
        store.storeRawMsg("r", null, enc("x"), 3, 1n);
        store.skipMsg();
        expect(codeOf(() => store.storeRawMsg("r", null, enc("x"), 4, 1n))).toBe(
          "ErrSequenceMismatch",
        );
        store.storeRawMsg("r", null, enc("y"), 5, 2n);
        store.purge();
        store.storeRawMsg("r", null, enc("z"), 6, 3n);
        expect(store.state()).toMatchObject({
          msgs: 1,
          firstSeq: 6,
          lastSeq: 6,
          firstTs: 3n,
          lastTs: 3n,
        });
      });
    });

    it("starts an empty store at the firstSeq option", async () => {
      const clock = testClock();
      await withStore(factory, { firstSeq: 100, now: clock.now }, (store) => {
        expect(store.state()).toMatchObject({ msgs: 0, firstSeq: 100, lastSeq: 99, deleted: [] });
        expect(codeOf(() => store.loadMsg(99))).toBe("ErrStoreMsgNotFound");
        expect(codeOf(() => store.loadMsg(100))).toBe("ErrStoreEOF");
        expect(codeOf(() => store.storeRawMsg("a", null, enc("x"), 1, 1n))).toBe(
          "ErrSequenceMismatch",
        );
        expect(store.storeMsg("a", null, enc("x")).seq).toBe(100);
        expect(store.state()).toMatchObject({
          msgs: 1,
          firstSeq: 100,
          lastSeq: 100,
          numDeleted: 0,
        });
      });
      // 0 and 1 are the default: nothing handed out yet, so first and last 0.
      for (const firstSeq of [0, 1]) {
        await withStore(factory, { firstSeq }, (store) => {
          expect(store.fastState()).toMatchObject({ firstSeq: 0, lastSeq: 0 });
          expect(store.storeMsg("a", null, enc("x")).seq).toBe(1);
        });
      }
      await withStore(factory, { firstSeq: 100 }, async (_store, fixture) => {
        const reopened = await fixture.reopen();
        expect(reopened.state()).toMatchObject({
          msgs: 0,
          firstSeq: 100,
          lastSeq: 99,
          deleted: [],
        });
      });
      await withStore(factory, { firstSeq: Number.MAX_SAFE_INTEGER }, (store) => {
        expect(store.storeMsg("a", null, enc("x")).seq).toBe(Number.MAX_SAFE_INTEGER);
        expect(codeOf(() => store.storeMsg("a", null, enc("x")))).toBe("ErrOutOfRange");
      });
    });
  });
}
