"""An outlet's copies of one article (one text under several ids or URLs) count once for its boilerplate.

Boilerplate is what recurs across an outlet's *different* stories. An outlet
that carries the same article 4 times (``boilerplate_min_docs``) under several
section ids must not have the whole article counted as its boilerplate: every
copy would be stripped to nothing (``too_short``) and the story the other
outlets form would lose them (bug B10). A footer shared by the outlet's
different stories is still boilerplate, in the copies too.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import pipeline, signing
from dedup.boilerplate import (
    count_outlet_shingles,
    first_copies,
    remove_boilerplate,
    text_keys,
)
from dedup.config import Config
from dedup.pipeline import Timer, cluster_frame, run
from dedup.schema import SHINGLES
from dedup.shingle import shingle
from dedup.signing import sign_articles
from tests.conftest import article, make_story, write_jsonl
from tests.test_boilerplate import _corpus

FOOTER = ["Subscribe to the Harbour Gazette for more local news every single morning of the week.",
          "Copyright Harbour Gazette media group all rights reserved worldwide and in print."]


def _by_id(clusters: pl.DataFrame) -> dict[str, dict]:
    return {r["article_id"]: r for r in clusters.iter_rows(named=True)}


@pytest.mark.parametrize("outlets,copies", [(1, 4), (12, 33)])
def test_an_outlet_carrying_one_article_again_and_again_keeps_it_in_the_story(outlets, copies):
    # B10: each outlet carries the story `copies` times (>= boilerplate_min_docs = 4); another outlet once.
    story = make_story(41, 8)
    rows = [article(f"o{o}-{i}", f"Outlet {o}", story) for o in range(outlets) for i in range(copies)]
    rows.append(article("other", "Other", story))
    clusters = cluster_frame(pl.DataFrame(rows)).clusters
    assert clusters["cluster_id"].n_unique() == 1
    assert clusters["cluster_size"].to_list() == [len(rows)] * len(rows)
    assert clusters["n_boilerplate"].sum() == 0
    assert clusters["n_shingles"].min() >= Config().shingle.min_shingles
    assert clusters["note"].null_count() == len(rows)


def _footer_corpus() -> list[dict]:
    """Harbour Gazette: four different stories with its footer, one story four times (with the footer), a page
    that is only the footer; a wire copy of the repeated story."""
    repeated = make_story(500, 10)
    rows = [article(f"u{u}", "Harbour Gazette", make_story(600 + u, 9) + FOOTER) for u in range(4)]
    rows += [article(f"copy{i}", "Harbour Gazette", repeated + FOOTER) for i in range(4)]
    rows.append(article("footer-only", "Harbour Gazette", FOOTER))
    rows.append(article("wire", "Wire", repeated))
    return rows


def test_the_footer_of_different_stories_is_still_boilerplate_and_the_copies_keep_their_story():
    clusters = cluster_frame(pl.DataFrame(_footer_corpus())).clusters
    row = _by_id(clusters)
    # 4 different stories + the repeated one + the footer page: 6 distinct texts carry the footer
    assert all(row[i]["n_boilerplate"] > 0 for i in row if i != "wire")
    assert row["wire"]["n_boilerplate"] == 0
    # the footer does not glue the different stories; the repeated story keeps its body and its wire copy
    for u in range(4):
        assert row[f"u{u}"]["cluster_size"] == 1 and row[f"u{u}"]["note"] == "no_match"
    story = {i for i in row if i.startswith("copy")} | {"wire"}
    assert {row[i]["cluster_id"] for i in story} == {row["wire"]["cluster_id"]}
    assert all(row[i]["cluster_size"] == 5 for i in story)
    # the body whole (and the shingles across the body's end and the footer, which no other text has)
    assert row["copy0"]["n_shingles"] == row["wire"]["n_shingles"] + Config().shingle.size - 1


def test_an_article_emptied_by_its_outlets_boilerplate_is_too_short_and_says_why():
    row = _by_id(cluster_frame(pl.DataFrame(_footer_corpus())).clusters)["footer-only"]
    assert row["n_shingles"] == 0 and row["n_boilerplate"] > 0
    assert row["note"] == (f"too_short: 0 shingles left after {row['n_boilerplate']} removed as the outlet's "
                           f"boilerplate, fewer than min_shingles={Config().shingle.min_shingles}")
    short = _by_id(cluster_frame(pl.DataFrame([article("tiny", "X", ["Three words only."])])).clusters)["tiny"]
    assert short["note"].startswith("too_short: ") and "boilerplate" not in short["note"]


@pytest.mark.parametrize("seed", range(4))
def test_copies_count_once_and_are_stripped_like_their_original(seed):
    # Random articles of a few outlets; a third of them copied (same outlet, same sequence) 1-5 times.
    frame, outlets = _corpus(seed, n=150)
    rng = np.random.default_rng(seed)
    origin = np.concatenate([np.arange(frame.height),
                             np.repeat(np.arange(0, frame.height, 3), rng.integers(1, 6, size=50))])
    rng.shuffle(origin)
    copied = frame[origin].with_columns(doc=pl.Series(np.arange(len(origin)), dtype=pl.UInt32))
    copied_outlets = outlets.gather(origin)
    for min_docs, min_run in [(2, 1), (4, 5), (3, 3)]:
        alone = remove_boilerplate(frame, outlets, min_docs=min_docs, min_run=min_run)
        got = remove_boilerplate(copied, copied_outlets, min_docs=min_docs, min_run=min_run)
        want = alone[origin].with_columns(doc=copied["doc"])
        assert_frame_equal(got, want)
    assert_frame_equal(count_outlet_shingles(copied, copied_outlets), count_outlet_shingles(frame, outlets))


def test_counts_are_over_each_outlets_distinct_texts():
    frame = pl.DataFrame({"doc": [0, 1, 2, 3, 4], "shingles": [[1, 2], [1, 2], [2, 3], [1, 2], [1, 2]],
                          "sequence": [[1, 2], [2, 1], [2, 3], [1, 2], [1, 2]], "n_tokens": [5] * 5,
                          "n_boilerplate": [0] * 5}, schema=SHINGLES)
    outlets = pl.Series(["X", "X", "X", "Y", None])
    # X's rows 0 and 1 have one shingle set (in another order: the same shingles), Y's row 3 is another outlet's
    assert count_outlet_shingles(frame, outlets).rows() == [("X", 1, 1), ("X", 2, 2), ("X", 3, 1),
                                                             ("Y", 1, 1), ("Y", 2, 1)]
    keys = text_keys(frame)
    assert keys[0] == keys[1] == keys[3] == keys[4] and keys[0] != keys[2]
    assert first_copies(np.array([0, 0, 0, 1, -1]), keys).tolist() == [True, False, True, True, False]
    assert first_copies(np.array([0, 0, 0, 1, -1]), keys, seen=(0, keys[:1])).tolist() == \
        [False, False, True, True, False]


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 1000])
def test_copies_across_batches_count_once(monkeypatch, batch):
    # Harbour Gazette's 10 articles span batches of 1-5: its copies in later batches are known by the text keys
    # carried with the outlet's counts.
    articles = pipeline.cluster_frame(pl.DataFrame(_footer_corpus())).articles
    config = Config()
    whole = remove_boilerplate(shingle(articles), articles["outlet"], min_docs=4, min_run=5)
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    got, _ = sign_articles(articles, config, Timer())
    assert_frame_equal(got, whole)
    ids = articles["article_id"].to_list()
    assert all(len(got["shingles"][ids.index(f"copy{i}")]) > 0 for i in range(4))


@pytest.mark.skipif(bool(__import__("dedup.spark", fromlist=["unavailable_reason"]).unavailable_reason()),
                    reason="Spark engine unavailable")
def test_spark_engine_counts_copies_once_as_the_local_engine(tmp_path):
    from dedup.spark import get_session, read_table, run_spark

    corpus = write_jsonl(tmp_path / "in" / "a.jsonl", _footer_corpus())
    run([corpus], tmp_path / "local")
    run_spark([corpus], tmp_path / "spark", spark=get_session("local[2]", conf={"spark.driver.memory": "3g"}))
    for name in ("clusters", "sentences", "links"):
        assert_frame_equal(read_table(tmp_path / "spark", name), pl.read_parquet(tmp_path / "local" / f"{name}.parquet"),
                           check_exact=True)
    local = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert local["pipeline"]["boilerplate_shingles_removed"] > 0


def _resent_item_corpus(others: int) -> list[dict]:
    """Coast Herald: an item, an unchanged RPT- of it and an UPDATE 1- with a passage more, then `others`
    different stories; every text ends in the outlet's footer."""
    item, passage, title = make_story(700, 8), make_story(701, 2), "Harbour fees to rise next year"
    rows = [article("item", "Coast Herald", item + FOOTER, "2026-11-27T08:00:00Z", title=title),
            article("item-rpt", "Coast Herald", item + FOOTER, "2026-11-27T09:00:00Z", title="RPT-" + title),
            article("item-upd", "Coast Herald", item + passage + FOOTER, "2026-11-27T10:00:00Z",
                    title="UPDATE 1-" + title)]
    return rows + [article(f"s{k}", "Coast Herald", make_story(710 + k, 6) + FOOTER, f"2026-11-27T1{k + 1}:00:00Z",
                           title=f"Other story number {k}") for k in range(others)]


