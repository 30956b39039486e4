/**
 * Checks of what a consumer store is given: its name (nats-server's
 * isValidAssetName and its 255-byte limit, since the file variant makes the
 * name a directory) and its configuration. Every consumer store variant uses
 * these, so a bad argument gets the same error from each.
 */
import { invalidArgument } from "../errors.ts";
import { describeValue } from "../validate.ts";
import { checkDurableConfig } from "./consumer-options.ts";
import type { AckPolicy, ConsumerConfig } from "./types.ts";

/** Longest consumer name in UTF-8 bytes (nats-server's JSMaxNameLen). */
export const MAX_CONSUMER_NAME_BYTES = 255;

const ACK_POLICIES: readonly AckPolicy[] = ["explicit", "all", "none"];
const CONFIG_KEYS = new Set(["ackPolicy", "maxDeliver", "name", "durable"]);
// nats-server's isValidAssetName refuses these; NUL and other C0 controls too, as a directory name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const BAD_NAME_CHARS = /[\u0000-\u001f\u007f .*>/\\]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What each consumer store method does, as its error messages say it: "Cannot <action>: …". */
export const ConsumerAction = {
  create: "create consumer store",
  setStarting: "set the consumer's starting sequence",
  updateStarting: "update the consumer's starting sequence",
  reset: "reset the consumer",
  hasState: "read whether the consumer has state",
  updateDelivered: "record a delivery",
  updateAcks: "record an ack",
  removeRedeliveredBelow: "remove redelivery counts",
  getConfig: "read the consumer config",
  updateConfig: "update the consumer config",
  update: "update the consumer state",
  forceUpdate: "force-update the consumer state",
  state: "read the consumer state",
  encodedState: "encode the consumer state",
} as const;

/** Checks a consumer name. */
export function checkConsumerName(name: unknown, action: string): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw invalidArgument(
      `Cannot ${action}: a consumer name must be a non-empty string, got ${describeValue(name)}`,
    );
  }
  if (BAD_NAME_CHARS.test(name) || LONE_SURROGATE.test(name)) {
    throw invalidArgument(
      `Cannot ${action}: consumer name ${describeValue(name)} holds a space, control character, '.', '*', '>', '/', '\\' or lone surrogate`,
    );
  }
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_CONSUMER_NAME_BYTES) {
    throw invalidArgument(
      `Cannot ${action}: consumer name takes ${bytes} UTF-8 bytes, more than ${MAX_CONSUMER_NAME_BYTES}`,
    );
  }
}

/** Checks a consumer configuration for the store named `name`; returns a copy without `name`. */
export function checkConsumerConfig(config: unknown, name: string, action: string): ConsumerConfig {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw invalidArgument(
      `Cannot ${action}: config must be an object with an ackPolicy, got ${describeValue(config)}`,
    );
  }
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) {
      throw invalidArgument(
        `Cannot ${action}: unknown consumer config option ${describeValue(key)}`,
      );
    }
  }
  const c = config as Partial<Record<keyof ConsumerConfig, unknown>>;
  if (!ACK_POLICIES.includes(c.ackPolicy as AckPolicy)) {
    throw invalidArgument(
      `Cannot ${action}: ackPolicy must be "explicit", "all" or "none", got ${describeValue(c.ackPolicy)}`,
    );
  }
  if (
    c.maxDeliver !== undefined &&
    (!Number.isSafeInteger(c.maxDeliver) || (c.maxDeliver as number) < -1)
  ) {
    throw invalidArgument(
      `Cannot ${action}: maxDeliver must be a safe integer ≥ 1, or 0 or -1 for no limit, got ${describeValue(c.maxDeliver)}`,
    );
  }
  if (c.name !== undefined && c.name !== name) {
    throw invalidArgument(
      `Cannot ${action}: config names consumer ${describeValue(c.name)}, but this is ${describeValue(name)}`,
    );
  }
  const copy: ConsumerConfig = { ackPolicy: c.ackPolicy as AckPolicy };
  if (c.maxDeliver !== undefined) copy.maxDeliver = c.maxDeliver as number;
  if (c.durable !== undefined) copy.durable = checkDurableConfig(c.durable, action);
  return copy;
}

/** Checks a sequence argument that must be ≥ 1 (a delivery, an ack). */
export function checkPositive(
  value: unknown,
  action: string,
  name: string,
): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw invalidArgument(
      `Cannot ${action}: ${name} must be a safe integer ≥ 1, got ${describeValue(value)}`,
    );
  }
}
