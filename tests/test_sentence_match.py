"""The sentence second opinion (dedup.sentence_match): its bound on the sentences of an article."""

from __future__ import annotations

import numpy as np

from dedup.config import AlignConfig
from dedup.sentence_match import SentenceMatcher
from tests.conftest import make_story


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
