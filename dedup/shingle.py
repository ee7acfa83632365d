"""Shingles: articles to sets of 32-bit shingle hashes (the SHINGLES frame).

A shingle is ``size`` consecutive tokens (see :mod:`dedup.normalize`). Each
distinct token is hashed once with xxh3-64; a shingle's hash is a polynomial
combination of its tokens' hashes folded to 32 bits, computed with numpy over
a whole batch of articles at once. Texts shorter than ``size`` tokens give one
shingle of all their tokens.

32-bit shingle hashes are what datasketch's ``affine32`` scheme consumes, so
our signatures can be checked against ``datasketch.MinHash`` bit for bit.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import xxhash

from dedup.config import ShingleConfig
from dedup.normalize import tokenize
from dedup.schema import SHINGLES, conform

_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio)


def _token_hashes(tokens: list[str], cache: dict[str, int]) -> np.ndarray:
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, tok in enumerate(tokens):
        h = cache.get(tok)
        if h is None:
            h = cache[tok] = xxhash.xxh3_64_intdigest(tok.encode("utf-8", "surrogatepass"))
        out[i] = h
    return out


def shingle_hashes(token_hashes: np.ndarray, size: int) -> np.ndarray:
    """Sorted distinct 32-bit hashes of the ``size``-token windows of one article."""
    n = len(token_hashes)
    if n == 0:
        return np.empty(0, dtype=np.uint32)
    k = min(size, n)
    windows = n - k + 1
    acc = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = (acc ^ token_hashes[j:j + windows]) * _MULT
        acc ^= acc >> np.uint64(29)
        folded = (acc ^ (acc >> np.uint64(32))).astype(np.uint32)
    return np.unique(folded)


def shingle_texts(texts: list[str], config: ShingleConfig = ShingleConfig()) -> tuple[list[np.ndarray], list[int]]:
    """Shingle hash arrays and token counts for a list of texts (stateless)."""
    cache: dict[str, int] = {}
    shingles, counts = [], []
    for text in texts:
        tokens = tokenize(text)
        counts.append(len(tokens))
        shingles.append(shingle_hashes(_token_hashes(tokens, cache), config.size))
    return shingles, counts


def shingle(articles: pl.DataFrame, *, config: ShingleConfig = ShingleConfig()) -> pl.DataFrame:
    """ARTICLES -> SHINGLES, one row per article (``doc`` = row number). Stateless.

    The title is not shingled: outlets re-headline freely, and the body is
    what identifies a story.
    """
    shingles, counts = shingle_texts(articles["text"].to_list(), config)
    frame = pl.DataFrame({
        "doc": np.arange(len(shingles), dtype=np.uint32),
        "shingles": pl.Series(shingles, dtype=pl.List(pl.UInt32)),
        "n_tokens": np.asarray(counts, dtype=np.uint32),
        "n_boilerplate": np.zeros(len(shingles), dtype=np.uint32),
    })
    return conform(frame, SHINGLES, "shingle")
