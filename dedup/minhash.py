"""MinHash signatures, vectorised over many articles (the SIGNATURES frame).

This is the only module that knows datasketch's hashing scheme. For the same
32-bit shingle hashes, ``num_perm`` and ``seed``, a row of :func:`signatures`
equals ``datasketch.MinHash(num_perm, seed, scheme="affine32",
hashfunc=...).hashvalues`` bit for bit: the input hash is pre-mixed with the
MurmurHash3 finalizer, then each permutation is ``a * h + b`` in uint32 (the
wrap-around is the modulo 2^32), and the signature is the minimum per
permutation. Instead of one Python object per article, all shingles of a
batch are permuted in one numpy operation and reduced per article with
``np.minimum.reduceat``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from dedup.config import MinHashConfig
from dedup.schema import signatures_schema

EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's value for an empty MinHash
_BATCH_CELLS = 1 << 24         # shingles x permutations per numpy step (64 MiB of uint32)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch's ``MinHash._init_permutations`` for ``affine32``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise (wrapping uint32 arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def sign_flat(values: np.ndarray, offsets: np.ndarray, *, num_perm: int, seed: int) -> np.ndarray:
    """Signatures for articles given as one flat uint32 array and start offsets.

    Article ``i`` owns ``values[offsets[i]:offsets[i+1]]`` (``offsets`` has
    ``n + 1`` entries). Returns an ``(n, num_perm)`` uint32 matrix; articles
    without shingles get the empty signature (all ``0xFFFFFFFF``).
    """
    a, b = permutations(num_perm, seed)
    n = len(offsets) - 1
    out = np.full((n, num_perm), EMPTY, dtype=np.uint32)
    lengths = np.diff(offsets)
    nonempty = np.flatnonzero(lengths > 0)
    if len(nonempty) == 0:
        return out
    mixed = fmix32(values.astype(np.uint32, copy=False))
    step = max(1, _BATCH_CELLS // num_perm)
    # Cut the non-empty articles into batches of about ``step`` shingles each
    # (an article larger than that is a batch of its own).
    starts_all = offsets[nonempty]
    cuts = np.searchsorted(starts_all, np.arange(starts_all[0], offsets[-1], step), side="left")
    cuts = np.unique(np.concatenate([cuts, [len(nonempty)]]))
    cuts = cuts[cuts > 0]
    lo_i = 0
    for hi_i in cuts.tolist():
        docs = nonempty[lo_i:hi_i]
        lo, hi = offsets[docs[0]], offsets[docs[-1] + 1]
        block = mixed[lo:hi, None] * a[None, :] + b[None, :]
        out[docs] = np.minimum.reduceat(block, offsets[docs] - lo, axis=0)
        lo_i = hi_i
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
