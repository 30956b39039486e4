/**
 * Archives of encrypted stores hold ciphertext: every frame after the header
 * is sealed in the store's envelope (the checkpoint's "JSCE", FORMAT.md "At
 * rest") under a key derived from the store's data key, and the header
 * carries the store's settings file, whose wrapped data key the restore
 * opens with the caller's `key`. A wrong key is ErrBadKey; a sealed frame
 * that does not open with the right one is damage.
 */
import type { FileSystem } from "../../runtimes/fs.ts";
import { joinPath } from "../../runtimes/fs.ts";
import { Sealer } from "../at-rest/sealer.ts";
import { ATREST_FILE, badKey, decodeSettings, unwrapDataKey } from "../at-rest/settings.ts";
import { corrupt } from "../errors.ts";

/** How a snapshot seals its frames: the store's sealer and its settings file. @internal */
export interface ArchiveSealing {
  sealer: Sealer;
  /** The settings file's bytes, hex in the archive's header. */
  settings: Uint8Array;
}

/** The sealing of a store whose settings name a cipher, else null. @internal */
export function storeSealing(fs: FileSystem, dir: string, sealer: Sealer): ArchiveSealing | null {
  if (sealer.target.cipher === "none" || !sealer.hasDataKey) return null;
  const path = joinPath(dir, ATREST_FILE);
  const stat = fs.stat(path);
  if (stat === null) return null;
  const handle = fs.open(path, "read");
  try {
    const bytes = new Uint8Array(stat.size);
    return { sealer, settings: bytes.subarray(0, handle.read(bytes, 0)) };
  } finally {
    handle.close();
  }
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The sealer that opens an archive whose header holds `settingsHex`, with
 * `key`; ErrBadKey without a key or with another one.
 */
export function archiveOpener(settingsHex: string, key: Uint8Array | undefined): Sealer {
  if (!/^([0-9a-f]{2})+$/.test(settingsHex))
    throw corrupt("Cannot restore: the archive's key settings are damaged");
  const bytes = new Uint8Array(settingsHex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(settingsHex.slice(2 * i, 2 * i + 2), 16);
  const stored = decodeSettings(bytes, "snapshot archive settings");
  if (stored.wrapped === null)
    throw corrupt("Cannot restore: the archive is sealed but holds no wrapped key");
  if (key === undefined) throw badKey("the archive is encrypted and no key was given");
  const dataKey = unwrapDataKey(stored, key);
  return new Sealer({ compression: stored.compression, cipher: stored.cipher }, dataKey);
}
