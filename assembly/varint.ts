// Filled in by the varint work.
