"""Story ids of articles read again under an id the state has: the stored articles decide their stories,
and an article that moved to another story bridges nothing."""

from __future__ import annotations

from dedup import run
from dedup.state import read_table
from dedup.state.report import history_notes
from tests.conftest import article, make_story, write_jsonl

DAYS = ("2026-11-25", "2026-11-26", "2026-11-27")
S, T = make_story(41, 10), make_story(42, 10)


def _night(tmp_path, n, records):
    folder = write_jsonl(tmp_path / "in" / DAYS[n - 1] / "a.jsonl", records).parent
    return run([folder], tmp_path / f"out{n}", state_dir=tmp_path / "state", night=DAYS[n - 1])


def _stories(result) -> dict[str, tuple[str, str]]:
    """article id -> (story id, status) of the night's output."""
    return {a: (c, s) for a, c, s in result.clusters.select("article_id", "cluster_id", "story_status").iter_rows()}


S_WIRE = article("s-wire", "Wire", S, f"{DAYS[0]}T06:00:00Z")
S_O1 = article("s-o1", "Outlet 1", S[:8], f"{DAYS[0]}T07:00:00Z")
X = article("x", "Outlet 2", S[1:9], f"{DAYS[0]}T08:00:00Z")
STORY_T = [article("t-orig", "Wire 2", T, f"{DAYS[0]}T06:30:00Z"),
           article("t-o3", "Outlet 3", T[:8], f"{DAYS[0]}T09:00:00Z")]


def _no_merge(tmp_path, result):
    assert result.summary["history"]["merged"] == []
    assert result.clusters["merged_from"].null_count() == result.clusters.height
    assert read_table(tmp_path / "state", "story_merges").collect().height == 0


def test_an_article_read_again_with_another_storys_text_joins_it_and_merges_nothing(tmp_path):
    one = _stories(_night(tmp_path, 1, [S_WIRE, S_O1, X, *STORY_T]))
    s_id, t_id = one["s-wire"][0], one["t-orig"][0]
    two = _night(tmp_path, 2, [article("x", "Outlet 2", T[:9], f"{DAYS[1]}T08:00:00Z")])
    stories = _stories(two)
    assert stories["x"] == stories["t-orig"] == stories["t-o3"] == (t_id, "grew")
    # S lost x: what is left of it is output under its id, as any story tonight touched
    assert stories["s-wire"] == stories["s-o1"] == (s_id, "unchanged")
    _no_merge(tmp_path, two)


def test_a_story_keeps_its_id_with_its_stored_article_when_its_other_article_moves(tmp_path):
    # S = {s-wire, x}: x (read again, now with T's text) is no claim on S against s-wire, stored in S (by
    # count, a tie: T's cluster, whose content id sorts first, would take S too and merge the two)
    one = _stories(_night(tmp_path, 1, [S_WIRE, X, *STORY_T]))
    assert one["x"][0] == one["s-wire"][0]
    two = _night(tmp_path, 2, [article("x", "Outlet 2", T[:9], f"{DAYS[1]}T08:00:00Z")])
    stories = _stories(two)
    assert stories["x"] == stories["t-orig"] == (one["t-orig"][0], "grew")
    assert stories["s-wire"] == (one["s-wire"][0], "unchanged")
    _no_merge(tmp_path, two)


def test_an_article_read_again_with_an_unrelated_text_leaves_its_story(tmp_path):
    s_id = _stories(_night(tmp_path, 1, [S_WIRE, S_O1, X]))["s-wire"][0]
    two = _night(tmp_path, 2, [article("x", "Outlet 2", make_story(43, 8), f"{DAYS[1]}T08:00:00Z")])
    stories = _stories(two)
    assert stories["s-wire"] == stories["s-o1"] == (s_id, "unchanged")
    assert stories["x"][0] != s_id and stories["x"][1] == "split"
    assert two.summary["history"]["split"] == [{"story_id": stories["x"][0], "split_from": [s_id]}]


