/**
 * The fast-check settings of the random models: `JETSTORE_MODEL_RUNS` (the
 * number of runs), `JETSTORE_MODEL_SEED` (a number, or `random` for a fresh
 * seed each run) and, with a number, `JETSTORE_MODEL_PATH` (the path a
 * failure prints), so that a long hunt with fresh seeds can be run and a
 * failure replayed. Unset, each model runs its own number of runs from a
 * fixed seed, so `npm test` (and CI) runs the same cases every time: a seed
 * that finds a defect becomes a fixed test, not a red run nobody can
 * reproduce. The tests that use it allow 600 s for long hunts.
 */
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;

export interface ModelRuns {
  numRuns: number;
  seed?: number;
  path?: string;
}

/** The seed of every model in `npm test`. */
export const FIXED_SEED = 20261204;

/** fast-check's parameters for a model that runs `runs` times from `fixedSeed` by default. */
export function modelRuns(runs: number, fixedSeed = FIXED_SEED): ModelRuns {
  const text = env?.JETSTORE_MODEL_SEED;
  const seed = text === "random" ? undefined : text === undefined ? fixedSeed : Number(text);
  const path = env?.JETSTORE_MODEL_PATH;
  return {
    numRuns: Number(env?.JETSTORE_MODEL_RUNS ?? runs),
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  };
}
