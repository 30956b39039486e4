/**
 * The `jetstore` command: picks the subcommand, parses its arguments with
 * `node:util` `parseArgs` (in Node, Bun and Deno alike), runs it and turns
 * any failure into one line on stderr with the JetStoreError code, the stack
 * only with `--debug`. Exit codes: 0 ok, 1 found a problem, 2 usage or
 * cannot open. `bin/jetstore.mjs` runs the build; Bun and Deno can run this
 * file directly.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { fromSystemError, isJetStoreError, JetStoreError } from "../errors.ts";
import {
  type Command,
  EXIT_OK,
  EXIT_PROBLEM,
  EXIT_USAGE,
  type Invocation,
  type OptionSpec,
} from "./command.ts";
import { COMMANDS } from "./commands/index.ts";
import { resolveKey } from "./key.ts";
import { type Output, paint, processOutput } from "./output.ts";

const COMMON: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
};
const KEY: Record<string, OptionSpec> = { "key-file": { type: "string" } };

function overview(io: Output): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map(
    (c) => `  ${paint(io.out, "bold", c.name.padEnd(width))}  ${c.summary}`,
  );
  return `usage: jetstore COMMAND [options]

Inspect, verify, export and import a jetstore directory.

commands:
${rows.join("\n")}

Run \`jetstore COMMAND --help\` for a command's options and an example.
Read commands take no lock and change nothing on disk; write commands refuse a
store another process has open. An encrypted store needs --key-file F (32 raw
bytes or 64 hex digits), or JETSTORE_KEY_FILE / JETSTORE_KEY in the environment.

exit codes: 0 ok, 1 a problem was found, 2 usage error or the store cannot be opened
`;
}

/** The full help of `cmd`. */
export function commandHelp(cmd: Command): string {
  const key = cmd.needsKey ? "\n  --key-file F     the key of an encrypted store" : "";
  return `usage: jetstore ${cmd.usage}

${cmd.help.trim()}
${key}
  --debug          show the stack of an error
  -h, --help       this help
`;
}

function usageError(message: string): JetStoreError {
  return new JetStoreError("ErrInvalidArgument", message);
}

/** Runs the command line `argv` (without the runtime and script); resolves to the exit code. */
export async function main(argv: string[], io: Output = processOutput()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    // Bare `jetstore` is a usage error: the overview goes to stderr, as usage errors do.
    await (name === undefined ? io.err : io.out).write(
      topic === undefined ? overview(io) : commandHelp(topic),
    );
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  exitOnSignals();
  const debug = rest.includes("--debug");
  const label = cmd === undefined ? "jetstore" : `jetstore ${cmd.name}`;
  let key: Uint8Array | undefined;
  try {
    if (cmd === undefined) {
      throw usageError(`unknown command "${name}" (run \`jetstore --help\` for the list)`);
    }
    const call = parse(cmd, rest, io);
    if (call === null) {
      await io.out.write(commandHelp(cmd));
      return EXIT_OK;
    }
    if (cmd.needsKey) key = call.key = resolveKey(call.values["key-file"] as string | undefined);
    return await cmd.run(call);
  } catch (caught) {
    const err = typed(caught);
    await io.err.write(errorLine(label, err, io, debug));
    if (!isJetStoreError(err)) return EXIT_USAGE;
    // Damage met on the way, or a message asked for that is not there: a problem found.
    if (err.code === "ErrCorrupt" || err.code === "ErrStoreMsgNotFound") return EXIT_PROBLEM;
    return EXIT_USAGE;
  } finally {
    key?.fill(0);
  }
}

/**
 * A system error (ENOENT, EISDIR … from node:fs on a path the user gave) as
 * the JetStoreError it is (ErrIO, ErrNotFound, ErrNoSpace), not ErrInternal,
 * which is kept for bugs.
 */
function typed(err: unknown): unknown {
  if (isJetStoreError(err)) return err;
  const sys = err as { code?: unknown; syscall?: unknown; path?: unknown } | null;
  if (typeof sys?.code !== "string" || !/^E[A-Z0-9]+$/.test(sys.code)) return err;
  const operation = typeof sys.syscall === "string" ? sys.syscall : "access";
  return fromSystemError(err, operation, typeof sys.path === "string" ? sys.path : "");
}

let signalsHandled = false;

/**
 * Ctrl-C and SIGTERM end a command as a normal exit does, so the exit tasks
 * run: a restore's half-built sibling and a backup's temporary file are
 * removed, what a write command stored is written out. Killed by the signal
 * instead, the process would leave them. The exit code is the shell's for
 * the signal (130, 143); a second signal kills as usual.
 */
function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => process.exit(code));
  }
}

/** The arguments of `cmd`, or null when help was asked for. */
function parse(cmd: Command, args: string[], io: Output): Invocation | null {
  const options = { ...COMMON, ...(cmd.needsKey ? KEY : {}), ...cmd.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's hint about "--" after an unknown option is longer than the mistake.
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw usageError(`${message} (see \`jetstore ${cmd.name} --help\`)`);
  }
  if (parsed.values.help === true) return null;
  const { min, max } = cmd.positionals;
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const expected =
      min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw usageError(`expected ${expected} argument(s), got ${n}: usage: jetstore ${cmd.usage}`);
  }
  return {
    values: parsed.values as Invocation["values"],
    positionals: parsed.positionals,
    io,
    key: undefined,
  };
}

/** One line naming the command, the error code and the message (and the stack with --debug). */
function errorLine(label: string, err: unknown, io: Output, debug: boolean): string {
  const code = isJetStoreError(err) ? err.code : "ErrInternal";
  const message = err instanceof Error ? err.message : String(err);
  const line = `${label}: ${paint(io.err, "red", code)}: ${message.replace(/\s*\n\s*/g, " ")}\n`;
  if (!debug || !(err instanceof Error) || err.stack === undefined) return line;
  const cause = err.cause instanceof Error ? `\ncaused by: ${err.cause.stack}` : "";
  return `${line}${err.stack}${cause}\n`;
}

// Bun and Deno set import.meta.main when this file is the entry; the bin calls main() itself.
if ((import.meta as { main?: boolean }).main === true) {
  process.exitCode = await main(process.argv.slice(2));
}