def test_an_article_read_again_alone_keeps_its_story(tmp_path):
    # nothing else of its story in the window: its story goes on with it, whatever its text
    one = _stories(_night(tmp_path, 1, [article("x", "Outlet 2", S, f"{DAYS[0]}T08:00:00Z"),
                                        article("u", "Local", make_story(44, 10), f"{DAYS[0]}T09:00:00Z")]))
    two = _night(tmp_path, 2, [article("x", "Outlet 2", make_story(43, 8), f"{DAYS[1]}T08:00:00Z")])
    assert _stories(two) == {"x": (one["x"][0], "updated")}


def test_an_article_read_again_that_was_a_story_of_its_own_joins_another_without_a_merge(tmp_path):
    # x's story has nothing else in the window: it simply loses x, which bridges nothing
    one = _stories(_night(tmp_path, 1, [article("x", "Outlet 2", S, f"{DAYS[0]}T08:00:00Z"), *STORY_T]))
    two = _night(tmp_path, 2, [article("x", "Outlet 2", T[:9], f"{DAYS[1]}T08:00:00Z")])
    stories = _stories(two)
    assert stories["x"] == stories["t-orig"] == stories["t-o3"] == (one["t-orig"][0], "grew")
    assert len(stories) == 3
    _no_merge(tmp_path, two)


def test_a_feed_sending_two_stories_again_with_one_article_moved_merges_nothing(tmp_path):
    # every article of S and T read again (no stored one loaded): s-o1, now with T's text, moves to T;
    # s-wire, sent again unchanged, keeps S as a stored article would
    one = _stories(_night(tmp_path, 1, [S_WIRE, S_O1, *STORY_T]))
    s_id, t_id = one["s-wire"][0], one["t-orig"][0]
    moved = article("s-o1", "Outlet 1", T[:9], f"{DAYS[0]}T07:00:00Z")
    stories = _stories(two := _night(tmp_path, 2, [S_WIRE, moved, *STORY_T]))
    assert stories["s-o1"][0] == stories["t-orig"][0] == stories["t-o3"][0] == t_id
    assert stories["s-wire"][0] == s_id and stories["s-wire"][1] != "split"
    assert two.summary["history"]["split"] == []
    _no_merge(tmp_path, two)


def test_an_article_sent_again_unchanged_keeps_its_story_over_a_rewritten_one(tmp_path):
    # both sent again alone, one of them rewritten: the unchanged one counts as stored, whichever
    # cluster's content id sorts first
    orig = article("orig", "Wire", S, f"{DAYS[0]}T06:00:00Z")
    one = _stories(_night(tmp_path, 1, [orig, article("b1", "Outlet 1", S[:8], f"{DAYS[0]}T07:00:00Z")]))
    two = _night(tmp_path, 2, [orig, article("b1", "Outlet 1", make_story(43, 8), f"{DAYS[0]}T07:00:00Z")])
    stories = _stories(two)
    assert stories["orig"] == (one["orig"][0], "unchanged")   # sent again unchanged: no new article
    assert stories["b1"][0] != one["orig"][0] and stories["b1"][1] == "split"


def test_articles_read_again_with_other_texts_continue_one_story_and_merge_nothing(tmp_path):
    # x and y, each a story of its own, are both rewritten to one new text: their cluster continues
    # one of their stories (the oldest, then the smallest id), never both
    one = _stories(_night(tmp_path, 1, [article("x", "Outlet 2", S, f"{DAYS[0]}T08:00:00Z"),
                                        article("y", "Outlet 3", T, f"{DAYS[0]}T09:00:00Z")]))
    new_text = make_story(45, 10)
    two = _night(tmp_path, 2, [article("x", "Outlet 2", new_text, f"{DAYS[1]}T08:00:00Z"),
                               article("y", "Outlet 3", new_text[:9], f"{DAYS[1]}T09:00:00Z")])
    stories = _stories(two)
    assert stories["x"][0] == stories["y"][0] == min(one["x"][0], one["y"][0])
    _no_merge(tmp_path, two)


W = make_story(46, 14)


