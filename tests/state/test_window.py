"""Which stored articles a night takes as candidates: never a pruned one (a later night's --window may
reach past an earlier night's --retention), and an article dated after the night it was read until its
date leaves the window."""

from __future__ import annotations

from dedup import run
from tests.conftest import article, make_story, write_jsonl

A = make_story(51, 12)


def _night(tmp_path, night, records, **kw):
    folder = write_jsonl(tmp_path / "in" / night / "a.jsonl", records).parent
    return run([folder], tmp_path / f"out-{night}", state_dir=tmp_path / "state", night=night, **kw)


def _story_of(result, article_id) -> tuple[str, list[str]]:
    """The story id of ``article_id`` tonight and the ids of that story's output articles."""
    clusters = result.clusters
    story = clusters.filter(clusters["article_id"] == article_id)["cluster_id"].item()
    return story, sorted(clusters.filter(clusters["cluster_id"] == story)["article_id"])


def test_pruned_articles_are_not_candidates_but_their_outlets_still_count(tmp_path):
    one = _night(tmp_path, "2026-11-01", [article("a-wire", "Wire", A, "2026-11-01T06:00:00Z"),
                                          article("a-o1", "Outlet 1", A[:8], "2026-11-01T07:00:00Z")])
    _night(tmp_path, "2026-11-02", [article("a-o2", "Outlet 2", A[1:10], "2026-11-02T07:00:00Z")])
    # a night with a short retention prunes 2026-11-01
    _night(tmp_path, "2026-11-03", [article("u-3", "Local", make_story(52, 10), "2026-11-03T07:00:00Z")],
           window="1d", retention="1d")
    # the window reaches 2026-11-01 again: its articles, pruned, are neither loaded nor output
    four = _night(tmp_path, "2026-11-04", [article("a-o4", "Outlet 4", A[2:11], "2026-11-04T07:00:00Z")],
                  window="7d", retention="30d")
    assert _story_of(four, "a-o4") == (_story_of(one, "a-wire")[0], ["a-o2", "a-o4"])
    history = four.summary["history"]
    assert (history["prior_matched"], history["prior_loaded"]) == (1, 1)
    assert history["grew"] == [{"story_id": _story_of(one, "a-wire")[0], "outlets_before": 3,
                                "new_outlets": ["Outlet 4"]}]


def test_an_article_dated_after_its_night_stays_a_candidate_until_its_date_leaves_the_window(tmp_path):
    # read on 2026-10-31, dated 2026-11-20: in a 7-day window until 2026-11-26
    one = _night(tmp_path, "2026-10-31", [article("a-wire", "Wire", A, "2026-11-20T06:00:00Z"),
                                          article("a-o1", "Outlet 1", A[:8], "2026-11-20T07:00:00Z")])
    # a-o1 sent again with its right date: its latest row decides, and that date is out of the window
    _night(tmp_path, "2026-11-01", [article("a-o1", "Outlet 1", A[:8], "2026-11-01T07:00:00Z")])
    late = _night(tmp_path, "2026-11-09", [article("a-o2", "Outlet 2", A[1:10], "2026-11-09T07:00:00Z")])
    assert _story_of(late, "a-o2") == (_story_of(one, "a-wire")[0], ["a-o2", "a-wire"])
    assert late.summary["history"]["prior_in_window"] == 1
