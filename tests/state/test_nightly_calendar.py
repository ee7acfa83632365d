"""The nightly recipe and the state against a desk's calendar: the default night, inferred nights."""

from __future__ import annotations

import importlib.util
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

NIGHTLY = Path(__file__).resolve().parents[2] / "pipelines" / "nightly.py"


def _nightly():
    spec = importlib.util.spec_from_file_location("nightly", NIGHTLY)
    nightly = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nightly)
    return nightly


@pytest.fixture
def zone(monkeypatch):
    """Set the process's time zone for the test (``TZ`` and :func:`time.tzset`), and restore it."""
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("name", "instant", "night"), [
    # Athens leaves summer time on 2026-10-25: the cron's 02:30 that morning is 23:30 UTC the day
    # before, so yesterday in UTC was 10-23 and 10-24's feeds were never run (then 10-25 the next night).
    ("Europe/Athens", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "2026-10-24"),
    ("Europe/Athens", datetime(2026, 10, 26, 0, 30, tzinfo=UTC), "2026-10-25"),
    # 02:30 in Sydney is 15:30 UTC the day before: yesterday in UTC lagged a day.
    ("Australia/Sydney", datetime(2026, 11, 27, 15, 30, tzinfo=UTC), "2026-11-27"),
    # West of UTC nothing changes: 02:30 in New York is 07:30 UTC the same day.
    ("America/New_York", datetime(2026, 11, 28, 7, 30, tzinfo=UTC), "2026-11-27"),
    ("UTC", datetime(2026, 11, 28, 2, 30, tzinfo=UTC), "2026-11-27"),
])
def test_the_default_night_is_yesterday_in_the_machines_time_zone(zone, name, instant, night):
    zone(name)
    assert _nightly().default_night(instant) == night
