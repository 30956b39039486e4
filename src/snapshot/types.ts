/**
 * The shapes of snapshots: what `snapshot()` takes and reports, what
 * `FileStore.restore` takes, and one message as an archive holds it.
 */
import type { StoredMsg } from "../types.ts";

/** A live message with its TTL in seconds (0 none, -1 never expires). @internal */
export interface ArchivedMsg extends StoredMsg {
  ttl: number;
}

/** How far a snapshot has come, after each frame. */
export interface SnapshotProgress {
  /** Messages written to the archive so far. */
  msgs: number;
  /** Messages the archive will hold in all (the stream's count at the noted sequence). */
  totalMsgs: number;
  /** Archive bytes produced so far. */
  bytes: number;
}

/** Options of `snapshot()`. */
export interface SnapshotOptions {
  /** Include each consumer's config and state (default false). */
  consumers?: boolean | undefined;
  /**
   * Snappy-compress frames where that makes them shorter (default true).
   * Off, a snapshot to a file runs about 1.5× as fast and its archive is larger (W12).
   */
  compress?: boolean | undefined;
  /**
   * An encrypted store's archive holds ciphertext unless this is true: then
   * its messages are in plaintext and it restores without the key.
   */
  plaintext?: boolean | undefined;
  /** Called after each frame the archive yields. */
  onProgress?: ((progress: SnapshotProgress) => void) | undefined;
}

/**
 * A web `ReadableStream` of bytes, as far as a restore reads it (declared
 * here so that the types need neither the DOM's nor Node's declarations).
 */
export interface ReadableByteStream {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
    releaseLock(): void;
  };
}

/** Bytes a restore reads: an async or sync iterable of chunks, a web ReadableStream, or one buffer. */
export type ArchiveSource =
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableByteStream
  | Uint8Array;
