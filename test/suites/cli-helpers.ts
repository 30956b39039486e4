/**
 * What the command-line suite needs: running `jetstore` as a child process
 * of the runtime under test (Node the build's bin, Bun and Deno the .ts
 * source), a store with a bit of everything, a child holding a store open,
 * and a picture of every byte and mtime of a directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FileSystem } from "../../runtimes/fs.ts";
import { FileStore } from "../../src/filestore/filestore.ts";
import type { RuntimeContext } from "../harness.ts";
import { childCommand, childEntry } from "./filestore.ts";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = new URL("../../", import.meta.url).pathname;

/** The command and leading arguments that run `jetstore` under `ctx`'s runtime. */
export function cliCommand(ctx: RuntimeContext): { cmd: string; args: string[] } {
  const g = globalThis as { Deno?: { execPath(): string } };
  if (ctx.runtime === "deno") {
    return {
      cmd: g.Deno!.execPath(),
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        `--config=${root}deno.json`,
        `${root}src/cli/main.ts`,
      ],
    };
  }
  if (ctx.runtime === "bun") return { cmd: process.execPath, args: [`${root}src/cli/main.ts`] };
  return { cmd: process.execPath, args: [`${root}bin/jetstore.mjs`] };
}

/** Runs `jetstore ...args` to its end, `input` on stdin. */
export function runCli(
  ctx: RuntimeContext,
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<CliRun> {
  const { cmd, args: lead } = cliCommand(ctx);
  const child = spawn(cmd, [...lead, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(input);
  });
}

/**
 * Runs `jetstore ...args` with stdin, stdout and stderr on a terminal (a
 * pseudo-terminal of util-linux `script`), stdin left open as a user's
 * keyboard is. A command still running after `timeoutMs` is ended and its
 * code given as "still running". `output` is what reached the terminal, both
 * streams, line ends as the terminal writes them (\r\n).
 */
export function runOnTerminal(
  ctx: RuntimeContext,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | "still running"; output: string }> {
  const { cmd, args: lead } = cliCommand(ctx);
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const line = [cmd, ...lead, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qec", line, "/dev/null"], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    let waiting = false;
    child.stdout!.on("data", (d) => {
      output += String(d);
    });
    const timer = setTimeout(() => {
      waiting = true;
      // Ending script closes the terminal: the command under it gets SIGHUP.
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: waiting ? "still running" : (code ?? -1), output });
    });
  });
}

/** Starts `jetstore ...args` and leaves it running (for --follow). */
export function startCli(ctx: RuntimeContext, args: string[]): ChildProcess {
  const { cmd, args: lead } = cliCommand(ctx);
  return spawn(cmd, [...lead, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Every file under `dir` with its bytes (as hex of a sum and length) and mtime. */
export function treePicture(dir: string): Record<string, string> {
  const picture: Record<string, string> = {};
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const stat = statSync(path);
      const key = rel === "" ? name : `${rel}/${name}`;
      if (stat.isDirectory()) {
        picture[`${key}/`] = `dir mtime ${stat.mtimeMs}`;
        walk(path, key);
      } else {
        const bytes = readFileSync(path);
        let sum = 0;
        for (const b of bytes) sum = (sum * 31 + b) >>> 0;
        picture[key] = `${bytes.length} bytes, sum ${sum}, mtime ${stat.mtimeMs}`;
      }
    }
  };
  walk(dir, "");
  return picture;
}

export const REGIONS = ["east", "west", "north"];
const enc = new TextEncoder();
export const HEADERS = enc.encode("NATS/1.0\r\nNats-Msg-Id: m7\r\n\r\n");
export const BINARY = new Uint8Array([0xff, 0xfe, 0, 1, 2]);

/**
 * A closed store over several blocks: 120 messages on orders.<region>.<n>,
 * message 7 with headers, 8 binary, 9 a payload with a line break, 20 and 21
 * removed, and a consumer "east" on orders.east.> that fetched 5 and acked 2.
 */
export async function sampleStore(fs: FileSystem, dir: string): Promise<void> {
  const store = await FileStore.open({
    dir,
    fs,
    blockSize: 4096,
    syncIntervalMs: 0,
    allowMsgTtl: true,
  });
  for (let i = 1; i <= 120; i++) {
    const subject = `orders.${REGIONS[i % 3]}.${i % 4}`;
    const payload = i === 8 ? BINARY : enc.encode(i === 9 ? "two\nlines" : `order ${i}`);
    // Some carry a TTL (a day: none expires during a test), one never expires.
    const ttl = i % 10 === 0 ? 86_400 : i === 11 ? -1 : undefined;
    store.storeMsg(subject, i === 7 ? HEADERS : null, payload, ttl);
  }
  store.removeMsg(20);
  store.removeMsg(21);
  const consumer = store.consumer("east", { filter: "orders.east.>" });
  const got = await consumer.fetch(5);
  consumer.ack(got[0]!.seq);
  consumer.ack(got[1]!.seq);
  await consumer.sync();
  await store.sync();
  await store.close();
}

/** A child of `ctx`'s runtime holding the store in `dir` open until killed. */
export async function holdStore(ctx: RuntimeContext, dir: string): Promise<ChildProcess> {
  const script = [
    `const { FileStore } = await import(${JSON.stringify(childEntry(ctx))});`,
    `const store = await FileStore.open({ dir: ${JSON.stringify(dir)}, syncIntervalMs: 0 });`,
    `console.log("holding");`,
    "setInterval(() => {}, 60000);",
  ].join("\n");
  const { cmd, args } = childCommand(ctx);
  const child = spawn(cmd, args(script), { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`holder did not start: ${out} ${err}`)),
      10_000,
    );
    child.stdout!.on("data", (d) => {
      out += String(d);
      if (out.includes("holding\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on("data", (d) => {
      err += String(d);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`holder exited (${code}): ${out} ${err}`));
    });
  });
  return child;
}

/** Kills `child` and waits for it to go. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await gone;
}
