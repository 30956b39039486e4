/**
 * `jetstore bench`: the single-store workloads W1 … W8 (../shared/bench/WORKLOADS.md) on
 * this machine, against a temporary directory removed afterwards. One run
 * of each in this process (W3 and W5 reopen here rather than in a fresh
 * process), so figures are a quick look; `npm run bench` in a checkout takes
 * medians over fresh processes and compares with nats-server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultFileSystem } from "../../../runtimes/detect.ts";
import { joinPath } from "../../../runtimes/fs.ts";
import { isJetStoreError } from "../../errors.ts";
import { CHECKPOINT_FILE } from "../../filestore/checkpoint.ts";
import { FileStore } from "../../filestore/filestore.ts";
import { type Command, EXIT_OK, flag, type Invocation, stringOption } from "../command.ts";
import { wholeNumber } from "../numbers.ts";
import { count, paint, toJson } from "../output.ts";

interface Figure {
  id: string;
  what: string;
  value: number;
  unit: string;
}

const REGIONS = ["east", "west", "north", "south"];
const subjectOf = (i: number) => `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;

/** WORKLOADS.md's deterministic pseudo-random payloads (a seeded xorshift). */
function payloads(size: number): () => Uint8Array {
  let seed = 0x2545f491;
  const payload = new Uint8Array(size);
  const words = new DataView(payload.buffer);
  return () => {
    for (let j = 0; j + 4 <= size; j += 4) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      words.setUint32(j, seed >>> 0, true);
    }
    return payload;
  };
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

