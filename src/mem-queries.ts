/**
 * MemStore's subject queries over its per-subject sequence lists: a literal
 * subject's count, first and last are O(1) and "from sequence n" costs a
 * binary search; a wildcard filter walks the subjects (not the messages).
 */
import { MemSlots } from "./mem-slots.ts";
import type { MultiIndex } from "./multi-queries.ts";
import { type CompiledFilter, subjectMatches } from "./subject-match.ts";
import type { SubjectSeqs } from "./subject-seqs.ts";
import type { SimpleState } from "./types.ts";

const NO_MATCH: SimpleState = { msgs: 0, first: 0, last: 0 };

export abstract class MemQueries extends MemSlots {
  /** The slot of the first message at or after sequence `from` matching `filter`, or -1. @internal */
  protected nextMatch(filter: CompiledFilter, wildcard: boolean, from: number): number {
    const start = this.lowerBound(from);
    if (filter.all) return this.nextLive(start);
    if (!wildcard || filter.literal) {
      const list = this.subjects.get(filter.text);
      return list === undefined ? -1 : this.slotOfFirst(list.firstFrom(from));
    }
    // Walk the messages while that is cheaper than asking every subject; a
    // consumer stepping through a busy wildcard finds its next match nearby.
    const recs = this.recs;
    const budgetEnd = Math.min(recs.length, start + this.subjects.size);
    for (let slot = start; slot < budgetEnd; slot++) {
      const rec = recs[slot];
      if (rec !== undefined && subjectMatches(rec.subject, filter.tokens)) return slot;
    }
    if (budgetEnd === recs.length) return -1;
    let best = 0;
    this.forEachMatch(filter, (_, list) => {
      const seq = list.firstFrom(from);
      if (seq > 0 && (best === 0 || seq < best)) best = seq;
    });
    return this.slotOfFirst(best);
  }

  /** The slot of the newest message matching `filter`, or -1. @internal */
  protected lastMatch(filter: CompiledFilter): number {
    if (this.msgs === 0) return -1;
    if (filter.all) {
      let slot = this.recs.length - 1;
      while (this.recs[slot] === undefined) slot--;
      return slot;
    }
    let best = 0;
    this.forEachMatch(filter, (_, list) => {
      if (list.last > best) best = list.last;
    });
    return this.slotOfFirst(best);
  }

  /** Calls `visit` for every subject matching `filter`. @internal */
  protected forEachMatch(
    filter: CompiledFilter,
    visit: (subject: string, list: SubjectSeqs) => void,
  ): void {
    if (filter.all) {
      for (const [subject, list] of this.subjects) visit(subject, list);
    } else if (filter.literal) {
      const list = this.subjects.get(filter.text);
      if (list !== undefined) visit(filter.text, list);
    } else {
      for (const [subject, list] of this.subjects) {
        if (subjectMatches(subject, filter.tokens)) visit(subject, list);
      }
    }
  }

  /**
   * The per-subject lists as the shared subject queries see them
   * (subject-queries.ts, multi-queries.ts): every list is exact, so nothing
   * is resolved, and a subject's messages in a range are binary searches.
   * @internal
   */
  protected readonly index: MultiIndex = ((store) => ({
    get firstSeq() {
      return store.first;
    },
    get lastSeq() {
      return store.last;
    },
    forEachTotal: (filter, visit) => store.forEachMatch(filter, (s, list) => visit(s, list.msgs)),
    forEachMatch: (filter, visit) => store.forEachMatch(filter, visit),
    countFrom: (filter, from) => store.countFrom(filter, from),
    lastAtOrBefore: (_, list, bound) => (list as SubjectSeqs).lastAtOrBefore(bound),
    readable: () => true,
    firstAmong: (subjects, low, high) => {
      let best = 0;
      for (const subject of subjects) {
        const seq = store.subjects.get(subject)?.firstFrom(low) ?? 0;
        if (seq !== 0 && seq <= high && (best === 0 || seq < best)) best = seq;
      }
      return best;
    },
    lastAmong: (subjects, low, high) => {
      let best = 0;
      for (const subject of subjects) {
        const seq = store.subjects.get(subject)?.lastAtOrBefore(high) ?? 0;
        if (seq >= low && seq > best) best = seq;
      }
      return best;
    },
    countAmong: (subjects, low, high) => {
      let n = 0;
      for (const subject of subjects) {
        const list = store.subjects.get(subject);
        if (list !== undefined) n += list.countFrom(low) - list.countFrom(high + 1);
      }
      return n;
    },
  }))(this);

