/**
 * The one owner of `WebAssembly.Memory`. Instantiates the inlined core
 * synchronously (no fetch, no fs, no top-level await, no Deno permission),
 * hands out typed views over linear memory and re-takes them after growth:
 * a view over `memory.buffer` dies when the memory grows, so every caller asks
 * `core.u8` (a getter) after any call that may allocate. Growing detaches
 * the old buffer, so a view of length 0 is how the getters notice; reading
 * `memory.buffer` on every access was measured as a hot spot of appends.
 * Only this directory touches `WebAssembly`.
 */
import { JetStoreError } from "../errors.ts";
import type { CoreAbi } from "./abi.ts";
import * as releaseModule from "./core.generated.ts";

/** Which build of the core: release strips asserts, debug keeps them. */
export type CoreVariant = "release" | "debug";

/**
 * The debug build's bytes, once registered by `core-debug.ts`: tests import
 * that module; the package does not ship it (it is most of the core's size).
 */
let debugBase64: string | null = null;

/** Makes the debug build available to `getCore("debug")`. */
export function registerDebugCore(base64: string): void {
  debugBase64 = base64;
}

export class WasmCore {
  readonly abi: CoreAbi;
  readonly variant: CoreVariant;
  private buffer: ArrayBuffer;
  private u8View: Uint8Array;
  private dataView: DataView;
  private f64View: Float64Array;
  private u32View: Uint32Array;
  private i32View: Int32Array;

  constructor(variant: CoreVariant) {
    this.variant = variant;
    const base64 = variant === "release" ? releaseModule.base64 : debugBase64;
    if (base64 === null) {
      throw new JetStoreError(
        "ErrInternal",
        'the debug core is not registered: import "src/wasm/core-debug.ts" first',
      );
    }
    const bytes = decodeBase64(base64);
    const module = new WebAssembly.Module(bytes);
    let memory: WebAssembly.Memory | undefined;
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: (msg: number, file: number, line: number, column: number) => {
          const text = memory ? readAsString(memory, msg) : "abort";
          const where = memory ? readAsString(memory, file) : "?";
          throw new JetStoreError(
            "ErrInternal",
            `WebAssembly core invariant broken: ${text} at ${where}:${line}:${column}`,
          );
        },
      },
    });
    this.abi = instance.exports as unknown as CoreAbi;
    memory = this.abi.memory;
    this.buffer = memory.buffer as ArrayBuffer;
    this.u8View = new Uint8Array(this.buffer);
    this.dataView = new DataView(this.buffer);
    this.f64View = new Float64Array(this.buffer);
    this.u32View = new Uint32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
  }

  private refresh(): void {
    const buffer = this.abi.memory.buffer as ArrayBuffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.u8View = new Uint8Array(buffer);
    this.dataView = new DataView(buffer);
    this.f64View = new Float64Array(buffer);
    this.u32View = new Uint32Array(buffer);
    this.i32View = new Int32Array(buffer);
  }

  /** Bytes of linear memory; valid until the next call that may grow memory. */
  get u8(): Uint8Array {
    if (this.u8View.length === 0) this.refresh();
    return this.u8View;
  }

  get view(): DataView {
    if (this.u8View.length === 0) this.refresh();
    return this.dataView;
  }

  /** Index with `ptr >>> 3`; `ptr` must be 8-aligned. */
  get f64(): Float64Array {
    if (this.u8View.length === 0) this.refresh();
    return this.f64View;
  }

  /** Index with `ptr >>> 2`; `ptr` must be 4-aligned. */
  get u32(): Uint32Array {
    if (this.u8View.length === 0) this.refresh();
    return this.u32View;
  }

  get i32(): Int32Array {
    if (this.u8View.length === 0) this.refresh();
    return this.i32View;
  }

  /** Allocates `size` bytes (16-aligned) of linear memory that outlive calls. */
  alloc(size: number): number {
    if (!Number.isInteger(size) || size < 0 || size > 0x7fff_0000) {
      throw new JetStoreError("ErrInvalidArgument", `Cannot allocate ${size} bytes of core memory`);
    }
    const ptr = this.abi.alloc(size);
    if (ptr === 0) throw new JetStoreError("ErrInternal", `Core could not allocate ${size} bytes`);
    return ptr;
  }

  free(ptr: number): void {
    if (ptr !== 0) this.abi.free(ptr);
  }
}

const cores: Partial<Record<CoreVariant, WasmCore>> = {};

/** The process-wide core of the given variant, instantiated on first use. */
export function getCore(variant: CoreVariant = "release"): WasmCore {
  let core = cores[variant];
  if (core === undefined) {
    core = new WasmCore(variant);
    cores[variant] = core;
  }
  return core;
}

/**
 * The core's bytes. A native decoder where the runtime has one (Node and Bun:
 * `Buffer`; newer runtimes: `Uint8Array.fromBase64`): decoding through
 * `atob` and a loop over its characters was a measurable part of opening a
 * store in a fresh process.
 */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const g = globalThis as {
    Buffer?: { from(text: string, encoding: "base64"): Uint8Array<ArrayBuffer> };
  };
  const typed = Uint8Array as { fromBase64?: (text: string) => Uint8Array<ArrayBuffer> };
  if (typed.fromBase64 !== undefined) return typed.fromBase64(text);
  if (g.Buffer !== undefined) return g.Buffer.from(text, "base64");
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** AssemblyScript strings are UTF-16 with their byte length at `ptr - 4`. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const bytes = new Uint8Array(memory.buffer);
  const length = new DataView(memory.buffer).getUint32(ptr - 4, true);
  let out = "";
  for (let i = 0; i < length; i += 2)
    out += String.fromCharCode(bytes[ptr + i] | (bytes[ptr + i + 1] << 8));
  return out;
}
