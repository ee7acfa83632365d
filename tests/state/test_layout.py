"""How a night's stored articles are laid out on disk, and which of them a later night reads."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq

from dedup import run
from dedup.state import read_table, store
from dedup.state.store import Store
from tests.conftest import article, make_story, write_jsonl
from tests.state.corpus import NIGHTS, output_files, write_night

X = make_story(31, 12)


def _files(state, table):
    """Paths of the table's current files, by night."""
    return {night: state / rel for night, rel in Store(state).manifest().tables[table].items()}


def test_stored_articles_are_cut_into_small_row_groups_and_outputs_do_not_depend_on_them(tmp_path, monkeypatch):
    for name, rows in (("default", None), ("tiny", 3)):
        if rows:
            monkeypatch.setitem(store.TABLE_ROW_GROUP_ROWS, "articles", rows)
        for n in (1, 2, 3):   # the same input files (clusters.parquet names them)
            run([write_night(tmp_path, n)], tmp_path / name / f"out{n}",
                state_dir=tmp_path / name / "state", night=NIGHTS[n - 1])
    tiny = _files(tmp_path / "tiny" / "state", "articles")
    for night, path in tiny.items():
        meta = pq.ParquetFile(path).metadata
        assert meta.num_row_groups == -(-meta.num_rows // 3) and meta.num_rows > 3, night
    # the default group holds a whole night of this size
    assert all(pq.ParquetFile(p).metadata.num_row_groups == 1 for p in _files(tmp_path / "default" / "state",
                                                                               "articles").values())
    for n in (1, 2, 3):
        assert output_files(tmp_path / "default" / f"out{n}") == output_files(tmp_path / "tiny" / f"out{n}")
    assert read_table(tmp_path / "tiny" / "state", "articles").collect().equals(
        read_table(tmp_path / "default" / "state", "articles").collect())


def test_a_night_reads_texts_only_from_the_nights_holding_an_article_it_loads(tmp_path, monkeypatch):
    """Night 1 carries story X, night 2 only unrelated articles, night 3 a late copy of X: night 3 loads
    X's night-1 articles, and reads no text of night 2 (its band keys only)."""
    days = ("2026-11-25", "2026-11-26", "2026-11-27")
    nights = {
        1: [article("x-wire", "Wire", X, f"{days[0]}T06:00:00Z"),
            article("x-o1", "Outlet 1", X[:9], f"{days[0]}T08:00:00Z"),
            article("u-1", "Local", make_story(501, 10), f"{days[0]}T09:00:00Z")],
        2: [article("u-2", "Local", make_story(502, 10), f"{days[1]}T09:00:00Z"),
            article("v-2", "Local", make_story(503, 10), f"{days[1]}T10:00:00Z")],
        3: [article("x-late", "Outlet 2", X[:10], f"{days[2]}T07:00:00Z"),
            article("u-3", "Local", make_story(504, 10), f"{days[2]}T09:00:00Z")],
    }
    for n in (1, 2):
        run([write_jsonl(tmp_path / "in" / days[n - 1] / "a.jsonl", nights[n]).parent], tmp_path / f"out{n}",
            state_dir=tmp_path / "state", night=days[n - 1])

    reads: list[list[str]] = []   # the nights of each articles scan limited to some nights
    scan = Store.scan

    def recording(self, manifest, table, nights=None):
        if table == "articles" and manifest is not None and nights is not None:
            reads.append(sorted(n for n in manifest.tables["articles"] if nights(n)))
        return scan(self, manifest, table, nights)

    monkeypatch.setattr(Store, "scan", recording)
    late = run([write_jsonl(tmp_path / "in" / days[2] / "a.jsonl", nights[3]).parent], tmp_path / "out3",
               state_dir=tmp_path / "state", night=days[2])
    story = late.clusters.filter(pl.col("cluster_id") == late.clusters.filter(
        pl.col("article_id") == "x-late")["cluster_id"].item())
    assert sorted(story["article_id"]) == ["x-late", "x-o1", "x-wire"]
    history = late.summary["history"]
    assert (history["prior_in_window"], history["prior_loaded"]) == (5, 2)
    # the window's band keys: both nights; the shingles of Local's stored articles, counted for its
    # boilerplate (it has few texts tonight); the loaded articles' texts and shingles: night 1 only
    assert reads == [list(days[:2]), list(days[:2]), [days[0]]]
