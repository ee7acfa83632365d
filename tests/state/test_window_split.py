"""A window sliding on its own splits no stored story: an article whose only link to its story left the
window stays in the story (folded into the cluster continuing it) when nothing tonight touches it; a part
of a story that tonight's articles join apart from the rest still splits off, and its ``split_from`` note
names the story it was split off (by its story id)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from dedup import run
from dedup.cluster import cluster_id_for
from dedup.state import read_table
from tests.conftest import article, make_story, write_jsonl
from tests.state.corpus import output_files

DAYS = ("2026-10-01", "2026-10-02", "2026-10-03")
A, B = make_story(51, 16), make_story(52, 6)
# Night 1: the wire. Night 2: a late copy of A's end (contained in the wire only), a page of A's start and
# all of B, and B's wire: a1, late and page are one story. Night 3 (2-day window): a1 has left the window.
NIGHT_1 = [article("a1", "Wire", A, f"{DAYS[0]}T10:00:00Z")]
NIGHT_2 = [article("b1", "Other Wire", B, f"{DAYS[1]}T10:00:00Z"),
           article("page", "Bridge Daily", A[:10] + B, f"{DAYS[1]}T10:00:00Z"),
           article("late", "Late Daily", A[10:], f"{DAYS[1]}T10:00:00Z")]


def _night(tmp_path, n, records, out=None):
    folder = write_jsonl(tmp_path / "in" / DAYS[n - 1] / "a.jsonl", records).parent
    return run([folder], out or tmp_path / f"out{n}", state_dir=tmp_path / "state", night=DAYS[n - 1],
               window="2d", retention="2d")


def _two_nights(tmp_path, extra=()) -> str:
    _night(tmp_path, 1, NIGHT_1)
    two = _night(tmp_path, 2, NIGHT_2 + list(extra))
    stories = dict(two.clusters.select("article_id", "cluster_id").iter_rows())
    assert stories["a1"] == stories["late"] == stories["page"], "night 2 should join a1, late and page"
    return stories["a1"]


def _story_of(tmp_path, night) -> dict[str, tuple[str, str]]:
    rows = read_table(tmp_path / "state", "assignments").collect().filter(pl.col("night") == pl.date(2026, 10, night))
    return {a: (s, st) for a, s, st in rows.select("article_id", "story_id", "story_status").iter_rows()}


def _counts_agree(result):
    """history.stories / singletons by status = the output clusters' statuses."""
    frame = result.clusters.unique("cluster_id")
    for key, sized in (("stories", pl.col("cluster_size") >= 2), ("singletons", pl.col("cluster_size") < 2)):
        counted = Counter(frame.filter(sized)["story_status"].to_list())
        assert {s: n for s, n in result.summary["history"][key].items() if n} == dict(counted)


def test_an_article_whose_only_link_left_the_window_keeps_its_story(tmp_path):
    s_id = _two_nights(tmp_path)
    three = _night(tmp_path, 3, [article("c1", "Copy Daily", B[:5], f"{DAYS[2]}T10:00:00Z")])
    stories = _story_of(tmp_path, 3)
    assert stories["late"][0] == s_id
    assert stories["late"] == stories["page"] == stories["c1"]
    assert three.summary["history"]["split"] == []
    clusters = three.clusters
    # one cluster per story id: the late copy is a member of its story's cluster, with that cluster's canonical
    late = clusters.filter(pl.col("article_id") == "late").row(0, named=True)
    story = clusters.filter(pl.col("cluster_id") == s_id)
    assert late["cluster_size"] == story.height == 4 and story["canonical_id"].n_unique() == 1
    assert not late["is_canonical"] and late["canonical_id"] == story["canonical_id"][0] != "late"
    assert late["note"] is None and late["similarity"] is not None and late["jaccard"] is not None
    assert story["n_outlets"].unique().to_list() == [4]
    assert clusters.filter(pl.col("cluster_id") == s_id)["story_status"].unique().to_list() == ["grew"]
    _counts_agree(three)


def test_a_rerun_of_the_night_that_keeps_an_article_in_its_story_is_identical(tmp_path):
    _two_nights(tmp_path)
    c1 = [article("c1", "Copy Daily", B[:5], f"{DAYS[2]}T10:00:00Z")]
    _night(tmp_path, 3, c1, out=tmp_path / "first")
    first = _story_of(tmp_path, 3)
    _night(tmp_path, 3, c1, out=tmp_path / "again")
    assert _story_of(tmp_path, 3) == first
    assert output_files(tmp_path / "first") == output_files(tmp_path / "again")


