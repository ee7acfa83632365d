"""Archives on the Spark engine: each is read by one task, its members expanded there by the local engine's
code (dedup.io.read_source), so the rows, names (ARCHIVE!/path), skipped members and rejects are the local
engine's, as a path and as a file:// URI; --strict stops at the same reject."""

from __future__ import annotations

import tarfile

import polars as pl
import pytest

from dedup import Config
from dedup.errors import RejectedRecord
from dedup.pipeline import run
from dedup.spark import run_spark
from tests.io.test_archives import _entry, _jsonl, _night, _story, _tar, _zip
from tests.spark.test_engine import assert_same_outputs
from tests.spark.test_read import _assert_same_but_for_file_uris

STRICT = Config().replace(read={"strict": True})


def test_archives_read_on_spark_as_locally(spark, tmp_path):
    _night(tmp_path / "in", reverse=True)
    _tar(tmp_path / "in" / "odd.tar", [("a.jsonl", _jsonl(_story(1))), ("notes.docx", b"x"),
                                       ("link.jsonl", _entry(tarfile.SYMTYPE, "a.jsonl")),
                                       ("inner.zip", _zip(tmp_path / "inner.zip", [("b.jsonl", b"{}")]).read_bytes()),
                                       ("a.jsonl", _jsonl(_story(2)))])   # a second copy of a name: read too
    folder = tmp_path / "in"
    run([folder], tmp_path / "local")
    summary = run_spark([folder], tmp_path / "spark", spark=spark)
    assert_same_outputs(tmp_path / "local", tmp_path / "spark")
    link = f"{folder}/odd.tar!/link.jsonl (a link to a.jsonl in the archive, not followed)"
    assert summary["inputs"]["skipped_files"] == [link, f"{folder}/odd.tar!/notes.docx"]
    assert summary["articles"]["rejected_by_reason"]["unsupported_format"] == 1
    sources = pl.read_parquet(tmp_path / "spark" / "clusters.parquet")["source_file"]
    assert f"{folder}/odd.tar!/a.jsonl (occurrence 2)" in sources

    uri = folder.resolve().as_uri()   # fetched by Spark's binaryFile: named by the URI, read from a spill file
    run([uri], tmp_path / "local-uri")
    run_spark([uri], tmp_path / "spark-uri", spark=spark)
    _assert_same_but_for_file_uris(tmp_path / "local-uri", tmp_path / "spark-uri", folder)


def test_strict_stops_at_the_first_member_reject_by_name_on_both_engines(spark, tmp_path):
    _night(tmp_path / "in", reverse=True)
    _tar(tmp_path / "in" / "a-first.tar", [("ok.jsonl", _jsonl(_story(3)))])   # read before, without a reject
    (tmp_path / "in" / "z-last.jsonl").write_bytes(b"{broken\n")   # read after, its reject met later
    for archive in ("night.tar.gz", "night.zip"):
        given = [tmp_path / "in" / "a-first.tar", tmp_path / "in" / archive, tmp_path / "in" / "z-last.jsonl"]
        with pytest.raises(RejectedRecord) as local:
            run(given, tmp_path / f"local-{archive}", config=STRICT)
        with pytest.raises(RejectedRecord) as spark_error:
            run_spark(given, tmp_path / f"spark-{archive}", spark=spark, config=STRICT)
        assert str(spark_error.value) == str(local.value)
        assert str(local.value).startswith(f"{tmp_path}/in/{archive}!/aa/bad.csv:"), str(local.value)
