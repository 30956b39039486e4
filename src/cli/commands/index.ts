/** Every subcommand, in the order `jetstore --help` lists them. */
import type { Command } from "../command.ts";
import { backupCommand, restoreCommand } from "./backup.ts";
import { benchCommand } from "./bench.ts";
import { catCommand } from "./cat.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";
import { infoCommand } from "./info.ts";
import { subjectsCommand } from "./subjects.ts";
import { verifyCommand } from "./verify.ts";
import { compactCommand, purgeCommand, removeCommand } from "./writes.ts";

export const COMMANDS: readonly Command[] = [
  infoCommand,
  verifyCommand,
  catCommand,
  subjectsCommand,
  exportCommand,
  importCommand,
  backupCommand,
  restoreCommand,
  purgeCommand,
  compactCommand,
  removeCommand,
  benchCommand,
];
