"""An outlet's furniture (lines it prints in several stories of the night) is no evidence of copying."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from polars.testing import assert_frame_equal

from dedup import Config, run
from dedup.align import AlignConfig, align_clusters
from dedup.align.families import provenance
from dedup.align.reuse import story_families
from dedup.errors import ConfigError
from dedup.state import read_table
from tests.align.test_align import OTHER, STORY, articles_and_clusters
from tests.conftest import article, make_story
from tests.state.corpus import NIGHTS, write_night

LIBRARY = [
    "The city council approved plans on Monday to rebuild the central library after last year's fire.",
    "Work is due to start in the spring and should take about two years, the council said.",
    "The new building will have a children's wing and a public archive of local newspapers.",
    "Residents raised 200,000 pounds towards the project at a series of summer fairs.",
]
RIGHTS = "All rights reserved."
BRIEFING = "Subscribe to the Ledger's morning briefing for more local news."
LOCAL = "The mayor of Brighton opened the town hall as a shelter for families without power."


def night():
    """Three stories from a wire. The Gazette and the Ledger end every version with the same rights line,
    the Ledger also with its newsletter line. In the storm story the Ledger copies the Gazette's local
    sentence; in the harbour story the Times reprints the Ledger's version, both lines included."""
    def ledger(story):
        return story + [RIGHTS, BRIEFING]
    return articles_and_clusters({
        "harbour": [("w1", "Wire", OTHER, 0), ("g1", "Gazette", OTHER + [RIGHTS], 10),
                    ("l1", "Ledger", ledger(OTHER), 20), ("t1", "Times", ledger(OTHER), 30)],
        "storm": [("w2", "Wire", STORY, 0), ("g2", "Gazette", STORY + [LOCAL, RIGHTS], 10),
                  ("l2", "Ledger", ledger(STORY + [LOCAL]), 20)],
        "library": [("w3", "Wire", LIBRARY, 0), ("g3", "Gazette", LIBRARY + [RIGHTS], 10),
                    ("l3", "Ledger", ledger(LIBRARY), 20)],
    })


def link_rows(links: pl.DataFrame) -> list[tuple]:
    return sorted(links.select("cluster_id", "first_article_id", "article_id", "n_sentences").rows())


def test_lines_an_outlet_prints_in_every_story_draw_no_link():
    articles, clusters = night()
    result = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    assert link_rows(result.links) == [
        ("harbour", "l1", "t1", 1),   # the Times printed the Ledger's newsletter line: it copied the Ledger
        ("storm", "g2", "l2", 1),     # the Ledger took the Gazette's local sentence
    ]
    # the rights line is the furniture of two outlets: a stock line, furniture for the Times too
    assert result.furniture == {(None, "all rights reserved ."),
                                ("Ledger", "subscribe to the ledger ' s morning briefing for more local news .")}
    # The rows are those of a run without the rule: only the links change.
    off = align_clusters(articles, clusters, config=AlignConfig(workers=1, furniture_min_stories=0))
    assert_frame_equal(off.sentences, result.sentences)
    assert off.furniture == frozenset()
    rights = [("harbour", "g1", "l1", 1), ("harbour", "g1", "t1", 1), ("library", "g3", "l3", 1),
              ("storm", "g2", "l2", 1)]
    assert link_rows(off.links) == sorted(rights + link_rows(result.links))
    # Printed in 3 stories: furniture from 3 stories on, not from 4.
    four = align_clusters(articles, clusters, config=AlignConfig(workers=1, furniture_min_stories=4))
    assert_frame_equal(four.links, off.links)


def test_the_nightly_path_draws_the_same_links():
    articles, clusters = night()
    result = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    blanked = result.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, links = story_families(blanked, clusters, idf=result.idf, furniture=result.furniture)
    assert_frame_equal(links.sort("cluster_id", "family_id", "article_id"), result.links)
    assert_frame_equal(sentences, result.sentences)
    _, unmarked = story_families(blanked, clusters, idf=result.idf)
    assert unmarked.height == result.links.height + 4     # the rights lines again


def test_provenance_skips_the_later_carriers_furniture_only():
    def outlet(rank):
        return ["A", "B", "C"][rank]

    unit = sp.csr_matrix(np.eye(2))   # keys 0 and 1: cosine 0, the same sentence only at a threshold of 0
    never, always = 2.0, 0.0
    # family 9: A and B print it as furniture, C not: C copied it (from A, the earliest holder)
    carried = {9: [(0, 0, True), (1, 0, True), (2, 0, False)]}
    assert provenance(carried, outlet, unit, never) == [(9, 0, 2, 1)]
    # C carries it twice, once as furniture: only the other counts
    carried = {9: [(0, 0, False), (2, 0, False), (2, 1, True)]}
    assert provenance(carried, outlet, unit, always) == [(9, 0, 2, 1)]
    assert provenance({9: [(0, 0, False), (1, 0, True)]}, outlet, unit, never) == []


