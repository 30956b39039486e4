/**
 * Real kills: a child process of the runtime under test writes to a store on
 * disk with eight concurrent writers, each storing a message (and now and
 * then removing an older one), awaiting `sync()` and only then reporting the
 * acknowledgement on stdout. The parent SIGKILLs it at a random moment,
 * reopens the store and checks every acknowledged message is there,
 * byte-identical, every acknowledged removal stayed removed, nothing
 * returned differs from what the child wrote, `state()` agrees with a scan
 * and sequences went on from where they were. The next round's child
 * reopens the same store after the kill, so recovery runs again and again.
 * A kill keeps what reached the OS (the page cache survives), so this proves
 * the process side: no acknowledgement before its write and fsync, and
 * recovery from whatever a kill leaves; power loss is the memory adapter's
 * job (crash-points.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { StoredMsg } from "../../src/types.ts";
import type { AdapterFixture, RuntimeContext, TestApi } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";
import { codeOf, sameBytes } from "./store-helpers.ts";

const ROUNDS = 25;
const WRITERS = 8;

export function killSuite(api: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  api.describe(`SIGKILL during acknowledged writes (${ctx.runtime} child)`, () => {
    api.it(
      `keeps every acknowledged write and removal through ${ROUNDS} kills at random moments`,
      () => killRounds(api, ctx, adapter),
      120_000,
    );
  });
}

/** The payload the child stores at `seq`; its source is sent to the child, so both build the same bytes. */
const payloadOf = (seq: number): Uint8Array => {
  const text = `<${seq}>`.repeat(1 + (seq % 37));
  return new TextEncoder().encode(
    text.padEnd(40 + (seq % 200), String.fromCharCode(97 + (seq % 26))),
  );
};
const subjectOf = (seq: number) => `k.${seq % 7}`;

function childScript(entry: string, dir: string): string {
  return `
const { FileStore } = await import(${JSON.stringify(entry)});
const payloadOf = ${payloadOf.toString()};
const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0, blockSize: 16384 });
console.log("ready " + store.fastState().lastSeq);
async function writer() {
  for (;;) {
    const next = store.fastState().lastSeq + 1;
    const { seq } = store.storeMsg("k." + (next % 7), null, payloadOf(next));
    if (seq !== next) throw new Error("sequence " + seq + " where " + next + " was expected");
    let removed = 0;
    if (seq % 10 === 0 && store.removeMsg(seq - 3)) removed = seq - 3;
    await store.sync();
    console.log(removed > 0 ? "ack " + seq + " rm " + removed : "ack " + seq);
  }
}
await Promise.all(Array.from({ length: ${WRITERS} }, writer));
`;
}

/** What the children acknowledged over all rounds. */
interface Acks {
  stored: Set<number>;
  removed: Set<number>;
  top: number;
}

async function killRounds(
  api: TestApi,
  ctx: RuntimeContext,
  adapter: AdapterFixture,
): Promise<void> {
  const { expect } = api;
  const entry = childEntry(ctx);
  if (!existsSync(new URL(entry))) {
    throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
  }
  const { dir, cleanup } = adapter.tempDir();
  const acks: Acks = { stored: new Set(), removed: new Set(), top: 0 };
  const random = seeded(0x5eed + ROUNDS);
  let killedWhileWriting = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const { started, lines, alive } = await runUntilKilled(
        ctx,
        childScript(entry, dir),
        30 + random(150),
      );
      const where = `round ${round}`;
      // The child reopened after the last kill: it starts at or past everything acknowledged.
      expect({ where, ok: started >= acks.top }).toStrictEqual({ where, ok: true });
      for (const line of lines) {
        const m = /^ack (\d+)(?: rm (\d+))?$/.exec(line);
        if (m === null) throw new Error(`${where}: unexpected output from the child: ${line}`);
        const seq = Number(m[1]);
        acks.stored.add(seq);
        acks.top = Math.max(acks.top, seq);
        if (m[2] !== undefined) acks.removed.add(Number(m[2]));
      }
      if (alive && lines.length > 0) killedWhileWriting++;
      await verify(api, adapter, dir, acks, where);
    }
    // The rounds wrote, and most kills hit a child in the middle of writing.
    expect(acks.stored.size).toBeGreaterThan(ROUNDS * 10);
    expect(killedWhileWriting).toBeGreaterThan(ROUNDS / 2);
  } finally {
    cleanup();
  }
}

