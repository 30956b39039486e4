/**
 * Timers that never keep a process alive: a store's background flush and
 * expiry must not stop a program from exiting. Node and Bun return a Timeout
 * object with `unref()`; Deno returns a number and offers `Deno.unrefTimer`.
 */

export type TimerId = ReturnType<typeof setTimeout>;

interface DenoTimers {
  unrefTimer(id: number): void;
}

function unref(id: TimerId): void {
  const deno = (globalThis as { Deno?: DenoTimers }).Deno;
  if (typeof id === "number") {
    deno?.unrefTimer(id);
  } else {
    (id as { unref?: () => void }).unref?.();
  }
}

/** setTimeout that does not keep the process alive. */
export function backgroundTimeout(fn: () => void, ms: number): TimerId {
  const id = setTimeout(fn, ms);
  unref(id);
  return id;
}

/** setInterval that does not keep the process alive. */
export function backgroundInterval(fn: () => void, ms: number): TimerId {
  const id = setInterval(fn, ms);
  unref(id);
  return id;
}
