"""The HTML report as a file: determinism, self-containment, escaping, data, rebuild from a run folder."""

from __future__ import annotations

import html as html_lib
import json
import re
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from dedup.errors import InputError
from dedup.report import render_report, write_report
from dedup.report.entries import dropped_after
from dedup.report.html import SCRIPTS, csp_hash, script_json
from dedup.report.model import build_model, clean, safe_url
from tests.report.pages import _blocks, _data

QUOTE = '"We felt the whole building shake," a resident said.'


def test_write_report_writes_report_html(tmp_path, frames):
    path = write_report(tmp_path / "out", **frames)
    assert path == tmp_path / "out" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_same_inputs_give_byte_identical_files_whatever_the_row_order(tmp_path, frames):
    first = write_report(tmp_path / "a", **frames).read_bytes()
    again = write_report(tmp_path / "b", **frames).read_bytes()
    shuffled = {**frames, **{k: frames[k].sample(fraction=1.0, shuffle=True, seed=7)
                             for k in ("clusters", "sentences", "links", "rejects")}}
    reordered = write_report(tmp_path / "c", **shuffled).read_bytes()
    assert first == again == reordered


def test_report_is_self_contained(frames):
    html = render_report(**frames)
    for block in _blocks(html).values():  # the data blocks hold payloads as JSON text, checked elsewhere
        html = html.replace(block, "")
    assert not re.search(r"<(link|img|iframe|object|embed|base|svg)\b", html, flags=re.I)
    assert not re.search(r"<[a-z][^<>]*\ssrc\s*=", html, flags=re.I)
    assert "@import" not in html and "url(" not in html
    assert html.count("<script") == 3 and html.count("</script>") == 3


def test_csp_allows_exactly_the_inline_script_and_style(frames):
    html = render_report(**frames)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    csp = html_lib.unescape(csp)
    head = html[: html.index("</head>")]
    assert head.index("Content-Security-Policy") < head.index("<style>")
    script = re.search(r"<script>(.*?)</script>", html, flags=re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == csp_hash(script)
    assert directives["style-src"] == csp_hash(style)
    assert directives["img-src"] == "'none'" and directives["connect-src"] == "'none'"
    assert "unsafe" not in csp


def test_every_static_script_is_inlined_once_in_the_declared_order(frames):
    """static/*.js all go into the page's one script, each whole and once, in SCRIPTS's order, inside one
    strict-mode function: a new file that SCRIPTS does not name fails here instead of missing from the page."""
    static = resources.files("dedup.report") / "static"
    assert sorted(SCRIPTS) == sorted(f.name for f in static.iterdir() if f.name.endswith(".js"))
    script = re.search(r"<script>(.*?)</script>", render_report(**frames), flags=re.DOTALL).group(1)
    texts = [(static / name).read_text(encoding="utf-8") for name in SCRIPTS]
    assert all(script.count(text) == 1 for text in texts)
    assert script == "(function () {\n'use strict';\n\n" + "\n".join(texts) + "})();\n"


def test_no_payload_reaches_the_markup_unescaped(frames, payloads):
    html = render_report(**frames)
    for name in ("script", "img", "close", "svg"):
        assert payloads[name] not in html, name
    for block in _blocks(html).values():
        assert "<" not in block and ">" not in block and "&" not in block
        assert "\u2028" not in block and "\u2029" not in block
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", json.dumps(json.loads(block), ensure_ascii=False)
                             .replace("\\u", "")), "control characters survive"
    assert "javascript:" not in html.lower() and "data:text" not in html  # unsafe URLs are dropped, not shown


def test_script_json_round_trips_and_escapes():
    value = {"s": "</script><!-- & \u2028 \u2029 'x' \"y\"", "l": [1, 2.5, None]}
    text = script_json(value).decode("utf-8")
    assert re.fullmatch(r"[^<>&\u2028\u2029]*", text)
    assert json.loads(text) == value
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    assert json.loads(script_json({"x": float("nan"), "y": [float("inf")]})) == {"x": None, "y": [None]}


