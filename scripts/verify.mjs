#!/usr/bin/env node
// npm run verify -- <store dir> [--json] [--key-file F]: an alias of
// `jetstore verify` (src/cli/commands/verify.ts), kept for those who know it.
// Exit code: 0 every byte verified, 1 damage or lost sequences found, 2 the
// store could not be verified (no key or a wrong key among the reasons).
import { existsSync } from "node:fs";

const built = new URL("../dist/bundle/src/cli/main.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write("verify: dist/ is missing; run `npm run build` first\n");
  process.exit(2);
}
const { main } = await import(built.href);
process.exitCode = await main(["verify", ...process.argv.slice(2)]);
