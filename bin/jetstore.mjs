#!/usr/bin/env node
// The `jetstore` command (npx jetstore, bunx jetstore): runs the built CLI, src/cli/main.ts.
import process from "node:process";
import { main } from "../dist/bundle/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
