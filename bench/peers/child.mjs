/**
 * One run of one workload on one store, in a process of its own so that reads
 * and recovery start with nothing cached in the heap and the peak RSS belongs
 * to this store and workload alone:
 *   node child.mjs <store> <workload> <root> [scale]
 * prints one JSON line { store, id, value, unit, rssMiB, … } (or `skipped`).
 */
import { storeNamed } from "./stores/index.mjs";
import { WORKLOADS } from "./workloads.mjs";

const [name, id, root, scale = "1"] = process.argv.slice(2);
const run = WORKLOADS[id];
if (run === undefined || root === undefined) {
  console.error(`usage: child.mjs <store> <${Object.keys(WORKLOADS).join("|")}> <root> [scale]`);
  process.exit(2);
}
const result = await run(storeNamed(name), root, Number(scale));
const rssMiB = process.resourceUsage().maxRSS / 1024;
console.log(
  JSON.stringify(
    result === null ? { store: name, id, skipped: true } : { store: name, id, ...result, rssMiB },
  ),
);
