// Compiled, never run: what a TypeScript user with exactOptionalPropertyTypes
// writes against jetstore/nats. Its own tsconfig (tsconfig.nats.json): the NATS
// client's declarations need the ESNext and DOM libraries and do not pass
// skipLibCheck: false themselves. Every @ts-expect-error must be an error.

import type { NatsConnection } from "@nats-io/nats-core";
import type { MemStore } from "jetstore";
import {
  type MirrorOptions,
  mirror,
  originalHeaders,
  type ReplicateOptions,
  replicate,
  type StatusEvent,
  type SyncHandle,
} from "jetstore/nats";

declare const nc: NatsConnection;
const replicateOptions: ReplicateOptions = {
  stream: "ORDERS",
  subjects: ["orders.>"],
  replicas: 3,
  window: 64,
};
const mirrorOptions: MirrorOptions = { filter: "orders.>", fromSeq: 1 };
async function natsUse(store: MemStore): Promise<void> {
  const handle: SyncHandle = replicate(store, nc, replicateOptions);
  for await (const e of handle) {
    const event: StatusEvent = e;
    if (event.type === "error") console.log(event.error.code, event.fatal);
    if (event.type === "progress") console.log(event.lastAcked + event.lag);
  }
  const status = handle.status();
  console.log(status.lastAcked, status.lag, status.errors, status.lastError?.code, status.running);
  await handle.stop();
  const back = mirror(nc, "ORDERS", store, mirrorOptions);
  await back.done;
  const hdr: Uint8Array | null = originalHeaders(null);
  // @ts-expect-error the stream is required
  replicate(store, nc, {});
  console.log(hdr);
}
void natsUse;