/**
 * Starts a child running `script`, lets it write for `ms` after it printed
 * "ready <n>", SIGKILLs it; returns n and its complete lines after that one.
 */
export async function runUntilKilled(
  ctx: RuntimeContext,
  script: string,
  ms: number,
): Promise<{ started: number; lines: string[]; alive: boolean }> {
  const { cmd, args } = childCommand(ctx);
  const child = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  child.stderr!.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await until(
      child,
      () => /^ready \d+\n/.test(out),
      15_000,
      () => `${out}\n${err}`,
    );
    await new Promise((resolve) => setTimeout(resolve, ms));
    const alive = child.exitCode === null && child.signalCode === null;
    if (!alive) throw new Error(`the child exited by itself: ${err}`);
    child.kill("SIGKILL");
    await exited;
    // A line the kill cut short was never reported: only whole lines count.
    const whole = out
      .slice(0, out.lastIndexOf("\n") + 1)
      .split("\n")
      .filter((l) => l !== "");
    const started = Number(whole[0].slice("ready ".length));
    return { started, lines: whole.slice(1), alive };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Reopens the store in this process and checks it against everything acknowledged so far. */
async function verify(
  { expect }: TestApi,
  adapter: AdapterFixture,
  dir: string,
  acks: Acks,
  where: string,
): Promise<void> {
  const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0, blockSize: 16384 });
  try {
    const state = store.state();
    const problems: string[] = [];
    if (state.lastSeq < acks.top)
      problems.push(`lastSeq ${state.lastSeq} below acknowledged ${acks.top}`);
    const live: number[] = [];
    for (let seq = 1; seq <= state.lastSeq; seq++) {
      let got: StoredMsg | null = null;
      const code = codeOf(() => {
        got = store.loadMsg(seq);
      });
      if (got === null) {
        if (code !== "ErrStoreMsgNotFound") problems.push(`${seq}: ${code}`);
        else if (acks.stored.has(seq) && !mayBeRemoved(seq, state.lastSeq)) {
          problems.push(`${seq}: acknowledged, lost`);
        }
        continue;
      }
      const m = got as StoredMsg;
      live.push(seq);
      if (acks.removed.has(seq)) problems.push(`${seq}: removal acknowledged, message back`);
      if (m.subject !== subjectOf(seq) || m.hdr !== null || !sameBytes(m.msg, payloadOf(seq))) {
        problems.push(`${seq}: differs from what was written`);
      }
    }
    expect({ where, problems }).toStrictEqual({ where, problems: [] });
    let bytes = 0;
    for (const seq of live) bytes += 36 + subjectOf(seq).length + payloadOf(seq).length;
    expect({ where, msgs: state.msgs, bytes: state.bytes, first: state.firstSeq }).toStrictEqual({
      where,
      msgs: live.length,
      bytes,
      first: live[0] ?? (state.lastSeq === 0 ? 0 : state.lastSeq + 1),
    });
  } finally {
    await store.close();
  }
}

/**
 * Whether a child may have removed `seq` without acknowledging it: the
 * writer of every tenth message removes the one three before it, so only
 * once that message exists.
 */
function mayBeRemoved(seq: number, lastSeq: number): boolean {
  return seq % 10 === 7 && seq + 3 <= lastSeq;
}

/** Resolves once `ready()` holds, checking on each output; rejects if the child exits or time runs out. */
function until(
  child: ChildProcess,
  ready: () => boolean,
  ms: number,
  output: () => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`child not ready in ${ms} ms: ${output()}`)), ms);
    const check = () => {
      if (ready()) done(null);
    };
    const onExit = () => done(new Error(`child exited before it was ready: ${output()}`));
    const done = (err: Error | null) => {
      clearTimeout(timer);
      child.stdout!.off("data", check);
      child.off("exit", onExit);
      if (err === null) resolve();
      else reject(err);
    };
    child.stdout!.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

/** A small seeded generator: `random(n)` is an integer in [0, n). */
export function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 4294967296) * n);
  };
}
