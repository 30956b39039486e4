/**
 * Self-kills: a child process of the runtime under test runs a fixed scenario
 * on a real store directory and SIGKILLs itself right after its K-th call that
 * can change the disk (test/children/self-kill-child.mjs), for every K the
 * scenario makes. The parent reopens what is left and checks it against what
 * the child had acknowledged (self-kill-check.ts), then stores, closes and
 * reopens once more. kills.ts kills at random moments while the store
 * appends, crash-points.ts cuts power at every write on the memory adapter;
 * this suite reaches the paths that rewrite, truncate and unlink files
 * (eraseMsg, truncate, compact, purge, purgeEx, emptied head blocks,
 * checkpoints, close and reopen) at each of their calls, on real files.
 * SELF_KILL_DEBUG=1 prints the calls, the time taken and every failure.
 */
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import {
  type ChildRun,
  checkAfterKill,
  checkChildFiles,
  type KillAt,
  runChild,
} from "./self-kill-runner.ts";
import {
  describeStep,
  model,
  modelVersusMemStore,
  Script,
  type Step,
} from "./self-kill-scenario.ts";

/** Children run side by side; most of a child's time is process start-up and fsync waits. */
const PARALLEL = 3;

/**
 * Appends over four blocks, a removal, a checkpoint, an erase in a block the
 * checkpoint vouches for, another removal, a truncate that cuts the block
 * holding all three tombstones, stores that reuse the cut sequences, a
 * compact past a block of tombstones only, purgeEx, purge, a skip, close, and
 * a reopen that writes, removes and flushes. The truncate and the compact are
 * issue 11's reproductions (items 1 and 3), the erase its item 2.
 */
function rewriteScenario(): Step[] {
  return (
    new Script()
      .open()
      // 1000-byte records and 4 KiB blocks: 1–3 | 4–6 | 7–9 | 10.
      .store("orders", 1000, 10)
      .sync()
      .remove(2)
      .sync()
      .flush()
      .erase(5)
      .sync()
      // A removal only its tombstone records: the checkpoint above does not know it.
      .remove(1)
      .sync()
      .truncate(3)
      .sync()
      .store("orders", 1000, 4)
      .sync()
      // 8–10 on a, 11 and 12 larger than a block, 9's tombstone alone in a block between them.
      .store("a", 50, 3)
      .store("b", 5000)
      .remove(9)
      .store("b", 5000)
      .store("c", 50)
      .compact(13)
      // A clean checkpoint of what compact left: a reopen trusts it.
      .flush()
      .store("p.x", 200)
      .store("p.y", 200)
      .store("p.x", 200)
      .store("p.y", 200)
      .purgeEx("p.x", 0, 0)
      .sync()
      .purge()
      .sync()
      .skip()
      .store("orders", 300, 3)
      .sync()
      .close()
      .open()
      .store("orders", 300, 3)
      .remove(20)
      .flush()
      .close().steps
  );
}

export function selfKillSuite(api: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  api.describe(`SIGKILL inside the store's own filesystem calls (${ctx.runtime} child)`, () => {
    api.it(
      "keeps what was acknowledged through a kill after each disk-changing call of the rewrite scenario",
      () => sweep(api, ctx, adapter),
      240_000,
    );
    api.it(
      "SIGKILL right after truncate unlinks the block holding an acknowledged tombstone: the removal stays",
      async () => {
        checkChildFiles(ctx);
        const outcomes = [];
        for (const flushFirst of [false, true]) {
          // 1000-byte records and 4 KiB blocks: 1–3 | 4–6 | 7–9 | 10, and 2's tombstone joins 10 in block 4.
          const script = new Script().open().store("orders", 1000, 10).sync();
          if (flushFirst) script.flush();
          const steps = script.remove(2).sync().truncate(3).sync().close().steps;
          const from = steps.findIndex((s) => s.op === "truncate");
          const unlink = /^remove(Async)? msgs\/4\.blk$/;
          const outcome = await killAtCall(ctx, adapter, steps, from, unlink);
          outcomes.push({ flushFirst, ...outcome });
        }
        api.expect(outcomes).toStrictEqual(outcomes.map((o) => ({ ...o, problems: [] })));
      },
      60_000,
    );
    api.it(
      "SIGKILL right after eraseMsg overwrites a checkpoint-trusted record: the message is intact or gone",
      async () => {
        checkChildFiles(ctx);
        const outcomes = [];
        for (const syncAlways of [false, true]) {
          // flush: a clean checkpoint vouches for block 1 (1–3), so open trusts it unread.
          const steps = new Script()
            .open()
            .store("orders", 1000, 10)
            .flush()
            .erase(2)
            .sync()
            .close().steps;
          const from = steps.findIndex((s) => s.op === "erase");
          const outcome = await killAtCall(ctx, adapter, steps, from, /^write msgs\/1\.blk /, {
            syncAlways,
          });
          outcomes.push({ syncAlways, ...outcome });
        }
        api.expect(outcomes).toStrictEqual(outcomes.map((o) => ({ ...o, problems: [] })));
      },
      60_000,
    );
    api.it(
      "SIGKILL right after a sync round writes the active block's zeros, and right after a roll cuts them: nothing acknowledged lost",
      async () => {
        checkChildFiles(ctx);
        // 237-byte records and 4 KiB blocks: 17 a block, each stored and synced on its own.
        const script = new Script().open();
        for (let i = 0; i < 20; i++) script.store("d", 200).sync();
        const steps = script.close().steps;
        const outcomes = [];
        // The zeros after the first record (16 + 237 bytes) up to the block size, then the
        // cut of block 1 back to its 17 records when block 2 starts.
        for (const pattern of [/^write msgs\/1\.blk 253\+3843$/, /^truncate msgs\/1\.blk 4045$/]) {
          const outcome = await killAtCall(ctx, adapter, steps, 0, pattern);
          outcomes.push({ pattern: String(pattern), ...outcome });
        }
        api.expect(outcomes).toStrictEqual(outcomes.map((o) => ({ ...o, problems: [] })));
        api.expect(outcomes.every((o) => o.killed !== null)).toBe(true);
      },
      60_000,
    );
  });
}

