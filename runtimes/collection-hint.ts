/**
 * A hint to the garbage collector after a burst of short-lived allocation,
 * for Bun only. Bun's collector (JavaScriptCore's) lets dead objects and
 * buffers pile up far longer than V8 does: opening the W1 store without its
 * checkpoint (every block scanned) peaked at ~270 MiB of RSS under Bun
 * against ~160 MiB under Node, and 161 MiB with one `Bun.gc(false)` (which
 * asks for a collection and does not wait for it) per block scanned. Node
 * and Deno get no hint: V8 keeps up on its own.
 */
const onBun = typeof (globalThis as { Bun?: unknown }).Bun === "object";

/** Bytes of garbage between two hints. */
export const HINT_BYTES = 4 * 1024 * 1024;
let sinceHint = 0;

/**
 * Notes about `bytes` of short-lived allocation (an estimate is enough);
 * under Bun, hints a collection each `HINT_BYTES`.
 */
export function allocated(bytes: number): void {
  if (!onBun) return;
  sinceHint += bytes;
  if (sinceHint >= HINT_BYTES) {
    sinceHint = 0;
    hintCollection();
  }
}

/** Asks Bun for a collection; nothing elsewhere. Call it per megabytes of garbage, not per object. */
export function hintCollection(): void {
  if (!onBun) return;
  // Looked up per hint, not kept: rare enough to cost nothing, and a test may watch it.
  const bun = (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun;
  if (typeof bun?.gc === "function") bun.gc(false);
}
