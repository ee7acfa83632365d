"""The night's lookups into the story history read only the nights that can hold the answer.

Each is checked against the straightforward lookup over every night (the code before they were
bounded) on a hand-built state with a merge chain: story T merged into S on night 3, S into R on
night 4, and articles whose latest row still names T or S.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dedup.state import Store, read_table
from dedup.state.history import StoryHistory
from dedup.state.store import TABLES, Manifest
from tests.state.corpus import NIGHTS
from tests.test_state import _night

N0, N1, N2, N3, N4 = (date(2026, 11, d) for d in (1, 2, 3, 4, 5))

# (night, article, outlet, story, story's first night)
ASSIGNMENTS = [
    (N0, "r1", "Outlet R", "R", N0),
    (N1, "a1", "Outlet A", "S", N1), (N1, "c1", "Outlet C", "U", N1),
    (N2, "b1", "Outlet B", "T", N2), (N2, "b2", "Outlet B2", "T", N2),
    (N3, "b2", "Outlet B2", "S", N1), (N3, "d1", "Outlet D", "S", N1), (N3, "c1", "Outlet C", "U", N1),
    (N4, "r1", "Outlet R", "R", N0), (N4, "d1", "Outlet D", "R", N0), (N4, "e1", "Outlet E", "R", N0),
]
MERGES = [(N3, "T", "S"), (N4, "S", "R")]
READ = {"r1": N0, "a1": N1, "c1": N1, "b1": N2, "b2": N2, "d1": N3, "e1": N4}


def _frame(table: str, **columns) -> pl.DataFrame:
    """A frame of ``table``'s schema: the given columns, nulls in the others."""
    n = len(next(iter(columns.values())))
    return pl.DataFrame({name: columns.get(name, [None] * n) for name in TABLES[table]}, schema=TABLES[table])


@pytest.fixture
def state(tmp_path):
    store = Store(tmp_path / "state")
    tables: dict[str, dict[str, str]] = {t: {} for t in TABLES}
    nights = sorted({n for n, *_ in ASSIGNMENTS})
    for version, night in enumerate(nights, 1):
        key = night.isoformat()
        rows = [r for r in ASSIGNMENTS if r[0] == night]
        tables["assignments"][key] = store.write_file("assignments", key, version, _frame(
            "assignments", night=[r[0] for r in rows], article_id=[r[1] for r in rows], outlet=[r[2] for r in rows],
            story_id=[r[3] for r in rows], canonical_id=[r[1] for r in rows],
            story_first_night=[r[4] for r in rows], story_status=["new"] * len(rows)))
        read = sorted(a for a, n in READ.items() if n == night)
        tables["articles"][key] = store.write_file("articles", key, version, _frame(
            "articles", article_id=read, night=[night] * len(read), first_seen_night=[night] * len(read)))
        merges = [m for m in MERGES if m[0] == night]
        if merges:
            tables["story_merges"][key] = store.write_file("story_merges", key, version, pl.DataFrame(
                merges, schema=["night", "merged_id", "into_id"], orient="row"))
    store.commit(Manifest(version=len(nights), parent=None, night=nights[-1].isoformat(), fingerprint="x",
                          parameters={}, dedup_version="test", tables=tables))
    return StoryHistory(store, store.manifest())


def _everything(night: StoryHistory, ids: list[str]) -> pl.DataFrame:
    """The reference: latest rows over every night, the first night of each resolved story over every night."""
    ids = pl.Series(ids, dtype=pl.String)
    latest = (night.store.scan(night.base, "assignments").filter(pl.col("article_id").is_in(ids.implode()))
              .select("article_id", "night", "story_id").sort("night").unique("article_id", keep="last").collect())
    prev = night.resolve(latest["story_id"])
    firsts = (night.store.scan(night.base, "assignments").filter(pl.col("story_id").is_in(prev.implode()))
              .group_by("story_id").agg(pl.col("story_first_night").min()).collect())
    seen = (night.store.scan(night.base, "articles").filter(pl.col("article_id").is_in(ids.implode()))
            .group_by("article_id").agg(pl.col("first_seen_night").min()).collect())
    return (latest.with_columns(prev_story=prev).join(firsts, left_on="prev_story", right_on="story_id")
            .join(seen, on="article_id").select("article_id", "prev_story", "story_first_night", "first_seen_night")
            .sort("article_id"))


