"""Storage faults of the nightly state and of pipelines/nightly.py: a full disk while a state table's
footer is written, a log that cannot be written, a state copied without all of its newest files."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from dedup import run
from dedup.cli import main as cli
from dedup.state import StateError, Store
from tests.state.corpus import (
    NIGHTS,
    check_way_back,
    load_nightly,
    output_files,
    three_nights,
    write_night,
)

# What polars 2.1 raises when the disk fills while it writes a Parquet file's footer: no OS error in it
FOOTER_FAILED = "parquet: File out of specification: Invalid thrift: transport error"



@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """A state of nights 1 and 2 (versions 1 and 2), and the outputs of night 3 run on it."""
    return three_nights(tmp_path_factory.mktemp("two_nights"), "state2")


class _Statvfs:
    def __init__(self, free: int):
        self.f_bavail = self.f_bfree = free


@pytest.mark.parametrize("free, reason", [(0, "No space left on device"), (5, "a Parquet file's write failed")])
def test_a_full_disk_while_a_state_tables_footer_is_written_is_exit_8_in_one_line(two_nights, tmp_path, monkeypatch,
                                                                                  free, reason):
    state = tmp_path / "state"
    shutil.copytree(two_nights / "state", state)
    real = pl.DataFrame.write_parquet

    def footer_fails(frame, file, *args, **kwargs):
        real(frame.head(0), file, *args, **kwargs)
        raise pl.exceptions.ComputeError(FOOTER_FAILED)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", footer_fails)
    monkeypatch.setattr(os, "statvfs", lambda path: _Statvfs(free))
    res = CliRunner().invoke(cli, ["cluster", str(two_nights / "in" / NIGHTS[2]), "--state", str(state),
                                   "--out", str(tmp_path / "out"), "--night", NIGHTS[2], "-q"])
    assert res.exit_code == 8, res.output
    assert res.output.startswith(f"dedup: error: cannot write the state in {state}: {reason}")
    assert res.output.count("\n") == 1
    assert Store(state).versions() == [1, 2]


def test_another_polars_error_while_writing_the_state_is_not_taken_for_a_full_disk(tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise pl.exceptions.ComputeError("cannot cast List(UInt32) to Struct")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", bug)
    with pytest.raises(pl.exceptions.ComputeError, match="cannot cast"):
        Store(tmp_path / "state").write_file("story_merges", NIGHTS[0], 1,
                                             pl.DataFrame(schema={"night": pl.Date, "merged_id": pl.String,
                                                                  "into_id": pl.String}))


class _FullLog:
    """The log's file on a full disk: every write fails."""

    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def close(self):
        pass


@pytest.mark.parametrize("quiet", [True, False])
def test_a_log_that_cannot_be_written_is_one_line_on_stderr_and_exit_8(two_nights, tmp_path, monkeypatch, capsys,
                                                                       quiet):
    """Only the log's file system is full: the night is done, but its log is lost, which is an alert (exit 8),
    in one line, not a traceback per record (cron mails stderr)."""
    state = tmp_path / "state"
    shutil.copytree(two_nights / "state", state)
    monkeypatch.setattr(logging.FileHandler, "_open", lambda self: _FullLog())
    code = load_nightly().main([str(two_nights / "in" / NIGHTS[2]), "--state", str(state), "--out", str(tmp_path / "out"),
                            "--night", NIGHTS[2], *(["-q"] if quiet else [])])
    err = capsys.readouterr().err
    assert code == 8, err
    log = tmp_path / "out" / "logs" / f"{NIGHTS[2]}.log"
    line = f"nightly: error: cannot write the log {log}: No space left on device\n"
    assert "Traceback" not in err and "Logging error" not in err
    if quiet:
        assert err == line
    else:   # the records, on stderr as ever, then the line, and the end of the night on stderr too
        assert f"INFO start night {NIGHTS[2]}" in err and line in err
        assert err.split(line)[1].rstrip().endswith(f"end night {NIGHTS[2]}: exit 8")
    assert output_files(tmp_path / "out" / NIGHTS[2]) == output_files(two_nights / "out3")   # the night was done


def test_a_night_refused_whose_log_cannot_be_written_keeps_its_exit_code(two_nights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(logging.FileHandler, "_open", lambda self: _FullLog())
    code = load_nightly().main([str(two_nights / "in" / NIGHTS[0]), "--state", str(two_nights / "state"),
                            "--out", str(tmp_path / "out"), "--night", NIGHTS[0], "-q"])   # older than the newest
    assert code == 5
    assert capsys.readouterr().err.startswith("nightly: error: cannot write the log ")


def _break(state: Path, table: str, night: str, how: str) -> str:
    """Make the newest version's file of ``table`` and ``night`` missing, empty, or cut short after Parquet's
    magic number; its path in the state."""
    rel = Store(state).manifest().tables[table][night]
    if how == "missing":
        (state / rel).unlink()
    else:
        (state / rel).write_bytes(b"PAR1" if how == "short" else b"")
    return rel


@pytest.mark.parametrize("how, why", [("missing", "is missing"), ("short", "is cut short at 4 bytes")])
def test_a_state_whose_newest_version_lacks_a_file_is_refused_with_the_way_back(two_nights, tmp_path, how, why):
    """A backup taken while night 2 committed: its manifest, without all of its files. Refused (exit 5), in one
    line naming the file and the manifest whose removal goes back to version 1; done so, nights 2 and 3 run
    again as before."""
    state = tmp_path / "state"
    shutil.copytree(two_nights / "state", state)
    rel = _break(state, "articles", NIGHTS[1], how)
    res = CliRunner().invoke(cli, ["cluster", str(two_nights / "in" / NIGHTS[2]), "--state", str(state),
                                   "--out", str(tmp_path / "out"), "--night", NIGHTS[2], "-q"])
    assert res.exit_code == 5, res.output
    manifest = state / "_manifests" / "000002.json"
    assert res.output == (f"dedup: error: state {state}: version 2 is incomplete, its file {rel} {why} (a copy or "
                          f"backup taken while a run committed?); version 1 is complete: remove {manifest} to go "
                          f"back to it, then run night {NIGHTS[1]} again\n")
    assert not (state / "lock").exists() and not (tmp_path / "out").exists()
    manifest.unlink()
    check_way_back(two_nights, state, tmp_path)


def test_a_file_the_version_before_names_too_cannot_be_gone_back_from(two_nights, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(two_nights / "state", state)
    rel = _break(state, "assignments", NIGHTS[0], "empty")   # night 1's file: version 1 names it too
    with pytest.raises(StateError, match=f"its file {rel} is empty .*no earlier version is complete: restore"
                                         " the state folder from a complete backup") as caught:
        run([write_night(two_nights, 3)], tmp_path / "out", state_dir=state, night=NIGHTS[2])
    assert caught.value.exit_code == 5


def test_checking_the_newest_versions_files_reads_none_of_them(two_nights, monkeypatch):
    """Only their sizes: a night does not read every stored file twice."""
    store = Store(two_nights / "state")
    manifest = store.manifest()

    def no_read(*args, **kwargs):
        raise AssertionError("a state file was read")

    monkeypatch.setattr(pl, "scan_parquet", no_read)
    monkeypatch.setattr(pl, "read_parquet", no_read)
    store.check_files(manifest)   # every file there: no error
