#!/usr/bin/env node
// npm run verify -- <store dir> [--json] [--key-file F]
// Checks every record of a FileStore directory without changing a byte of it
// (see src/verify.ts), with a progress bar on stderr when it is a terminal
// (a plain line a second otherwise), then prints a summary on stdout.
// An encrypted store needs its key: --key-file F, F holding the 32 raw key
// bytes or 64 hex digits; every chunk's tag is then checked.
// Exit code: 0 when every byte verified, 1 when damage or lost sequences
// were found, 2 when the store could not be verified at all (no key or a
// wrong key for an encrypted store among the reasons).
import { existsSync, readFileSync } from "node:fs";

const usage = "usage: npm run verify -- <store dir> [--json] [--key-file F]\n";
const args = process.argv.slice(2);
let json = false;
let keyFile = null;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--json") json = true;
  else if (a === "--key-file") {
    keyFile = args[++i] ?? null;
    if (keyFile === null) {
      process.stderr.write(`verify: --key-file needs a file\n${usage}`);
      process.exit(2);
    }
  } else if (a.startsWith("--key-file=")) keyFile = a.slice("--key-file=".length);
  else dirs.push(a);
}
if (dirs.length !== 1 || dirs[0].startsWith("-")) {
  process.stderr.write(usage);
  process.exit(2);
}

/** The key in `path`: 32 raw bytes, or 64 hex digits (surrounding whitespace ignored). */
function readKey(path) {
  let bytes;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new Error(`cannot read the key file ${path}: ${err?.code ?? err?.message ?? err}`);
  }
  if (bytes.length === 32) return bytes;
  const text = new TextDecoder().decode(bytes).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    bytes.fill(0);
    return Uint8Array.from(text.match(/../g), (h) => Number.parseInt(h, 16));
  }
  bytes.fill(0);
  throw new Error(
    `the key file ${path} must hold 32 raw bytes or 64 hex digits (it holds ${bytes.length} bytes)`,
  );
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
let key;
try {
  if (nodeFileSystem.stat(dir)?.isDirectory !== true) throw new Error(`${dir} is not a directory`);
  key = keyFile === null ? undefined : readKey(keyFile);
  report = verifyStore(dir, { fs: nodeFileSystem, onProgress, key });
} catch (err) {
  if (tty) process.stderr.write("\r\x1b[K");
  process.stderr.write(`verify: cannot verify ${dir}: ${err?.message ?? err}\n`);
  process.exit(2);
} finally {
  key?.fill(0);
}
process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report));
process.exitCode = report.ok ? 0 : 1;
