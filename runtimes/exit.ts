/**
 * Work a normal exit must not skip: a store registers while it is open, so a
 * program that ends (or calls `process.exit()` / `Deno.exit()`) without
 * `close()` still gets what it stored written out. Node and Bun emit `exit`
 * on `process` and Deno dispatches `unload` on globalThis; both run listeners
 * synchronously, so the work must be synchronous, and neither keeps a process
 * alive. One listener serves every store of the process: it is added on
 * first use and runs a registry, so opening stores costs no listener each
 * (no MaxListeners warning) and nothing per write. The registry lives on
 * globalThis, so two copies of this module (two bundles) share it; it holds
 * an open store until it closes, as the store's own timers do. A crash,
 * a kill or an uncaught error under Deno runs nothing: those are what
 * recovery is for.
 */

type ExitTask = () => void;

interface ExitRegistry {
  tasks: Set<ExitTask>;
}

interface ExitHosts {
  Deno?: unknown;
  addEventListener?: (type: string, listener: () => void) => void;
  process?: { on?: (event: string, listener: () => void) => unknown };
}

const REGISTRY = Symbol.for("jetstore.exitTasks");

/**
 * Runs `task` once when the process exits normally, unless the returned
 * function is called first (a store calls it on close and delete).
 */
export function atExit(task: ExitTask): () => void {
  const { tasks } = registry();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

/** How many tasks wait for exit: for tests that check stores leave on close. */
export function pendingExitTasks(): number {
  return registry().tasks.size;
}

function registry(): ExitRegistry {
  const g = globalThis as ExitHosts & { [REGISTRY]?: ExitRegistry };
  let r = g[REGISTRY];
  if (r === undefined) {
    r = { tasks: new Set() };
    g[REGISTRY] = r;
    listen(g, r);
  }
  return r;
}

function listen(g: ExitHosts, r: ExitRegistry): void {
  const run = () => {
    for (const task of [...r.tasks]) {
      r.tasks.delete(task);
      try {
        task();
      } catch {
        // The process is going; one store failing must not stop the next from writing.
      }
    }
  };
  // Deno first: it also fills in a Node-compatible `process`, whose exit event is Node's idea.
  if (g.Deno !== undefined && typeof g.addEventListener === "function") {
    g.addEventListener("unload", run);
  } else if (typeof g.process?.on === "function") {
    g.process.on("exit", run);
  }
}
