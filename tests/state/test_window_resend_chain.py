"""A small outlet's re-sends sent over several nights count once in the window's boilerplate count.

An outlet with few texts tonight counts its stored texts of the window for its boilerplate
(:func:`dedup.state.window.window_texts`). Its item and the ``UPDATE n-`` versions of it sent on the
following nights are one item: a run over those nights counts the chain once
(:func:`dedup.resend.resend_followers`), and so must the night that counts the window, or the
item's body reaches ``boilerplate_min_docs`` (4) texts by the third update, is stripped from tonight's
update and no longer joins the item's story.
"""

from __future__ import annotations

import polars as pl
import pytest

from dedup import run, signing
from dedup.config import Config
from tests.conftest import article, make_story, write_jsonl

NIGHTS = [f"2026-05-{k + 1:02d}" for k in range(4)]
BODY = make_story(700, 10)   # the item's body, re-sent every night with a sentence of the night's news
HEADLINE = "Harbour authority approves new container terminal plan"


def _night(k: int) -> list[dict]:
    """Night ``k``: the Gazette's item (night 0) or its ``UPDATE k-`` (with the night's new sentence), and two
    other Gazette articles of long bodies of their own; another outlet's article."""
    day = NIGHTS[k]
    if k == 0:
        item = article("g-item", "Gazette", BODY, f"{day}T08:00:00Z", title=HEADLINE)
    else:
        item = article(f"g-update-{k}", "Gazette", BODY + make_story(710 + k, 1), f"{day}T08:00:00Z",
                       title=f"UPDATE {k}-{HEADLINE}")
    return [item, *(article(f"g-{k}-{i}", "Gazette", make_story(720 + 10 * k + i, 9), f"{day}T1{i}:00:00Z")
                    for i in range(2)),
            article(f"o-{k}", "Other", make_story(760 + k, 9), f"{day}T09:00:00Z")]


def _rewrite() -> list[dict]:
    """The fifth night: the Gazette's piece on the item under a headline of its own (no marker: not a re-send),
    the item's body after a new lead; the night's other articles."""
    day = "2026-05-05"
    return [article("g-explainer", "Gazette", make_story(715, 2) + BODY, f"{day}T08:00:00Z",
                    title="What the new terminal means for the town"),
            *(article(f"g-4-{i}", "Gazette", make_story(770 + i, 9), f"{day}T1{i}:00:00Z") for i in range(2)),
            article("o-4", "Other", make_story(780, 9), f"{day}T09:00:00Z")]


def _nights(tmp_path, nights: list[list[dict]], name: str = "state") -> list:
    """Each night's records run against the state ``name``; the results."""
    results = []
    for k, records in enumerate(nights):
        day = records[0]["published"][:10]
        folder = write_jsonl(tmp_path / name / "in" / day / "a.jsonl", records).parent
        results.append(run([folder], tmp_path / name / "out" / day, state_dir=tmp_path / name / "state", night=day))
    return results


def _story_of(clusters: pl.DataFrame, article_id: str) -> set[str]:
    """The ids of the story ``article_id`` is in (tonight's and the stored ones loaded with it)."""
    story = clusters.filter(pl.col("article_id") == article_id)["cluster_id"].item()
    return set(clusters.filter(pl.col("cluster_id") == story)["article_id"].to_list())


def _alone(tmp_path, nights: list[list[dict]]) -> pl.DataFrame:
    every = write_jsonl(tmp_path / "all" / "a.jsonl", [r for night in nights for r in night]).parent
    return run([every], tmp_path / "alone").clusters


CHAIN = ["g-item", "g-update-1", "g-update-2", "g-update-3"]


def test_an_update_chain_over_four_nights_counts_once_and_joins_the_item_as_a_run_over_the_nights(tmp_path):
    assert Config().cluster.boilerplate_min_docs == 4
    nights = [_night(k) for k in range(4)]
    # A run over the four nights: the item and its 3 updates are one item, its body not boilerplate, one story.
    alone = _alone(tmp_path, nights)
    assert _story_of(alone, "g-update-3") == set(CHAIN)
    assert alone.filter(pl.col("article_id").is_in(CHAIN))["n_boilerplate"].to_list() == [0] * 4
    # Night by night: the window counts the stored item and updates with tonight's update as one text.
    results = _nights(tmp_path, nights)
    last = results[-1].clusters
    assert _story_of(last, "g-update-3") == set(CHAIN)
    assert last.filter(pl.col("article_id") == "g-update-3")["n_boilerplate"].item() == 0
    # each night counted the stored texts of both outlets (4 a night: all fewer than WINDOW_SAMPLE)
    assert [r.summary["history"]["boilerplate_window_articles"] for r in results] == [0, 4, 8, 12]


@pytest.mark.parametrize("batch", [None, 1])
def test_a_stored_chain_counts_once_for_tonights_article_in_one_batch_or_several(tmp_path, monkeypatch, batch):
    """The item and its 3 updates are all stored: they count as one text (the item's), so the body is in 2
    of the Gazette's texts with tonight's piece, not 5, as in a run over the five nights."""
    if batch:
        monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    nights = [_night(k) for k in range(4)] + [_rewrite()]
    alone = _alone(tmp_path, nights)
    assert _story_of(alone, "g-explainer") == {*CHAIN, "g-explainer"}
    last = _nights(tmp_path, nights)[-1].clusters
    assert _story_of(last, "g-explainer") == {*CHAIN, "g-explainer"}
    assert last.filter(pl.col("article_id") == "g-explainer")["n_boilerplate"].item() == 0
