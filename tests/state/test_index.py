"""The state's band-key index: which stored articles share a band key with tonight's."""

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.state.index import keys_to_list, list_to_keys, sharing_rows


def _reference(stored: np.ndarray, tonight: np.ndarray) -> np.ndarray:
    return np.array([any(stored[i, b] in set(tonight[:, b].tolist()) for b in range(stored.shape[1]))
                     for i in range(len(stored))], dtype=bool)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 40), st.integers(0, 40), st.integers(0, 2**32), st.integers(1, 4))
def test_sharing_rows_is_a_same_band_key_match(bands, n_stored, n_tonight, seed, threads):
    rng = np.random.default_rng(seed)
    # Few distinct values, so that keys are shared within a band and across bands; the all-ones key
    # (the hash set's free-slot mark) among them.
    values = np.array([2**64 - 1] + [k * (2**61 + 1) % 2**64 for k in range(11)], dtype=np.uint64)
    stored = values[rng.integers(0, 12, size=(n_stored, bands))]
    tonight = values[rng.integers(0, 12, size=(n_tonight, bands))]
    assert sharing_rows(stored, tonight, threads=threads).tolist() == _reference(stored, tonight).tolist()


def test_the_all_ones_key_matches_only_itself():
    full = 2**64 - 1
    stored = np.array([[full, 1], [full - 1, 2], [3, full]], dtype=np.uint64)
    assert sharing_rows(stored, np.array([[full, 9]], dtype=np.uint64)).tolist() == [True, False, False]
    assert sharing_rows(stored, np.array([[full - 1, full]], dtype=np.uint64)).tolist() == [False, True, True]
    assert sharing_rows(stored, np.array([[7, 8]], dtype=np.uint64)).tolist() == [False, False, False]


def test_sharing_rows_on_a_large_random_window():
    rng = np.random.default_rng(3)
    stored = rng.integers(0, 2**63, size=(5000, 8), dtype=np.uint64)
    tonight = rng.integers(0, 2**63, size=(700, 8), dtype=np.uint64)
    tonight[::7, 3] = stored[::50, 3][:len(tonight[::7])]      # some shared keys in band 3 only
    tonight[1::7, 5] = stored[1::50, 4][:len(tonight[1::7])]   # a stored key in another band: no match
    expected = np.isin(stored[:, 3], tonight[:, 3])
    assert expected.sum() == 100
    assert sharing_rows(stored, tonight).tolist() == expected.tolist()


def test_a_key_shared_in_another_band_is_not_a_match():
    stored = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint64)
    tonight = np.array([[2, 1], [5, 9]], dtype=np.uint64)
    assert sharing_rows(stored, tonight).tolist() == [False, False, True]


def test_band_keys_survive_the_list_column_with_nulls_for_short_articles():
    keys = np.array([[1, 2], [3, 4], [2**64 - 1, 0]], dtype=np.uint64)
    column = keys_to_list(keys, np.array([True, False, True]))
    assert column.null_count() == 1
    back = list_to_keys(column.filter(column.is_not_null()), 2)
    assert back.tolist() == [[1, 2], [2**64 - 1, 0]]
    assert list_to_keys(pl.Series("bands", [], dtype=pl.List(pl.UInt64)), 2).shape == (0, 2)
