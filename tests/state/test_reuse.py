"""State runs re-use earlier alignments: copied rows, story-level families and links, format 1 states."""

from __future__ import annotations

import json
import shutil

import polars as pl
from polars.testing import assert_frame_equal

from dedup import Config, run
from dedup.align import align_clusters, fit_idf
from dedup.align.reuse import story_families
from dedup.io import read_inputs
from dedup.pipeline import Timer, _cluster_articles
from dedup.state import Store, read_table
from tests.conftest import SAMPLE, article, make_story
from tests.state.corpus import NIGHTS, A, night_records, write_night

ROW_KEY = ["cluster_id", "article_id", "status", "position"]


def _night(tmp_path, n, records=None, *, state="state", out=None, **kw):
    folder = write_night(tmp_path / f"in-{state}-{n}", n, records)
    return run([folder], tmp_path / (out or f"out-{state}-{n}"), state_dir=tmp_path / state, night=NIGHTS[n - 1],
               **kw)


def _rows(result, article_id):
    return result.sentences.filter(pl.col("article_id") == article_id).sort(ROW_KEY)


def test_story_families_recomputes_what_the_alignment_computes():
    config = Config()
    read = read_inputs([SAMPLE], config=config.read)
    articles, clusters, _, _ = _cluster_articles(read, config, Timer())
    idf = fit_idf(articles, clusters, config=config.align)
    aligned = align_clusters(articles, clusters, config=config.align, idf=idf)
    assert aligned.links.height > 0                               # the corpus has shared added material
    blanked = aligned.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, links = story_families(blanked, clusters.filter(pl.col("cluster_size") >= 2), idf=idf,
                                      config=config.align)
    assert_frame_equal(sentences, aligned.sentences)
    assert_frame_equal(links.sort("cluster_id", "family_id", "article_id"), aligned.links)


def test_known_spans_replace_splitting():
    config = Config()
    read = read_inputs([SAMPLE], config=config.read)
    articles, clusters, _, _ = _cluster_articles(read, config, Timer())
    aligned = align_clusters(articles, clusters, config=config.align)
    own = aligned.sentences.filter(pl.col("status") != "dropped").sort("article_id", "position")
    spans = {a: list(zip(g["char_start"], g["char_end"])) for (a,), g in own.group_by("article_id")}
    again = align_clusters(articles, clusters, config=config.align, spans=spans)
    assert_frame_equal(again.sentences, aligned.sentences)
    assert_frame_equal(again.links, aligned.links)
    # The spans are what is used: one canonical given as a single sentence gets one row.
    canonical = clusters.filter(pl.col("is_canonical") & (pl.col("cluster_size") >= 2))["article_id"][0]
    text = articles.filter(pl.col("article_id") == canonical)["text"][0]
    whole = align_clusters(articles, clusters, config=config.align, spans={**spans, canonical: [(0, len(text))]})
    rows = whole.sentences.filter((pl.col("article_id") == canonical) & (pl.col("status") != "dropped"))
    assert rows["text"].to_list() == [text]


def test_a_prior_version_whose_canonical_is_unchanged_is_copied_not_aligned_again(tmp_path):
    r1 = _night(tmp_path, 1)
    # Mark night 1's stored rows of a-o1: only a copy can bring the mark into night 2's output.
    rel = Store(tmp_path / "state").manifest().tables["sentences"][NIGHTS[0]]
    stored = pl.read_parquet(tmp_path / "state" / rel)
    assert set(stored.filter(pl.col("article_id") == "a-o1")["canonical_id"]) == {"a-wire"}
    stored.with_columns(similarity=pl.when(pl.col("article_id") == "a-o1").then(0.125)
                        .otherwise(pl.col("similarity"))).write_parquet(tmp_path / "state" / rel)
    r2 = _night(tmp_path, 2)
    assert r2.summary["history"]["versions_copied"] == 1          # a-o1; a-wire is aligned with tonight's a-o2
    assert set(_rows(r2, "a-o1")["similarity"].drop_nulls()) == {0.125}
    unmarked = _rows(r1, "a-o1").drop("similarity")
    assert_frame_equal(_rows(r2, "a-o1").drop("similarity", "family_id"), unmarked.drop("family_id"))
    # Tonight's version was aligned: its rows are stored with the canonical they were aligned against.
    kept = read_table(tmp_path / "state", "sentences").filter(pl.col("night").cast(pl.String) == NIGHTS[1]).collect()
    assert set(kept.filter(pl.col("article_id") == "a-o2")["canonical_id"]) == {"a-wire"}
    assert kept.drop("night", "canonical_id", "fingerprint").sort(ROW_KEY).equals(r2.sentences.sort(ROW_KEY))


