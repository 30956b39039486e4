/**
 * Contract: `encodedStreamState()` says what `state()` says, in nats-server's
 * bytes (the codec itself is checked in stream-state.ts), across removals,
 * skips, compaction and reopen; `syncDeleted` makes a second store's
 * deletions match the first's, refuses malformed blocks with nothing changed,
 * and ignores what lies past the local last sequence.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { type DeleteBlock, decodeStreamState } from "../../src/stream-state.ts";
import type { StoreOptions, StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { toHex } from "./consumer-state.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOf, fill, snapshot, testClock, withStore } from "./store-helpers.ts";

/** Our encodings that nats-server's own decoder accepted (test/fixtures/stream-state/). */
function acceptedByNats(): { options: StoreOptions; fresh?: boolean; hex: string }[] {
  const path = fileURLToPath(
    new URL("../fixtures/stream-state/stream-state.json", import.meta.url).href,
  );
  return JSON.parse(readFileSync(path, "utf8")).ourEncodings.vectors;
}

/** Every sequence the blocks hold, ascending. */
function sequencesOf(blocks: DeleteBlock[]): number[] {
  const out: number[] = [];
  for (const b of blocks) {
    if (b.kind === "range") for (let i = 0; i < b.num; i++) out.push(b.first + i);
    else out.push(...b.seqs);
  }
  return out;
}

/** The decoded encoding of `store`, checked against its state(). */
function expectEncodingMatches(expect: TestApi["expect"], store: StreamStore, failed = 0): void {
  const state = store.state();
  const decoded = decodeStreamState(store.encodedStreamState(failed));
  expect(decoded).toMatchObject({
    msgs: state.msgs,
    bytes: state.bytes,
    firstSeq: state.firstSeq,
    lastSeq: state.lastSeq,
    failed,
    numDeleted: state.numDeleted,
  });
  expect(sequencesOf(decoded.deleted)).toEqual(state.deleted);
  expect(decoded.sources).toBeUndefined();
}

