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
@given(st.integers(1, 6), st.integers(0, 40), st.integers(0, 40), st.integers(0, 2**32))
def test_sharing_rows_is_a_same_band_key_match(bands, n_stored, n_tonight, seed):
    rng = np.random.default_rng(seed)
    # Few distinct values, so that keys are shared within a band and across bands.
    stored = rng.integers(0, 12, size=(n_stored, bands), dtype=np.uint64) * np.uint64(2**61 + 1)
    tonight = rng.integers(0, 12, size=(n_tonight, bands), dtype=np.uint64) * np.uint64(2**61 + 1)
    assert sharing_rows(stored, tonight).tolist() == _reference(stored, tonight).tolist()


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
