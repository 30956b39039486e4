/**
 * Where a consumer reads the stream next: the start its deliver policy picks
 * (nats-server's selectStartingSeqNo), the next message matching its filters,
 * and how many matching messages lie ahead (its `numPending`).
 *
 * Deliver policy "lastPerSubject" starts with a list of sequences, the last
 * message of each matching subject up to the stream's end at creation
 * (nats-server's skip list), and goes on after that end. The end is kept with
 * the consumer (`startSeq` of its record), so a consumer reopened halfway
 * through the list finishes it; nats-server forgets the list at a restart and
 * delivers everything after the last sequence it delivered.
 *
 * Several filters are read by asking the stream for the next match of each
 * and taking the lowest; the matches not taken are kept for the rest of one
 * fill (`fresh()` forgets them, as a removal between fills could void them).
 */
import { isJetStoreError } from "../errors.ts";
import {
  type CompiledFilter,
  compileFilter,
  filterMatches,
  hasWildcard,
} from "../subject-match.ts";
import type { StoredMsg, StreamStore } from "../types.ts";
import type { ResolvedConsumerOptions } from "./consumer-options.ts";

/** Where a new consumer starts: `startSeq` and, for lastPerSubject, the list before it. */
export interface Start {
  /** The first sequence read after the skip list (or at once without one). */
  startSeq: number;
  /** lastPerSubject: the last sequence of each matching subject below `startSeq`, ascending. */
  skip: number[] | null;
}

export class DeliveryCursor {
  /** The next stream sequence to read (past the skip list's position while it lasts). */
  nextSeq: number;
  private readonly stream: StreamStore;
  /** The filters to ask the stream with ("" for every subject). */
  private readonly filters: string[];
  private readonly wildcards: boolean[];
  private readonly compiled: CompiledFilter[];
  private readonly startSeq: number;
  private skip: number[] | null;
  private skipAt = 0;
  /** Several filters: each one's next match in this fill (undefined: not asked yet). */
  private readonly candidates: Array<StoredMsg | null | undefined>;

  /**
   * A cursor at `nextSeq`; with a skip list, reading it first and then
   * `startSeq` onwards. `skip` must already leave out what was delivered.
   */
  constructor(
    stream: StreamStore,
    filters: readonly string[],
    startSeq: number,
    nextSeq: number,
    skip: number[] | null,
  ) {
    this.stream = stream;
    this.filters = filters.length === 0 ? [""] : [...filters];
    this.wildcards = this.filters.map((f) => f === "" || hasWildcard(f));
    this.compiled = this.filters.map((f) => compileFilter(f));
    this.startSeq = startSeq;
    this.nextSeq = nextSeq;
    this.skip = skip !== null && skip.length > 0 ? skip : null;
    this.candidates = this.filters.map(() => undefined);
  }

  /** Where a consumer created now starts (nats-server's rules, clamped to the stream). */
  static start(stream: StreamStore, options: ResolvedConsumerOptions): Start {
    const state = stream.fastState();
    const first = Math.max(state.firstSeq, 1);
    const end = Math.max(state.lastSeq + 1, first);
    const filters = options.filters.length === 0 ? [""] : options.filters;
    let seq: number;
    switch (options.deliverPolicy) {
      case "all":
        seq = first;
        break;
      case "last": {
        let last = 0;
        for (const f of filters) last = Math.max(last, stream.filteredState(first, f).last);
        seq = last === 0 ? end : last;
        break;
      }
      case "new":
        seq = end;
        break;
      case "byStartSequence":
        seq = options.optStartSeq;
        break;
      case "byStartTime":
        seq = stream.getSeqFromTime(options.optStartTime!);
        break;
      case "lastPerSubject": {
        const skip = state.msgs === 0 ? [] : stream.multiLastSeqs(filters, state.lastSeq, 0);
        return { startSeq: end, skip };
      }
    }
    return { startSeq: Math.min(Math.max(seq, first), end), skip: null };
  }

  /** The cursor of a consumer that delivered up to stream sequence `delivered`. */
  static resume(
    stream: StreamStore,
    options: Pick<ResolvedConsumerOptions, "filters" | "deliverPolicy">,
    startSeq: number,
    delivered: number,
  ): DeliveryCursor {
    const skip =
      options.deliverPolicy === "lastPerSubject"
        ? DeliveryCursor.remainingSkip(stream, options.filters, startSeq, delivered)
        : null;
    const next = skip !== null ? delivered + 1 : Math.max(delivered + 1, startSeq);
    return new DeliveryCursor(stream, options.filters, startSeq, next, skip);
  }

