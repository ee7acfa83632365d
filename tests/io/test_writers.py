"""The output writers: the same rows give the same bytes."""

from __future__ import annotations

import itertools
import json

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from dedup.io.writers import (
    CSV_TIME,
    ROW_GROUP_ROWS,
    ParquetRows,
    _json_default,
    write_table,
)


def test_parquet_bytes_do_not_depend_on_how_the_frame_is_chunked(tmp_path):
    n = 2 * ROW_GROUP_ROWS + 1234
    frame = pl.DataFrame({"id": [f"a{i:07d}" for i in range(n)], "n": list(range(n))})
    # e.g. the sentence rows of one worker against those of two: the same rows, other chunks
    chunked = pl.concat([frame.slice(0, 17), frame.slice(17, ROW_GROUP_ROWS), frame.slice(17 + ROW_GROUP_ROWS, n)],
                        rechunk=False)
    assert chunked.n_chunks() == 3 and frame.n_chunks() == 1
    one = write_table(frame, tmp_path, "one", ["parquet", "csv"])
    three = write_table(chunked, tmp_path, "three", ["parquet", "csv"])
    for a, b in zip(one, three):
        assert a.read_bytes() == b.read_bytes(), a.suffix


def _frame(n: int) -> pl.DataFrame:
    from datetime import UTC, datetime

    from dedup.schema import WORD_DIFF
    return pl.DataFrame({
        "id": [f"a{i:07d}" for i in range(n)],
        "text": [None if i % 7 == 0 else f"line {i}\nnext «{i}» \"q\"" for i in range(n)],
        "at": [datetime(2026, 1, 1 + i % 28, tzinfo=UTC) if i % 5 else None for i in range(n)],
        "x": [i / 3 if i % 4 else None for i in range(n)],
        "diff": pl.Series([None if i % 3 else [{"op": "=", "text": "a b"}, {"op": "+", "text": f"{i}"}]
                           for i in range(n)], dtype=WORD_DIFF),
    })


def test_parts_give_the_bytes_of_the_whole_frame(tmp_path):
    """ParquetRows fed part by part (as the aligner's chunks arrive) writes the bytes of the whole frame."""
    frame = _frame(ROW_GROUP_ROWS + 5000)
    whole = write_table(frame, tmp_path, "whole", ["parquet"])[0]
    cuts = [0, 1, 999, 999, ROW_GROUP_ROWS - 3, ROW_GROUP_ROWS + 4000, frame.height]
    with ParquetRows(tmp_path / "parts.parquet", frame.schema) as rows:
        for lo, hi in itertools.pairwise(cuts):
            rows.write(frame.slice(lo, hi - lo).to_arrow() if lo % 2 else frame.slice(lo, hi - lo))
    assert rows.rows == frame.height
    assert (tmp_path / "parts.parquet").read_bytes() == whole.read_bytes()
    assert pq.ParquetFile(whole).metadata.num_row_groups == 2
    assert_frame_equal(pl.read_parquet(whole), frame)
    assert not list(tmp_path.glob("*.partial"))


def test_a_frame_of_many_row_groups_is_written_a_few_groups_at_a_time_with_the_same_bytes(tmp_path, monkeypatch):
    """write_table hands ParquetRows a few row groups at a time (the state night's 1.5 M sentence rows
    are not all converted to Arrow at once): the bytes are those of the whole frame in one part."""
    from dedup.io import writers
    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 10)
    frame = _frame(97)
    sliced = write_table(frame, tmp_path, "sliced", ["parquet"])[0]
    with ParquetRows(tmp_path / "whole.parquet", frame.schema) as rows:
        rows.write(frame)
    assert sliced.read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert pq.ParquetFile(sliced).metadata.num_row_groups == 10
    assert_frame_equal(pl.read_parquet(sliced), frame)