def test_nan_similarity_is_shown_as_unknown(frames):
    clusters = frames["clusters"].with_columns(pl.lit(float("nan")).alias("similarity"))
    _overview, details = _data(render_report(**{**frames, "clusters": clusters}))
    assert {a["s"] for d in details for a in d["a"]} == {None}


@pytest.mark.parametrize("url, ok", [
    ("https://example.com/a?b=1&c=2", True), ("http://example.com", True), ("HTTPS://EXAMPLE.COM/", True),
    ("javascript:alert(1)", False), (" javascript:alert(1)", False), ("java\tscript:alert(1)", False),
    ("data:text/html,<b>", False), ("vbscript:x", False), ("//example.com/x", False), ("/relative", False),
    ("http://", False), ("https:///path", False), ("http://exa mple.com", False), ("http://a.com/\nx", False),
    ("", False), (None, False), ("http://[::1", False),
])
def test_only_plain_http_urls_become_links(url, ok):
    assert safe_url(url) == (url if ok else None)


def test_clean_makes_text_encodable():
    assert clean("a\ud800b\x00c\x1b[1m\tok\n") == "a\ufffdb\ufffdc\ufffd[1m\tok\n"
    assert clean("\U0001F600 \u202e") == "\U0001F600 \u202e"
    assert clean(None) is None


def test_stories_are_ranked_by_outlets_and_singletons_left_out(frames):
    overview, details = _data(render_report(**frames))
    assert [s["id"] for s in overview["stories"]] == ["c-quake", "c-payload", "c-vote"]
    quake = overview["stories"][0]
    assert (quake["h"], overview["outlets"][quake["o"]], quake["t"]) == \
        ("Earthquake hits coast", "Reuters", "2024-05-01 06:00 UTC")
    assert (quake["n"], quake["a"], quake["d"]) == (4, 4, round((3 / 5 + 2 / 4 + 1 / 5) / 3, 3))
    assert len(details) == 3


def test_outlet_counts_come_from_clusters_parquet_even_when_zero(frames):
    """A story whose articles all lack an outlet has n_outlets 0; it is counted only without the column."""
    vote = pl.col("cluster_id") == "c-vote"
    clusters = frames["clusters"].with_columns(pl.when(vote).then(None).otherwise(pl.col("outlet")).alias("outlet"),
                                               pl.when(vote).then(0).otherwise(pl.col("n_outlets")).alias("n_outlets"))
    overview, _details = _data(render_report(**{**frames, "clusters": clusters}))
    assert {s["id"]: s["n"] for s in overview["stories"]} == {"c-quake": 4, "c-payload": 3, "c-vote": 0}
    overview, _details = _data(render_report(**{**frames, "clusters": clusters.drop("n_outlets")}))
    assert {s["id"]: s["n"] for s in overview["stories"]} == {"c-quake": 4, "c-payload": 3, "c-vote": 1}


@pytest.mark.parametrize("year", [202, 12, 1999])
def test_dates_have_four_digit_years_and_sort_as_text(frames, year):
    """Years 1-999 are zero-padded: "0202-05-01" sorts before "2024-05-01", as "Earliest first" needs."""
    from datetime import UTC, datetime
    old = datetime(year, 5, 1, 5, tzinfo=UTC)
    clusters = frames["clusters"].with_columns(
        pl.when(pl.col("cluster_id") == "c-vote").then(pl.lit(old)).otherwise(pl.col("published")).alias("published"))
    overview, details = _data(render_report(**{**frames, "clusters": clusters}))
    vote = overview["stories"][2]
    assert (vote["t"], vote["ts"]) == (f"{year:04d}-05-01 05:00 UTC", f"{year:04d}-05-01T05:00:00.000000")
    assert {a["t"] for a in details[2]["a"]} == {f"{year:04d}-05-01 05:00 UTC"}
    assert min(s["ts"] for s in overview["stories"]) == vote["ts"]


