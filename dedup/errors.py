"""Exceptions raised by dedup.

Every message says what was wrong and, where possible, how to fix it. The CLI
turns a :class:`DedupError` into a one-line message and a non-zero exit code.
"""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error dedup raises on purpose."""

    exit_code = 1


class ConfigError(DedupError):
    """A parameter or config file is invalid (exit code 2)."""

    exit_code = 2


class InputError(DedupError):
    """Input files are missing or unusable as a whole (exit code 3).

    A single bad *record* is never an InputError: it is rejected with a reason
    and the run goes on, unless ``--strict`` was given.
    """

    exit_code = 3


class RejectedRecord(DedupError):
    """A record was rejected while ``strict`` mode was on (exit code 4)."""

    exit_code = 4

    def __init__(self, file: str, record: int | None, reason: str, message: str):
        where = f"{file}:{record}" if record is not None else file
        super().__init__(f"{where}: {message} [{reason}]")
        self.file, self.record, self.reason = file, record, reason


class OutputError(DedupError):
    """The outputs cannot be written: the output folder cannot be made, or a write into it failed
    (a full disk, no permission, an output's name taken by a folder) (exit code 8).

    Not 7: ``pipelines/nightly.py`` exits 7 for a night that was written but rejected too many records.
    """

    exit_code = 8


class EngineError(DedupError):
    """The distributed engine failed a run it had started: the SparkContext stopped, the master or the
    driver was lost, executors or Python workers died (exit code 9). Not a bad parameter (2): a scheduler
    may retry it once the cluster is back; the inputs and parameters were fine as far as the run got."""

    exit_code = 9
