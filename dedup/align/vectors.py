"""The TF-IDF vectors the alignment of a chunk of stories needs, computed for all of its stories at once.

:func:`chunk_vectors` turns each story's distinct sentences into unit TF-IDF
rows, the cosines of every distinct sentence with the canonical's sentences
and the dot products of consecutive sentences, with a fixed number of sparse
operations for the whole chunk, bit for bit what a story on its own would get
(the numba kernels here replay scipy's and numpy's additions). Used by
:mod:`dedup.align.core`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np
import scipy.sparse as sp

from dedup.align.tfidf import IdfModel, l2_normalise

if TYPE_CHECKING:
    from dedup.align.core import _Article


def distinct_sentences(articles: list[_Article]) -> list[str]:
    """Set each article's ``unique`` rows; return the normalised text of each distinct sentence.

    Distinct = distinct identity key, represented by its first occurrence
    (articles in cluster order, sentences in order).
    """
    rows_of: dict[str | int, int] = {}
    reps: list[str] = []
    for art in articles:
        rows = []
        for position, key in enumerate(art.keys):
            row = rows_of.get(key)
            if row is None:
                row = rows_of[key] = len(reps)
                reps.append(art.norm(position))
            rows.append(row)
        art.unique = np.array(rows, dtype=np.int64)
    return reps


@dataclass
class _Vectors:
    """What the alignment of one cluster needs of its distinct sentences' TF-IDF rows.

    ``unit``: the rows scaled to length 1 are ``unit[offset:offset + len(norms)]``
    (a matrix shared by a chunk of clusters), ``norms``: the unnormalised rows'
    L2 norms, ``sim``: the cosine of every distinct sentence with each canonical
    sentence, ``pair_codes`` and ``pair_dots``: the unnormalised dot product of
    every pair of consecutive sentences in an article, by the pair's code
    ``(offset + row) * width + offset + next row`` (sorted, distinct; ``width``
    is the chunk's number of rows, so codes of the chunk's clusters never meet).
    """

    unit: sp.csr_matrix
    offset: int
    norms: np.ndarray
    sim: np.ndarray
    pair_codes: np.ndarray
    pair_dots: np.ndarray
    width: int

    def adjacent_dots(self, rows: np.ndarray) -> np.ndarray:
        """Dot products of each unnormalised row in ``rows`` with the next one."""
        rows = np.asarray(rows, dtype=np.int64) + self.offset
        return self.pair_dots[np.searchsorted(self.pair_codes, rows[:-1] * self.width + rows[1:])]

    def units(self, rows: list[int]) -> sp.csr_matrix:
        """The unit rows ``rows``, over only the columns they use."""
        return _compact(self.unit[np.asarray(rows, dtype=np.int64) + self.offset])


def chunk_vectors(clusters: list[list[_Article]], idf: IdfModel) -> list[_Vectors]:
    """:class:`_Vectors` of many clusters, with a fixed number of operations for all of them.

    Sets each article's ``unique`` rows (see :func:`distinct_sentences`). The
    distinct sentences of the whole chunk are hashed in one call and the
    clusters' rows stacked; one compiled pass gives every cluster's cosine
    block (:func:`_canonical_cosines`). Every number is computed by the very
    operations a cluster on its own would use (a cosine adds the products of
    the shared features in increasing feature order, as scipy's sparse product
    does; row norms by a reduction over the row's own entries), so the values
    are bit for bit those of one cluster at a time.
    """
    row_of: dict[str, int] = {}
    local = [np.array([row_of.setdefault(norm, len(row_of)) for norm in distinct_sentences(arts)], dtype=np.int64)
             for arts in clusters]
    sizes = np.array([len(rows) for rows in local], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    order = np.concatenate([np.zeros(0, dtype=np.int64), *local])
    if row_of:
        raw = idf.weights(list(row_of), normalised=True)
        if len(order) != raw.shape[0] or np.any(order != np.arange(len(order))):
            raw = raw[order]   # a sentence two stories of the chunk share: its row once for each
        raw.has_sorted_indices = True   # hashed rows come sorted, and a row gather keeps each row's order
    else:
        raw = sp.csr_matrix((0, idf.n_features))
    indptr, indices = raw.indptr, raw.indices   # as scipy made them (int32 or int64): the kernels take either
    every = np.arange(raw.shape[0], dtype=np.int64)
    norms = np.sqrt(_row_dots(indptr, indices, raw.data, every, every))
    # Every article's pairs of consecutive sentences, as chunk rows coded row * width + next row: sorted and
    # distinct, they are each cluster's pairs in order, one cluster after the other. Their dot products
    # are the unnormalised rows', taken before the rows are scaled in place.
    width = max(int(starts[-1]), 1)
    uniques = [starts[k] + art.unique for k, arts in enumerate(clusters) for art in arts]
    seq = np.concatenate([np.zeros(0, dtype=np.int64), *uniques])
    lengths = np.array([len(u) for u in uniques], dtype=np.int64)
    follows = np.ones(len(seq), dtype=bool)          # seq[i] and seq[i + 1] are in one article
    follows[np.cumsum(lengths)[lengths > 0] - 1] = False
    codes = np.unique(seq[:-1][follows[:-1]] * width + seq[1:][follows[:-1]])
    dots = _row_dots(indptr, indices, raw.data, codes // width, codes % width)
    unit = l2_normalise(raw, norms=norms, copy=False)
    del raw
    canonical_rows = [starts[k] + arts[0].unique for k, arts in enumerate(clusters)]
    c_starts = np.concatenate([[0], np.cumsum([len(rows) for rows in canonical_rows])]).astype(np.int64)
    cosines, at_sim = _canonical_cosines(indptr, indices, unit.data, starts,
                                         np.concatenate([np.zeros(0, dtype=np.int64), *canonical_rows]),
                                         c_starts, unit.shape[1])
    cuts = np.searchsorted(codes, starts * width)     # cluster k's pairs start at its first row's code
    out = []
    for k in range(len(clusters)):
        lo, hi = starts[k], starts[k + 1]
        sim = cosines[at_sim[k]:at_sim[k + 1]].reshape(hi - lo, c_starts[k + 1] - c_starts[k])
        out.append(_Vectors(unit, int(lo), norms[lo:hi], sim, codes[cuts[k]:cuts[k + 1]], dots[cuts[k]:cuts[k + 1]],
                            width))
    return out


@numba.njit(cache=True, nogil=True)
def _canonical_cosines(indptr, indices, data, starts, canonical, c_starts, n_features):  # pragma: no cover - numba
    """Each cluster's cosines of its rows with its canonical's sentences, as scipy's sparse product has them.

    Cluster k has the unit rows ``starts[k]:starts[k + 1]`` (CSR, sorted
    indices) and canonical sentences ``canonical[c_starts[k]:c_starts[k + 1]]``
    (rows). Its block, row by row, is ``out[at[k]:at[k + 1]]``. The
    canonical's entries are listed by feature; each row then walks its own
    entries in increasing feature order and adds ``a * b`` for every canonical
    sentence having that feature: scipy's ``unit @ canonical.T`` (a row of the
    left factor times the rows of the transposed right one), the same
    additions in the same order, so the same float64 values (a pair with no
    shared feature stays 0). Returns ``(out, at)``.
    """
    n_clusters = len(starts) - 1
    at = np.zeros(n_clusters + 1, dtype=np.int64)
    longest = 0
    for k in range(n_clusters):
        at[k + 1] = at[k] + (starts[k + 1] - starts[k]) * (c_starts[k + 1] - c_starts[k])
        entries = 0
        for j in range(c_starts[k], c_starts[k + 1]):
            entries += indptr[canonical[j] + 1] - indptr[canonical[j]]
        longest = max(longest, entries)
    out = np.zeros(at[n_clusters], dtype=np.float64)
    head = np.full(n_features, -1, dtype=np.int32)       # feature -> its last listed canonical entry
    nxt = np.empty(longest, dtype=np.int32)              # entry -> the previous one of the same feature
    column = np.empty(longest, dtype=np.int64)
    value = np.empty(longest, dtype=np.float64)
    for k in range(n_clusters):
        n_c = c_starts[k + 1] - c_starts[k]
        m = 0
        for j in range(n_c):
            r = canonical[c_starts[k] + j]
            for e in range(indptr[r], indptr[r + 1]):
                f = indices[e]
                column[m], value[m], nxt[m] = j, data[e], head[f]
                head[f] = m
                m += 1
        for i in range(starts[k], starts[k + 1]):
            base = at[k] + (i - starts[k]) * n_c
            for e in range(indptr[i], indptr[i + 1]):
                a = data[e]
                s = head[indices[e]]
                while s != -1:
                    out[base + column[s]] += a * value[s]
                    s = nxt[s]
        for j in range(n_c):                               # clear the list for the next cluster
            r = canonical[c_starts[k] + j]
            for e in range(indptr[r], indptr[r + 1]):
                head[indices[e]] = -1
    return out, at


@numba.njit(cache=True, nogil=True)
def _row_dots(indptr, indices, data, left, right):  # pragma: no cover - numba
    """``rows[left[p]] . rows[right[p]]`` of a CSR matrix with sorted indices, for each p.

    The products of the shared features, in increasing feature order, are
    added as scipy's ``a.multiply(b).sum(axis=1)`` adds them (a row's first
    product plus numpy's pairwise sum of the others): the same float64
    results, bit for bit.
    """
    out = np.zeros(len(left), dtype=np.float64)
    longest = 0
    for p in range(len(left)):                   # the rows asked for, not every row of the matrix
        longest = max(longest, indptr[left[p] + 1] - indptr[left[p]], indptr[right[p] + 1] - indptr[right[p]])
    products = np.empty(longest, dtype=np.float64)
    for p in range(len(left)):
        i, i_end = indptr[left[p]], indptr[left[p] + 1]
        j, j_end = indptr[right[p]], indptr[right[p] + 1]
        m = 0
        while i < i_end and j < j_end:
            if indices[i] == indices[j]:
                products[m] = data[i] * data[j]
                m += products[m] != 0.0          # scipy keeps no zero product
                i += 1
                j += 1
            elif indices[i] < indices[j]:
                i += 1
            else:
                j += 1
        if m:
            out[p] = products[0] + _pairwise_sum(products, 1, m - 1)
    return out


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a, lo, n):  # pragma: no cover - numba
    """``a[lo:lo + n]`` summed as numpy's reductions sum float64 (pairwise, 8 accumulators), bit for bit.

    ``np.add.reduceat`` (what scipy's row sums use) starts from a segment's
    first value and adds this sum of the rest. numpy halves a run longer than
    128 values (at a multiple of 8) and adds the halves' sums; the halving is
    walked here with a stack, not by recursion (numba's cache cannot hold a
    recursive function).
    """
    spans = np.empty((64, 3), dtype=np.int64)   # (lo, n, halves already summed?)
    sums = np.empty(64, dtype=np.float64)
    top, done = 0, 0
    spans[0, 0], spans[0, 1], spans[0, 2] = lo, n, 0
    while top >= 0:
        lo, n, joined = spans[top, 0], spans[top, 1], spans[top, 2]
        top -= 1
        if joined:
            done -= 1
            sums[done - 1] += sums[done]
            continue
        if n > 128:
            half = n // 2
            half -= half % 8
            spans[top + 1, 0], spans[top + 1, 1], spans[top + 1, 2] = lo, n, 1
            spans[top + 2, 0], spans[top + 2, 1], spans[top + 2, 2] = lo + half, n - half, 0
            spans[top + 3, 0], spans[top + 3, 1], spans[top + 3, 2] = lo, half, 0
            top += 3
            continue
        if n < 8:
            res = 0.0
            for i in range(n):
                res += a[lo + i]
        else:
            r = a[lo:lo + 8].copy()
            i = 8
            while i < n - n % 8:
                for j in range(8):
                    r[j] += a[lo + i + j]
                i += 8
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n:
                res += a[lo + i]
                i += 1
        sums[done] = res
        done += 1
    return sums[0]

def _compact(mat: sp.csr_matrix) -> sp.csr_matrix:
    """The same rows over only the hash buckets they use (products then never touch 2**20 columns)."""
    cols, inverse = np.unique(mat.indices, return_inverse=True)
    out = sp.csr_matrix((mat.data, inverse.astype(np.int32), mat.indptr), shape=(mat.shape[0], max(len(cols), 1)))
    out.sort_indices()
    return out
