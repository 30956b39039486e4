/**
 * Per-subject message count and first / last sequence of the FileStore.
 * First and last are kept exact on append; a removal that takes a subject's
 * first or last message marks that bound stale, and it is recomputed on
 * demand by the caller's lookup. Recomputing eagerly would scan the stream on
 * every removal — what makes nats-server's removals slow on big streams.
 */
import type { ByteWriter } from "../bytes.ts";
import { SubjectTrie } from "../subject-trie.ts";
import type { SubjectEntries } from "./checkpoint.ts";
import type { CheckpointSubjects } from "./checkpoint-subjects.ts";

const encoder = new TextEncoder();
export interface SubjectEntry {
  msgs: number;
  /** 0 when stale. */
  first: number;
  /** While `first` is stale: no live message of the subject is below this sequence. */
  firstAtLeast?: number;
  /** 0 when stale. */
  last: number;
  /**
   * UTF-8 length of the subject once it has been validated as a published
   * subject, so appends on a known subject skip validation.
   */
  bytes?: number;
  /** See `SubjectTotals.idOf`. */
  id?: number;
}

/** The subject id of no message (skips, tombstones, erased records). */
export const NO_SUBJECT = 0xffffffff;

export class SubjectTotals {
  /** Entries named since open (or all, once `map` was asked for). */
  private readonly named = new Map<string, SubjectEntry>();
  /**
   * The checkpoint's entries no query, write or removal has named yet, kept
   * compact; null once every one is in `named`. An entry is in exactly one of the two.
   */
  private recorded: CheckpointSubjects | null = null;
  /** `trie` once a wildcard filter asked for it; kept in step from then on. */
  private tokens: SubjectTrie<SubjectEntry> | null = null;
  /** Subjects by id; ids are handed out on first use and freed with their last message. */
  private readonly byId: (string | undefined)[] = [];
  /** The entry of each id in `byId`. */
  private readonly entriesById: (SubjectEntry | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /** Changes whenever an id is given or freed, so cached per-id answers know to refresh. */
  generation = 0;

  get size(): number {
    return this.named.size + (this.recorded?.live ?? 0);
  }

  /**
   * Every entry by subject. Read freely; change only through this class,
   * which keeps `trie` in step. The first call makes a string and an entry
   * of every subject the checkpoint recorded.
   */
  get map(): Map<string, SubjectEntry> {
    const recorded = this.recorded;
    if (recorded !== null) {
      for (let i = 0; i < recorded.count; i++) {
        if (!recorded.isTaken(i)) this.named.set(recorded.subject(i), entryOf(recorded, i));
      }
      this.recorded = null;
    }
    return this.named;
  }

  /**
   * The same entries by token, for wildcard filters: built on the first
   * one, so an open (and every append of a new subject) before it pays nothing.
   */
  get trie(): SubjectTrie<SubjectEntry> {
    if (this.tokens === null) {
      const trie = new SubjectTrie<SubjectEntry>();
      for (const [subject, entry] of this.map) trie.set(subject, entry);
      this.tokens = trie;
    }
    return this.tokens;
  }

  /** Counts a message; `entry` is `get(subject)` when the caller already has it. */
  add(subject: string, seq: number, entry = this.get(subject), bytes?: number): SubjectEntry {
    if (entry === undefined) {
      const created = newEntry(1, seq, seq);
      created.bytes = bytes;
      this.named.set(subject, created);
      this.tokens?.set(subject, created);
      return created;
    }
    entry.msgs++;
    entry.last = seq;
    return entry;
  }

  remove(subject: string, seq: number): void {
    const entry = this.get(subject);
    if (entry !== undefined) this.removeFrom(subject, entry, seq);
  }

  /**
   * `remove` for a message whose subject id is known: no subject string is
   * needed, so a limit removing the oldest message reads no record for it.
   */
  removeById(id: number, seq: number): void {
    const entry = this.entriesById[id];
    if (entry === undefined) return;
    // The subject's string is needed only when its last message goes.
    if (entry.msgs !== 1) this.removeSome(entry, seq);
    else this.removeFrom(this.byId[id] as string, entry, seq);
  }

  private removeFrom(subject: string, entry: SubjectEntry, seq: number): void {
    if (entry.msgs !== 1) {
      this.removeSome(entry, seq);
      return;
    }
    entry.msgs = 0;
    this.named.delete(subject);
    this.tokens?.delete(subject);
    if (entry.id !== undefined) {
      this.byId[entry.id] = undefined;
      this.entriesById[entry.id] = undefined;
      this.freeIds.push(entry.id);
      this.generation++;
    }
  }

  /** A message of a subject that keeps others: its bounds go stale if it was one. */
  private removeSome(entry: SubjectEntry, seq: number): void {
    entry.msgs--;
    if (entry.first === seq) {
      entry.first = 0;
      entry.firstAtLeast = seq + 1;
    }
    if (entry.last === seq) entry.last = 0;
  }

  /** Starts from the entries a checkpoint recorded (when there are none yet). */
  restore(recorded: CheckpointSubjects): void {
    if (this.named.size > 0 || this.recorded !== null || this.tokens !== null)
      throw new Error("SubjectTotals.restore: totals already hold entries");
    this.recorded = recorded.live > 0 ? recorded : null;
  }

  get(subject: string): SubjectEntry | undefined {
    const entry = this.named.get(subject);
    if (entry !== undefined || this.recorded === null) return entry;
    return this.take(subject, this.recorded);
  }

  /** Moves the recorded entry of `subject`, if any, into `named`. */
  private take(subject: string, recorded: CheckpointSubjects): SubjectEntry | undefined {
    const i = recorded.find(subject);
    if (i < 0) return undefined;
    const entry = entryOf(recorded, i);
    recorded.take(i);
    if (recorded.live === 0) this.recorded = null;
    this.named.set(subject, entry);
    return entry;
  }

  /**
   * The entries for a checkpoint, written without making a string of any
   * subject still kept compact.
   */
  checkpointEntries(): SubjectEntries {
    const named = this.named;
    const recorded = this.recorded;
    return {
      count: this.size,
      // Most subjects are short and ASCII.
      size: named.size * 48 + (recorded?.liveBytes ?? 0),
      write(w: ByteWriter): void {
        for (const [subject, e] of named) {
          w.bytes(encoder.encode(subject)).u64(e.msgs).u64(e.first).u64(e.last);
        }
        recorded?.writeLive(w);
      },
    };
  }

  /**
   * A small number standing for `subject` while it has messages, so blocks
   * can keep a column of ids and filters test an id against a bitmap.
   */
  idOf(subject: string, entry: SubjectEntry): number {
    if (entry.id !== undefined) return entry.id;
    const id = this.freeIds.pop() ?? this.byId.length;
    this.byId[id] = subject;
    this.entriesById[id] = entry;
    entry.id = id;
    this.generation++;
    return id;
  }

  /** The subject holding `id`, if any does. */
  subjectOf(id: number): string | undefined {
    return this.byId[id];
  }

  /** One byte per id: 1 where the subject matches. */
  matchBits(matches: (subject: string) => boolean): Uint8Array {
    const bits = new Uint8Array(this.byId.length);
    for (let id = 0; id < bits.length; id++) {
      const subject = this.byId[id];
      if (subject !== undefined && matches(subject)) bits[id] = 1;
    }
    return bits;
  }

  /**
   * `matchBits` for a list of subjects: only theirs are looked at. A subject
   * without an id yet is in no block's column, and one that gets an id later
   * changes `generation`.
   */
  bitsOf(subjects: readonly string[]): Uint8Array {
    const bits = new Uint8Array(this.byId.length);
    for (const subject of subjects) {
      // A subject still kept compact has no id yet.
      const id = this.named.get(subject)?.id;
      if (id !== undefined) bits[id] = 1;
    }
    return bits;
  }

  clear(): void {
    this.named.clear();
    this.recorded = null;
    this.tokens = null;
    this.byId.length = 0;
    this.entriesById.length = 0;
    this.freeIds.length = 0;
    this.generation++;
  }
}

function entryOf(recorded: CheckpointSubjects, i: number): SubjectEntry {
  return newEntry(recorded.msgs(i), recorded.first(i), recorded.last(i));
}

/**
 * An entry with every field present from the start: fields added later
 * (an id, a stale first's bound) would give entries several maps, and the
 * append and removal paths, which touch an entry per message, would see them all.
 */
function newEntry(msgs: number, first: number, last: number): SubjectEntry {
  return { msgs, first, firstAtLeast: undefined, last, bytes: undefined, id: undefined };
}
