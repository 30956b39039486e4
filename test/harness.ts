/**
 * What a shared suite receives: the runner's `describe` / `it` / `expect`
 * (vitest under Node, bun:test under Bun, a Deno.test shim plus jest's
 * `expect` under Deno) and the runtime's filesystem adapters. Suites never
 * import a runner or a runtime themselves, so one body runs everywhere.
 */
import type { expect as jestExpect } from "expect";
import type { FileSystem } from "../runtimes/fs.ts";

export type Expect = typeof jestExpect;

/** Declares a test; `skip` declares one that is reported as skipped, for a known gap. */
export interface TestFn {
  (name: string, body: () => unknown | Promise<unknown>, timeoutMs?: number): void;
  skip(name: string, body: () => unknown | Promise<unknown>): void;
}

export interface TestApi {
  describe(name: string, body: () => void): void;
  it: TestFn;
  expect: Expect;
}

/** A filesystem adapter under test and a fresh empty directory on it. */
export interface AdapterFixture {
  name: string;
  /** Real adapters write to disk; the memory adapter does not. */
  onDisk: boolean;
  fs: FileSystem;
  /** Makes a new, empty, unique directory; `cleanup` removes it. */
  tempDir(): { dir: string; cleanup(): void };
}

export interface RuntimeContext {
  runtime: "node" | "bun" | "deno";
  adapters: AdapterFixture[];
}
