"""Which stored articles tonight's articles could match: an LSH index kept in the state.

Re-running LSH over every article in the window each night would cost as
much as clustering the whole window. Instead each stored article keeps its
**band keys** (one 64-bit key per LSH band, derived from its MinHash
signature), and a night loads only the stored articles that share at least
one band key with one of tonight's articles — exactly the stored articles
LSH would have paired with tonight's in a run over the whole window. Those
are then verified and clustered together with tonight's articles as usual.

Banding (``bands`` x ``rows``) is :func:`dedup.lsh.banding`'s, so the index
proposes the same candidates as :mod:`dedup.lsh` for the same signatures.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import polars as pl

from dedup.align.parallel import available_cores
from dedup.config import MinHashConfig
from dedup.lsh import band_key, banding
from dedup.u64set import add, empty_table, has, shift_of


def band_keys(signatures: pl.DataFrame, *, config: MinHashConfig) -> np.ndarray:
    """SIGNATURES -> an ``(n, bands)`` uint64 matrix of band keys. Stateless.

    Two articles share a key in band ``b`` exactly when their signatures agree
    on that band's ``rows`` values (up to 64-bit hash collisions).
    """
    bands, rows = banding(config)
    matrix = signatures["signature"].to_numpy()
    out = np.empty((len(matrix), bands), dtype=np.uint64)
    for band in range(bands):
        out[:, band] = band_key(matrix, band, rows)
    return out


def sharing_rows(stored: np.ndarray, tonight: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """Boolean mask of the ``stored`` rows that share a key with any ``tonight`` row in the same band.

    Band by band, tonight's keys go into a compiled hash set (:mod:`dedup.u64set`)
    and every stored key of the band is looked up in it; the bands are shared
    among ``threads`` threads (default: the usable cores). On the benchmark
    night (600,000 stored articles in the window, 100,000 tonight, 64 bands)
    this takes 0.46-0.50 s, a polars ``is_in`` per band 1.36-1.44 s
    (benchmarks/HISTORY.md, section 9, session 18).
    """
    hit = np.zeros(len(stored), dtype=np.bool_)
    if len(stored) == 0 or len(tonight) == 0:
        return hit
    stored = np.ascontiguousarray(stored, dtype=np.uint64)
    tonight = np.ascontiguousarray(tonight, dtype=np.uint64)
    threads = max(1, min(available_cores() if threads is None else threads, stored.shape[1]))
    cuts = np.linspace(0, stored.shape[1], threads + 1).astype(np.int64)
    tables = [empty_table(len(tonight)) for _ in range(threads)]   # one per thread, refilled band by band
    parts = [np.zeros(len(stored), dtype=np.bool_) for _ in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(_hit_bands, stored, tonight, int(lo), int(hi), table, shift_of(table), part)
                       for lo, hi, table, part in zip(cuts[:-1], cuts[1:], tables, parts)]:
            future.result()
    for part in parts:
        hit |= part
    return hit


@numba.njit(cache=True, nogil=True)
def _hit_bands(stored, tonight, lo, hi, table, shift, hit):  # pragma: no cover - numba
    """Set ``hit[i]`` for each stored row sharing a key with a tonight row in one of the bands ``lo:hi``.

    ``table`` (``shift``: :func:`dedup.u64set.shift_of`) holds one band's
    tonight keys at a time. The all-ones key cannot go in it (it marks free
    slots), so whether tonight has it is kept apart."""
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    for band in range(lo, hi):
        table[:] = full
        has_full = False
        for i in range(tonight.shape[0]):
            key = tonight[i, band]
            if key == full:
                has_full = True
            else:
                add(table, shift, key)
        for i in range(stored.shape[0]):
            if not hit[i]:
                key = stored[i, band]
                found = has_full if key == full else has(table, shift, key)
                if found:
                    hit[i] = True


def keys_to_list(keys: np.ndarray, keep: np.ndarray) -> pl.Series:
    """Band keys as a List(UInt64) column; null for rows not in ``keep`` (too short to compare)."""
    series = pl.Series("bands", keys, dtype=pl.Array(pl.UInt64, keys.shape[1])).cast(pl.List(pl.UInt64))
    return pl.select(pl.when(pl.lit(pl.Series(keep))).then(series)).to_series().alias("bands")

def list_to_keys(column: pl.Series, bands: int) -> np.ndarray:
    """The inverse of :func:`keys_to_list` for rows whose keys are not null."""
    if len(column) == 0:
        return np.empty((0, bands), dtype=np.uint64)
    flat = column.explode().to_numpy().astype(np.uint64, copy=False)
    return flat.reshape(len(column), bands)
