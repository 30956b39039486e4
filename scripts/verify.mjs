#!/usr/bin/env node
// npm run verify -- <store dir> [--json]
// Checks every record of a FileStore directory without changing a byte of it
// (see src/verify.ts), with a progress bar on stderr when it is a terminal
// (a plain line a second otherwise), then prints a summary on stdout.
// Exit code: 0 when every byte verified, 1 when damage or lost sequences
// were found, 2 when the store could not be verified at all.
import { existsSync } from "node:fs";

const args = process.argv.slice(2);
const json = args.includes("--json");
const dirs = args.filter((a) => a !== "--json");
if (dirs.length !== 1 || dirs[0].startsWith("-")) {
  process.stderr.write("usage: npm run verify -- <store dir> [--json]\n");
  process.exit(2);
}
const built = new URL("../dist/src/verify.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write("verify: dist/ is missing; run `npm run build` first\n");
  process.exit(2);
}
const { verifyStore } = await import(built.href);
const { formatVerifyReport, size } = await import(
  new URL("../dist/src/verify-summary.js", import.meta.url).href
);
const { nodeFileSystem } = await import(new URL("../dist/runtimes/node.js", import.meta.url).href);

const dir = dirs[0];
const tty = process.stderr.isTTY === true;
let lastLine = 0;
function onProgress(p) {
  const fraction = p.bytes === 0 ? 1 : p.bytesDone / p.bytes;
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const what = `${p.blocksDone}/${p.blocks} blocks, ${size(p.bytesDone)} of ${size(p.bytes)}`;
  if (tty) {
    const width = 30;
    const done = Math.round(fraction * width);
    process.stderr.write(
      `\rverify [${"#".repeat(done)}${" ".repeat(width - done)}] ${pct} ${what}\x1b[K`,
    );
    if (p.blocksDone === p.blocks) process.stderr.write("\r\x1b[K");
    return;
  }
  const now = Date.now();
  if (now - lastLine >= 1000 || p.blocksDone === p.blocks) {
    lastLine = now;
    process.stderr.write(`verify: ${pct.trim()} ${what}\n`);
  }
}

let report;
try {
  if (nodeFileSystem.stat(dir)?.isDirectory !== true) throw new Error(`${dir} is not a directory`);
  report = verifyStore(dir, { fs: nodeFileSystem, onProgress });
} catch (err) {
  if (tty) process.stderr.write("\r\x1b[K");
  process.stderr.write(`verify: cannot verify ${dir}: ${err?.message ?? err}\n`);
  process.exit(2);
}
process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report));
process.exitCode = report.ok ? 0 : 1;
