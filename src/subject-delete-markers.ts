/**
 * Subject delete markers (nats-server 2.11's `SubjectDeleteMarkerTTL`,
 * ADR-43): when age or a per-message TTL removes the last message of a
 * subject, a marker message takes its place on that subject, carrying why
 * and a TTL of its own, so a reader following the subject (a KV watcher)
 * learns the value is gone. Its headers are nats-server's:
 * `Nats-Marker-Reason: MaxAge`, `Nats-TTL: <Go duration>`, `Nats-Rollup: sub`.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The headers of a marker whose TTL is `ttlSeconds`. */
export function markerHeaders(ttlSeconds: number): Uint8Array {
  return encoder.encode(
    `NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: ${goDuration(ttlSeconds)}\r\nNats-Rollup: sub\r\n\r\n`,
  );
}

/** Whole seconds as Go's `time.Duration` prints them: "1s", "1m30s", "2h0m0s". */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * True for a marker: headers with a `Nats-Marker-Reason`, or a KV purge
 * (`KV-Operation: PURGE`), as nats-server tells them. A marker's own expiry
 * leaves no marker behind.
 */
export function isDeleteMarker(hdr: Uint8Array | null): boolean {
  if (hdr === null || hdr.length < 12) return false;
  const lines = decoder.decode(hdr).split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) continue;
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    if (name === "nats-marker-reason") return true;
    if (name === "kv-operation" && lines[i].slice(colon + 1).trim() === "PURGE") return true;
  }
  return false;
}
