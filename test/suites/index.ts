// Every shared suite, in the order they run. Runtime entry files call this.
import type { RuntimeContext, TestApi } from "../harness.ts";

export function runAllSuites(api: TestApi, ctx: RuntimeContext): void {
  void api;
  void ctx;
}
