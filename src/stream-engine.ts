/**
 * What both engines offer in the same words: the subject queries, the
 * multi-filter queries, consumers, snapshots and a message's TTL. Each is
 * answered from what an engine keeps (its `MultiIndex`, its consumer
 * registry, its archive reader), so the engines differ only in those.
 * MemStore (through mem-slots.ts) and FileStore (through
 * filestore/store-base.ts) extend it.
 */
import type { Consumer } from "./consumers/consumer.ts";
import type { ConsumerOptions } from "./consumers/consumer-options.ts";
import type { StreamConsumers } from "./consumers/registry.ts";
import type { ConsumerConfig, ConsumerStore } from "./consumers/types.ts";
import { JetStoreError } from "./errors.ts";
import {
  loadNextMsgMulti,
  loadPrevMsgMulti,
  type MultiHost,
  multiLastMsgs,
  pendingMulti,
} from "./multi-calls.ts";
import type { MultiIndex } from "./multi-queries.ts";
import type { ArchiveSealing } from "./snapshot/archive-seal.ts";
import type { RecordWriter } from "./snapshot/record-writer.ts";
import { type ArchiveReader, RemovalWatches } from "./snapshot/removal-watch.ts";
import { snapshotStream } from "./snapshot/snapshot.ts";
import type { ArchivedMsg, SnapshotOptions } from "./snapshot/types.ts";
import { Action, filtersNotArray } from "./store-errors.ts";
import { type CompiledFilter, compileFilter } from "./subject-match.ts";
import {
  allLastSeqs,
  filteredState,
  multiLastSeqs,
  numPending,
  subjectsState,
  subjectsTotals,
} from "./subject-queries.ts";
import type { SimpleState, StoredMsg, StreamState, StreamStore } from "./types.ts";
import { checkBoolean, checkFilter, checkOpen, checkSeq, type ResolvedLimits } from "./validate.ts";

const ALL = compileFilter("");

export abstract class StreamEngine {
  /** @internal */
  protected closed = false;
  /** Told of every removal before it happens: running snapshots, and the consumers while one is open (snapshot/removal-watch.ts). @internal */
  protected readonly removalWatches = new RemovalWatches();
  /** The filter of the last query, checked and compiled (see `filterOf`). @internal */
  protected lastFilter: CompiledFilter = ALL;
  /** The per-subject index as the shared queries see it. @internal */
  protected abstract readonly index: MultiIndex;
  /** The consumers open on the stream. @internal */
  protected abstract readonly consumers: StreamConsumers;
  /** The engine as the multi-filter queries see it (multi-calls.ts). @internal */
  private multiHost: MultiHost | null = null;

  abstract fastState(): StreamState;
  abstract loadMsg(seq: number): StoredMsg;

  /** The first live sequence at or after `seq`, or 0. @internal */
  protected abstract nextLiveSeq(seq: number): number;
  /** The live message `seq` with its TTL, its bytes the caller's; null when removed or lost. @internal */
  protected abstract archiveRecord(seq: number): ArchivedMsg | null;
  /** The live message `seq`, which the index names; null when lost to damage. @internal */
  protected abstract indexedMessage(seq: number): StoredMsg | null;
  /** Writes the live message `seq` into a snapshot frame; false when removed or lost. @internal */
  protected abstract archiveInto(seq: number, out: RecordWriter): boolean;
  /** A reader of whole runs of messages into a snapshot frame, when the engine has one. @internal */
  protected archiveRunOf(): ArchiveReader["archiveRun"] {
    return undefined;
  }
  /** The limits a snapshot records. @internal */
  protected abstract snapshotLimits(): ResolvedLimits;
  /** An encrypted store's means of sealing its archive; null for a plain one. @internal */
  protected abstract snapshotSealing(): ArchiveSealing | null;
  /** The store's clock. @internal */
  protected abstract clockNow(): bigint;

  /**
   * Checks a filter and compiles it, keeping the last one: a consumer asks
   * with the same filter call after call, and a text equal to the kept one
   * was checked when it was kept.
   * @internal
   */
  protected filterOf(filter: unknown, action: string): CompiledFilter {
    if (filter !== this.lastFilter.text) {
      checkFilter(filter, action);
      this.lastFilter = compileFilter(filter as string);
    }
    return this.lastFilter;
  }

  /** @internal */
  protected get multi(): MultiHost {
    this.multiHost ??= {
      store: this as unknown as StreamStore,
      index: this.index,
      isClosed: () => this.closed,
      load: (seq) => this.indexedMessage(seq),
    };
    return this.multiHost;
  }

  /**
   * The durable consumer `name` (consumers/consumer.ts): created with
   * `options`, or resumed with the state the store keeps for it.
   */
  consumer(name: string, options?: ConsumerOptions): Consumer {
    checkOpen(this.closed, Action.consumer);
    return this.consumers.consumer(name, options);
  }

  /**
   * A consumer store on this stream (nats-server's ConsumerStore), reopened
   * with its saved state when the store keeps one. ErrInvalidArgument for a
   * bad name or config, or while one of that name is open.
   */
  consumerStore(name: string, config: ConsumerConfig): ConsumerStore {
    checkOpen(this.closed, Action.consumerStore);
    return this.consumers.consumerStore(name, config);
  }

