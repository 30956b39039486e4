// `npm run bench:import`: how long `import("jetstore")` takes in a fresh
// process under Node, Bun and Deno, for the bundle the package ships
// (dist/bundle, build/bundle.mjs) against the modules tsc emits one by one
// (dist/src), alternating the two round by round. Prints the median (min–max)
// in ms of IMPORT_RUNS rounds (default 9) and the ratio of the medians.
// IMPORT_AGAINST=<another checkout, built> compares this checkout's bundle with
// that one's instead (before and after a change).
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.IMPORT_RUNS ?? 9);
const against = process.env.IMPORT_AGAINST;
const bundleOf = (checkout) => join(checkout, "dist", "bundle", "src", "index.js");
const entries =
  against === undefined
    ? { bundle: bundleOf(root), modules: join(root, "dist", "src", "index.js") }
    : { "this bundle": bundleOf(root), [`bundle of ${against}`]: bundleOf(against) };
const [first, second] = Object.keys(entries);
for (const file of Object.values(entries)) {
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
}

// Inside the project, so Deno resolves the package's dependencies from its package.json.
const probe = join(root, "dist", "import-probe.mjs");
writeFileSync(
  probe,
  "const started = performance.now();\n" +
    "await import(process.argv[2] ?? Deno.args[0]);\n" +
    "console.log(performance.now() - started);\n",
);

const bin = (name) => join(root, "node_modules", ".bin", name);
const commands = {
  node: (url) => [process.execPath, [probe, url]],
  bun: (url) => [bin("bun"), [probe, url]],
  deno: (url) => [bin("deno"), ["run", "--allow-read", "--allow-env", probe, url]],
};

function once(runtime, file) {
  const [cmd, args] = commands[runtime](pathToFileURL(file).href);
  const out = spawnSync(cmd, args, { encoding: "utf8" });
  const ms = Number(out.stdout.trim().split("\n").pop());
  if (out.status !== 0 || !Number.isFinite(ms)) {
    throw new Error(`${runtime} ${file}: exit ${out.status}\n${out.stderr}`);
  }
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (xs) =>
  `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

console.log(`import("jetstore") in a fresh process, ms, ${runs} alternating rounds`);
console.log(
  against === undefined
    ? "| runtime | bundle (shipped) | modules one by one | bundle ÷ modules |"
    : `| runtime | ${first} | ${second} | this ÷ that |`,
);
console.log("|---|---|---|---|");
for (const runtime of Object.keys(commands)) {
  const times = { [first]: [], [second]: [] };
  for (let i = 0; i < runs; i++) {
    for (const kind of i % 2 === 0 ? [first, second] : [second, first]) {
      times[kind].push(once(runtime, entries[kind]));
    }
  }
  const ratio = median(times[first]) / median(times[second]);
  console.log(
    `| ${runtime} | ${fmt(times[first])} | ${fmt(times[second])} | ${ratio.toFixed(2)} |`,
  );
}
