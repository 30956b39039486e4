/**
 * A runtime's built-in module, loaded synchronously when first asked for,
 * not at import: a static `import "node:fs"` cost Deno ~19 ms of every import
 * of jetstore (its Node compatibility layer), `node:crypto` Node ~3 ms, for
 * adapters and ciphers the process may never use. `process.getBuiltinModule`
 * (Node ≥ 20.16, Deno ≥ 2.1, recent Bun), else Bun's `import.meta.require`.
 */
import { JetStoreError } from "../src/errors.ts";

type Loader = (id: string) => unknown;

export function builtinModule<T>(id: string): T {
  const fromProcess = (globalThis as { process?: { getBuiltinModule?: Loader } }).process
    ?.getBuiltinModule;
  const module = fromProcess?.(id) ?? (import.meta as { require?: Loader }).require?.(id);
  if (module === undefined || module === null) {
    throw new JetStoreError(
      "ErrNotImplemented",
      `Cannot load ${id}: this runtime has no process.getBuiltinModule (jetstore needs Node ≥ 20.16, Bun ≥ 1.1 or Deno ≥ 2.1)`,
    );
  }
  return module as T;
}
