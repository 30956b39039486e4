/**
 * Runs the self-kill child (test/children/self-kill-child.mjs) under the
 * runtime being tested and reads back what it reported, and reopens what it
 * left in this process to check it against the model.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { StoredMsg } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { judge, scanStore } from "./self-kill-check.ts";
import { type ModelState, payloadOf, type Step } from "./self-kill-scenario.ts";
import { codeOf, codeOfAsync } from "./store-helpers.ts";

export const BLOCK_SIZE = 4096;
/** A child that neither finishes nor dies in this long is reported, not waited for. */
const CHILD_TIMEOUT_MS = 30_000;

/** A counted call of an uninterrupted run: its number, what it was, the step it fell in. */
export interface Call {
  n: number;
  what: string;
  step: number;
}

/** What a child reported before it ended or died. */
export interface ChildRun {
  /** The last step it began (-1: none), and the last step everything up to which was acknowledged. */
  begun: number;
  acked: number;
  returns: Map<number, string>;
  calls: Call[];
  /** The call the kill landed after, if it did (`after write msgs/2.blk 1058+1042`). */
  killed: string | null;
  /** Set when the child failed other than by the kill. */
  failure: string | null;
}

export function checkChildFiles(ctx: RuntimeContext): void {
  const entry = childEntry(ctx);
  if (!existsSync(new URL(entry))) {
    throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
  }
}

/**
 * Where a child kills itself: right after its `n`-th counted call (0: never,
 * and it lists its calls), or after the first call from step `fromStep` on
 * whose description (`remove msgs/4.blk`) `pattern` matches.
 */
export type KillAt = number | { fromStep: number; pattern: RegExp };

/** Runs `steps` in a child of this runtime on `dir`, killed at `at`, and reads its report once it has exited. */
export async function runChild(
  ctx: RuntimeContext,
  dir: string,
  steps: Step[],
  at: KillAt,
  options: Record<string, unknown> = {},
): Promise<ChildRun> {
  const config = {
    entry: childEntry(ctx),
    ...adapterModule(ctx),
    dir,
    blockSize: BLOCK_SIZE,
    options,
    steps,
    killAt: typeof at === "number" ? at : 0,
    killMatch:
      typeof at === "number" ? null : { fromStep: at.fromStep, pattern: at.pattern.source },
  };
  const child = new URL("../children/self-kill-child.mjs", import.meta.url).href;
  const script = [
    `const { runChild } = await import(${JSON.stringify(child)});`,
    `await runChild({ ...${JSON.stringify(config)}, payloadOf: ${payloadOf.toString()} });`,
  ].join("\n");
  const { cmd, args } = childCommand(ctx);
  const proc = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => {
    out += String(d);
  });
  proc.stderr.on("data", (d) => {
    err += String(d);
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => proc.once("close", (c, s) => resolve({ code: c, signal: s })),
  );
  clearTimeout(timer);
  return parse(out, code, signal, err);
}

function parse(out: string, code: number | null, signal: string | null, err: string): ChildRun {
  const run: ChildRun = {
    begun: -1,
    acked: -1,
    returns: new Map(),
    calls: [],
    killed: null,
    failure: null,
  };
  // Lines are written whole and synchronously; a cut one would be a bug in the child.
  for (const line of out.split("\n")) {
    const [word, a, ...rest] = line.split(" ");
    if (word === "begin") run.begun = Number(a);
    else if (word === "ack") run.acked = Number(a);
    else if (word === "ret") run.returns.set(Number(a), rest.join(" "));
    else if (word === "call")
      run.calls.push({ n: Number(a), what: rest.join(" "), step: run.begun });
    else if (word === "kill") run.killed = rest.join(" ");
    else if (word !== "end" && word !== "")
      run.failure = `unexpected output ${JSON.stringify(line)}`;
  }
  const ended = out.endsWith("end\n") && code === 0;
  const died = run.killed !== null && signal === "SIGKILL";
  if (!ended && !died) {
    run.failure = `the child exited with code ${code}, signal ${signal}: ${err.trim().slice(-2000)}`;
  }
  return run;
}

/** The adapter module and its export a child of this runtime wraps. */
function adapterModule(ctx: RuntimeContext): { adapter: string; adapterName: string } {
  const [path, adapterName] =
    ctx.runtime === "node"
      ? ["../../dist/runtimes/node.js", "nodeFileSystem"]
      : [`../../runtimes/${ctx.runtime}.ts`, `${ctx.runtime}FileSystem`];
  return { adapter: new URL(path, import.meta.url).href, adapterName };
}

/**
 * Opens what a child left, checks it against `window` (see judge), stores
 * one more message (it must get the next sequence), closes, opens again and
 * checks the second recovery holds the same plus that message.
 */
export async function checkAfterKill(
  adapter: AdapterFixture,
  dir: string,
  window: ModelState[],
  history: ModelState[],
): Promise<string[]> {
  const open = () =>
    FileStore.open({ dir, fs: adapter.fs, blockSize: BLOCK_SIZE, syncIntervalMs: 0 });
  let store: FileStore | null = null;
  const opening = await codeOfAsync(async () => {
    store = await open();
  });
  if (store === null) return [`reopening threw ${opening}`];
  const first = store as FileStore;
  const scan = scanStore(first, history);
  const problems = [...scan.problems, ...judge(scan, window)];
  const payload = payloadOf(scan.lastSeq + 1, 1_000, 64);
  const { seq } = first.storeMsg("after.kill", null, payload);
  if (seq !== scan.lastSeq + 1)
    problems.push(`the next store got ${seq} after lastSeq ${scan.lastSeq}`);
  await first.close();
  const again = await open();
  try {
    const second = scanStore(again, history);
    problems.push(...second.problems.map((p) => `second reopen: ${p}`));
    const expected = new Map(scan.observed);
    expected.set(seq, second.observed.get(seq) ?? "nothing");
    let back: StoredMsg | null = null;
    codeOf(() => {
      back = again.loadMsg(seq);
    });
    const b = back as StoredMsg | null;
    if (b === null || b.subject !== "after.kill" || b.msg.join() !== payload.join()) {
      problems.push(`second reopen: the message stored after the kill came back different`);
    }
    if (JSON.stringify([...second.observed]) !== JSON.stringify([...expected])) {
      problems.push(
        `second reopen holds ${JSON.stringify([...second.observed])}, first held ${JSON.stringify([...scan.observed])} plus ${seq}`,
      );
    }
    if (second.lastSeq !== seq)
      problems.push(`second reopen: lastSeq ${second.lastSeq}, not ${seq}`);
    for (const lost of second.lost) {
      if (!scan.lost.has(lost)) problems.push(`second reopen: lost ${lost} that the first did not`);
    }
  } finally {
    await again.close();
  }
  return problems;
}
