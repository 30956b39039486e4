/**
 * The status events a replication or a mirror reports, as an async iterator
 * that any number of readers may hold. Events are kept for a reader that is
 * not reading, up to a bound: past it the oldest `progress` events are
 * dropped first (a later one says more), so a handle nobody reads never
 * grows without limit, and errors are the last thing dropped.
 */
import type { JetStoreError } from "../errors.ts";

/** Progress: where the replication or mirror stands. */
export interface ProgressEvent {
  type: "progress";
  /** Replication: the last local sequence the server acknowledged. Mirror: the last source sequence stored. */
  lastAcked: number;
  /** Messages not yet replicated (local ones after `lastAcked`) or not yet mirrored (the source's pending count). */
  lag: number;
}

/** A failure: retried (`fatal: false`) or the end of the work (`fatal: true`). */
export interface ErrorEvent {
  type: "error";
  error: JetStoreError;
  fatal: boolean;
}

/** The connection to the server came back after a failure, and work resumed from `lastAcked`. */
export interface ResumedEvent {
  type: "resumed";
  lastAcked: number;
}

/** The work ended: `stop()` was called, or a fatal error (`error`). No event follows. */
export interface StoppedEvent {
  type: "stopped";
  lastAcked: number;
  error?: JetStoreError;
}

export type StatusEvent = ProgressEvent | ErrorEvent | ResumedEvent | StoppedEvent;

const KEEP = 1024;

interface Reader {
  queue: StatusEvent[];
  wake: (() => void) | null;
}

/** Fans events out to readers; ends every reader after the `stopped` event. */
export class StatusChannel {
  private readers = new Set<Reader>();
  private ended: StoppedEvent | null = null;

  emit(event: StatusEvent): void {
    if (this.ended) return;
    if (event.type === "stopped") this.ended = event;
    for (const r of this.readers) {
      r.queue.push(event);
      if (r.queue.length > KEEP) dropOne(r.queue);
      r.wake?.();
    }
  }

  /** An iterator of the events from now on; it ends after `stopped` (at once if that has happened). */
  iterate(): AsyncIterableIterator<StatusEvent> {
    const reader: Reader = { queue: [], wake: null };
    const ended = this.ended;
    if (ended) reader.queue.push(ended);
    else this.readers.add(reader);
    const readers = this.readers;
    let done = false;
    const iterator: AsyncIterableIterator<StatusEvent> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next(): Promise<IteratorResult<StatusEvent>> {
        while (!done) {
          const event = reader.queue.shift();
          if (event) {
            if (event.type === "stopped") {
              done = true;
              readers.delete(reader);
            }
            return { value: event, done: false };
          }
          await new Promise<void>((resolve) => {
            reader.wake = resolve;
          });
          reader.wake = null;
        }
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<StatusEvent>> {
        done = true;
        readers.delete(reader);
        reader.wake?.();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }
}

function dropOne(queue: StatusEvent[]): void {
  const i = queue.findIndex((e) => e.type === "progress");
  queue.splice(i === -1 ? 0 : i, 1);
}
