// Filled in by the xxhash64 work.
