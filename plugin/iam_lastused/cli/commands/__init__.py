"""One module per command: each turns its parsed options into a library call, prints
the report and returns the exit code."""