def test_csv_and_json_are_those_of_the_whole_frame(tmp_path):
    """The copies made batch by batch from the Parquet file equal polars' CSV and json.dumps of every row."""
    frame = _frame(ROW_GROUP_ROWS + 10)
    _, csv, js = write_table(frame, tmp_path, "t", ["csv", "json"])
    flat = frame.with_columns(pl.col("diff").map_elements(
        lambda v: json.dumps(v.to_list(), ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        return_dtype=pl.String))
    assert csv.read_bytes() == flat.write_csv(datetime_format=CSV_TIME).encode()
    expected = json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1, default=_json_default) + "\n"
    assert js.read_text(encoding="utf-8") == expected
    assert json.loads(js.read_text(encoding="utf-8"))[3]["text"] == "line 3\nnext «3» \"q\""


def test_empty_table(tmp_path):
    frame = _frame(0)
    parquet, csv, js = write_table(frame, tmp_path, "e", ["csv", "json"])
    assert pl.read_parquet(parquet).schema == frame.schema
    assert js.read_text() == "[]\n"
    assert csv.read_text().startswith("id,text,at,x,diff")


def test_a_failed_write_leaves_no_file(tmp_path):
    frame = _frame(10)
    with pytest.raises(RuntimeError), ParquetRows(tmp_path / "t.parquet", frame.schema) as rows:
        rows.write(frame)
        raise RuntimeError("the night went wrong")
    assert list(tmp_path.iterdir()) == []


def test_page_bounds_do_not_depend_on_the_parts(tmp_path):
    """Columns larger than a Parquet page (1 MB): the parts' Arrow chunks must not cut the pages."""
    n = ROW_GROUP_ROWS + 40_000
    frame = pl.DataFrame({"text": [f"sentence {i} of a long story about the harbour and its ferries" for i in range(n)],
                          "n": range(n)})
    whole = write_table(frame, tmp_path, "whole", ["parquet"])[0]
    cuts = [0, 777, 5_000, 60_001, 60_002, ROW_GROUP_ROWS + 1, n]
    with ParquetRows(tmp_path / "parts.parquet", frame.schema) as rows:
        for lo, hi in itertools.pairwise(cuts):
            rows.write(frame.slice(lo, hi - lo))
    assert (tmp_path / "parts.parquet").read_bytes() == whole.read_bytes()


def test_csv_and_json_copies_write_times_alike_to_the_microsecond(tmp_path):
    """As the Spark engine writes them: 10:00:00.500000Z in both (not .500Z in the CSV), whole seconds too."""
    from datetime import UTC, datetime

    from dedup.schema import UTC_TIME
    frame = pl.DataFrame({"id": ["half", "whole", "none"],
                          "published": [datetime(2026, 11, 27, 10, 0, 0, 500_000, tzinfo=UTC),
                                        datetime(2026, 11, 27, 10, 0, tzinfo=UTC), None]},
                         schema={"id": pl.String, "published": UTC_TIME})
    write_table(frame, tmp_path, "clusters", ["csv", "json"])
    expected = ["2026-11-27T10:00:00.500000Z", "2026-11-27T10:00:00.000000Z", None]
    assert pl.read_csv(tmp_path / "clusters.csv", infer_schema=False)["published"].to_list() == expected
    assert [row["published"] for row in json.loads((tmp_path / "clusters.json").read_text())] == expected


def test_remove_outputs_removes_dedups_own_names_only(tmp_path):
    """A local run's files, a Spark run's table folders, a cut-short write's .partial; nothing else."""
    from dedup.io.writers import remove_outputs

    for name in ("clusters.parquet", "summary.json", "timings.json", "report.html", "rejected.jsonl",
                 "sentences.parquet.partial", "notes.txt", "clusters.parquet.bak"):
        (tmp_path / name).write_text("x")
    for folder in ("links.parquet", "clusters.csv", "mine"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "part-00000.csv").write_text("x")
    remove_outputs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.parquet.bak", "mine", "notes.txt"]
    (tmp_path / "summary.json").mkdir()   # not a folder dedup writes: left, and an error
    with pytest.raises(OSError):
        remove_outputs(tmp_path)
    assert (tmp_path / "summary.json").is_dir()
    (tmp_path / "summary.json").rmdir()
    (tmp_path / "links.csv").mkdir()      # a table's name, but not only a table's part files: left, an error
    (tmp_path / "links.csv" / "my-notes.txt").write_text("mine")
    with pytest.raises(OSError):
        remove_outputs(tmp_path)
    assert (tmp_path / "links.csv" / "my-notes.txt").read_text() == "mine"
