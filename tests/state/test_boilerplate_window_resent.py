"""A state run's boilerplate count with the window's stored texts and an outlet's re-sends together: the
re-send's text counts neither tonight nor as a stored text, whether the night is signed in one batch
(:func:`dedup.boilerplate.remove_boilerplate` with the window's ``more_counts``) or in several."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import signing
from dedup.boilerplate import text_keys
from dedup.config import Config
from dedup.io import articles_from_frame
from dedup.pipeline import Timer
from dedup.shingle import shingle
from dedup.signing import Resent, sign_articles
from dedup.state.window import WINDOW_SAMPLE
from tests.conftest import article, make_story

FOOTER = make_story(999, 6)   # the Gazette's passage at the end of every article it prints


def _night():
    """Tonight: the Gazette's item and its update (a re-send with a text of its own), the Big outlet's 6
    articles, an article without outlet; stored: 2 other Gazette texts and a copy of the update's text.
    The footer is then in 3 Gazette texts that count (boilerplate_min_docs is 4), in 5 if the re-send and its
    stored copy counted."""
    update = make_story(601, 5) + make_story(602, 1) + FOOTER
    recs = [article("g", "Gazette", make_story(601, 5) + FOOTER), article("g-update", "Gazette", update),
            *(article(f"b{i}", "Big", make_story(610 + i, 5)) for i in range(6)), article("n", None, FOOTER)]
    articles = articles_from_frame(pl.DataFrame(recs)).articles
    stored = articles_from_frame(pl.DataFrame(
        [article(f"old{k}", "Gazette", make_story(620 + k, 5) + FOOTER) for k in range(2)]
        + [article("old-update", "Gazette", update)])).articles
    stored = pl.DataFrame({"outlet": stored["outlet"], "shingles": shingle(stored)["shingles"]})
    rows = (articles["article_id"] == "g-update").to_numpy()
    # as dedup.signing.resent_rows keys them: the re-sends' texts shingled apart
    resent = Resent(rows, text_keys(shingle(articles.filter(pl.Series(rows)))))

    def window(texts: dict[str, int]) -> pl.DataFrame:
        return stored.filter(pl.col("outlet").is_in([o for o, n in texts.items() if n < WINDOW_SAMPLE]))

    return articles, resent, window


@pytest.mark.parametrize("batch", [1, 2, 3, 5])
def test_a_resent_text_counts_neither_tonight_nor_in_the_window_in_one_batch_or_several(monkeypatch, batch):
    articles, resent, window = _night()
    assert Config().cluster.boilerplate_min_docs == 4
    whole, _ = sign_articles(articles, Config(), Timer(), resent=resent, window=window)
    n_boilerplate = dict(zip(articles["article_id"], whole["n_boilerplate"]))
    assert n_boilerplate["g"] == 0 and n_boilerplate["g-update"] == 0 and n_boilerplate["n"] == 0
    # the same night without the re-send marked: its text counts (4 with the footer), and the footer is stripped
    unmarked, _ = sign_articles(articles, Config(), Timer(), window=window)
    assert dict(zip(articles["article_id"], unmarked["n_boilerplate"]))["g"] > 0
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    assert_frame_equal(sign_articles(articles, Config(), Timer(), resent=resent, window=window)[0], whole)
    assert_frame_equal(sign_articles(articles, Config(), Timer(), window=window)[0], unmarked)