export const benchCommand: Command = {
  name: "bench",
  summary: "measure the store workloads W1 … W8 on this machine (temporary directory)",
  usage: "bench [--quick] [--messages N] [--dir D] [--json]",
  help: `Runs the store workloads W1 … W8 (README, Performance) once each
against a new temporary directory (removed afterwards) and prints one figure
per workload: W1 appends of 128 B, W2 appends of 1 KiB, W3 random reads, W4
scans (a) all and (b) one region, W5 reopen (a) clean and (b) without the
checkpoint, W6 subject queries, W7 removals and compact, W8 durable appends
(a) one writer and (b) 64 writers sharing fsyncs. One run in this process: a
quick look, not a benchmark report (\`npm run bench\` in a checkout takes
medians).

  --quick          a tenth of the sizes (100,000 messages for W1)
  --messages N     W1's message count (the others scale with it)
  --dir D          the parent of the temporary directory (default the OS's)
  --json           the figures as a JSON array

example:
  jetstore bench --quick`,
  options: {
    quick: { type: "boolean" },
    messages: { type: "string" },
    dir: { type: "string" },
    json: { type: "boolean" },
  },
  positionals: { min: 0, max: 0 },
  needsKey: false,
  async run(call) {
    const n =
      wholeNumber(stringOption(call, "messages"), "--messages", 100) ??
      (flag(call, "quick") ? 100_000 : 1_000_000);
    const parent = stringOption(call, "dir") ?? tmpdir();
    const root = mkdtempSync(join(parent, "jetstore-bench-"));
    const figures: Figure[] = [];
    const report = async (f: Figure) => {
      figures.push(f);
      if (flag(call, "json")) return;
      const o = call.io.out;
      await o.write(
        `${paint(o, "bold", f.id.padEnd(5))}${f.what.padEnd(44)}${count(f.value).padStart(12)} ${f.unit}\n`,
      );
    };
    try {
      await runWorkloads(call, root, n, report);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    if (flag(call, "json")) await call.io.out.write(`${toJson(figures, 2)}\n`);
    return EXIT_OK;
  },
};

async function runWorkloads(
  call: Invocation,
  root: string,
  n: number,
  report: (f: Figure) => Promise<void>,
): Promise<void> {
  if (!flag(call, "json")) await call.io.err.write(`bench: ${count(n)} messages in ${root}\n`);
  const dir = joinPath(root, "w1");
  const next = payloads(128);
  let t = performance.now();
  let store = await FileStore.open({ dir, syncIntervalMs: 0 });
  for (let i = 0; i < n; i++) store.storeMsg(subjectOf(i), null, next());
  await store.flush();
  await store.close();
  await report({
    id: "W1",
    what: `${count(n)} × 128 B appended, flushed`,
    value: rate(n, performance.now() - t),
    unit: "msgs/s",
  });

  const n2 = Math.max(1, Math.floor(n / 5));
  const big = payloads(1024);
  t = performance.now();
  const w2 = await FileStore.open({ dir: joinPath(root, "w2"), syncIntervalMs: 0 });
  for (let i = 0; i < n2; i++) w2.storeMsg(subjectOf(i), null, big());
  await w2.flush();
  await w2.close();
  await report({
    id: "W2",
    what: `${count(n2)} × 1 KiB appended, flushed`,
    value: rate(n2, performance.now() - t),
    unit: "msgs/s",
  });

  store = await FileStore.open({ dir, syncIntervalMs: 0 });
  t = performance.now();
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    store.loadMsg(1 + (x % n));
  }
  await report({
    id: "W3",
    what: `${count(n)} random loadMsg`,
    value: rate(n, performance.now() - t),
    unit: "msgs/s",
  });
  for (const [id, filter] of [
    ["W4a", ">"],
    ["W4b", "orders.east.*"],
  ] as const) {
    t = performance.now();
    let seen = 0;
    for (let seq = 1; ; seq++) {
      try {
        seq = store.loadNextMsg(filter, filter !== ">", seq).seq;
      } catch (err) {
        if (isJetStoreError(err, "ErrStoreEOF")) break;
        throw err;
      }
      seen++;
    }
    await report({
      id,
      what: `loadNextMsg scan of ${filter} (${count(seen)})`,
      value: rate(seen, performance.now() - t),
      unit: "msgs/s",
    });
  }
  const queries = 200;
  t = performance.now();
  for (let i = 0; i < queries; i++) {
    store.filteredState(1, "orders.east.7");
    store.numPending(1, "orders.*.7", false);
    store.subjectsState("orders.>");
  }
  await report({
    id: "W6",
    what: "filteredState + numPending + subjectsState",
    value: Math.round(((performance.now() - t) * 1000) / queries),
    unit: "µs per round",
  });
  await store.close();

  for (const [id, what, before] of [
    ["W5a", "reopen after a clean close", () => {}],
    [
      "W5b",
      "reopen without the checkpoint",
      () => defaultFileSystem().remove(joinPath(dir, CHECKPOINT_FILE)),
    ],
  ] as const) {
    before();
    t = performance.now();
    const s = await FileStore.open({ dir, syncIntervalMs: 0 });
    s.loadMsg(1);
    await report({ id, what, value: Math.round(performance.now() - t), unit: "ms" });
    await s.close();
  }

  const w7 = await FileStore.open({ dir: joinPath(root, "w7"), syncIntervalMs: 0 });
  for (let i = 0; i < n2; i++) w7.storeMsg(subjectOf(i), null, next());
  t = performance.now();
  for (let seq = 1; seq <= n2; seq += 2) w7.removeMsg(seq);
  w7.compact(Math.floor(n2 / 2));
  await w7.flush();
  await report({
    id: "W7",
    what: `remove every other of ${count(n2)}, compact`,
    value: Math.round(performance.now() - t),
    unit: "ms",
  });
  await w7.close();

  for (const [id, writers] of [
    ["W8a", 1],
    ["W8b", 64],
  ] as const) {
    const each = Math.ceil(Math.max(64, Math.floor(n / 50)) / writers);
    const n8 = each * writers;
    const s = await FileStore.open({ dir: joinPath(root, id), syncIntervalMs: 0 });
    t = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < each; i++) {
          s.storeMsg("durable", null, next());
          await s.sync();
        }
      }),
    );
    await report({
      id,
      what: `${count(n8)} durable appends, ${writers} writer(s)`,
      value: rate(n8, performance.now() - t),
      unit: "msgs/s",
    });
    await s.close();
  }
}
