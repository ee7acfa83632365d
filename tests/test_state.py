"""Nightly state: stable story ids over three nights, a bridging article, reruns, window, retention."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from dedup import run
from dedup.state import StateError, Store, read_table
from dedup.state.stories import STATUSES
from tests.state.corpus import NIGHTS, output_files, write_night

NIGHTLY = Path(__file__).resolve().parents[1] / "pipelines" / "nightly.py"


def _night(tmp_path, n, *, out=None, state="state", **kw):
    folder = write_night(tmp_path, n)
    return run([folder], tmp_path / (out or f"out{n}"), state_dir=tmp_path / state, night=NIGHTS[n - 1], **kw)


def _story(result, article_id):
    row = result.clusters.filter(pl.col("article_id") == article_id).row(0, named=True)
    return row


@pytest.fixture
def three_nights(tmp_path):
    return tmp_path, [_night(tmp_path, n) for n in (1, 2, 3)]


def test_a_story_keeps_its_id_over_three_nights_and_outlets_accumulate(three_nights):
    _, results = three_nights
    ids = [_story(r, "a-wire")["cluster_id"] for r in results]
    assert ids[0] == ids[1] == ids[2]
    story = [r.clusters.filter(pl.col("cluster_id") == ids[0]) for r in results]
    assert [s["n_outlets"][0] for s in story] == [2, 3, 4]
    assert sorted(story[2]["article_id"]) == ["a-o1", "a-o2", "a-o3", "a-wire"]
    # Tonight's article is new; the prior ones are reported with it, not new.
    last = story[2].select("article_id", "is_new", "first_seen_night", "story_status").sort("article_id")
    assert last["is_new"].to_list() == [False, False, True, False]
    assert [d.isoformat() for d in last["first_seen_night"]] == [NIGHTS[0], NIGHTS[1], NIGHTS[2], NIGHTS[0]]
    # a prior article comes from the state, read on its night; tonight's from tonight's file
    where = story[2].sort("article_id")
    assert where["source_file"].to_list()[:2] == [f"state:night={NIGHTS[0]}", f"state:night={NIGHTS[1]}"]
    assert where["source_file"][2].endswith(".jsonl") and where["source_record"][2] >= 1
    assert where["source_record"].null_count() == 3
    assert set(last["story_status"]) == {"grew"}
    assert [s["story_status"][0] for s in story] == ["new", "grew", "grew"]
    grew = {g["story_id"]: g for g in results[2].summary["history"]["grew"]}
    assert grew[ids[0]]["new_outlets"] == ["Outlet 3"] and grew[ids[0]]["outlets_before"] == 3


def test_a_bridging_article_merges_the_younger_story_into_the_older(three_nights):
    tmp_path, (r1, r2, r3) = three_nights
    p, q = _story(r1, "p-o4")["cluster_id"], _story(r2, "q-o6")["cluster_id"]
    assert p != q
    row = _story(r3, "w-full")
    assert row["is_canonical"]             # the late original is the canonical version now...
    assert row["cluster_id"] == p          # ...but the story keeps the older id
    assert row["merged_from"] == [q]
    members = r3.clusters.filter(pl.col("cluster_id") == p)["article_id"].sort().to_list()
    assert members == ["p-o4", "p-o5", "q-o6", "q-o7", "w-full"]
    assert r3.summary["history"]["merged"] == [{"merged_id": q, "into_id": p}]
    merges = read_table(tmp_path / "state", "story_merges").collect()
    assert merges.select("merged_id", "into_id").rows() == [(q, p)]
    assert merges["night"][0].isoformat() == NIGHTS[2]
    # The history is not rewritten: night 2 still says q-o6 was in story q.
    hist = read_table(tmp_path / "state", "assignments").collect().filter(pl.col("article_id") == "q-o6")
    assert sorted((n.isoformat(), s) for n, s in hist.select("night", "story_id").rows()) == \
        [(NIGHTS[1], q), (NIGHTS[2], p)]
    # Story statuses add up in the summary.
    stories = r3.summary["history"]["stories"]
    assert set(stories) == set(STATUSES) and stories["grew"] == 2


def test_a_night_after_a_merge_follows_the_merge(three_nights):
    tmp_path, (r1, _, r3) = three_nights
    p = _story(r1, "p-o4")["cluster_id"]
    # Night 4: another copy of the second half only, which matches Q's articles.
    from tests.conftest import article, write_jsonl
    from tests.state.corpus import W
    folder = write_jsonl(tmp_path / "in4" / "a.jsonl",
                         [article("q-o8", "Outlet 8", W[7:13], "2026-11-28T09:00:00Z")]).parent
    r4 = run([folder], tmp_path / "out4", state_dir=tmp_path / "state")
    assert r4.summary["history"]["night"] == "2026-11-28"
    assert _story(r4, "q-o8")["cluster_id"] == p


def test_rerunning_the_newest_night_gives_byte_identical_outputs_and_no_duplicates(tmp_path):
    _night(tmp_path, 1)
    _night(tmp_path, 2, out="first")
    before = read_table(tmp_path / "state", "assignments").collect()
    sentences_before = read_table(tmp_path / "state", "sentences").collect()
    _night(tmp_path, 2, out="again")
    assert output_files(tmp_path / "first") == output_files(tmp_path / "again")
    after = read_table(tmp_path / "state", "assignments").collect()
    assert after.sort("night", "article_id").equals(before.sort("night", "article_id"))
    assert read_table(tmp_path / "state", "sentences").collect().equals(sentences_before)
    arts = read_table(tmp_path / "state", "articles").collect()
    assert arts["article_id"].is_duplicated().sum() == 0
    # ...and the next night builds on the rerun as on the first run.
    r3 = _night(tmp_path, 3)
    assert _story(r3, "a-o3")["n_outlets"] == 4


def test_older_night_is_refused(three_nights):
    tmp_path, _ = three_nights
    with pytest.raises(StateError, match="older than the state's newest night 2026-11-27"):
        _night(tmp_path, 2, out="late")


def test_previous_versions_stay_readable(three_nights):
    tmp_path, _ = three_nights
    v1 = read_table(tmp_path / "state", "articles", version=1).collect()
    assert sorted(v1["night"].unique().cast(pl.String)) == [NIGHTS[0]]
    assert read_table(tmp_path / "state", "articles").collect().height == 7 + 6 + 5


def test_summary_and_report_know_the_history(three_nights):
    tmp_path, _ = three_nights
    summary = json.loads((tmp_path / "out3" / "summary.json").read_text())
    h = summary["history"]
    assert h["night"] == NIGHTS[2] and h["window"] == "7d" and h["base_version"] == 2
    assert h["stories"]["grew"] == 2 and h["singletons"]["new"] == 3
    assert summary["articles"]["read"] == summary["articles"]["clustered"] + summary["articles"]["rejected"] == 5
    html = (tmp_path / "out3" / "report.html").read_text()
    assert "was merged into" in html and "Night 2026-11-27" in html


def test_articles_outside_the_window_are_not_candidates_but_stay_in_the_state(tmp_path):
    r1 = _night(tmp_path, 1, window="3d")
    from tests.conftest import article, write_jsonl
    from tests.state.corpus import A
    folder = write_jsonl(tmp_path / "late" / "a.jsonl",
                         [article("a-late", "Outlet 9", A[:9], "2026-11-30T09:00:00Z")]).parent
    late = run([folder], tmp_path / "out-late", state_dir=tmp_path / "state", night="2026-11-30", window="3d")
    row = _story(late, "a-late")
    assert row["cluster_size"] == 1 and row["story_status"] == "new"
    assert row["cluster_id"] != _story(r1, "a-wire")["cluster_id"]
    assert "a-wire" in read_table(tmp_path / "state", "articles").collect()["article_id"].to_list()


def test_a_wider_window_still_finds_the_story(tmp_path):
    r1 = _night(tmp_path, 1, window="14d", retention="14d")
    from tests.conftest import article, write_jsonl
    from tests.state.corpus import A
    folder = write_jsonl(tmp_path / "late" / "a.jsonl",
                         [article("a-late", "Outlet 9", A[:9], "2026-11-30T09:00:00Z")]).parent
    late = run([folder], tmp_path / "out-late", state_dir=tmp_path / "state", night="2026-11-30", window="14d",
               retention="14d")
    assert _story(late, "a-late")["cluster_id"] == _story(r1, "a-wire")["cluster_id"]


def test_retention_prunes_texts_and_keeps_the_history(tmp_path):
    for n in (1, 2, 3):
        _night(tmp_path, n, window="1d", retention="1d")
    arts = read_table(tmp_path / "state", "articles").collect()
    old = arts.filter(pl.col("night").cast(pl.String) == NIGHTS[0])
    assert old.height == 7 and old["text"].null_count() == 7 and old["shingles"].null_count() == 7
    assert old["title"].null_count() == 0
    recent = arts.filter(pl.col("night").cast(pl.String) == NIGHTS[2])
    assert recent["text"].null_count() == 0
    hist = read_table(tmp_path / "state", "assignments").collect()
    assert set(hist.filter(pl.col("night").cast(pl.String) == NIGHTS[0])["article_id"]) == set(old["article_id"])


def test_a_standalone_run_is_unchanged(tmp_path):
    folder = write_night(tmp_path, 1)
    result = run([folder], tmp_path / "out")
    assert "is_new" not in result.clusters.columns and "history" not in result.summary


def test_an_article_id_sent_again_replaces_its_earlier_version(tmp_path):
    _night(tmp_path, 1)
    from tests.state.corpus import A, night_records
    recs = night_records(2) + [{"id": "a-o1", "outlet": "Outlet 1", "title": "updated", "text": " ".join(A[:9]),
                                "published": "2026-11-26T05:00:00Z"}]
    folder = write_night(tmp_path, 2, recs)
    r2 = run([folder], tmp_path / "out2", state_dir=tmp_path / "state", night=NIGHTS[1])
    row = _story(r2, "a-o1")
    assert row["is_new"] and row["first_seen_night"].isoformat() == NIGHTS[0] and row["title"] == "updated"
    assert r2.clusters["article_id"].is_duplicated().sum() == 0
    assert row["cluster_id"] == _story(r2, "a-wire")["cluster_id"]


def test_a_night_whose_every_record_is_rejected_runs_and_the_next_night_goes_on(tmp_path):
    # a feed that delivered only broken records: empty tables, every reject in rejected.jsonl, exit 0
    bad = [{"id": "no-text-1"}, {"id": "no-text-2", "text": ""}]
    alone = run([write_night(tmp_path / "alone", 1, bad)], tmp_path / "out-alone")
    assert alone.clusters.height == 0 and alone.summary["articles"]["rejected"] == 2
    assert len((tmp_path / "out-alone" / "rejected.jsonl").read_text().splitlines()) == 2
    state = tmp_path / "state"
    run([write_night(tmp_path, 1)], tmp_path / "out-1", state_dir=state, night=NIGHTS[0])
    empty = run([write_night(tmp_path, 2, bad)], tmp_path / "out-2", state_dir=state, night=NIGHTS[1])
    assert empty.clusters.height == 0 and empty.summary["history"]["night"] == NIGHTS[1]
    third = run([write_night(tmp_path, 3)], tmp_path / "out-3", state_dir=state, night=NIGHTS[2])
    assert "a-wire" in set(third.clusters["canonical_id"])   # night 1's story is still there to join


def test_a_night_given_after_tomorrow_is_refused_as_an_inferred_one_is(tmp_path):
    # a mistyped --night would become the state's newest night, and every real night after it would be refused
    today = datetime.now(UTC).date()
    folder = write_night(tmp_path, 1)
    later = (today + timedelta(days=2)).isoformat()
    with pytest.raises(StateError, match=rf"^--night {later} is after tomorrow \({today + timedelta(days=1)} UTC\): "
                                         r"a wrong date\? .* refused as older$") as caught:
        run([folder], tmp_path / "out", state_dir=tmp_path / "state", night=later)
    assert caught.value.exit_code == 5 and Store(tmp_path / "state").manifest() is None
    done = subprocess.run([sys.executable, str(NIGHTLY), str(folder), "--state", str(tmp_path / "state"),
                           "--out", str(tmp_path / "nightly"), "--night", "2062-03-01", "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 5
    assert "--night 2062-03-01 is after tomorrow" in (tmp_path / "nightly" / "logs" / "2062-03-01.log").read_text()
    assert Store(tmp_path / "state").manifest() is None
    # tomorrow is still a night (a feed a few hours ahead of UTC)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert run([folder], tmp_path / "out", state_dir=tmp_path / "state",
               night=tomorrow).summary["history"]["night"] == tomorrow
