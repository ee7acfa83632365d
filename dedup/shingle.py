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


def _hash_vocabulary(vocab: dict[str, int]) -> np.ndarray:
    out = np.empty(len(vocab), dtype=np.uint64)
    for tok, i in vocab.items():
        out[i] = xxhash.xxh3_64_intdigest(tok.encode("utf-8", "surrogatepass"))
    return out


def window_hashes(token_hashes: np.ndarray, size: int) -> np.ndarray:
    """32-bit hashes of every ``size``-token window (one window of all tokens if fewer)."""
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
        return (acc ^ (acc >> np.uint64(32))).astype(np.uint32)


def shingle_texts(texts: list[str], config: ShingleConfig = ShingleConfig()
                  ) -> tuple[list[np.ndarray], list[int], list[np.ndarray]]:
    """Sorted distinct shingle hashes, token counts and ordered hashes for each text (stateless).

    Tokens are mapped to a batch vocabulary first, so each distinct token is
    hashed once per batch.
    """
    vocab: dict[str, int] = {}
    ids_per_text = []
    for text in texts:
        ids_per_text.append([vocab.setdefault(tok, len(vocab)) for tok in tokenize(text)])
    hashes = _hash_vocabulary(vocab)
    shingles, counts, sequences = [], [], []
    for ids in ids_per_text:
        counts.append(len(ids))
        seq = window_hashes(hashes[np.asarray(ids, dtype=np.int64)], config.size)
        sequences.append(seq)
        shingles.append(np.unique(seq))
    return shingles, counts, sequences


def shingle(articles: pl.DataFrame, *, config: ShingleConfig = ShingleConfig()) -> pl.DataFrame:
    """ARTICLES -> SHINGLES, one row per article (``doc`` = row number). Stateless.

    The title is not shingled: outlets re-headline freely, and the body is
    what identifies a story.
    """
    shingles, counts, sequences = shingle_texts(articles["text"].to_list(), config)
    frame = pl.DataFrame({
        "doc": np.arange(len(shingles), dtype=np.uint32),
        "shingles": pl.Series(shingles, dtype=pl.List(pl.UInt32)),
        "sequence": pl.Series(sequences, dtype=pl.List(pl.UInt32)),
        "n_tokens": np.asarray(counts, dtype=np.uint32),
        "n_boilerplate": np.zeros(len(shingles), dtype=np.uint32),
    })
    return conform(frame, SHINGLES, "shingle")
