"""The Spark engine's inputs: what is read, skipped and rejected, and where --strict stops, as locally.

``file://`` URIs take the Spark engine's URI path (Hadoop's listing, Spark's
``binaryFile``) but name the same files as the local engine, which reads them
as local paths: the outputs are compared with ``file:`` taken out of Spark's names.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup import Config
from dedup.errors import ConfigError, InputError, RejectedRecord
from dedup.pipeline import run
from dedup.spark import read_table, run_spark
from tests.spark.corpora import _row, sentences, write_jsonl
from tests.spark.test_engine import clusters_of_both_engines

STRICT = Config().replace(read={"strict": True})


def _text(seed: int, n: int = 8) -> str:
    return " ".join(sentences(random.Random(seed), n))


def test_two_exact_copies_and_a_one_article_corpus_equal_local(spark, tmp_path):
    """A cluster shard, or the batch of singletons, whose shingle sets are all of one length."""
    text = _text(5)
    copies = write_jsonl([_row("a", "W", text, 0), _row("b", "X", text, 5)], tmp_path / "copies" / "in.jsonl")
    clusters = clusters_of_both_engines(spark, [copies], tmp_path / "copies")
    assert clusters["cluster_size"].to_list() == [2, 2]
    one = write_jsonl([_row("only", "W", text, 0)], tmp_path / "one" / "in.jsonl")
    assert clusters_of_both_engines(spark, [one], tmp_path / "one")["cluster_size"].to_list() == [1]


def _corpus_folder(root: Path) -> Path:
    """A folder with what find_inputs decides about: `_` and `.` names, unsupported files, an earlier
    run's output, a nightly state, and names that sort differently as strings and as paths."""
    folder = root / "in"
    story = sentences(random.Random(3), 9)
    write_jsonl([_row("a1", "W", " ".join(story), 0), _row("a2", "X", " ".join(story[:7]), 5)], folder / "a.jsonl")
    write_jsonl([_row("u1", "Y", " ".join(story[:8]), 6)], folder / "_under.jsonl")      # Hadoop hides `_` names
    write_jsonl([_row("h1", "Y", _text(1), 6)], folder / ".hidden.jsonl")                 # hidden: not read
    write_jsonl([_row("n1", "Z", _text(2), 7)], folder / "x" / "a" / "b.jsonl")
    write_jsonl([_row("n2", "Z", _text(4), 8)], folder / "x" / "a-c.jsonl")
    write_jsonl([_row("g1", "Z", _text(7), 8)], folder / "x" / "glob[1]{a,b}*?.jsonl")   # Hadoop glob characters
    (folder / "x" / "a-c.dat").write_text("not an input")
    (folder / "x" / "empty.jsonl").write_bytes(b"")                     # Spark's file sources skip 0 bytes
    (folder / "x" / "a" / "b.dat").write_text("not an input")
    (folder / "state" / "_manifests").mkdir(parents=True)
    (folder / "state" / "_manifests" / "night.json").write_text("{}")
    write_jsonl([_row("s1", "Q", _text(6), 9)], folder / "state" / "articles.jsonl")
    run([folder / "a.jsonl"], folder / "old-run")                                         # an earlier run's output
    return folder


def _assert_same_but_for_file_uris(local_out: Path, spark_out: Path, folder: Path) -> dict:
    """Spark's outputs are the local engine's once ``file:`` is taken out of its file names; its summary."""
    local_name, uri_name = str(folder.resolve()), f"file:{folder.resolve()}"
    for name in ("clusters", "sentences", "links"):
        got = read_table(spark_out, name)
        if "source_file" in got.columns:
            assert got["source_file"].str.starts_with(uri_name).all()
            got = got.with_columns(pl.col("source_file").str.replace(uri_name, local_name, literal=True))
        assert_frame_equal(got, pl.read_parquet(local_out / f"{name}.parquet"), check_exact=True)
    summary = json.loads((spark_out / "summary.json").read_text().replace(uri_name, local_name))
    summary["pipeline"].pop("spark")
    assert summary == json.loads((local_out / "summary.json").read_text())
    rejected = (spark_out / "rejected.jsonl").read_text()
    assert rejected.replace(uri_name, local_name) == (local_out / "rejected.jsonl").read_text()
    return summary


