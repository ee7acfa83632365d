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
    """Sentence containment between articles of one batch (fit once, then query pairs)."""

    def __init__(self, config: AlignConfig = AlignConfig()):
        self.config = config

    def fit(self, texts: dict[int, str]) -> "SentenceMatcher":
        self.sentences_ = {d: [t[a:b] for a, b in split_sentences(t, splitter=self.config.splitter)]
                           for d, t in texts.items()}
        distinct = dict.fromkeys(s for sents in self.sentences_.values() for s in sents)
        self.idf_ = IdfModel(features=self.config.features, n_features=self.config.n_features).fit(distinct)
        self.vectors_ = {d: self.idf_.transform(s) for d, s in self.sentences_.items() if s}
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
        vi, vj = self.vectors_.get(i), self.vectors_.get(j)
        if vi is None or vj is None:
            return 0.0
        if vi.shape[0] > vj.shape[0]:
            vi, vj = vj, vi
        best = (vi @ vj.T).max(axis=1).toarray().ravel()
        return float(np.count_nonzero(best >= self.config.align_threshold) / vi.shape[0])
