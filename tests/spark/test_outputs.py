"""The Spark engine's table folders: the same files under the same names on a rerun, parts in row order,
write failures one line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dedup import Config
from dedup.io import table_files
from dedup.io.writers import ParquetRows
from dedup.spark import read_table, run_spark
from dedup.spark.tables import TABLES
from tests.conftest import SAMPLE


def files_of(out: Path) -> dict[str, bytes]:
    """Every file below ``out`` by its path in ``out``, but ``timings.json`` (wall times)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "timings.json"}


def test_a_rerun_writes_the_same_files_under_the_same_names(spark, tmp_path):
    """Same input, same parameters: every file of the out folder (Parquet, CSV and JSON parts) has the same
    name and bytes. Each Parquet part is what the local engine's writer makes of its rows, so its bytes do not
    depend on the JVM either (parquet-java's footers did: the order of a column chunk's encodings)."""
    config = Config().replace(output={"formats": ("parquet", "csv", "json")})
    run_spark([SAMPLE], tmp_path / "first", spark=spark, config=config)
    run_spark([SAMPLE], tmp_path / "rerun", spark=spark, config=config)
    first, rerun = files_of(tmp_path / "first"), files_of(tmp_path / "rerun")
    assert list(rerun) == list(first)
    assert [name for name in first if rerun[name] != first[name]] == []
    for name, schema in TABLES.items():
        for fmt in ("parquet", "csv", "json"):
            assert [p.name for p in (tmp_path / "first" / f"{name}.{fmt}").iterdir()], (name, fmt)
        for part in table_files(tmp_path / "first" / f"{name}.parquet"):
            rows = pl.read_parquet(part)
            assert rows.schema == schema   # the local column types (uint32), not Spark's int64
            with ParquetRows(tmp_path / "again.parquet", schema) as again:
                again.write(rows)
            assert (tmp_path / "again.parquet").read_bytes() == part.read_bytes(), part


def test_parts_are_numbered_by_partition_in_row_order(spark, tmp_path):
    """A range-partitioned, sorted frame: a part per partition, named so that name order is row order."""
    from dedup.spark.outputs import write_parquet_parts

    frame = (spark.range(0, 5000).selectExpr("id AS x", "CAST(id % 7 AS STRING) AS s")
             .repartitionByRange(4, "x").sortWithinPartitions("x"))
    folder = tmp_path / "t.parquet"
    folder.mkdir()
    write_parquet_parts(frame, folder, pl.Schema({"x": pl.UInt32, "s": pl.String}))
    assert sorted(p.name for p in folder.iterdir()) == [f"part-0000{k}.parquet" for k in range(4)]
    rows = pl.concat(pl.read_parquet(p) for p in table_files(folder))
    assert rows["x"].dtype == pl.UInt32 and rows["x"].to_list() == list(range(5000))


def test_a_table_without_rows_is_one_empty_part_with_its_schema(spark, tmp_path):
    from dedup.spark.outputs import write_parquet_parts

    folder = tmp_path / "t.parquet"
    folder.mkdir()
    write_parquet_parts(spark.range(0).selectExpr("id AS x"), folder, pl.Schema({"x": pl.UInt32}))
    assert [p.name for p in folder.iterdir()] == ["part-00000.parquet"]
    assert pl.read_parquet(folder / "part-00000.parquet").schema == pl.Schema({"x": pl.UInt32})


def test_a_part_the_executor_cannot_write_is_an_output_error(spark, tmp_path):
    """An executor's failed write (here its part's temporary name is taken by a folder; a full disk, no
    permission) is an OutputError (exit 8) with the file and the reason, not a task's traceback; the
    partitions that could be written are."""
    from dedup.errors import OutputError
    from dedup.spark.outputs import write_parquet_parts

    frame = spark.range(0, 100).selectExpr("id AS x").repartitionByRange(2, "x").sortWithinPartitions("x")
    folder = tmp_path / "t.parquet"
    (folder / ".part-00000.attempt-0.parquet.partial").mkdir(parents=True)
    with pytest.raises(OutputError, match=r"cannot write .*part-00000.* is a directory") as caught:
        write_parquet_parts(frame, folder, pl.Schema({"x": pl.UInt32}))
    assert caught.value.exit_code == 8 and "\n" not in str(caught.value)
    assert f"cannot write {folder / 'part-00000.parquet'}: " in str(caught.value)   # not the attempt's hidden name
    assert (folder / "part-00001.parquet").is_file() and not (folder / "part-00000.parquet").exists()


def test_a_rerun_replaces_the_earlier_runs_table_folders(spark, tmp_path):
    """An earlier run's parts (another count, Spark's old random names) and hidden files do not stay."""
    out = tmp_path / "out"
    for table in ("clusters.parquet", "clusters.csv"):
        (out / table).mkdir(parents=True)
        (out / table / "part-00007-0c5e1f6a-5a4b-4f0e-9a4e-1d2c3b4a5f60-c000.zstd.parquet").write_text("old")
        (out / table / ".part-00003.attempt-0.parquet.partial").write_text("old")
    run_spark([SAMPLE / "wires.jsonl"], out, spark=spark, config=Config().replace(output={"formats": ("csv",)}))
    assert [p.name for p in (out / "clusters.parquet").iterdir()] == ["part-00000.parquet"]
    assert [p.name for p in (out / "clusters.csv").iterdir()] == ["part-00000-c000.csv"]
    assert read_table(out, "clusters").height > 0