def test_a_file_uri_folder_and_files_are_read_as_locally(spark, tmp_path):
    """Hidden entries left out, `_` files read, output and state folders and unsupported files skipped and
    listed in local order; files named by URI are read whatever their type; the run's own --out not read."""
    folder = _corpus_folder(tmp_path)
    uri = folder.resolve().as_uri()
    run([uri], tmp_path / "local")
    run_spark([uri], folder / "spark-out", spark=spark)   # in the input: made after reading, as locally
    summary = _assert_same_but_for_file_uris(tmp_path / "local", folder / "spark-out", folder)
    assert [entry.removeprefix(f"{folder.resolve()}/") for entry in summary["inputs"]["skipped_files"]] == [
        "old-run/ (the output of a dedup run)", "state/ (a dedup state)", "x/a/b.dat", "x/a-c.dat"]
    assert summary["articles"]["clustered"] == 6     # a1, a2, _under's u1, n1, n2, g1 (a name with [ { * ?)

    again = run_spark([uri], folder / "spark-out", spark=spark)
    assert f"file:{folder.resolve()}/spark-out/ (the output folder of this run)" in again["inputs"]["skipped_files"]
    assert again["articles"]["clustered"] == 6

    named = [(folder / "_under.jsonl").resolve().as_uri(), (folder / "x" / "a-c.dat").resolve().as_uri(),
             (folder / "a.jsonl").resolve().as_uri()]
    run(named, tmp_path / "named-local")
    run_spark(named, tmp_path / "named-spark", spark=spark)
    summary = _assert_same_but_for_file_uris(tmp_path / "named-local", tmp_path / "named-spark", folder)
    assert summary["inputs"]["files"] == 3 and summary["articles"]["clustered"] == 3
    assert summary["articles"]["rejected_by_reason"] == {"unsupported_format": 1}   # a-c.dat, named: read


def test_a_missing_input_is_an_input_error_and_leaves_no_out_folder(spark, tmp_path):
    out = tmp_path / "out"
    for missing in (tmp_path / "nowhere", (tmp_path / "nowhere").as_uri()):
        with pytest.raises(InputError, match=f"^input {re.escape(str(missing))} does not exist$"):
            run_spark([missing], out, spark=spark)
        assert not out.exists()
    with pytest.raises(InputError, match="^input nosuchfs://host/news cannot be read: "):
        run_spark(["nosuchfs://host/news"], out, spark=spark)
    assert not out.exists()


def test_a_spark_that_leaves_out_underscore_files_says_so(spark, tmp_path, monkeypatch):
    """Before 4.3 Spark ignores the option that has it read `_` names (its default regex is that behaviour)."""
    from dedup.spark import read

    monkeypatch.setattr(read, "_NO_NAME", "^[._]")
    corpus = write_jsonl([_row("u1", "Y", _text(1), 0)], tmp_path / "in" / "_under.jsonl").parent
    with pytest.raises(InputError, match="leaves out 1 of the 1 input files: names starting with '_'"):
        run_spark([corpus.resolve().as_uri()], tmp_path / "out", spark=spark)


def _strict_cases(root: Path) -> dict[str, tuple[Path, str]]:
    """Folders where --strict meets several rejects, and where the local engine stops: the first it meets."""
    rows = [json.dumps(_row(f"s{i}", "W", _text(i), i)) for i in range(40)]
    cases: dict[str, tuple[dict[str, bytes], str]] = {
        # line 2 is malformed, and the file is cut: its records come before the file's own reject
        "truncated": ({"t.jsonl.gz": gzip.compress("\n".join(rows[:1] + ["{not json"] + rows[1:]).encode())},
                      "t.jsonl.gz:2: "),
        # the local engine sorts paths part by part: x/a/b.jsonl is read before x/a-c.jsonl
        "nested": ({"x/a-c.jsonl": b"{not json\n", "x/a/b.jsonl": b"{not json\n"}, "x/a/b.jsonl:1: "),
        # a whole-file reject without records (an empty file), then a file's record
        "empty": ({"a.jsonl": b"", "b.jsonl": b"{not json\n"}, "a.jsonl: "),
        # duplicate ids: the copies are ranked by time (then length, text, file, record), d2's copy first
        "duplicates": ({"a.jsonl": (json.dumps(_row("d2", "W", _text(7), 10)) + "\n"
                                    + json.dumps(_row("d1", "W", _text(8), 50)) + "\n").encode(),
                        "b.jsonl": (json.dumps(_row("d1", "X", _text(9), 0)) + "\n"
                                    + json.dumps(_row("d2", "X", _text(10), 20)) + "\n").encode()},
                       "b.jsonl:2: "),
        # an entry that cannot be read (a broken link, below) comes before every file
        "unreadable": ({"a.jsonl": b"{not json\n"}, "gone.jsonl: "),
    }
    folders = {}
    for name, (files, where) in cases.items():
        for path, data in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_bytes(data)
        folders[name] = (root / name, where)
    cut = root / "truncated" / "t.jsonl.gz"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    (root / "unreadable" / "gone.jsonl").symlink_to(root / "missing.jsonl")
    return folders


