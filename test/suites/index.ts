// Every shared suite, in the order they run. Runtime entry files call this.
import type { RuntimeContext, TestApi } from "../harness.ts";
import { adapterSuite } from "./adapter.ts";
import { corruptionSuite } from "./corruption.ts";
import { crashPointSuite } from "./crash-points.ts";
import { diskErrorSuite } from "./disk-errors.ts";
import { fileModeSuite } from "./file-modes.ts";
import { fileStoreSuite } from "./filestore.ts";
import { fileStoreOptionsSuite } from "./filestore-options.ts";
import { fixtureSuite } from "./fixtures.ts";
import { killSuite } from "./kills.ts";
import { memoryFaultSuite } from "./memory-faults.ts";
import { msgTtlSuite } from "./msg-ttls.ts";
import { publicTypesSuite } from "./public-types.ts";
import { recordCodecSuite } from "./record-codec.ts";
import { seqsetSuite } from "./seqset.ts";
import { storeContractSuite } from "./store-contract.ts";
import { badInputDirectorySuite } from "./store-contract-inputs.ts";
import { storeFactories } from "./store-factories.ts";
import { subjectTrieSuite } from "./subject-trie.ts";
import { subjectSuite } from "./subjects.ts";
import { varintSuite } from "./varint.ts";
import { verifySuite } from "./verify.ts";
import { xxhashSuite } from "./xxhash.ts";

export function runAllSuites(api: TestApi, ctx: RuntimeContext): void {
  varintSuite(api, ctx);
  xxhashSuite(api, ctx);
  recordCodecSuite(api, ctx);
  seqsetSuite(api, ctx);
  fixtureSuite(api, ctx);
  adapterSuite(api, ctx);
  memoryFaultSuite(api, ctx);
  subjectSuite(api);
  subjectTrieSuite(api, ctx);
  msgTtlSuite(api);
  storeContractSuite(api, storeFactories(ctx));
  badInputDirectorySuite(api);
  fileStoreSuite(api, ctx);
  fileStoreOptionsSuite(api, ctx);
  fileModeSuite(api, ctx);
  corruptionSuite(api);
  crashPointSuite(api);
  diskErrorSuite(api);
  killSuite(api, ctx);
  verifySuite(api, ctx);
  publicTypesSuite(api, ctx);
}
