// @ts-check
/**
 * The child of the self-kill suite (test/suites/self-kills.ts). It runs a list
 * of store steps on a real store directory through a FileSystem that counts
 * every call that can change the disk and, at call number `killAt`, SIGKILLs
 * its own process right after the call returns. A kill from outside lands at
 * a random instruction; a kill from inside lands exactly between two
 * filesystem calls, so every state the store's write, rewrite and unlink paths
 * can leave on disk gets tried. (Killing just before call K would add no
 * state: nothing reaches the disk between call K - 1 and call K.)
 *
 * Plain JavaScript on purpose: Node 20 runs no TypeScript, and one file must
 * run unchanged under Node, Bun and Deno. The parent owns the scenario and the
 * model; this file only executes steps and reports, one line per event,
 * written synchronously so no line the parent relies on is still buffered
 * when the kill lands:
 *   begin <i>        step i starts (its effects may reach the disk from now on)
 *   ret <i> <value>  step i returned value (a sequence, a count, true/false)
 *   ack <i>          everything through step i is durable (after sync, flush, close)
 *   call <n> <what>  counted call n (only when no kill is asked for: the count run)
 *   kill <n> <what>  the kill is about to land
 *   end              all steps done
 */
import { writeSync } from "node:fs";

/**
 * @typedef {{ op: "open" }
 *   | { op: "store", subject: string, seq: number, gen: number, size: number }
 *   | { op: "remove" | "erase" | "truncate" | "compact", seq: number }
 *   | { op: "purgeEx", subject: string, seq: number, keep: number }
 *   | { op: "purge" | "skip" | "sync" | "flush" | "close" }} Step
 * @typedef {{ entry: string, adapter: string, adapterName: string, dir: string,
 *   blockSize: number, options: object, killAt: number,
 *   killMatch: { fromStep: number, pattern: string } | null, steps: Step[],
 *   payloadOf: (seq: number, gen: number, size: number) => Uint8Array }} ChildConfig
 */

/** @param {ChildConfig} config */
export async function runChild(config) {
  const { FileStore } = await import(config.entry);
  const inner = (await import(config.adapter))[config.adapterName];
  const position = { step: -1 };
  const fs = killingFileSystem(inner, config, position);
  /** @type {any} */
  let store = null;
  const { steps, payloadOf } = config;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    say(`begin ${i}`);
    position.step = i;
    /** @type {unknown} */
    let ret = null;
    switch (s.op) {
      case "open":
        store = await FileStore.open({
          dir: config.dir,
          fs,
          blockSize: config.blockSize,
          syncIntervalMs: 0,
          ...config.options,
        });
        break;
      case "store":
        ret = store.storeMsg(s.subject, null, payloadOf(s.seq, s.gen, s.size)).seq;
        break;
      case "remove":
        ret = store.removeMsg(s.seq);
        break;
      case "erase":
        ret = store.eraseMsg(s.seq);
        break;
      case "truncate":
        store.truncate(s.seq);
        break;
      case "compact":
        ret = store.compact(s.seq);
        break;
      case "purgeEx":
        ret = store.purgeEx(s.subject, s.seq, s.keep);
        break;
      case "purge":
        ret = store.purge();
        break;
      case "skip":
        ret = store.skipMsg();
        break;
      case "sync":
        await store.sync();
        break;
      case "flush":
        await store.flush();
        break;
      case "close":
        await store.close();
        break;
    }
    if (ret !== null) say(`ret ${i} ${ret}`);
    if (s.op === "sync" || s.op === "flush" || s.op === "close") say(`ack ${i}`);
  }
  say("end");
}

/** @param {string} line */
function say(line) {
  const bytes = new TextEncoder().encode(`${line}\n`);
  for (let done = 0; done < bytes.length; ) done += writeSync(1, bytes, done);
}

function die() {
  const g = /** @type {any} */ (globalThis);
  if (g.Deno !== undefined) g.Deno.kill(g.Deno.pid, "SIGKILL");
  else process.kill(process.pid, "SIGKILL");
  // SIGKILL to oneself lands before the kill call returns; this is never reached.
  for (;;);
}

