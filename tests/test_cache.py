"""The on-disk cache stays bounded: the entries used longest ago go first."""

from __future__ import annotations

import os
import time

from iam_lastused.store import cache


def test_prune_keeps_the_namespace_under_its_size_removing_the_least_recently_used():
    for n in range(10):
        assert cache.store("bounded", f"key{n}", "x" * 1000)
    entries = sorted((cache.cache_dir() / "bounded").glob("*.json"))
    for n, entry in enumerate(entries):  # an order of use, oldest first
        os.utime(entry, (time.time() - 1000 + n, entry.stat().st_mtime))
    assert cache.load("bounded", "key0") == "x" * 1000  # used now: kept
    size = entries[0].stat().st_size
    cache.prune("bounded", max_bytes=3 * size)
    left = list((cache.cache_dir() / "bounded").glob("*.json"))
    assert len(left) == 3
    assert cache.load("bounded", "key0") == "x" * 1000
