/**
 * One run of one workload on one store, in a process of its own so that reads
 * and recovery start with nothing cached in the heap and the peak RSS belongs
 * to this store and workload alone:
 *   node child.mjs <store> <workload> <root> [scale]
 * prints one JSON line { store, id, value, unit, rssMiB, … } (or `skipped`).
 */
import { readFileSync } from "node:fs";
import { loadStore } from "./stores/index.mjs";
import { WORKLOADS } from "./workloads.mjs";

const [name, id, root, scale = "1"] = process.argv.slice(2);
const run = WORKLOADS[id];
if (run === undefined || root === undefined) {
  console.error(`usage: child.mjs <store> <${Object.keys(WORKLOADS).join("|")}> <root> [scale]`);
  process.exit(2);
}
/**
 * Peak RSS of this process. On Linux, getrusage's maxrss survives exec, so a
 * child starts with its parent's peak at fork; VmHWM belongs to this address
 * space alone.
 */
function peakRssMiB() {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm !== null) return Number(hwm[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}

const result = await run(await loadStore(name), root, Number(scale));
const rssMiB = peakRssMiB();
console.log(
  JSON.stringify(
    result === null ? { store: name, id, skipped: true } : { store: name, id, ...result, rssMiB },
  ),
);
