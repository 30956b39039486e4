// @ts-check
/**
 * The child of the jetstore/nats test of stopped tasks being collected
 * (test/suites/nats-replicate.ts): on one connection it starts and stops
 * `count` replications (into streams named `source` and a number) or mirrors
 * of the stream `source` (holding at least one message), each of its own MemStore,
 * drops them, forces full collections and prints which stores are still
 * reachable: `{"alive":[…indexes]}`. Then it starts one more replication,
 * closes the connection under it and prints `{"closedStop":true}` once that
 * one stopped by itself. Run with the collector exposed (`--expose-gc`, or
 * Bun's `Bun.gc`). Plain JavaScript, so it runs unchanged under Node, Bun
 * and Deno.
 */

/** @param {{ entry: string, natsEntry: string, urls: string[], kind: "replicate" | "mirror", source: string, count: number }} config */
export async function runChild(config) {
  const { MemStore } = await import(config.entry);
  const { replicate, mirror } = await import(config.natsEntry);
  const { connect } = await import("@nats-io/transport-node");
  const g = /** @type {{ Bun?: { gc(full: boolean): void }, gc?: () => void }} */ (globalThis);
  const gc = g.Bun ? () => g.Bun?.gc(true) : g.gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  const nc = await connect({ servers: config.urls });
  /** @param {any} handle */
  const untilFirst = async (handle) => {
    const deadline = Date.now() + 10_000;
    while (handle.status().lastAcked < 1) {
      if (Date.now() > deadline)
        throw new Error(`nothing acknowledged in 10 s: ${handle.status().lastError?.message}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** @type {WeakRef<object>[]} */
  const refs = [];
  // In a function of its own, so that nothing of it stays on this frame.
  const cycle = async (/** @type {number} */ i) => {
    const store = MemStore.create();
    // A subject of its own per stream: the streams a replication creates must not overlap.
    if (config.kind === "replicate") store.storeMsg(`leak${i}.m`, null, new Uint8Array(64 * 1024));
    const handle =
      config.kind === "mirror"
        ? mirror(nc, config.source, store, {})
        : replicate(store, nc, { stream: `${config.source}${i}`, name: `r${i}` });
    await untilFirst(handle);
    await handle.stop();
    refs.push(new WeakRef(store));
  };
  for (let i = 0; i < config.count; i++) await cycle(i);
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const alive = refs.flatMap((r, i) => (r.deref() === undefined ? [] : [i]));
  console.log(JSON.stringify({ alive }));
  // The connection's one close reaction still wakes a replication started after all those left.
  const store = MemStore.create();
  store.storeMsg(`${config.source.toLowerCase()}last.m`, null, new Uint8Array(1));
  const last = replicate(store, nc, { stream: `${config.source}LAST`, name: "last" });
  await untilFirst(last);
  await nc.close();
  const timer = setTimeout(() => last.stop(), 15_000);
  await last.done;
  clearTimeout(timer);
  console.log(JSON.stringify({ closedStop: last.status().lastError?.code === "ErrNats" }));
}
