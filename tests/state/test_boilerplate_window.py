"""A state run counts an outlet's boilerplate over the window's stored articles when it has few tonight.

An outlet printing one article a night with its long footer never has the footer in
``boilerplate_min_docs`` (4) of a night's texts, while matching spans the window: its unrelated
articles would be joined by the footer night after night, where a run over the same articles strips
it. An outlet with fewer than ``WINDOW_SAMPLE`` distinct texts tonight also counts its stored
articles of the window, shingled again as read, as a run over them would count them
(:func:`dedup.state.window.window_texts`).
"""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import run, signing
from dedup.config import Config
from dedup.io import articles_from_frame
from dedup.pipeline import Timer
from dedup.shingle import shingle
from dedup.signing import sign_articles
from dedup.state.window import WINDOW_SAMPLE, window_texts
from tests.conftest import article, make_story, write_jsonl

FOOTER = make_story(999, 6)   # the Gazette's "About us" passage, at the end of every article it prints
WEEK = [f"2026-03-{k + 1:02d}" for k in range(20)]   # nights; the window is 7 of them


def _night_records(k: int) -> list[dict]:
    """Night ``k``: one Gazette article (3 sentences of its own, then the 6 of the footer: the footer alone
    makes two of them one story), three other outlets' articles."""
    night = WEEK[k]
    return [article(f"g-{k}", "Gazette", make_story(100 + k, 3) + FOOTER, f"{night}T10:00:00Z"),
            *(article(f"u-{k}-{i}", f"Local {i}", make_story(1000 * k + i, 8), f"{night}T0{i}:00:00Z")
              for i in range(3))]


def _nights(tmp_path, records, name="state"):
    """Each night's records run against the state ``name``; the results."""
    results = []
    for k, recs in enumerate(records):
        folder = write_jsonl(tmp_path / name / "in" / WEEK[k] / "a.jsonl", recs).parent
        results.append(run([folder], tmp_path / name / "out" / WEEK[k], state_dir=tmp_path / name / "state",
                           night=WEEK[k]))
    return results


def _row(result, article_id: str) -> dict:
    return result.clusters.filter(pl.col("article_id") == article_id).row(0, named=True)


def test_a_small_outlets_footer_is_found_over_the_window_and_joins_its_articles_no_more(tmp_path):
    results = _nights(tmp_path, [_night_records(k) for k in range(7)])
    gazette = [_row(r, f"g-{k}") for k, r in enumerate(results)]
    # A run over the week strips the footer and finds 7 unrelated articles.
    week = write_jsonl(tmp_path / "week" / "a.jsonl", [r for k in range(7) for r in _night_records(k)]).parent
    alone = run([week], tmp_path / "alone").clusters.filter(pl.col("outlet") == "Gazette")
    assert alone["cluster_size"].to_list() == [1] * 7 and alone["n_boilerplate"].min() > 0
    # The first 3 nights, before the window holds 3 of the Gazette's texts, join by the footer (one story,
    # which then counts its 3 texts, not 1); from the 4th, every night's article is stripped as in the run over
    # the week, and stays alone.
    assert [g["cluster_size"] for g in gazette] == [1, 2, 3, 1, 1, 1, 1]
    assert all(g["n_boilerplate"] == alone["n_boilerplate"][0] for g in gazette[3:])
    # every outlet has one text a night: each counted its stored articles (all of them, fewer than WINDOW_SAMPLE)
    assert [r.summary["history"]["boilerplate_window_articles"] for r in results] == [4 * k for k in range(7)]


@pytest.mark.parametrize("batch", [1, 3])
def test_a_state_run_in_batches_counts_the_window_as_in_one(tmp_path, monkeypatch, batch):
    records = [_night_records(k) for k in range(6)]
    whole = _nights(tmp_path, records, "whole")
    monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    batched = _nights(tmp_path, records, "batched")
    for one, other in zip(whole, batched):
        assert_frame_equal(one.clusters.drop("source_file"), other.clusters.drop("source_file"))
        assert one.summary["history"] == other.summary["history"]
    assert _row(batched[-1], "g-5")["n_boilerplate"] > 0


