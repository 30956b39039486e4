/**
 * The README's examples, the code a user copies, checked so the docs cannot
 * drift from the code. The first (after a marker comment) and the Consumers
 * one run as they are on every runtime: their `import … from "jetstore"` is
 * bound to the sources, "./data" to a fresh directory, and each
 * `console.log(…); // text` must print exactly `text` (`text …`: that line
 * and then more, as a loop prints). The first must also show what a first
 * example owes a user: both engines, a wildcard query, a limit, a TTL and how
 * writes become durable. Every ```ts block, fragments too, compiles against
 * the built declarations as a strict user's code does (under Node).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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
        const printed = await runExample(code, joinDir(dir, "data"));
        expect(printed).toStrictEqual(expectedOutput(code, printed));
      }));

    it(`the Consumers example runs under ${ctx.runtime} and prints what its comments say`, () =>
      inTempDir(adapter, async (dir) => {
        const code = blockAfter("## Consumers");
        expect(code).toContain("store.consumer(");
        const printed = await runExample(code, joinDir(dir, "data"));
        expect(printed).toStrictEqual(expectedOutput(code, printed));
      }));

    if (ctx.runtime === "node") {
      it("every ts block compiles against the built declarations (strict, exactOptionalPropertyTypes)", async () => {
        const blocks = readmeBlocks();
        expect(blocks.length).toBeGreaterThan(3);
        expect(await compileErrors(blocks)).toBe("");
      }, 60_000);
    }
  });
}

/**
 * What the example's comments say it prints, lined up with `printed`: a
 * comment `text …` stands for a line `text` and the lines after it up to the
 * one the next comment names.
 */
function expectedOutput(code: string, printed: string[]): string[] {
  const comments = code
    .split("\n")
    .filter((line) => /console\.log\(.*\);\s*\/\/ /.test(line))
    .map((line) => line.slice(line.indexOf("// ") + 3).trim());
  if (comments.length === 0) throw new Error("the example prints nothing it documents");
  const expected: string[] = [];
  for (let i = 0; i < comments.length; i++) {
    const text = comments[i];
    if (!text.endsWith(" …")) {
      expected.push(text);
      continue;
    }
    expected.push(text.slice(0, -2));
    // The loop's further lines, as printed, up to the next documented one.
    const next = comments[i + 1];
    for (let at = expected.length; at < printed.length && printed[at] !== next; at++) {
      expected.push(printed[at]);
    }
  }
  return expected;
}

/** Every ```ts block of the README with the line it starts on. */
function readmeBlocks(): Array<{ line: number; code: string }> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
    line: readme.slice(0, m.index).split("\n").length + 1,
    code: m[1],
  }));
}

/** The first ```ts block after `heading`. */
function blockAfter(heading: string): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no ${heading}`);
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readme.slice(at));
  if (block === null) throw new Error(`no \`\`\`ts block follows ${heading}`);
  return block[1];
}

/**
 * tsc's diagnostics for the blocks, each a module beside test/types/ (so
 * "jetstore" resolves to the built package through its exports). Fragments
 * get what the README says they are given: `FileStore`, and `dir`, `store`
 * and Deno's `Deno.open` unless the block declares them.
 */
async function compileErrors(blocks: Array<{ line: number; code: string }>): Promise<string> {
  const ts = (await import("typescript")).default;
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const files = new Map<string, string>();
  for (const { line, code } of blocks) {
    const declares = (name: string) => new RegExp(`\\b(const|let) ${name}\\b`).test(code);
    const given = [
      /import \{[^}]*\bFileStore\b/.test(code) ? "" : 'import { FileStore } from "jetstore";',
      declares("dir") ? "" : "declare const dir: string;",
      declares("store") ? "" : "declare const store: FileStore;",
      "declare const Deno: { open(path: string, options?: { write?: boolean; create?: boolean }): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }> };",
    ];
    // The prelude takes line 1: a block starts on line 2 of its file, named after its README line.
    files.set(
      `${root}test/types/readme-line-${line}.ts`,
      `${given.join(" ")}\n${code}\nexport {};\n`,
    );
  }
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    // The NATS client's own declarations do not pass a strict check (tsconfig.nats.json).
    skipLibCheck: true,
    noEmit: true,
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name);
    return text === undefined
      ? getSourceFile.call(host, name, language, ...rest)
      : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
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
