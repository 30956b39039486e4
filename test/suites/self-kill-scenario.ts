/**
 * The steps the self-kill child runs (test/children/self-kill-child.mjs) and
 * the model the parent checks a recovered store against: the stream after
 * each step, as a map from sequence to what was written there. Truncate
 * lowers the last sequence so later stores reuse sequences; each message
 * carries the generation (truncates so far) it was written in, and its
 * payload is derived from (sequence, generation, size), so a message that
 * comes back after a truncate differs from the one stored at its sequence
 * since.
 */
import { MemStore } from "../../src/memstore.ts";
import type { StoredMsg } from "../../src/types.ts";
import { codeOf } from "./store-helpers.ts";

export type Step =
  | { op: "open" }
  | { op: "store"; subject: string; seq: number; gen: number; size: number }
  | { op: "remove" | "erase" | "truncate" | "compact"; seq: number }
  | { op: "purgeEx"; subject: string; seq: number; keep: number }
  | { op: "purge" | "skip" | "sync" | "flush" | "close" };

/** What one message of the model is; its bytes are `payloadOf(seq, gen, size)`. */
export interface Written {
  subject: string;
  gen: number;
  size: number;
}

/** The stream after a step: live messages by sequence and the last sequence issued. */
export interface ModelState {
  live: Map<number, Written>;
  lastSeq: number;
}

/**
 * The payload stored at `seq` in generation `gen`. Its source is sent to the
 * child, so it must not refer to anything outside itself.
 */
