/** Runs a case on jetstore's FileStore or MemStore and records what every operation observed. */

import { rmSync } from "node:fs";
import { FileStore, MemStore } from "../../src/index.ts";
import type { StreamLimits, StreamStore } from "../../src/types.ts";
import type { Case, Json, Limits, Obj } from "./cases.ts";

/** Keep in step with probeSeqs in bench/go-diff/main.go. */
// Probes depend on the last sequence only: Go's first sequence is sometimes
// wrong (judged separately), and would otherwise shift every probe.
export function probeSeqs(last: number): number[] {
  const seqs = [0];
  for (let s = Math.max(1, last - 300); s <= last + 2; s++) seqs.push(s);
  return seqs;
}

export function probeStarts(last: number): number[] {
  return [0, 1, Math.floor(last / 2), Math.max(0, last - 1), last, last + 1];
}

export const dec = new TextDecoder();
export const enc = new TextEncoder();
export const text = (b: Uint8Array | null) => (b ? dec.decode(b) : "");

export function codeOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") return code;
  throw e;
}

export function attempt(out: Obj, f: () => void): void {
  try {
    f();
  } catch (e) {
    out.err = codeOf(e);
  }
}

export function isWildcard(f: string): boolean {
  return f === "" || f.includes("*") || f.includes(">");
}

export function observe(store: StreamStore, filters: string[]): Obj {
  const st = store.state();
  const state: Obj = {
    msgs: st.msgs,
    bytes: st.bytes,
    firstSeq: st.firstSeq,
    lastSeq: st.lastSeq,
    numDeleted: st.numDeleted,
    numSubjects: st.numSubjects,
    deleted: st.deleted ?? [],
  };
  if (st.lost && st.lost.msgs.length > 0) state.lost = st.lost.msgs;
  const loads: Json[] = [];
  for (const seq of probeSeqs(st.lastSeq)) {
    try {
      const m = store.loadMsg(seq);
      loads.push({ seq: m.seq, subj: m.subject, hdr: text(m.hdr), msg: text(m.msg) });
    } catch (e) {
      loads.push({ seq, err: codeOf(e) });
    }
  }
  const queries: Json[] = [];
  for (const f of filters) {
    for (const start of probeStarts(st.lastSeq)) {
      const q: Obj = { q: "next", f, start };
      attempt(q, () => {
        const m = store.loadNextMsg(f, isWildcard(f), start);
        q.seq = m.seq;
        q.subj = m.subject;
      });
      queries.push(q);
      const fs = store.filteredState(start, f);
      queries.push({ q: "filtered", f, start, msgs: fs.msgs, first: fs.first, last: fs.last });
    }
    const last: Obj = { q: "last", f };
    attempt(last, () => {
      last.seq = store.loadLastMsg(f).seq;
    });
    queries.push(last);
    const subjects: Obj = {};
    for (const [s, ss] of Object.entries(store.subjectsState(f)))
      subjects[s] = { msgs: ss.msgs, first: ss.first, last: ss.last };
    queries.push({ q: "subjects", f, subjects });
  }
  return { state, loads, queries };
}

export function limitsOf(l: Limits, bytes: number | undefined): StreamLimits {
  const out: StreamLimits = {};
  if (l.maxMsgs) out.maxMsgs = l.maxMsgs;
  if (l.maxMsgsPerSubject) out.maxMsgsPerSubject = l.maxMsgsPerSubject;
  if (l.maxBytes && bytes) out.maxBytes = bytes;
  if (l.discard) out.discard = l.discard;
  return out;
}

export async function runJetstore(c: Case, engine: "file" | "mem", dir: string): Promise<Obj[]> {
  const bytes = c.bytes?.js;
  const open = async (limits: StreamLimits): Promise<StreamStore> =>
    engine === "mem"
      ? MemStore.create(limits)
      : FileStore.open({ dir, blockSize: c.blockSize, syncIntervalMs: 0, ...limits });
  let limits = limitsOf(c.limits, bytes);
  let store = await open(limits);
  const obs: Obj[] = [];
  try {
    for (const o of c.ops) {
      const result: Obj = {};
      switch (o.op) {
        case "store":
          attempt(result, () => {
            const hdr = o.hdr == null ? null : enc.encode(o.hdr);
            result.seq = store.storeMsg(o.subj!, hdr, enc.encode(o.msg!)).seq;
          });
          break;
        case "skip":
          result.seq = store.skipMsg();
          break;
        case "remove":
        case "erase":
          attempt(result, () => {
            result.ok = o.op === "remove" ? store.removeMsg(o.seq!) : store.eraseMsg(o.seq!);
          });
          break;
        case "purge":
          attempt(result, () => {
            result.n = store.purge();
          });
          break;
        case "purgeEx":
          attempt(result, () => {
            result.n = store.purgeEx(o.subj!, o.seq!, o.keep!);
          });
          break;
        case "compact":
          attempt(result, () => {
            result.n = store.compact(o.seq!);
          });
          break;
        case "truncate":
          attempt(result, () => store.truncate(o.seq!));
          break;
        case "reopen":
          // MemStore has nothing to reopen: the operation is a no-op there.
          if (engine === "file") {
            await store.close();
            store = await open(limits);
          }
          break;
        case "config":
          limits = limitsOf(o.limits!, bytes);
          attempt(result, () => store.updateConfig(limits));
          break;
      }
      const ob = observe(store, c.filters);
      ob.result = result;
      obs.push(ob);
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return obs;
}
