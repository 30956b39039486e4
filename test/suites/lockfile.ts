/**
 * The directory lock's protocol (runtimes/lockfile.ts) over a host whose
 * files live in a Map and whose removals fail where a test says: a failure
 * to clean up a lock's temporary or break file never leaves the lock taken
 * by nobody, nor a flock held by nothing.
 */

import { type LockHost, lockDirectory } from "../../runtimes/lockfile.ts";
import { JetStoreError } from "../../src/errors.ts";
import type { TestApi } from "../harness.ts";

const PID = 4242;
const DEAD_PID = 4_000_000;

interface FakeHost extends LockHost {
  files: Map<string, string>;
  /** Removals of paths this picks throw ErrIO. */
  failUnlink: ((path: string) => boolean) | null;
  /** flocks taken and not released, by path. */
  holds: string[];
}

function fakeHost(): FakeHost {
  const files = new Map<string, string>();
  const host: FakeHost = {
    files,
    failUnlink: null,
    holds: [],
    pid: PID,
    runtime: "fake",
    readText: (path) => files.get(path) ?? null,
    probe: () => null,
    writeNew(path, text) {
      if (files.has(path)) throw new JetStoreError("ErrIO", `${path} exists`);
      files.set(path, text);
    },
    link(from, to) {
      const text = files.get(from);
      if (text === undefined) throw new JetStoreError("ErrNotFound", `${from} is missing`);
      if (files.has(to)) return false;
      files.set(to, text);
      return true;
    },
    unlink(path) {
      if (host.failUnlink?.(path) === true) {
        throw new JetStoreError("ErrIO", `Cannot remove ${path}: injected I/O error`);
      }
      files.delete(path);
    },
    list(directory) {
      const prefix = `${directory}/`;
      return [...files.keys()]
        .filter((p) => p.startsWith(prefix))
        .map((p) => p.slice(prefix.length));
    },
    realPath: (path) => path,
    signalZero: (pid) => pid === PID,
    hold(path) {
      host.holds.push(path);
      let released = false;
      return () => {
        if (released) throw new Error(`flock on ${path} released twice`);
        released = true;
        host.holds.splice(host.holds.indexOf(path), 1);
      };
    },
    isHeld: () => null,
  };
  return host;
}

let dirs = 0;
function freshDir(): string {
  return `/lockfile-test/${++dirs}`;
}

export function lockfileSuite({ describe, it, expect }: TestApi): void {
  describe("directory lock protocol (lockfile.ts)", () => {
    it("takes the lock when its temporary file cannot be removed, and releases it", () => {
      const host = fakeHost();
      const dir = freshDir();
      host.failUnlink = (path) => path.endsWith(".tmp");
      const lock = lockDirectory(host, dir, 0o600);
      expect(host.files.has(`${dir}/LOCK`)).toBe(true);
      host.failUnlink = null;
      lock.release();
      expect(host.files.has(`${dir}/LOCK`)).toBe(false);
      expect(host.holds).toEqual([]);
      lockDirectory(host, dir, 0o600).release();
      expect([...host.files.keys()]).toEqual([]);
    });

    it("takes and releases the lock when the leftovers of crashed lockers cannot be swept", () => {
      const host = fakeHost();
      const dir = freshDir();
      host.files.set(`${dir}/LOCK.0123456789abcdef.tmp`, "debris");
      host.failUnlink = (path) => path.endsWith("0123456789abcdef.tmp");
      const lock = lockDirectory(host, dir, 0o600);
      expect(host.files.has(`${dir}/LOCK`)).toBe(true);
      lock.release();
      expect(host.files.has(`${dir}/LOCK`)).toBe(false);
      expect(host.holds).toEqual([]);
    });

    it("lets go of a stale lock's break file flock when the break file cannot be removed", () => {
      const host = fakeHost();
      const dir = freshDir();
      host.files.set(
        `${dir}/LOCK`,
        `${JSON.stringify({ pid: DEAD_PID, runtime: "fake", nonce: "x" })}\n`,
      );
      host.failUnlink = (path) => path.endsWith(".break");
      let code: string | null = null;
      try {
        lockDirectory(host, dir, 0o600).release();
      } catch (err) {
        code = (err as JetStoreError).code;
      }
      expect(code).toBe("ErrIO");
      expect(host.holds).toEqual([]);
      host.failUnlink = null;
      lockDirectory(host, dir, 0o600).release();
      expect(host.holds).toEqual([]);
    });
  });
}
