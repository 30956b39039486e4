/** Compares the two sides of a case operation by operation: the first divergence, or null. */
import type { Case, Limits, Obj, Op } from "./cases.ts";
import {
  firstDiff,
  goSize,
  goWrong,
  jsSize,
  judgeQueries,
  KNOWN,
  normalizeBytes,
  normalizeDeleted,
  normalizeGoResult,
} from "./judge.ts";
/** Seeds whose case is printed operation by operation (trace) or at its divergence (dump); set by main. */
export const debugSeeds = { dump: -1, trace: -1 };

/**
 * Go behaviours judged nats-server bugs that change the stream itself, so
 * the case cannot be compared past them: the name to count it under, or null.
 */
export function goBugStop(
  c: Case,
  i: number,
  js: Obj,
  go: Obj,
  prevJs: Obj,
  prevGo: Obj,
  limitsNow: Limits,
): string | null {
  const o = c.ops[i];
  const ra = js.result as Obj;
  const rb = go.result as Obj;
  // Discard new with maxBytes: Go admits on payload bytes (not the record's)
  // and then enforces the limit by discarding old.
  if (o.op === "store" && ra.err === "ErrMaxBytes" && rb.err === undefined)
    return "stopped: Go DiscardNew maxBytes admits and discards old";
  const sa = js.state as Obj;
  const sb = go.state as Obj;
  // A reopen that brings Go's last sequence back below what it handed out
  // (a skip after a purge is not kept): sequences would be reused.
  if (o.op === "reopen" && (sb.lastSeq as number) < (sa.lastSeq as number))
    return "stopped: Go reopen loses the last sequence (a trailing skip)";
  // Go's message count disagrees with the messages it loads, where
  // jetstore's agrees (seen after Compact onto a skipped sequence and a
  // store: the messages after it no longer load).
  if (
    sb.bytes === "unchecked" &&
    sa.bytes === "consistent" &&
    firstDiff(js.loads, go.loads, "") !== null
  )
    return "stopped: Go msgs disagrees with its own loads";
  // A reopen after which Go loads a message it had removed (seen for a
  // purgeEx of one subject followed by a compact).
  if (o.op === "reopen" && i > 0) {
    const before = new Set(liveOf(prevGo).map((m) => m.seq));
    if (liveOf(go).some((m) => !before.has(m.seq)))
      return "stopped: Go reopen brings back a removed message";
  }
  // Discard new on a stream at maxMsgs: Go lets a message in as though its
  // subject were at maxMsgsPerSubject when it is not (a stale per-subject
  // total), then trims that subject.
  if (o.op === "store" && ra.err === "ErrMaxMsgs" && rb.err === undefined && i > 0) {
    const per = limitsNow.maxMsgsPerSubject ?? 0;
    const held = liveOf(prevJs).filter((m) => m.subj === o.subj).length;
    if (per > 0 && held < per) return "stopped: Go discard new admits on a stale per-subject total";
  }
  // PurgeEx("" or ">", 0, keep) compacts to lastSeq - keep + 1: it keeps
  // the last `keep` sequences, fewer than `keep` messages when some of them
  // were removed or skipped.
  if (
    o.op === "purgeEx" &&
    (o.subj === "" || o.subj === ">") &&
    (o.keep ?? 0) > 0 &&
    firstDiff(js.state, go.state, "") !== null
  )
    return "stopped: Go PurgeEx(all, keep) keeps sequences, not messages";
  // PurgeEx(subject, 1, 0) purges every matching message: Go reads a
  // sequence of 1 as "no bound" (its checks are sequence > 1), though
  // nothing lies below sequence 1.
  if (
    o.op === "purgeEx" &&
    o.seq === 1 &&
    o.keep === 0 &&
    firstDiff(js.state, go.state, "") !== null
  )
    return "stopped: Go PurgeEx(seq 1) purges all that match";
  // Truncate leaves the removed messages' subjects in the per-subject index:
  // later per-subject limits and subject queries act on ghosts.
  if (
    c.ops.slice(0, i + 1).some((p) => p.op === "truncate") &&
    firstDiff(js.state, go.state, "") !== null
  )
    return "stopped: Go state after Truncate (stale per-subject index)";
  return null;
}

export interface Finding {
  seed: number;
  engine: string;
  op: number;
  where: string;
  ops: Op[];
  limits: Limits;
}

/** Live messages (sequence and subject) of an observation, ascending. */
export function liveOf(ob: Obj): { seq: number; subj: string }[] {
  const seen = new Set<number>();
  const out: { seq: number; subj: string }[] = [];
  for (const l of ob.loads as Obj[]) {
    const seq = l.seq as number;
    if (l.err !== undefined || seq === 0 || seen.has(seq)) continue;
    seen.add(seq);
    out.push({ seq, subj: l.subj as string });
  }
  return out.sort((x, y) => x.seq - y.seq);
}

/**
 * What a store under discard old must leave, from the messages before it
 * and the limits (maxBytes aside): the subject trimmed to
 * maxMsgsPerSubject, then the stream's oldest past maxMsgs.
 */
export function afterStore(
  before: { seq: number; subj: string }[],
  added: { seq: number; subj: string },
  limits: Limits,
): string {
  let live = [...before, added];
  const per = limits.maxMsgsPerSubject ?? 0;
  if (per > 0) {
    const mine = live.filter((m) => m.subj === added.subj);
    const drop = new Set(mine.slice(0, Math.max(0, mine.length - per)).map((m) => m.seq));
    live = live.filter((m) => !drop.has(m.seq));
  }
  const max = limits.maxMsgs ?? 0;
  if (max > 0 && live.length > max) live = live.slice(live.length - max);
  return live.map((m) => m.seq).join(",");
}

