/**
 * The public entry of jetstore: the stores, the error class and the shapes
 * they take and return, including the `FileSystem` interface an adapter
 * implements. The runtime filesystem adapters have their own entries
 * (`jetstore/node`, `jetstore/bun`, `jetstore/deno`, `jetstore/memory`).
 */

export { prepareCrypto } from "../runtimes/aead.ts";
export type {
  DirectoryLock,
  FileHandle,
  FileStat,
  FileSystem,
  OpenMode,
} from "../runtimes/fs.ts";
export type { RekeyOptions } from "./at-rest/rekey.ts";
export { Consumer, type ConsumerInfo, type ConsumerMsg } from "./consumers/consumer.ts";
export type {
  ConsumerOptions,
  DeliverPolicy,
  FetchOptions,
} from "./consumers/consumer-options.ts";
export {
  type BorrowedConsumerState,
  type ConsumerState,
  decodeConsumerState,
  encodeConsumerState,
  type PendingDelivery,
  type SequencePair,
} from "./consumers/consumer-state.ts";
export type { AckPolicy, ConsumerConfig, ConsumerStore } from "./consumers/types.ts";
export type { CorruptLocation, ErrorCode } from "./errors.ts";
export { isJetStoreError, JetStoreError } from "./errors.ts";
export type { FileStoreOptions } from "./filestore/filestore.ts";
export { FileStore } from "./filestore/filestore.ts";
export type { StoreCipher, StoreCompression } from "./filestore/options.ts";
export { MemStore } from "./memstore.ts";
export type { RestoreOptions } from "./snapshot/restore.ts";
export type {
  ArchiveSource,
  ReadableByteStream,
  SnapshotOptions,
  SnapshotProgress,
} from "./snapshot/types.ts";
export {
  type DecodedStreamState,
  type DeleteBlock,
  type DeleteRange,
  type DeleteSeqSet,
  decodeStreamState,
  type StreamSourceState,
} from "./stream-state.ts";
export type {
  DamagedBytes,
  DiscardPolicy,
  LostData,
  RetentionPolicy,
  SimpleState,
  StoredMsg,
  StoreOptions,
  StoreResult,
  StreamLimits,
  StreamState,
  StreamStore,
} from "./types.ts";
export type {
  DamagedStretch,
  LostRange,
  VerifyOptions,
  VerifyProgress,
  VerifyReport,
} from "./verify.ts";
export { verifyStore } from "./verify.ts";
