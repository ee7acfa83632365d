"""The report's per-article counts are made in batches of whole stories: the model must not depend on them."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from dedup import run
from dedup.report import entries
from dedup.report.entries import cluster_batches
from dedup.report.model import build_model
from tests.conftest import SAMPLE


def _model(frames: dict, sentences: pl.DataFrame, batch_rows: int, monkeypatch) -> dict:
    monkeypatch.setattr(entries, "BATCH_ROWS", batch_rows)
    return build_model(frames["clusters"], sentences, frames["links"], max_articles=0)


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 7])
def test_model_does_not_depend_on_the_batches(frames, monkeypatch, batch_rows):
    # sorted by cluster as the aligner writes them, so that the batches are really cut
    sentences = frames["sentences"].sort("cluster_id", "article_id", maintain_order=True)
    assert len(cluster_batches(sentences["cluster_id"], batch_rows)) > 1
    assert _model(frames, sentences, batch_rows, monkeypatch) == _model(frames, sentences, 10**9, monkeypatch)


def test_model_of_a_real_run_does_not_depend_on_the_batches(tmp_path, monkeypatch):
    sample_run = run([SAMPLE], tmp_path)
    frames = {"clusters": sample_run.clusters, "links": sample_run.links}
    # a run writes the sentence rows as they are aligned: its result scans the file
    assert isinstance(sample_run.sentences, pl.LazyFrame)
    sentences = sample_run.sentences.collect()
    assert len(cluster_batches(sentences["cluster_id"], 50)) > 3
    whole = _model(frames, sentences, 10**9, monkeypatch)
    assert whole["details"] and any(d is not None for d in whole["details"])
    assert _model(frames, sentences, 50, monkeypatch) == whole
    assert _model(frames, sample_run.sentences, 50, monkeypatch) == whole


def test_batches_cover_every_row_and_never_cut_a_cluster():
    ids = pl.Series(["a"] * 5 + ["b"] + ["c"] * 12 + ["d", "e", "e"])
    for size in range(1, 25):
        bounds = cluster_batches(ids, size)
        assert bounds[0][0] == 0 and bounds[-1][1] == ids.len()
        assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
        assert all(lo < hi for lo, hi in bounds)
        for lo, hi in bounds:
            assert hi == ids.len() or ids[hi - 1] != ids[hi]   # a batch ends where a cluster ends
            assert hi - lo <= size or ids[lo:hi].n_unique() == 1   # only a lone big cluster is longer


@pytest.mark.parametrize("ids", [["b", "a", "b"], ["a", None, "b"]])
def test_rows_not_grouped_by_plain_cluster_ids_are_one_batch(ids):
    # unsorted rows and null ids (ids are not cleaned, so control characters in them do not matter)
    assert cluster_batches(pl.Series(ids, dtype=pl.String), 1) == [(0, len(ids))]
