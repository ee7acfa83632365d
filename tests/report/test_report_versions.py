"""How the report shows one outlet's version: its own spelling of kept sentences, merged and split
sentences, and a story whose articles name no outlet (page data and terminal summary)."""

from __future__ import annotations

import polars as pl

from dedup.report import render_report, render_summary
from dedup.schema import CLUSTERS, SENTENCES, conform
from tests.report.conftest import _article, _s
from tests.report.pages import _data

WIRE = ["LISBON (Wire) -", "The council approved a housing plan on Monday.", "It will build 4,000 homes by 2030.",
        "Critics said the budget was too small. Rents have doubled."]
SHOUTED = "IT will build 4,000  homes by 2030."   # kept: differs from WIRE[2] in case and spacing only
MERGED = "The council approved a housing plan on Monday and it will build 4,000 homes by 2030."
JOINED = WIRE[0] + " " + WIRE[1]            # the dateline joined to the next sentence: the same words
HALVES = ["Critics said the budget was too small.", "Rents have doubled."]


def _diff(*ops: tuple[str, str]) -> list[dict]:
    return [{"op": op, "text": text} for op, text in ops]


def plan_frames(frames: dict) -> dict:
    """``frames`` with a story, ``c-plan``, of a wire text and four versions: ``kep`` keeps every
    sentence, one in its own spelling; ``mer`` merges sentences 1 and 2 with a change of words; ``joi``
    joins the dateline to sentence 1 with no change of words; ``spl`` splits sentence 3 in two."""
    outlets = {"w-1": "Wire", "kep": "Kept Daily", "mer": "Merge Times", "joi": "Join Courier", "spl": "Split Herald"}
    clusters = [_article("c-plan", aid, outlet, f"Plan ({outlet})", 14 + k, None, k == 0, 5, 5)
                for k, (aid, outlet) in enumerate(outlets.items())]
    for row in clusters:
        row["canonical_id"] = "w-1"
    rows = [_s("c-plan", "w-1", "Wire", "kept", i, t, i, i) for i, t in enumerate(WIRE)]
    rows += [_s("c-plan", "kep", "Kept Daily", "kept", i, SHOUTED if i == 2 else t, i, i) for i, t in enumerate(WIRE)]
    rows += [
        _s("c-plan", "mer", "Merge Times", "kept", 0, WIRE[0], 0, 0),
        _s("c-plan", "mer", "Merge Times", "edited", 1, MERGED, 1, 1, 0.9,
           _diff(("=", "The council approved a housing plan on Monday"), ("-", ". It"), ("+", " and it"),
                 ("=", " will build 4,000 homes by 2030."))),
        _s("c-plan", "mer", "Merge Times", "kept", 2, WIRE[3], 3, 3),
        _s("c-plan", "joi", "Join Courier", "edited", 0, JOINED, 0, 0, 0.9, _diff(("=", JOINED))),
        _s("c-plan", "joi", "Join Courier", "kept", 1, WIRE[2], 2, 2),
        _s("c-plan", "joi", "Join Courier", "kept", 2, WIRE[3], 3, 3),
        *[_s("c-plan", "spl", "Split Herald", "kept", i, t, i, i) for i, t in enumerate(WIRE[:3])],
        _s("c-plan", "spl", "Split Herald", "edited", 3, HALVES[0], 3, 3, 0.9, _diff(("=", HALVES[0]))),
        _s("c-plan", "spl", "Split Herald", "edited", 4, HALVES[1], 3, 3, 0.9, _diff(("-", " "), ("=", HALVES[1]))),
    ]
    sentences = conform(pl.DataFrame(rows, schema_overrides={"word_diff": SENTENCES["word_diff"]}), SENTENCES,
                        "test sentences")
    return {**frames, "clusters": pl.concat([frames["clusters"], conform(pl.DataFrame(clusters), CLUSTERS, "test")]),
            "sentences": pl.concat([frames["sentences"], sentences])}


def without_outlets(frames: dict, cluster_id: str = "c-vote") -> dict:
    """``frames`` with the articles of ``cluster_id`` naming no outlet (and no URL host): n_outlets is 0."""
    story = pl.col("cluster_id") == cluster_id
    clusters = frames["clusters"].with_columns(
        *(pl.when(story).then(None).otherwise(pl.col(c)).alias(c) for c in ("outlet", "url")),
        pl.when(story).then(0).otherwise(pl.col("n_outlets")).alias("n_outlets"))
    return {**frames, "clusters": clusters}


def _entries(frames: dict) -> dict[str, list]:
    overview, details = _data(render_report(**plan_frames(frames)))
    detail = details[[s["id"] for s in overview["stories"]].index("c-plan")]
    return {article["h"].split("(")[1].rstrip(")"): article["r"] for article in detail["a"]}