def test_an_article_sent_again_unchanged_whose_link_left_the_window_keeps_its_story(tmp_path):
    s_id = _two_nights(tmp_path)
    three = _night(tmp_path, 3, [NIGHT_2[2], article("c1", "Copy Daily", B[:5], f"{DAYS[2]}T10:00:00Z")])
    stories = _story_of(tmp_path, 3)
    assert stories["late"][0] == stories["page"][0] == s_id
    assert three.clusters.filter(pl.col("article_id") == "late")["is_new"].to_list() == [True]
    assert three.summary["history"]["split"] == []
    _counts_agree(three)


def test_a_late_copy_joined_tonight_takes_the_rest_of_its_story_along_on_an_equal_count(tmp_path):
    # tonight a copy of the late article joins it, nothing joins the page: one stored article each,
    # the late one's cluster (tonight joined it) continues the story and the page stays in it
    s_id = _two_nights(tmp_path)
    three = _night(tmp_path, 3, [article("l2", "Later Daily", A[10:], f"{DAYS[2]}T10:00:00Z")])
    stories = _story_of(tmp_path, 3)
    assert stories["late"][0] == stories["l2"][0] == stories["page"][0] == s_id
    assert three.summary["history"]["split"] == []
    _counts_agree(three)


def test_a_part_of_a_story_tonight_joins_apart_from_more_of_it_still_splits_off(tmp_path):
    # a second page keeps two stored articles together without the late one; tonight's copy joins the
    # late one only: the part holding tonight's article is split off (tonight's evidence), the rest keeps
    # the id
    s_id = _two_nights(tmp_path, [article("page2", "Bridge Weekly", A[:10] + B[:3], f"{DAYS[1]}T11:00:00Z")])
    three = _night(tmp_path, 3, [article("l2", "Later Daily", A[10:], f"{DAYS[2]}T10:00:00Z")])
    stories = _story_of(tmp_path, 3)
    assert stories["page"][0] == stories["page2"][0] == s_id
    assert stories["late"] == stories["l2"] and stories["late"][0] != s_id and stories["late"][1] == "split"
    assert three.summary["history"]["split"] == [{"story_id": stories["late"][0], "split_from": [s_id]}]
    _counts_agree(three)


def test_a_part_published_before_the_continuing_canonical_still_splits_off(tmp_path):
    # the late copy (09:00) is earlier than the page (10:00) that becomes the continuing cluster's
    # canonical: folded in, it would be a member earlier than its story's canonical
    _night(tmp_path, 1, NIGHT_1)
    late = article("late", "Late Daily", A[10:], f"{DAYS[1]}T09:00:00Z")
    two = _night(tmp_path, 2, [r for r in NIGHT_2 if r["id"] != "late"] + [late])
    s_id = two.clusters.filter(pl.col("article_id") == "a1")["cluster_id"][0]
    three = _night(tmp_path, 3, [article("c1", "Copy Daily", B[:5], f"{DAYS[2]}T10:00:00Z")])
    stories = _story_of(tmp_path, 3)
    assert stories["late"][0] != stories["page"][0] and stories["late"][1] == "split"
    assert [s["split_from"] for s in three.summary["history"]["split"]] == [[s_id]]
    for cid, frame in three.clusters.group_by("cluster_id"):
        canonical = frame.filter(pl.col("is_canonical"))["published"][0]
        assert frame["published"].min() == canonical, cid


def _stitched_page_night(tmp_path):
    """Night 1: a story; night 2: a page dated before every stored copy of it (becoming the story's
    canonical), which the stored copy of the story's end (m3) does not match. Night 2's result."""
    story, other = make_story(61, 16), make_story(62, 8)
    _night(tmp_path, 1, [article("c", "Wire", story, f"{DAYS[0]}T10:00:00Z"),
                         article("m1", "Daily One", story[:8], f"{DAYS[0]}T11:00:00Z"),
                         article("m2", "Daily Two", story[:9], f"{DAYS[0]}T12:00:00Z"),
                         article("m3", "Daily Three", story[10:], f"{DAYS[0]}T13:00:00Z")])
    return _night(tmp_path, 2, [article("n", "Stitch Post", story[:10] + other[:4], f"{DAYS[0]}T08:00:00Z")])


