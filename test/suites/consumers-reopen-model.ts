/**
 * A fast-check property test of what an open consumer shows against what a
 * reopen of it shows: random stores, fetches, acks, naks, terms, removals,
 * purges, compacts, truncates and clock moves past the ack wait (maxDeliver
 * expiry), with the consumer closed and opened again (the stream too, on
 * engines with persistence) at random points. Before each close the open
 * consumer's info is taken; the reopened one must show the same (ack floor,
 * deliveries awaiting acks, redeliveries, delivered, pending). Ack policies
 * all and explicit, where a removal of a delivery awaiting its ack is held or
 * recorded (leaving-deliveries.ts). Times are whole seconds, which the
 * saved delivery times keep exactly (nats-server's encoding keeps seconds);
 * no nak under maxDeliver, whose last delivery a nak leaves pending until the
 * next fetch while a reopen drops it once due (consumers-model.ts's model).
 */
import fc from "fast-check";
import type { Consumer } from "../../src/consumers/consumer.ts";
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { advance, msClock, put } from "./consumer-helpers.ts";
import { modelRuns } from "./model-env.ts";
import type { StoreFactory } from "./store-factories.ts";
import type { TestClock } from "./store-helpers.ts";

type Op =
  | { store: number }
  | { fetch: number }
  | { act: "ack" | "term" | "nak"; pick: number }
  | { remove: number }
  | { purge: true }
  | { compact: number }
  | { truncate: number }
  | { advance: number }
  | { reopen: "consumer" | "stream" };

const opArb = (persistence: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((store) => ({ store })) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((fetch) => ({ fetch })) },
    {
      weight: 5,
      arbitrary: fc.record({
        act: fc.constantFrom<"ack" | "term" | "nak">("ack", "ack", "term", "nak"),
        pick: fc.nat(),
      }),
    },
    { weight: 4, arbitrary: fc.nat().map((remove) => ({ remove })) },
    { weight: 1, arbitrary: fc.constant({ purge: true as const }) },
    { weight: 1, arbitrary: fc.nat().map((compact) => ({ compact })) },
    { weight: 2, arbitrary: fc.nat().map((truncate) => ({ truncate })) },
    { weight: 2, arbitrary: fc.constant({ advance: 1000 }) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom<"consumer" | "stream">("consumer", "stream")
        .map((how) => ({ reopen: persistence ? how : ("consumer" as const) })),
    },
  );

/** A sequence from 1 to two past the stream's last. */
const pickSeq = (store: StreamStore, pick: number) => (pick % (store.fastState().lastSeq + 2)) + 1;

/** Runs `fn`, taking the refusals random picks run into as nothing done. */
function tolerant(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      code !== "ErrNotPending" &&
      code !== "ErrStoreMsgNotFound" &&
      code !== "ErrStoreEOF" &&
      code !== "ErrBadRequest" &&
      code !== "ErrInvalidSequence"
    )
      throw err;
  }
}

interface Run {
  store: StreamStore;
  consumer: Consumer;
}

/** Applies `op` (but a reopen) to `run`; a nak becomes an ack where `nakAsAck`. */
async function apply(run: Run, op: Op, clock: TestClock, nakAsAck: boolean): Promise<void> {
  const { store, consumer } = run;
  if ("store" in op) for (let n = 0; n < op.store; n++) put(store, "a");
  else if ("fetch" in op) await consumer.fetch(op.fetch, { expiresMs: 0 });
  else if ("act" in op) {
    const seq = pickSeq(store, op.pick);
    const act = op.act === "nak" && nakAsAck ? "ack" : op.act;
    tolerant(() => consumer[act](seq));
  } else if ("remove" in op) tolerant(() => store.removeMsg(pickSeq(store, op.remove)));
  else if ("purge" in op) store.purge();
  else if ("compact" in op) tolerant(() => store.compact(pickSeq(store, op.compact)));
  else if ("truncate" in op) {
    const last = store.fastState().lastSeq;
    tolerant(() => store.truncate(op.truncate % (last + 1)));
  } else if ("advance" in op) advance(clock, op.advance);
}

function shown(consumer: Consumer): unknown {
  const { name: _, ...info } = consumer.info();
  return info;
}

export function consumerReopenModelTests(
  { describe, it, expect }: TestApi,
  factory: StoreFactory,
): void {
  const configArb = fc.record({
    ackPolicy: fc.constantFrom<"all" | "explicit">("all", "explicit"),
    maxDeliver: fc.constantFrom(-1, 1, 2),
  });
  describe("open against reopened", () => {
    it("random stores, fetches, acks, naks, terms, removals, purges, compacts, truncates and expiries: the open consumer's info is a reopen's (fast-check)", async () => {
      const persistence = factory.supports.persistence;
      await fc.assert(
        fc.asyncProperty(
          configArb,
          fc.array(opArb(persistence), { minLength: 1, maxLength: 40, size: "max" }),
          async (config, ops) => {
            const clock = msClock();
            const fixture = await factory.create({ now: clock.now });
            const options = { ...config, ackWaitMs: 2000, maxAckPending: -1 };
            const run: Run = {
              store: fixture.store,
              consumer: fixture.store.consumer("m", options),
            };
            try {
              for (const [i, op] of [...ops, { reopen: "consumer" as const }].entries()) {
                if (!("reopen" in op)) {
                  // A nak'd last delivery stays pending until the next fetch; a reopen drops it when due.
                  await apply(run, op, clock, config.maxDeliver > 0);
                  continue;
                }
                const open = shown(run.consumer);
                await run.consumer.close();
                if (op.reopen === "stream") run.store = await fixture.reopen();
                run.consumer = run.store.consumer("m", options);
                expect({ i, op, info: open }).toEqual({ i, op, info: shown(run.consumer) });
              }
            } finally {
              await fixture.cleanup();
            }
          },
        ),
        modelRuns(persistence ? 60 : 150),
      );
    }, 600_000);

    it("the same random operations on a consumer left open and on one reopened after each: the same info after every step (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          configArb,
          fc.array(opArb(false), { minLength: 1, maxLength: 40, size: "max" }),
          async (config, ops) => {
            const clock = msClock();
            const fixtures = [
              await factory.create({ now: clock.now }),
              await factory.create({ now: clock.now }),
            ];
            const options = { ...config, ackWaitMs: 2000, maxAckPending: -1 };
            const [open, reopened]: Run[] = fixtures.map((f) => ({
              store: f.store,
              consumer: f.store.consumer("m", options),
            }));
            try {
              for (const [i, op] of ops.entries()) {
                if ("reopen" in op) continue;
                // A reopen forgets the redelivery queue (a nak's, or due ones a fetch left), whose
                // order the two would then redeliver in differently: no nak, and fetches take all.
                const same = "fetch" in op ? { fetch: 1000 } : op;
                await apply(open, same, clock, true);
                // One clock: moved once.
                if (!("advance" in op)) await apply(reopened, same, clock, true);
                await reopened.consumer.close();
                reopened.consumer = reopened.store.consumer("m", options);
                expect({ i, op, info: shown(open.consumer) }).toEqual({
                  i,
                  op,
                  info: shown(reopened.consumer),
                });
              }
            } finally {
              for (const f of fixtures) await f.cleanup();
            }
          },
        ),
        modelRuns(100),
      );
    }, 600_000);
  });
}
