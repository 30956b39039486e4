/**
 * `jetstore backup DIR FILE` and `jetstore restore FILE DIR`: a store's
 * snapshot archive (README "Backup and restore", FORMAT.md "Snapshot
 * archive") to a file and back. Backup is a read command: it takes no lock
 * and changes nothing, so it runs beside the application using the store.
 */
import { createReadStream, lstatSync, readlinkSync, realpathSync } from "node:fs";
import process from "node:process";
import { defaultFileSystem } from "../../../runtimes/detect.ts";
import { atExit } from "../../../runtimes/exit.ts";
import type { FileSystem } from "../../../runtimes/fs.ts";
import { JetStoreError } from "../../errors.ts";
import { FileStore } from "../../filestore/filestore.ts";
import { parentOf } from "../../filestore/store-directory.ts";
import { size } from "../../verify-summary.ts";
import { type Command, EXIT_OK, flag } from "../command.ts";
import { openReadOnly } from "../open-store.ts";
import { count } from "../output.ts";
import { type Progress, progress } from "../progress.ts";

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
or absent; one already there must be a regular file; a symbolic link gets
the archive where it points), or to stdout when FILE is - (refused when
stdout is a terminal). Takes no lock and changes nothing on disk: it runs
while another process writes. An encrypted store's archive holds ciphertext
and needs the key to restore, unless --plaintext.

  --uncompressed   no Snappy frames: about 1.5× as fast, a larger archive
  --plaintext      an encrypted store's messages in plaintext (restores without the key)

example:
  jetstore backup ./data data.snapshot`,
  options: { uncompressed: { type: "boolean" }, plaintext: { type: "boolean" } },
  positionals: { min: 2, max: 2 },
  needsKey: true,
  async run(call) {
    const [dir, given] = call.positionals as [string, string];
    const file = given === "-" ? given : linkTarget(given);
    if (file !== "-") checkArchiveTarget(file);
    else if (call.io.out.tty) {
      // As gzip does: binary on a terminal is garbage on the screen, and may be control codes.
      throw new JetStoreError(
        "ErrInvalidArgument",
        "backup - writes a binary archive to stdout, which is a terminal: redirect it (jetstore backup DIR - > data.snapshot) or give a FILE",
      );
    }
    const store = await openReadOnly(dir, call.key);
    const bar = progress(call.io.err, "backup");
    try {
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
      if (file === "-") {
        for await (const chunk of archive) await call.io.out.write(chunk);
      } else {
        await writeWhole(defaultFileSystem(), file, archive);
      }
      return EXIT_OK;
    } finally {
      bar.end();
      await store.close();
    }
  },
};

/**
 * Where FILE points when it is a symbolic link, else FILE: renamed onto, the
 * link itself would become the archive and what it points to stay stale, so
 * the archive is written (and renamed into place) at the link's target, as
 * cp writes through a link. A link that leads nowhere is refused, as GNU cp
 * refuses to write through a dangling one.
 */
function linkTarget(file: string): string {
  try {
    if (!lstatSync(file).isSymbolicLink()) return file;
  } catch {
    // Not there (or not to be looked at): writing it reports that.
    return file;
  }
  try {
    return realpathSync(file);
  } catch (err) {
    const why =
      (err as { code?: string }).code === "ENOENT"
        ? "which does not exist"
        : "which cannot be followed";
    throw new JetStoreError(
      "ErrInvalidArgument",
      `${file} is a symbolic link to ${readlinkSync(file)}, ${why}: give the archive's path itself`,
      { cause: err },
    );
  }
}

/**
 * Refuses a FILE that is there and is not a regular file, before any work:
 * the archive is renamed onto it, which would fail on a directory only once
 * the whole archive is written, and would replace a device or a named pipe
 * (/dev/stdout, a FIFO a reader waits on) with a regular file. `-` and a
 * redirect write into those.
 */
function checkArchiveTarget(file: string): void {
  const stat = defaultFileSystem().stat(file);
  if (stat === null || stat.isFile) return;
  const what = stat.isDirectory ? "a directory" : "not a regular file";
  throw new JetStoreError(
    "ErrInvalidArgument",
    `${file} is ${what}: FILE is replaced by the archive (use - to write to stdout)`,
  );
}