def test_a_stored_article_the_chaining_guard_splits_off_tonight_is_not_folded_back(tmp_path):
    # the chaining guard splits m3 off the page, and it stays split
    two = _stitched_page_night(tmp_path)
    m3 = two.clusters.filter(pl.col("article_id") == "m3").row(0, named=True)
    assert m3["cluster_size"] == 1 and m3["note"].startswith("split_from")
    _counts_agree(two)


def test_a_split_from_note_names_the_story_the_articles_were_split_from(tmp_path):
    # the story keeps its id (that of its first canonical, c) while the page is its canonical now:
    # m3's note names that id, as history.split does, not the page's content id (no story's)
    two = _stitched_page_night(tmp_path)
    stories = dict(two.clusters.select("article_id", "cluster_id").iter_rows())
    assert stories["n"] == stories["c"] != cluster_id_for("n")
    m3 = two.clusters.filter(pl.col("article_id") == "m3").row(0, named=True)
    assert m3["note"] == f"split_from: matched {stories['c']} only through other articles"
    assert two.summary["history"]["split"] == [{"story_id": stories["m3"], "split_from": [stories["c"]]}]
    named = two.clusters["note"].str.extract(r"^split_from: matched (\S+)", 1).drop_nulls()
    assert set(named) <= set(stories.values())


def test_a_split_from_note_names_a_story_tonight_does_not_output(tmp_path):
    # a page copying the end of a (a's own addition to the story) is split off the story, whose
    # canonical (e, late and earlier-dated, since night 2) it does not match; the story, which nothing
    # else tonight joined, is not output: the note names its id, which night 2 gave, not e's content id
    story, other = make_story(61, 16), make_story(62, 8)
    nights = [[article("c", "Wire", story, f"{DAYS[0]}T10:00:00Z"),
               article("a", "Daily A", story[:10] + other[:6], f"{DAYS[0]}T11:00:00Z")],
              [article("e", "Early", story, f"{DAYS[0]}T08:00:00Z")],
              [article("t", "Tee", other[:6] + make_story(63, 2), f"{DAYS[2]}T08:00:00Z")]]
    results = [run([write_jsonl(tmp_path / "in" / day / "a.jsonl", records).parent], tmp_path / f"out-{day}",
                   state_dir=tmp_path / "state", night=day) for day, records in zip(DAYS, nights)]
    s_id = results[1].clusters.filter(pl.col("article_id") == "e")["cluster_id"][0]
    assert s_id != cluster_id_for("e")
    assert results[2].clusters.select("article_id", "note").rows() == [
        ("t", f"split_from: matched {s_id} only through other articles")]


def test_no_split_from_note_names_the_rows_own_story(tmp_path):
    """The wire leaves the window; the guard splits the second-half copies off a first-half copy published at
    the same minute, and the first half, holding no article of tonight, is folded back into the story the second
    half continues: nothing is split, and no note says the rows were split off their own story."""
    from dedup.config import ClusterConfig, Config
    story = make_story(53, 16)
    first, second = story[:8], story[8:]
    days = ("2026-10-20", "2026-10-22")
    night_1 = [article("w", "W", story, "2026-10-17T09:00:00Z"), article("x1", "X One", first, f"{days[0]}T09:00:00Z"),
               article("x2", "X Two", first, f"{days[0]}T10:00:00Z"), article("m", "M", story, f"{days[0]}T11:00:00Z"),
               *(article(f"y{k}", f"Y{k}", second, f"{days[0]}T{h}:00Z") for k, h in
                 ((1, "09:00"), (2, "10:00"), (3, "10:30"), (4, "11:30")))]
    night_2 = [article("yn", "YN", second, f"{days[1]}T08:00:00Z")]
    config = Config(cluster=ClusterConfig(wire_outlets=["X One"]))
    for day, records in zip(days, (night_1, night_2)):
        folder = write_jsonl(tmp_path / "in" / day / "a.jsonl", records).parent
        result = run([folder], tmp_path / f"out-{day}", config=config, state_dir=tmp_path / "state", night=day,
                     window="3d")
    own = [(a, note) for a, cid, note in result.clusters.select("article_id", "cluster_id", "note").iter_rows()
           if note == f"split_from: matched {cid} only through other articles"]
    assert own == []
    assert result.summary["history"]["split"] == []
