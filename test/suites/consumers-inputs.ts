/**
 * The durable consumers' bad-input table (consumer-bad-inputs.ts) run on one
 * engine: every row one test, each input's code checked and, for calls, the
 * stream and the consumer checked unchanged; and the README shows the table.
 */
import { readFileSync } from "node:fs";
import type { Consumer } from "../../src/consumers/consumer.ts";
import type { StreamStore } from "../../src/types.ts";
import type { TestApi } from "../harness.ts";
import {
  CONSUMER_BAD_INPUT_ROWS,
  type ConsumerAttempt,
  type ConsumerBadInputRow,
  consumerBadInputTableMarkdown,
} from "./consumer-bad-inputs.ts";
import { put, withStream } from "./consumer-helpers.ts";
import type { StoreFactory } from "./store-factories.ts";
import { codeOfAsync, snapshot } from "./store-helpers.ts";

function rowName(row: ConsumerBadInputRow): string {
  return `${row.entry.replaceAll("`", "")}: ${row.inputs.replaceAll("`", "")} → ${row.code}`;
}

export function consumerInputTests({ describe, it, expect }: TestApi, factory: StoreFactory): void {
  describe("bad input (README consumer table)", () => {
    for (const row of CONSUMER_BAD_INPUT_ROWS) {
      it(rowName(row), async () => {
        const got = await codesFor(row.attempt);
        expect(got).toStrictEqual(got.map(() => row.code));
      });
    }

    if (factory.name === "MemStore") {
      it("README lists every row of the consumer table, and only those", () => {
        const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
        const table = consumerBadInputTableMarkdown();
        // On failure the expected table is printed whole: paste it into the README.
        expect(readme.includes(table) ? table : readme).toBe(table);
      });
    }
  });

  /** The stream and consumer as a refused call must leave them. */
  function observe(store: StreamStore, c: Consumer | null) {
    return { stream: snapshot(store), consumer: c === null ? null : c.info() };
  }

  async function codesFor(attempt: ConsumerAttempt): Promise<string[]> {
    const got: string[] = [];
    const retention = attempt.kind === "open" ? attempt.retention : undefined;
    await withStream(
      factory,
      retention === undefined ? {} : { retention },
      async (store, _clock, fixture) => {
        put(store, "a", "a", "a");
        const filter = attempt.kind === "open" ? attempt.filter : undefined;
        const c = store.consumer("c", {
          ...(filter === undefined ? {} : { filter }),
          ...(attempt.kind === "calls" && attempt.ackPolicy
            ? { ackPolicy: attempt.ackPolicy }
            : {}),
        });
        await c.fetch(2);
        if (attempt.kind !== "calls" || attempt.ackPolicy === undefined) c.ack(1);
        if (attempt.kind === "closed") {
          if (attempt.after === "close") await c.close();
          else if (attempt.after === "delete") await c.delete();
          else await fixture.store.close();
          for (const call of attempt.calls) got.push(await codeOfAsync(async () => call(c)));
          expect(await codeOfAsync(() => c.close())).toBe("no error");
          return;
        }
        if (attempt.kind === "open" && attempt.closeFirst) await c.close();
        const live = attempt.kind === "open" && attempt.closeFirst ? null : c;
        const before = observe(store, live);
        const consumers = store.fastState().consumers;
        for (const call of attempt.calls) {
          got.push(
            await codeOfAsync(async () => (attempt.kind === "open" ? call(store) : call(c))),
          );
        }
        expect(observe(store, live)).toStrictEqual(before);
        expect(store.fastState().consumers).toBe(consumers);
      },
    );
    return got;
  }
}