  /** The skip list still to read after `delivered` for a consumer reopened with `startSeq`. */
  static remainingSkip(
    stream: StreamStore,
    filters: readonly string[],
    startSeq: number,
    delivered: number,
  ): number[] | null {
    if (delivered >= startSeq - 1 || startSeq <= 1) return null;
    const all = stream.multiLastSeqs(filters.length === 0 ? [""] : [...filters], startSeq - 1, 0);
    return all.filter((seq) => seq > delivered);
  }

  /** True while the skip list lasts. */
  get skipping(): boolean {
    return this.skip !== null;
  }

  /** Forgets the matches found ahead: call at the start of each fill. */
  fresh(): void {
    for (let i = 0; i < this.candidates.length; i++) this.candidates[i] = undefined;
  }

  /**
   * The next message to deliver for the first time, or null when none is
   * there yet; moves past it. `onSkipEnd` is called once the skip list is done.
   */
  next(onSkipEnd: (startSeq: number) => void): StoredMsg | null {
    while (this.skip !== null) {
      if (this.skipAt >= this.skip.length) {
        this.skip = null;
        this.nextSeq = Math.max(this.nextSeq, this.startSeq);
        onSkipEnd(this.startSeq);
        break;
      }
      const seq = this.skip[this.skipAt++];
      const msg = this.load(seq);
      if (msg !== null) {
        this.nextSeq = seq + 1;
        return msg;
      }
    }
    const msg = this.filters.length === 1 ? this.nextMatch(0) : this.lowestMatch();
    if (msg !== null) this.nextSeq = msg.seq + 1;
    // Nothing matches up to the end: the next look starts past it (nats-server moves its sseq alike).
    else this.nextSeq = Math.max(this.nextSeq, this.stream.fastState().lastSeq + 1);
    return msg;
  }

  /**
   * The stream was cut after `seq`: what is stored past it again is new to
   * this cursor, as to one reopened then (never below its start, as there).
   */
  cutAfter(seq: number): void {
    if (this.skip !== null) {
      let n = this.skip.length;
      while (n > this.skipAt && this.skip[n - 1] > seq) n--;
      this.skip = this.skip.slice(0, n);
    }
    if (this.nextSeq > seq + 1) this.nextSeq = Math.max(seq + 1, this.startSeq);
    this.fresh();
  }

  /** True when `subject` matches the consumer's filters. */
  matches(subject: string): boolean {
    const compiled = this.compiled;
    for (let i = 0; i < compiled.length; i++) if (filterMatches(compiled[i], subject)) return true;
    return false;
  }

  /** True when the consumer would still deliver `seq` for the first time (if it matches). */
  ahead(seq: number): boolean {
    if (this.skip === null) return seq >= this.nextSeq;
    if (seq >= this.startSeq) return true;
    // The remaining list is ascending: a binary search.
    let lo = this.skipAt;
    let hi = this.skip.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.skip[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.skip.length && this.skip[lo] === seq;
  }

  /** Matching messages not delivered yet (nats-server's NumPending). */
  numPending(): number {
    let total = 0;
    let from = this.nextSeq;
    if (this.skip !== null) {
      for (let i = this.skipAt; i < this.skip.length; i++) {
        if (this.exists(this.skip[i])) total++;
      }
      from = this.startSeq;
    }
    for (const f of this.filters) total += this.stream.numPending(from, f, false).total;
    return total;
  }

  private nextMatch(i: number): StoredMsg | null {
    try {
      return this.stream.loadNextMsg(this.filters[i], this.wildcards[i], this.nextSeq);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF") || isJetStoreError(err, "ErrStoreMsgNotFound")) {
        return null;
      }
      throw err;
    }
  }

  private lowestMatch(): StoredMsg | null {
    const candidates = this.candidates;
    let best: StoredMsg | null = null;
    for (let i = 0; i < candidates.length; i++) {
      let c = candidates[i];
      if (c === undefined || (c !== null && c.seq < this.nextSeq)) {
        c = this.nextMatch(i);
        candidates[i] = c;
      }
      if (c !== null && (best === null || c.seq < best.seq)) best = c;
    }
    if (best !== null) {
      for (let i = 0; i < candidates.length; i++) {
        if (candidates[i] === best) candidates[i] = undefined;
      }
    }
    return best;
  }

  private load(seq: number): StoredMsg | null {
    try {
      return this.stream.loadMsg(seq);
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreEOF") || isJetStoreError(err, "ErrStoreMsgNotFound")) {
        return null;
      }
      throw err;
    }
  }

  private exists(seq: number): boolean {
    try {
      this.stream.subjectForSeq(seq);
      return true;
    } catch (err) {
      if (isJetStoreError(err, "ErrStoreMsgNotFound")) return false;
      throw err;
    }
  }
}
