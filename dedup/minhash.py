"""MinHash signatures, vectorised over many articles (the SIGNATURES frame).

This is the only module that knows datasketch's hashing scheme. For the same
32-bit shingle hashes, ``num_perm`` and ``seed``, a row of :func:`signatures`
equals ``datasketch.MinHash(num_perm, seed, scheme="affine32",
hashfunc=...).hashvalues`` bit for bit: the input hash is pre-mixed with the
MurmurHash3 finalizer, then each permutation is ``a * h + b`` in uint32 (the
wrap-around is the modulo 2^32), and the signature is the minimum per
permutation. Instead of one Python object per article, a numba kernel signs
a whole batch from one flat array of shingle hashes (each article's mixed
hashes computed once, then one vectorised min-loop per permutation), one
contiguous range of articles per thread; every article's row has a fixed
place, so the result does not depend on the number of threads.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
import polars as pl

from dedup.config import MinHashConfig
from dedup.schema import signatures_schema
from dedup.shingle import parallel_ranges

EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's value for an empty MinHash


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch's ``MinHash._init_permutations`` for ``affine32``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@numba.njit(cache=True, nogil=True)
def _sign_kernel(values, offsets, a, b, first, last, out):
    for doc in range(first, last):
        lo, hi = offsets[doc], offsets[doc + 1]
        mixed = np.empty(hi - lo, dtype=np.uint32)
        for j in range(hi - lo):  # MurmurHash3's 32-bit finalizer
            h = np.uint32(values[lo + j])
            h = np.uint32(h ^ (h >> np.uint32(16)))
            h = np.uint32(h * np.uint32(0x85EBCA6B))
            h = np.uint32(h ^ (h >> np.uint32(13)))
            h = np.uint32(h * np.uint32(0xC2B2AE35))
            mixed[j] = np.uint32(h ^ (h >> np.uint32(16)))
        for p in range(len(a)):
            ap, bp = a[p], b[p]
            best = EMPTY
            for j in range(hi - lo):
                best = min(best, np.uint32(ap * mixed[j] + bp))
            out[doc, p] = best


def sign_flat(values: np.ndarray, offsets: np.ndarray, *, num_perm: int, seed: int,
              threads: int | None = None) -> np.ndarray:
    """Signatures for articles given as one flat uint32 array and start offsets.

    Article ``i`` owns ``values[offsets[i]:offsets[i+1]]`` (``offsets`` has
    ``n + 1`` entries; repeated values are allowed and change nothing).
    Returns an ``(n, num_perm)`` uint32 matrix; articles without shingles get
    the empty signature (all ``0xFFFFFFFF``). ``threads``: default all cores.
    """
    a, b = permutations(num_perm, seed)
    values = np.ascontiguousarray(np.asarray(values).astype(np.uint32, copy=False))
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    out = np.empty((len(offsets) - 1, num_perm), dtype=np.uint32)
    parallel_ranges(lambda lo, hi: _sign_kernel(values, offsets, a, b, lo, hi, out), offsets, threads)
    return out


def signatures(shingles: pl.DataFrame, *, config: MinHashConfig = MinHashConfig()) -> pl.DataFrame:
    """SHINGLES -> SIGNATURES. Stateless."""
    col = shingles["shingles"]
    values = col.explode().drop_nulls().to_numpy().astype(np.uint32, copy=False)
    lengths = col.list.len().to_numpy()
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    matrix = sign_flat(values, offsets, num_perm=config.num_perm, seed=config.seed)
    return pl.DataFrame({
        "doc": shingles["doc"],
        "signature": pl.Series(matrix, dtype=pl.Array(pl.UInt32, config.num_perm)),
    }, schema=signatures_schema(config.num_perm))