/**
 * Wraps `inner` so that every call that can change the disk is counted: file
 * writes, truncates and fsyncs, opens that may create, mkdir, rename, remove,
 * directory fsyncs and the lock. The call to kill after is the `killAt`-th,
 * or (for a kill point that must not depend on how many calls came before)
 * the first one from step `killMatch.fromStep` on that `killMatch.pattern`
 * matches. While a chosen asynchronous call is still running, the next
 * counted call is not let through: the kill lands first, so nothing past the
 * chosen call reaches the disk.
 * @param {any} inner
 * @param {ChildConfig} config
 * @param {{ step: number }} position the step running now
 */
function killingFileSystem(inner, config, position) {
  const { killAt, killMatch, dir } = config;
  const pattern = killMatch === null ? null : new RegExp(killMatch.pattern);
  let calls = 0;
  let inFlight = false;
  /** @param {string} what */
  const enter = (what) => {
    calls++;
    if (inFlight) kill(`before ${what}, the chosen call still running`);
    if (killAt === 0) say(`call ${calls} ${what}`);
    if (pattern !== null && killMatch !== null && position.step >= killMatch.fromStep)
      return pattern.test(what);
    return calls === killAt;
  };
  /** @param {string} what */
  const kill = (what) => {
    say(`kill ${calls} ${what}`);
    die();
  };
  /** @template T @param {string} what @param {() => T} call @returns {T} */
  const counted = (what, call) => {
    const chosen = enter(what);
    try {
      return call();
    } finally {
      if (chosen) kill(`after ${what}`);
    }
  };
  /** @template T @param {string} what @param {() => Promise<T>} call @returns {Promise<T>} */
  const countedAsync = (what, call) => {
    const chosen = enter(what);
    if (!chosen) return call();
    inFlight = true;
    return call().finally(() => kill(`after ${what}`));
  };
  /** @param {string} path */
  const short = (path) =>
    path === dir ? "." : path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
  /** @param {any} handle */
  const wrapHandle = (handle) => {
    const name = short(handle.path);
    return {
      path: handle.path,
      /** @param {Uint8Array} buf @param {number} at */
      read: (buf, at) => handle.read(buf, at),
      /** @param {Uint8Array} buf @param {number} at */
      write: (buf, at) => counted(`write ${name} ${at}+${buf.length}`, () => handle.write(buf, at)),
      size: () => handle.size(),
      /** @param {number} length */
      truncate: (length) => counted(`truncate ${name} ${length}`, () => handle.truncate(length)),
      sync: () => counted(`sync ${name}`, () => handle.sync()),
      syncAsync: () => countedAsync(`syncAsync ${name}`, () => handle.syncAsync()),
      close: () => handle.close(),
    };
  };
  return {
    name: inner.name,
    /** @param {string} path @param {string} mode */
    open(path, mode) {
      if (mode === "read" || mode === "write") return wrapHandle(inner.open(path, mode));
      return wrapHandle(counted(`open ${short(path)} ${mode}`, () => inner.open(path, mode)));
    },
    /** @param {string} path */
    stat: (path) => inner.stat(path),
    /** @param {string} path */
    list: (path) => inner.list(path),
    /** @param {string} path */
    mkdir: (path) => counted(`mkdir ${short(path)}`, () => inner.mkdir(path)),
    /** @param {string} from @param {string} to */
    rename: (from, to) =>
      counted(`rename ${short(from)} ${short(to)}`, () => inner.rename(from, to)),
    /** @param {string} path */
    remove: (path) => counted(`remove ${short(path)}`, () => inner.remove(path)),
    /** @param {string} path */
    removeAsync: (path) =>
      countedAsync(`removeAsync ${short(path)}`, () => inner.removeAsync(path)),
    /** @param {string} path */
    syncDirectory: (path) =>
      counted(`syncDirectory ${short(path)}`, () => inner.syncDirectory(path)),
    /** @param {string} path */
    lock(path) {
      const held = counted(`lock ${short(path)}`, () => inner.lock(path));
      return {
        path: held.path,
        release: () => counted(`unlock ${short(path)}`, () => held.release()),
      };
    },
  };
}
