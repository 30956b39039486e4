/**
 * A reference model of nats-server's consumer store rules (consumerMemStore
 * and consumerFileStore in server/memstore.go and server/filestore.go, as of
 * nats-server main), written plainly for the model test: sequence
 * arithmetic in bigint with Go's uint64 wrap-around, and Go's walks over
 * stream sequences kept literally (the tests keep sequences small), where the
 * store under test takes shortcuts. Each operation returns "ok" or the error
 * code the store must throw; argument checks are the store's own and are
 * tested elsewhere, so the model is only ever given valid arguments.
 */
import type { ConsumerState } from "../../src/consumers/consumer-state.ts";
import type { AckPolicy } from "../../src/consumers/types.ts";

const U64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & U64;

export class ConsumerModel {
  policy: AckPolicy;
  maxDeliver: number;
  dc = 0; // delivered consumer
  ds = 0; // delivered stream
  fc = 0; // ack floor consumer
  fs = 0; // ack floor stream
  pending = new Map<number, { sequence: number; ts: bigint }>();
  redelivered = new Map<number, number>();

  constructor(policy: AckPolicy, maxDeliver = -1) {
    this.policy = policy;
    this.maxDeliver = maxDeliver;
  }

  /** A model that starts from `state` (a store's, read back after a reopen). */
  static from(policy: AckPolicy, maxDeliver: number, state: ConsumerState): ConsumerModel {
    const m = new ConsumerModel(policy, maxDeliver);
    m.dc = state.delivered.consumer;
    m.ds = state.delivered.stream;
    m.fc = state.ackFloor.consumer;
    m.fs = state.ackFloor.stream;
    m.pending = new Map([...state.pending].map(([k, p]) => [k, { ...p }]));
    m.redelivered = new Map(state.redelivered);
    return m;
  }

  state(): ConsumerState {
    return {
      delivered: { consumer: this.dc, stream: this.ds },
      ackFloor: { consumer: this.fc, stream: this.fs },
      pending: new Map([...this.pending].map(([k, p]) => [k, { ...p }])),
      redelivered: new Map(this.redelivered),
    };
  }

  setStarting(sseq: number): string {
    this.ds = sseq;
    this.fs = sseq;
    return "ok";
  }

  updateStarting(sseq: number): string {
    if (sseq > this.ds) {
      this.ds = sseq;
      if (this.policy === "none") this.fs = sseq;
    }
    return "ok";
  }

  reset(sseq: number): string {
    this.dc = this.ds = this.fc = this.fs = 0;
    this.pending = new Map();
    this.redelivered = new Map();
    return this.setStarting(sseq);
  }

  updateDelivered(dseq: number, sseq: number, dc: number, ts: bigint): string {
    if (dc !== 1 && this.policy === "none") return "ErrNoAckPolicy";
    if (dseq <= this.fc) return "ok";
    if (this.policy === "none") {
      if (dseq > this.dc) this.dc = this.fc = dseq;
      if (sseq > this.ds) this.ds = this.fs = sseq;
      return "ok";
    }
    if (sseq <= this.ds) {
      const p = this.pending.get(sseq);
      if (p) p.ts = ts;
    } else {
      this.pending.set(sseq, { sequence: dseq, ts });
    }
    if (dseq > this.dc) this.dc = dseq;
    if (sseq > this.ds) this.ds = sseq;
    if (dc > 1) {
      if (this.maxDeliver > 0 && dc > this.maxDeliver) this.pending.delete(sseq);
      if ((this.redelivered.get(sseq) ?? 0) < dc - 1) this.redelivered.set(sseq, dc - 1);
    }
    return "ok";
  }

  updateAcks(dseq: number, sseq: number): string {
    if (this.policy === "none") return "ErrNoAckPolicy";
    this.redelivered.delete(sseq);
    if (dseq <= this.fc) return "ok";
    if (this.pending.size === 0 || !this.pending.has(sseq)) return "ErrStoreMsgNotFound";
    if (this.policy === "all") {
      const s = BigInt(sseq);
      const sgap = u64(s - BigInt(this.fs));
      this.fc = dseq;
      this.fs = sseq;
      if (sgap > BigInt(this.pending.size)) {
        for (const seq of [...this.pending.keys()]) {
          if (seq <= sseq) {
            this.pending.delete(seq);
            this.redelivered.delete(seq);
          }
        }
      } else {
        for (let seq = s; seq > u64(s - sgap) && this.pending.size > 0; seq--) {
          this.pending.delete(Number(seq));
          this.redelivered.delete(Number(seq));
        }
      }
      return "ok";
    }
    let d = dseq;
    const p = this.pending.get(sseq)!;
    this.pending.delete(sseq);
    if (d > p.sequence && p.sequence > 0) d = p.sequence;
    if (this.pending.size === 0) {
      this.fc = this.dc;
      this.fs = this.ds;
    } else if (d === this.fc + 1) {
      this.fc = d;
      this.fs = sseq;
      if (this.dc > d) {
        for (let ss = sseq + 1; ss <= this.ds; ss++) {
          const q = this.pending.get(ss);
          if (q) {
            if (q.sequence > 0) {
              this.fc = q.sequence - 1;
              this.fs = ss - 1;
            }
            break;
          }
        }
      }
    }
    return "ok";
  }

  removeRedeliveredBelow(seq: number): string {
    if (seq === 0) return "ok";
    for (const s of [...this.redelivered.keys()]) if (s < seq) this.redelivered.delete(s);
    return "ok";
  }

  updateConfig(policy: AckPolicy, maxDeliver: number): string {
    this.policy = policy;
    this.maxDeliver = maxDeliver;
    return "ok";
  }

  update(state: ConsumerState, force: boolean): string {
    if (state.ackFloor.consumer > state.delivered.consumer) return "ErrInvalidArgument";
    if (state.ackFloor.stream > state.delivered.stream) return "ErrInvalidArgument";
    for (const seq of state.pending.keys()) {
      if (seq <= state.ackFloor.stream || seq > state.delivered.stream) return "ErrInvalidArgument";
    }
    if (!force && (state.delivered.consumer < this.dc || state.ackFloor.stream < this.fs)) {
      return "ErrStoreOldUpdate";
    }
    this.dc = state.delivered.consumer;
    this.ds = state.delivered.stream;
    this.fc = state.ackFloor.consumer;
    this.fs = state.ackFloor.stream;
    this.pending = new Map([...state.pending].map(([k, p]) => [k, { ...p }]));
    this.redelivered = new Map(state.redelivered);
    return "ok";
  }
}
