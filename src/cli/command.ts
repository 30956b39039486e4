/**
 * What a subcommand is: its help, its options for `node:util` `parseArgs`,
 * and a `run` that returns the exit code (0 ok, 1 found a problem, 2 usage
 * or cannot open). Every command also takes `--help`, `--debug` and, where it
 * opens a store, `--key-file`.
 */
import type { Output } from "./output.ts";

/** An option as `parseArgs` takes it. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

/** Parsed arguments of one invocation. */
export interface Invocation {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  io: Output;
  /** The key of an encrypted store, if one was given (zeroed after the command). */
  key: Uint8Array | undefined;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The synopsis, e.g. "info DIR [--json]". */
  usage: string;
  /** What it does, its options, and an example. */
  help: string;
  options: Record<string, OptionSpec>;
  /** How many positionals it takes. */
  positionals: { min: number; max: number };
  /** True when it takes the store key (`--key-file`). */
  needsKey: boolean;
  run(call: Invocation): Promise<number>;
}

/** Exit codes, as the README documents them. */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;

/** A string option's value, or undefined. */
export function stringOption(call: Invocation, name: string): string | undefined {
  const v = call.values[name];
  return typeof v === "string" ? v : undefined;
}

/** A boolean option's value. */
export function flag(call: Invocation, name: string): boolean {
  return call.values[name] === true;
}
