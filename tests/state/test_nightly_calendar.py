"""The nightly recipe and the state against a desk's calendar: the default night, inferred nights."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result

from dedup.cli import main
from tests.state.corpus import load_nightly


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
    assert load_nightly().default_night(instant) == night


def _cluster(*args) -> Result:
    return CliRunner().invoke(main, ["cluster", *map(str, args)])


def test_an_inferred_night_the_state_holds_already_is_refused_not_replaced(tmp_path):
    """Evening 1's feeds hold an item stamped after midnight UTC, so they are dated the next day; evening 2's,
    dated the same, were taken for a rerun of it and replaced evening 1's articles in the state."""
    from dedup.state import read_table
    from tests.conftest import article, make_story, write_jsonl

    s1, s2 = make_story(101, 10), make_story(202, 10)
    write_jsonl(tmp_path / "feeds1" / "a.jsonl", [article("w-1", "Wire", s1, "2026-11-26T18:00:00Z"),
                                                  article("o-1", "Ledger", s1[:8], "2026-11-27T00:30:00Z")])
    write_jsonl(tmp_path / "feeds2" / "a.jsonl", [article("w-2", "Wire", s2, "2026-11-27T18:00:00Z"),
                                                  article("o-2", "Ledger", s2[:8], "2026-11-27T20:00:00Z")])
    state = tmp_path / "state"
    assert _cluster(tmp_path / "feeds1", "--state", state, "--out", tmp_path / "o1", "-q").exit_code == 0
    res = _cluster(tmp_path / "feeds2", "--state", state, "--out", tmp_path / "o2", "-q")
    assert res.exit_code == 5, res.output
    assert "night 2026-11-27, inferred from the newest article, is the state's newest night already" in res.output
    assert sorted(read_table(state, "articles").collect()["article_id"]) == ["o-1", "w-1"]
    # given, the same night is a rerun, which says so
    res = _cluster(tmp_path / "feeds1", "--state", state, "--out", tmp_path / "o1", "--night", "2026-11-27")
    assert res.exit_code == 0 and "night 2026-11-27 is the state's newest: this run replaces it" in res.stderr


def test_a_night_of_rejected_records_only_says_so_when_its_night_cannot_be_inferred(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"id": "x", "text": ""}\n{not json\n')
    res = _cluster(tmp_path / "in", "--state", tmp_path / "state", "--out", tmp_path / "o", "-q")
    assert res.exit_code == 5
    assert "no usable article tonight (every record rejected, or none read)" in res.output


def test_a_night_after_a_gap_names_the_nights_that_were_not_run(tmp_path):
    """A desk east of UTC+2:30 upgrading from the recipe's old default (yesterday in UTC) jumps two nights:
    the night between can never be run afterwards, so the jump is said (a weekend without feeds is too)."""
    from tests.conftest import article, make_story, write_jsonl

    for n, day in enumerate(("2026-11-24", "2026-11-25", "2026-11-27")):
        write_jsonl(tmp_path / day / "a.jsonl", [article(f"w-{n}", "Wire", make_story(n, 10), f"{day}T08:00:00Z")])
    outputs = []
    for day in ("2026-11-24", "2026-11-25", "2026-11-27"):
        res = _cluster(tmp_path / day, "--state", tmp_path / "state", "--out", tmp_path / f"o-{day}", "--night", day)
        assert res.exit_code == 0, res.output
        outputs.append(res.stderr)
    assert not any("were not run" in err for err in outputs[:2])
    assert ("night 2026-11-27: the state's newest night is 2026-11-25; the nights between were not run, "
            "and cannot be once this one is (older than the newest)") in outputs[2]


def test_a_night_refused_as_after_tomorrow_says_nothing_of_a_gap(tmp_path):
    from tests.conftest import article, make_story, write_jsonl

    write_jsonl(tmp_path / "in" / "a.jsonl", [article("w-0", "Wire", make_story(5, 10), "2026-11-24T08:00:00Z")])
    assert _cluster(tmp_path / "in", "--state", tmp_path / "s", "--out", tmp_path / "o", "--night",
                    "2026-11-24").exit_code == 0
    res = _cluster(tmp_path / "in", "--state", tmp_path / "s", "--out", tmp_path / "o", "--night", "2062-11-24")
    assert res.exit_code == 5 and "is after tomorrow" in res.output
    assert "were not run" not in res.output
