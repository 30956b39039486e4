/**
 * A differential probe of jetstore's stream stores against nats-server
 * 2.9.10's Go fileStore: seeded random operation sequences run on FileStore
 * (and MemStore) and on the Go runner (bench/go-diff, built like bench/go),
 * the observable results compared after every operation, and the first
 * divergence of each case printed with the operations that led to it.
 *
 *   npm run diff:go -- [--cases N] [--seed S] [--max-ops N] [--engine file|mem|both] [--show N]
 *                      [--dump SEED] [--trace SEED]
 *
 * Needs Go and nats-server's source (see bench/go/build.sh); nothing in CI runs
 * it. Observed after every operation: the operation's result (sequence,
 * removed or not, count, error code), state() (counts, first and last, the
 * deleted list, lost), loadMsg of every sequence around the stream, and per
 * filter loadNextMsg and filteredState from six starts, loadLastMsg and
 * subjectsState. Left out, because jetstore documents a difference or the Go
 * API has no deterministic form: timestamps and maxAge (wall clock in Go),
 * byte totals as numbers (each side is checked against its own documented
 * formula over the live messages instead), and the rows of `KNOWN` (differential/judge.ts).
 * Go answers that its own loaded messages contradict (when jetstore's agree
 * with them) and Go removals the limit rules do not make are counted per
 * kind as Go bugs instead of reported (judgeQueries, goBugStop, the models
 * in differential/compare.ts); everything else that differs is printed, grouped, with the
 * shortest case of each group.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./differential/cases.ts";
import { compare, debugSeeds, type Finding } from "./differential/compare.ts";
import { GoRunner } from "./differential/go-runner.ts";
import { goWrong } from "./differential/judge.ts";
import { runJetstore } from "./differential/observe.ts";
import { GO_INSTALL, goHarness } from "./go-harness.ts";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const cases = Number(arg("cases", "200"));
  const seed0 = Number(arg("seed", "1"));
  const maxOps = Number(arg("max-ops", "60"));
  const engineArg = arg("engine", "file");
  const show = Number(arg("show", "5"));
  debugSeeds.dump = Number(arg("dump", "-1"));
  debugSeeds.trace = Number(arg("trace", "-1"));
  const engines: ("file" | "mem")[] =
    engineArg === "both" ? ["file", "mem"] : [engineArg as "file" | "mem"];
  // Run as dist/bench/go-diff.js (npm run diff:go) or from source (bun, deno).
  const fromDist = import.meta.url.includes("/dist/bench/");
  const goDir = fileURLToPath(
    new URL(fromDist ? "../../bench/go-diff" : "./go-diff", import.meta.url),
  );
  const harness = goHarness(goDir);
  if ("missing" in harness) {
    console.error(`cannot run the Go side: ${harness.missing} (${GO_INSTALL})`);
    process.exit(2);
  }
  const root = mkdtempSync(join(tmpdir(), "jetstore-go-diff-"));
  const go = new GoRunner(harness.bin);
  const byWhere = new Map<string, Finding[]>();
  let ran = 0;
  let diverged = 0;
  try {
    for (let k = 0; k < cases; k++) {
      const c = generate(seed0 + k, maxOps, root);
      const goOut = await go.run(c);
      for (const engine of engines) {
        const js = await runJetstore(c, engine, join(root, `js-${c.seed}`));
        // Each comparison normalizes what it is given: Go's answers are shared.
        const f = compare(c, engine, js, structuredClone(goOut.obs), goOut.fatal);
        ran++;
        if (f) {
          diverged++;
          // Grouped by what diverged, sequence numbers left out.
          const key = `${engine} ${c.ops[f.op].op} ${f.where
            .replace(/^op\d+/, "")
            .replace(/\[\d+\]/g, "[]")
            .replace(/: .*/, "")}`;
          const list = byWhere.get(key) ?? [];
          list.push(f);
          byWhere.set(key, list);
        }
      }
    }
  } finally {
    go.close();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`${ran} runs (${cases} cases × ${engines.join("+")}), ${diverged} diverged`);
  console.log(
    `Judged Go bugs (jetstore agrees with the loaded messages or the limit rules), per kind: ${JSON.stringify(Object.fromEntries(goWrong))}`,
  );
  for (const [key, list] of [...byWhere].sort((x, y) => y[1].length - x[1].length)) {
    const shortest = list.reduce((p, q) => (q.ops.length < p.ops.length ? q : p));
    console.log(`\n${list.length}× ${key}`);
    console.log(`  shortest: seed ${shortest.seed}, limits ${JSON.stringify(shortest.limits)}`);
    console.log(`  ${shortest.where}`);
    for (const o of shortest.ops.slice(-show)) console.log(`    ${JSON.stringify(o)}`);
  }
}

await main();
