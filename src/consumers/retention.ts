/**
 * The stream's retention policies beyond the limits (nats-server's
 * stream.ackMsg, checkInterest and consumer.needAck, and the skip of a
 * message nobody wants in processJetStreamMsg), applied by the consumers of
 * one stream and carried out through `stream.removeMsg`:
 *
 * - workqueue: a message goes once a consumer acknowledges (or terminates)
 *   it. Consumers may not overlap (durables.ts refuses them), so one ack is
 *   everyone's.
 * - interest: a message goes once no consumer whose filters match it still
 *   needs it: not yet delivered to it, or delivered and awaiting its ack.
 *   Closed consumers count, with the state they closed with: a durable
 *   consumer keeps its interest until it is deleted. A message no
 *   consumer's filter matches is never stored: the stores ask `wanted`
 *   first and write a skip instead (as nats-server 2.9 does). Deleting a
 *   consumer removes what only it still needed, as nats-server does.
 *
 * Under ack policy none a delivery is the ack. A message that ran out of
 * deliveries (maxDeliver) is needed by nobody but is not removed by that
 * alone, as in nats-server 2.9: on a work queue it stays until the limits
 * take it.
 */
import { isJetStoreError } from "../errors.ts";
import { hasWildcard } from "../subject-match.ts";
import type { RetentionPolicy, StoredMsg, StreamStore } from "../types.ts";

/** A consumer as the retention rules see it. */
export interface Interest {
  readonly name: string;
  /** No filter: every subject matches. */
  readonly unfiltered: boolean;
  /** The filters, empty when unfiltered. */
  readonly filters: readonly string[];
  matches(subject: string): boolean;
  /** Still wants `seq` (not delivered yet, or awaiting its ack), its filter aside. */
  needsAck(seq: number): boolean;
}

export class Retention {
  readonly policy: RetentionPolicy;
  private readonly stream: StreamStore;
  private readonly interests: () => Iterable<Interest>;

  constructor(policy: RetentionPolicy, stream: StreamStore, interests: () => Iterable<Interest>) {
    this.policy = policy;
    this.stream = stream;
    this.interests = interests;
  }

  /** True when a consumer's filter matches `subject`. */
  wanted(subject: string): boolean {
    for (const c of this.interests()) if (c.unfiltered || c.matches(subject)) return true;
    return false;
  }

  /** `by` no longer needs `seq`: removes it when the policy says it is done. */
  acked(by: Interest, seq: number): void {
    if (this.policy === "workqueue") {
      this.stream.removeMsg(seq);
    } else if (this.policy === "interest" && !this.neededByOthers(by, seq, null)) {
      this.stream.removeMsg(seq);
    }
  }

  /**
   * Interest: `gone` was deleted; removes every message on its filters from
   * `from` that no other consumer needs (nats-server's consumer deletion,
   * which starts at its ack floor): what only it still wanted, what ran out
   * of deliveries on it, and what it acknowledged but a crash kept.
   */
  deleted(gone: Interest, from: number): void {
    if (this.policy !== "interest") return;
    const filters = gone.unfiltered ? [""] : gone.filters;
    for (const filter of filters) {
      const wildcard = filter === "" || hasWildcard(filter);
      let seq = Math.max(from, 1);
      for (;;) {
        const msg = this.nextOn(filter, wildcard, seq);
        if (msg === null) break;
        if (!this.neededByOthers(gone, msg.seq, msg.subject)) this.stream.removeMsg(msg.seq);
        seq = msg.seq + 1;
      }
    }
  }

  /** The stream's next message on `filter` from `seq`; null past its last. */
  private nextOn(filter: string, wildcard: boolean, seq: number): StoredMsg | null {
    try {
      return this.stream.loadNextMsg(filter, wildcard, seq);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF") || isJetStoreError(err, "ErrStoreMsgNotFound")) {
        return null;
      }
      throw err;
    }
  }

  /**
   * After a reopen: removes the messages in [from, upTo] that `by` is done with
   * but the stream still holds, as when a crash kept the consumer's synced
   * acks and lost the stream's removals (nats-server 2.10 checks a recovered
   * consumer's ack floor alike). `keep` spares what `by` is done with that its
   * ack would not have removed (what ran out of deliveries).
   */
  settle(by: Interest, from: number, upTo: number, keep: (seq: number) => boolean): void {
    if (this.policy === "limits") return;
    const filters = by.unfiltered ? [""] : by.filters;
    for (const filter of filters) {
      const wildcard = filter === "" || hasWildcard(filter);
      let seq = Math.max(from, this.stream.fastState().firstSeq);
      while (seq <= upTo) {
        const msg = this.nextOn(filter, wildcard, seq);
        if (msg === null || msg.seq > upTo) break;
        if (!by.needsAck(msg.seq) && !keep(msg.seq)) this.acked(by, msg.seq);
        seq = msg.seq + 1;
      }
    }
  }

  /** True when a consumer other than `by` still needs `seq` (nats-server's checkInterest). */
  private neededByOthers(by: Interest, seq: number, subject: string | null): boolean {
    for (const c of this.interests()) {
      if (c === by || c.name === by.name) continue;
      if (!c.unfiltered) {
        subject ??= this.subjectOf(seq);
        // Gone already: nobody needs it.
        if (subject === null) return false;
        if (!c.matches(subject)) continue;
      }
      if (c.needsAck(seq)) return true;
    }
    return false;
  }

  private subjectOf(seq: number): string | null {
    try {
      return this.stream.subjectForSeq(seq);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreMsgNotFound")) return null;
      throw err;
    }
  }
}
