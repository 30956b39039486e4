/**
 * `npm start`: jetstore's main job on an embedded default. Writes 100,000
 * messages on the W1 subjects (../shared/bench/WORKLOADS.md) to
 * ./jetstore-data, closes, reopens, reads some back and prints the state and
 * the throughput it saw, then shows the store with the `jetstore` command
 * line (info, cat --last 3, subjects). Run it twice: the second run appends
 * to the first.
 */
import { main as jetstore } from "../src/cli/main.ts";
import { FileStore } from "../src/index.ts";

const COUNT = 100_000;
const PAYLOAD = 128;
const REGIONS = ["east", "west", "north", "south"];
const dir = process.argv[2] ?? "./jetstore-data";

const subjectOf = (i: number) => `orders.${REGIONS[i % 4]}.${Math.floor(i / 4) % 250}`;

let seed = 0x2545f491;
function xorshift(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
const payload = new Uint8Array(PAYLOAD);
const words = new DataView(payload.buffer);

const rate = (n: number, ms: number) =>
  `${Math.round((n / ms) * 1000).toLocaleString("en")} msgs/s`;

let started = performance.now();
let store = await FileStore.open({ dir });
const before = store.fastState();
console.log(
  `opened ${dir} in ${(performance.now() - started).toFixed(1)} ms: ${before.msgs} messages`,
);

started = performance.now();
let first = 0;
for (let i = 0; i < COUNT; i++) {
  for (let j = 0; j < PAYLOAD; j += 4) words.setUint32(j, xorshift(), true);
  const { seq } = store.storeMsg(subjectOf(i), null, payload);
  if (i === 0) first = seq;
}
await store.flush();
const wrote = performance.now() - started;
console.log(
  `stored ${COUNT.toLocaleString("en")} messages of ${PAYLOAD} B, flushed: ${rate(COUNT, wrote)}`,
);
await store.close();

started = performance.now();
store = await FileStore.open({ dir });
console.log(`reopened in ${(performance.now() - started).toFixed(1)} ms`);

started = performance.now();
const reads = 10_000;
let checked = 0;
for (let k = 0; k < reads; k++) {
  const i = (k * 7919) % COUNT;
  const msg = store.loadMsg(first + i);
  if (msg.subject !== subjectOf(i))
    throw new Error(`message ${msg.seq} has subject ${msg.subject}`);
  checked++;
}
console.log(
  `read back ${checked.toLocaleString("en")} random messages: ${rate(reads, performance.now() - started)}`,
);

const { msgs, bytes, firstSeq, lastSeq, numDeleted } = store.state();
console.log(
  `state: ${msgs.toLocaleString("en")} messages, ${(bytes / 1048576).toFixed(1)} MiB, sequences ${firstSeq}…${lastSeq}, ${numDeleted} deleted`,
);
await store.close();

// The same store through the command line, as `npx jetstore …` shows it.
for (const args of [
  ["info", dir],
  ["cat", dir, "--last", "3"],
  ["subjects", dir, "orders.*.42"],
]) {
  console.log(`\n$ jetstore ${args.join(" ")}`);
  const code = await jetstore(args);
  if (code !== 0) process.exitCode = code;
}
