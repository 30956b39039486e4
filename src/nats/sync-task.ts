/**
 * What a replication and a mirror share: the loop of attempts (each runs
 * until it fails or is stopped), a failure reported as an `error` event and
 * retried after a backoff unless it is fatal, the status counters, `stop()`,
 * and the handle the caller gets.
 */
import type { JetStoreError } from "../errors.ts";
import type { SyncHandle, SyncStatus } from "./replicate.ts";
import { Retry } from "./retry.ts";
import { natsError } from "./server-stream.ts";
import { StatusChannel, type StatusEvent } from "./status.ts";

export abstract class SyncTask {
  protected readonly retry: Retry;
  protected stopping = false;
  private readonly channel = new StatusChannel();
  private running = true;
  private errors = 0;
  private lastError: JetStoreError | null = null;

  constructor(maxRetryDelayMs: number) {
    this.retry = new Retry(maxRetryDelayMs);
  }

  /** "replicate" or "mirror": how client failures are worded. */
  protected abstract readonly action: string;
  /** One run until it fails (throws) or sees `stopping`. */
  protected abstract attempt(): Promise<void>;
  /** A failure retrying cannot mend: the loop ends with it. */
  protected abstract isFatal(error: JetStoreError): boolean;
  protected abstract lastAcked(): number;
  protected abstract lag(): number;
  /** Wakes whatever an attempt waits on, so it sees `stopping`. */
  protected abstract interrupt(): void;
  /** After the last attempt, before the `stopped` event. */
  protected async finish(): Promise<void> {}

  /** Starts the loop: the subclass calls it last in its constructor, once its fields are set. */
  protected start(): SyncHandle {
    const done = this.run();
    return {
      stop: () => this.stop(done),
      status: () => this.status(),
      done,
      events: () => this.channel.iterate(),
      [Symbol.asyncIterator]: () => this.channel.iterate(),
    };
  }

  protected emit(event: StatusEvent): void {
    this.channel.emit(event);
  }

  private status(): SyncStatus {
    return {
      lastAcked: this.lastAcked(),
      lag: this.lag(),
      errors: this.errors,
      lastError: this.lastError,
      running: this.running,
    };
  }

  private async stop(done: Promise<void>): Promise<void> {
    this.stopping = true;
    this.interrupt();
    this.retry.interrupt();
    await done;
  }

  private async run(): Promise<void> {
    let fatal: JetStoreError | undefined;
    while (!this.stopping) {
      try {
        await this.attempt();
      } catch (err) {
        const e = natsError(this.action, err);
        const isFatal = this.isFatal(e);
        this.errors++;
        this.lastError = e;
        this.emit({ type: "error", error: e, fatal: isFatal });
        if (isFatal) {
          fatal = e;
          break;
        }
        if (!this.stopping) await this.retry.wait();
      }
    }
    await this.finish();
    this.running = false;
    this.emit({ type: "stopped", lastAcked: this.lastAcked(), ...(fatal ? { error: fatal } : {}) });
  }
}