def test_a_night_in_batches_reads_the_window_texts_once(tmp_path, monkeypatch):
    """Batches of one article: each ends an outlet and asks for its window texts; they are read in one scan."""
    from dedup.state.store import Store
    _nights(tmp_path, [_night_records(k) for k in range(3)])
    reads = []
    scan = Store.scan

    def recording(self, manifest, table, nights=None):
        if table == "articles" and nights is not None:
            reads.append(table)
        return scan(self, manifest, table, nights)

    monkeypatch.setattr(Store, "scan", recording)
    for batch in (None, 1):
        if batch:
            monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
        reads.clear()
        folder = write_jsonl(tmp_path / f"in{batch}" / "a.jsonl", _night_records(3)).parent
        result = run([folder], tmp_path / f"out{batch}", state_dir=tmp_path / "state" / "state", night=WEEK[3])
        assert result.summary["history"]["boilerplate_window_articles"] == 12
        counted = len(reads)
        if batch is None:
            one_batch = counted
    assert counted == one_batch


def test_the_footer_stays_found_after_the_nights_that_found_it_fill_the_window(tmp_path):
    """16 nights of the Gazette's one article: once found (night 4), the footer is found every night, though
    the nights that found it stored their shingles without it (the window's texts are shingled again)."""
    results = _nights(tmp_path, [_night_records(k) for k in range(16)])
    gazette = [_row(r, f"g-{k}") for k, r in enumerate(results)]
    assert [g["cluster_size"] for g in gazette[3:]] == [1] * 13
    assert all(g["n_boilerplate"] > 0 for g in gazette[3:])


def test_copies_of_one_stored_text_take_one_place_in_the_window_sample(tmp_path):
    """The Gazette's one article a night is found by the crawl under 8 ids: the window's 15 most recent rows
    would be two nights' texts, never 4 with tonight's; its stored texts, not rows, count."""
    records = [[dict(r, id=f"{r['id']}-{c}") for r in _night_records(k) if r["outlet"] == "Gazette" for c in range(8)]
               + [r for r in _night_records(k) if r["outlet"] != "Gazette"] for k in range(6)]
    results = _nights(tmp_path, records)
    last = results[-1].clusters.filter(pl.col("article_id").str.starts_with("g-5-"))
    assert (last["n_boilerplate"] > 0).all() and last["cluster_size"].to_list() == [8] * 8
    # the window's 5 texts of the Gazette (40 rows) and the other outlets' 5 each
    assert results[-1].summary["history"]["boilerplate_window_articles"] == 5 + 3 * 5


def test_short_items_under_a_long_footer_are_kept_apart_once_the_window_finds_it(tmp_path):
    """Items of one sentence under an 8-sentence footer: the footer joins the first nights' items into one
    stored story, whose items still count as texts of their own (the run over the week keeps all 7 apart)."""
    footer = make_story(998, 8)
    records = [[article(f"s-{k}", "Gazette", make_story(600 + k, 1) + footer, f"{WEEK[k]}T10:00:00Z"),
                *(article(f"o-{k}-{i}", f"Local {i}", make_story(610 + 10 * k + i, 8), f"{WEEK[k]}T0{i}:00:00Z")
                  for i in range(2))] for k in range(7)]
    results = _nights(tmp_path, records)
    assert [_row(r, f"s-{k}")["cluster_size"] for k, r in enumerate(results)] == [1, 2, 3, 1, 1, 1, 1]
    week = write_jsonl(tmp_path / "week" / "a.jsonl", [r for night in records for r in night]).parent
    assert run([week], tmp_path / "alone").clusters.filter(pl.col("outlet") == "Gazette")["cluster_size"].max() == 1


