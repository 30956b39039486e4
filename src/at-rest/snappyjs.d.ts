// snappyjs ships no types: the two functions jetstore uses.
declare module "snappyjs" {
  const SnappyJS: {
    compress(input: Uint8Array): Uint8Array;
    uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  };
  export default SnappyJS;
}
