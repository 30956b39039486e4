/**
 * Opening a store for a command. Read commands open it through the
 * read-only overlay (readonly-fs.ts): no lock, nothing written, so they work
 * on a store another process has open and leave the disk as it was. Write
 * commands open it as an application does and so are refused
 * (ErrStoreLocked) while another process holds it.
 */
import { defaultFileSystem } from "../../runtimes/detect.ts";
import { JetStoreError } from "../errors.ts";
import { FileStore } from "../filestore/filestore.ts";
import type { StreamLimits } from "../types.ts";
import { checkHoldsStore } from "../verify.ts";
import { readOnlyOverlay } from "./readonly-fs.ts";

/** ErrNotFound or ErrNotAStore unless `dir` holds a store. */
export function checkStoreExists(dir: string): void {
  checkHoldsStore(defaultFileSystem(), dir);
}

/** The store in `dir`, seen without a lock and without changing a byte on disk. */
export async function openReadOnly(dir: string, key: Uint8Array | undefined): Promise<FileStore> {
  checkStoreExists(dir);
  const fs = readOnlyOverlay(defaultFileSystem());
  return FileStore.open({ dir, fs, key, syncIntervalMs: 0 });
}

/** The store in `dir`, opened for writing (`create` allows a new one) with `limits`. */
export async function openWritable(
  dir: string,
  key: Uint8Array | undefined,
  create = false,
  limits: StreamLimits = {},
): Promise<FileStore> {
  if (!create) checkStoreExists(dir);
  try {
    return await FileStore.open({ ...limits, dir, key, syncIntervalMs: 0 });
  } catch (err) {
    if (err instanceof JetStoreError && err.code === "ErrStoreLocked") {
      throw new JetStoreError(
        "ErrStoreLocked",
        `${dir} is open in another process; close it there first (read commands such as info and cat work meanwhile)`,
        { cause: err },
      );
    }
    throw err;
  }
}
