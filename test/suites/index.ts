// Every shared suite, in the order they run. Runtime entry files call this.
import type { RuntimeContext, TestApi } from "../harness.ts";
import { storeContractSuite } from "./store-contract.ts";
import { storeFactories } from "./store-factories.ts";
import { varintSuite } from "./varint.ts";

export function runAllSuites(api: TestApi, ctx: RuntimeContext): void {
  varintSuite(api, ctx);
  storeContractSuite(api, storeFactories(ctx));
}
