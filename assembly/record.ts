// Filled in by the record work.
