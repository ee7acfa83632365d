"""Where inputs and output tables are: URIs versus paths, one file versus a folder of part files,
and the one per-file reading function both engines call."""

from pathlib import Path

import polars as pl
import pytest

from dedup.config import ReadConfig
from dedup.errors import InputError, RejectedRecord
from dedup.io import _Collector, file_path, is_uri, local_path, read_inputs, read_source, table_files
from dedup.io.streams import Limits, Source
from tests.conftest import write_jsonl

RECORD = {"id": "a1", "outlet": "Wire", "title": "T", "text": "Some text for one article.",
          "published": "2026-11-27T06:00:00Z"}


@pytest.mark.parametrize("item, uri", [
    ("hdfs://nn:8020/news/2026-11-27", True), ("s3a://bucket/x", True), ("gs://b/x", True),
    ("file:///tmp/x", True), ("file:/tmp/x", True), ("abfss://c@acct.dfs.core.windows.net/x", True),
    ("corpus/", False), ("/tmp/x.jsonl", False), ("C:\\corpus", False), ("C:/corpus", False),
    ("notes:1.jsonl", False), (Path("hdfs:/nn/x"), True),
])
def test_is_uri(item, uri):
    assert is_uri(item) is uri


def test_file_uris_are_local_paths_and_other_uris_need_spark(tmp_path):
    folder = tmp_path / "my corpus"
    write_jsonl(folder / "a.jsonl", [RECORD])
    assert local_path(folder.as_uri()) == folder                   # percent-encoding undone
    assert local_path("file://localhost" + str(folder)) == folder
    assert local_path("corpus/") == "corpus/" and local_path(folder) == folder
    assert read_inputs([folder.as_uri()]).articles["article_id"].to_list() == ["a1"]
    for uri in ("hdfs://nn/news", "s3a://bucket/news/", "file://otherhost/x"):
        with pytest.raises(InputError, match=r"is a \w+:// URI; the local engine reads local files and folders "
                                             r"only: run with --engine spark") as error:
            read_inputs([uri])
        assert uri in str(error.value) and "\n" not in str(error.value)


def test_file_path_is_where_an_input_lies_on_the_local_file_system():
    """Paths and ``file://`` URIs (percent escapes decoded, as the local engine reads them); None for a URI of
    another file system, which is no local folder to compare --out with."""
    assert file_path("corpus/") == Path("corpus") and file_path(Path("/tmp/x")) == Path("/tmp/x")
    assert file_path("file:///tmp/e%20f.jsonl") == file_path("file:/tmp/e%20f.jsonl") == Path("/tmp/e f.jsonl")
    assert file_path("file://localhost/tmp/x") == Path("/tmp/x")
    for uri in ("hdfs://nn/news", "s3a://bucket/x", "file://otherhost/x"):
        assert file_path(uri) is None


def test_table_files_reads_a_file_or_a_folders_parts_in_name_order(tmp_path):
    single = tmp_path / "clusters.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(single)
    assert table_files(single) == [single]
    folder = tmp_path / "sentences.parquet"
    folder.mkdir()
    names = ["part-00002-u-c000.zstd.parquet", "part-00000-u-c000.zstd.parquet", "part-00001-u-c000.zstd.parquet"]
    for name in names:
        (folder / name).write_bytes(b"")
        (folder / f".{name}.crc").write_bytes(b"")
    for side in ("_SUCCESS", "._SUCCESS.crc", "_committed_123", ".hidden.parquet", "notes.txt"):
        (folder / side).write_bytes(b"")
    (folder / "sub.parquet").mkdir()
    assert [p.name for p in table_files(folder)] == sorted(names)
    assert table_files(tmp_path / "missing.parquet") == []


def test_read_source_turns_an_unusable_file_into_one_reject(tmp_path):
    good = write_jsonl(tmp_path / "a.jsonl", [RECORD, "{broken"])
    bad = tmp_path / "b.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 truncated")
    collector = _Collector(ReadConfig())
    for path in (good, bad, tmp_path / "gone.jsonl"):
        read_source(Source(path, Limits.from_config(ReadConfig())), collector)
    assert collector.frame()["article_id"].to_list() == ["a1"]
    assert collector.records == 4
    rejects = collector.rejects_frame().to_dicts()
    assert [(Path(r["file"]).name, r["record"]) for r in rejects] == \
        [("a.jsonl", 2), ("b.jsonl.gz", None), ("gone.jsonl", None)]
    assert rejects[-1]["reason"] == "unreadable_file"
    strict = _Collector(ReadConfig(strict=True))
    with pytest.raises(RejectedRecord):
        read_source(Source(good, Limits.from_config(ReadConfig())), strict)


def test_one_file_under_two_names_is_read_once(tmp_path):
    # a folder and a path into it, and a symbolic link beside it: every record would otherwise be read twice,
    # each second copy a duplicate_id reject, and "read" counted twice
    folder = tmp_path / "in"
    write_jsonl(folder / "a.jsonl", [{"id": "a1", "text": "The harbour bridge reopened on Friday after repairs."}])
    (folder / "link.jsonl").symlink_to(folder / "a.jsonl")
    res = read_inputs([folder, (folder / "a.jsonl").resolve(), folder / ".." / "in" / "a.jsonl"])
    assert res.files == 1 and res.records == 1 and res.rejects.height == 0
    assert res.articles["article_id"].to_list() == ["a1"]
    assert len(res.skipped_files) == 2 and all("(the same file as " in entry for entry in res.skipped_files)
