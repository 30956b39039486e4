/**
 * Stream limits on every engine, with nats-server's semantics: discard old
 * removes the oldest messages (the subject's oldest for the per-subject
 * limit) once a new one is stored; discard new refuses the new message and
 * changes nothing; maxMsgSize always refuses. Byte figures use the record
 * size of FORMAT.md (expectedSize). Reopen applies the limits of the reopen.
 * Age tests use an injected clock, except one that waits 100 ms for the timer.
 */
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, enc, expectedSize, snapshot, testClock, withStore } from "./store-helpers.ts";

const ONE = expectedSize("foo", 0, 2);

export function limitTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("limits", () => {
    it("maxMsgs with discard old keeps the newest messages", async () => {
      const clock = testClock();
      await withStore(factory, { maxMsgs: 3, now: clock.now }, (store) => {
        for (let i = 1; i <= 7; i++) store.storeMsg("foo", null, enc(`m${i}`));
        expect(store.state()).toMatchObject({
          msgs: 3,
          firstSeq: 5,
          lastSeq: 7,
          bytes: 3 * ONE,
          deleted: [],
        });
        expect(codeOf(() => store.loadMsg(4))).toBe("ErrStoreMsgNotFound");
      });
    });

    it("maxBytes with discard old removes the oldest until the bytes fit", async () => {
      await withStore(factory, { maxBytes: 2 * ONE + 5 }, (store) => {
        for (let i = 1; i <= 5; i++) store.storeMsg("foo", null, enc(`m${i}`));
        expect(store.fastState()).toMatchObject({
          msgs: 2,
          firstSeq: 4,
          lastSeq: 5,
          bytes: 2 * ONE,
        });
        expect(codeOf(() => store.storeMsg("foo", null, new Uint8Array(4 * ONE)))).toBe(
          "ErrMaxBytes",
        );
        expect(store.fastState()).toMatchObject({ msgs: 2, firstSeq: 4, lastSeq: 5 });
      });
    });

    it("maxMsgsPerSubject removes that subject's oldest only", async () => {
      await withStore(factory, { maxMsgsPerSubject: 2 }, (store) => {
        for (const s of ["a", "b", "a", "a", "b", "b", "c", "a"]) store.storeMsg(s, null, enc("x"));
        expect(store.subjectsTotals("")).toStrictEqual({ a: 2, b: 2, c: 1 });
        // a's 1 went at 4, b's 2 at 6, a's 3 at 8.
        expect(store.state()).toMatchObject({ msgs: 5, firstSeq: 4, lastSeq: 8, deleted: [] });
        expect(store.subjectsState("a")).toStrictEqual({ a: { msgs: 2, first: 4, last: 8 } });
      });
    });

    it("discard new refuses past maxMsgs and maxBytes and changes nothing", async () => {
      await withStore(factory, { maxMsgs: 2, discard: "new" }, (store) => {
        store.storeMsg("foo", null, enc("m1"));
        store.storeMsg("foo", null, enc("m2"));
        const before = snapshot(store);
        expect(codeOf(() => store.storeMsg("foo", null, enc("m3")))).toBe("ErrMaxMsgs");
        expect(codeOf(() => store.storeRawMsg("foo", null, enc("m3"), 3, 5n))).toBe("ErrMaxMsgs");
        expect(snapshot(store)).toStrictEqual(before);
        store.removeMsg(1);
        expect(store.storeMsg("foo", null, enc("m3")).seq).toBe(3);
      });
      await withStore(factory, { maxBytes: 2 * ONE, discard: "new" }, (store) => {
        store.storeMsg("foo", null, enc("m1"));
        store.storeMsg("foo", null, enc("m2"));
        expect(codeOf(() => store.storeMsg("foo", null, enc("m3")))).toBe("ErrMaxBytes");
        expect(store.fastState()).toMatchObject({ msgs: 2, lastSeq: 2, bytes: 2 * ONE });
      });
    });

    it("discardNewPerSubject refuses a full subject and still takes others", async () => {
      const options = { maxMsgsPerSubject: 1, discard: "new" as const, discardNewPerSubject: true };
      await withStore(factory, options, (store) => {
        store.storeMsg("a", null, enc("x"));
        expect(codeOf(() => store.storeMsg("a", null, enc("y")))).toBe("ErrMaxMsgsPerSubject");
        expect(store.storeMsg("b", null, enc("z")).seq).toBe(2);
        expect(store.subjectsTotals("")).toStrictEqual({ a: 1, b: 1 });
      });
      // Without discardNewPerSubject the per-subject limit discards old even under discard new.
      await withStore(factory, { maxMsgsPerSubject: 1, discard: "new" }, (store) => {
        store.storeMsg("a", null, enc("x"));
        expect(store.storeMsg("a", null, enc("y")).seq).toBe(2);
        expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 2 });
      });
    });

    it("discard new takes a message on a full stream when its subject is at maxMsgsPerSubject: it replaces that subject's oldest", async () => {
      // nats-server (fileStore and memStore storeRawMsg): a subject at its
      // limit is replaced, not added to, so maxMsgs does not refuse it (a KV
      // update on a full bucket). A new subject is still refused.
      await withStore(factory, { maxMsgs: 2, maxMsgsPerSubject: 1, discard: "new" }, (store) => {
        store.storeMsg("a", null, enc("a1"));
        store.storeMsg("b", null, enc("b1"));
        expect(store.storeMsg("a", null, enc("a2")).seq).toBe(3);
        expect(store.storeRawMsg("b", null, enc("b2"), 4, 5n)).toBeUndefined();
        expect(store.state()).toMatchObject({ msgs: 2, firstSeq: 3, lastSeq: 4, deleted: [] });
        expect(store.subjectsTotals("")).toStrictEqual({ a: 1, b: 1 });
        const before = snapshot(store);
        expect(codeOf(() => store.storeMsg("c", null, enc("c1")))).toBe("ErrMaxMsgs");
        expect(snapshot(store)).toStrictEqual(before);
      });
    });

    it("discard new takes a message on a stream at maxBytes when its subject is at maxMsgsPerSubject and it fits once that subject's oldest goes", async () => {
      // nats-server's storeRawMsg: at the subject limit, "determine if dropping
      // [the subject's oldest] message gives us enough room".
      const options = { maxBytes: 2 * ONE, maxMsgsPerSubject: 1, discard: "new" as const };
      await withStore(factory, options, (store) => {
        store.storeMsg("foo", null, enc("m1"));
        store.storeMsg("bar", null, enc("m2"));
        expect(store.storeMsg("foo", null, enc("m3")).seq).toBe(3);
        expect(store.state()).toMatchObject({ msgs: 2, bytes: 2 * ONE, firstSeq: 2, lastSeq: 3 });
        const before = snapshot(store);
        // One byte more than the message it would replace: no room.
        expect(codeOf(() => store.storeMsg("foo", null, enc("m44")))).toBe("ErrMaxBytes");
        // A subject with no message to give up.
        expect(codeOf(() => store.storeMsg("baz", null, enc("m5")))).toBe("ErrMaxBytes");
        expect(snapshot(store)).toStrictEqual(before);
        expect(store.storeMsg("bar", null, enc("m")).seq).toBe(4);
        expect(store.state()).toMatchObject({ msgs: 2, bytes: 2 * ONE - 1, firstSeq: 3 });
        expect(store.subjectsTotals("")).toStrictEqual({ foo: 1, bar: 1 });
      });
    });

    if (factory.supports.persistence) {
      it("discard new at the subject limit weighs the subject's oldest message after a reopen too", async () => {
        // A reopened store knows no message's size until it reads its record.
        const options = { maxBytes: 2 * ONE, maxMsgsPerSubject: 1, discard: "new" as const };
        const fixture = await factory.create(options);
        try {
          fixture.store.storeMsg("foo", null, enc("m1"));
          fixture.store.storeMsg("bar", null, enc("m2"));
          const store = await fixture.reopen();
          expect(codeOf(() => store.storeMsg("foo", null, enc("m33")))).toBe("ErrMaxBytes");
          expect(store.storeMsg("foo", null, enc("m3")).seq).toBe(3);
          expect(store.state()).toMatchObject({ msgs: 2, bytes: 2 * ONE, firstSeq: 2 });
        } finally {
          await fixture.cleanup();
        }
      });
    }

    it("maxMsgSize refuses headers plus payload over it, whatever the discard policy", async () => {
      await withStore(factory, { maxMsgSize: 8 }, (store) => {
        expect(store.storeMsg("foo", enc("hdr"), enc("12345")).seq).toBe(1);
        expect(codeOf(() => store.storeMsg("foo", enc("hdr"), enc("123456")))).toBe(
          "ErrMsgTooLarge",
        );
        expect(codeOf(() => store.storeMsg("foo", null, new Uint8Array(9)))).toBe("ErrMsgTooLarge");
        expect(store.fastState()).toMatchObject({ msgs: 1, lastSeq: 1 });
      });
    });

    it("invalid limits are refused with ErrInvalidArgument", async () => {
      for (const bad of [
        { maxMsgs: -1 },
        { maxBytes: 1.5 },
        { maxMsgsPerSubject: Number.NaN },
        { discard: "x" },
      ]) {
        let code = "no error";
        try {
          await factory.create(bad as never);
        } catch (err) {
          code = (err as { code?: string }).code ?? String(err);
        }
        expect([bad, code]).toStrictEqual([bad, "ErrInvalidArgument"]);
      }
    });

    it("maxAgeMs removes messages at least that old whenever a message is stored", async () => {
      const clock = testClock(1_000_000_000n);
      await withStore(factory, { maxAgeMs: 1000, now: clock.now }, (store) => {
        store.storeMsg("foo", null, enc("m1"));
        clock.t = 2_000_000_000n;
        store.storeMsg("foo", null, enc("m2"));
        clock.t = 2_500_000_000n;
        store.storeMsg("foo", null, enc("m3"));
        expect(store.fastState()).toMatchObject({ msgs: 2, firstSeq: 2, firstTs: 2_000_000_000n });
        clock.t = 3_500_000_000n;
        store.storeMsg("foo", null, enc("m4"));
        expect(store.fastState()).toMatchObject({ msgs: 1, firstSeq: 4, lastSeq: 4 });
      });
    });

    it("maxAgeMs expires messages on a timer, with no write needed", async () => {
      await withStore(factory, { maxAgeMs: 30 }, async (store) => {
        store.storeMsg("foo", null, enc("m1"));
        store.storeMsg("bar", null, enc("m2"));
        expect(store.fastState().msgs).toBe(2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(store.fastState()).toMatchObject({ msgs: 0, firstSeq: 3, lastSeq: 2 });
      });
    });

    it("updateConfig applies new limits at once and refuses invalid ones, changing nothing", async () => {
      await withStore(factory, undefined, (store) => {
        for (let i = 1; i <= 10; i++) store.storeMsg(i % 2 ? "odd" : "even", null, enc(`m${i}`));
        store.updateConfig({ maxMsgs: 6 });
        expect(store.fastState()).toMatchObject({ msgs: 6, firstSeq: 5, lastSeq: 10 });
        store.updateConfig({ maxMsgs: 6, maxMsgsPerSubject: 2 });
        expect(store.subjectsTotals("")).toStrictEqual({ odd: 2, even: 2 });
        const before = snapshot(store);
        for (const bad of [
          { maxMsgs: -1 },
          { discardNewPerSubject: true },
          { discard: "new" as const, discardNewPerSubject: true },
          { firstSeq: 50 },
          { allowMsgTtl: "yes" as unknown as boolean },
        ]) {
          const code = codeOf(() => store.updateConfig(bad));
          expect([bad, code]).toStrictEqual([bad, "ErrInvalidArgument"]);
        }
        expect(snapshot(store)).toStrictEqual(before);
        // The limits in force are still maxMsgs 6 with per-subject 2, discard old.
        store.storeMsg("third", null, enc("x"));
        expect(store.fastState()).toMatchObject({ msgs: 5, lastSeq: 11 });
        store.updateConfig({ maxMsgs: 5, discard: "new" });
        expect(codeOf(() => store.storeMsg("fourth", null, enc("y")))).toBe("ErrMaxMsgs");
        store.updateConfig({});
        expect(store.storeMsg("fourth", null, enc("y")).seq).toBe(12);
      });
    });

    it("maxMsgsPerSubject and maxMsgs applied together trim every subject first: only what they need goes, whatever order the subjects came in", async () => {
      await withStore(factory, undefined, (store) => {
        // b comes first: trimming it, then the stream, then a took 1 as well as 2.
        for (const s of ["b", "a", "a", "b", "a"]) store.storeMsg(s, null, enc(s));
        store.updateConfig({ maxMsgs: 4, maxMsgsPerSubject: 2 });
        expect(store.state()).toMatchObject({ msgs: 4, firstSeq: 1, deleted: [2] });
      });
    });

    if (factory.supports.persistence) {
      it("a reopen with lower maxMsgsPerSubject and maxMsgs trims every subject first, as a store does", async () => {
        const fixture = await factory.create();
        try {
          for (const s of ["b", "a", "a", "b", "a"]) fixture.store.storeMsg(s, null, enc(s));
          const reopenWith = fixture.reopenWith as (o: object) => Promise<typeof fixture.store>;
          const lowered = await reopenWith({ maxMsgs: 4, maxMsgsPerSubject: 2 });
          expect(lowered.state()).toMatchObject({ msgs: 4, firstSeq: 1, deleted: [2] });
        } finally {
          await fixture.cleanup();
        }
      });

      it("a store reopened later is trimmed to maxAgeMs before the first read", async () => {
        const clock = testClock(1_000_000_000n);
        const fixture = await factory.create({ maxAgeMs: 1000, now: clock.now });
        try {
          for (let i = 1; i <= 3; i++) {
            clock.t = BigInt(i) * 1_000_000_000n;
            fixture.store.storeMsg("foo", null, enc(`m${i}`));
          }
          clock.t = 3_500_000_000n;
          const reopened = await fixture.reopen();
          expect(reopened.fastState()).toMatchObject({ msgs: 1, firstSeq: 3, lastSeq: 3 });
        } finally {
          await fixture.cleanup();
        }
      });

      it("a reopen with a lower maxMsgs trims the stream at open", async () => {
        const fixture = await factory.create();
        try {
          for (let i = 1; i <= 10; i++) fixture.store.storeMsg("foo", null, enc(`m${i}`));
          const lowered = await (
            fixture.reopenWith as (o: object) => Promise<typeof fixture.store>
          )({
            maxMsgs: 4,
          });
          expect(lowered.fastState()).toMatchObject({ msgs: 4, firstSeq: 7, lastSeq: 10 });
          const again = await fixture.reopen();
          expect(again.fastState()).toMatchObject({ msgs: 4, firstSeq: 7, lastSeq: 10 });
        } finally {
          await fixture.cleanup();
        }
      });
    }
  });
}
