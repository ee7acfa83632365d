"""Giving the memory a finished stage freed back to the system.

Python returns a stage's objects (a night's texts as ``str``, its split
sentences, row dicts) to the C heap, and glibc's allocator keeps the freed
pages mapped: the process's resident memory stays at the stage's high-water
mark. The next stage's frames are Arrow buffers from polars' and pyarrow's own
allocators, which cannot reuse those pages, so they come on top and the
night's peak is the sum of two stages instead of the larger one.
:func:`release_free_memory` hands the free pages back (``malloc_trim``). On a
100,000-article state night it gave back 220 MB after the alignment's split
sentences were freed (numbers in ``benchmarks/HISTORY.md``, section 6).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> None:
    """Return the C heap's free pages to the system; a no-op without glibc. Never changes a result."""
    trim = _trim()
    if trim is not None:
        trim(0)
