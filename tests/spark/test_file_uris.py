"""``file://`` inputs on the Spark engine: what Hadoop's local file system does unlike the local engine.

Hadoop's ``file:`` file system checks a hidden ``.NAME.crc`` beside each file it opens (and builds its
name from the file's, which fails on a ``:``), follows symbolic links to folders, lists a named pipe as a
file and leaves out a broken link; the local engine does none of that. Both engines are run on the same
folder, given as a URI, and their outputs compared with ``file:`` taken out of Spark's names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dedup import Config
from dedup.errors import RejectedRecord
from dedup.pipeline import run
from dedup.spark import run_spark
from tests.spark.corpora import _row, write_jsonl
from tests.spark.test_read import _assert_same_but_for_file_uris, _text


@pytest.mark.parametrize("case", ["colon", "stale crc"])
def test_a_colon_in_a_name_or_a_stale_crc_file_is_read_as_locally(spark, tmp_path, case):
    """A time-stamped name (`feed-…T10:00.jsonl`), or a file edited after Hadoop wrote its hidden `.crc`:
    read, as locally, not a failure of the whole run."""
    folder = tmp_path / "in"
    story = _text(11, 9)
    write_jsonl([_row("c1", "W", story, 0)], folder / ("feed-2026-11-27T10:00.jsonl" if case == "colon" else "a.jsonl"))
    write_jsonl([_row("k1", "X", story + " One more line of it here.", 5)], folder / "export.jsonl")
    if case == "stale crc":
        (folder / ".export.jsonl.crc").write_bytes(b"crc\x00\x00\x02\x00stale")   # not this file's checksums
    uri = folder.resolve().as_uri()
    run([uri], tmp_path / "local")
    run_spark([uri], tmp_path / "spark", spark=spark)
    summary = _assert_same_but_for_file_uris(tmp_path / "local", tmp_path / "spark", folder)
    assert summary["articles"]["clustered"] == 2 and summary["articles"]["rejected"] == 0


def test_a_callers_own_file_system_is_kept_and_a_file_it_cannot_read_is_a_reject(spark, tmp_path):
    """The checksums are left out only when the caller's Hadoop configuration names no `fs.file.impl`; a file
    that Spark's reader then fails on is its unreadable_file reject, and the run goes on."""
    folder = tmp_path / "in"
    write_jsonl([_row("a1", "W", _text(12), 0)], folder / "a.jsonl")
    write_jsonl([_row("k1", "X", _text(16), 5)], folder / "export.jsonl")
    (folder / ".export.jsonl.crc").write_bytes(b"crc\x00\x00\x02\x00stale")
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.set("fs.file.impl", "org.apache.hadoop.fs.LocalFileSystem")   # the checksummed one, named
    try:
        summary = run_spark([folder.resolve().as_uri()], tmp_path / "spark", spark=spark)
    finally:
        conf.unset("fs.file.impl")
    assert summary["articles"]["clustered"] == 1 and summary["articles"]["rejected_by_reason"] == {
        "unreadable_file": 1}
    [rejected] = [json.loads(line) for line in (tmp_path / "spark" / "rejected.jsonl").read_text().splitlines()]
    assert (rejected["file"], rejected["reason"]) == (f"file:{folder.resolve()}/export.jsonl", "unreadable_file")


def _night(tmp_path: Path) -> Path:
    """A folder of two articles, given as a URI below."""
    folder = tmp_path / "night"
    story = _text(13, 9)
    write_jsonl([_row("a1", "W", story, 0), _row("a2", "X", story + " And a last line here.", 5)],
                folder / "a.jsonl")
    return folder


def _both_engines(spark, folder: Path, tmp_path: Path) -> dict:
    uri = folder.resolve().as_uri()
    run([uri], tmp_path / "local")
    run_spark([uri], tmp_path / "spark", spark=spark)
    return _assert_same_but_for_file_uris(tmp_path / "local", tmp_path / "spark", folder)


def test_links_to_folders_in_a_file_uri_folder_are_not_followed_as_locally(spark, tmp_path):
    """A link to another folder, and one to the folder itself: not followed, listed in skipped_files."""
    folder = _night(tmp_path)
    write_jsonl([_row("old1", "Y", _text(14), 9)], tmp_path / "archive" / "old.jsonl")
    os.symlink(tmp_path / "archive", folder / "archive-link")
    os.symlink(".", folder / "loop")
    summary = _both_engines(spark, folder, tmp_path)
    assert [entry.removeprefix(f"{folder.resolve()}/") for entry in summary["inputs"]["skipped_files"]] == [
        "archive-link/ (symbolic link to a folder, not followed)", "loop/ (symbolic link to a folder, not followed)"]
    assert summary["articles"]["clustered"] == 2   # a1, a2: not old1 behind the link