def test_strict_stops_at_the_reject_the_local_engine_stops_at(spark, tmp_path):
    for name, (folder, where) in _strict_cases(tmp_path / "cases").items():
        for given in ([folder], [folder.resolve().as_uri()]) if name == "nested" else ([folder],):
            with pytest.raises(RejectedRecord) as local:
                run(given, tmp_path / f"{name}-local", config=STRICT)
            assert f"/{name}/{where}" in str(local.value), (name, str(local.value))
            with pytest.raises(RejectedRecord) as spark_error:
                run_spark(given, tmp_path / f"{name}-spark", spark=spark, config=STRICT)
            assert str(spark_error.value).replace("file:/", "/") == str(local.value), name


def test_odd_file_names_are_read_and_named_as_locally(spark, tmp_path):
    """A name that is not valid UTF-8 (café.jsonl saved in Latin-1) is opened by the executor and named with its
    stray byte escaped (caf\\xe9.jsonl), as locally; so are names with a newline or a leading space."""
    story = sentences(random.Random(8), 9)
    folder = tmp_path / "in"
    folder.mkdir()
    names = {b"caf\xe9.jsonl": "a", b"two\nlines.jsonl": "b", b" lead.jsonl": "c"}
    for k, (name, id_) in enumerate(names.items()):
        row = _row(id_, f"Outlet {id_}", " ".join(story[:9 - k]), k)
        with open(os.path.join(os.fsencode(folder), name), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    clusters = clusters_of_both_engines(spark, [folder], tmp_path)
    assert sorted(clusters["source_file"].to_list()) == sorted(
        f"{folder}/{name}" for name in ("caf\\xe9.jsonl", "two\nlines.jsonl", " lead.jsonl"))
    assert clusters["cluster_size"].to_list() == [3, 3, 3]


def test_a_file_reached_as_a_path_and_as_a_file_uri_is_read_once(spark, tmp_path):
    """A folder given as a path and a file in it as a URI (or a link to it): read once, as locally; the
    second name is listed in skipped_files, not read again as duplicate ids."""
    folder = tmp_path / "night"
    write_jsonl([_row("a1", "W", _text(1), 0), _row("a2", "X", _text(2), 5)], folder / "a.jsonl")
    os.symlink(folder / "a.jsonl", tmp_path / "link.jsonl")
    inputs = [folder, (folder / "a.jsonl").as_uri(), (tmp_path / "link.jsonl").as_uri()]
    local = run(inputs, tmp_path / "local").summary
    summary = run_spark(inputs, tmp_path / "spark", spark=spark)
    assert summary["articles"] == local["articles"] and summary["articles"]["read"] == 2
    assert summary["articles"]["rejected_by_reason"] == {}
    assert summary["inputs"]["skipped_files"] == [
        f"file:{tmp_path}/link.jsonl (the same file as {folder}/a.jsonl)",
        f"file:{folder}/a.jsonl (the same file as {folder}/a.jsonl)"]


def test_a_file_uri_is_percent_decoded_on_both_engines(spark, tmp_path):
    """``file:///x/e%20f.jsonl`` is ``/x/e f.jsonl`` on both engines (as a browser or curl reads it), not a
    file named ``e%20f.jsonl``; Spark names it as Hadoop lists it, unescaped."""
    write_jsonl([_row("space", "W", _text(1), 0)], tmp_path / "e f.jsonl")
    write_jsonl([_row("percent", "W", _text(2), 0)], tmp_path / "e%20f.jsonl")
    uri = f"file://{tmp_path}/e%20f.jsonl"
    assert run([uri], tmp_path / "local").clusters["article_id"].to_list() == ["space"]
    run_spark([uri], tmp_path / "spark", spark=spark)
    clusters = read_table(tmp_path / "spark", "clusters")
    assert clusters["article_id"].to_list() == ["space"]
    assert clusters["source_file"].to_list() == [f"file:{tmp_path}/e f.jsonl"]


def test_a_duplicate_id_keeps_the_same_record_on_both_engines_whatever_the_file_names(spark, tmp_path):
    """Copies with one id, time and text go by outlet, title, then url (by code point, a missing one last),
    not by file name: the record kept is z.jsonl's, although a.jsonl sorts first; only copies equal in every
    field fall back to the file name. Both engines keep, reject and name the same copies."""
    folder = tmp_path / "in"
    z, a = {}, {}
    for k, (id_, first, second) in enumerate([
            ("d-outlet", {"outlet": "Alpha"}, {"outlet": "Beta"}),
            ("d-accent", {"outlet": "Zeta"}, {"outlet": "\u00c9cho"}),          # É sorts after Z by code point
            ("d-missing", {"outlet": "Zeta"}, {"outlet": None}),
            ("d-title", {"title": "A title"}, {"title": "B title"}),
            ("d-url", {"url": "https://a.example/1"}, {"url": "https://b.example/1"}),
            ("d-same", {}, {})]):
        row = {**_row(id_, "Same", _text(20 + k), k), "url": None}
        z[id_], a[id_] = {**row, **first}, {**row, **second}
    write_jsonl(list(z.values()), folder / "z.jsonl")
    write_jsonl(list(a.values()), folder / "a.jsonl")
    clusters = clusters_of_both_engines(spark, [folder], tmp_path)
    kept = {r["article_id"]: r for r in clusters.iter_rows(named=True)}
    assert {id_: (kept[id_]["outlet"], kept[id_]["title"], kept[id_]["url"]) for id_ in z} == {
        id_: (r["outlet"], r["title"], r["url"]) for id_, r in z.items()}
    assert {id_: Path(r["source_file"]).name for id_, r in kept.items()} == {
        **dict.fromkeys(z, "z.jsonl"), "d-same": "a.jsonl"}


def test_every_task_reads_html_pages_with_the_drivers_date_limit(tmp_path, monkeypatch):
    """The latest date a page may have is taken once on the driver: a task run after midnight UTC took its
    own, so one run's pages got two limits (a page dated the day after the driver's tomorrow kept its date)."""
    from datetime import UTC, datetime

    from dedup.config import ReadConfig
    from dedup.io import html
    from dedup.io.streams import Limits, Source
    from dedup.spark import read
    from tests.io.pages import classic_page, paragraphs

    class Clock(datetime):   # the task's clock: past midnight
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 2, 0, 1, tzinfo=UTC)

    monkeypatch.setattr(html, "datetime", Clock)
    page = tmp_path / "a.html"
    page.write_text(classic_page(paragraphs(1), published="2026-12-03T08:00:00"))
    config = ReadConfig()
    driver = "2026-12-02T23:59:59.999999"   # taken at 23:59 on 12-01
    collector = read.read_one(Source(page, Limits.from_config(config)), config, driver)
    assert collector.frame()["published"].to_list() != [datetime(2026, 12, 3, 8, tzinfo=UTC)]
    assert read.read_one(Source(page, Limits.from_config(config)), config).frame()["published"].to_list() == [
        datetime(2026, 12, 3, 8, tzinfo=UTC)]   # without the driver's: the task's own clock


def test_a_runs_output_folder_or_a_blank_input_is_refused_as_locally(spark, tmp_path):
    """A run's output folder as the only input: said so (its .parquet files are outputs, not articles), by path
    or file:// URI, with the local engine's message; a blank input is a bad parameter, not the working folder."""
    out = tmp_path / "dedup-out"
    out.mkdir()
    (out / "summary.json").write_text('{"dedup_version": "0.1.0"}')
    (out / "clusters.parquet").write_bytes(b"")
    with pytest.raises(InputError) as local:
        run([out], tmp_path / "o")
    assert str(local.value).startswith(f"{out} is the output folder of a dedup run (it holds no article texts)")
    with pytest.raises(InputError) as by_path:
        run_spark([str(out)], tmp_path / "o", spark=spark)
    assert str(by_path.value) == str(local.value)
    with pytest.raises(InputError, match=r"^file:\S+/dedup-out is the output folder of a dedup run"):
        run_spark([out.resolve().as_uri()], tmp_path / "o", spark=spark)
    with pytest.raises(ConfigError, match="an input is blank"):
        run_spark([""], tmp_path / "o", spark=spark)
