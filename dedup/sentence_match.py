"""Sentence containment: a second opinion for pairs that shingles call borderline.

Shingle containment counts runs of identical words, so a wire story that an
outlet or the wire itself rewrote sentence by sentence (a correction, a
lightly edited copy) can fall below the clustering threshold although every
sentence is still the same sentence. For candidate pairs whose containment is
between ``rescue_min_containment`` and ``threshold``, the *sentence
containment* is measured instead: the share of the shorter article's
sentences that have a counterpart in the other article with TF-IDF cosine at
least ``align_threshold`` (the aligner's same-sentence decision, chosen on
MSRP), and the facts must agree: at least ``rescue_min_facts`` of the
figures and capitalised names of the article with fewer of them appear in
the other. Independently
written articles on the same event share names and numbers but rarely
sentences, so their sentence containment stays low; templated items (weekly
figures, market reports) share every sentence but not their figures and names.

The IDF is fitted on the sentences of the articles involved in borderline
pairs, each distinct sentence once.

How it is computed (the costs are per article and per distinct sentence, never
per pair in Python): the articles are split and their facts extracted on forked
workers (:func:`dedup.align.parallel.map_chunks`, contiguous chunks put back in
order); the hashed feature counts of every distinct sentence are computed once,
also on the workers, and serve both the IDF's document frequencies and the
vectors; the cosines of all pairs run in one compiled kernel.
"""

from __future__ import annotations

import re

import numba
import numpy as np
import scipy.sparse as sp

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from dedup.align.parallel import MAX_CHUNK_CHARS, bounds_for, map_chunks
from dedup.align.sentences import split_many
from dedup.align.tfidf import IdfModel, l2_normalise
from dedup.config import AlignConfig
from dedup.shingle import parallel_ranges

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w'&-]+")


def _facts(text: str) -> set[str]:
    """Figures and capitalised names (stop words aside): what a templated item changes."""
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    names = {w for w in _NAME.findall(text) if w.lower() not in ENGLISH_STOP_WORDS}
    return numbers | names


