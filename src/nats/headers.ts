/**
 * NATS header blocks as raw bytes (`NATS/1.0[ status]\r\nKey: value\r\n…\r\n`).
 * The replication sends a local message's header bytes unchanged, with its
 * own lines (`Nats-Msg-Id`, `Nats-Expected-Stream`, the expectation)
 * inserted first, so the server (which reads the first occurrence of a key)
 * dedupes and checks on them while every original byte follows as it was. The client's `MsgHdrs` would reorder,
 * trim and merge repeated keys; these helpers never do.
 */
import type { MsgHdrs } from "@nats-io/nats-core";
import { sameBytes } from "../bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PREFIX = enc.encode("NATS/1.0");
const CRLF = "\r\n";

/** True when `hdr` is a NATS header block the server will take: the version line, CRLF-terminated lines, an empty last line. */
export function isHeaderBlock(hdr: Uint8Array): boolean {
  if (hdr.length < PREFIX.length + 4) return false;
  if (!sameBytes(hdr, 0, PREFIX, 0, PREFIX.length)) return false;
  const n = hdr.length;
  return hdr[n - 4] === 13 && hdr[n - 3] === 10 && hdr[n - 2] === 13 && hdr[n - 1] === 10;
}

/**
 * A header block made of `lines` (each `Key: value`, no CRLF) followed by the
 * lines of `original` (a header block, or null for none); `original`'s
 * version line is kept when it carries a status.
 */
export function withLeadingLines(original: Uint8Array | null, lines: string[]): Uint8Array {
  const head = lines.map((l) => l + CRLF).join("");
  if (original === null) return enc.encode(`NATS/1.0${CRLF}${head}${CRLF}`);
  const firstEnd = indexOfCrlf(original, 0);
  const version = original.subarray(0, firstEnd + 2);
  const rest = original.subarray(firstEnd + 2);
  const headBytes = enc.encode(head);
  const out = new Uint8Array(version.length + headBytes.length + rest.length);
  out.set(version, 0);
  out.set(headBytes, version.length);
  out.set(rest, version.length + headBytes.length);
  return out;
}

/**
 * Undoes `withLeadingLines(original, lines)` given how many lines were put
 * first: the original block, or null when it had none (only the version
 * line and the inserted lines remain).
 */
export function withoutLeadingLines(hdr: Uint8Array, count: number): Uint8Array | null {
  const firstEnd = indexOfCrlf(hdr, 0);
  let at = firstEnd + 2;
  for (let i = 0; i < count; i++) at = indexOfCrlf(hdr, at) + 2;
  const version = hdr.subarray(0, firstEnd + 2);
  const rest = hdr.subarray(at);
  if (rest.length === 2 && version.length === PREFIX.length + 2) return null;
  const out = new Uint8Array(version.length + rest.length);
  out.set(version, 0);
  out.set(rest, version.length);
  return out;
}

/** The value of the first `key:` line of a header block (exact key), or null. */
export function headerValue(hdr: Uint8Array | null | undefined, key: string): string | null {
  if (!hdr || hdr.length === 0) return null;
  const lines = dec.decode(hdr).split(CRLF);
  const want = `${key}:`;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].startsWith(want)) return lines[i].slice(want.length).trim();
  }
  return null;
}

/**
 * The client sends headers through `encode()` alone; this hands it bytes
 * that are already a header block, unchanged.
 */
export function rawHeaders(bytes: Uint8Array): MsgHdrs {
  return { encode: () => bytes } as unknown as MsgHdrs;
}

function indexOfCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return b.length - 2;
}

/**
 * The headers a local message had before `replicate` sent it: the header
 * block of a message read back from the server without the lines the
 * replication put first (`Nats-Msg-Id`, `Nats-Expected-Stream`, the
 * expectation; earlier versions of jetstore put no `Nats-Expected-Stream`);
 * null when it had none. A block that does not start with them is returned
 * as it is.
 */
export function originalHeaders(hdr: Uint8Array | null): Uint8Array | null {
  if (hdr === null || !isHeaderBlock(hdr)) return hdr;
  const lines = dec.decode(hdr).split(CRLF);
  if (!lines[1]?.startsWith("Nats-Msg-Id:")) return hdr;
  const leading = lines[2]?.startsWith("Nats-Expected-Stream:") ? 3 : 2;
  if (!lines[leading]?.startsWith("Nats-Expected-Last-")) return hdr;
  return withoutLeadingLines(hdr, leading);
}
