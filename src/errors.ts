/**
 * The one error class of jetstore. Every failure a caller can act on is a
 * `JetStoreError` with a stable string `code` named after nats-server's `Err*`
 * sentinels, so callers branch on `err.code` instead of parsing messages.
 * A class per code was rejected: codes survive serialization and `instanceof`
 * across bundles; a zoo of subclasses does neither.
 */

/** Stable error codes. */
export type ErrorCode =
  | "ErrStoreMsgNotFound"
  | "ErrStoreEOF"
  | "ErrMaxMsgs"
  | "ErrMaxBytes"
  | "ErrMaxMsgsPerSubject"
  | "ErrMsgTooLarge"
  | "ErrStoreClosed"
  | "ErrInvalidSubject"
  | "ErrInvalidFilter"
  | "ErrCorrupt"
  | "ErrBadKey"
  | "ErrStoreLocked"
  | "ErrNoSpace"
  | "ErrIO"
  | "ErrNotFound"
  | "ErrInvalidArgument"
  | "ErrOutOfRange"
  | "ErrSequenceMismatch"
  | "ErrTooManyResults"
  | "ErrStoreOldUpdate"
  | "ErrNoAckPolicy"
  | "ErrNotPending"
  | "ErrConsumerInUse"
  | "ErrConsumerConflict"
  | "ErrUnsupportedFormat"
  | "ErrNotAStore"
  | "ErrNotImplemented"
  | "ErrNats"
  | "ErrReplicationConflict"
  | "ErrSourceMoved"
  | "ErrUnsupportedHeaders"
  | "ErrInternal";

/** Where corrupt bytes were found. */
export interface CorruptLocation {
  file?: string;
  offset?: number;
}

/** The base (and only) error class thrown by jetstore. */
export class JetStoreError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly offset?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown } & CorruptLocation) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "JetStoreError";
    this.code = code;
    if (options?.file !== undefined) this.file = options.file;
    if (options?.offset !== undefined) this.offset = options.offset;
  }
}

/** True when `err` is a JetStoreError, optionally with the given code. */
export function isJetStoreError(err: unknown, code?: ErrorCode): err is JetStoreError {
  return err instanceof JetStoreError && (code === undefined || err.code === code);
}

export function invalidArgument(message: string): JetStoreError {
  return new JetStoreError("ErrInvalidArgument", message);
}

export function outOfRange(message: string): JetStoreError {
  return new JetStoreError("ErrOutOfRange", message);
}

export function corrupt(message: string, where?: CorruptLocation): JetStoreError {
  return new JetStoreError("ErrCorrupt", message, where);
}

/**
 * Maps an operating-system error from any runtime's filesystem API to a typed
 * error. Node, Bun and Deno all expose the POSIX name in `code` (Deno also as
 * the class name), so one mapping serves every adapter.
 */
export function fromSystemError(err: unknown, operation: string, path: string): JetStoreError {
  if (err instanceof JetStoreError) return err;
  const sys = err as { code?: string; name?: string; message?: string };
  const posix = sys?.code ?? "";
  const name = sys?.name ?? "";
  const detail = `${operation} ${path}: ${sys?.message ?? String(err)}`;
  if (posix === "ENOSPC" || posix === "EDQUOT" || /no space/i.test(sys?.message ?? "")) {
    return new JetStoreError("ErrNoSpace", `No space left on device: ${detail}`, { cause: err });
  }
  if (posix === "ENOENT" || name === "NotFound") {
    return new JetStoreError("ErrNotFound", `Not found: ${detail}`, { cause: err });
  }
  return new JetStoreError("ErrIO", `I/O error: ${detail}`, { cause: err });
}
