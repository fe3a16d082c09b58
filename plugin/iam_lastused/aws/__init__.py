"""AWS I/O: sessions and clients, the read-only allow-list, the report engine, managed policies."""
