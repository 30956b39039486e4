// Compiled, never run: what a TypeScript user with exactOptionalPropertyTypes
// writes against the public entry. Every @ts-expect-error must be an error.
import {
  type Consumer,
  type ConsumerInfo,
  type ConsumerMsg,
  type ConsumerOptions,
  type DecodedStreamState,
  type DeleteBlock,
  type DeliverPolicy,
  type DirectoryLock,
  decodeStreamState,
  type FileHandle,
  type FileStat,
  FileStore,
  type FileStoreOptions,
  type FileSystem,
  MemStore,
  type OpenMode,
  type RestoreOptions,
  type SnapshotOptions,
  type SnapshotProgress,
  type StoreOptions,
  type StreamLimits,
  verifyStore,
} from "jetstore";
import { type Faults, memoryFileSystem } from "jetstore/memory";

// "0 / undefined means unlimited": undefined may be spelled out.
const limits: StreamLimits = {
  maxMsgs: undefined,
  maxBytes: undefined,
  maxAgeMs: undefined,
  maxMsgsPerSubject: undefined,
  maxMsgSize: undefined,
  discard: undefined,
  discardNewPerSubject: undefined,
  allowMsgTtl: undefined,
  firstSeq: undefined,
  retention: undefined,
};
const storeOptions: StoreOptions = { ...limits, now: undefined };
const fileOptions: FileStoreOptions = {
  ...storeOptions,
  dir: "./data",
  fs: undefined,
  blockSize: undefined,
  cacheBytes: undefined,
  syncAlways: undefined,
  syncIntervalMs: undefined,
  cipher: undefined,
  key: undefined,
  compression: undefined,
  fileMode: undefined,
};

// At-rest options have their real types.
const plain: FileStoreOptions = {
  dir: "./data",
  cipher: "none",
  compression: "none",
  fileMode: 0o640,
};
const sealed: FileStoreOptions = {
  dir: "./data",
  cipher: "chacha20-poly1305",
  key: new Uint8Array(32),
  compression: "snappy",
};
const gcm: FileStoreOptions["cipher"] = "aes-256-gcm";
// @ts-expect-error: not a cipher
const badCipher: FileStoreOptions = { dir: "./data", cipher: "aes" };
// @ts-expect-error: a key is bytes
const badKey: FileStoreOptions = { dir: "./data", key: "secret" };
// @ts-expect-error: not a compression
const badCompression: FileStoreOptions = { dir: "./data", compression: "s2" };

// The adapter interface, by name from the entry: a wrapper that counts opens.
function counting(fs: FileSystem): { fs: FileSystem; opens: () => number } {
  let opens = 0;
  const wrapped: FileSystem = {
    ...fs,
    open(path: string, mode: OpenMode): FileHandle {
      opens++;
      return fs.open(path, mode);
    },
    stat: (path: string): FileStat | null => fs.stat(path),
    lock: (directory: string): DirectoryLock => fs.lock(directory),
  };
  return { fs: wrapped, opens: () => opens };
}

// Consumer options take undefined too; optStartTime is bigint nanoseconds.
const consumerOptions: ConsumerOptions = {
  filter: undefined,
  filters: undefined,
  deliverPolicy: undefined,
  optStartSeq: undefined,
  optStartTime: undefined,
  ackPolicy: undefined,
  ackWaitMs: undefined,
  maxDeliver: undefined,
  backoffMs: undefined,
  maxAckPending: undefined,
};
const byTime: ConsumerOptions = { deliverPolicy: "byStartTime", optStartTime: 1n };
// @ts-expect-error: a start time is bigint nanoseconds, not a Date
const byDate: ConsumerOptions = { deliverPolicy: "byStartTime", optStartTime: new Date() };
// @ts-expect-error: not a deliver policy
const badPolicy: DeliverPolicy = "first";

async function consume(store: MemStore): Promise<number> {
  const c: Consumer = store.consumer("c", consumerOptions);
  const msgs: ConsumerMsg[] = await c.fetch(10, { expiresMs: undefined });
  for (const m of msgs) c.ack(m.seq + m.consumerSeq * 0 + m.deliveryCount * 0);
  const one = await c.next();
  if (one !== null) c.nak(one.seq, 100);
  for await (const m of c.messages()) c.term(m.seq);
  const info: ConsumerInfo = c.info();
  await c.sync();
  await c.close();
  return info.numPending + info.delivered.stream + [byTime, byDate, badPolicy].length;
}

export async function use(): Promise<number> {
  // The memory adapter's options take undefined too.
  const faults: Faults = {
    crashAfterWrites: undefined,
    failRead: { index: undefined, path: undefined },
  };
  const disk = memoryFileSystem({ now: undefined, seed: undefined });
  disk.setFaults(faults);
  disk.crash({ lose: undefined, seed: undefined });
  const { fs, opens } = counting(memoryFileSystem());
  const store = await FileStore.open({ ...fileOptions, dir: "/store", fs });
  store.updateConfig({ maxMsgs: undefined, discard: undefined });
  await store.close();
  const mem = MemStore.create(storeOptions);
  mem.updateConfig(limits);
  // A peer's encoded state, decoded, and its deletions applied here.
  const peer: DecodedStreamState = decodeStreamState(mem.encodedStreamState(0));
  const blocks: DeleteBlock[] = [...peer.deleted, { kind: "range", first: 1, num: 2 }];
  // @ts-expect-error: a seqset lists its sequences
  const badBlock: DeleteBlock = { kind: "seqset", first: 1 };
  mem.syncDeleted([...blocks, { kind: "seqset", seqs: [4, 5] }]);
  const sources = peer.sources?.get("ORDERS")?.seq ?? 0;
  await consume(mem);
  await verifyStore("/store", { fs, onProgress: undefined });
  const progress: SnapshotProgress[] = [];
  const snapshotOptions: SnapshotOptions = {
    consumers: true,
    compress: undefined,
    onProgress: (p) => progress.push(p),
  };
  const chunks: Uint8Array[] = [];
  for await (const chunk of mem.snapshot(snapshotOptions)) chunks.push(chunk);
  const restoreOptions: RestoreOptions = { fs, cipher: undefined, maxMsgs: undefined };
  const restored = await FileStore.restore("/restored", chunks, restoreOptions);
  // @ts-expect-error the directory is restore's first argument, not an option
  await FileStore.restore("/r2", chunks, { dir: "/r2" });
  await restored.close();
  return (
    opens() + sources + [plain, sealed, gcm, badCipher, badKey, badCompression, badBlock].length
  );
}