export const payloadOf = (seq: number, gen: number, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  const tag = new TextEncoder().encode(`<${seq}:${gen}>`);
  out.set(tag.subarray(0, size));
  let x = (Math.imul(seq, 2654435761) ^ Math.imul(gen + 1, 40503) ^ size) >>> 0;
  for (let i = tag.length; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};

/** Builds a step list, numbering stores as the store will (truncate and compact included). */
export class Script {
  readonly steps: Step[] = [];
  private lastSeq = 0;
  private gen = 0;

  open(): this {
    return this.push({ op: "open" });
  }

  store(subject: string, size: number, count = 1): this {
    for (let i = 0; i < count; i++) {
      this.push({ op: "store", subject, seq: ++this.lastSeq, gen: this.gen, size });
    }
    return this;
  }

  remove(seq: number): this {
    return this.push({ op: "remove", seq });
  }

  erase(seq: number): this {
    return this.push({ op: "erase", seq });
  }

  truncate(seq: number): this {
    this.lastSeq = seq;
    this.gen++;
    return this.push({ op: "truncate", seq });
  }

  compact(seq: number): this {
    this.lastSeq = Math.max(this.lastSeq, seq - 1);
    return this.push({ op: "compact", seq });
  }

  purgeEx(subject: string, seq: number, keep: number): this {
    return this.push({ op: "purgeEx", subject, seq, keep });
  }

  purge(): this {
    return this.push({ op: "purge" });
  }

  skip(): this {
    this.lastSeq++;
    return this.push({ op: "skip" });
  }

  sync(): this {
    return this.push({ op: "sync" });
  }

  flush(): this {
    return this.push({ op: "flush" });
  }

  close(): this {
    return this.push({ op: "close" });
  }

  private push(step: Step): this {
    this.steps.push(step);
    return this;
  }
}

/** The one line a step is reported by in failures, e.g. `truncate(3)`. */
export function describeStep(step: Step): string {
  switch (step.op) {
    case "store":
      return `store ${step.seq} (${step.subject}, ${step.size} B, gen ${step.gen})`;
    case "purgeEx":
      return `purgeEx(${step.subject}, ${step.seq}, ${step.keep})`;
    case "remove":
    case "erase":
    case "truncate":
    case "compact":
      return `${step.op}(${step.seq})`;
    default:
      return `${step.op}()`;
  }
}

/**
 * The model's state before the first step and after each one (`states[i + 1]`
 * follows step i), and what each step returns (null for steps returning nothing).
 */
export function model(steps: Step[]): {
  states: ModelState[];
  returns: (number | boolean | null)[];
} {
  let live = new Map<number, Written>();
  let lastSeq = 0;
  const states: ModelState[] = [{ live: new Map(), lastSeq: 0 }];
  const returns: (number | boolean | null)[] = [];
  const removeWhere = (drop: (seq: number, m: Written) => boolean): number => {
    const kept = new Map([...live].filter(([seq, m]) => !drop(seq, m)));
    const removed = live.size - kept.size;
    live = kept;
    return removed;
  };
  for (const step of steps) {
    let ret: number | boolean | null = null;
    switch (step.op) {
      case "store":
        if (step.seq !== lastSeq + 1)
          throw new Error(`the script stores ${step.seq} after ${lastSeq}`);
        lastSeq = step.seq;
        live.set(step.seq, { subject: step.subject, gen: step.gen, size: step.size });
        ret = step.seq;
        break;
      case "remove":
      case "erase":
        ret = live.delete(step.seq);
        break;
      case "truncate":
        removeWhere((seq) => seq > step.seq);
        lastSeq = step.seq;
        break;
      case "compact":
        ret = removeWhere((seq) => seq < step.seq);
        lastSeq = Math.max(lastSeq, step.seq - 1);
        break;
      case "purgeEx": {
        const matching = [...live].filter(([, m]) => m.subject === step.subject).map(([s]) => s);
        const keep = new Set(step.keep > 0 ? matching.slice(-step.keep) : []);
        ret = removeWhere(
          (seq, m) =>
            m.subject === step.subject && !keep.has(seq) && (step.seq === 0 || seq < step.seq),
        );
        break;
      }
      case "purge":
        ret = removeWhere(() => true);
        break;
      case "skip":
        ret = ++lastSeq;
        break;
    }
    returns.push(ret);
    states.push({ live: new Map(live), lastSeq });
  }
  return { states, returns };
}

/**
 * Where the model parts from MemStore, the reference engine, running the same
 * steps: each step's return, and after each step the last sequence and every
 * live message (subject and payload). Empty when they agree.
 */
export function modelVersusMemStore(
  steps: Step[],
  states: ModelState[],
  returns: (number | boolean | null)[],
): string[] {
  const problems: string[] = [];
  const mem = MemStore.create({});
  steps.forEach((step, i) => {
    let ret: number | boolean | null = null;
    switch (step.op) {
      case "store":
        ret = mem.storeMsg(step.subject, null, payloadOf(step.seq, step.gen, step.size)).seq;
        break;
      case "remove":
        ret = mem.removeMsg(step.seq);
        break;
      case "erase":
        ret = mem.eraseMsg(step.seq);
        break;
      case "truncate":
        mem.truncate(step.seq);
        break;
      case "compact":
        ret = mem.compact(step.seq);
        break;
      case "purgeEx":
        ret = mem.purgeEx(step.subject, step.seq, step.keep);
        break;
      case "purge":
        ret = mem.purge();
        break;
      case "skip":
        ret = mem.skipMsg();
        break;
    }
    const want = states[i + 1];
    const live = new Map<number, string>();
    for (let seq = 1; seq <= mem.state().lastSeq; seq++) {
      let m: StoredMsg | null = null;
      const code = codeOf(() => {
        m = mem.loadMsg(seq);
      });
      if (m !== null) live.set(seq, `${(m as StoredMsg).subject} ${(m as StoredMsg).msg.join()}`);
      else if (code !== "ErrStoreMsgNotFound") live.set(seq, code);
    }
    const expected = new Map(
      [...want.live].map(([seq, m]) => [
        seq,
        `${m.subject} ${payloadOf(seq, m.gen, m.size).join()}`,
      ]),
    );
    const same =
      ret === returns[i] &&
      mem.state().lastSeq === want.lastSeq &&
      JSON.stringify([...live]) === JSON.stringify([...expected]);
    if (!same) {
      problems.push(
        `after step ${i} ${describeStep(step)} MemStore returned ${ret} and holds [${[...live.keys()]}] up to ${mem.state().lastSeq}; the model ${returns[i]}, [${[...want.live.keys()]}] up to ${want.lastSeq}`,
      );
    }
  });
  return problems;
}