def test_a_kept_sentence_carries_the_outlets_own_spelling_only_where_it_differs(frames):
    entries = _entries(frames)
    assert entries["Kept Daily"] == [0, 1, ["k", 2, SHOUTED], 3]
    assert entries["Wire"] == [0, 1, 2, 3]


def test_a_sentence_merged_into_the_one_before_is_carried_by_that_entry(frames):
    """The merged canonical sentence is named in the entry that holds it, and the word diff is replayed
    against both canonical sentences: it spells them, so it is sent compactly."""
    entries = _entries(frames)
    assert entries["Merge Times"] == [0, ["e", 1, [len("The council approved a housing plan on Monday"), -len(". It"),
                                                   " and it", len(" will build 4,000 homes by 2030.")], 2], 3]
    assert entries["Join Courier"] == [["e", 0, [len(JOINED)], 1], 2, 3]


def test_the_halves_of_a_split_sentence_are_entries_of_the_same_sentence_and_merge_nothing(frames):
    assert _entries(frames)["Split Herald"] == [0, 1, 2, ["E", 3, [["=", HALVES[0]]]],
                                                ["E", 3, [["-", " "], ["=", HALVES[1]]]]]


def test_a_merge_needs_the_next_sentence_missing_from_the_version(frames):
    """A dropped next sentence is dropped, not merged: only a canonical sentence the version has no row
    for is merged into the sentence before it."""
    plan = plan_frames(frames)
    mer = (pl.col("article_id") == "mer") & (pl.col("position") == 1)
    dropped = _s("c-plan", "mer", "Merge Times", "dropped", 2, WIRE[2], 2, 2, None)
    sentences = pl.concat([plan["sentences"].with_columns(
        pl.when(mer).then(pl.lit("The council approved a housing plan on Monday.")).otherwise("text").alias("text"),
        pl.when(mer).then(None).otherwise("word_diff").alias("word_diff"),
        pl.when(mer).then(pl.lit("kept")).otherwise("status").alias("status")),
        conform(pl.DataFrame([dropped], schema_overrides={"word_diff": SENTENCES["word_diff"]}), SENTENCES, "t")])
    overview, details = _data(render_report(**{**plan, "sentences": sentences}))
    detail = details[[s["id"] for s in overview["stories"]].index("c-plan")]
    assert [a["r"] for a in detail["a"] if a["id"] == "mer"] == [[0, 1, -3, 3]]


def test_the_summary_says_unknown_for_a_story_whose_articles_name_no_outlet(frames):
    text = render_summary(frames["summary"], without_outlets(frames)["clusters"], report_path=None, color=False)
    vote = next(line for line in text.splitlines() if "Polls open in capital" in line)
    assert vote.split()[1:3] == ["unknown", "2"]
    quake = next(line for line in text.splitlines() if "Earthquake hits coast" in line)
    assert quake.split()[1:3] == ["4", "4"]


def _plan(frames: dict) -> tuple[dict, dict]:
    """The c-plan story's overview row and detail."""
    overview, details = _data(render_report(**plan_frames(frames)))
    k = [s["id"] for s in overview["stories"]].index("c-plan")
    return overview["stories"][k], details[k]


def test_each_canonical_sentence_counts_once_merged_and_split_ones_as_edited(frames):
    """A canonical sentence merged into the one before is edited (the version changed it), not left
    out of the counts; a split one counts once, not once per half: kept + edited + dropped is the
    canonical's sentence count."""
    _story, detail = _plan(frames)
    counts = {a["h"].split("(")[1].rstrip(")"): a["n"] for a in detail["a"]}
    assert counts == {"Wire": [4, 0, 0, 0], "Kept Daily": [4, 0, 0, 0], "Merge Times": [2, 2, 0, 0],
                      "Join Courier": [2, 2, 0, 0], "Split Herald": [3, 1, 0, 0]}


def test_the_counts_add_up_to_the_canonical_sentences_in_every_story(frames):
    _overview, details = _data(render_report(**plan_frames(frames)))
    for detail in details:
        for article in detail["a"]:
            if article["n"] is not None:
                kept, edited, _added, dropped = article["n"]
                assert kept + edited + dropped == len(detail["c"]), (article["id"], article["n"])


def test_the_share_of_sentences_changed_counts_a_merged_sentence_as_changed(frames):
    """The story's share is the mean over its versions of (edited + added + dropped) over the canonical's
    sentences and the version's added ones: Merge Times changed 2 of 4, Split Herald 1 of 4."""
    story, detail = _plan(frames)
    shares = [(e + a + d) / (len(detail["c"]) + a) for _k, e, a, d in (x["n"] for x in detail["a"][1:])]
    assert sorted(shares) == [0, 1 / 4, 2 / 4, 2 / 4]
    assert story["d"] == round(sum(shares) / len(shares), 3)