def test_a_broken_link_and_a_pipe_in_a_file_uri_folder_are_unreadable_files_as_locally(spark, tmp_path):
    """A broken link and a named pipe with a supported extension are unreadable_file rejects; a broken link
    with another extension is listed in skipped_files."""
    folder = _night(tmp_path)
    os.symlink(tmp_path / "missing.jsonl", folder / "gone.jsonl")
    os.symlink(tmp_path / "missing.dat", folder / "gone.dat")
    os.mkfifo(folder / "pipe.jsonl")
    summary = _both_engines(spark, folder, tmp_path)
    assert summary["inputs"]["skipped_files"] == [f"{folder.resolve()}/gone.dat"]
    rejected = [json.loads(line) for line in (tmp_path / "spark" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["file"].rsplit("/", 1)[-1], r["reason"], r["message"].split(" (")[0]) for r in rejected] == [
        ("gone.jsonl", "unreadable_file", "broken symbolic link"),
        ("pipe.jsonl", "unreadable_file", "not a regular file")]


def test_strict_ranks_an_undated_duplicate_with_the_latest_date_as_locally(spark, tmp_path):
    """Undated sorts at 9999-12-31T23:59:59.999999Z (datetime.max), tied with a record of that time: --strict
    stops at the same duplicate id on both engines."""
    text = _text(15)
    rows = [_row("P", "A", text, 0), {**_row("P", "A", text + " A longer second copy.", 0), "published": None},
            {**_row("Q", "B", text + " x", 0), "published": "9999-12-31T23:59:59.999999Z"},
            {**_row("Q", "B", text + " y", 0), "published": "9999-12-31T23:59:59.999999Z"}]
    given = write_jsonl(rows, tmp_path / "in.jsonl")
    strict = Config().replace(read={"strict": True})
    with pytest.raises(RejectedRecord) as local:
        run([given], tmp_path / "local", config=strict)
    with pytest.raises(RejectedRecord) as spark_error:
        run_spark([given], tmp_path / "spark", spark=spark, config=strict)
    assert str(spark_error.value) == str(local.value)
    assert "in.jsonl:2: " in str(local.value)


def test_a_broken_link_named_clusters_parquet_does_not_make_an_output_folder_as_locally(spark, tmp_path):
    """A folder is an earlier run's output when it holds summary.json (naming dedup_version) and clusters.parquet;
    locally a broken link is no clusters.parquet (links are followed): the folder is read as input, on Spark too."""
    folder = _night(tmp_path)
    (folder / "summary.json").write_text(json.dumps({"dedup_version": "0.1"}))
    os.symlink(tmp_path / "missing.parquet", folder / "clusters.parquet")
    summary = _both_engines(spark, folder, tmp_path)
    assert summary["inputs"]["skipped_files"] == [] and summary["articles"]["clustered"] == 2
    rejected = [json.loads(line) for line in (tmp_path / "spark" / "rejected.jsonl").read_text().splitlines()]
    assert ("clusters.parquet", "unreadable_file", "broken symbolic link") in [
        (r["file"].rsplit("/", 1)[-1], r["reason"], r["message"].split(" (")[0]) for r in rejected]


def test_a_file_name_not_valid_utf8_in_a_file_uri_folder_is_a_reject_not_silently_left_out(spark, tmp_path):
    """Java names `caf\\xe9.jsonl` with U+FFFD and Hadoop's listing leaves it out: it was read by neither engine
    path and said nowhere. It is its unreadable_file reject (read it by giving its folder as a local path)."""
    folder = _night(tmp_path)
    os.rename(write_jsonl([_row("u1", "Y", _text(15), 9)], tmp_path / "u.jsonl"), os.fsencode(folder) + b"/caf\xe9.jsonl")
    summary = run_spark([folder.resolve().as_uri()], tmp_path / "spark", spark=spark)
    rejected = [json.loads(line) for line in (tmp_path / "spark" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["file"], r["reason"]) for r in rejected] == [(f"file:{folder.resolve()}/caf\\xe9.jsonl", "unreadable_file")]
    assert "not valid UTF-8" in rejected[0]["message"] and summary["articles"]["clustered"] == 2


def test_a_folder_name_not_valid_utf8_in_a_file_uri_folder_is_a_reject_not_a_skipped_file(spark, tmp_path):
    """A folder so named was listed in skipped_files as if it were a file: its files neither read nor rejected."""
    folder = _night(tmp_path)
    inner = os.fsencode(folder) + b"/caf\xe9"
    os.mkdir(inner)
    os.rename(write_jsonl([_row("u1", "Y", _text(15), 9)], tmp_path / "u.jsonl"), inner + b"/u.jsonl")
    summary = run_spark([folder.resolve().as_uri()], tmp_path / "spark", spark=spark)
    rejected = [json.loads(line) for line in (tmp_path / "spark" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["file"], r["reason"]) for r in rejected] == [(f"file:{folder.resolve()}/caf\\xe9", "unreadable_file")]
    assert "not valid UTF-8" in rejected[0]["message"] and "not read" in rejected[0]["message"]
    assert summary["articles"]["clustered"] == 2
