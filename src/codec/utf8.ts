/**
 * Subjects as UTF-8 in place: measure first (so nothing is written for a bad
 * subject), then write ASCII with a plain loop and anything else with
 * `TextEncoder.encodeInto`, straight into the destination. A loop is chosen
 * for ASCII because NATS subjects almost always are, and for a few dozen
 * characters it beats the `encodeInto` call and its result object.
 */

const encoder = new TextEncoder();
// ignoreBOM: a subject may start with U+FEFF, and it must come back as written.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 byte length of `text`, or -1 if it holds a lone surrogate (which
 * UTF-8 cannot carry, so it would not survive a round trip).
 */
export function utf8Length(text: string): number {
  const n = text.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return -1;
      bytes += 2; // two UTF-16 units become four bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Writes `text`, already measured as `byteLength` bytes, at `at` in `dst`. */
export function writeUtf8(dst: Uint8Array, at: number, text: string, byteLength: number): void {
  if (byteLength === text.length) {
    for (let i = 0; i < byteLength; i++) dst[at + i] = text.charCodeAt(i);
  } else {
    encoder.encodeInto(text, dst.subarray(at, at + byteLength));
  }
}

/**
 * Reads `length` bytes of UTF-8 at `at`; ASCII with a loop, the rest with a
 * fatal decoder. Returns null if the bytes are not valid UTF-8.
 */
export function readUtf8(src: Uint8Array, at: number, length: number): string | null {
  if (length <= 64) {
    let text = "";
    let i = 0;
    for (; i < length; i++) {
      const c = src[at + i];
      if (c >= 0x80) break;
      text += String.fromCharCode(c);
    }
    if (i === length) return text;
  }
  try {
    return decoder.decode(src.subarray(at, at + length));
  } catch {
    return null;
  }
}

/** UTF-8 bytes of a subject given as a string, or the bytes themselves. */
export function subjectBytes(subject: string | Uint8Array): Uint8Array {
  return typeof subject === "string" ? encoder.encode(subject) : subject;
}