export function streamStateTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("encodedStreamState", () => {
    it("encodes a fresh store as nats-server does, first and last 0", async () => {
      await withStore(factory, undefined, (store) => {
        expect(Array.from(store.encodedStreamState())).toEqual([42, 1, 0, 0, 0, 0, 0, 0]);
      });
    });

    it("writes the very bytes nats-server's decoder was fed and accepted", async () => {
      for (const { options, fresh, hex } of acceptedByNats()) {
        await withStore(factory, options, (store) => {
          if (fresh !== true) {
            const shift = (options.firstSeq ?? 1) - 1;
            for (let i = 0; i < 300; i++) store.storeMsg("a.b", null, new Uint8Array(20));
            for (const seq of [5, 6, 7, 50, 51, 200, 299]) store.removeMsg(seq + shift);
            store.skipMsgs(store.fastState().lastSeq + 1, 1000);
            store.storeMsg("x", null, new Uint8Array(1));
          }
          expect(toHex(store.encodedStreamState(fresh === true ? 0 : 2))).toBe(hex);
        });
      }
    });

    it("says what state() says after removals, skips, erasure and compaction, and after reopen", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, async (store, fixture) => {
        fill(store, clock, 60);
        for (const seq of [5, 6, 7, 20, 33, 59]) store.removeMsg(seq);
        store.eraseMsg(40);
        store.skipMsgs(61, 25);
        fill(store, clock, 3);
        expectEncodingMatches(expect, store, 4);
        const before = store.encodedStreamState();
        // The deletions are runs: one range per run (three gaps merged with their neighbours).
        expect(decodeStreamState(before).deleted).toEqual([
          { kind: "range", first: 5, num: 3 },
          { kind: "range", first: 20, num: 1 },
          { kind: "range", first: 33, num: 1 },
          { kind: "range", first: 40, num: 1 },
          { kind: "range", first: 59, num: 1 },
          { kind: "range", first: 61, num: 25 },
        ]);
        store.compact(21);
        expectEncodingMatches(expect, store);
        const compacted = store.encodedStreamState();
        const reopened = await fixture.reopen();
        expect(reopened.encodedStreamState()).toEqual(compacted);
        reopened.purge();
        expectEncodingMatches(expect, reopened);
        expect(decodeStreamState(reopened.encodedStreamState()).deleted).toEqual([]);
      });
    });

    it("refuses a bad failed count and a closed store", async () => {
      const fixture = await factory.create();
      try {
        const store = fixture.store;
        for (const bad of [-1, 1.5, Number.NaN, "3", 2 ** 53]) {
          expect(codeOf(() => store.encodedStreamState(bad as number))).toBe("ErrInvalidArgument");
        }
        await store.close();
        expect(codeOf(() => store.encodedStreamState())).toBe("ErrStoreClosed");
        expect(codeOf(() => store.syncDeleted([]))).toBe("ErrStoreClosed");
      } finally {
        await fixture.cleanup();
      }
    });
  });

  describe("syncDeleted", () => {
    it("removes what the other store's state says is deleted, and only that", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, async (a) => {
        await withStore(factory, { now: clock.now }, (b) => {
          fill(a, clock, 40);
          fill(b, clock, 40);
          for (const seq of [10, 11, 12, 30, 35]) a.removeMsg(seq);
          b.removeMsg(11); // already gone here: no error, not counted
          const state = decodeStreamState(a.encodedStreamState());
          expect(b.syncDeleted(state.deleted)).toBe(4);
          expect(b.state()).toMatchObject({
            msgs: a.state().msgs,
            firstSeq: a.state().firstSeq,
            deleted: a.state().deleted,
          });
          expect(b.syncDeleted(state.deleted)).toBe(0);
        });
      });
    });

    it("applies ranges and seqsets up to its own last sequence only", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 10);
        const removed = store.syncDeleted([
          { kind: "seqset", seqs: [2, 4, 12] },
          { kind: "range", first: 8, num: 1_000_000_000 },
          { kind: "range", first: 50, num: 5 },
        ]);
        expect(removed).toBe(5);
        expect(store.state()).toMatchObject({ msgs: 5, lastSeq: 10, deleted: [2, 4, 8, 9, 10] });
      });
    });

    it("refuses malformed blocks with nothing removed", async () => {
      const clock = testClock();
      await withStore(factory, { now: clock.now }, (store) => {
        fill(store, clock, 10);
        const before = snapshot(store);
        const good = { kind: "range", first: 1, num: 3 };
        for (const bad of [
          null,
          "blocks",
          [good, null],
          [good, { kind: "avl", seqs: [1] }],
          [good, { kind: "range", first: 0, num: 2 }],
          [good, { kind: "range", first: 2, num: 0 }],
          [good, { kind: "range", first: 2, num: 1.5 }],
          [good, { kind: "range", first: 2 ** 53 - 1, num: 2 }],
          [good, { kind: "seqset", seqs: "1,2" }],
          [good, { kind: "seqset", seqs: [3, 2] }],
          [good, { kind: "seqset", seqs: [0] }],
        ]) {
          const code = codeOf(() => store.syncDeleted(bad as DeleteBlock[]));
          expect([bad, code]).toEqual([bad, "ErrInvalidArgument"]);
        }
        expect(snapshot(store)).toEqual(before);
      });
    });

    it("makes any second store's deletions match the first's (random workloads)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.constant("store"), fc.constant("skip"), fc.nat({ max: 80 })), {
            minLength: 1,
            maxLength: 80,
          }),
          async (ops) => {
            const clock = testClock();
            const fa = await factory.create({ now: clock.now });
            const fb = await factory.create({ now: clock.now });
            try {
              const [a, b] = [fa.store, fb.store];
              for (const op of ops) {
                if (op === "skip") {
                  a.skipMsg();
                  b.skipMsg();
                } else if (op === "store") {
                  a.storeMsg("s", null, new Uint8Array(3));
                  b.storeMsg("s", null, new Uint8Array(3));
                } else {
                  a.removeMsg(op);
                }
              }
              expectEncodingMatches(expect, a);
              // Deletions below the first sequence are not in the state: a peer compacts for those.
              if (a.fastState().lastSeq > 0) b.compact(a.fastState().firstSeq);
              b.syncDeleted(decodeStreamState(a.encodedStreamState()).deleted);
              expect(b.encodedStreamState()).toEqual(a.encodedStreamState());
            } finally {
              await fa.cleanup();
              await fb.cleanup();
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}
