/**
 * At open: what the store was written with (its settings file), what the
 * caller asks for, and the key check, all before any file is touched, so a
 * wrong key changes nothing. Unset options keep the store's own settings; a
 * different cipher or compression is a conversion (new blocks at once, old
 * ones rewritten in the background).
 */

import { KEY_BYTES, randomBytes } from "../../runtimes/aead.ts";
import type { FileSystem } from "../../runtimes/fs.ts";
import { invalidArgument } from "../errors.ts";
import { type FileFormat, PLAIN, Sealer, sameFormat } from "./sealer.ts";
import {
  badKey,
  type Cipher,
  type Compression,
  encodeSettings,
  readSettings,
  unwrapDataKey,
} from "./settings.ts";

export interface AtRestRequest {
  cipher: Cipher | undefined;
  compression: Compression | undefined;
  key: Uint8Array | null;
}

export interface AtRestOpen {
  sealer: Sealer;
  /** The settings file to write once the store is locked; null when it stays as it is. */
  settings: Uint8Array | null;
}

/** Reads `dir`'s settings and checks the key; throws ErrBadKey or ErrInvalidArgument having changed nothing. */
export function resolveAtRest(fs: FileSystem, dir: string, request: AtRestRequest): AtRestOpen {
  const { key } = request;
  try {
    const stored = readSettings(fs, dir);
    const current: FileFormat = stored ?? PLAIN;
    const target: FileFormat = {
      compression: request.compression ?? current.compression,
      cipher: request.cipher ?? current.cipher,
    };
    let dataKey: Uint8Array | null = null;
    let changed = stored === null ? !sameFormat(target, PLAIN) : !sameFormat(target, current);
    if (stored?.wrapped) {
      if (key === null) throw badKey("the store is encrypted and no key was given");
      dataKey = unwrapDataKey(stored, key);
    } else if (target.cipher !== "none") {
      if (key === null) {
        throw invalidArgument(
          `Invalid FileStore option key: cipher ${target.cipher} needs a key of ${KEY_BYTES} bytes`,
        );
      }
      dataKey = randomBytes(KEY_BYTES);
      changed = true;
    } else if (key !== null) {
      throw invalidArgument(
        "Invalid FileStore option key: the store is not encrypted and no cipher was asked for",
      );
    }
    const settings = changed ? encodeSettings({ ...target, dataKey }, key) : null;
    const mayHoldSealed = stored !== null || !sameFormat(target, PLAIN);
    return { sealer: new Sealer(target, dataKey, mayHoldSealed), settings };
  } finally {
    key?.fill(0);
  }
}