def test_the_setting_changes_the_run_fingerprint_not_the_one_of_the_stored_rows():
    other = Config().replace(align={"furniture_min_stories": 5})
    assert other.fingerprint() != Config().fingerprint()
    assert other.fingerprint(("align",)) == Config().fingerprint(("align",))


@pytest.mark.parametrize("bad", [-1, True, 2.5, "3"])
def test_furniture_min_stories_must_be_a_whole_number(bad):
    with pytest.raises(ConfigError, match="furniture_min_stories"):
        AlignConfig(furniture_min_stories=bad)


def test_pairs_given_as_furniture_are_added_to_those_counted():
    # The harbour story alone: nothing is printed in 3 stories, so nothing is counted as furniture.
    articles, clusters = night()
    articles = articles.filter(pl.col("article_id").is_in(["w1", "g1", "l1", "t1"]))
    clusters = clusters.filter(pl.col("cluster_id") == "harbour")
    config = AlignConfig(workers=1)
    alone = align_clusters(articles, clusters, config=config)
    assert alone.furniture == alone.found_furniture == frozenset()
    assert link_rows(alone.links) == [("harbour", "g1", "l1", 1), ("harbour", "g1", "t1", 1),
                                      ("harbour", "l1", "t1", 1)]
    rights, briefing = "all rights reserved .", "subscribe to the ledger ' s morning briefing for more local news ."
    # a stock line given: furniture for every outlet
    given = align_clusters(articles, clusters, config=config, furniture={(None, rights)})
    assert link_rows(given.links) == [("harbour", "l1", "t1", 1)]
    assert given.furniture == {(None, rights)} and given.found_furniture == frozenset()
    # an outlet's own line given: the Times' carrying of the newsletter line is no evidence any more
    given = align_clusters(articles, clusters, config=config, furniture={(None, rights), ("Times", briefing)})
    assert given.links.height == 0
    # ... but the Ledger's is not the Times' (its furniture still counts as held by the Ledger)
    given = align_clusters(articles, clusters, config=config, furniture={(None, rights), ("Ledger", briefing)})
    assert link_rows(given.links) == [("harbour", "l1", "t1", 1)]
    # A key nobody prints tonight changes nothing; with the rule off, nothing given is taken either.
    assert_frame_equal(align_clusters(articles, clusters, config=config, furniture={(None, "absent .")}).links,
                       alone.links)
    off = AlignConfig(workers=1, furniture_min_stories=0)
    assert_frame_equal(align_clusters(articles, clusters, config=off, furniture={(None, rights)}).links,
                       alone.links)


def test_a_state_night_takes_the_furniture_its_window_found(tmp_path):
    """Night 1: three wire stories carried by the Gazette and the Ledger, every version ending with the
    rights line (a stock line that night); the Ledger copies the Gazette's local sentence in one. Night 2:
    the Times alone carries one of them late, rights line included. Its story's output holds night 1's
    versions again (copied), but night 2 sees the rights line in one story only: night 1's count decides."""
    stories = {k: make_story(300 + k, 8) for k in range(3)}

    def at(night, hour):
        return f"{NIGHTS[night]}T{hour:02d}:00:00Z"

    one = []
    for k, text in stories.items():
        local = [LOCAL] if k == 1 else []
        one += [article(f"w{k}", "Wire", text, at(0, 6)),
                article(f"g{k}", "Gazette", text + local + [RIGHTS], at(0, 8)),
                article(f"l{k}", "Ledger", text + local + [RIGHTS], at(0, 9))]
    two = [article("t0", "Times", stories[0][:6] + [RIGHTS], at(1, 8))]

    def night(n, records, state="state"):
        return run([write_night(tmp_path / f"in-{n}", n, records)], tmp_path / f"out-{state}-{n}",
                   state_dir=tmp_path / state, night=NIGHTS[n - 1])

    first = night(1, one)
    assert [row[1:] for row in link_rows(first.links)] == [("g1", "l1", 1)]   # the local sentence only
    assert first.summary["history"]["versions_copied"] == 0
    second = night(2, two)
    assert second.summary["history"]["versions_copied"] == 2    # the Gazette's and the Ledger's
    assert second.clusters.filter(pl.col("article_id") == "t0")["cluster_size"].item() == 4
    assert second.links.height == 0     # the rights line: night 1's stock line, for the Times too
    stored = read_table(tmp_path / "state", "furniture").collect()
    assert stored.select(pl.col("night").cast(pl.String), "outlet", "key").rows() == [
        (NIGHTS[0], None, "all rights reserved .")]     # night 2 found none of its own
