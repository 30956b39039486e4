/**
 * The README's first example, the code a new user copies, run as it is on
 * every runtime so the docs cannot drift from the code. The block follows a
 * marker comment in the README; its `import … from "jetstore"` is bound to the
 * sources, "./data" to a fresh directory, and each `console.log(…); // text`
 * must print exactly `text`. It must also show what a first example owes a
 * user: both engines, a wildcard query, a limit, a TTL and how writes become
 * durable.
 */
import { readFileSync } from "node:fs";
import * as jetstore from "../../src/index.ts";
import type { RuntimeContext, TestApi } from "../harness.ts";
import { inTempDir } from "./store-helpers.ts";

/** The comment that precedes the example in README.md. */
export const README_EXAMPLE_MARKER =
  "<!-- example: run as it is by test/suites/readme-example.ts -->";

export function readmeExampleSuite({ describe, it, expect }: TestApi, ctx: RuntimeContext): void {
  const adapter = ctx.adapters.find((a) => a.onDisk);
  if (adapter === undefined) return;
  describe("README example", () => {
    it("shows both engines, a wildcard query, a limit, a TTL and what makes writes durable", () => {
      const code = readmeExample();
      expect(code).toContain("FileStore.open(");
      expect(code).toContain("MemStore.create(");
      expect(code).toMatch(/loadNextMsg\("[^"]*[*>][^"]*", true,/);
      expect(code).toMatch(/maxMsgs\w*:/);
      expect(code).toMatch(/allowMsgTtl: true/);
      expect(code).toMatch(/storeMsg\([^;]*, \d+\);/);
      expect(code).toContain("await store.close()");
      expect(code).toMatch(/durable/);
    });

    it(`runs under ${ctx.runtime} and prints what its comments say`, () =>
      inTempDir(adapter, async (dir) => {
        const code = readmeExample();
        const expected = code
          .split("\n")
          .filter((line) => /console\.log\(.*\);\s*\/\/ /.test(line))
          .map((line) => line.slice(line.indexOf("// ") + 3).trim());
        expect(expected.length).toBeGreaterThan(0);
        const printed = await runExample(code, joinDir(dir, "data"));
        expect(printed).toStrictEqual(expected);
      }));
  });
}

/** The code block after the marker. */
function readmeExample(): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const at = readme.indexOf(README_EXAMPLE_MARKER);
  if (at < 0) throw new Error(`README.md has no ${README_EXAMPLE_MARKER}`);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readme.slice(at));
  if (block === null) throw new Error("no ```ts block follows the README example marker");
  return block[1];
}

/** Runs the example with "jetstore" bound to the sources and "./data" to `dir`; returns what it logged. */
async function runExample(code: string, dir: string): Promise<string[]> {
  const imports = /^import \{([^}]+)\} from "jetstore";$/gm;
  if ((code.match(/^import /gm) ?? []).length !== (code.match(imports) ?? []).length) {
    throw new Error("the README example may import from jetstore only");
  }
  const body = code
    .replace(imports, (_, names: string) => `const {${names}} = jetstore;`)
    .replaceAll('"./data"', JSON.stringify(dir));
  const printed: string[] = [];
  const console = { log: (...args: unknown[]) => printed.push(args.map(String).join(" ")) };
  const AsyncFunction = (async () => {}).constructor as new (
    ...params: string[]
  ) => (...args: unknown[]) => Promise<void>;
  await new AsyncFunction("jetstore", "console", body)(jetstore, console);
  return printed;
}

function joinDir(parent: string, name: string): string {
  return `${parent.replace(/\/+$/, "")}/${name}`;
}
