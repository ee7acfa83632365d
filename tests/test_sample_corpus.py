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
    clusters = sample_run.clusters.join(sample_run.articles.select("article_id", "source_file"), on="article_id")
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
