/** The Go side of the differential: cases sent to the runner built from bench/go-diff, one JSON line each way. */

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Case, Limits, Obj } from "./cases.ts";

export class GoRunner {
  private readonly child;
  private readonly lines: AsyncIterator<string>;
  constructor(bin: string) {
    this.child = spawn("nice", ["-n", "19", bin], { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async run(c: Case): Promise<{ obs: Obj[]; fatal?: string }> {
    const bytes = c.bytes?.go;
    const withBytes = (l: Limits) => ({ ...l, maxBytes: l.maxBytes && bytes ? bytes : 0 });
    const goCase = {
      ...c,
      limits: withBytes(c.limits),
      ops: c.ops.map((o) => (o.limits ? { ...o, limits: withBytes(o.limits) } : o)),
    };
    this.child.stdin!.write(`${JSON.stringify(goCase)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error("the Go runner exited");
    const line = JSON.parse(next.value) as { obs: Obj[] | null; fatal?: string };
    return { obs: line.obs ?? [], fatal: line.fatal };
  }
  close(): void {
    this.child.stdin!.end();
  }
}
