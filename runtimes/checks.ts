/**
 * Argument checks shared by every filesystem adapter, so a bad path, mode,
 * buffer or position gets the same ErrInvalidArgument on disk and in memory,
 * before anything is touched. Letting each runtime reject bad input its own
 * way was rejected: Node throws TypeErrors, Deno throws its own classes, and
 * some inputs (NaN positions, NUL in paths) are silently coerced somewhere.
 */
import { invalidArgument, JetStoreError } from "../src/errors.ts";
import { describeValue } from "../src/validate.ts";
import type { OpenMode } from "./fs.ts";

const OPEN_MODES: readonly OpenMode[] = ["read", "write", "create", "createNew"];

/** Throws ErrInvalidArgument unless `path` is a non-empty string without NUL. */
export function checkPath(path: unknown, action: string): asserts path is string {
  if (typeof path !== "string") {
    throw invalidArgument(`Cannot ${action}: path must be a string, got ${describeValue(path)}`);
  }
  if (path.length === 0) throw invalidArgument(`Cannot ${action}: path is empty`);
  if (path.includes("\0")) {
    throw invalidArgument(`Cannot ${action} ${describeValue(path)}: path contains a NUL character`);
  }
}

export function checkMode(mode: unknown, path: string): asserts mode is OpenMode {
  if (!OPEN_MODES.includes(mode as OpenMode)) {
    throw invalidArgument(
      `Cannot open ${path}: mode must be one of ${OPEN_MODES.join(", ")}, got ${describeValue(mode)}`,
    );
  }
}

/** Throws ErrInvalidArgument unless `bits` are permission bits (an integer from 0 to 0o777). */
export function checkPermissions(
  bits: unknown,
  action: string,
  path: string,
): asserts bits is number {
  if (typeof bits !== "number" || !Number.isInteger(bits) || bits < 0 || bits > 0o777) {
    throw invalidArgument(
      `Cannot ${action} ${path}: permissions must be an integer from 0 to 0o777, got ${describeValue(bits)}`,
    );
  }
}

/** Checks a buffer and a byte position for a positional read or write. */
export function checkIo(buf: unknown, position: unknown, action: string, path: string): void {
  if (!(buf instanceof Uint8Array)) {
    throw invalidArgument(
      `Cannot ${action} ${path}: buffer must be a Uint8Array, got ${describeValue(buf)}`,
    );
  }
  checkOffset(position, `${action} ${path}`, "position");
  if ((position as number) + buf.length > Number.MAX_SAFE_INTEGER) {
    throw invalidArgument(
      `Cannot ${action} ${path}: position ${position} plus ${buf.length} bytes passes 2^53 - 1`,
    );
  }
}

/** Throws ErrInvalidArgument unless `value` is a safe non-negative integer. */
export function checkOffset(value: unknown, action: string, what: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(
      `Cannot ${action}: ${what} must be a non-negative safe integer, got ${describeValue(value)}`,
    );
  }
}

/** The error for any use of a handle after `close`. */
export function closedFile(action: string, path: string): JetStoreError {
  return new JetStoreError("ErrIO", `Cannot ${action} ${path}: the file is closed`);
}
