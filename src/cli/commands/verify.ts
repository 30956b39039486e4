/** `jetstore verify DIR`: every record's checksum, without a lock (src/verify.ts). */
import { prepareCrypto } from "../../../runtimes/aead.ts";
import { defaultFileSystem } from "../../../runtimes/detect.ts";
import { verifyStore } from "../../verify.ts";
import { formatVerifyReport, size } from "../../verify-summary.ts";
import { type Command, EXIT_OK, EXIT_PROBLEM, flag } from "../command.ts";
import { checkStoreExists } from "../open-store.ts";
import { toJson } from "../output.ts";
import { progress } from "../progress.ts";

export const verifyCommand: Command = {
  name: "verify",
  summary: "check every record of a store; report damage and lost sequences",
  usage: "verify DIR [--json]",
  help: `Reads every record of every block of the store in DIR and checks its
checksum (and, encrypted, every chunk's tag), independently of the
checkpoint. Reports damaged bytes with file and offset, and lost sequences.
Takes no lock and changes nothing: safe on a store in use, or on evidence.
Exits 0 when everything verified, 1 when damage or loss was found.

  --json           the full report as JSON

example:
  jetstore verify ./data --json`,
  options: { json: { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  needsKey: true,
  async run(call) {
    const dir = call.positionals[0]!;
    const fs = defaultFileSystem();
    checkStoreExists(dir);
    const bar = progress(call.io.err, "verify", true);
    let report: ReturnType<typeof verifyStore>;
    if (call.key !== undefined) await prepareCrypto();
    try {
      report = verifyStore(dir, {
        fs,
        key: call.key,
        onProgress: (p) =>
          bar.update(
            p.bytesDone,
            p.bytes,
            `${p.blocksDone}/${p.blocks} blocks, ${size(p.bytesDone)} of ${size(p.bytes)}`,
          ),
      });
    } finally {
      bar.end();
    }
    await call.io.out.write(
      flag(call, "json") ? `${toJson(report, 2)}\n` : formatVerifyReport(report),
    );
    return report.ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
