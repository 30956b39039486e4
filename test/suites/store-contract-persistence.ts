/**
 * Contract for engines that persist (`supports.persistence`): after reopen
 * the store holds the same messages and the same state — deleted list, first
 * and last sequence and time included — and the next sequence continues where
 * it left off. Each case is a way nats-server users lost sequences: a purge or
 * removed tail forgotten (#6600), a custom first sequence of an empty stream
 * coming back as 1 (#6753), removals forgotten on restart (#5412).
 */
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import type { StoreFactory } from "./store-factories.ts";
import {
  codeOfAsync,
  enc,
  fill,
  snapshot,
  type TestClock,
  testClock,
  withStore,
} from "./store-helpers.ts";

type Scenario = [string, (store: StreamStore, clock: TestClock) => void, number];

/** A name, what to do before reopening, and the sequence the next message must get. */
const SCENARIOS: Scenario[] = [
  ["messages with and without headers", (s, c) => mixed(s, c), 6],
  [
    "interior removes and erases",
    (s, c) => {
      fill(s, c, 8);
      s.removeMsg(2);
      s.eraseMsg(5);
      s.removeMsg(1);
    },
    9,
  ],
  [
    "a removed last message",
    (s, c) => {
      fill(s, c, 3);
      s.removeMsg(3);
    },
    4,
  ],
  [
    "every message removed",
    (s, c) => {
      fill(s, c, 3);
      for (const seq of [1, 2, 3]) s.removeMsg(seq);
    },
    4,
  ],
  [
    "a purge",
    (s, c) => {
      fill(s, c, 4);
      s.purge();
    },
    5,
  ],
  [
    "a skipped tail",
    (s, c) => {
      fill(s, c, 2);
      c.t = 9_999n;
      s.skipMsgs(3, 5);
    },
    8,
  ],
  [
    "skips on an empty store",
    (s, c) => {
      c.t = 4_444n;
      s.skipMsg();
      s.skipMsgs(2, 10);
    },
    12,
  ],
  [
    "a compact inside the stream",
    (s, c) => {
      fill(s, c, 6);
      s.compact(4);
    },
    7,
  ],
  [
    "a compact beyond the end",
    (s, c) => {
      fill(s, c, 2);
      s.compact(1_000);
    },
    1_000,
  ],
  [
    "a truncate",
    (s, c) => {
      fill(s, c, 6);
      s.removeMsg(2);
      s.truncate(4);
    },
    5,
  ],
  [
    "raw messages with timestamps out of order",
    (s) => {
      s.storeRawMsg("r", null, enc("a"), 1, 50n);
      s.storeRawMsg("r", enc("h"), enc("b"), 2, 10n);
    },
    3,
  ],
];

function mixed(store: StreamStore, clock: TestClock): void {
  const subjects = ["a", "注文.東京", "a", "émoji.🚀", "b.c"];
  subjects.forEach((subject, i) => {
    clock.t = BigInt(i + 1) * 1_000n;
    const hdr = i % 3 === 0 ? null : i % 3 === 1 ? new Uint8Array(0) : enc(`h${i}`);
    store.storeMsg(subject, hdr, i === 4 ? new Uint8Array(0) : enc(`payload ${i}`));
  });
}

export function persistenceTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  if (!factory.supports.persistence) return;
  describe("persistence", () => {
    for (const [name, act, next] of SCENARIOS) {
      it(`keeps every message and the state across reopen after ${name}`, async () => {
        const clock = testClock();
        await withStore(factory, { now: clock.now }, async (store, fixture) => {
          act(store, clock);
          const before = snapshot(store);
          const reopened = await fixture.reopen();
          expect(snapshot(reopened)).toStrictEqual(before);
          expect(reopened.storeMsg("after", null, enc("x")).seq).toBe(next);
          const again = await fixture.reopen();
          expect(again.loadMsg(next).subject).toBe("after");
        });
      });
    }

    it("refuses delete() on a closed handle while another handle holds the store, deleting nothing", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, async (closed, fixture) => {
        fill(closed, clock, 2);
        const open = await fixture.reopen();
        fill(open, clock, 5);
        await open.sync();
        expect(await codeOfAsync(() => closed.delete())).toBe("ErrStoreClosed");
        fill(open, clock, 1);
        await open.sync();
        const before = snapshot(open);
        const reopened = await fixture.reopen();
        expect(snapshot(reopened)).toStrictEqual(before);
        expect(before.state).toMatchObject({ msgs: 8, firstSeq: 1, lastSeq: 8 });
      });
    });

    it("keeps the firstSeq of a store that never held a message", async () => {
      await withStore(factory, { firstSeq: 500 }, async (store, fixture) => {
        void store;
        const reopened = await fixture.reopen();
        expect(reopened.state()).toMatchObject({ msgs: 0, firstSeq: 500, lastSeq: 499 });
        expect(reopened.storeMsg("a", null, enc("x")).seq).toBe(500);
      });
    });
  });
}