export function compare(
  c: Case,
  engine: string,
  js: Obj[],
  go: Obj[],
  fatal?: string,
): Finding | null {
  let limits = c.limits;
  for (let i = 0; i < c.ops.length; i++) {
    const o = c.ops[i];
    if (o.op === "config") {
      limits = o.limits ?? {};
      // updateConfig trims every subject to maxMsgsPerSubject, then the
      // stream to maxMsgs (README, Limits: nats-server 2.9 applies the stream
      // limits first, and a new maxMsgsPerSubject only when lowered from a
      // set one). Where jetstore did that and Go did not, the case stops.
      if (i > 0 && !limits.maxBytes && go[i]) {
        let live = liveOf(js[i - 1]);
        const per = limits.maxMsgsPerSubject ?? 0;
        if (per > 0) {
          const count = new Map<string, number>();
          const keep = new Set<number>();
          for (const m of [...live].reverse()) {
            const n = (count.get(m.subj) ?? 0) + 1;
            count.set(m.subj, n);
            if (n <= per) keep.add(m.seq);
          }
          live = live.filter((m) => keep.has(m.seq));
        }
        const max = limits.maxMsgs ?? 0;
        if (max > 0 && live.length > max) live = live.slice(live.length - max);
        const want = live.map((m) => m.seq).join(",");
        const got = (ob: Obj) =>
          liveOf(ob)
            .map((m) => m.seq)
            .join(",");
        if (
          JSON.stringify(liveOf(js[i - 1])) === JSON.stringify(liveOf(go[i - 1])) &&
          got(js[i]) === want &&
          got(go[i]) !== want
        ) {
          const stop =
            "stopped: Go UpdateConfig trims other messages than jetstore's documented rule";
          goWrong.set(stop, (goWrong.get(stop) ?? 0) + 1);
          return null;
        }
      }
    }
    // A store whose removals Go chose otherwise than the limits say, where
    // jetstore's are the limits' (Go's per-subject totals go stale after
    // purgeEx with keep, compact, truncate and reopens). maxBytes is left out
    // of the model: where it removes, jetstore differs from the model and
    // the case is compared as usual.
    if (o.op === "store" && i > 0 && go[i] && js[i].result) {
      const seq = (js[i].result as Obj).seq;
      if (typeof seq === "number" && (go[i].result as Obj).seq === seq) {
        const before = liveOf(js[i - 1]);
        if (JSON.stringify(before) === JSON.stringify(liveOf(go[i - 1]))) {
          const want = afterStore(before, { seq, subj: o.subj as string }, limits);
          const got = (ob: Obj) =>
            liveOf(ob)
              .map((m) => m.seq)
              .join(",");
          if (got(js[i]) === want && got(go[i]) !== want) {
            const stop = "stopped: Go store removed other messages than its limits say";
            goWrong.set(stop, (goWrong.get(stop) ?? 0) + 1);
            return null;
          }
        }
      }
    }
    const a = js[i];
    const b = go[i];
    if (!b)
      return {
        seed: c.seed,
        engine,
        op: i,
        where: `go stopped: ${fatal}`,
        ops: c.ops.slice(0, i + 1),
        limits: c.limits,
      };
    if (c.seed === debugSeeds.trace) {
      const live = (ob: Obj) =>
        (ob.loads as Obj[])
          .filter((l) => l.err === undefined && (l.seq as number) > 0)
          .map((l) => `${l.seq}:${l.subj}`)
          .join(" ");
      console.log(`${i} ${JSON.stringify(c.ops[i])}\n  js ${live(a)}\n  go ${live(b)}`);
    }
    normalizeBytes(a, jsSize);
    normalizeBytes(b, goSize);
    normalizeGoResult(b.result as Obj);
    for (const k of KNOWN) k.apply(a, b);
    const sa = a.state as Obj;
    const sb = b.state as Obj;
    // The first sequence is the first message's, or last + 1 when empty.
    const live = (a.loads as Obj[]).filter((l) => l.err === undefined);
    const first = live.length ? live[0].seq : (sa.lastSeq as number) + 1;
    if (
      sa.firstSeq === first &&
      sb.firstSeq !== first &&
      firstDiff(a.loads, b.loads, "") === null
    ) {
      goWrong.set("state.firstSeq", (goWrong.get("state.firstSeq") ?? 0) + 1);
      sb.firstSeq = first;
    }
    normalizeDeleted(a);
    normalizeDeleted(b);
    if (sa.deleted === "consistent" && sb.deleted !== "consistent") {
      // 2.9.10's State() can list fewer deleted sequences than msgs implies.
      goWrong.set("state.deleted", (goWrong.get("state.deleted") ?? 0) + 1);
      sb.deleted = sa.deleted;
    }
    judgeQueries(a, b, c.ops.slice(0, i + 1));
    const stop = goBugStop(c, i, a, b, js[i - 1] ?? a, go[i - 1] ?? b, limits);
    if (stop) {
      goWrong.set(stop, (goWrong.get(stop) ?? 0) + 1);
      return null;
    }
    const where = firstDiff(a, b, `op${i}(${c.ops[i].op})`);
    if (where && c.seed === debugSeeds.dump) {
      console.log(JSON.stringify(c.ops.slice(0, i + 1)));
      console.log(`jetstore ${JSON.stringify(a)}\ngo       ${JSON.stringify(b)}`);
    }
    if (where)
      return { seed: c.seed, engine, op: i, where, ops: c.ops.slice(0, i + 1), limits: c.limits };
  }
  return null;
}
