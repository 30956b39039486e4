/**
 * The fast-check settings of the random models that take them from the
 * environment: `JETSTORE_MODEL_RUNS` (the number of runs), `JETSTORE_MODEL_SEED`
 * (a number) and, with it, `JETSTORE_MODEL_PATH` (the path a failure prints),
 * so that a long hunt with fresh seeds can be run and a failure replayed.
 * Unset, each model runs as it always has: its own number of runs, with
 * fast-check's own seed. (at-rest-model.ts reads the same variables with a
 * fixed default seed of its own.) The tests that use it allow 600 s, as
 * at-rest-model.ts does, for long hunts.
 */
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;

export interface ModelRuns {
  numRuns: number;
  seed?: number;
  path?: string;
}

/** fast-check's parameters for a model that runs `runs` times by default. */
export function modelRuns(runs: number): ModelRuns {
  const text = env?.JETSTORE_MODEL_SEED;
  const seed = text === undefined || text === "random" ? undefined : Number(text);
  const path = env?.JETSTORE_MODEL_PATH;
  return {
    numRuns: Number(env?.JETSTORE_MODEL_RUNS ?? runs),
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  };
}