def test_nothing_is_copied_after_the_alignment_settings_changed(tmp_path):
    _night(tmp_path, 1)
    other = _night(tmp_path, 2, config=Config().replace(align={"align_threshold": 0.6}))
    assert other.summary["history"]["versions_copied"] == 0
    again = _night(tmp_path, 2, out="same")                          # a rerun with night 1's settings
    assert again.summary["history"]["versions_copied"] == 1


def test_versions_whose_canonical_changed_are_aligned_again(tmp_path):
    for n in (1, 2):
        _night(tmp_path, n)
    r3 = _night(tmp_path, 3)
    # The late original w-full is the new canonical of p-o4, p-o5, q-o6, q-o7: all four are aligned
    # against it; a-o1 and a-o2 still have a-wire as canonical and are copied.
    assert r3.summary["history"]["versions_copied"] == 2
    kept = read_table(tmp_path / "state", "sentences").filter(pl.col("night").cast(pl.String) == NIGHTS[2]).collect()
    for article_id in ("p-o4", "p-o5", "q-o6", "q-o7"):
        assert set(kept.filter(pl.col("article_id") == article_id)["canonical_id"]) == {"w-full"}
    q_rows = _rows(r3, "q-o6").filter(pl.col("status") != "dropped")
    assert set(q_rows["status"]) == {"kept"} and q_rows["canonical_position"].min() == 7


def test_a_canonical_sent_again_with_another_text_realigns_its_versions(tmp_path):
    r1 = _night(tmp_path, 1)
    assert _rows(r1, "a-o1").filter(pl.col("position") == 0)["status"].to_list() == ["kept"]
    edited = [A[0].replace(" ", " very ", 1)] + A[1:]
    r2 = _night(tmp_path, 2, night_records(2) + [article("a-wire", "Wire", edited, f"{NIGHTS[0]}T06:00:00Z")])
    assert r2.summary["history"]["versions_copied"] == 0
    assert _rows(r2, "a-o1").filter((pl.col("position") == 0) & (pl.col("status") != "dropped"))[
        "status"].to_list() == ["edited"]


def _shared_addition_nights(tmp_path):
    """Night 1: a wire and an outlet adding a local sentence; night 2: another outlet adds the same one."""
    local = make_story(4242, 1)
    one = [article("x-wire", "Wire", A, f"{NIGHTS[0]}T06:00:00Z"),
           article("x-o1", "Outlet 1", A[:6] + local + A[6:10], f"{NIGHTS[0]}T09:00:00Z")]
    two = [article("x-o2", "Outlet 2", A[:7] + local + A[7:11], f"{NIGHTS[1]}T09:00:00Z")]
    return one, two


def test_families_and_links_span_copied_and_new_versions_as_if_all_were_aligned(tmp_path):
    one, two = _shared_addition_nights(tmp_path)
    _night(tmp_path, 1, one)
    # The same state as if written by format 1: no stored alignments, so night 2 aligns every version.
    shutil.copytree(tmp_path / "state", tmp_path / "old")
    path = tmp_path / "old" / "_manifests" / "000001.json"
    data = json.loads(path.read_text())
    data["format"] = 1
    del data["tables"]["sentences"]
    path.write_text(json.dumps(data))
    reused = _night(tmp_path, 2, two)
    full = _night(tmp_path, 2, two, state="old")
    assert reused.summary["history"]["versions_copied"] == 1 and full.summary["history"]["versions_copied"] == 0
    added = reused.sentences.filter(pl.col("status") == "added")
    assert sorted(added["article_id"]) == ["x-o1", "x-o2"] and added["family_id"].n_unique() == 1
    assert reused.links.select("first_article_id", "article_id", "n_sentences").rows() == [("x-o1", "x-o2", 1)]
    assert_frame_equal(reused.links, full.links)
    columns = [*ROW_KEY, "family_id", "canonical_position", "text", "word_diff"]
    assert_frame_equal(reused.sentences.select(columns).sort(ROW_KEY), full.sentences.select(columns).sort(ROW_KEY))
    # The format 1 state was read, and the run wrote format 2 with tonight's rows.
    head = Store(tmp_path / "old").manifest()
    assert head.format == 2 and list(head.tables["sentences"]) == [NIGHTS[1]]


def test_sentences_are_dropped_with_the_texts_after_the_retention(tmp_path):
    def stored_nights():
        frame = read_table(tmp_path / "state", "sentences").select(pl.col("night").cast(pl.String)).unique().collect()
        return sorted(frame["night"])

    for n in (1, 2):
        _night(tmp_path, n, window="1d", retention="1d")
    assert stored_nights() == [NIGHTS[0], NIGHTS[1]]
    _night(tmp_path, 3, window="1d", retention="1d")               # night 1 is now past the retention
    assert stored_nights() == [NIGHTS[1]]
