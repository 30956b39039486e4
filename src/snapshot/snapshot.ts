/**
 * `snapshot()` of either engine: notes the stream at its last sequence,
 * synchronously (the state, the consumers, a removal watch), then streams
 * the archive: a frame of messages per step, read through the store's own
 * read path, giving the event loop a turn every few milliseconds so writers
 * go on meanwhile. Messages stored after the noted sequence are not in it;
 * messages removed after it are (removal-watch.ts).
 */

import { xxh64 } from "../codec/index.ts";
import { encodeConsumerState } from "../consumers/consumer-state.ts";
import type { SavedConsumer } from "../consumers/durables.ts";
import { invalidArgument, JetStoreError } from "../errors.ts";
import type { StreamState } from "../types.ts";
import { describeValue, type ResolvedLimits } from "../validate.ts";
import {
  ARCHIVE_VERSION,
  type ArchiveHeader,
  BINDING_SIZE,
  encodeConsumer,
  encodeTrailer,
  FRAME_CHECKSUM_SIZE,
  FRAME_HEADER_SIZE,
  FrameKind,
  type FrameSeal,
  frame,
  PLAIN_ARCHIVE_VERSION,
  preamble,
} from "./archive-format.ts";
import { type ArchiveSealing, toHex } from "./archive-seal.ts";
import { RecordWriter } from "./record-writer.ts";
import { type ArchiveReader, RemovalWatch, type RemovalWatches } from "./removal-watch.ts";
import type { SnapshotOptions, SnapshotProgress } from "./types.ts";

/** Plain message bytes per frame. */
let frameBytes = 1024 * 1024;

/** Sets the plain message bytes per frame (tests make many frames of few messages); returns the previous. @internal */
export function setSnapshotFrameBytes(bytes: number): number {
  const previous = frameBytes;
  frameBytes = bytes;
  return previous;
}
/**
 * Adaptive compression, as S2 and zstd do for incompressible input: a
 * Messages frame that Snappy shrank by less than MIN_SAVING turns compression
 * off for the next SKIP_FRAMES frames, then it is tried again. Random,
 * encrypted or already compressed payloads then cost no compression time.
 */
const MIN_SAVING = 0.12;
const SKIP_FRAMES = 16;
/** Work between turns given to the event loop. */
const SLICE_MS = 8;

/** What a snapshot needs of an engine, taken when `snapshot()` is called. @internal */
export interface SnapshotSource {
  reader: ArchiveReader;
  watches: RemovalWatches;
  state: StreamState;
  limits: ResolvedLimits;
  /** Every consumer with its config and state, read now. */
  consumers: () => SavedConsumer[];
  isClosed: () => boolean;
  now: () => bigint;
  /** An encrypted store's means of sealing its archive; null for a plain store. */
  sealing: () => ArchiveSealing | null;
}

