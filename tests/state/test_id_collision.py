"""A record tonight under an id the state holds for another outlet (two CMSs numbering from 1) is rejected as
``duplicate_id``, as a run without a state rejects a second record under an id; the stored article keeps its
id, text and story. The same outlet sending the id again is that article sent again, as before."""

from __future__ import annotations

import json

import pytest

from dedup import run
from dedup.config import Config, ReadConfig
from dedup.errors import RejectedRecord
from dedup.state import Store, read_table
from tests.conftest import article, make_story, write_jsonl

DAYS = ("2026-10-02", "2026-10-03")
S, T, U = make_story(61, 10), make_story(62, 10), make_story(63, 10)


def _night(tmp_path, n, records, **kw):
    folder = write_jsonl(tmp_path / "in" / DAYS[n - 1] / "a.jsonl", records).parent
    return run([folder], tmp_path / f"out{n}", state_dir=tmp_path / "state", night=DAYS[n - 1], **kw)


def _stored(tmp_path, article_id) -> list[dict]:
    """The state's rows of ``article_id`` (night, outlet, text), by night."""
    rows = (read_table(tmp_path / "state", "articles").filter(article_id=article_id)
            .select("night", "outlet", "text").sort("night").collect())
    return [{**r, "night": r["night"].isoformat()} for r in rows.iter_rows(named=True)]


