"""A story too long to align (``max_sentences``) is an alignment failure, refused before any allocation,
and every other story is aligned as if it were not there; long stories are aligned a few versions at a time."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import dedup.align as align_pkg
from dedup import Config
from dedup.align import (
    AlignConfig,
    AlignmentError,
    align_cluster,
    align_clusters,
    core,
    parallel,
)
from dedup.errors import ConfigError
from tests.align.test_align import OTHER, STORY, STORY_SENTENCES, articles_and_clusters

N = len(STORY_SENTENCES)   # 9 sentences; OTHER has 3


def night():
    """c1: a canonical of N sentences and a copy; c2 and c3: short stories."""
    return articles_and_clusters({
        "c1": [("wire", "R", STORY, 0), ("d", "D", STORY[:2], 1)],
        "c2": [("x1", "X", OTHER, 0), ("x2", "Y", OTHER[:2], 3)],
        "c3": [("y1", "X", OTHER, 0), ("y2", "Y", OTHER[1:], 3)],
    })


def spy_vectors(monkeypatch) -> list[str]:
    """Record the article ids of every story whose vectors are made (the first allocation that grows with
    a story's sentence counts: its cosines with the canonical's sentences)."""
    seen: list[str] = []
    real = align_pkg.chunk_vectors

    def spy(clusters, idf):
        seen.extend(a.article_id for arts in clusters for a in arts)
        return real(clusters, idf)

    monkeypatch.setattr(align_pkg, "chunk_vectors", spy)
    monkeypatch.setattr(core, "chunk_vectors", spy)
    return seen


@pytest.mark.parametrize("workers", [1, 2])
def test_a_story_over_max_sentences_is_a_failure_and_the_others_are_aligned(monkeypatch, workers):
    articles, clusters = night()
    others = clusters.filter(pl.col("cluster_id") != "c1")
    expected = align_clusters(articles, others, config=AlignConfig(workers=1))
    if workers == 2:
        monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)      # forked workers even for this small night
    seen = spy_vectors(monkeypatch)
    result = align_clusters(articles, clusters, config=AlignConfig(max_sentences=N - 1, workers=workers))
    message = (f"cluster c1: the canonical article wire has {N} sentences, more than align.max_sentences ({N - 1}); "
               "the story is not aligned")
    assert result.failures.rows() == [("c1", "too_many_sentences", message)]
    if workers == 1:                      # (a forked worker's calls are not seen here)
        assert "wire" not in seen and "d" not in seen and {"x1", "y1"} <= set(seen)
    assert_frame_equal(result.sentences, expected.sentences)
    assert_frame_equal(result.links, expected.links)


def test_a_version_over_max_sentences_fails_its_story_and_is_named(monkeypatch):
    articles, clusters = articles_and_clusters({
        "c1": [("wire", "R", OTHER, 0), ("d", "D", OTHER + STORY, 1)],
        "c2": [("x1", "X", OTHER, 0), ("x2", "Y", OTHER[:2], 3)],
    })
    seen = spy_vectors(monkeypatch)
    result = align_clusters(articles, clusters, config=AlignConfig(max_sentences=N))
    assert result.failures.select("cluster_id", "reason").rows() == [("c1", "too_many_sentences")]
    assert "article d has 11 sentences" in result.failures["message"][0]
    assert "wire" not in seen and set(result.sentences["cluster_id"]) == {"c2"}


def test_a_story_at_max_sentences_is_aligned():
    articles, clusters = night()
    result = align_clusters(articles, clusters, config=AlignConfig(max_sentences=N))
    assert result.failures.is_empty()
    assert_frame_equal(result.sentences, align_clusters(articles, clusters).sentences)


def test_align_cluster_refuses_before_making_vectors(monkeypatch):
    articles, clusters = night()
    frame = (clusters.filter(pl.col("cluster_id") == "c1").select(core.CLUSTER_COLUMNS[:-1])
             .join(articles.select("article_id", "text"), on="article_id"))

    def never(*_):
        raise AssertionError("vectors made for a story over max_sentences")

    monkeypatch.setattr(core, "chunk_vectors", never)
    with pytest.raises(AlignmentError) as err:
        align_cluster(frame, idf=align_pkg.fit_idf(articles, clusters), config=AlignConfig(max_sentences=3))
    assert err.value.reason == "too_many_sentences" and "wire has 9 sentences" in str(err.value)


def test_max_sentences_is_validated_and_not_in_the_fingerprint():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="max_sentences"):
            AlignConfig(max_sentences=bad)
    lower = Config().replace(align={"max_sentences": 10})
    assert lower.fingerprint() == Config().fingerprint()
    assert lower.fingerprint(("align",)) == Config().fingerprint(("align",))


def test_version_groups_stay_within_the_cell_budget(monkeypatch):
    monkeypatch.setattr(core, "ALIGN_CELLS", 100)
    lengths = [3, 4, 2, 9, 1, 1, 0, 30, 2]
    groups = core._version_groups(lengths, 10)
    assert [k for g in groups for k in g] == list(range(len(lengths)))      # every version once, in order
    for g in groups:
        assert len(g) == 1 or len(g) * max(lengths[k] for k in g) * 10 <= 100
    assert core._version_groups([], 10) == []


def test_versions_aligned_a_few_at_a_time_give_the_same_rows(monkeypatch):
    versions = [(f"v{k}", f"O{k}", [s for j, s in enumerate(STORY) if (j + k) % 4], k + 1) for k in range(7)]
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), *versions]})
    whole = align_clusters(articles, clusters)
    calls = []
    real = core.align_versions
    monkeypatch.setattr(core, "align_versions", lambda sims, *a, **kw: calls.append(len(sims)) or real(sims, *a, **kw))
    monkeypatch.setattr(core, "ALIGN_CELLS", 2 * N * N)                      # two versions a call
    parts = align_clusters(articles, clusters)
    assert calls == [2, 2, 2, 1]
    assert_frame_equal(parts.sentences, whole.sentences)
    assert_frame_equal(parts.links, whole.links)