def test_stories_first_seen_within_one_second_are_ordered_by_time_not_id(frames):
    """Two stories alike but for the microseconds of their first version: the earlier one ranks first (as in
    the terminal's list) and sorts first, although its id sorts after the other's."""
    from datetime import UTC, datetime

    from dedup.report.model import top_stories
    vote = frames["clusters"].filter(pl.col("cluster_id") == "c-vote")
    copy = vote.with_columns(pl.lit("c-avote").alias("cluster_id"), pl.col("article_id") + "-copy")
    first = {"ap-1": 100_000, "ap-1-copy": 900_000}
    clusters = pl.concat([frames["clusters"], copy]).with_columns(pl.col("article_id").replace_strict(
        {k: datetime(2024, 5, 1, 5, 0, 0, us, tzinfo=UTC) for k, us in first.items()}, default=pl.col("published"),
        return_dtype=frames["clusters"].schema["published"]).alias("published"))
    stories = build_model(clusters, None, None)["stories"]
    assert [s["id"] for s in stories] == ["c-quake", "c-payload", "c-vote", "c-avote"]
    assert stories[2]["t"] == stories[3]["t"] and stories[2]["ts"] < stories[3]["ts"]  # what "Earliest first" sorts
    assert [s["cluster_id"] for s in top_stories(clusters, 10)[0]] == [s["id"] for s in stories]


def test_ids_that_differ_only_by_control_characters_stay_apart(frames):
    """Ids are keys: two articles (or stories) whose ids clean into the same text keep their own rows."""
    ids = {"bug-1": "w\x01", "gaz-1": "w\x02", "c-vote": "c\x01", "c-payload": "c\x02"}
    renamed = {name: frames[name].with_columns(pl.col(c).replace(ids) for c in frames[name].columns if c in (
        "cluster_id", "article_id", "first_article_id")) for name in ("clusters", "sentences", "links")}
    before = build_model(frames["clusters"], frames["sentences"], frames["links"])
    after = build_model(renamed["clusters"], renamed["sentences"], renamed["links"])
    assert [(s["id"], s["a"]) for s in after["stories"]] == [("c-quake", 4), ("c\ufffd", 3), ("c\ufffd", 2)]
    assert [s["os"] for s in after["stories"]] == [s["os"] for s in before["stories"]]
    for was, now in zip(before["details"], after["details"]):
        assert [{**a, "id": None} for a in now["a"]] == [{**a, "id": None} for a in was["a"]]
        assert (now["c"], now["l"]) == (was["c"], was["l"])
    assert [a["id"] for a in after["details"][0]["a"]] == ["reu-1", "w\ufffd", "w\ufffd", "cou-1"]


def test_story_detail_carries_the_diff(frames):
    _overview, details = _data(render_report(**frames))
    quake = details[0]
    assert [c[1] for c in quake["c"]] == [
        "A strong earthquake struck the coast on Tuesday.", "At least 12 people were injured, officials said.",
        "The quake had a magnitude of 6.1.", "Rescue teams are searching collapsed buildings."]
    bugle = next(a for a in quake["a"] if a["id"] == "bug-1")
    # kept 0; edited 1 (keep 24 chars, delete 7, insert "hurt", keep 17); dropped 2 (after 1, which stood
    # before it); the added quote; kept 3
    assert bugle["r"] == [0, ["e", 1, [24, -7, "hurt", 17]], -3, ["a", 10, QUOTE], 3]
    assert bugle["n"] == [2, 1, 1, 1]
    assert [a["id"] for a in quake["a"]] == ["reu-1", "bug-1", "gaz-1", "cou-1"]  # canonical, then by time
    assert quake["l"] == [[1, 3, 1, [10]]]  # Courier shares the Bugle's added quote


