/**
 * The typed shape of the WebAssembly core's exports: the flat ABI of assembly/.
 * Pointers and lengths are i32 (numbers), sequences and counts f64 (exact for
 * safe integers), 64-bit timestamps travel as two u32 halves or in memory so no
 * call creates a BigInt.
 */

/** Memory management (assembly/memory.ts). */
export interface MemoryAbi {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
}

/** Everything the core exports; each area adds its own interface here. */
export type CoreAbi = MemoryAbi;
