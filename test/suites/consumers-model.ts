/**
 * A fast-check property test of the durable consumer: random sequences of
 * stores, fetches, acks, naks (with and without delay), terms, working,
 * clock moves and (on engines with persistence) reopens, against a model of
 * nats-server's pull consumer written as plainly as possible: arrays and a
 * sort where the consumer keeps a heap and a queue. Times are whole seconds,
 * which the saved state keeps exactly.
 */
import fc from "fast-check";
import type { Consumer, ConsumerMsg } from "../../src/consumers/consumer.ts";
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import { advance, msClock, put } from "./consumer-helpers.ts";
import { modelRuns } from "./model-env.ts";
import type { StoreFactory } from "./store-factories.ts";

interface Entry {
  dc: number;
  /** The delivery time the state keeps: due at stamp + wait, unless moved by a nak delay. */
  stamp: number;
  deadline: number;
  queued: boolean;
}

interface Config {
  filter: "a" | undefined;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
}

/** The consumer as nats-server describes it, for one stream whose messages are never removed. */
class Model {
  subjects: string[] = []; // index = seq - 1
  nextSeq = 1;
  dseq = 0;
  deliveredStream = 0;
  pending = new Map<number, Entry>();
  queue: number[] = [];

  readonly config: Config;

  constructor(config: Config) {
    this.config = config;
  }

  matches(seq: number): boolean {
    return this.config.filter === undefined || this.subjects[seq - 1] === this.config.filter;
  }

  expire(now: number): void {
    const due: number[] = [];
    for (const [seq, e] of [...this.pending].sort((x, y) => x[0] - y[0])) {
      if (e.queued || e.deadline > now) continue;
      if (this.config.maxDeliver > 0 && e.dc >= this.config.maxDeliver) this.pending.delete(seq);
      else {
        e.queued = true;
        due.push(seq);
      }
    }
    this.queue.push(...due);
  }

  fetch(max: number, now: number): Array<[number, number, number]> {
    this.expire(now);
    const out: Array<[number, number, number]> = [];
    while (out.length < max) {
      const seq = this.takeQueued();
      if (seq !== 0) {
        const e = this.pending.get(seq)!;
        if (this.config.maxDeliver > 0 && e.dc >= this.config.maxDeliver) {
          this.pending.delete(seq);
          continue;
        }
        e.dc++;
        e.stamp = now;
        e.deadline = now + this.config.ackWaitMs;
        out.push([seq, e.dc, ++this.dseq]);
        continue;
      }
      if (this.config.maxAckPending > 0 && this.pending.size >= this.config.maxAckPending) break;
      let next = this.nextSeq;
      while (next <= this.subjects.length && !this.matches(next)) next++;
      if (next > this.subjects.length) {
        // Read to the end: nats-server's delivered stream sequence goes to the stream's last.
        this.deliveredStream = Math.max(this.deliveredStream, this.subjects.length);
        break;
      }
      this.nextSeq = next + 1;
      this.deliveredStream = next;
      this.pending.set(next, {
        dc: 1,
        stamp: now,
        deadline: now + this.config.ackWaitMs,
        queued: false,
      });
      out.push([next, 1, ++this.dseq]);
    }
    return out;
  }

  takeQueued(): number {
    while (this.queue.length > 0) {
      const seq = this.queue.shift()!;
      const e = this.pending.get(seq);
      if (e?.queued) {
        e.queued = false;
        return seq;
      }
    }
    return 0;
  }

  settle(
    seq: number,
    how: "ack" | "nak" | "nak-later" | "working",
    now: number,
    delay = 0,
  ): string {
    const e = this.pending.get(seq);
    if (e === undefined) return "ErrNotPending";
    if (how === "ack") this.pending.delete(seq);
    else if (how === "nak") {
      if (!e.queued) {
        e.queued = true;
        this.queue.push(seq);
      }
    } else if (how === "nak-later") {
      e.queued = false;
      e.deadline = now + delay;
      e.stamp = e.deadline - this.config.ackWaitMs;
    } else {
      e.queued = false;
      e.stamp = now;
      e.deadline = now + this.config.ackWaitMs;
    }
    return "ok";
  }

  /** A reopen keeps deliveries and their stamps; the redelivery queue is gone. */
  reopen(): void {
    this.queue = [];
    for (const e of this.pending.values()) {
      e.queued = false;
      e.deadline = e.stamp + this.config.ackWaitMs;
    }
  }

