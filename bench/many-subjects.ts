/**
 * W13, W13o, W13s: a store of 1,000,000 distinct subjects (`s.<i>`, one
 * message each): storing it, reopening it from its checkpoint, and
 * `subjectsState(">")` over all of it (issue 18's goal: reopen ≤ 0.5 s at
 * ≤ 200 MiB peak RSS).
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { FileStore } from "../src/index.ts";
import { payloads } from "./data.ts";

interface Result {
  value: number;
  unit: string;
  extra?: string;
}

/** W13: one message on each of 1,000,000 distinct subjects `s.<i>`, flushed and closed. */
export async function manySubjects(dir: string): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const pool = payloads(128);
  const count = 1_000_000;
  const started = performance.now();
  const store = await FileStore.open({ dir });
  for (let i = 0; i < count; i++) store.storeMsg(`s.${i}`, null, pool[i & 1023]);
  await store.flush();
  await store.close();
  const ms = performance.now() - started;
  const checkpoint = statSync(join(dir, "index.ckpt")).size / 2 ** 20;
  return { value: ms, unit: "ms store", extra: `checkpoint ${checkpoint.toFixed(1)} MiB` };
}

/**
 * W13o: reopen the W13 store in this fresh process; timed from `open` to
 * after one `loadMsg` and `subjectsState` of one literal subject.
 */
export async function manySubjectsOpen(dir: string): Promise<Result> {
  const started = performance.now();
  const store = await FileStore.open({ dir });
  const last = store.fastState().lastSeq;
  store.loadMsg(last);
  const one = store.subjectsState("s.123456");
  const ms = performance.now() - started;
  if (one["s.123456"]?.msgs !== 1) throw new Error("W13o: s.123456 should hold one message");
  await store.close();
  return { value: ms, unit: "ms open" };
}

/** W13s: `subjectsState(">")` on the reopened W13 store (1,000,000 subjects). */
export async function manySubjectsAll(dir: string): Promise<Result> {
  const store = await FileStore.open({ dir });
  const started = performance.now();
  const count = Object.keys(store.subjectsState(">")).length;
  const ms = performance.now() - started;
  await store.close();
  if (count !== 1_000_000) throw new Error(`W13s: ${count} subjects, expected 1000000`);
  return { value: ms, unit: "ms subjectsState(>)" };
}