  /** Count and first / last of the messages at or after `from`, a sequence in the stream, matching `filter`. @internal */
  protected countFrom(filter: CompiledFilter, from: number): SimpleState {
    if (filter.all) return this.rangeState(from);
    let msgs = 0;
    let first = 0;
    let last = 0;
    this.forEachMatch(filter, (_, list) => {
      if (list.last < from) return;
      const head = list.firstFrom(from);
      msgs += list.countFrom(from);
      if (first === 0 || head < first) first = head;
      if (list.last > last) last = list.last;
    });
    return { msgs, first, last };
  }

  /** Count and first / last of every message at or after `from`, a sequence in [first, last]. @internal */
  protected rangeState(from: number): SimpleState {
    const recs = this.recs;
    let lastSlot = recs.length - 1;
    while (recs[lastSlot] === undefined) lastSlot--;
    const last = this.seqs[lastSlot];
    if (from <= this.first) return { msgs: this.msgs, first: this.first, last };
    const start = this.lowerBound(from);
    if (start > lastSlot) return { ...NO_MATCH };
    const first = this.seqs[this.nextLive(start)];
    const length = recs.length;
    let msgs: number;
    if (length - this.head === this.msgs) {
      msgs = length - start; // no dead slot: plain arithmetic
    } else if (length - start <= start - this.head) {
      msgs = this.countLiveSlots(start, length);
    } else {
      msgs = this.msgs - this.countLiveSlots(this.head, start);
    }
    return { msgs, first, last };
  }

  /** @internal */
  protected countLiveSlots(from: number, to: number): number {
    let n = 0;
    for (let slot = from; slot < to; slot++) if (this.recs[slot] !== undefined) n++;
    return n;
  }

  /** Sequences purgeEx removes for a filter that is not "all". @internal */
  protected purgeTargets(filter: CompiledFilter, seq: number, keep: number): number[] {
    const lists: SubjectSeqs[] = [];
    this.forEachMatch(filter, (_, list) => {
      lists.push(list);
    });
    if (keep === 0) {
      const bound = seq > 0 ? seq : Number.POSITIVE_INFINITY;
      return lists.flatMap((list) => list.oldest(Number.POSITIVE_INFINITY, bound));
    }
    const total = lists.reduce((sum, list) => sum + list.msgs, 0);
    if (keep >= total) return [];
    const doomed = total - keep;
    if (lists.length === 1) return lists[0].oldest(doomed, Number.POSITIVE_INFINITY);
    // The oldest across several subjects: each list is sorted, their union is not.
    const all = lists.flatMap((list) =>
      list.oldest(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY),
    );
    return all.sort(ascending).slice(0, doomed);
  }

  /** purgeEx on every subject with `keep`: compacts up to the newest `keep` messages. @internal */
  protected keepNewest(keep: number): number {
    if (keep >= this.msgs) return 0;
    const recs = this.recs;
    let slot: number;
    if (recs.length - this.head === this.msgs) {
      slot = recs.length - keep;
    } else {
      slot = recs.length;
      for (let kept = 0; kept < keep; ) if (recs[--slot] !== undefined) kept++;
    }
    return this.compact(this.seqs[slot]);
  }

  /** @internal */
  abstract compact(seq: number): number;
}

/** @internal */
export function ascending(a: number, b: number): number {
  return a - b;
}
