/**
 * `jetstore/nats`: replicate a store into a NATS JetStream stream, and
 * mirror one into a store (README, "Outgrowing one machine"). Built on the
 * official client (`@nats-io/jetstream` over a `NatsConnection` from
 * `@nats-io/transport-node`), optional peer dependencies of jetstore that
 * only this entry imports.
 */
export { originalHeaders } from "./headers.ts";
export { mirror } from "./mirror.ts";
export type { MirrorOptions, ReplicateOptions } from "./options.ts";
export { replicate, type SyncHandle, type SyncStatus } from "./replicate.ts";
export type {
  ErrorEvent,
  ProgressEvent,
  ResumedEvent,
  StatusEvent,
  StoppedEvent,
} from "./status.ts";
