"""Errors of the nightly state (subclasses of :class:`dedup.errors.DedupError`)."""

from __future__ import annotations

from dedup.errors import DedupError


class StateError(DedupError):
    """The state folder cannot be used as asked (exit code 5).

    Its message says what differs (parameters, format version, a night older
    than the state's newest) and what to do instead.
    """

    exit_code = 5


class StateLocked(StateError):
    """Another run holds the state's lock (exit code 6), so a scheduler can
    tell "ran twice" from a real failure."""

    exit_code = 6