def test_canonical_text_is_pieced_together_when_the_canonical_has_no_rows(frames):
    _overview, details = _data(render_report(**frames))
    vote = details[2]
    assert [c[1] for c in vote["c"]] == ["Voters went to the polls in the capital.",
                                         "Turnout was higher than expected."]
    assert vote["a"][0]["r"] == [0, 1]
    assert vote["a"][1]["r"] == [0, 1, ["a", 5, "Results are due on Friday."]]


def test_edited_sentences_rebuild_the_canonical_from_the_word_diff(frames):
    sentences = frames["sentences"].filter(pl.col("article_id") == "bug-1")
    clusters = frames["clusters"].filter(pl.col("article_id").is_in(["reu-1", "bug-1"]))
    model = build_model(clusters, sentences, None)
    assert model["details"][0]["c"][1] == [1, "At least 12 people were injured, officials said."]


def test_unsafe_urls_are_not_links(frames):
    _overview, details = _data(render_report(**frames))
    urls = {a["id"]: a["u"] for d in details for a in d["a"]}
    assert urls["evil-1"] is None and urls["evil-2"] is None and urls["evil-3"] is None
    assert urls["bug-1"] == "https://bugle.example/q?id=1&x=2"


def test_without_sentences_the_report_shows_clusters_with_a_note(tmp_path, frames):
    html = write_report(tmp_path, **{**frames, "sentences": None, "links": None}).read_text()
    assert "Sentence alignment is not available" in html
    overview, details = _data(html)
    assert len(overview["stories"]) == 3 and details[0]["c"] == []
    assert all(a["r"] is None and a["n"] is None for a in details[0]["a"])


def test_summary_may_lack_keys_or_carry_extra_ones(frames):
    html = render_report(**{**frames, "summary": {"surprise": {"nested": [1, 2]}, "clusters": "not a dict",
                                                  "dedup_version": "9\ud800"}})
    assert "surprise.nested" in html and "1, 2" in html
    numbers = re.search(r'<ul class="numbers" id="numbers">(.*?)</ul>', html, flags=re.S).group(1)
    assert "<b>3</b> stories" in numbers and "<b>6</b> duplicates" in numbers  # counted from the frames
    assert "<b>3</b> rejected" in numbers  # counted from the rejects frame
    assert "9\ufffd" in html


def test_no_stories_still_gives_a_report(frames):
    clusters = frames["clusters"].filter(pl.col("cluster_id").str.starts_with("s-"))
    overview, details = _data(render_report(clusters=clusters, sentences=None, links=None, summary={}))
    assert overview["stories"] == [] and details == []


def test_unknown_frame_columns_are_a_clear_error(frames):
    from dedup.errors import DedupError
    with pytest.raises(DedupError, match=r"sentences frame lacks column\(s\) \['word_diff'\]"):
        render_report(**{**frames, "sentences": frames["sentences"].drop("word_diff")})


def test_rendering_large_text_is_linear_enough(frames):
    """A 200 kB sentence is carried as is (no quadratic escaping)."""
    big = "x<" * 100_000
    sentences = frames["sentences"].with_columns(pl.lit(big).alias("text"))
    html = render_report(**{**frames, "sentences": sentences})
    assert "x\\u003c" * 1000 in html


def test_path_type_is_accepted(tmp_path, frames):
    assert write_report(str(tmp_path), **frames) == Path(tmp_path) / "report.html"


