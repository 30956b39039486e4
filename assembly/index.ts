// The flat ABI of jetstore's WebAssembly core: numbers in, numbers out, bytes in
// linear memory. Each area lives in its own file; this module only re-exports.
export * from "./memory";
export * from "./xxhash64";
export * from "./varint";
export * from "./record";
export * from "./intern";
export * from "./scan";
export * from "./record-run";
export * from "./seqset";
export * from "./snappy";
export * from "./chacha20poly1305";
export * from "./archive";
export * from "./checkpoint";
export * from "./subject-groups";