def test_a_story_re_published_is_counted_as_a_run_over_the_window_counts_it(tmp_path):
    """The Weekly runs one story again every night under a new id: the same text counts once (its story keeps
    growing); versions with a new first sentence are texts of their own, and from the fourth the story is the
    Weekly's boilerplate, as in a run over those nights' articles."""
    story = make_story(300, 10)

    def nights(edited: bool):
        return [[article(f"w-{k}", "Weekly", (make_story(310 + k, 1) if edited else []) + story, f"{WEEK[k]}T09:00:00Z"),
                 article(f"x-{k}", "Other", make_story(320 + k, 8), f"{WEEK[k]}T08:00:00Z")] for k in range(5)]

    same = _nights(tmp_path, nights(False), "same")
    assert _row(same[-1], "w-4")["n_boilerplate"] == 0 and _row(same[-1], "w-4")["cluster_size"] == 5
    edited = _nights(tmp_path, nights(True), "edited")
    week = write_jsonl(tmp_path / "week" / "a.jsonl", [r for night in nights(True) for r in night]).parent
    alone = run([week], tmp_path / "alone").clusters.filter(pl.col("outlet") == "Weekly")
    assert alone["n_boilerplate"].min() > 0
    assert [_row(r, f"w-{k}")["n_boilerplate"] > 0 for k, r in enumerate(edited)] == [False] * 3 + [True] * 2
    # Weekly's 4 stored articles and the Other's 4 on the fifth night
    assert edited[-1].summary["history"]["boilerplate_window_articles"] == 4 + 4


def test_an_outlet_with_enough_texts_tonight_reads_and_counts_nothing_of_the_window(tmp_path):
    # The Daily prints 16 articles a night, 3 of them with a sidebar: never its boilerplate on a night, and
    # the window is not counted for it, so not over several nights either.
    sidebar = make_story(400, 3)

    def night(k):
        return [article(f"d-{k}-{i}", "Daily", make_story(410 + 20 * k + i, 6) + (sidebar if i < 3 else []),
                        f"{WEEK[k]}T{i:02d}:00:00Z") for i in range(WINDOW_SAMPLE)]

    results = _nights(tmp_path, [night(k) for k in range(3)])
    assert all(r.clusters["n_boilerplate"].sum() == 0 for r in results)
    assert [r.summary["history"]["boilerplate_window_articles"] for r in results] == [0, 0, 0]

    def unread():
        raise AssertionError("the window was read")

    assert window_texts(None, None, unread, {"Daily": 0}, Config().shingle).height == 0


@pytest.mark.parametrize("batch", [1, 2, 3, 5, None])
def test_sign_articles_adds_each_outlets_window_texts_once_whatever_the_batches(monkeypatch, batch):
    """Tonight: one Gazette article with its footer; the Big outlet's 8 articles (3 with a passage P, one
    of them twice) span batches. Stored: 3 Gazette texts with the footer, and Big's text with P again."""
    passage = make_story(500, 3)
    recs = [article("g", "Gazette", make_story(501, 5) + FOOTER),
            *(article(f"b{i}", "Big", make_story(510 + i, 5) + (passage if i < 3 else [])) for i in range(8)),
            article("b0-copy", "Big", make_story(510, 5) + passage), article("n", None, FOOTER)]
    articles = articles_from_frame(pl.DataFrame(recs)).articles
    stored_recs = [article(f"old{k}", "Gazette", make_story(520 + k, 5) + FOOTER) for k in range(3)]
    stored_recs.append(article("old-b0", "Big", make_story(510, 5) + passage))
    stored = articles_from_frame(pl.DataFrame(stored_recs)).articles
    stored = pl.DataFrame({"outlet": stored["outlet"], "shingles": shingle(stored)["shingles"]})
    asked = []

    def window(texts: dict[str, int]) -> pl.DataFrame:
        asked.append(texts)
        return stored.filter(pl.col("outlet").is_in([o for o, n in texts.items() if n < WINDOW_SAMPLE]))

    if batch:
        monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    got, _ = sign_articles(articles, Config(), Timer(), window=window)
    # every outlet was asked once, with its distinct texts tonight (b0's copy is one of them)
    assert Counter(o for texts in asked for o in texts) == {"Gazette": 1, "Big": 1}
    assert {o: n for texts in asked for o, n in texts.items()} == {"Gazette": 1, "Big": 8}
    monkeypatch.setattr(signing, "BATCH_ARTICLES", 50_000)
    assert_frame_equal(got, sign_articles(articles, Config(), Timer(), window=window)[0])
    n_boilerplate = dict(zip(articles["article_id"], got["n_boilerplate"]))
    # the footer is in 4 of the Gazette's texts: its boilerplate; nowhere else (no outlet: never counted)
    assert n_boilerplate["g"] > 0 and n_boilerplate["n"] == 0
    # P is in 3 of Big's texts: the stored copy of b0's text is one of them, not a fourth
    assert all(n_boilerplate[f"b{i}"] == 0 for i in range(8))
