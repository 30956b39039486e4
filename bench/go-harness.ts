/**
 * nats-server's Go fileStore as one more runtime of `npm run bench`: builds
 * bench/go (see bench/go/build.sh) once per content of its sources and Go
 * version, cached under the OS temp dir, and says why when it cannot.
 * Nothing else in the repository needs Go.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The line printed when Go or nats-server's source is missing. */
export const GO_INSTALL = "apt-get install -y golang-go golang-github-nats-io-nats-server-dev";

/** The harness binary, or why there is none. */
export type GoHarness = { bin: string } | { missing: string };

/**
 * Builds (or finds already built) the harness from `goDir` (bench/go of the
 * repository). The cache key is the sources, the build script and `go version`,
 * so an edit to any of them or another toolchain rebuilds.
 */
export function goHarness(goDir: string): GoHarness {
  const version = spawnSync("go", ["version"], { encoding: "utf8" });
  if (version.status !== 0) return { missing: `no Go toolchain on PATH (${GO_INSTALL})` };
  const hash = createHash("sha256").update(version.stdout);
  for (const file of ["build.sh", "export.go", "main.go"])
    hash.update(readFileSync(join(goDir, file)));
  const dir = join(tmpdir(), `jetstore-gobench-${hash.digest("hex").slice(0, 16)}`);
  const bin = join(dir, "gobench");
  if (existsSync(bin)) return { bin };
  mkdirSync(dir, { recursive: true });
  process.stderr.write("building the Go fileStore harness (bench/go/build.sh) … ");
  // Built beside, then renamed: a build cut short never passes for a cached one.
  const build = spawnSync("sh", [join(goDir, "build.sh"), `${bin}.tmp`], { encoding: "utf8" });
  if (build.status !== 0) {
    process.stderr.write("failed\n");
    const why = build.stderr.trim().split("\n").slice(-3).join(" ");
    return { missing: `bench/go/build.sh failed: ${why} (${GO_INSTALL})` };
  }
  renameSync(`${bin}.tmp`, bin);
  process.stderr.write("done\n");
  return { bin };
}
