import datasketch
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup.shingle
from dedup.config import MinHashConfig
from dedup.minhash import sign_flat, signatures


def _datasketch(values, num_perm, seed):
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32", hashfunc=lambda v: v)
    if len(values):
        m.update_batch([int(v) for v in values])
    return m.hashvalues


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=60), min_size=1, max_size=8),
    num_perm=st.sampled_from([16, 64, 128, 200]),
    seed=st.integers(0, 2**31 - 1),
    threads=st.sampled_from([1, 3]),
)
def test_signatures_equal_datasketch_affine32(docs, num_perm, seed, threads, monkeypatch_module):
    # Unsorted, repeated values as well: a signature depends on the set only.
    arrays = [np.asarray(d, dtype=np.uint32) for d in docs]
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
    flat = np.concatenate(arrays) if any(len(a) for a in arrays) else np.empty(0, np.uint32)
    matrix = sign_flat(flat, offsets, num_perm=num_perm, seed=seed, threads=threads)
    for row, values in zip(matrix, arrays):
        np.testing.assert_array_equal(row, _datasketch(values, num_perm, seed))


@pytest.fixture(scope="module")
def monkeypatch_module():
    # Every input is split across threads, however small (see parallel_ranges).
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dedup.shingle, "_MIN_PARALLEL", 0)
        yield mp


def test_signatures_frame_matches_datasketch_and_threads_do_not_matter(monkeypatch):
    rng = np.random.default_rng(3)
    sets = [np.unique(rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)) for n in (400, 1, 0, 37)]
    frame = pl.DataFrame({"doc": np.arange(4, dtype=np.uint32),
                          "shingles": pl.Series(sets, dtype=pl.List(pl.UInt32))})
    big = signatures(frame, config=MinHashConfig(num_perm=128, seed=7))
    monkeypatch.setattr(dedup.shingle, "_MIN_PARALLEL", 0)
    for threads in (1, 2, 5):
        monkeypatch.setattr(dedup.shingle, "_THREADS", threads)
        assert signatures(frame, config=MinHashConfig(num_perm=128, seed=7)).equals(big)
    for row, values in zip(big["signature"].to_numpy(), sets):
        np.testing.assert_array_equal(row, _datasketch(values, 128, 7))
