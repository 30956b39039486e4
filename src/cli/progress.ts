/**
 * Progress of long work on stderr: a bar redrawn in place on a terminal, a
 * plain line at most once a second when stderr is piped, so logs stay short.
 */
import type { Sink } from "./output.ts";

export interface Progress {
  /** Reports `done` of `total` (total 0: unknown), with a short note. */
  update(done: number, total: number, note: string): void;
  /** Clears the bar (the last plain line stays). */
  end(): void;
}

/**
 * A progress reporter for `what` ("verify", "export" …) writing to `err`.
 * Work done within the first second prints nothing unless `finalLine`
 * asks for the last line whatever the time (verify's summary of blocks).
 */
export function progress(
  err: Sink,
  what: string,
  finalLine = false,
  now: () => number = Date.now,
): Progress {
  let last = now();
  let drawn = false;
  let printed = finalLine;
  // Work goes on past 100 % (a backup's consumers and trailer): a log shows that line once.
  let finishedShown = false;
  // Fire and forget: progress is never worth waiting for, and stderr keeps order.
  const write = (text: string) => void err.write(text);
  return {
    update(done, total, note) {
      const t = now();
      const finished = total > 0 && done >= total;
      if (finished && finishedShown && !err.tty) return;
      if (t - last < (err.tty ? 100 : 1000) && !(finished && printed)) return;
      printed = true;
      finishedShown = finished;
      last = t;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const pct = total > 0 ? `${Math.floor(fraction * 100)}%` : "";
      if (err.tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        const bar = total > 0 ? `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ` : "";
        write(`\r${what} ${bar}${pct.padStart(4)} ${note}\x1b[K`);
        drawn = true;
      } else {
        write(`${what}: ${pct === "" ? "" : `${pct} `}${note}\n`);
      }
    },
    end() {
      if (drawn) write("\r\x1b[K");
      drawn = false;
    },
  };
}
