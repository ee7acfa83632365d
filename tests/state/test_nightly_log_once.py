"""pipelines/nightly.py without -q, its log's disk full: "cannot write the log" once on stderr, not twice (its
own line, then the log record it adds for the file, which the stderr handler printed as well)."""

from __future__ import annotations

import logging

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
