/**
 * `npm run bench:peers`: jetstore beside lmdb, better-sqlite3, classic-level,
 * hypercore and a hand-rolled append log on W1, W3, W4a, W5a, W2, W8a and W8b
 * of ../shared/bench/WORKLOADS.md. Every run is a fresh `node child.mjs`
 * process. Rounds go workload by workload and, within one, store by store in
 * an order that rotates each round, so drift on a shared machine hits every
 * store alike. Prints the report, and writes `bench/results/<date>.json`,
 * `.md` and `.svg`.
 *
 *   PEERS_RUNS=3            runs per store and workload (the median of these)
 *   PEERS_ONLY=jetstore,lmdb   a subset of stores (jetstore is always kept: figures are relative to it);
 *                           better-sqlite3+index (subject indexed) runs only when named here
 *   PEERS_WORKLOADS=W1,W8b  a subset of workloads (W3, W4a, W5a read the store W1 writes)
 *   PEERS_QUICK=1           a tenth of every count; results go to <date>-quick.*
 *   PEERS_SCALE=0.5         any other fraction of the counts
 *   PEERS_CAP_S=15          seconds after which reads and durable appends stop (see workloads.mjs)
 *   PEERS_DIR=/path         where the stores are written (default the OS temp dir)
 *   --runtime bun|deno      run every child under Bun or Deno (from PATH or
 *                           node_modules/.bin) instead of Node; stores whose
 *                           addons do not load there are left out (stores/index.mjs
 *                           says which and why), results go to <date>-<runtime>.*
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..");

// The peers are this directory's own dependencies: install them on first use.
// `npm ci` refuses a lock made on a registry mirror that lacks some other
// platform's optional prebuilds (msgpackr-extract's); `npm install` then takes
// the same pinned versions from the lock and skips what the mirror lacks.
if (!existsSync(join(here, "node_modules"))) {
  console.error("installing the peers (npm ci in bench/peers) …");
  const npm = (command) =>
    spawnSync("npm", [command, "--no-audit", "--no-fund"], { cwd: here, stdio: "inherit" });
  if (npm("ci").status !== 0) {
    console.error("npm ci failed; trying npm install with the same lock …");
    const install = npm("install");
    if (install.status !== 0) process.exit(install.status ?? 1);
  }
}
if (!existsSync(join(repo, "dist", "src", "index.js"))) {
  console.error("jetstore is not built: run `npm run build` (npm run bench:peers does)");
  process.exit(1);
}

const { STORE_NAMES, EXTRA_STORE_NAMES, loadStore, runsOn } = await import("./stores/index.mjs");
const { WORKLOADS } = await import("./workloads.mjs");
const { summarize, leaders } = await import("./summary.mjs");
const report = await import("./report.mjs");
const { chartSvg } = await import("./chart.mjs");
const machineInfo = await import("./machine.mjs");

const env = process.env;
const runtimeArg = process.argv.indexOf("--runtime");
const runtime = runtimeArg >= 0 ? process.argv[runtimeArg + 1] : "node";
if (!["node", "bun", "deno"].includes(runtime)) {
  console.error(`--runtime: expected node, bun or deno, got ${runtime}`);
  process.exit(2);
}
/** How a child starts under `runtime`: Bun and Deno from PATH, else node_modules/.bin. */
function childCommand() {
  if (runtime === "node") return [process.execPath];
  const local = join(repo, "node_modules", ".bin", runtime);
  const bin = existsSync(local) ? local : runtime;
  return runtime === "deno" ? [bin, "run", "-A"] : [bin];
}
const [childBin, ...childPre] = childCommand();
const runs = Number(env.PEERS_RUNS ?? 3);
const quick = env.PEERS_QUICK === "1";
const scale = Number(env.PEERS_SCALE ?? (quick ? 0.1 : 1));
const only = env.PEERS_ONLY?.split(",");
// The parent loads every store for its description; each child loads only its own.
const STORES = await Promise.all(
  [...STORE_NAMES, ...EXTRA_STORE_NAMES.filter((name) => only?.includes(name))].map(loadStore),
);
const stores = STORES.map((s) => s.name).filter((name) => {
  if (name !== "jetstore" && only !== undefined && !only.includes(name)) return false;
  const why = runsOn(name, runtime);
  if (why !== null) console.error(`${name}: left out, does not run under ${runtime} (${why})`);
  return why === null;
});
const wanted = env.PEERS_WORKLOADS?.split(",");
const ids = Object.keys(WORKLOADS).filter((id) => wanted === undefined || wanted.includes(id));
const readsW1 = ["W3", "W4a", "W5a"].some((id) => ids.includes(id)) && !ids.includes("W1");
const root = mkdtempSync(join(env.PEERS_DIR ?? tmpdir(), "jetstore-peers-"));

function runChild(store, id) {
  const child = spawnSync(
    childBin,
    [...childPre, join(here, "child.mjs"), store, id, join(root, store), String(scale)],
    { encoding: "utf8", maxBuffer: 16 * 2 ** 20 },
  );
  if (child.status !== 0) {
    const reason = child.stderr.trim().split("\n").slice(-3).join(" ") || `exit ${child.status}`;
    return { store, id, failed: reason };
  }
  return JSON.parse(child.stdout.trim().split("\n").pop());
}