def test_a_story_split_in_equal_halves_stays_with_the_half_tonight_joined(tmp_path):
    # the wire that joined a1 and b1 leaves the 2-day window; c joins a1: a1's half keeps the id
    # (b1's half sorts first by content id), and b1's, which nothing tonight touches, stays in it (the
    # window splits no stored story); had b1's half kept the id, a1's would have been split off
    days = ("2026-11-23", "2026-11-25", "2026-11-26")
    folder = write_jsonl(tmp_path / "in1" / "a.jsonl", [
        article("w", "Wire", W, f"{days[0]}T05:00:00Z"),
        article("a1", "Alpha", W[:7], f"{days[1]}T06:00:00Z"),
        article("b1", "Beta", W[7:], f"{days[1]}T07:00:00Z")]).parent
    one = _stories(run([folder], tmp_path / "out1", state_dir=tmp_path / "state", night=days[1], window="2d"))
    folder = write_jsonl(tmp_path / "in2" / "a.jsonl", [article("c", "Gamma", W[:6], f"{days[2]}T09:00:00Z")]).parent
    two = run([folder], tmp_path / "out2", state_dir=tmp_path / "state", night=days[2], window="2d")
    stories = _stories(two)
    assert stories["a1"] == stories["c"] == stories["b1"] == (one["a1"][0], "grew")
    assert two.summary["history"]["split"] == []
    assert two.summary["history"]["grew"] == [{"story_id": one["a1"][0], "outlets_before": 3,
                                               "new_outlets": ["Gamma"]}]


def test_a_story_split_in_equal_halves_stays_with_the_half_holding_its_canonical(tmp_path):
    # w, the canonical that joined a1 and b1, is sent again with a1's half only: it counts for no
    # story, a1 and b1 one each, and both halves have an article tonight; w's half keeps the id
    # (b1's half sorts first by content id)
    one = _stories(_night(tmp_path, 1, [article("w", "Wire", W, f"{DAYS[0]}T05:00:00Z"),
                                        article("a1", "Alpha", W[:7], f"{DAYS[0]}T06:00:00Z"),
                                        article("b1", "Beta", W[7:], f"{DAYS[0]}T07:00:00Z")]))
    assert one["w"][0] == one["a1"][0] == one["b1"][0]
    two = _night(tmp_path, 2, [article("w", "Wire", W[:7], f"{DAYS[0]}T05:00:00Z"),
                               article("c", "Gamma", W[7:13], f"{DAYS[1]}T09:00:00Z")])
    stories = _stories(two)
    assert stories["w"][0] == stories["a1"][0] == one["w"][0]
    assert stories["b1"][0] == stories["c"][0] != one["w"][0] and stories["c"][1] == "split"
    _no_merge(tmp_path, two)


def test_the_unknown_outlet_is_new_to_a_story_once_and_counts_among_its_outlets(tmp_path):
    # articles naming no outlet (none given, no URL) have one outlet, the unknown one (null), another
    # than every named one: it is new to a story once, and counts among the outlets it had
    s_id = _stories(_night(tmp_path, 1, [S_WIRE, S_O1]))["s-wire"][0]
    two = _night(tmp_path, 2, [article("anon-1", None, S[1:9], f"{DAYS[1]}T08:00:00Z"),
                               article("d", "Delta", S[:9], f"{DAYS[1]}T09:00:00Z")])
    assert set(_stories(two).values()) == {(s_id, "grew")}
    assert two.summary["history"]["grew"] == [{"story_id": s_id, "outlets_before": 2,
                                               "new_outlets": ["Delta", None]}]
    assert "1 story grew (2 new outlets, 1 unknown)" in history_notes(two.summary)[0]
    three = _night(tmp_path, 3, [article("anon-2", None, S[2:10], f"{DAYS[2]}T08:00:00Z"),
                                 article("g", "Gamma", S[1:10], f"{DAYS[2]}T09:00:00Z")])
    assert three.summary["history"]["grew"] == [{"story_id": s_id, "outlets_before": 4, "new_outlets": ["Gamma"]}]


def test_the_report_says_a_story_grew_by_an_unknown_outlet():
    history = {"night": DAYS[1], "window": "7d", "prior_in_window": 2, "stories": {"grew": 1},
               "grew": [{"story_id": "s-1", "outlets_before": 2, "new_outlets": [None]}]}
    assert "1 story grew (1 new outlet, an unknown one)" in history_notes({"history": history})[0]
