"""A full disk while the outputs are written: no output is left cut short under its own name, and no
temporary file is left behind (or, left by a killed run, survives the next run)."""

from __future__ import annotations

import builtins
import errno
import io
import json

import pyarrow.parquet as pq
import pytest

from dedup import Config, run
from dedup.errors import OutputError
from dedup.io.writers import check_out_writable, prepare_out_dir
from tests.conftest import article, make_story, write_jsonl


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two copies of a story and a third article, plus many records to reject (a long rejected.jsonl)."""
    folder = tmp_path_factory.mktemp("corpus")
    story = make_story(7, 12)
    write_jsonl(folder / "a.jsonl", [article("w", "Wire", story, "2026-11-27T06:00:00Z"),
                                     article("o", "Outlet", story[:9], "2026-11-27T08:00:00Z"),
                                     article("u", "Local", make_story(8, 10), "2026-11-27T09:00:00Z")])
    write_jsonl(folder / "bad.jsonl", [{"id": f"b{i}", "text": ""} for i in range(500)])
    return folder


class _DiskFills:
    """A file whose writes fail with ENOSPC once half of the first one is on disk, as on a full disk."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(data[:len(data) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def _fill_disk_writing(monkeypatch, name: str) -> None:
    """Every file opened for writing whose name starts with ``name`` hits a full disk (``open`` and
    ``Path.open``/``Path.write_text``, which go through ``io.open``)."""
    real = builtins.open

    def opening(file, mode="r", *args, **kwargs):
        handle = real(file, mode, *args, **kwargs)
        if "w" in mode and str(file).rsplit("/", 1)[-1].startswith(name):
            return _DiskFills(handle)
        return handle

    monkeypatch.setattr(builtins, "open", opening)
    monkeypatch.setattr(io, "open", opening)


@pytest.mark.parametrize("name", ["timings.json", "summary.json", "rejected.jsonl", "clusters.csv", "links.json",
                                  "report.html"])
def test_a_full_disk_leaves_no_output_cut_short_under_its_name_nor_its_partial(corpus, tmp_path, monkeypatch, name):
    """timings.json marks a finished run: a run that failed writing it must not leave one (empty or cut
    short); rejected.jsonl, summary.json, the report and the tables' copies are never half of theirs either."""
    out = tmp_path / "out"
    _fill_disk_writing(monkeypatch, name)
    with pytest.raises(OutputError, match="No space left on device") as caught:
        run([corpus], out, config=Config().replace(output={"formats": ("parquet", "csv", "json")}))
    assert caught.value.exit_code == 8
    left = sorted(p.name for p in out.iterdir())
    assert name not in left and f"{name}.partial" not in left, left
    assert "timings.json" not in left


def test_the_outputs_written_through_temporary_names_are_the_same_bytes(corpus, tmp_path):
    """rejected.jsonl and summary.json are whole, valid, and the same at every run."""
    for n in (1, 2):
        run([corpus], tmp_path / f"out{n}", config=Config().replace(output={"formats": ("parquet", "csv", "json")}))
    one = {p.name: p.read_bytes() for p in (tmp_path / "out1").iterdir() if p.name != "timings.json"}
    two = {p.name: p.read_bytes() for p in (tmp_path / "out2").iterdir() if p.name != "timings.json"}
    assert one == two and not [n for n in one if n.endswith((".partial", ".tmp"))]
    assert len(one["rejected.jsonl"].decode().splitlines()) == 500
    assert json.loads(one["summary.json"])["articles"]["rejected"] == 500
    assert json.loads((tmp_path / "out1" / "timings.json").read_text())["stages"]


def test_a_table_whose_first_bytes_cannot_be_written_leaves_no_partial(corpus, tmp_path, monkeypatch):
    """The Parquet writer writes the file's magic number as it is made: a full disk fails it there."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "ParquetWriter", full)
    with pytest.raises(OutputError, match="No space left on device"):
        run([corpus], tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.partial"))


def test_the_next_run_removes_a_report_left_half_written(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".report.html.tmp").write_text("<html><body>a report cut sho")
    (out / "notes.txt").write_text("the desk's own file")
    prepare_out_dir(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_checking_that_out_can_be_written_touches_nothing(tmp_path, monkeypatch):
    """check_out_writable finds what prepare_out_dir would (an --out under a file, a folder that may not be
    written into) without making --out or removing an earlier run's outputs."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    check_out_writable(out)
    check_out_writable(tmp_path / "new" / "deeper")
    assert (out / "summary.json").exists() and not (tmp_path / "new").exists()
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(OutputError, match="Not a directory"):
        check_out_writable(tmp_path / "blocker" / "out")
    (out / "report.html").mkdir()   # an output's name taken by a folder: prepare_out_dir would fail on it
    with pytest.raises(OutputError, match="Is a directory"):
        check_out_writable(out)
    (out / "report.html").rmdir()
    monkeypatch.setattr("os.access", lambda path, mode: False)   # (root may write anywhere)
    with pytest.raises(OutputError, match=f"Permission denied \\({tmp_path}\\)"):
        check_out_writable(tmp_path / "new")
