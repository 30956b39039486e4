/**
 * Where the CLI writes: stdout for results, stderr for errors and progress.
 * Colour only on a terminal and never with NO_COLOR (no-color.org). Writes
 * wait for the stream to drain, so `cat` of a large store keeps its memory
 * flat when piped into a slow reader.
 */
import process from "node:process";

/** A stream the CLI writes to. */
export interface Sink {
  write(text: string | Uint8Array): Promise<void>;
  readonly tty: boolean;
  readonly colour: boolean;
}

/** stdout and stderr as the CLI uses them. */
export interface Output {
  out: Sink;
  err: Sink;
}

function colourWanted(tty: boolean): boolean {
  const noColor = process.env.NO_COLOR;
  return tty && (noColor === undefined || noColor === "");
}

function sink(stream: NodeJS.WriteStream): Sink {
  const tty = stream.isTTY === true;
  return {
    tty,
    colour: colourWanted(tty),
    write(text: string | Uint8Array): Promise<void> {
      if (stream.write(text)) return Promise.resolve();
      return new Promise((resolve) => stream.once("drain", () => resolve()));
    },
  };
}

/** The process's own stdout and stderr. */
export function processOutput(): Output {
  // A reader that went away (`jetstore cat DIR | head`) has what it wanted: stop quietly, as cat(1) does.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  return { out: sink(process.stdout), err: sink(process.stderr) };
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

/** `text` in a style when `sink` shows colour, else as it is. */
export function paint(sink: Sink, style: keyof typeof CODES, text: string): string {
  if (!sink.colour) return text;
  const [on, off] = CODES[style];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en");
}

/** Nanoseconds since the epoch as an ISO 8601 time with nanoseconds ("" for 0). */
export function isoTime(ns: bigint): string {
  if (ns === 0n) return "";
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** JSON.stringify that writes bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), indent);
}
