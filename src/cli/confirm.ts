/**
 * The confirmation a destructive command asks for: `--yes` answers it;
 * otherwise a question on a terminal, and a refusal when stdin is not one
 * (a script must say --yes, not pipe "y").
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { JetStoreError } from "../errors.ts";
import type { Output } from "./output.ts";

/** True to go ahead; throws ErrInvalidArgument when there is nobody to ask. */
export async function confirm(io: Output, yes: boolean, question: string): Promise<boolean> {
  if (yes) return true;
  if (process.stdin.isTTY !== true) {
    throw new JetStoreError(
      "ErrInvalidArgument",
      `${question.replace(/\?$/, "")}: pass --yes to confirm (stdin is not a terminal)`,
    );
  }
  await io.err.write(`${question} [y/N] `);
  const rl = createInterface({ input: process.stdin });
  try {
    const answer: string = await new Promise((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