def test_word_diffs_count_javascript_string_units_and_fall_back_when_they_do_not_spell_the_canonical(frames):
    def edited(diff: list[dict], canonical_text: str) -> list:
        rows = [{"cluster_id": "c-vote", "article_id": "ap-1", "status": "kept", "position": 0,
                 "text": canonical_text, "canonical_position": 0, "family_id": 0, "word_diff": None},
                {"cluster_id": "c-vote", "article_id": "bug-2", "status": "edited", "position": 0,
                 "text": "new", "canonical_position": 0, "family_id": 0, "word_diff": diff}]
        sentences = pl.DataFrame(rows, schema={**{c: frames["sentences"].schema[c] for c in rows[0]}})
        detail = build_model(frames["clusters"], sentences, None)["details"]
        return next(a["r"] for d in detail for a in d["a"] if a["id"] == "bug-2")

    emoji = [{"op": "=", "text": "\U0001F600 a "}, {"op": "-", "text": "b"}, {"op": "+", "text": "c"},
             {"op": "=", "text": ""}]
    assert edited(emoji, "\U0001F600 a b") == [["e", 0, [5, -1, "c"]]]
    assert edited([{"op": "=", "text": "x"}, {"op": "+", "text": "z"}], "y") == [["E", 0, [["=", "x"], ["+", "z"]]]]
    assert edited([], "") == [["e", 0, ["new"]]]  # no diff: the whole sentence is inserted
    assert edited([{"op": "?", "text": "q"}, {"op": "+", "text": None}], "y") == [["E", 0, [["+", ""]]]]


def test_a_dropped_sentence_follows_the_sentence_that_stood_before_it(frames):
    """Each article's entries are its own sentences in its order, with each canonical sentence it dropped
    merged in after its sentence holding the nearest canonical sentence before it (first when none)."""
    detail = {d["a"][0]["id"]: d for d in build_model(frames["clusters"], frames["sentences"], frames["links"])[
        "details"]}
    quake = {a["id"]: a for a in detail["reu-1"]["a"]}
    assert quake["gaz-1"]["r"] == [0, 1, -3, -4] and quake["gaz-1"]["n"] == [2, 0, 0, 2]
    assert quake["bug-1"]["r"][2:] == [-3, ["a", 10, QUOTE], 3] and quake["bug-1"]["n"] == [2, 1, 1, 1]
    payload = {a["id"]: a for a in detail["evil-1"]["a"]}
    assert payload["evil-3"]["r"][0] == -1 and payload["evil-3"]["n"] == [1, 0, 1, 1]


def test_a_dropped_sentence_stays_where_it_stood_when_the_version_moved_the_end_to_its_lead(frames):
    # the version leads with the canonical's last sentence, then prints 0, 1, 2, 4, 5, 6: sentence 3 is
    # shown after 2, as `dedup diff` prints it, not before the version's first row (which holds a later one)
    texts = [f"Sentence number {k} of the wire story." for k in range(8)]
    order = [7, 0, 1, 2, 4, 5, 6]
    rows = [{"cluster_id": "c-vote", "article_id": "ap-1", "status": "kept", "position": k, "text": texts[k],
             "canonical_position": k, "family_id": k, "word_diff": None} for k in range(8)]
    rows += [{"cluster_id": "c-vote", "article_id": "bug-2", "status": "kept", "position": at, "text": texts[k],
              "canonical_position": k, "family_id": k, "word_diff": None} for at, k in enumerate(order)]
    rows.append({"cluster_id": "c-vote", "article_id": "bug-2", "status": "dropped", "position": 3, "text": texts[3],
                 "canonical_position": 3, "family_id": 3, "word_diff": None})
    sentences = pl.DataFrame(rows, schema={c: frames["sentences"].schema[c] for c in rows[0]})
    detail = build_model(frames["clusters"], sentences, None)["details"]
    version = next(a for d in detail for a in d["a"] if a["id"] == "bug-2")
    assert version["r"] == [7, 0, 1, 2, -4, 4, 5, 6] and version["n"] == [7, 0, 0, 1]


