"""``dedup report`` / :func:`build_report`: the page rebuilt from the files a run left, local or Spark,
standalone or a state night, with the run's cap; bad or missing files are notes or clear errors."""

from __future__ import annotations

import html as html_lib
import json
from pathlib import Path

import polars as pl
import pytest

from dedup.errors import InputError
from dedup.report import build_report, write_report
from tests.report.pages import _data


def test_build_report_matches_write_report(run_dir, frames, tmp_path):
    expected = write_report(tmp_path / "direct", **frames).read_bytes()
    assert build_report(run_dir).read_bytes() == expected


def test_build_report_without_sentence_files(run_dir):
    (run_dir / "sentences.parquet").unlink()
    (run_dir / "links.parquet").unlink()
    html = build_report(run_dir).read_text()
    assert "Sentence alignment is not available" in html


def test_build_report_tolerates_bad_summary_and_reject_lines(run_dir):
    (run_dir / "summary.json").write_text("{not json")
    with open(run_dir / "rejected.jsonl", "a", encoding="utf-8") as handle:
        handle.write("garbage\n[1]\n")
        handle.write(json.dumps({"file": "x\ud800.json", "record": 10**30, "reason": "bad\udfff",
                                 "message": "<b>m</b>"}) + "\n")
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "summary.json could not be read" in html
    assert "2 line(s) of rejected.jsonl could not be read" in html
    assert "x\ufffd.json: &lt;b&gt;m&lt;/b&gt;" in html


@pytest.mark.parametrize("text", ["[1, 2]", '"summary"', "null"])
def test_build_report_says_so_when_summary_json_is_not_an_object(run_dir, text):
    (run_dir / "summary.json").write_text(text)
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "summary.json could not be read; the numbers are counted from clusters.parquet." in html


def _as_spark_folder(path: Path, frame: pl.DataFrame, parts: int) -> None:
    """Replace the file ``path`` by a folder of part files as Spark writes it: int64 for uint32, Hadoop side files."""
    path.unlink()
    path.mkdir()
    frame = frame.with_columns(pl.col(pl.UInt32).cast(pl.Int64))
    size = -(-frame.height // max(parts, 1))
    for i in range(parts):
        name = f"part-{i:05d}-0f1e2d3c-c000.zstd.parquet"
        frame.slice(i * size, size).write_parquet(path / name)
        (path / f".{name}.crc").write_bytes(b"crc\x00\x01")   # not Parquet: must be skipped
    (path / "_SUCCESS").write_bytes(b"")
    (path / "._SUCCESS.crc").write_bytes(b"crc")


def test_build_report_reads_spark_part_folders(run_dir, frames, tmp_path):
    """`dedup report` on a Spark run: tables as folders of parts, with _SUCCESS and .crc files beside them."""
    expected = write_report(tmp_path / "direct", **frames).read_bytes()
    for name, parts in (("clusters", 3), ("sentences", 4), ("links", 1)):
        _as_spark_folder(run_dir / f"{name}.parquet", frames[name], parts)
    assert build_report(run_dir).read_bytes() == expected


def test_build_report_part_folder_without_parts_is_a_clear_error(run_dir):
    _as_spark_folder(run_dir / "clusters.parquet", pl.DataFrame(), 0)
    with pytest.raises(InputError, match="clusters.parquet holds no Parquet part files; rerun `dedup cluster`"):
        build_report(run_dir)
    (run_dir / "clusters.parquet" / "part-00000-x-c000.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"clusters.parquet \(1 part files\) is not readable as Parquet"):
        build_report(run_dir)


def test_build_report_needs_clusters(tmp_path):
    with pytest.raises(InputError, match="clusters.parquet does not exist; run `dedup cluster"):
        build_report(tmp_path)


def test_rebuilds_in_fresh_processes_are_byte_identical(run_dir):
    """Set and dict orders differ between interpreters (hash seeds); the report must not."""
    import os
    import subprocess
    import sys
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        code = "import sys; from dedup.report import build_report; build_report(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(run_dir)], check=True, env=env)
        outputs.append((run_dir / "report.html").read_bytes())
    assert outputs[0] == outputs[1]


def test_build_report_takes_the_cap(run_dir):
    _overview, details = _data(build_report(run_dir, max_articles=4).read_text())
    assert sum(d is not None for d in details) == 1
    _overview, details = _data(build_report(run_dir, max_articles=0).read_text())
    assert all(d is not None for d in details)


def _detailed(run_dir: Path) -> int:
    _overview, details = _data((run_dir / "report.html").read_text())
    return sum(d is not None for d in details)


@pytest.mark.parametrize("recorded, detailed", [(4, 1), (7, 2), (0, 3), (None, 3), (-1, 3), ("4", 3), (True, 3)])
def test_build_report_and_dedup_report_take_the_cap_the_run_recorded(run_dir, recorded, detailed):
    """Without --articles the page is rebuilt with the run's report_articles (a value no run writes, or none:
    the default), so that it is the page the run wrote; --articles still sets it."""
    from click.testing import CliRunner

    from dedup.cli import main
    summary = json.loads((run_dir / "summary.json").read_text())
    output = {} if recorded is None else {"report_articles": recorded}
    (run_dir / "summary.json").write_text(json.dumps({**summary, "parameters": {"output": output}}))
    build_report(run_dir)
    assert _detailed(run_dir) == detailed
    assert CliRunner().invoke(main, ["report", str(run_dir)]).exit_code == 0
    assert _detailed(run_dir) == detailed
    assert CliRunner().invoke(main, ["report", str(run_dir), "--articles", "2"]).exit_code == 0
    assert _detailed(run_dir) == 1
    build_report(run_dir, max_articles=0)
    assert _detailed(run_dir) == 3


def test_build_report_of_a_state_run_is_the_page_the_run_wrote(tmp_path):
    """`dedup report` on a --state night's folder keeps the history's notes and shortened lists."""
    from dedup import run
    from tests.state.corpus import NIGHTS, write_night
    for n in (1, 2, 3):
        out = tmp_path / f"out{n}"
        run([write_night(tmp_path, n)], out, state_dir=tmp_path / "state", night=NIGHTS[n - 1])
        written = (out / "report.html").read_bytes()
        assert build_report(out).read_bytes() == written, n
    html = html_lib.unescape(written.decode("utf-8"))
    assert "Night 2026-11-27, matched against the previous 7d" in html and "was merged into" in html
    assert "history.grew.0.story_id" not in html and "history.grew</dt><dd>2</dd>" in html


def test_build_report_with_an_unreadable_history_says_so(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps({**summary, "history": {"night": "2026-11-27"}}))
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert "The history section of summary.json could not be read" in html


def test_build_report_with_unreadable_sentences_is_a_clear_error(run_dir):
    (run_dir / "sentences.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match=r"sentences.parquet is not readable as Parquet .*rerun `dedup cluster`"):
        build_report(run_dir)
