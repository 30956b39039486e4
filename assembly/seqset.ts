// Filled in by the seqset work.
