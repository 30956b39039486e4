// Linear-memory management for the TypeScript owner (src/wasm/core.ts).
// Buffers that outlive a call (block buffers, scan output, scratch) are carved
// with the runtime's TLSF allocator once, never per call. AssemblyScript's
// bump-allocator runtime (`--runtime stub`) was rejected: it cannot free, and
// stores are opened and closed many times.

export function alloc(size: u32): usize {
  return heap.alloc(<usize>size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}