class SentenceMatcher:
    """Sentence containment between articles of one batch (fit once, then query pairs).

    Attributes (after :meth:`fit`): ``sentences_`` (doc -> its sentence
    texts), ``idf_`` (the :class:`IdfModel`), ``matrix_`` (the L2-normalised
    TF-IDF row of every distinct sentence), ``rows_`` (doc -> its sentences'
    rows of ``matrix_``), ``vectors_`` (doc -> its rows as a matrix, for docs
    with at least one sentence) and ``facts_`` (doc -> its figures and names).
    """

    def __init__(self, config: AlignConfig = AlignConfig()):
        self.config = config

    def fit(self, texts: dict[int, str], *, idf: IdfModel | None = None, workers: int = 1) -> "SentenceMatcher":
        """Split ``texts`` into sentences and vectorise them, on ``workers`` forked processes.

        The IDF is fitted on the distinct sentences of ``texts``, or ``idf``
        (already fitted, e.g. on the whole night) is used as it is. Every
        distinct sentence is vectorised once: syndicated copies repeat most
        of their sentences, and a sentence's row does not depend on the
        others. The result does not depend on ``workers``.
        """
        docs, bodies = list(texts), list(texts.values())
        split = _chunked(_split_chunk, (bodies, self.config.splitter), [len(t) for t in bodies], workers)
        self.sentences_ = {d: [t[a:b] for a, b in spans] for d, t, (spans, _) in zip(docs, bodies, split)}
        self.facts_ = dict(zip(docs, (facts for _, facts in split)))
        distinct = list(dict.fromkeys(s for sents in self.sentences_.values() for s in sents))
        if idf is None:
            counts = _counts(distinct, self.config, workers)
            self.idf_ = IdfModel.from_counts(counts, features=self.config.features, n_features=self.config.n_features)
        else:
            self.idf_ = idf
            counts = _counts(distinct, AlignConfig(features=idf.features, n_features=idf.n_features), workers)
        # IdfModel.transform: the counts weighted by the IDF, rows scaled to unit length.
        counts.data *= self.idf_.idf_[counts.indices]
        self.matrix_ = l2_normalise(counts)
        self.matrix_.sort_indices()        # the kernel merges rows by feature (they come sorted already)
        row = {s: i for i, s in enumerate(distinct)}
        self.rows_ = {d: np.fromiter((row[s] for s in sents), dtype=np.int64, count=len(sents))
                      for d, sents in self.sentences_.items()}
        # the docs' rows in one array, for the kernel (docs in fit order, then an empty one for unknown docs)
        sizes = np.array([len(r) for r in self.rows_.values()] + [0], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        rows = np.concatenate([*self.rows_.values(), np.empty(0, np.int64)])
        doc_nnz = np.add.reduceat(np.append(np.diff(self.matrix_.indptr)[rows], 0), offsets[:-1]) * (sizes > 0)
        self._layout = ({d: k for k, d in enumerate(self.rows_)}, offsets, rows, doc_nnz,
                        int(sizes.max()), int(doc_nnz.max()))
        return self

    @property
    def vectors_(self) -> dict[int, sp.csr_matrix]:
        return {d: self.matrix_[rows] for d, rows in self.rows_.items() if len(rows)}

    def facts_agree(self, i: int, j: int) -> float:
        """Share of the figures and names of one article (the one with fewer) found in the other (1.0 if none).

        Templated wire items (weekly jobless claims, money-market forecasts,
        rights plans) are sentence-for-sentence alike and differ only in their
        figures and names: they are different stories.
        """
        a, b = self.facts_.get(i, set()), self.facts_.get(j, set())
        if len(a) > len(b):
            a, b = b, a
        return len(a & b) / len(a) if a else 1.0

    def share(self, i: int, j: int) -> float:
        """Share of the article with fewer sentences whose sentences match one in the other."""
        return float(self.shares(np.array([i]), np.array([j]))[0])

    def shares(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """:meth:`share` of every pair ``(left[k], right[k])``, in one compiled pass on all cores.

        The article with fewer sentences (the left one on a tie) is measured:
        a sentence of it is matched when its cosine with some sentence of the
        other reaches ``align_threshold``. Each pair's cosines are the block
        ``vectors_[i] @ vectors_[j].T`` computed as scipy's sparse product does
        (every cosine summed over the shared features in feature order, from
        0.0), so the decisions are those of that product, bit for bit.
        """
        where, offsets, rows, doc_nnz, max_rows, max_nnz = self._layout
        none = len(where)                  # a doc that was not fitted: no sentences
        a = np.fromiter((where.get(d, none) for d in np.asarray(left).tolist()), dtype=np.int64, count=len(left))
        b = np.fromiter((where.get(d, none) for d in np.asarray(right).tolist()), dtype=np.int64, count=len(right))
        out = np.zeros(len(a))
        if len(a) == 0 or not where:
            return out
        m = self.matrix_
        work = np.zeros(len(a) + 1, dtype=np.int64)
        np.cumsum(doc_nnz[a] + doc_nnz[b] + 1, out=work[1:])
        parallel_ranges(lambda lo, hi: _share_kernel(m.indptr, m.indices, m.data, offsets, rows, a, b,
                                                     float(self.config.align_threshold), max_rows, max_nnz,
                                                     out, lo, hi), work)
        return out


@numba.njit(cache=True, nogil=True)
def _share_kernel(indptr, indices, data, offsets, rows, left, right, threshold, max_rows, max_nnz,
                  out, first, last):  # pragma: no cover - compiled
    """``out[k]``: matched share of the pair ``(left[k], right[k])`` (docs given by their sentence rows).

    The left article's entries are listed by feature in a small hash table
    (kept while the next pairs have the same left article: candidates come
    sorted); each sentence of the right one walks its features in order and
    adds ``value * left value`` to its cosine with every left sentence that
    has the feature: every cosine is summed in feature order from 0.0, as
    scipy's ``csr_matmat`` sums it.
    """
    size = 1
    while size < 2 * max_nnz:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    head = np.empty(size, dtype=np.int64)
    filled = np.empty(max_nnz, dtype=np.int64)
    chain = np.empty(max_nnz, dtype=np.int64)
    value = np.empty(max_nnz, dtype=np.float64)
    sentence = np.empty(max_nnz, dtype=np.int64)
    cosine = np.empty(max_rows * max_rows, dtype=np.float64)
    indexed, mask, n_filled = -1, 0, 0
    for k in range(first, last):
        i, j = left[k], right[k]
        n_i, n_j = offsets[i + 1] - offsets[i], offsets[j + 1] - offsets[j]
        if n_i == 0 or n_j == 0:
            out[k] = 0.0
            continue
        if i != indexed:
            keys[filled[:n_filled]] = -1                       # forget the previous left article
            nnz = 0
            for q in range(offsets[i], offsets[i + 1]):
                nnz += indptr[rows[q] + 1] - indptr[rows[q]]
            mask = 1
            while mask < 2 * nnz:
                mask *= 2
            mask -= 1
            e, n_filled = 0, 0
            for q in range(n_i):
                s = rows[offsets[i] + q]
                for y in range(indptr[s], indptr[s + 1]):
                    slot = _slot(keys, indices[y], mask)
                    if keys[slot] == -1:
                        keys[slot] = indices[y]
                        head[slot] = -1
                        filled[n_filled] = slot
                        n_filled += 1
                    chain[e], value[e], sentence[e] = head[slot], data[y], q
                    head[slot] = e
                    e += 1
            indexed = i
        cosine[:n_i * n_j] = 0.0
        for p in range(n_j):
            r = rows[offsets[j] + p]
            for x in range(indptr[r], indptr[r + 1]):
                slot = _slot(keys, indices[x], mask)
                at = head[slot] if keys[slot] != -1 else -1
                while at >= 0:
                    cosine[sentence[at] * n_j + p] += data[x] * value[at]
                    at = chain[at]
        # the article with fewer sentences (the left one on a tie) is measured: rows or columns of the block
        n_m, n_o, step_m, step_o = (n_i, n_j, n_j, 1) if n_i <= n_j else (n_j, n_i, 1, n_j)
        matched = 0
        for a in range(n_m):
            for b in range(n_o):
                if cosine[a * step_m + b * step_o] >= threshold:
                    matched += 1
                    break
        out[k] = matched / n_m


@numba.njit(cache=True, nogil=True, inline="always")
def _slot(keys, feature, mask):  # pragma: no cover - compiled
    """The slot of ``feature`` in the open-addressing table ``keys`` (-1: empty), or the empty slot it would take."""
    slot = (feature * 0x9E3779B1) & mask
    while keys[slot] != -1 and keys[slot] != feature:
        slot = (slot + 1) & mask
    return slot


def _chunked(fn, data, sizes: list[int], workers: int) -> list:
    """``fn(data, start, stop)`` over contiguous chunks of items with these sizes, concatenated in order."""
    bounds = bounds_for(sizes, workers, MAX_CHUNK_CHARS)
    return [item for part in map_chunks(fn, data, bounds, workers) for item in part]


def _split_chunk(data: tuple[list[str], str], start: int, stop: int) -> list[tuple[list[tuple[int, int]], set[str]]]:
    """(sentence spans, facts) of the texts ``start:stop``; runs in a forked worker."""
    texts, splitter = data
    chunk = texts[start:stop]
    return list(zip(split_many(chunk, splitter=splitter), map(_facts, chunk)))


def _counts(sentences: list[str], config: AlignConfig, workers: int) -> sp.csr_matrix:
    """Hashed feature counts of ``sentences`` (float64 CSR, sorted indices), computed on ``workers``.

    Rows do not depend on each other, so chunks are stacked as they come.
    """
    model = IdfModel(features=config.features, n_features=config.n_features)
    bounds = bounds_for([len(s) for s in sentences], workers, MAX_CHUNK_CHARS)
    parts = map_chunks(_count_chunk, (sentences, model), bounds, workers)
    indptr = np.zeros(len(sentences) + 1, dtype=np.int64)
    at = 0
    for part_indptr, _, _ in parts:
        indptr[at + 1:at + len(part_indptr)] = part_indptr[1:] + indptr[at]
        at += len(part_indptr) - 1
    indices = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int32)
    counts = np.concatenate([p[2] for p in parts]).astype(np.float64) if parts else np.empty(0)
    return sp.csr_matrix((counts, indices, indptr), shape=(len(sentences), config.n_features))


def _count_chunk(data: tuple[list[str], IdfModel], start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature counts of sentences ``start:stop`` as (indptr, indices, int32 counts); runs in a forked worker."""
    sentences, model = data
    counts = model.counts(sentences[start:stop])
    return counts.indptr.astype(np.int64), counts.indices.astype(np.int32), counts.data.astype(np.int32)