const started = Date.now();
const machine = machineInfo.describeMachine(root);
console.error(`measuring the disk under ${root} …`);
const limits = machineInfo.diskLimits(root);
const memcpy = machineInfo.memoryCopyGBps();

const samples = [];
try {
  if (readsW1) {
    for (const store of stores) runChild(store, "W1"); // the store W3, W4a and W5a read
  }
  for (let round = 0; round < runs; round++) {
    const order = stores.map((_, i) => stores[(i + round) % stores.length]);
    for (const id of ids) {
      for (const store of order) {
        process.stderr.write(`round ${round + 1}/${runs} ${id} ${store} … `);
        const sample = runChild(store, id);
        samples.push(sample);
        process.stderr.write(
          sample.failed
            ? `failed: ${sample.failed}\n`
            : sample.skipped
              ? "n/a\n"
              : `${report.formatFigure(sample.value, sample.unit)}${sample.unit === "ms" ? "" : ` ${sample.unit}`}${sample.capped ? ` (capped: ${sample.capped})` : ""}\n`,
        );
      }
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const summary = summarize(samples);
const libraries = stores.filter((s) => s !== "append-log");
const durableStores = stores.filter((s) => STORES.find((x) => x.name === s).openDurable !== null);
const jetstoreShare = ["W1", "W2"]
  .filter((id) => summary[id]?.jetstore?.median !== undefined && limits !== null)
  .map((id) => {
    const f = summary[id].jetstore;
    const count = (id === "W1" ? 1_000_000 : 200_000) * scale;
    const seconds = count / f.median;
    const diskMBps = f.diskBytes / seconds / 1e6;
    return {
      id,
      payloadMBps: (count * (id === "W1" ? 128 : 1024)) / seconds / 1e6,
      diskMBps,
      fraction: diskMBps / limits.seqWriteMBps,
    };
  });

const date = new Date().toISOString().slice(0, 10);
// `bun --version` prints 1.4.5, `deno --version` "deno 2.9.5 (stable, …)" and more lines.
const runtimeVersion =
  runtime === "node"
    ? `Node ${process.versions.node}`
    : `${runtime} ${spawnSync(childBin, ["--version"], { encoding: "utf8" })
        .stdout.split("\n")[0]
        .replace(/^deno /, "")
        .replace(/ \(.*$/, "")}`;
// Only a full default run takes the plain <date> name the README points at.
const variant = [
  runtime === "node" ? "" : runtime,
  quick ? "quick" : scale !== 1 ? `scale${scale}` : "",
  only !== undefined || wanted !== undefined ? [...ids, ...stores.slice(1)].join("-") : "",
]
  .filter((part) => part !== "")
  .join("-");
const name = variant === "" ? date : `${date}-${variant}`;
const lines = [
  `### Compared with peers (${date}${runtime === "node" ? "" : `, every store under ${runtimeVersion}`}${scale !== 1 ? `, counts × ${scale}` : ""})`,
  "",
  `Median of ${runs} runs, each in a fresh process; (×) is speed relative to jetstore, > 1 is faster.`,
  "",
  ...report.matrix(summary, stores),
  "",
  ...report.details(summary, stores),
  "",
  "‡ stopped at the time cap (PEERS_CAP_S); the rate is over what was done by then.",
  "",
  "Where jetstore stands:",
  ...report.standings({
    "the embedded libraries": leaders(summary, libraries),
    "all, the append log included": leaders(summary, stores),
    "durable stores (W8)": leaders(
      Object.fromEntries(Object.entries(summary).filter(([id]) => id.startsWith("W8"))),
      durableStores,
    ),
  }),
  "",
  "Machine:",
  ...report.machineLines(machine, limits, memcpy, jetstoreShare),
  "",
  "How each store keeps the subject:",
  ...STORES.filter((s) => stores.includes(s.name)).map(
    (s) =>
      `- ${s.name}: ${s.subject}; subject query: ${s.subjectQuery}; durability: ${s.durability}`,
  ),
];
console.log(lines.join("\n"));

const results = join(repo, "bench", "results");
mkdirSync(results, { recursive: true });
const versions = Object.fromEntries(
  STORES.filter((s) => s.package !== undefined && stores.includes(s.name)).map((s) => [
    s.name,
    JSON.parse(readFileSync(join(here, "node_modules", s.package, "package.json"), "utf8")).version,
  ]),
);
const commit = spawnSync("git", ["-C", repo, "rev-parse", "--short", "HEAD"], {
  encoding: "utf8",
}).stdout.trim();
writeFileSync(
  join(results, `${name}.json`),
  `${JSON.stringify(
    {
      date,
      jetstoreCommit: commit,
      minutes: (Date.now() - started) / 60_000,
      config: {
        runtime: runtimeVersion,
        runs,
        scale,
        capSeconds: Number(env.PEERS_CAP_S ?? 15),
        stores,
        workloads: ids,
      },
      versions,
      machine,
      limits,
      memoryCopyGBps: memcpy,
      jetstoreShareOfDisk: jetstoreShare,
      summary,
      samples,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(join(results, `${name}.md`), `${lines.join("\n")}\n`);
writeFileSync(
  join(results, `${name}.svg`),
  chartSvg(summary, stores, `jetstore and peers, ${date} (${machine.cpu}, ${machine.disk})`),
);
console.error(
  `\nwrote bench/results/${name}.{json,md,svg} in ${((Date.now() - started) / 60_000).toFixed(1)} min`,
);
