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
and is counted in the stats.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from dedup.config import MinHashConfig
from dedup.schema import CANDIDATES

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


def _bucket_codes(docs: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_bucket: int,
                  stats: LshStats) -> np.ndarray:
    """:func:`_bucket_pairs` as sorted distinct codes ``lo << 32 | hi`` (docs are uint32)."""
    pairs = _bucket_pairs(docs, starts, sizes, max_bucket, stats)
    return _distinct(np.concatenate([_codes(p[:, 0], p[:, 1]) for p in pairs])) if pairs else \
        np.empty(0, dtype=np.uint64)


def _codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pair codes ``min << 32 | max`` of docs ``a[k], b[k]``."""
    a, b = a.astype(np.uint64), b.astype(np.uint64)
    return (np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b)


def _distinct(codes: np.ndarray, kind: str | None = None) -> np.ndarray:
    """``codes`` sorted, repeats dropped (a sort and a compare: faster than np.unique's hashing)."""
    codes = np.sort(codes, kind=kind)
    return codes[np.concatenate([[True], codes[1:] != codes[:-1]])] if len(codes) else codes


def _merge(acc: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The sorted union of two sorted arrays of distinct codes: the stable sort (timsort) of two
    concatenated sorted runs is a linear merge."""
    return _distinct(np.concatenate([acc, new]), kind="stable")


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
    codes = np.empty(0, dtype=np.uint64)
    if len(docs_all) >= 2:
        for band in range(bands):
            key = band_key(matrix, band, rows)
            order = np.argsort(key, kind="stable")
            sorted_keys = key[order]
            boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
            starts = np.concatenate([[0], boundaries])
            sizes = np.diff(np.concatenate([starts, [len(order)]]))
            multi = sizes >= 2
            if not multi.any():
                continue
            stats.largest_bucket = max(stats.largest_bucket, int(sizes.max()))
            # Each band's pairs are merged into the distinct set at once: a true pair turns up in
            # most of the bands, and holding every band's copy until the end took 11 GB at 1M articles.
            codes = _merge(codes, _bucket_codes(docs_all[order], starts[multi], sizes[multi], config.max_bucket,
                                                stats))
    left, right = (codes >> np.uint64(32)).astype(np.uint32), (codes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    stats.candidates = len(left)
    return pl.DataFrame({"left": left, "right": right}, schema=CANDIDATES), stats
