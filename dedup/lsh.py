"""LSH banding: signatures to candidate pairs (the CANDIDATES frame).

This is the only module that knows LSH. The signature is cut into ``bands``
bands of ``rows`` values; two articles become candidates when any band is
identical. The probability of that, for Jaccard similarity ``s``, is
``1 - (1 - s**rows)**bands`` — an S-curve whose steep part sits near
``(1/bands)**(1/rows)``. ``bands`` and ``rows`` are derived from the LSH
threshold exactly as ``datasketch.MinHashLSH`` derives them (minimising the
equally weighted false-positive and false-negative areas).

Each bucket of articles sharing a band yields all its pairs; a bucket larger
than ``max_bucket`` (a boilerplate band shared by thousands) yields a chain
of consecutive pairs instead, which keeps the bucket connected at linear cost
and is counted in the stats. A true pair turns up in most bands; the distinct
pairs of all bands are gathered in one hash set as the bands are scanned.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
import polars as pl

from dedup.config import MinHashConfig
from dedup.schema import CANDIDATES
from dedup.u64set import EMPTY, add, insert, shift_of

_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=32)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) as datasketch.MinHashLSH chooses them for ``threshold``."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def banding(config: MinHashConfig) -> tuple[int, int]:
    if config.bands is not None:
        return config.bands, config.rows  # type: ignore[return-value]
    return optimal_bands(config.lsh_threshold, config.num_perm)


def band_key(matrix: np.ndarray, band: int, rows: int) -> np.ndarray:
    """64-bit keys of one band for every row of a signature matrix. Stateless.

    Two signatures get the same key exactly when they agree on the band's
    ``rows`` values (up to 64-bit hash collisions, which verification absorbs).
    """
    with np.errstate(over="ignore"):
        key = np.full(len(matrix), np.uint64(band + 1) * _MIX, dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):
            key = (key ^ matrix[:, col].astype(np.uint64)) * _MIX
            key ^= key >> np.uint64(31)
    return key


@dataclass
class LshStats:
    bands: int
    rows: int
    candidates: int = 0
    capped_buckets: int = 0
    largest_bucket: int = 0


def _buckets(matrix: np.ndarray, docs: np.ndarray, band: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The buckets of two or more of one band: ``docs`` sorted by band key (stable), each bucket's start
    and size in it."""
    key = band_key(matrix, band, rows)
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_keys)) + 1])
    sizes = np.diff(np.concatenate([starts, [len(order)]]))
    multi = sizes >= 2
    return docs[order], starts[multi], sizes[multi]


def _bucket_pairs(docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_bucket: int,
                  stats: LshStats) -> list[np.ndarray]:
    """Pairs within buckets: docs[starts[i]:starts[i]+sizes[i]] is bucket i (also the Spark engine's)."""
    out = []
    big = sizes > max_bucket
    if big.any():
        stats.capped_buckets += int(big.sum())
        for s, n in zip(starts[big], sizes[big]):
            members = docs[s:s + n]
            out.append(np.stack([members[:-1], members[1:]], axis=1))
    for size in np.unique(sizes[~big]):
        sel = starts[(sizes == size) & ~big]
        groups = docs[sel[:, None] + np.arange(size)[None, :]]      # (g, size)
        i, j = np.triu_indices(size, 1)
        out.append(np.stack([groups[:, i].ravel(), groups[:, j].ravel()], axis=1))
    return out


def _pairs_of(size: int, max_bucket: int) -> int:
    """How many pairs a bucket of ``size`` yields (a capped bucket: a chain)."""
    return size - 1 if size > max_bucket else size * (size - 1) // 2


