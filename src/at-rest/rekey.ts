/**
 * Key rotation: the store's data key is wrapped again under a new key and
 * the settings file replaced atomically. Blocks and the checkpoint are
 * sealed under keys derived from the data key, so none of them is touched:
 * rotation takes one small write however large the store. (Someone holding
 * the old key and an old copy of the settings file can still read the
 * data. A conversion to another cipher keeps the data key, so it does not
 * change that; only a conversion to no cipher drops it.)
 */

import { prepareCrypto } from "../../runtimes/aead.ts";
import { defaultFileSystem } from "../../runtimes/detect.ts";
import type { FileSystem } from "../../runtimes/fs.ts";
import { invalidArgument } from "../errors.ts";
import { checkFsOption, checkKeyOption } from "../filestore/options.ts";
import { describeValue } from "../validate.ts";
import { badKey, encodeSettings, readSettings, unwrapDataKey, writeSettings } from "./settings.ts";

/** Options of `FileStore.rekey`. */
export interface RekeyOptions {
  /** Directory of the store (closed: rekey takes its lock). */
  dir: string;
  /** The key the store is encrypted with now. */
  key: Uint8Array;
  /** The key it will open with from now on. */
  newKey: Uint8Array;
  /** Filesystem adapter; defaults to the runtime's own. */
  fs?: FileSystem | undefined;
  /** Permission bits of the settings file written (default 0o600). */
  fileMode?: number | undefined;
}

const REKEY_KEYS = ["dir", "key", "newKey", "fs", "fileMode"];

/** Checks `options`; throws ErrInvalidArgument naming the first bad one. */
export function checkRekeyOptions(
  options: unknown,
): Required<Omit<RekeyOptions, "fileMode">> & { fileMode: number } {
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(
      `Invalid rekey options: expected an object, got ${describeValue(options)}`,
    );
  }
  const o = options as RekeyOptions;
  for (const name of Object.keys(o)) {
    if (!REKEY_KEYS.includes(name))
      throw invalidArgument(`Invalid rekey option ${name}: no such option`);
  }
  if (typeof o.dir !== "string" || o.dir.length === 0) {
    throw invalidArgument(
      `Invalid rekey option dir: must be a non-empty string, got ${describeValue(o.dir)}`,
    );
  }
  for (const name of ["key", "newKey"] as const) checkKeyOption("rekey", name, o[name]);
  const fs = o.fs ?? defaultFileSystem();
  checkFsOption("rekey", fs);
  const fileMode = o.fileMode ?? 0o600;
  if (
    !Number.isInteger(fileMode) ||
    fileMode < 0o600 ||
    fileMode > 0o777 ||
    (fileMode & 0o600) !== 0o600
  ) {
    throw invalidArgument(
      `Invalid rekey option fileMode: must be permission bits from 0o600 to 0o777, got ${describeValue(fileMode)}`,
    );
  }
  return {
    dir: o.dir.replace(/\/+$/, "") || "/",
    key: o.key.slice(),
    newKey: o.newKey.slice(),
    fs,
    fileMode,
  };
}

/**
 * `FileStore.rekey`: the key is checked before the lock is taken, so a wrong
 * key changes nothing (not even LOCK), then again under the lock, which is
 * what the new settings are written from (another process may have changed
 * them in between).
 */
export async function rekeyStore(options: RekeyOptions): Promise<void> {
  const { fs, dir, key, newKey, fileMode } = checkRekeyOptions(options);
  try {
    await prepareCrypto();
    const stored = readSettings(fs, dir);
    if (stored === null || stored.wrapped === null) throw badKey("the store is not encrypted");
    unwrapDataKey(stored, key).fill(0);
    const lock = fs.lock(dir, fileMode);
    try {
      rekeyLocked(fs, dir, key, newKey, fileMode);
    } finally {
      lock.release();
    }
  } finally {
    key.fill(0);
    newKey.fill(0);
  }
}

/** Wraps `dir`'s data key under `newKey`; `dir` must be locked by the caller. */
function rekeyLocked(
  fs: FileSystem,
  dir: string,
  key: Uint8Array,
  newKey: Uint8Array,
  fileMode: number,
): void {
  const stored = readSettings(fs, dir);
  if (stored === null || stored.wrapped === null) throw badKey("the store is not encrypted");
  const dataKey = unwrapDataKey(stored, key);
  try {
    const bytes = encodeSettings(
      { compression: stored.compression, cipher: stored.cipher, dataKey },
      newKey,
    );
    writeSettings(fs, dir, bytes, fileMode);
  } finally {
    dataKey.fill(0);
  }
}
