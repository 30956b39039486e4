/**
 * The functions with the most self time in a V8 CPU profile, to say where a
 * workload spends its time without opening DevTools:
 *   node --cpu-prof --cpu-prof-dir=prof child.mjs jetstore W1 /tmp/x
 *   node profile-top.mjs prof/*.cpuprofile [count]
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

const [file, count = "15"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
// Samples are node ids at each tick; timeDeltas[i] is the time before sample i.
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${relative(process.cwd(), url.replace(/^file:\/\//, ""))}:${lineNumber + 1}`
    : "";
  const key = `${functionName || "(anonymous)"} ${where}`.trim();
  selfUs.set(key, (selfUs.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const top = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`);
for (const [key, us] of top) {
  console.log(
    `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
  );
}
