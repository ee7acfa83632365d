"""What pipelines/nightly.py says on stderr. Its log's disk full, without -q: "cannot write the log" once, not
twice (its own line, then the log record it adds for the file, which the stderr handler printed as well). On a
terminal, progress bars as dedup cluster draws them; none under -q."""

from __future__ import annotations

import logging
import sys

from tests.state.corpus import NIGHTS, load_nightly, write_night
from tests.state.test_storage_faults import _FullLog


def test_a_log_that_cannot_be_written_is_said_once_on_stderr_without_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(logging.FileHandler, "_open", lambda self: _FullLog())
    code = load_nightly().main([str(write_night(tmp_path, 1)), "--state", str(tmp_path / "state"),
                                "--out", str(tmp_path / "out"), "--night", NIGHTS[0]])
    err = capsys.readouterr().err
    assert code == 8, err
    assert err.count("cannot write the log") == 1, err
    assert f"nightly: error: cannot write the log {tmp_path / 'out' / 'logs' / f'{NIGHTS[0]}.log'}: " \
           "No space left on device\n" in err
    assert err.rstrip().endswith(f"end night {NIGHTS[0]}: exit 8")


def test_the_log_file_still_gets_the_record_with_or_without_quiet(tmp_path, monkeypatch):
    """The record main adds is for the file (should it take a line again): only stderr leaves it out."""
    written = []

    class _LogThatFailsOnce(_FullLog):
        def write(self, text):
            if not written:
                written.append(None)
                super().write(text)
            written.append(text)

    nightly = load_nightly()
    for n, quiet in ((1, True), (2, False)):
        written.clear()
        monkeypatch.setattr(logging.FileHandler, "_open", lambda self: _LogThatFailsOnce())
        code = nightly.main([str(write_night(tmp_path, n)), "--state", str(tmp_path / "state"),
                             "--out", str(tmp_path / "out"), "--night", NIGHTS[n - 1], *(["-q"] if quiet else [])])
        assert code == 8
        assert any("ERROR cannot write the log: No space left on device" in text for text in written[1:])


def test_nightly_draws_progress_bars_on_a_terminal_and_none_under_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)   # capsys's stderr, taken for a terminal
    nightly = load_nightly()
    for n, quiet in ((1, False), (2, True)):
        code = nightly.main([str(write_night(tmp_path, n)), "--state", str(tmp_path / "state"),
                             "--out", str(tmp_path / "out"), "--night", NIGHTS[n - 1], *(["-q"] if quiet else [])])
        err = capsys.readouterr().err
        assert code == 0, err
        assert (err == "") if quiet else ("file/s" in err and "story/s" in err), err