/**
 * Runs `steps` killed right after the first call from step `fromStep` on that
 * `pattern` matches, and checks what is left. Matched, not numbered: how many
 * calls come before it may vary (a write-out timer can fire in between).
 */
async function killAtCall(
  ctx: RuntimeContext,
  adapter: AdapterFixture,
  steps: Step[],
  fromStep: number,
  pattern: RegExp,
  options: Record<string, unknown> = {},
): Promise<{ killed: string | null; problems: string[] }> {
  const { states } = model(steps);
  const { run, problems } = await killAndCheck(
    ctx,
    adapter,
    steps,
    states,
    { fromStep, pattern },
    options,
  );
  if (run.killed === null && run.failure === null) {
    const calls = run.calls
      .filter((c) => c.step >= fromStep)
      .map((c) => `${c.what} (step ${c.step})`);
    problems.push(
      `no call from step ${fromStep} on matched ${pattern}, among: ${calls.join("; ")}`,
    );
  }
  return { killed: run.killed, problems };
}

async function sweep(api: TestApi, ctx: RuntimeContext, adapter: AdapterFixture): Promise<void> {
  checkChildFiles(ctx);
  const steps = rewriteScenario();
  const { states, returns } = model(steps);
  // The model is checked against the reference engine before anything is judged by it.
  const failures = modelVersusMemStore(steps, states, returns).map((p) => `model: ${p}`);
  // The uninterrupted run: it lists the calls and must end exactly where the model does.
  const { run: counted, problems } = await killAndCheck(ctx, adapter, steps, states, 0);
  failures.push(...problems.map((p) => `uninterrupted run: ${p}`));
  if (process.env.SELF_KILL_DEBUG) {
    console.log(
      counted.calls
        .map((c) => `${c.n} ${c.what} [${c.step} ${describeStep(steps[c.step])}]`)
        .join("\n"),
    );
  }
  for (const [i, value] of counted.returns) {
    if (value !== String(returns[i])) {
      failures.push(
        `uninterrupted run: step ${i} ${describeStep(steps[i])} returned ${value}, the model ${returns[i]}`,
      );
    }
  }
  const points = counted.calls.map((c) => c.n);
  const started = Date.now();
  let landed = 0;
  const killedIn = new Set<number>();
  const byPoint: string[][] = [];
  await pool(points, PARALLEL, async (point, i) => {
    const { run, problems } = await killAndCheck(ctx, adapter, steps, states, point);
    if (run.killed !== null) {
      landed++;
      killedIn.add(run.begun);
    }
    const where = `K=${point} (${run.killed ?? "no kill: the run made fewer calls"}), in step ${run.begun} ${describeStep(steps[run.begun])}, acknowledged through step ${run.acked}`;
    byPoint[i] = problems.map((p) => `${where}: ${p}`);
  });
  failures.push(...byPoint.flat());
  if (process.env.SELF_KILL_DEBUG) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `self-kills (${ctx.runtime}): ${points.length} points, ${landed} landed, ${seconds} s`,
    );
    console.log(failures.join("\n"));
  }
  api.expect({ failures: failures.length, first: failures.slice(0, 40) }).toStrictEqual({
    failures: 0,
    first: [],
  });
  // Real or nothing: kills must have landed between each rewriting step and its
  // acknowledgement (where in between is the store's choice: an erase may
  // overwrite at once or at the next sync), and in open and close.
  const unreached = steps.flatMap((step, i) => {
    if (step.op === "store" || step.op === "remove" || step.op === "sync") return [];
    const ack = steps.findIndex((s, j) => j >= i && ["sync", "flush", "close"].includes(s.op));
    for (let j = i; j <= ack; j++) if (killedIn.has(j)) return [];
    return [`step ${i} ${describeStep(step)}`];
  });
  api.expect(unreached).toStrictEqual([]);
  api.expect(landed).toBeGreaterThan(points.length * 0.9);
}

/** Runs the child to `point` in a fresh directory and checks what it left. */
async function killAndCheck(
  ctx: RuntimeContext,
  adapter: AdapterFixture,
  steps: Step[],
  states: ReturnType<typeof model>["states"],
  at: KillAt,
  options: Record<string, unknown> = {},
): Promise<{ run: ChildRun; problems: string[] }> {
  const { dir, cleanup } = adapter.tempDir();
  try {
    const run = await runChild(ctx, dir, steps, at, options);
    if (run.failure !== null) return { run, problems: [run.failure] };
    const window = states.slice(run.acked + 1, run.begun + 2);
    return { run, problems: await checkAfterKill(adapter, dir, window, states) };
  } finally {
    cleanup();
  }
}

/** Runs `work` on every item, `width` at a time, in order of start. */
async function pool<T>(
  items: T[],
  width: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
