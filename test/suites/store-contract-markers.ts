/**
 * Subject delete markers (nats-server 2.11's SubjectDeleteMarkerTTL) and the
 * `onExpire` option on every engine: when age or a TTL removes the last
 * message of a subject, a marker with nats-server's headers takes its place
 * and expires in turn without leaving another; a subject that keeps a
 * message gets none; TTLs below the marker's are raised to it; `onExpire`
 * hears of every expiry, and of nothing else. Clocks are injected.
 */
import type { ExpiredMsg, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, codeOfAsync, enc, testClock, withStore } from "./store-helpers.ts";

const SECOND = 1_000_000_000n;
const text = (bytes: Uint8Array | null) => (bytes === null ? "" : new TextDecoder().decode(bytes));

export function markerTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("subject delete markers and onExpire", () => {
    it("a TTL removing a subject's last message leaves a marker, which expires without another", async () => {
      const clock = testClock(10n * SECOND);
      const heard: ExpiredMsg[] = [];
      const options = {
        allowMsgTtl: true,
        subjectDeleteMarkerTtl: 3,
        now: clock.now,
        onExpire: (e: ExpiredMsg) => heard.push(e),
      };
      await withStore(factory, options, (store) => {
        store.storeMsg("kv.a", null, enc("gone soon"), 5);
        store.storeMsg("kv.b", null, enc("stays"), 5);
        store.storeMsg("kv.b", null, enc("stays too"));
        clock.t = 15n * SECOND;
        store.storeMsg("other", null, enc("x"));
        expect(heard).toStrictEqual([
          { seq: 1, subject: "kv.a", reason: "ttl" },
          { seq: 2, subject: "kv.b", reason: "ttl" },
        ]);
        const marker = store.loadLastMsg("kv.a");
        expect(marker.seq).toBe(5);
        expect(marker.msg.length).toBe(0);
        expect(text(marker.hdr)).toBe(
          "NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 3s\r\nNats-Rollup: sub\r\n\r\n",
        );
        expect(store.subjectsTotals("kv.>")).toStrictEqual({ "kv.a": 1, "kv.b": 1 });
        clock.t = 18n * SECOND;
        store.storeMsg("other", null, enc("y"));
        expect(heard.at(-1)).toStrictEqual({ seq: 5, subject: "kv.a", reason: "ttl" });
        expect(store.subjectsTotals("kv.>")).toStrictEqual({ "kv.b": 1 });
        expect(store.fastState().lastSeq).toBe(6);
      });
    });

    it("maxAgeMs removing subjects' last messages leaves a marker on each", async () => {
      const clock = testClock(10n * SECOND);
      const heard: ExpiredMsg[] = [];
      const options = {
        allowMsgTtl: true,
        maxAgeMs: 60_000,
        subjectDeleteMarkerTtl: 90,
        now: clock.now,
        onExpire: (e: ExpiredMsg) => heard.push(e),
      };
      await withStore(factory, options, (store) => {
        store.storeMsg("a", null, enc("1"));
        store.storeMsg("b", null, enc("2"));
        store.storeMsg("a", null, enc("3"));
        clock.t = 71n * SECOND;
        store.storeMsg("c", null, enc("4"));
        expect(heard).toStrictEqual([
          { seq: 1, subject: "a", reason: "maxAge" },
          { seq: 2, subject: "b", reason: "maxAge" },
          { seq: 3, subject: "a", reason: "maxAge" },
        ]);
        expect(store.subjectsTotals("")).toStrictEqual({ a: 1, b: 1, c: 1 });
        for (const subject of ["a", "b"]) {
          expect(text(store.loadLastMsg(subject).hdr)).toContain("Nats-TTL: 1m30s\r\n");
        }
      });
    });

    it("raises a TTL below the marker's to it, as nats-server does", async () => {
      const clock = testClock(10n * SECOND);
      const options = { allowMsgTtl: true, subjectDeleteMarkerTtl: 5, now: clock.now };
      await withStore(factory, options, (store) => {
        store.storeMsg("a", null, enc("1"), 1);
        clock.t = 14n * SECOND;
        store.storeMsg("b", null, enc("2"));
        expect(store.subjectsTotals("a")).toStrictEqual({ a: 1 });
        clock.t = 15n * SECOND;
        store.storeMsg("b", null, enc("3"));
        expect(text(store.loadLastMsg("a").hdr)).toContain("Nats-Marker-Reason: MaxAge");
      });
    });

    it("other removals leave no marker and are not heard as expiries", async () => {
      const clock = testClock(10n * SECOND);
      const heard: ExpiredMsg[] = [];
      const options = {
        allowMsgTtl: true,
        maxMsgsPerSubject: 1,
        subjectDeleteMarkerTtl: 5,
        now: clock.now,
        onExpire: (e: ExpiredMsg) => heard.push(e),
      };
      await withStore(factory, options, (store: StreamStore) => {
        store.storeMsg("a", null, enc("1"));
        store.storeMsg("a", null, enc("2"));
        store.storeMsg("b", null, enc("3"));
        store.removeMsg(3);
        store.purgeEx("a", 0, 0);
        expect(heard).toStrictEqual([]);
        expect(store.fastState()).toMatchObject({ msgs: 0, lastSeq: 3 });
      });
    });

    if (factory.supports.persistence) {
      it("a reopen after the TTL passed expires, writes the marker and tells onExpire", async () => {
        const clock = testClock(10n * SECOND);
        const heard: ExpiredMsg[] = [];
        const options = {
          allowMsgTtl: true,
          subjectDeleteMarkerTtl: 2,
          now: clock.now,
          onExpire: (e: ExpiredMsg) => heard.push(e),
        };
        await withStore(factory, options, async (store, fixture) => {
          store.storeMsg("a", null, enc("1"), 3);
          await store.close();
          clock.t = 20n * SECOND;
          const again = await fixture.reopen();
          expect(heard).toStrictEqual([{ seq: 1, subject: "a", reason: "ttl" }]);
          expect(again.loadLastMsg("a").seq).toBe(2);
          expect(text(again.loadLastMsg("a").hdr)).toContain("Nats-TTL: 2s");
        });
      });
    }

    const maxAge = { maxAgeMs: 3_000, subjectDeleteMarkerTtl: 1 };
    for (const [what, extra, reason, never] of [
      ["a TTL", {}, "ttl", false],
      ["a TTL with markers", { subjectDeleteMarkerTtl: 1 }, "ttl", false],
      ["maxAgeMs with markers", maxAge, "maxAge", false],
      ["maxAgeMs with markers, past a message that never expires", maxAge, "maxAge", true],
    ] as const) {
      it(`an onExpire that closes the store (${what}): the store that ran the pass returns, its message stored; the rest expire at the next open`, async () => {
        const clock = testClock(10n * SECOND);
        const heard: ExpiredMsg[] = [];
        let closing: Promise<void> | undefined;
        let current: StreamStore | undefined;
        const options = {
          allowMsgTtl: true,
          now: clock.now,
          ...extra,
          onExpire: (e: ExpiredMsg) => {
            heard.push(e);
            closing ??= current?.close();
          },
        };
        await withStore(factory, options, async (store, fixture) => {
          current = store;
          store.storeMsg("a", null, enc("1"), 2);
          store.storeMsg("b", null, enc("2"), 2);
          // The age walk then goes message by message, keeping this one.
          if (never) store.storeMsg("k", null, enc("kept"), -1);
          const last = never ? 4 : 3;
          clock.t = 20n * SECOND;
          // Not ErrStoreClosed: the message is stored, and a caller told otherwise would store it again.
          expect(store.storeMsg("c", null, enc("3")).seq).toBe(last);
          expect(heard).toStrictEqual([{ seq: 1, subject: "a", reason }]);
          await closing;
          expect(codeOf(() => store.loadMsg(last))).toBe("ErrStoreClosed");
          if (!factory.supports.persistence) return;
          const again = await fixture.reopenWith?.({ onExpire: (e) => heard.push(e) });
          expect(text(again?.loadMsg(last).msg ?? null)).toBe("3");
          expect(heard).toStrictEqual([
            { seq: 1, subject: "a", reason },
            { seq: 2, subject: "b", reason },
          ]);
          const kept = never ? { k: 1 } : {};
          expect(again?.subjectsTotals("")).toStrictEqual(
            "subjectDeleteMarkerTtl" in extra ? { a: 1, b: 1, c: 1, ...kept } : { c: 1 },
          );
        });
      });
    }

    it("an onExpire that closes the store after a marker stored ahead took the stream past maxBytes: the store that ran the pass returns, its message stored", async () => {
      const clock = testClock(10n * SECOND);
      let closing: Promise<void> | undefined;
      let current: StreamStore | undefined;
      const options = {
        allowMsgTtl: true,
        subjectDeleteMarkerTtl: 1,
        now: clock.now,
        onExpire: () => {
          closing ??= current?.close();
        },
      };
      await withStore(factory, options, async (store, fixture) => {
        current = store;
        store.storeMsg("a", null, enc("1"), 2);
        store.storeMsg("b", null, enc("2"));
        store.storeMsg("c", null, enc("3"));
        // Room for a's message and not its marker: the limits come back once the pass ends.
        store.updateConfig({
          allowMsgTtl: true,
          subjectDeleteMarkerTtl: 1,
          maxBytes: store.state().bytes + 40,
        });
        clock.t = 20n * SECOND;
        // Not ErrStoreClosed: the message is stored, and a caller told otherwise would store it again.
        expect(codeOf(() => store.storeMsg("d", null, enc("4")))).toBe("no error");
        expect(closing).toBeDefined();
        await closing;
        if (!factory.supports.persistence) return;
        const again = await fixture.reopen();
        expect(text(again.loadLastMsg("d").msg)).toBe("4");
      });
    });

    it("refuses bad marker and onExpire options, at open and in updateConfig", async () => {
      for (const bad of [
        { subjectDeleteMarkerTtl: 5 },
        { allowMsgTtl: true, subjectDeleteMarkerTtl: -1 },
        { allowMsgTtl: true, subjectDeleteMarkerTtl: 1.5 },
        { allowMsgTtl: true, subjectDeleteMarkerTtl: "5" },
        { onExpire: 5 },
        { onExpire: "f" },
      ]) {
        expect(await codeOfAsync(() => factory.openRaw(bad))).toBe("ErrInvalidArgument");
      }
      await withStore(factory, { allowMsgTtl: true }, (store) => {
        expect(codeOf(() => store.updateConfig({ onExpire: () => {} } as never))).toBe(
          "ErrInvalidArgument",
        );
        expect(codeOf(() => store.updateConfig({ subjectDeleteMarkerTtl: 2 }))).toBe(
          "ErrInvalidArgument",
        );
        store.updateConfig({ allowMsgTtl: true, subjectDeleteMarkerTtl: 2 });
      });
    });
  });
}