def _rejected(tmp_path, n) -> list[dict]:
    text = (tmp_path / f"out{n}" / "rejected.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _counts_add_up(tmp_path, n) -> dict:
    articles = json.loads((tmp_path / f"out{n}" / "summary.json").read_text())["articles"]
    assert articles["read"] == articles["clustered"] + articles["rejected"]
    return articles


NIGHT_1 = [article("123", "Daily A", S, f"{DAYS[0]}T06:00:00Z"),
           article("w-1", "Wire", S[:9], f"{DAYS[0]}T07:00:00Z")]


def test_an_id_the_state_holds_for_another_outlet_is_rejected_and_the_stored_article_stays(tmp_path):
    one = _night(tmp_path, 1, NIGHT_1)
    story = one.clusters.filter(article_id="123")["cluster_id"].item()
    # Daily B numbers from 1 too: its 123 is another article; a third outlet joins story S tonight
    two = _night(tmp_path, 2, [article("c-1", "Outlet C", S[1:10], f"{DAYS[1]}T05:00:00Z"),
                               article("123", "Daily B", T, f"{DAYS[1]}T06:00:00Z"),
                               article("b-2", "Daily B", U, f"{DAYS[1]}T07:00:00Z")])
    [reject] = _rejected(tmp_path, 2)
    assert (reject["file"].endswith("a.jsonl"), reject["record"], reject["article_id"], reject["reason"]) == \
        (True, 2, "123", "duplicate_id")
    assert reject["message"] == ("id '123' is held by outlet 'Daily A' in the state (night 2026-10-02); "
                                 "sent tonight by outlet 'Daily B'")
    counts = _counts_add_up(tmp_path, 2)
    assert (counts["read"], counts["rejected"], counts["rejected_by_reason"]) == (3, 1, {"duplicate_id": 1})
    # Daily A's 123 is still in its story, a stored article of it, with its outlet and text
    clusters = two.clusters
    members = clusters.filter(cluster_id=story).sort("article_id")
    assert members.select("article_id", "outlet", "is_new").rows() == [
        ("123", "Daily A", False), ("c-1", "Outlet C", True), ("w-1", "Wire", False)]
    assert set(clusters.filter(is_new=True)["article_id"]) == {"c-1", "b-2"}
    assert _stored(tmp_path, "123") == [{"night": DAYS[0], "outlet": "Daily A", "text": " ".join(S)}]
    assert set(read_table(tmp_path / "state", "assignments").filter(article_id="123").collect()["outlet"]) \
        == {"Daily A"}
    # the rerun of the night gives the same outputs
    again = _night(tmp_path, 2, [article("c-1", "Outlet C", S[1:10], f"{DAYS[1]}T05:00:00Z"),
                                 article("123", "Daily B", T, f"{DAYS[1]}T06:00:00Z"),
                                 article("b-2", "Daily B", U, f"{DAYS[1]}T07:00:00Z")])
    assert again.clusters.equals(two.clusters) and _rejected(tmp_path, 2) == [reject]


def test_the_same_outlet_sending_its_id_again_is_that_article_sent_again(tmp_path):
    _night(tmp_path, 1, NIGHT_1)
    two = _night(tmp_path, 2, [article("123", "Daily A", T, f"{DAYS[1]}T06:00:00Z")])
    assert _rejected(tmp_path, 2) == []
    _counts_add_up(tmp_path, 2)
    assert two.clusters.filter(article_id="123")["is_new"].to_list() == [True]
    assert [(r["night"], r["outlet"], r["text"]) for r in _stored(tmp_path, "123")] == [
        (DAYS[0], "Daily A", " ".join(S)), (DAYS[1], "Daily A", " ".join(T))]


def test_outlets_compare_as_written_and_no_outlet_is_one_outlet(tmp_path):
    _night(tmp_path, 1, [article("n-1", None, S, f"{DAYS[0]}T06:00:00Z"),
                         article("n-2", None, T, f"{DAYS[0]}T07:00:00Z"),
                         article("a-1", "Daily A", U, f"{DAYS[0]}T08:00:00Z"),
                         article("a-2", "Daily A", make_story(64, 10), f"{DAYS[0]}T09:00:00Z")])
    two = _night(tmp_path, 2, [article("n-1", None, S[:9], f"{DAYS[1]}T06:00:00Z"),        # sent again
                               article("n-2", "Daily B", T, f"{DAYS[1]}T07:00:00Z"),
                               article("a-1", None, U, f"{DAYS[1]}T08:00:00Z"),
                               article("a-2", "daily a", U, f"{DAYS[1]}T09:00:00Z")])
    rejected = {r["article_id"]: r["message"] for r in _rejected(tmp_path, 2)}
    assert rejected == {
        "n-2": "id 'n-2' is held by an article without outlet in the state (night 2026-10-02); "
               "sent tonight by outlet 'Daily B'",
        "a-1": "id 'a-1' is held by outlet 'Daily A' in the state (night 2026-10-02); "
               "sent tonight by an article without outlet",
        "a-2": "id 'a-2' is held by outlet 'Daily A' in the state (night 2026-10-02); "
               "sent tonight by outlet 'daily a'"}
    _counts_add_up(tmp_path, 2)
    assert two.clusters.filter(is_new=True)["article_id"].to_list() == ["n-1"]
    assert [r["text"] for r in _stored(tmp_path, "n-1")] == [" ".join(S), " ".join(S[:9])]
    assert [r["outlet"] for r in _stored(tmp_path, "n-2")] == [None]


def test_strict_stops_at_an_id_the_state_holds_for_another_outlet(tmp_path):
    _night(tmp_path, 1, NIGHT_1)
    before = Store(tmp_path / "state").versions()
    with pytest.raises(RejectedRecord) as err:
        _night(tmp_path, 2, [article("c-1", "Outlet C", S[1:10], f"{DAYS[1]}T05:00:00Z"),
                             article("123", "Daily B", T, f"{DAYS[1]}T06:00:00Z")],
               config=Config(read=ReadConfig(strict=True)))
    assert (err.value.exit_code, err.value.reason, err.value.record) == (4, "duplicate_id", 2)
    assert "held by outlet 'Daily A'" in str(err.value)
    assert Store(tmp_path / "state").versions() == before
    assert _stored(tmp_path, "123") == [{"night": DAYS[0], "outlet": "Daily A", "text": " ".join(S)}]
    # the lock was released: the night runs without --strict
    _night(tmp_path, 2, [article("123", "Daily B", T, f"{DAYS[1]}T06:00:00Z")])
    assert [r["reason"] for r in _rejected(tmp_path, 2)] == ["duplicate_id"]
