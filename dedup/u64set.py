"""Sets of 64-bit keys in compiled open-addressing tables (LSH's pair set, boilerplate's lookups).

A table is a power-of-two ``uint64`` array with :data:`EMPTY` in its free
slots, so no key may have all 64 bits set. A key's first slot is the top
bits of the key times 2**64 / golden ratio (``shift`` = 64 - log2 of the
size, :func:`shift_of`); collisions probe the next slots. Callers keep a
table at most half full. One probe per lookup, where a binary search over a
sorted array takes one cache miss per step.
"""

from __future__ import annotations

import numba
import numpy as np

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


def empty_table(n_keys: int) -> np.ndarray:
    """A table with room for ``n_keys`` keys (at most half full)."""
    return np.full(1 << max(4, (2 * n_keys - 1).bit_length()), EMPTY, dtype=np.uint64)


def shift_of(table: np.ndarray) -> np.uint64:
    """The hash's shift for a table of this (power-of-two) size: the product's top log2(size) bits are the slot."""
    return np.uint64(64 - (len(table).bit_length() - 1))


@numba.njit(cache=True, nogil=True, inline="always")
def add(table, shift, key):  # pragma: no cover - numba
    """Add ``key``; True when it was not in the table yet."""
    mask = np.uint64(len(table) - 1)
    slot = ((key * np.uint64(0x9E3779B97F4A7C15)) >> shift) & mask
    while True:
        found = table[slot]
        if found == key:
            return False
        if found == np.uint64(0xFFFFFFFFFFFFFFFF):
            table[slot] = key
            return True
        slot = (slot + np.uint64(1)) & mask


@numba.njit(cache=True, nogil=True, inline="always")
def has(table, shift, key):  # pragma: no cover - numba
    """Whether ``key`` is in the table.

    The probe loop is written out here and in :func:`add` on purpose: one
    helper shared by both measured ~35 % slower inserts (12 M keys).
    """
    mask = np.uint64(len(table) - 1)
    slot = ((key * np.uint64(0x9E3779B97F4A7C15)) >> shift) & mask
    while table[slot] != key:
        if table[slot] == np.uint64(0xFFFFFFFFFFFFFFFF):
            return False
        slot = (slot + np.uint64(1)) & mask
    return True


def table_of(keys: np.ndarray) -> tuple[np.ndarray, np.uint64]:
    """A table holding ``keys`` (uint64) and its shift."""
    table = empty_table(len(keys))
    shift = shift_of(table)
    insert(table, shift, np.asarray(keys, dtype=np.uint64))
    return table, shift


@numba.njit(cache=True, nogil=True)
def insert(table, shift, keys):  # pragma: no cover - numba
    """Add ``keys`` to the table; returns how many were not in it yet."""
    added = 0
    for key in keys:
        added += add(table, shift, key)
    return added
