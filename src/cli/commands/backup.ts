/**
 * `jetstore backup DIR FILE` and `jetstore restore FILE DIR`: a store's
 * snapshot archive (README "Backup and restore", FORMAT.md "Snapshot
 * archive") to a file and back. Backup is a read command: it takes no lock
 * and changes nothing, so it runs beside the application using the store.
 */
import { closeSync, createReadStream, openSync, renameSync, rmSync, writeSync } from "node:fs";
import process from "node:process";
import { JetStoreError } from "../../errors.ts";
import { FileStore } from "../../filestore/filestore.ts";
import { size } from "../../verify-summary.ts";
import { type Command, EXIT_OK, flag } from "../command.ts";
import { openReadOnly } from "../open-store.ts";
import { count } from "../output.ts";
import { progress } from "../progress.ts";

/** A system error from node:fs as a JetStoreError naming the file. */
function ioError(err: unknown, path: string): JetStoreError {
  const why = (err as { code?: string }).code ?? (err as Error).message;
  return new JetStoreError("ErrIO", `${path}: ${why}`, { cause: err });
}

export const backupCommand: Command = {
  name: "backup",
  summary: "write a snapshot archive of a store to a file (or - for stdout)",
  usage: "backup DIR FILE [--uncompressed] [--plaintext]",
  help: `Writes a point-in-time snapshot archive of the store in DIR, its consumers
included, to FILE (written beside it and renamed into place, so FILE is whole
or absent), or to stdout when FILE is -. Takes no lock and changes nothing on
disk: it runs while another process writes. An encrypted store's archive
holds ciphertext and needs the key to restore, unless --plaintext.

  --uncompressed   no Snappy frames: about twice as fast, a larger archive
  --plaintext      an encrypted store's messages in plaintext (restores without the key)

example:
  jetstore backup ./data data.snapshot`,
  options: { uncompressed: { type: "boolean" }, plaintext: { type: "boolean" } },
  positionals: { min: 2, max: 2 },
  needsKey: true,
  async run(call) {
    const [dir, file] = call.positionals as [string, string];
    const store = await openReadOnly(dir, call.key);
    const bar = progress(call.io.err, "backup");
    const temp = `${file}.tmp`;
    let fd = -1;
    try {
      if (file !== "-") {
        try {
          fd = openSync(temp, "w", 0o600);
        } catch (err) {
          throw ioError(err, temp);
        }
      }
      const archive = store.snapshot({
        consumers: true,
        compress: !flag(call, "uncompressed"),
        plaintext: flag(call, "plaintext"),
        onProgress: (p) =>
          bar.update(
            p.msgs,
            p.totalMsgs,
            `${count(p.msgs)} of ${count(p.totalMsgs)} messages, ${size(p.bytes)}`,
          ),
      });
      for await (const chunk of archive) {
        if (fd < 0) {
          await call.io.out.write(chunk);
          continue;
        }
        try {
          for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
        } catch (err) {
          throw ioError(err, temp);
        }
      }
      if (fd >= 0) {
        closeSync(fd);
        fd = -1;
        renameSync(temp, file);
      }
      return EXIT_OK;
    } finally {
      bar.end();
      if (fd >= 0) {
        closeSync(fd);
        rmSync(temp, { force: true });
      }
      await store.close();
    }
  },
};

export const restoreCommand: Command = {
  name: "restore",
  summary: "make a store from a snapshot archive (a file, or - for stdin)",
  usage: "restore FILE DIR",
  help: `Writes the store a snapshot archive holds into DIR, which must not exist or
be empty, with its consumers; FILE - reads the archive from stdin. A damaged
or cut archive is refused (ErrCorrupt) and nothing is left at DIR. An
encrypted archive needs the store's key (--key-file). Quiet on success.

example:
  jetstore restore data.snapshot ./restored`,
  options: {},
  positionals: { min: 2, max: 2 },
  needsKey: true,
  async run(call) {
    const [file, dir] = call.positionals as [string, string];
    let source: AsyncIterable<Uint8Array>;
    if (file === "-") {
      source = process.stdin as AsyncIterable<Uint8Array>;
    } else {
      const stream = createReadStream(file);
      // Opening errors surface as the first read's; wait for the open to name the file.
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", (err) => reject(ioError(err, file)));
      });
      source = stream as AsyncIterable<Uint8Array>;
    }
    const store = await FileStore.restore(dir, source, { key: call.key, syncIntervalMs: 0 });
    await store.close();
    return EXIT_OK;
  },
};
