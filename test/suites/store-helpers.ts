/**
 * Small tools the store contract suites share: a clock tests set by hand, a
 * way to read an error's code without a matcher that differs between runners,
 * plain renderings of messages (so null and empty headers compare apart on
 * every runner) and a snapshot of everything a store holds.
 */
import xxhash from "xxhash-wasm";
import type { FileSystem } from "../../runtimes/fs.ts";
import { isJetStoreError } from "../../src/errors.ts";
import type { StoredMsg, StoreOptions, StreamState, StreamStore } from "../../src/types.ts";
import type { AdapterFixture } from "../harness.ts";
import type { StoreFactory, StoreFixture } from "./store-factories.ts";

const encoder = new TextEncoder();

/** Byte-for-byte equality; two nulls are equal, a null and bytes are not. */
export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A file's bytes through the adapter, or null if it is missing. */
export function readFileBytes(fs: FileSystem, path: string): Uint8Array | null {
  const stat = fs.stat(path);
  if (stat === null) return null;
  const handle = fs.open(path, "read");
  try {
    const out = new Uint8Array(stat.size);
    let done = 0;
    while (done < out.length) {
      const n = handle.read(out.subarray(done), done);
      if (n <= 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    handle.close();
  }
}

/** Replaces a file's bytes through the adapter, durably. */
export function writeFileBytes(fs: FileSystem, path: string, bytes: Uint8Array): void {
  const handle = fs.open(path, "create");
  try {
    handle.truncate(0);
    handle.write(bytes, 0);
    handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Under Bun: records each `Bun.gc(force)` call instead of collecting, until
 * `restore()` (collection hints, runtimes/collection-hint.ts).
 */
export function watchBunGc(): { calls: boolean[]; restore: () => void } {
  const bun = (globalThis as unknown as { Bun: { gc: (force: boolean) => void } }).Bun;
  const real = bun.gc;
  const calls: boolean[] = [];
  bun.gc = (force: boolean) => {
    calls.push(force);
  };
  return { calls, restore: () => (bun.gc = real) };
}

/** The chunks one after another in one array. */
export function joinChunks(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** UTF-8 bytes of `text`. */
export function enc(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 length of `text`, computed independently of the code under test. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** Accounted bytes of a message, written out from the record layout in FORMAT.md. */
export function expectedSize(subject: string, hdrLen: number, msgLen: number, ttl = 0): number {
  const header = 4 + 2 + 1 + 1 + 8 + 8 + 4; // length, subject length, flags, reserved, seq, ts, hdr length
  const checksum = 8;
  return header + (ttl === 0 ? 0 : 8) + utf8Bytes(subject) + hdrLen + msgLen + checksum;
}

/** A clock that returns whatever the test last set. */
export interface TestClock {
  t: bigint;
  now: () => bigint;
}

export function testClock(start = 1_000n): TestClock {
  const clock: TestClock = { t: start, now: () => clock.t };
  return clock;
}

/** The code of the JetStoreError `fn` throws, "no error", or a description of a foreign error. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (err) {
    return describeError(err);
  }
}

/** The same as `codeOf` for a promise-returning function (rejections and synchronous throws). */
export async function codeOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "no error";
  } catch (err) {
    return describeError(err);
  }
}

/** The code and message of the error `fn` throws, for tests of the wording: both engines must say the same. */
export function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
    return { code: "no error", message: "" };
  } catch (err) {
    return { code: describeError(err), message: err instanceof Error ? err.message : String(err) };
  }
}

/** The same as `errorOf` for a promise-returning function. */
export async function errorOfAsync(
  fn: () => Promise<unknown>,
): Promise<{ code: string; message: string }> {
  try {
    await fn();
    return { code: "no error", message: "" };
  } catch (err) {
    return { code: describeError(err), message: err instanceof Error ? err.message : String(err) };
  }
}

function describeError(err: unknown): string {
  if (isJetStoreError(err)) return err.code;
  return `not a JetStoreError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
}

/** A message as plain data: byte arrays become number arrays, null headers stay null. */
export interface PlainMsg {
  subject: string;
  hdr: number[] | null;
  msg: number[];
  seq: number;
  ts: bigint;
}

export function plain(sm: StoredMsg): PlainMsg {
  return {
    subject: sm.subject,
    hdr: sm.hdr === null ? null : Array.from(sm.hdr),
    msg: Array.from(sm.msg),
    seq: sm.seq,
    ts: sm.ts,
  };
}

/** The full state and every message of a store, to compare before and after. */
export interface StoreSnapshot {
  state: StreamState;
  fast: StreamState;
  msgs: PlainMsg[];
}

export function snapshot(store: StreamStore): StoreSnapshot {
  const state = store.state();
  const msgs: PlainMsg[] = [];
  for (let seq = 0; msgs.length < state.msgs; ) {
    const sm = store.loadNextMsg("", false, seq);
    msgs.push(plain(sm));
    seq = sm.seq + 1;
  }
  return { state, fast: store.fastState(), msgs };
}

/** `state` without its `deleted` list, as `fastState()` reports it. */
export function withoutDeleted(state: StreamState): StreamState {
  const { deleted: _deleted, ...rest } = state;
  return rest;
}

/** Runs `body` on a fresh store from `factory`, always cleaning up. */
export async function withStore(
  factory: StoreFactory,
  options: StoreOptions | undefined,
  body: (store: StreamStore, fixture: StoreFixture) => unknown | Promise<unknown>,
): Promise<void> {
  const fixture = await factory.create(options);
  try {
    await body(fixture.store, fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Stores `count` messages on `subject` with payloads "m<seq>", the clock at seq × 1000 for each. */
export function fill(store: StreamStore, clock: TestClock, count: number, subject = "foo"): void {
  for (let i = 0; i < count; i++) {
    const seq = store.fastState().lastSeq + 1;
    clock.t = BigInt(seq) * 1000n;
    store.storeMsg(subject, null, enc(`m${seq}`));
  }
}

/**
 * A checkpoint file's bytes claiming format `version`, with its trailing
 * xxHash64 (FORMAT.md) recomputed, as a newer jetstore would write it: a
 * checkpoint failing its checksum is damage, whatever version it claims.
 */
export async function checkpointOfVersion(bytes: Uint8Array, version: number): Promise<Uint8Array> {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  view.setUint16(4, version, true);
  const { h64Raw } = await xxhash();
  view.setBigUint64(out.length - 8, h64Raw(out.subarray(0, out.length - 8), 0n), true);
  return out;
}

/** Runs `body` in a fresh directory of `adapter`, always cleaning up. */
export async function inTempDir(
  adapter: AdapterFixture,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = adapter.tempDir();
  try {
    await body(dir);
  } finally {
    cleanup();
  }
}
