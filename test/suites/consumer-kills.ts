/**
 * Real kills of a process recording deliveries and acks in a file consumer
 * store: a child of the runtime under test stores messages with four
 * concurrent writers, records each one's delivery, acks every other one, and
 * reports each only after the consumer's `sync()`. The parent SIGKILLs it at
 * a random moment and reopens the store: every synced ack stays acked (its
 * message never comes back), every synced delivery left unacked is still
 * pending (it always comes back). The next child reopens the same consumer,
 * so its log is replayed and cut after each kill.
 */
import { existsSync } from "node:fs";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { childEntry } from "./filestore.ts";
import { runUntilKilled, seeded } from "./kills.ts";

const ROUNDS = 12;

function childScript(entry: string, dir: string): string {
  return `
const { FileStore } = await import(${JSON.stringify(entry)});
const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });
const consumer = store.consumerStore("k", { ackPolicy: "explicit" });
let dseq = consumer.state().delivered.consumer;
console.log("ready " + store.fastState().lastSeq);
async function writer() {
  for (;;) {
    const { seq, ts } = store.storeMsg("k", null, new Uint8Array(16));
    // A kill may lose messages not yet synced: a consumer only ever sees durable ones here.
    await store.sync();
    consumer.updateDelivered(++dseq, seq, 1, ts);
    const acked = seq % 2 === 0;
    if (acked) consumer.updateAcks(dseq, seq);
    await consumer.sync();
    console.log((acked ? "ack " : "dlv ") + seq);
  }
}
await Promise.all(Array.from({ length: 4 }, writer));
`;
}

export function consumerKillSuite(api: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  api.describe(
    `SIGKILL while a consumer records deliveries and acks (${ctx.runtime} child)`,
    () => {
      api.it(
        `keeps every synced ack and delivery through ${ROUNDS} kills`,
        async () => {
          const { expect } = api;
          const entry = childEntry(ctx);
          if (!existsSync(new URL(entry))) {
            throw new Error(`${entry} is missing: run \`npm run build\` before the Node tests`);
          }
          const { dir, cleanup } = adapter.tempDir();
          const acked = new Set<number>();
          const delivered = new Set<number>();
          const random = seeded(0xc0de);
          try {
            for (let round = 1; round <= ROUNDS; round++) {
              const { lines } = await runUntilKilled(
                ctx,
                childScript(entry, dir),
                30 + random(150),
              );
              for (const line of lines) {
                const m = /^(ack|dlv) (\d+)$/.exec(line);
                if (m === null) throw new Error(`round ${round}: unexpected output: ${line}`);
                (m[1] === "ack" ? acked : delivered).add(Number(m[2]));
              }
              const store = await FileStore.open({ dir, fs: adapter.fs, syncIntervalMs: 0 });
              try {
                const state = store.consumerStore("k", { ackPolicy: "explicit" }).state();
                const problems: string[] = [];
                for (const seq of acked) {
                  if (state.pending.has(seq) || seq > state.delivered.stream) {
                    problems.push(`${seq}: ack synced, pending again`);
                  }
                }
                for (const seq of delivered) {
                  if (!state.pending.has(seq))
                    problems.push(`${seq}: delivery synced, not pending`);
                }
                expect({ round, problems }).toStrictEqual({ round, problems: [] });
              } finally {
                await store.close();
              }
            }
            expect(acked.size).toBeGreaterThan(ROUNDS * 5);
            expect(delivered.size).toBeGreaterThan(ROUNDS * 5);
          } finally {
            cleanup();
          }
        },
        120_000,
      );
    },
  );
}