@numba.njit(cache=True, nogil=True)
def _insert_pairs(table, shift, limit, held, docs, starts, sizes, max_bucket, first):  # pragma: no cover - numba
    """Add the pairs of buckets ``first``, ``first + 1``, ... (as :func:`_bucket_pairs` makes them) to
    ``table``, a :mod:`dedup.u64set` table of pair codes ``min << 32 | max`` (no code has all 64 bits
    set: a pair's smaller doc is below 2**32 - 1) holding ``held`` codes. Stops before a
    bucket whose pairs could take it past ``limit`` codes. Returns (that bucket, or the number of
    buckets; the codes held). Adding a pair again changes nothing, so a caller can grow the table and
    go on from the returned bucket."""
    for b in range(first, len(starts)):
        lo, n = starts[b], sizes[b]
        capped = n > max_bucket
        if held + (n - 1 if capped else n * (n - 1) // 2) > limit:
            return b, held
        for i in range(n - 1):
            last = i + 2 if capped else n      # a capped bucket: consecutive members only
            for j in range(i + 1, last):
                x, y = np.uint64(docs[lo + i]), np.uint64(docs[lo + j])
                held += add(table, shift, (min(x, y) << np.uint64(32)) | max(x, y))
    return len(starts), held


PAIR_TABLE_SIZE = 1 << 16   # the pair set's first table (slots), doubled as it fills


class _PairSet:
    """Distinct pair codes, in a table kept at most half full (doubled as it fills)."""

    def __init__(self, size: int | None = None):
        size = size or PAIR_TABLE_SIZE
        self.table, self.held = np.full(size, EMPTY, dtype=np.uint64), 0

    def add_buckets(self, docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_bucket: int) -> None:
        """Add every pair of each bucket ``docs[starts[i]:starts[i] + sizes[i]]``."""
        at = 0
        while at < len(starts):
            at, self.held = _insert_pairs(self.table, shift_of(self.table), len(self.table) // 2, self.held,
                                          docs, starts, sizes, max_bucket, at)
            if at < len(starts):
                self._grow(self.held + _pairs_of(int(sizes[at]), max_bucket))

    def _grow(self, need: int) -> None:
        size = 2 * len(self.table)
        while need > size // 2:
            size *= 2
        codes = self.table[self.table != EMPTY]
        self.table = np.full(size, EMPTY, dtype=np.uint64)
        insert(self.table, shift_of(self.table), codes)

    def sorted(self) -> np.ndarray:
        return np.sort(self.table[self.table != EMPTY])


def candidates(signatures: pl.DataFrame, *, config: MinHashConfig = MinHashConfig(),
               exclude: np.ndarray | None = None) -> tuple[pl.DataFrame, LshStats]:
    """SIGNATURES -> CANDIDATES (distinct pairs, left < right, sorted). Stateless.

    ``exclude`` is a boolean mask of docs that take no part (too short to compare).
    """
    bands, rows = banding(config)
    stats = LshStats(bands, rows)
    docs_all = signatures["doc"].to_numpy().astype(np.uint32)
    matrix = signatures["signature"].to_numpy()
    if exclude is not None:
        keep = ~exclude
        docs_all, matrix = docs_all[keep], matrix[keep]
    # The distinct pairs of every band, in a hash set: a true pair turns up in most of the bands, so
    # the set stays near the number of candidates (holding every band's copy took 11 GB at 1M
    # articles; merging each band into a sorted array cost a pass over all pairs found so far).
    pairs = _PairSet()
    if len(docs_all) >= 2:
        # While this thread adds a band's pairs (compiled, without the GIL), a second one keys and sorts
        # the next band; the bands are still added in order.
        with ThreadPoolExecutor(1) as pool:
            coming = pool.submit(_buckets, matrix, docs_all, 0, rows)
            for band in range(bands):
                docs, starts, sizes = coming.result()
                if band + 1 < bands:
                    coming = pool.submit(_buckets, matrix, docs_all, band + 1, rows)
                if not len(sizes):
                    continue
                stats.largest_bucket = max(stats.largest_bucket, int(sizes.max()))
                stats.capped_buckets += int((sizes > config.max_bucket).sum())
                pairs.add_buckets(docs, starts, sizes, config.max_bucket)
    codes = pairs.sorted()
    left, right = (codes >> np.uint64(32)).astype(np.uint32), (codes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    stats.candidates = len(left)
    return pl.DataFrame({"left": left, "right": right}, schema=CANDIDATES), stats