@pytest.mark.parametrize("held, dropped, after", [
    ([7, 0, 1, 2, 4, 5, 6], [3], {3: [3]}),                 # the end moved to the lead
    ([0, None, 3], [1, 2], {0: [1, 2]}),                    # before an added sentence, in order
    ([3, 4], [0, 1], {-1: [0, 1]}),                         # nothing before them: they lead
    ([0, 1, 1, None], [2], {2: [2]}),                       # a split sentence: after its last part
    ([], [0, 1], {-1: [0, 1]}),                             # a version of added sentences only
])
def test_dropped_after_places_each_dropped_sentence_after_the_nearest_one_before_it(held, dropped, after):
    assert dropped_after(held, dropped) == after


def test_alignment_failures_in_the_summary_are_a_note(frames):
    summary = {**frames["summary"], "alignment": {"failed_clusters": 2, "failures": [
        {"cluster_id": "c-vote", "reason": "missing_article", "message": "<b>x</b>"},
        {"cluster_id": "c-x", "reason": "alignment_error", "message": "boom"}]}}
    html = render_report(**{**frames, "summary": summary})
    assert "2 stories could not be aligned sentence by sentence (alignment_error 1, missing_article 1)" in html
    assert "alignment.failures.0.message</dt><dd>&lt;b&gt;x&lt;/b&gt;" in html


def test_the_stories_that_fit_carry_their_details_a_bigger_one_is_passed_over(frames):
    everything = build_model(frames["clusters"], frames["sentences"], frames["links"])
    # Ranked: the quake (4 articles), the payload story (3), the vote (2). Details go down the ranking
    # while the stories fit in max_articles articles; one that does not fit is passed over.
    for max_articles, detailed in ((4, "100"), (6, "101"), (7, "110"), (9, "111"), (3, "010"), (2, "001"),
                                   (1, "000"), (0, "111")):
        capped = build_model(frames["clusters"], frames["sentences"], frames["links"], max_articles=max_articles)
        # Every story keeps its overview row, with the same ranking and divergence as without the cap.
        assert capped["stories"] == everything["stories"] and capped["outlets"] == everything["outlets"]
        assert capped["details"] == [d if keep == "1" else None for d, keep in zip(everything["details"], detailed)]


def test_a_capped_report_says_where_the_other_stories_are(frames):
    html = render_report(**frames, max_articles=7)
    assert "Of the night's 3 stories, 2 carry their details" in html_lib.unescape(html)
    assert "--articles 0" in html
    _overview, details = _data(html)
    assert [d is None for d in details] == [False, False, True]
    assert "carry their details" not in render_report(**frames, max_articles=9)
    with pytest.raises(InputError, match="0 \\(all\\) or more"):
        render_report(**frames, max_articles=-1)


def test_counts_of_one_are_singular(frames):
    one = frames["clusters"].filter(pl.col("cluster_id").is_in(["c-vote", "s-1"]))
    summary = {"alignment": {"failed_clusters": 1, "failures": [{"reason": "too_many_sentences"}]}}
    html = html_lib.unescape(render_report(clusters=one, sentences=None, links=None, summary=summary,
                                           max_articles=1))
    assert "<title>Editors' report: 1 story</title>" in html
    numbers = re.search(r'<ul class="numbers" id="numbers">(.*?)</ul>', html, flags=re.DOTALL).group(1)
    for shown in ("<b>1</b> story (2+ articles)", "<b>1</b> duplicate removed", "<b>1</b> single article<",
                  "<b>2</b> articles in the largest story", "<b>3</b> records read"):
        assert shown in numbers
    assert "1 story could not be aligned sentence by sentence (too_many_sentences 1); it shows its outlets but no " \
        "differences." in html
    assert "None of the night's 1 story carries its details (outlets table, sentence-level differences) in this " \
        "page: each has more than 1 article. They list their outlets only." in html
    html = html_lib.unescape(render_report(**frames, max_articles=4))
    assert "Of the night's 3 stories, 1 carries its details (outlets table, sentence-level differences) in this " \
        "page: the one with the most outlets that fits in 4 articles. The others list their outlets only." in html
