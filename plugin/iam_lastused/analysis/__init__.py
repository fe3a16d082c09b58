"""Pure functions: reports and grants joined into findings, and suppressions."""
