"""LSH banding: candidate pairs are exactly the pairs that share a band (capped buckets chained)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import lsh
from dedup.config import MinHashConfig
from dedup.lsh import LshStats, band_key, banding, candidates


def _signatures(matrix: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"doc": np.arange(len(matrix), dtype=np.uint32),
                         "signature": pl.Series(matrix, dtype=pl.Array(pl.UInt32, matrix.shape[1]))})


def _reference(matrix: np.ndarray, config: MinHashConfig, exclude: np.ndarray) -> tuple[set, LshStats]:
    """Bucket by band key with a dict; every pair of a bucket, or its consecutive members when it is too large."""
    bands, rows = banding(config)
    stats, pairs = LshStats(bands, rows), set()
    docs = [d for d in range(len(matrix)) if not exclude[d]]
    for band in range(bands):
        keys = band_key(matrix, band, rows)
        buckets: dict[int, list[int]] = {}
        for d in docs:
            buckets.setdefault(int(keys[d]), []).append(d)
        for members in buckets.values():
            if len(members) < 2:
                continue
            stats.largest_bucket = max(stats.largest_bucket, len(members))
            if len(members) > config.max_bucket:
                stats.capped_buckets += 1
                pairs.update(itertools.pairwise(members))
            else:
                pairs.update(itertools.combinations(members, 2))
    stats.candidates = len(pairs)
    return pairs, stats


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 60), values=st.integers(1, 4), max_bucket=st.integers(2, 8), seed=st.integers(0, 2**32 - 1))
def test_candidates_are_the_pairs_sharing_a_band(n, values, max_bucket, seed):
    # few distinct values per position: many shared bands, many repeats of a pair across bands
    rng = np.random.default_rng(seed)
    config = MinHashConfig(num_perm=16, bands=8, rows=2, max_bucket=max_bucket)
    matrix = rng.integers(0, values, size=(n, 16), dtype=np.uint32)
    exclude = rng.random(n) < 0.1
    got, stats = candidates(_signatures(matrix), config=config, exclude=exclude)
    want, want_stats = _reference(matrix, config, exclude)
    assert got.schema == pl.Schema({"left": pl.UInt32, "right": pl.UInt32})
    assert list(zip(got["left"].to_list(), got["right"].to_list())) == sorted(want)
    assert stats == want_stats


def test_a_pair_found_in_every_band_is_one_candidate():
    matrix = np.array([[1] * 16, [1] * 16, [2] * 16], dtype=np.uint32)
    got, stats = candidates(_signatures(matrix), config=MinHashConfig(num_perm=16, bands=8, rows=2))
    assert got.rows() == [(0, 1)]
    assert (stats.candidates, stats.largest_bucket, stats.capped_buckets) == (1, 2, 0)


@pytest.mark.parametrize("seed", range(4))
def test_the_pair_set_grows_without_losing_or_repeating_a_pair(seed, monkeypatch):
    # a first table of 4 slots: it doubles many times, once in the middle of a band and once for a
    # single bucket with more pairs than the table holds
    monkeypatch.setattr(lsh, "PAIR_TABLE_SIZE", 4)
    rng = np.random.default_rng(seed)
    config = MinHashConfig(num_perm=16, bands=8, rows=2, max_bucket=30)
    matrix = rng.integers(0, 3, size=(400, 16), dtype=np.uint32)
    matrix[:25] = 7                                    # one bucket of 25 in every band: 300 pairs at once
    exclude = np.zeros(len(matrix), dtype=bool)
    got, stats = candidates(_signatures(matrix), config=config, exclude=exclude)
    want, want_stats = _reference(matrix, config, exclude)
    assert list(zip(got["left"].to_list(), got["right"].to_list())) == sorted(want)
    assert stats == want_stats