def test_merged_stories_take_the_first_night_of_the_story_they_live_on_in(state):
    got = state.current_stories(pl.Series(list(READ)), N0).sort("article_id")
    assert got.rows() == _everything(state, list(READ)).drop("first_seen_night").rows()
    # b1's latest row names T (merged into S, then S into R): R's first night, read on a merge night
    assert got.row(by_predicate=pl.col("article_id") == "b1") == ("b1", "R", N0)
    assert got.row(by_predicate=pl.col("article_id") == "a1") == ("a1", "R", N0)


def test_ids_seen_before_come_from_one_scan_of_the_assignments(state):
    ids = ["a1", "b1", "b2", "zz-new"]
    got = state.seen_before(pl.Series(ids)).sort("article_id")
    expected = _everything(state, ids)
    assert got.select(expected.columns).rows() == expected.rows()
    assert got["first_seen_night"].to_list() == [N1, N2, N2]
    # the night and outlet of each id's latest row: the article the state holds under the id
    every = state.store.scan(state.base, "assignments").filter(pl.col("article_id").is_in(ids)).collect()
    latest = every.sort("night").group_by("article_id").agg(pl.col("night", "outlet").last()).sort("article_id")
    assert got.select("article_id", "latest_night", "latest_outlet").rows() == latest.rows()


@pytest.mark.parametrize("wanted", [["R"], ["U"], ["R", "U"]])
def test_outlets_before_read_the_nights_from_the_oldest_wanted_story(state, wanted):
    known = state.current_stories(pl.Series(list(READ)), N0)
    every = state.store.scan(state.base, "assignments").collect()
    final = state.final_ids()
    expected: dict[str, set[str]] = {}
    for story, outlet in every.select("story_id", "outlet").rows():
        story = final.get(story, story)
        if story in wanted:
            expected.setdefault(story, set()).add(outlet)
    assert state.outlets_before(wanted, known) == expected
    if wanted == ["U"]:   # U was first given on N1: nights before it are not read, and nothing is missed
        assert expected == {"U": {"Outlet C"}}


def test_every_article_read_on_a_night_has_an_assignment_that_night(tmp_path):
    """What StoryHistory.seen_before rests on, on a state built by real runs (three nights, a merge)."""
    for n in (1, 2, 3):
        _night(tmp_path, n)
    store = Store(tmp_path / "state")
    head = store.manifest()
    articles = store.scan(head, "articles").select("article_id", "night", "first_seen_night").collect()
    assigned = store.scan(head, "assignments").select("article_id", "night").collect()
    assert articles.join(assigned, on=["article_id", "night"], how="anti").height == 0
    first = assigned.group_by("article_id").agg(pl.col("night").min().alias("first"))
    both = articles.join(first, on="article_id")
    assert both.height == articles.height and (both["first"] == both["first_seen_night"]).all()
    assert [d.isoformat() for d in sorted(set(articles["night"]))] == list(NIGHTS[:3])


def test_a_story_not_written_on_its_merge_night_is_looked_up_on_every_night(state, tmp_path):
    """The fallback: a merge recorded on a night whose assignments lack the surviving story."""
    import dataclasses

    store = state.store
    head = store.manifest()
    key = N3.isoformat()
    rows = store.scan(head, "assignments", key.__eq__).collect().filter(pl.col("story_id") != "S")
    tables = {t: dict(files) for t, files in head.tables.items()}
    tables["assignments"][key] = store.write_file("assignments", key, head.version + 1, rows)
    store.commit(dataclasses.replace(head, version=head.version + 1, parent=head.version, tables=tables))
    firsts = StoryHistory(store, store.manifest()).merged_first_nights(pl.Series(["S", "R"]))
    assert sorted(firsts.rows()) == [("R", N0), ("S", N1)]


def test_older_unrelated_history_changes_no_output(tmp_path):
    """A night against a state padded with older nights of other stories (benchmarks/bench_history.py's
    padding: pruned articles and assignments, ids prefixed) writes the same files as without them."""
    from benchmarks.bench_history import pad
    from dedup import run
    from tests.state.corpus import output_files, write_night

    for n in (1, 2):
        _night(tmp_path, n)
    state = tmp_path / "state"
    built = pad(state, tmp_path / "padded", Store(state).manifest().version, extra=5)
    assert built["nights"] == 7 and built["synthetic_assignment_rows"] > 0
    folder = write_night(tmp_path, 3)
    outs = []
    for where in (state, tmp_path / "padded"):
        out = tmp_path / f"out-{where.name}"
        run([folder], out, state_dir=where, night=NIGHTS[2], window="1d")   # the padding is before the window
        outs.append(output_files(out))
    assert outs[0] == outs[1]
    history = read_table(tmp_path / "padded", "assignments").collect()
    assert history["article_id"].str.starts_with("h0000-").any()   # the padded nights were there to read
