/**
 * From raw samples to figures: median, min and max per store and workload,
 * peak RSS, bytes on disk, and each store's speed relative to jetstore
 * (> 1 means faster than jetstore; for W5a, whose figure is a time, the ratio
 * is jetstore's time over the store's, so it reads the same way).
 */
import { WORKLOAD_INFO } from "./workloads.mjs";

const median = (sorted) => sorted[Math.floor(sorted.length / 2)];

/** { [workload]: { [store]: { median, min, max, runs, rssMiB, diskBytes, capped, skipped, failed } } } */
export function summarize(samples) {
  const out = {};
  for (const s of samples) {
    out[s.id] ??= {};
    out[s.id][s.store] ??= [];
    out[s.id][s.store].push(s);
  }
  for (const [id, byStore] of Object.entries(out)) {
    for (const [store, list] of Object.entries(byStore)) {
      const ran = list.filter((s) => !s.skipped && !s.failed);
      if (ran.length === 0) {
        byStore[store] = {
          skipped: list.some((s) => s.skipped),
          failed: list.find((s) => s.failed)?.failed,
        };
        continue;
      }
      const sorted = ran.toSorted((a, b) => a.value - b.value);
      const mid = median(sorted);
      byStore[store] = {
        median: mid.value,
        min: sorted[0].value,
        max: sorted[sorted.length - 1].value,
        runs: ran.length,
        unit: mid.unit,
        rssMiB: Math.max(...ran.map((s) => s.rssMiB)),
        diskBytes: mid.diskBytes,
        capped: ran.find((s) => s.capped)?.capped,
      };
    }
    const jet = byStore.jetstore;
    for (const figure of Object.values(byStore)) {
      if (jet?.median === undefined || figure.median === undefined) continue;
      figure.vsJetstore = WORKLOAD_INFO[id].higherIsBetter
        ? figure.median / jet.median
        : jet.median / figure.median;
    }
  }
  return out;
}

/**
 * Per workload, the fastest store among `candidates` and where jetstore stands:
 * `jetstoreVsFirst` is jetstore's speed over the first's (1 when it is first).
 */
export function leaders(summary, candidates) {
  const rows = [];
  for (const [id, byStore] of Object.entries(summary)) {
    const ranked = Object.entries(byStore)
      .filter(([store, f]) => candidates.includes(store) && f.vsJetstore !== undefined)
      .sort((a, b) => b[1].vsJetstore - a[1].vsJetstore);
    if (ranked.length === 0 || byStore.jetstore?.vsJetstore === undefined) continue;
    rows.push({ id, first: ranked[0][0], jetstoreVsFirst: 1 / ranked[0][1].vsJetstore });
  }
  return rows;
}
