"""Sets of 64-bit keys: membership against a plain Python set."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import u64set

KEYS = st.lists(st.integers(0, 2**64 - 2), max_size=300)   # every key but EMPTY (all 64 bits set)


@settings(max_examples=100, deadline=None)
@given(KEYS, KEYS, st.integers(0, 2**32 - 1))
def test_a_table_holds_exactly_what_was_inserted(inserted, asked, seed):
    rng = np.random.default_rng(seed)
    inserted = np.array(inserted + inserted[: len(inserted) // 3], dtype=np.uint64)   # repeats
    asked = np.concatenate([np.array(asked, dtype=np.uint64), inserted[rng.random(len(inserted)) < 0.5]])
    table = u64set.empty_table(len(inserted))
    assert u64set.insert(table, u64set.shift_of(table), inserted) == len(set(inserted.tolist()))
    held = set(inserted.tolist())
    assert [u64set.has(table, u64set.shift_of(table), k) for k in asked] == [k in held for k in asked.tolist()]
