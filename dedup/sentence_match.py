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
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from dedup.align.sentences import split_sentences
from dedup.align.tfidf import IdfModel
from dedup.config import AlignConfig

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
    texts), ``idf_`` (the :class:`IdfModel`), ``vectors_`` (doc -> its
    L2-normalised TF-IDF rows, for docs with at least one sentence) and
    ``facts_`` (doc -> its figures and names).
    """

    def __init__(self, config: AlignConfig = AlignConfig()):
        self.config = config

    def fit(self, texts: dict[int, str], *, idf: IdfModel | None = None) -> "SentenceMatcher":
        """Split ``texts`` into sentences and vectorise them.

        The IDF is fitted on the distinct sentences of ``texts``, or ``idf``
        (already fitted, e.g. on the whole night) is used as it is. Every
        distinct sentence is vectorised once: syndicated copies repeat most
        of their sentences, and a sentence's row does not depend on the
        others.
        """
        self.sentences_ = {d: [t[a:b] for a, b in split_sentences(t, splitter=self.config.splitter)]
                           for d, t in texts.items()}
        distinct = dict.fromkeys(s for sents in self.sentences_.values() for s in sents)
        self.idf_ = idf if idf is not None else IdfModel(features=self.config.features,
                                                         n_features=self.config.n_features).fit(distinct)
        row = {s: i for i, s in enumerate(distinct)}
        matrix = self.idf_.transform(list(distinct)) if distinct else None
        self.vectors_ = {d: matrix[[row[s] for s in sents]] for d, sents in self.sentences_.items() if sents}
        self.facts_ = {d: _facts(t) for d, t in texts.items()}
        return self

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
        """:meth:`share` of every pair ``(left[k], right[k])``, with a few sparse products for all of them.

        Each pair's cosines are the block ``vectors_[i] @ vectors_[j].T``. The
        pairs' rows are stacked, and every pair's features are renumbered apart
        from the other pairs' (keeping their order), so that one product of
        the stacked rows yields exactly the pairs' blocks, each cosine summed
        in the same order as in the pair's own product.
        """
        out = np.zeros(len(left))
        have = [k for k, (i, j) in enumerate(zip(np.asarray(left).tolist(), np.asarray(right).tolist()))
                if i in self.vectors_ and j in self.vectors_]
        chunk: list[int] = []
        stored = 0
        for k in have + [None]:
            if k is not None:
                size = self.vectors_[int(left[k])].nnz + self.vectors_[int(right[k])].nnz
                if not chunk or (stored + size <= _CHUNK_ENTRIES and len(chunk) < _CHUNK_PAIRS):
                    chunk.append(k)
                    stored += size
                    continue
            if chunk:
                out[chunk] = self._block_shares([self.vectors_[int(left[c])] for c in chunk],
                                                [self.vectors_[int(right[c])] for c in chunk])
            chunk, stored = ([k], size) if k is not None else ([], 0)
        return out

    def _block_shares(self, lefts: list[sp.csr_matrix], rights: list[sp.csr_matrix]) -> np.ndarray:
        n_left = np.array([m.shape[0] for m in lefts])
        n_right = np.array([m.shape[0] for m in rights])
        a, b = sp.vstack(lefts, format="csr"), sp.vstack(rights, format="csr")
        a.sort_indices()
        b.sort_indices()
        # One sort of (pair, feature, position) numbers the pairs' features apart, in feature order.
        feature_bits = int(max(a.shape[1], b.shape[1]) - 1).bit_length()
        keys = np.concatenate([_entry_pairs(a, n_left), _entry_pairs(b, n_right)]) << np.int64(feature_bits)
        keys |= np.concatenate([a.indices, b.indices]).astype(np.int64)
        position_bits = max(len(keys) - 1, 1).bit_length()
        packed = (keys << np.int64(position_bits)) | np.arange(len(keys), dtype=np.int64)
        packed.sort()
        ordered = packed >> np.int64(position_bits)
        column = np.empty(len(keys), dtype=np.int64)
        column[packed & np.int64((1 << position_bits) - 1)] = np.cumsum(
            np.concatenate([[True], ordered[1:] != ordered[:-1]])) - 1
        width = int(column.max()) + 1 if len(column) else 1
        a = sp.csr_matrix((a.data, column[:a.nnz], a.indptr), shape=(a.shape[0], width))
        b = sp.csr_matrix((b.data, column[a.nnz:], b.indptr), shape=(b.shape[0], width))
        cosines = a @ b.T.tocsr()
        # The article with fewer sentences (the left one on a tie) is the one measured.
        threshold = self.config.align_threshold
        best_a = cosines.max(axis=1).toarray().ravel()
        best_b = cosines.max(axis=0).toarray().ravel()
        matched_a = np.bincount(np.repeat(np.arange(len(lefts)), n_left), weights=best_a >= threshold,
                                minlength=len(lefts))
        matched_b = np.bincount(np.repeat(np.arange(len(rights)), n_right), weights=best_b >= threshold,
                                minlength=len(rights))
        return np.where(n_left <= n_right, matched_a / n_left, matched_b / n_right)


# Pairs per stacked product, and stored entries (both sides) per product: (pair, feature, position)
# numbers must fit 63 bits (11 + 20 + 21 with the default 2**20 features); small products reuse memory.
_CHUNK_PAIRS = 2048
_CHUNK_ENTRIES = 1 << 19


def _entry_pairs(stacked: sp.csr_matrix, rows_per_pair: np.ndarray) -> np.ndarray:
    """The pair of every stored entry of ``stacked`` (pair ``p`` owns ``rows_per_pair[p]`` rows)."""
    row_starts = np.concatenate([[0], np.cumsum(rows_per_pair)])
    return np.repeat(np.arange(len(rows_per_pair), dtype=np.int64), np.diff(stacked.indptr[row_starts]))