def test_an_rpt_under_a_headline_template_re_sends_its_item_only():
    """Four short items of one outlet share its footer and one headline template; an RPT- of the first
    matches all four headlines and, before boilerplate is known, all four texts (the footer). It re-sends
    the item it equals only: the footer stays in 4 texts, boilerplate, and every item apart."""
    footer = make_story(702, 3)   # longer than the stories: most of each text
    rows = [article(f"c{k}", "Coast Herald", make_story(720 + k, 2) + footer, f"2026-11-27T0{k + 1}:00:00Z",
                    title=f"Local story {k} about fees") for k in range(4)]
    rows.append(dict(rows[0], id="c0-rpt", title="RPT-Local story 0 about fees", published="2026-11-27T06:00:00Z"))
    row = _by_id(cluster_frame(pl.DataFrame(rows)).clusters)
    assert all(r["n_boilerplate"] > 0 for r in row.values())
    assert [row[f"c{k}"]["cluster_size"] for k in range(1, 4)] == [1, 1, 1]
    assert row["c0-rpt"]["cluster_id"] == row["c0"]["cluster_id"]


@pytest.mark.parametrize("batch", [None, 1, 2, 4])
def test_an_item_re_sent_unchanged_and_updated_counts_once_for_its_outlet(monkeypatch, batch):
    """The unchanged RPT- has the item's text: it is a copy of it, and the item counts once in its own text,
    not zero times (its text was left out with the re-send's) nor twice (the update's text never counts)."""
    if batch:
        monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    # the item's text and 3 other stories: the footer is in 4 texts, the outlet's boilerplate
    row = _by_id(cluster_frame(pl.DataFrame(_resent_item_corpus(3))).clusters)
    assert all(r["n_boilerplate"] > 0 for r in row.values())
    assert [row[f"s{k}"]["cluster_size"] for k in range(3)] == [1, 1, 1]
    assert {row[i]["cluster_id"] for i in ("item", "item-rpt", "item-upd")} == {row["item"]["cluster_id"]}
    # with 2 other stories it is in 3 texts: not boilerplate, though 5 articles carry it
    row = _by_id(cluster_frame(pl.DataFrame(_resent_item_corpus(2))).clusters)
    assert all(r["n_boilerplate"] == 0 for r in row.values())
