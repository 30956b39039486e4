/**
 * Real nats-server processes for the `jetstore/nats` suites: a single node
 * or a three-node cluster with JetStream, on free loopback ports, each with
 * its config file and store directory in a temp directory. Needs
 * `nats-server` on the PATH (`.ci/run` installs Debian's package); without
 * it the suites fail, loudly, rather than skip.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JetStreamManager, jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/** The nats-server binary, or an error saying how to get one. */
export function natsServerBinary(): string {
  const found = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  if (found.error || found.status !== 0) {
    throw new Error(
      "nats-server is not on the PATH: the jetstore/nats suites need a real server (apt-get install -y nats-server; .ci/run does it)",
    );
  }
  return "nats-server";
}

export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Node {
  name: string;
  port: number;
  config: string;
  proc: ChildProcess | null;
}

/** A running set of nats-server nodes (one, or a cluster). */
export class NatsServers {
  readonly dir: string;
  readonly nodes: Node[];

  private constructor(dir: string, nodes: Node[]) {
    this.dir = dir;
    this.nodes = nodes;
  }

  /** Starts `count` nodes (1, or a cluster of 3) and waits until JetStream answers. */
  static async start(count: 1 | 3): Promise<NatsServers> {
    natsServerBinary();
    const dir = mkdtempSync(join(tmpdir(), "jetstore-nats-"));
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const routes = await Promise.all(Array.from({ length: count }, () => freePort()));
    const nodes: Node[] = ports.map((port, i) => {
      const name = `n${i + 1}`;
      mkdirSync(join(dir, name));
      const lines = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: "${join(dir, name)}", max_memory_store: 64MB, max_file_store: 2GB }`,
      ];
      if (count > 1) {
        const others = routes.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
        lines.push(
          `cluster { name: jetstore, listen: 127.0.0.1:${routes[i]}, routes: [${others.join(", ")}] }`,
        );
      }
      const config = join(dir, `${name}.conf`);
      writeFileSync(config, `${lines.join("\n")}\n`);
      return { name, port, config, proc: null };
    });
    const servers = new NatsServers(dir, nodes);
    for (let i = 0; i < nodes.length; i++) servers.startNode(i);
    await servers.waitForJetStream();
    return servers;
  }

  /** A comma-separated list of every node's URL, for `connect({ servers })`. */
  get urls(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** A connection to the nodes (any of them), reconnecting forever. */
  async connect(): Promise<NatsConnection> {
    return await connect({
      servers: this.urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      timeout: 5000,
    });
  }

  startNode(i: number): void {
    const node = this.nodes[i];
    const proc = spawn(natsServerBinary(), ["-c", node.config], { stdio: "ignore" });
    node.proc = proc;
  }

  /** Stops node `i` (SIGKILL, or SIGTERM for a clean shutdown) and waits for its exit. */
  async stopNode(i: number, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    const proc = this.nodes[i].proc;
    this.nodes[i].proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  }

  /**
   * Waits until the JetStream API answers, and in a cluster until an R3 stream
   * can be placed: a meta leader can answer before it knows every peer, and
   * then refuses R3 with "no suitable peers for placement" (seen in CI).
   */
  async waitForJetStream(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = null;
    while (Date.now() < deadline) {
      let nc: NatsConnection | null = null;
      try {
        nc = await connect({ servers: this.urls, timeout: 1000 });
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        if (this.nodes.length > 1) await placeProbeStream(jsm);
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        await nc?.close().catch(() => {});
      }
    }
    throw new Error(`JetStream did not come up: ${String(last)}`);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.stopNode(i, "SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates an R3 memory stream, waits for its leader, and deletes it: proof that every peer is placeable. */
async function placeProbeStream(jsm: JetStreamManager): Promise<void> {
  const name = "JETSTORE_TEST_PROBE";
  await jsm.streams.add({ name, num_replicas: 3, storage: StorageType.Memory });
  try {
    for (let i = 0; i < 50; i++) {
      const info = await jsm.streams.info(name);
      if (info.cluster?.leader && (info.cluster.replicas ?? []).length === 2) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the probe stream got no leader with two replicas");
  } finally {
    await jsm.streams.delete(name).catch(() => {});
  }
}
