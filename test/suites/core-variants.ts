/**
 * What the WebAssembly core suites share: both builds of the core (release
 * strips asserts, debug keeps them, and both must behave alike) and a way to
 * read a thrown error's code, message and offset without a runner-specific
 * matcher.
 */
import { isJetStoreError } from "../../src/errors.ts";
import "../../src/wasm/core-debug.ts";
import type { CoreVariant } from "../../src/wasm/core.ts";

export const CORE_VARIANTS: readonly CoreVariant[] = ["release", "debug"];

/** What `fn` threw, flattened; code "no error" when it returned. */
export interface Failure {
  code: string;
  message: string;
  offset?: number;
}

export function failure(fn: () => unknown): Failure {
  try {
    fn();
  } catch (err) {
    if (isJetStoreError(err)) return { code: err.code, message: err.message, offset: err.offset };
    return { code: `not a JetStoreError: ${String(err)}`, message: "" };
  }
  return { code: "no error", message: "" };
}