/** A turn of the event loop for writers and I/O: setImmediate where there is one (Node, Bun), else a timer. */
const nextTurn: () => Promise<void> =
  typeof globalThis.setImmediate === "function"
    ? () => new Promise((resolve) => globalThis.setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/** Starts a snapshot of `source`; the archive's bytes come as the result is iterated. @internal */
export function snapshotStream(
  source: SnapshotSource,
  options: SnapshotOptions | undefined,
): AsyncIterable<Uint8Array> {
  const { consumers, onProgress, compress = true, plaintext } = checkSnapshotOptions(options);
  const sealing = plaintext === true ? null : source.sealing();
  const state = source.state;
  const saved = consumers ? source.consumers() : [];
  const header: ArchiveHeader = {
    lastSeq: state.lastSeq,
    lastTs: state.lastTs.toString(),
    firstSeq: state.firstSeq,
    msgs: state.msgs,
    bytes: state.bytes,
    limits: { ...source.limits },
    created: source.now().toString(),
  };
  let seal: FrameSeal | null = null;
  if (sealing !== null) {
    seal = {
      sealer: sealing.sealer,
      binding: crypto.getRandomValues(new Uint8Array(BINDING_SIZE)),
    };
    header.sealed = toHex(sealing.settings);
    header.binding = toHex(seal.binding);
  }
  const first = state.msgs === 0 ? state.lastSeq + 1 : state.firstSeq;
  const watch = new RemovalWatch(source.reader, first, state.lastSeq);
  source.watches.add(watch);
  const result = archive(source, watch, header, saved, {
    onProgress,
    compress,
    seal,
  });
  forgotten.register(result, { watches: source.watches, watch });
  return result;
}

/**
 * An archive dropped without being read to its end stops watching removals
 * once it is collected; until then every removal copies for it.
 */
const forgotten = new FinalizationRegistry<{ watches: RemovalWatches; watch: RemovalWatch }>(
  ({ watches, watch }) => watches.delete(watch),
);

async function* archive(
  source: SnapshotSource,
  watch: RemovalWatch,
  header: ArchiveHeader,
  consumers: SavedConsumer[],
  how: {
    onProgress: ((p: SnapshotProgress) => void) | undefined;
    compress: boolean;
    seal: FrameSeal | null;
  },
): AsyncGenerator<Uint8Array> {
  const { onProgress, compress, seal } = how;
  const progress: SnapshotProgress = { msgs: 0, totalMsgs: header.msgs, bytes: 0 };
  let frames = 0;
  const emit = (bytes: Uint8Array): Uint8Array => {
    progress.bytes += bytes.length;
    onProgress?.({ ...progress });
    return bytes;
  };
  try {
    const head = preamble(seal === null ? PLAIN_ARCHIVE_VERSION : ARCHIVE_VERSION);
    const json = new TextEncoder().encode(JSON.stringify(header));
    yield emit(concat(head, frame(FrameKind.Header, frames++, json)));
    const records = new RecordWriter();
    let skipCompression = 0;
    let sliceStart = performance.now();
    for (;;) {
      checkOpen(source);
      records.reset();
      watch.nextBatch(records, frameBytes);
      if (records.count === 0) break;
      progress.msgs += records.count;
      const plain = records.bytes();
      const tryCompress = compress && seal === null && skipCompression === 0;
      if (skipCompression > 0) skipCompression--;
      const out = frame(FrameKind.Messages, frames++, plain, tryCompress, seal);
      if (tryCompress && storedLength(out) > plain.length * (1 - MIN_SAVING)) {
        skipCompression = SKIP_FRAMES;
      }
      yield emit(out);
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
    if (progress.msgs !== header.msgs) {
      // Only a record that fails verification (state().lost) goes missing.
      throw new JetStoreError(
        "ErrCorrupt",
        `Cannot snapshot: ${header.msgs - progress.msgs} of ${header.msgs} messages could not be read`,
      );
    }
    for (const c of consumers) {
      // The frames past the messages too: an encrypted store's sealer is wiped at close.
      checkOpen(source);
      const state = c.state === null ? null : encodeConsumerState(c.state);
      const atFloor = c.state?.redelivered.get(c.state.ackFloor.stream) ?? 0;
      yield emit(
        frame(
          FrameKind.Consumer,
          frames++,
          encodeConsumer(c.name, c.config, state, atFloor),
          compress,
          seal,
        ),
      );
    }
    checkOpen(source);
    const trailer = encodeTrailer(
      frames,
      progress.msgs,
      consumers.length,
      seal === null ? null : xxh64(json),
    );
    yield emit(frame(FrameKind.Trailer, frames, trailer, false, seal));
  } finally {
    source.watches.delete(watch);
  }
}

/** ErrStoreClosed once the store has begun to close: the archive cannot go on. */
function checkOpen(source: SnapshotSource): void {
  if (source.isClosed()) {
    throw new JetStoreError("ErrStoreClosed", "Cannot snapshot: the store was closed");
  }
}

/** The body length of a frame (FORMAT.md: "stored length"). */
function storedLength(f: Uint8Array): number {
  return f.length - FRAME_HEADER_SIZE - FRAME_CHECKSUM_SIZE;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function checkSnapshotOptions(options: unknown): SnapshotOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalidArgument(
      `Cannot snapshot: options must be an object, got ${describeValue(options)}`,
    );
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!["consumers", "onProgress", "compress", "plaintext"].includes(key)) {
      throw invalidArgument(`Cannot snapshot: unknown option ${describeValue(key)}`);
    }
  }
  if (o.consumers !== undefined && typeof o.consumers !== "boolean") {
    throw invalidArgument(
      `Cannot snapshot: consumers must be a boolean, got ${describeValue(o.consumers)}`,
    );
  }
  if (o.plaintext !== undefined && typeof o.plaintext !== "boolean") {
    throw invalidArgument(
      `Cannot snapshot: plaintext must be a boolean, got ${describeValue(o.plaintext)}`,
    );
  }
  if (o.compress !== undefined && typeof o.compress !== "boolean") {
    throw invalidArgument(
      `Cannot snapshot: compress must be a boolean, got ${describeValue(o.compress)}`,
    );
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw invalidArgument(
      `Cannot snapshot: onProgress must be a function, got ${describeValue(o.onProgress)}`,
    );
  }
  return o as SnapshotOptions;
}
