"""The sentence second opinion (dedup.sentence_match): its bound on the sentences of an article, and its
share on equal sentence counts."""

from __future__ import annotations

import numpy as np
import polars as pl

from dedup import cluster_frame
from dedup.config import AlignConfig, ClusterConfig
from dedup.sentence_match import SentenceMatcher
from tests.conftest import article, make_story


def test_an_article_over_max_sentences_gets_no_second_opinion():
    """A pair's cosines take the product of its sentence counts in time and memory (a 25,000-sentence dump
    against its copy: minutes and 5 GB per thread): above the aligner's bound the pair is not measured,
    and the pairs within it are measured as before, in the same call."""
    long, short = make_story(1, 40), make_story(2, 12)
    texts = {0: " ".join(long), 1: " ".join(long[:30] + make_story(3, 10)),
             2: " ".join(short), 3: " ".join(short[:9] + make_story(4, 3))}
    left, right = np.array([0, 2]), np.array([1, 3])
    matcher = SentenceMatcher(AlignConfig()).fit(texts)
    unbounded = matcher.shares(left, right)
    assert unbounded[0] > 0.7 and unbounded[1] > 0.7
    most = max(len(matcher.rows_[0]), len(matcher.rows_[1]))     # (as the splitter cuts them)
    assert max(len(matcher.rows_[2]), len(matcher.rows_[3])) < most - 1
    bounded = SentenceMatcher(AlignConfig(max_sentences=most - 1)).fit(texts)
    assert bounded.shares(left, right).tolist() == [0.0, unbounded[1]]
    assert bounded.share(0, 1) == 0.0 and bounded.share(2, 3) == unbounded[1]
    at_bound = SentenceMatcher(AlignConfig(max_sentences=most)).fit(texts)
    assert at_bound.shares(left, right).tolist() == unbounded.tolist()


def _one_half_twice(seed: int = 11) -> tuple[list[str], list[str]]:
    """Two 4-sentence articles: ``b`` is two rewrites each of the first two sentences of ``a`` (every
    fifth word dropped, from two starts), so all of b's sentences match one of a's, but only half of a's
    match one of b's; their shingle containment (about 0.41) is borderline."""
    def drop(sentence: str, start: int) -> str:
        words = sentence[:-1].split()
        return " ".join(w for p, w in enumerate(words) if p < start or (p - start) % 5) + "."
    a = make_story(seed, 4)
    return a, [a[0], drop(a[0], 2), drop(a[1], 1), drop(a[1], 3)]


def test_on_equal_sentence_counts_the_share_is_the_larger_of_the_two_whichever_is_left():
    """Matching is not one to one, so the two articles' shares differ; measuring the left one (the smaller
    doc number) made the decision depend on how the ids sort, and made a nightly run (stored articles
    numbered after tonight's) decide otherwise than a standalone run of the same two articles."""
    a, b = _one_half_twice()
    matcher = SentenceMatcher(AlignConfig()).fit({0: " ".join(a), 1: " ".join(b)})
    assert len(matcher.rows_[0]) == len(matcher.rows_[1]) == 4
    cosines = (matcher.vectors_[0] @ matcher.vectors_[1].T).toarray() >= AlignConfig().align_threshold
    assert cosines.any(axis=1).mean() == 0.5 and cosines.any(axis=0).mean() == 1.0
    assert matcher.shares(np.array([0, 1]), np.array([1, 0])).tolist() == [1.0, 1.0]


def test_swapping_the_ids_of_a_borderline_pair_does_not_change_the_stories():
    a, b = _one_half_twice()
    for first, second in (("x-1", "x-2"), ("x-2", "x-1")):
        result = cluster_frame(pl.DataFrame([article(first, "One", a, "2026-11-27T08:00:00Z"),
                                             article(second, "Two", b, "2026-11-27T09:00:00Z")]))
        pair = result.pairs.row(0, named=True)
        config = ClusterConfig()
        assert config.rescue_min_containment < pair["containment"] < config.threshold
        assert pair["sentence_share"] == 1.0
        assert result.clusters["cluster_size"].to_list() == [2, 2]