  info(now: number) {
    this.expire(now);
    let numPending = 0;
    for (let seq = this.nextSeq; seq <= this.subjects.length; seq++)
      if (this.matches(seq)) numPending++;
    return {
      numPending,
      numAckPending: this.pending.size,
      delivered: { consumer: this.dseq, stream: this.deliveredStream },
    };
  }

  /** A sequence to act on: a pending one, or (with `any`) any up to two past the end. */
  target(pick: number, any: boolean): number {
    const pendingSeqs = [...this.pending.keys()].sort((a, b) => a - b);
    if (any || pendingSeqs.length === 0) return (pick % (this.subjects.length + 2)) + 1;
    return pendingSeqs[pick % pendingSeqs.length];
  }
}

type Op =
  | { store: "a" | "b" }
  | { fetch: number }
  | { act: "ack" | "term" | "nak" | "working"; pick: number; any: boolean; delay: number }
  | { advance: number }
  | { reopen: true };

const opArb = (persistence: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<"a" | "b">("a", "b").map((store) => ({ store })) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((fetch) => ({ fetch })) },
    {
      weight: 5,
      arbitrary: fc.record({
        act: fc.constantFrom<"ack" | "term" | "nak" | "working">("ack", "term", "nak", "working"),
        pick: fc.nat(),
        any: fc.boolean(),
        delay: fc.constantFrom(0, 1000, 4000),
      }),
    },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((s) => ({ advance: s * 1000 })) },
    {
      weight: persistence ? 1 : 0,
      arbitrary: fc.constant({ reopen: true as const }),
    },
  );

function outcome(fn: () => void): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

export function consumerModelTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("model", () => {
    it("random stores, fetches, acks, naks, terms, clock moves and reopens agree with the model (fast-check)", async () => {
      const persistence = factory.supports.persistence;
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            filter: fc.constantFrom<"a" | undefined>(undefined, "a"),
            ackWaitMs: fc.constantFrom(2000, 3000),
            maxDeliver: fc.constantFrom(-1, 2, 3),
            maxAckPending: fc.constantFrom(-1, 2),
          }),
          fc.array(opArb(persistence), { minLength: 1, maxLength: 50, size: "max" }),
          async (config, ops) => {
            const clock = msClock();
            const fixture = await factory.create({ now: clock.now });
            const model = new Model(config);
            const options = {
              ...(config.filter === undefined ? {} : { filter: config.filter }),
              ackWaitMs: config.ackWaitMs,
              maxDeliver: config.maxDeliver,
              maxAckPending: config.maxAckPending,
            };
            let store: StreamStore = fixture.store;
            let consumer: Consumer = store.consumer("m", options);
            const now = () => Number((clock.t - msClock().t) / 1_000_000n);
            try {
              for (const [i, op] of ops.entries()) {
                let got: unknown;
                let want: unknown;
                if ("store" in op) {
                  put(store, op.store);
                  model.subjects.push(op.store);
                  continue;
                }
                if ("advance" in op) {
                  advance(clock, op.advance);
                  continue;
                }
                if ("reopen" in op) {
                  store = await fixture.reopen();
                  consumer = store.consumer("m", options);
                  model.reopen();
                  continue;
                }
                if ("fetch" in op) {
                  const msgs = await consumer.fetch(op.fetch, { expiresMs: 0 });
                  got = msgs.map((m: ConsumerMsg) => [m.seq, m.deliveryCount, m.consumerSeq]);
                  want = model.fetch(op.fetch, now());
                } else {
                  const seq = model.target(op.pick, op.any);
                  const how =
                    op.act === "nak" && op.delay > 0
                      ? "nak-later"
                      : op.act === "term"
                        ? "ack"
                        : op.act;
                  got = outcome(() => {
                    if (op.act === "nak") consumer.nak(seq, op.delay);
                    else consumer[op.act](seq);
                  });
                  want = model.settle(seq, how, now(), op.delay);
                }
                const info = consumer.info();
                expect({
                  i,
                  op,
                  got,
                  info: {
                    ...info,
                    name: undefined,
                    numRedelivered: undefined,
                    ackFloor: undefined,
                  },
                }).toEqual({
                  i,
                  op,
                  got: want,
                  info: {
                    ...model.info(now()),
                    name: undefined,
                    numRedelivered: undefined,
                    ackFloor: undefined,
                  },
                });
              }
            } finally {
              await fixture.cleanup();
            }
          },
        ),
        modelRuns(persistence ? 40 : 100),
      );
    }, 600_000);
  });
}
