// Runs the shared suites under Node (vitest), Bun (bun test) and Deno
// (deno test), streams their output, and ends with one summed line:
//   tests: N passed, N failed[, N skipped]
// Exits non-zero if any runner failed or its counts could not be read.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const only = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), "jetstore-test-"));
const bin = (name) => join("node_modules", ".bin", name);

const runners = [
  {
    name: "node",
    cmd: bin("vitest"),
    args: [
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${join(tmp, "vitest.json")}`,
    ],
    count: () => {
      const report = JSON.parse(readFileSync(join(tmp, "vitest.json"), "utf8"));
      return {
        passed: report.numPassedTests,
        failed: report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0),
        skipped: report.numPendingTests + report.numTodoTests,
      };
    },
  },
  {
    name: "bun",
    cmd: bin("bun"),
    args: ["test", "./test/runtimes/bun.test.ts"],
    count: (out) => ({
      passed: lastNumber(out, /^\s*(\d+) pass$/gm),
      failed: lastNumber(out, /^\s*(\d+) fail$/gm),
      skipped: lastNumber(out, /^\s*(\d+) skip$/gm, 0),
    }),
  },
  {
    name: "deno",
    cmd: bin("deno"),
    args: [
      "test",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      // jetstore/nats talks to the nats-server processes its suites start.
      "--allow-net",
      "test/runtimes/deno.test.ts",
    ],
    env: { NO_COLOR: "1" },
    count: (out) => ({
      passed: lastNumber(out, /(\d+) passed/g),
      failed: lastNumber(out, /(\d+) failed/g),
      skipped: lastNumber(out, /(\d+) ignored/g, 0),
    }),
  },
].filter((r) => only.length === 0 || only.includes(r.name));

const total = { passed: 0, failed: 0, skipped: 0 };
let broken = 0;
for (const runner of runners) {
  console.log(`\n=== ${runner.name} ===`);
  const { code, output } = await run(runner.cmd, runner.args, runner.env);
  let counts;
  try {
    counts = runner.count(output);
  } catch (err) {
    console.error(`Could not read ${runner.name}'s test counts: ${err.message}`);
  }
  if (!counts || [counts.passed, counts.failed].some((n) => !Number.isInteger(n))) {
    broken++;
    console.error(`${runner.name}: runner exited ${code} and its counts are unreadable`);
    continue;
  }
  if (code !== 0 && counts.failed === 0) {
    broken++;
    console.error(`${runner.name}: runner exited ${code} with no failed test reported`);
  }
  console.log(
    `${runner.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
  );
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
rmSync(tmp, { recursive: true, force: true });
const failed = total.failed + broken;
const skipped = total.skipped > 0 ? `, ${total.skipped} skipped` : "";
console.log(`tests: ${total.passed} passed, ${failed} failed${skipped}`);
process.exit(failed > 0 || total.passed === 0 ? 1 : 0);

function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const forward = (stream, sink) =>
      stream.on("data", (chunk) => {
        output += chunk;
        sink.write(chunk);
      });
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on("close", (code) => resolve({ code, output }));
  });
}

function lastNumber(text, pattern, fallback) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const matches = [...plain.matchAll(pattern)];
  if (matches.length === 0) {
    if (fallback !== undefined) return fallback;
    throw new Error(`no match for ${pattern}`);
  }
  return Number(matches[matches.length - 1][1]);
}
