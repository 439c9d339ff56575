"""Pure, table-driven normalization of what citizens send (no I/O)."""
