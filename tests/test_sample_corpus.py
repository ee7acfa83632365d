"""The shipped sample corpus clusters exactly as its hand-made ground truth says."""

import json

import polars as pl
import pytest

from dedup import run
from tests.conftest import REPO, SAMPLE

EXPECTED = json.loads((REPO / "examples" / "sample-expected.json").read_text())


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    return run([SAMPLE], tmp_path_factory.mktemp("out"))


def test_stories_match_ground_truth(sample_run):
    clusters = sample_run.clusters    # page files have content ids: they are named by their file
    key = {}
    for row in clusters.iter_rows(named=True):
        rel = row["source_file"].split("sample-corpus/", 1)[1]
        key[row["article_id"]] = row["article_id"] if not rel.startswith("pages/") else rel
    want = {frozenset(ids + EXPECTED["files"].get(story, [])) for story, ids in EXPECTED["stories"].items()}
    want |= {frozenset([s]) for s in EXPECTED["singletons"]}
    got: dict[str, set] = {}
    for row in clusters.iter_rows(named=True):
        got.setdefault(row["cluster_id"], set()).add(key[row["article_id"]])
    assert {frozenset(g) for g in got.values()} == want


def test_canonical_versions(sample_run):
    canon = sample_run.clusters.filter(pl.col("is_canonical") & (pl.col("cluster_size") > 1))
    assert set(canon["article_id"]) == set(EXPECTED["canonical"].values())


def test_rejects_match_ground_truth(sample_run):
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in sample_run.rejects.to_dicts()}
    want = {(r["file"], r["line"], r["reason"]) for r in EXPECTED["rejected"]}
    assert got == want
    s = sample_run.summary["articles"]
    assert s["read"] == s["clustered"] + s["rejected"]


def test_sentence_statuses_match_ground_truth(sample_run):
    # sentence_ops counts sentences as a person would, with bylines and footers apart ("boilerplate");
    # dedup writes a row for each of those lines too (added: the wire has none of them), and a
    # wire's dateline ("LISBON (Meridian Press) -", "杭州（北风通讯社）-") is a row of its own, kept by
    # versions that keep it.
    sentences = sample_run.sentences.collect() if hasattr(sample_run.sentences, "collect") else sample_run.sentences
    path = {r["article_id"]: r["source_file"].split("sample-corpus/", 1)[1]
            for r in sample_run.articles.select("article_id", "source_file").iter_rows(named=True)}
    counts = sentences.group_by("article_id", "status").len()
    got: dict[str, dict[str, int]] = {}
    for article_id, status, n in counts.iter_rows():
        key = path[article_id] if path[article_id].startswith("pages/") else article_id
        got.setdefault(key, {})[status] = n
    # (a dateline row ends with its bracketed source and a dash: "LISBON (Meridian Press) -", "عمّان (…) -")
    datelines = set(sentences.filter(pl.col("text").str.contains(r"[)）]\s*[-\u2014]$"))["article_id"])
    assert len(EXPECTED["sentence_ops"]) == 20
    for key, ops in EXPECTED["sentence_ops"].items():
        article_id = next(a for a, p in path.items() if key in (a, p))
        wire = sample_run.clusters.filter(pl.col("article_id") == article_id)["canonical_id"].item()
        want = {"kept": ops["kept"] + (article_id in datelines), "edited": ops["edited"],
                "added": ops["added"] + ops["boilerplate"], "dropped": ops["dropped"]}
        assert {s: got[key].get(s, 0) for s in want} == want, (key, wire)


def test_links_are_the_copied_paragraph_only(sample_run):
    # the one outlet-to-outlet copy the corpus was written with; no byline, footer or own update
    links = sample_run.links.group_by("first_article_id", "article_id").agg(pl.col("n_sentences").sum())
    want = {(p["source"], p["copied_by"], len(p["sentences"])) for p in EXPECTED["provenance"]}
    assert set(links.iter_rows()) == want
