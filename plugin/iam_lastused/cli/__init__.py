"""The command line: options, one function per command, the exit policy."""
