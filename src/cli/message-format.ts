/**
 * Messages as the CLI prints them: one readable line each for `cat`, a JSON
 * object for `cat --json`, and the export record (every byte kept, base64)
 * for `export` / `import`.
 */
import type { StoredMsg } from "../types.ts";
import { isoTime, paint, type Sink } from "./output.ts";

const strict = new TextDecoder("utf-8", { fatal: true });
// Control characters other than tab would break a one-line view.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** `bytes` as text when they are UTF-8, else null. */
export function utf8(bytes: Uint8Array): string | null {
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** NATS headers ("NATS/1.0\r\nKey: Value\r\n\r\n") as "Key: Value; Key: Value". */
export function headerText(hdr: Uint8Array): string {
  const text = utf8(hdr);
  if (text === null) return `base64:${toBase64(hdr)}`;
  const lines = text.split("\r\n").filter((l) => l.length > 0);
  if (lines[0]?.startsWith("NATS/")) lines.shift();
  return lines.join("; ");
}

/** A payload on one line: as is when plain UTF-8, quoted with escapes, or base64. */
function payloadText(msg: Uint8Array): string {
  const text = utf8(msg);
  if (text === null) return `base64:${toBase64(msg)}`;
  return CONTROL.test(text) ? JSON.stringify(text) : text;
}

/** The readable line `cat` prints. */
export function messageLine(m: StoredMsg, sink: Sink): string {
  const hdr =
    m.hdr === null || m.hdr.length === 0
      ? ""
      : ` ${paint(sink, "yellow", `{${headerText(m.hdr)}}`)}`;
  return `${paint(sink, "dim", `#${m.seq}`)} ${paint(sink, "dim", isoTime(m.ts))} ${paint(sink, "cyan", m.subject)}${hdr} ${payloadText(m.msg)}\n`;
}

/** The object `cat --json` prints: text where the bytes are UTF-8, else base64. */
export function messageJson(m: StoredMsg): Record<string, unknown> {
  const text = utf8(m.msg);
  return {
    seq: m.seq,
    subject: m.subject,
    ts: m.ts.toString(),
    time: isoTime(m.ts),
    headers: m.hdr === null ? null : (utf8(m.hdr) ?? toBase64(m.hdr)),
    payload: text ?? toBase64(m.msg),
    encoding: text === null ? "base64" : "utf8",
  };
}

/** One line of an export: every byte kept, so `import` stores the same message. */
export interface ExportRecord {
  subject: string;
  seq: number;
  /** Nanoseconds since the epoch, as a decimal string. */
  ts: string;
  /** Headers in base64, or null. */
  hdr: string | null;
  /** Payload in base64. */
  msg: string;
  /** The message's TTL in seconds (-1: never expires); left out when it has none. */
  ttl?: number;
}

export function exportRecord(m: StoredMsg, ttl: number): ExportRecord {
  const record: ExportRecord = {
    subject: m.subject,
    seq: m.seq,
    ts: m.ts.toString(),
    hdr: m.hdr === null ? null : toBase64(m.hdr),
    msg: toBase64(m.msg),
  };
  if (ttl !== 0) record.ttl = ttl;
  return record;
}
