/**
 * Byte accounting of a stored message, shared by every engine so that
 * `state().bytes` is the same number whichever engine holds the stream. A
 * message counts exactly the size of its encoded record (src/format.ts):
 * fixed header, subject, headers, payload, checksum, and the TTL field when
 * the message has one. nats-server's memory store counts a cheaper estimate
 * (subject + headers + payload + 16); one rule for both engines was preferred
 * so limits such as `maxBytes` mean the same thing everywhere.
 */
import { REC_CHECKSUM_SIZE, REC_HEADER_SIZE, REC_TTL_SIZE } from "./format.ts";

/** Accounted bytes of a message: its encoded record length. `ttl` 0 means no TTL field. */
export function recordSize(
  subjectBytes: number,
  hdrLen: number,
  msgLen: number,
  ttl: number,
): number {
  const base = REC_HEADER_SIZE + subjectBytes + hdrLen + msgLen + REC_CHECKSUM_SIZE;
  return ttl === 0 ? base : base + REC_TTL_SIZE;
}