  /**
   * Calls `listener` with the sequence of each message stored from now on,
   * synchronously inside the write (it must be quick and must not throw);
   * returns the function that stops it. For jetstore/nats. @internal
   */
  onStored(listener: (seq: number) => void): () => void {
    return this.consumers.onStored(listener);
  }

  /**
   * A point-in-time archive of the stream (and with `consumers: true` its
   * consumers) at its current last sequence, as its bytes; writes go on while
   * it is read. README "Backup and restore"; FORMAT.md "Snapshot archive".
   */
  snapshot(options?: SnapshotOptions): AsyncIterable<Uint8Array> {
    checkOpen(this.closed, Action.snapshot);
    return snapshotStream(
      {
        reader: {
          nextLiveSeq: (s) => this.nextLiveSeq(s),
          archiveRecord: (s) => this.archiveRecord(s),
          archiveInto: (s, out) => this.archiveInto(s, out),
          archiveRun: this.archiveRunOf(),
        },
        watches: this.removalWatches,
        state: this.fastState(),
        limits: this.snapshotLimits(),
        consumers: () => this.consumers.snapshotConsumers(),
        isClosed: () => this.closed,
        now: () => this.clockNow(),
        sealing: () => this.snapshotSealing(),
      },
      options,
    );
  }

  /**
   * The TTL message `seq` was stored with, in seconds: 0 for none, -1 for
   * never expires. The errors of `loadMsg` when there is no such message.
   */
  msgTtl(seq: number): number {
    checkOpen(this.closed, Action.msgTtl);
    checkSeq(seq, Action.msgTtl);
    const archived = this.archiveRecord(seq);
    if (archived !== null) return archived.ttl;
    // Throws what a read of that sequence throws: removed, past the end, or lost to damage.
    this.loadMsg(seq);
    throw new JetStoreError("ErrInternal", `Cannot read TTL: message ${seq} reads but is not live`);
  }

  /**
   * `first` and `last` are sequences of matching messages, all three 0 when
   * none matches (nats' filestore reports the raw range `[seq, last]` for "").
   */
  filteredState(seq: number, filter: string): SimpleState {
    checkOpen(this.closed, Action.filteredState);
    const compiled = this.filterOf(filter, Action.filteredState);
    checkSeq(seq, Action.filteredState);
    return filteredState(this.index, seq, compiled);
  }

  subjectsState(filter: string): Record<string, SimpleState> {
    checkOpen(this.closed, Action.subjectsState);
    return subjectsState(this.index, this.filterOf(filter, Action.subjectsState));
  }

  subjectsTotals(filter: string): Record<string, number> {
    checkOpen(this.closed, Action.subjectsTotals);
    return subjectsTotals(this.index, this.filterOf(filter, Action.subjectsTotals));
  }

  /**
   * `validThrough` is the stream's last sequence, as nats'; with
   * `lastPerSubject`, the count of matching subjects whose last message is at
   * or after `seq`.
   */
  numPending(
    seq: number,
    filter: string,
    lastPerSubject: boolean,
  ): { total: number; validThrough: number } {
    checkOpen(this.closed, Action.numPending);
    const compiled = this.filterOf(filter, Action.numPending);
    checkSeq(seq, Action.numPending);
    checkBoolean(lastPerSubject, "lastPerSubject", Action.numPending);
    return numPending(this.index, seq, compiled, lastPerSubject);
  }

  /**
   * "" matches everything, as in every other query (nats' subject tree matches
   * nothing for ""); `maxAllowed` counts distinct sequences, as nats does.
   */
  multiLastSeqs(filters: string[], maxSeq: number, maxAllowed: number): number[] {
    checkOpen(this.closed, Action.lastSeqs);
    if (!Array.isArray(filters)) throw filtersNotArray(filters);
    for (const f of filters) checkFilter(f, Action.lastSeqs);
    checkSeq(maxSeq, Action.lastSeqs, "maxSeq");
    checkSeq(maxAllowed, Action.lastSeqs, "maxAllowed");
    const compiled = filters.map((f) => compileFilter(f));
    return multiLastSeqs(this.index, compiled, maxSeq, maxAllowed);
  }

  allLastSeqs(): number[] {
    checkOpen(this.closed, Action.lastSeqs);
    return allLastSeqs(this.index, ALL);
  }

  /** @see StreamStore.loadNextMsgMulti (multi-calls.ts) */
  loadNextMsgMulti(filters: string[], start: number): StoredMsg {
    return loadNextMsgMulti(this.multi, filters, start);
  }

  loadPrevMsgMulti(filters: string[], start: number): StoredMsg {
    return loadPrevMsgMulti(this.multi, filters, start);
  }

  numPendingMulti(
    seq: number,
    filters: string[],
    lastPerSubject: boolean,
  ): { total: number; validThrough: number } {
    return pendingMulti(this.multi, seq, filters, lastPerSubject);
  }

  multiLastMsgs(
    filters: string[],
    minSeq: number,
    maxSeq: number,
    maxAllowed: number,
  ): StoredMsg[] {
    return multiLastMsgs(this.multi, filters, minSeq, maxSeq, maxAllowed);
  }
}
