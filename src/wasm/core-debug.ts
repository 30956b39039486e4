// Registers the debug build of the core (asserts kept) for tests that run both builds.
import { registerDebugCore } from "./core.ts";
import { base64 } from "./core-debug.generated.ts";

registerDebugCore(base64);
