"""Freed memory goes back to the system between stages (glibc's malloc_trim)."""

from __future__ import annotations

import os
import sys

import pytest

from dedup.memory import _trim, release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux") or _trim() is None, reason="needs glibc")
def test_the_pages_python_freed_are_given_back():
    # 2 KiB objects come from the C heap (larger than Python's own small-object arenas); keeping one in
    # 64 leaves the heap too fragmented for free() to shrink it, as a night's freed sentences do.
    blocks = [os.urandom(16) * 128 for _ in range(100_000)]         # ~200 MB
    kept = blocks[::64]
    del blocks
    before = _rss_mb()
    release_free_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert all(len(b) == 2048 for b in kept)


def test_it_is_safe_to_call_anywhere():
    assert release_free_memory() is None
    assert release_free_memory() is None