/**
 * Writes `chunks` to `file` whole or not at all: into a temporary file
 * beside it (its own name, so two backups to one FILE cannot write into
 * each other's), fsynced before it is renamed into place and the directory
 * fsynced after, so a power cut once this returns keeps the whole archive
 * and one before leaves the old FILE or none, never a torn one. A failure
 * or a normal exit (Ctrl-C too, main.ts) removes the temporary file.
 */
export async function writeWhole(
  fs: FileSystem,
  file: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  const temp = `${file}.tmp-${randomHex()}`;
  const handle = fs.open(temp, "createNew", 0o600);
  const leaveExit = atExit(() => fs.remove(temp));
  let open = true;
  let renamed = false;
  try {
    let at = 0;
    for await (const chunk of chunks) {
      handle.write(chunk, at);
      at += chunk.length;
    }
    handle.sync();
    open = false;
    handle.close();
    fs.rename(temp, file);
    renamed = true;
    fs.syncDirectory(parentOf(file));
  } finally {
    if (open) handle.close();
    if (!renamed) {
      try {
        fs.remove(temp);
      } catch {
        // Its name says what it is; the failure that brought us here is the one to report.
      }
    }
    leaveExit();
  }
}

function randomHex(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

export const restoreCommand: Command = {
  name: "restore",
  summary: "make a store from a snapshot archive (a file, or - for stdin)",
  usage: "restore FILE DIR",
  help: `Writes the store a snapshot archive holds into DIR, which must not exist or
be empty, with its consumers; FILE - reads the archive from stdin (refused
when stdin is a terminal). A damaged or cut archive is refused (ErrCorrupt)
and nothing is left at DIR. An encrypted archive needs the store's key
(--key-file). Quiet on success.

example:
  jetstore restore data.snapshot ./restored`,
  options: {},
  positionals: { min: 2, max: 2 },
  needsKey: true,
  async run(call) {
    const [file, dir] = call.positionals as [string, string];
    let source: AsyncIterable<Uint8Array>;
    let total = 0;
    if (file === "-") {
      // Waiting for an archive typed at the keyboard would look like a hang.
      if (process.stdin.isTTY === true) {
        throw new JetStoreError(
          "ErrInvalidArgument",
          "restore - reads the archive from stdin, which is a terminal: jetstore restore - DIR < data.snapshot",
        );
      }
      source = process.stdin as AsyncIterable<Uint8Array>;
    } else {
      const stream = createReadStream(file);
      // Opening errors surface as the first read's; wait for the open to name the file.
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", (err) => reject(ioError(err, file)));
      });
      source = stream as AsyncIterable<Uint8Array>;
      total = defaultFileSystem().stat(file)?.size ?? 0;
    }
    const bar = progress(call.io.err, "restore");
    try {
      const read = readThrough(source, file === "-" ? "stdin" : file, total, bar);
      const store = await FileStore.restore(dir, read, { key: call.key, syncIntervalMs: 0 });
      await store.close();
      return EXIT_OK;
    } finally {
      bar.end();
    }
  },
};

/**
 * The archive's bytes as they are read, counted for the progress line (the
 * store is built as fast as they come, so bytes read are the work done),
 * and a read error (a directory given as FILE, a failing disk) as ErrIO
 * naming what was read.
 */
async function* readThrough(
  source: AsyncIterable<Uint8Array>,
  name: string,
  total: number,
  bar: Progress,
): AsyncGenerator<Uint8Array> {
  const chunks = source[Symbol.asyncIterator]();
  let done = 0;
  let ended = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (err) {
        ended = true;
        throw ioError(err, name);
      }
      ended = next.done === true;
      if (ended) return;
      done += next.value.length;
      bar.update(done, total, total > 0 ? `${size(done)} of ${size(total)}` : `${size(done)} read`);
      yield next.value;
    }
  } finally {
    // A restore that stops early (a damaged archive) closes the file now.
    if (!ended) await chunks.return?.();
  }
}
