"""align_clusters on planted clusters with known truth."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from dedup.align import FAILURES, AlignConfig, AlignResult, align_clusters, core, fit_idf, vectors
from dedup.errors import ConfigError
from dedup.schema import ARTICLES, CLUSTERS, LINKS, SENTENCES

STORY = [
    "LONDON (Reuters) - A storm hit the south coast of England on Tuesday, cutting power to 10,000 homes.",
    "Two people died when a tree fell on their car near Brighton, Sussex police said.",
    "The Met Office said gusts reached 90 mph at the Needles on the Isle of Wight.",
    "Mr. Smith of the U.S. National Weather Service called the storm \"exceptional for the season.\"",
    "Ferries between Portsmouth and Caen were cancelled until Thursday.",
    "Network Rail said 40 trains were delayed by fallen trees on the lines.",
    "Insurers expect claims of about 1.5 billion pounds, according to analysts at Peel Hunt.",
    "Forecasters warned that a second storm could arrive at the weekend.",
]
OTHER = [
    "Parliament voted on Wednesday to extend the fishing quota for another year.",
    "The harbour master said the new rules would take effect in March.",
    "Fishermen in Cornwall welcomed the decision but asked for more support.",
]
# The sentences of " ".join(STORY): the dateline opening STORY[0] is a sentence of its own, so canonical
# position k + 1 is STORY[k] for k >= 1.
DATELINE = "LONDON (Reuters) -"
STORY_SENTENCES = [DATELINE, STORY[0].removeprefix(DATELINE + " "), *STORY[1:]]
N = len(STORY_SENTENCES)
T0 = datetime(2024, 3, 5, 8, 0, tzinfo=timezone.utc)


def articles_and_clusters(clusters: dict[str, list[tuple[str, str, list[str], int]]]):
    """{cluster_id: [(article_id, outlet, sentences, minutes after T0)]}; the first article is canonical."""
    arts, rows = [], []
    for cid, members in clusters.items():
        for k, (aid, outlet, sents, minutes) in enumerate(members):
            when = T0 + timedelta(minutes=minutes)
            arts.append({"article_id": aid, "outlet": outlet, "title": f"title {aid}", "text": " ".join(sents),
                         "published": when, "url": None, "source_file": "test", "source_record": len(arts) + 1})
            rows.append({"article_id": aid, "outlet": outlet, "title": f"title {aid}", "published": when,
                         "url": None, "cluster_id": cid, "cluster_size": len(members), "n_outlets": len(members),
                         "is_canonical": k == 0, "canonical_id": members[0][0], "similarity": 1.0,
                         "jaccard": 1.0, "n_shingles": 50, "n_boilerplate": 0, "note": None})
    return pl.DataFrame(arts, schema=ARTICLES), pl.DataFrame(rows, schema=CLUSTERS)


EDITED = "Two people died when a tree fell on their car near Brighton, local police said on Wednesday."
ADDED = "The mayor of Brighton opened the town hall as a shelter for families without power."


def planted():
    version = [s for s in STORY if s != STORY[4]]              # drop canonical sentence 4 (ferries)
    version[1] = EDITED                                        # edit canonical sentence 1
    version.insert(3, ADDED)                                   # add one sentence
    return articles_and_clusters({"c1": [("wire", "Reuters", STORY, 0), ("daily", "Daily", version, 30)]})


def rows_of(result: AlignResult, article_id: str) -> list[tuple]:
    frame = result.sentences.filter(pl.col("article_id") == article_id)
    return list(frame.select("status", "position", "canonical_position").iter_rows())


def test_planted_edits_get_exact_statuses():
    result = align_clusters(*planted())
    assert result.failures.is_empty()
    assert rows_of(result, "daily") == [
        ("kept", 0, 0), ("kept", 1, 1), ("edited", 2, 2), ("kept", 3, 3), ("added", 4, None), ("kept", 5, 4),
        ("kept", 6, 6), ("kept", 7, 7), ("kept", 8, 8), ("dropped", 5, 5),
    ]
    edited = result.sentences.filter(pl.col("status") == "edited").row(0, named=True)
    assert edited["text"] == EDITED
    assert 0.52 <= edited["similarity"] < 1.0
    ops = [(d["op"], d["text"].strip()) for d in edited["word_diff"]]
    assert ("+", "local") in ops and ("+", "on Wednesday") in ops
    assert "".join(d["text"] for d in edited["word_diff"] if d["op"] != "-") == EDITED
    assert "".join(d["text"] for d in edited["word_diff"] if d["op"] != "+") == STORY[1]
    dropped = result.sentences.filter(pl.col("status") == "dropped").row(0, named=True)
    canonical_text = " ".join(STORY)
    assert dropped["text"] == STORY[4] == canonical_text[dropped["char_start"]:dropped["char_end"]]
    assert dropped["family_id"] == 5 and dropped["similarity"] is None


@pytest.mark.parametrize("wire, outlet, body", [
    ("杭州（北风通讯社）- ", "杭州（都市晨报）- ",
     ["西湖区一家社区图书馆上月底起试行24小时开放。", "一个月来夜间到馆读者超过3200人次。", "区文化部门表示明年将推广这一做法。"]),
    ("عمّان (ميريديان برس) - ", "عمّان (صحيفة الساحل) - ",
     ["بدأت أولى الحافلات الكهربائية العمل يوم الجمعة.", "ويضم الخط 12 حافلة.", "وتبلغ أجرة الرحلة نصف دينار."]),
])
def test_a_replaced_non_latin_dateline_leaves_the_lead_kept(wire, outlet, body):
    # as with "LISBON (Meridian Press) -": the outlet's own dateline is one added row and the wire's one
    # dropped row, and the first sentence stays kept instead of becoming edited
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", [wire + body[0], *body[1:]], 0),
                                                       ("copy", "Paper", [outlet + body[0], *body[1:]], 30)]})
    result = align_clusters(articles, clusters)
    rows = result.sentences.filter(pl.col("article_id") == "copy").select("status", "text").rows()
    assert rows == [("added", outlet.strip()), ("kept", body[0]), ("kept", body[1]), ("kept", body[2]),
                    ("dropped", wire.strip())]


def test_an_identical_copy_with_a_paragraph_of_invisible_characters_is_all_kept():
    # WordPress writes <p>&#8203;</p>: no sentence (it has no words to compare, so it could never be kept)
    text = "\n\n".join([*STORY[:3], "\u200b", *STORY[3:]])
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", [text], 0), ("copy", "Paper", [text], 30)]})
    result = align_clusters(articles, clusters)
    rows = result.sentences.filter(pl.col("article_id") == "copy")
    assert rows["status"].to_list() == ["kept"] * N and "\u200b" not in rows["text"].to_list()


def test_a_sentence_whose_hyphens_are_non_breaking_is_kept():
    # Word inserts U+2011 in "long-term": a dash style, like an en dash for a hyphen-minus
    story = [*STORY[1:3], "The long-term plan was called a once-in-a-generation investment.", *STORY[3:]]
    copy = [s.replace("-", "\u2011") for s in story]
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", story, 0), ("copy", "Paper", copy, 30)]})
    rows = align_clusters(articles, clusters).sentences.filter(pl.col("article_id") == "copy")
    assert rows["status"].to_list() == ["kept"] * len(story) and rows["word_diff"].null_count() == len(story)


def test_canonical_is_all_kept_with_positions_as_families():
    result = align_clusters(*planted())
    wire = result.sentences.filter(pl.col("article_id") == "wire")
    assert wire["text"].to_list() == STORY_SENTENCES
    assert wire["status"].to_list() == ["kept"] * N
    assert wire["position"].to_list() == wire["canonical_position"].to_list() == list(range(N))
    assert wire["family_id"].to_list() == list(range(N))
    assert wire["similarity"].to_list() == [1.0] * N
    assert wire["word_diff"].null_count() == N


def test_spans_point_into_each_article_text():
    articles, clusters = planted()
    result = align_clusters(articles, clusters)
    texts = dict(articles.select("article_id", "text").iter_rows())
    for row in result.sentences.iter_rows(named=True):
        source = texts["wire"] if row["status"] == "dropped" else texts[row["article_id"]]
        assert source[row["char_start"]:row["char_end"]] == row["text"]


def test_output_schemas():
    result = align_clusters(*planted())
    assert result.sentences.schema == SENTENCES
    assert result.links.schema == LINKS
    assert result.failures.schema == FAILURES


def test_provenance_between_two_outlets_sharing_an_added_paragraph():
    paragraph = ["Local councillor Jane Reed said the sea wall had been neglected for a decade.",
                 "She called on the government to fund repairs before next winter."]
    early = STORY[:5] + paragraph + STORY[5:]
    late = STORY[:5] + paragraph + STORY[5:7]
    alone = STORY + ["A reader sent photographs of the flooded promenade to our newsroom."]
    articles, clusters = articles_and_clusters({"c1": [
        ("wire", "Reuters", STORY, 0), ("zz-late", "Echo", late, 50), ("aa-early", "Argus", early, 20),
        ("solo", "Post", alone, 10)]})
    result = align_clusters(articles, clusters)
    links = result.links.select("family_id", "first_article_id", "first_outlet", "article_id", "outlet",
                                "n_sentences")
    n = N
    # families are numbered by first appearance: "solo" (published at +10 min) comes before "aa-early" (+20)
    assert links.rows() == [(n + 1, "aa-early", "Argus", "zz-late", "Echo", 1),
                            (n + 2, "aa-early", "Argus", "zz-late", "Echo", 1)]
    added = result.sentences.filter(pl.col("status") == "added")
    assert sorted(added.select("family_id", "article_id").rows()) == [
        (n, "solo"), (n + 1, "aa-early"), (n + 1, "zz-late"), (n + 2, "aa-early"), (n + 2, "zz-late")]
    families = dict(zip(added["text"], added["family_id"]))
    assert families[alone[-1]] == n and families[paragraph[0]] == n + 1 and families[paragraph[1]] == n + 2
    late_rows = result.sentences.filter(pl.col("article_id") == "zz-late", pl.col("status") == "dropped")
    assert late_rows["canonical_position"].to_list() == [8]  # STORY[7], after the dateline


def test_an_update_carrying_its_outlets_own_addition_is_not_linked_to_the_outlet_that_copied_it():
    # Post adds a line, Echo copies it, then Post's own update repeats it: Echo took it from Post, and
    # Post's update took it from nobody (not "from Echo", the later copier)
    local = "Harbour master Gwen Pascoe said two feeder ships had asked to stay at the quay until Sunday."
    articles, clusters = articles_and_clusters({"c1": [
        ("wire", "Wire", STORY, 0), ("post", "Post", STORY + [local], 10), ("echo", "Echo", STORY + [local], 20),
        ("post-2", "Post", STORY + [local], 30)]})
    result = align_clusters(articles, clusters)
    assert result.links.select("first_article_id", "article_id").rows() == [("post", "echo")]
    from dedup.align.reuse import story_families   # the nightly path draws the same links
    blanked = result.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    _, again = story_families(blanked, clusters, idf=result.idf)
    assert_frame_equal(again.sort("cluster_id", "family_id", "article_id"), result.links)


def test_two_similar_sentences_swapped_are_both_kept_not_edits_of_each_other():
    # the crossed near-matches (0.90 each) must not outbid an identical pair: that would show the
    # figures as changed ("northern ... 12" edited into "southern ... 7") where the outlet changed nothing
    north = "Cargo volumes at the northern terminal rose by 12 percent in the first quarter, the authority said."
    south = "Cargo volumes at the southern terminal rose by 7 percent in the first quarter, the authority said."
    wire = [STORY[1], north, south, STORY[3]]
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", wire, 0),
                                                       ("v", "Paper", [STORY[1], south, north, STORY[3]], 30)]})
    rows = align_clusters(articles, clusters).sentences.filter(pl.col("article_id") == "v")
    assert rows.select("status", "position", "canonical_position").rows() == [
        ("kept", 0, 0), ("kept", 1, 2), ("kept", 2, 1), ("kept", 3, 3)]
    assert rows["word_diff"].null_count() == rows.height


def test_the_same_words_in_another_order_are_edited_not_kept():
    # at kept_threshold 1 only the identical sentence is kept; a reordered one's cosine can round above 1
    # (it does in this story: 1.000000000000001)
    base = ["GRAZ (Northwire) - The regional election ended on Sunday with a narrow result.",
            "Officials said turnout was higher than at the last vote in 2019.",
            "The new assembly will meet for the first time next month."]
    said = "Ferri won 52 percent and Brandt won 48 percent of the vote."
    swapped = "Brandt won 52 percent and Ferri won 48 percent of the vote."
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", [*base[:2], said, base[2]], 0),
                                                       ("v", "Paper", [*base[:2], swapped, base[2]], 30)]})
    rows = align_clusters(articles, clusters).sentences
    row = rows.filter((pl.col("article_id") == "v") & (pl.col("text") == swapped)).row(0, named=True)
    assert row["status"] == "edited" and row["similarity"] <= 1.0
    assert {d["op"] for d in row["word_diff"]} == {"=", "+", "-"}


def test_the_nightly_path_gives_the_families_of_a_story_whose_canonical_has_no_sentence():
    from dedup.align.reuse import story_families
    shared = ["The ferry will resume service on Monday, the operator said.", STORY[3]]
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", [""], 0), ("a", "A", shared, 10),
                                                       ("b", "B", shared, 20)]})
    result = align_clusters(articles, clusters)
    blanked = result.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, links = story_families(blanked, clusters, idf=result.idf)
    assert_frame_equal(sentences, result.sentences)
    assert_frame_equal(links.sort("cluster_id", "family_id", "article_id"), result.links)
    assert result.links.height == 2


def test_a_canonical_sentence_printed_again_is_added_in_its_family_and_links_nobody():
    # two outlets repeat the mayor's quote as a pull quote: the extra copy is added text, but the wire has it,
    # so it is no added material: the quote's own family, and no link "Ledger took it from Gazette"
    quote = STORY[2]
    version = [*STORY[:5], quote, *STORY[5:]]
    articles, clusters = articles_and_clusters({"c1": [("wire", "Wire", STORY, 0), ("gaz", "Gazette", version, 10),
                                                       ("led", "Ledger", version, 20)]})
    result = align_clusters(articles, clusters)
    added = result.sentences.filter(pl.col("status") == "added")
    kept = result.sentences.filter((pl.col("article_id") == "wire") & (pl.col("text") == quote))
    assert added["text"].to_list() == [quote, quote]
    assert added["family_id"].to_list() == kept["family_id"].to_list() * 2 and added["canonical_position"].is_null().all()
    assert result.links.height == 0
    from dedup.align.reuse import story_families   # the nightly path gives the same families
    blanked = result.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, links = story_families(blanked, clusters, idf=result.idf)
    assert_frame_equal(sentences, result.sentences)
    assert links.height == 0


def test_similar_added_sentences_across_outlets_form_one_family():
    a = STORY + ["The council will meet on Friday to discuss emergency funding for the seafront."]
    b = STORY + ["The council will meet on Friday to discuss emergency funding for the sea front, it said."]
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), ("a", "A", a, 5), ("b", "B", b, 9)]})
    result = align_clusters(articles, clusters)
    added = result.sentences.filter(pl.col("status") == "added")
    assert added["family_id"].to_list() == [N, N]
    assert result.links.select("first_article_id", "article_id").rows() == [("a", "b")]


def test_links_need_the_same_sentence_from_another_outlet_not_a_similar_line():
    # One story, added lines only: bylines and "Read more" lines of different outlets are similar enough
    # to be one family (for the reader) but are no evidence of copying; a paragraph taken word for word
    # or copy-edited is; an outlet's update carrying its own earlier line is not copying either.
    local = "Harbour master Gwen Pascoe said two feeder ships had asked to stay at the quay until Sunday."
    edited_copy = "Harbour master Gwen Pascoe said two feeder ships asked to stay at the quay until Sunday, she said."
    articles, clusters = articles_and_clusters({"c1": [
        ("wire", "Wire", STORY, 0),
        ("gazette", "Gazette", STORY + [local, "By Gazette staff, with Wire.", "Read more: https://gazette.example/shipping"],
         10),
        ("ledger", "Ledger", STORY + ["By Wire.", "Read more: https://ledger.example/shipping"], 20),
        ("times", "Times", STORY + [local], 30),
        ("courier", "Courier", STORY + [edited_copy], 40),
        ("ledger-2", "Ledger", STORY + ["By Wire.", "Read more: https://ledger.example/shipping"], 50),
    ]})
    result = align_clusters(articles, clusters)
    added = result.sentences.filter(pl.col("status") == "added")
    family = dict(zip(added["text"], added["family_id"]))
    # one family for the reader (cosine 0.70)...
    assert family["Read more: https://ledger.example/shipping"] == family["Read more: https://gazette.example/shipping"]
    links = result.links.select("first_article_id", "article_id", "n_sentences").rows()
    assert links == [("gazette", "courier", 1), ("gazette", "times", 1)]     # ...but only copies are links
    # the nightly path (families and links recomputed from the rows) draws the same links
    from dedup.align.reuse import story_families
    blanked = result.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, again = story_families(blanked, clusters, idf=result.idf)
    assert_frame_equal(again.sort("cluster_id", "family_id", "article_id"), result.links)
    assert_frame_equal(sentences, result.sentences)


def test_split_and_merged_sentences_are_one_to_many():
    split = STORY[:2] + ["The Met Office said gusts reached 90 mph.",
                         "They were measured at the Needles on the Isle of Wight."] + STORY[3:]
    merged = STORY[:5] + ["Network Rail said 40 trains were delayed by fallen trees on the lines, and insurers expect "
                          "claims of about 1.5 billion pounds, according to analysts at Peel Hunt."] + STORY[7:]
    articles, clusters = articles_and_clusters(
        {"c1": [("wire", "R", STORY, 0), ("s", "S", split, 5), ("m", "M", merged, 9)]})
    result = align_clusters(articles, clusters)
    assert rows_of(result, "s")[3:5] == [("edited", 3, 3), ("edited", 4, 3)]
    assert rows_of(result, "m") == [("kept", 0, 0), ("kept", 1, 1), ("kept", 2, 2), ("kept", 3, 3), ("kept", 4, 4),
                                    ("kept", 5, 5), ("edited", 6, 6), ("kept", 7, 8)]


def test_moved_paragraph_is_kept_not_added_and_dropped():
    moved = [STORY[0], STORY[6], STORY[7]] + STORY[1:6]
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), ("m", "M", moved, 5)]})
    result = align_clusters(articles, clusters)
    rows = rows_of(result, "m")
    assert [r[0] for r in rows] == ["kept"] * N
    assert [r[2] for r in rows] == [0, 1, 7, 8, 2, 3, 4, 5, 6]


def test_singletons_produce_no_rows():
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), ("d", "D", STORY, 1)],
                                                "c2": [("lonely", "L", OTHER, 0)]})
    result = align_clusters(articles, clusters)
    assert set(result.sentences["cluster_id"]) == {"c1"}
    assert result.failures.is_empty()


def test_deterministic_whatever_the_row_order():
    articles, clusters = planted()
    more_a, more_c = articles_and_clusters({"c2": [("x1", "X", OTHER, 0), ("x2", "Y", OTHER[:2], 3)]})
    articles, clusters = pl.concat([articles, more_a]), pl.concat([clusters, more_c])
    first = align_clusters(articles, clusters)
    rng = random.Random(7)
    for _ in range(3):
        order_a = list(range(articles.height))
        order_c = list(range(clusters.height))
        rng.shuffle(order_a)
        rng.shuffle(order_c)
        again = align_clusters(articles[order_a], clusters[order_c])
        assert_frame_equal(first.sentences, again.sentences)
        assert_frame_equal(first.links, again.links)
        assert_frame_equal(first.failures, again.failures)


def test_an_exploding_cluster_is_reported_and_the_run_goes_on(monkeypatch):
    real = core.word_diff

    def explode(canonical, version):
        if "Brighton" in canonical:
            raise ZeroDivisionError("boom")
        return real(canonical, version)

    monkeypatch.setattr(core, "word_diff", explode)
    articles, clusters = planted()
    edited = [OTHER[0], OTHER[1] + " Indeed."]
    more_a, more_c = articles_and_clusters({"c2": [("x1", "X", OTHER, 0), ("x2", "Y", edited, 3)]})
    result = align_clusters(pl.concat([articles, more_a]), pl.concat([clusters, more_c]))
    assert result.failures.rows() == [("c1", "alignment_error", "cluster c1: ZeroDivisionError: boom")]
    assert set(result.sentences["cluster_id"]) == {"c2"}


def test_a_cluster_whose_vectors_explode_is_reported_and_its_chunk_goes_on(monkeypatch):
    real = vectors.distinct_sentences

    def explode(articles):
        if any("Brighton" in s for a in articles for s in a.sentences):
            raise ZeroDivisionError("boom")
        return real(articles)

    monkeypatch.setattr(vectors, "distinct_sentences", explode)
    articles, clusters = planted()
    more_a, more_c = articles_and_clusters({"c2": [("x1", "X", OTHER, 0), ("x2", "Y", OTHER[:2], 3)]})
    result = align_clusters(pl.concat([articles, more_a]), pl.concat([clusters, more_c]))
    assert result.failures.rows() == [("c1", "alignment_error", "cluster c1: ZeroDivisionError: boom")]
    assert set(result.sentences["cluster_id"]) == {"c2"}


def test_bad_clusters_are_reported_with_their_reason():
    articles, clusters = articles_and_clusters({
        "c1": [("wire", "R", STORY, 0), ("d", "D", STORY, 1)],
        "c2": [("x1", "X", OTHER, 0), ("x2", "Y", OTHER, 3)],
        "c3": [("y1", "X", OTHER, 0), ("y2", "Y", OTHER, 3)],
    })
    clusters = clusters.with_columns(pl.when(pl.col("cluster_id") == "c2").then(False)
                                     .otherwise(pl.col("is_canonical")).alias("is_canonical"))
    articles = articles.filter(pl.col("article_id") != "y2")
    result = align_clusters(articles, clusters)
    assert result.failures.select("cluster_id", "reason").rows() == [("c2", "no_canonical"), ("c3", "missing_article")]
    assert "y2" in result.failures["message"][1]
    assert set(result.sentences["cluster_id"]) == {"c1"}


def test_empty_version_drops_everything_and_null_text_is_empty():
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), ("d", "D", [], 1)]})
    articles = articles.with_columns(pl.when(pl.col("article_id") == "d").then(None).otherwise(pl.col("text"))
                                     .alias("text"))
    result = align_clusters(articles, clusters)
    assert rows_of(result, "d") == [("dropped", k, k) for k in range(N)]


def test_idf_is_fitted_on_distinct_sentences_of_clustered_articles_only():
    articles, clusters = articles_and_clusters({"c1": [("wire", "R", STORY, 0), ("d", "D", STORY, 1)],
                                                "c2": [("lonely", "L", OTHER, 0)]})
    assert fit_idf(articles, clusters).n_docs_ == N


def test_config_is_validated():
    with pytest.raises(ConfigError, match="align_threshold"):
        AlignConfig(align_threshold=0)
    with pytest.raises(ConfigError, match="kept_threshold"):
        AlignConfig(align_threshold=0.6, kept_threshold=0.5)
    with pytest.raises(ConfigError, match="splitter"):
        AlignConfig(splitter="regex")


_pool = STORY + OTHER + [EDITED, ADDED, "", "Yes.", "U.S. Dr. Jan.", "\n\n", "• A bullet line"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_pool), max_size=12), min_size=2, max_size=5))
def test_every_sentence_is_accounted_for_exactly_once(versions):
    members = [(f"a{k}", f"o{k % 2}", sents, k) for k, sents in enumerate(versions)]
    articles, clusters = articles_and_clusters({"c": members})
    result = align_clusters(articles, clusters)
    assert result.failures.is_empty()
    texts = dict(articles.select("article_id", "text").iter_rows())
    n_canonical = len(core.split_sentences(texts["a0"]))
    for aid, text in texts.items():
        rows = result.sentences.filter(pl.col("article_id") == aid)
        own = rows.filter(pl.col("status") != "dropped")
        assert own["position"].to_list() == list(range(len(core.split_sentences(text))))
        if aid == "a0":
            assert set(own["status"]) <= {"kept"}
            continue
        aligned = set(own["canonical_position"].drop_nulls())
        dropped = set(rows.filter(pl.col("status") == "dropped")["canonical_position"])
        assert not aligned & dropped
        # a canonical sentence is aligned, dropped, or merged into the sentence aligned to its predecessor
        merged_into = {c + 1 for c in own.filter(pl.col("status") == "edited")["canonical_position"]}
        assert set(range(n_canonical)) - aligned - dropped <= merged_into
        assert aligned | dropped <= set(range(n_canonical))
        # added material has families after the canonical's; an extra copy of a canonical sentence has its family
        canonical_keys = [core.identity_key(t) for t in
                          result.sentences.filter(pl.col("article_id") == "a0").sort("position")["text"]]
        for text, family in own.filter(pl.col("status") == "added").select("text", "family_id").iter_rows():
            key = core.identity_key(text)
            assert family == canonical_keys.index(key) if key in canonical_keys else family >= n_canonical
        assert (own.filter(pl.col("status") == "edited")["similarity"] >= AlignConfig().align_threshold).all()


def test_a_trim_between_two_kept_sentences_leaves_them_kept():
    # "...last month." then "Officials said..." once the sentence between them is trimmed: nupunkt's
    # model took "month" for an abbreviation, so the two were one sentence, reported edited, and a
    # sentence the outlet printed word for word was reported dropped
    wire = ["The central bank of Freedonia raised its main rate by half a point on Wednesday.",
            "Inflation had stayed above target since the spring and rose again last month.",
            "The national currency rose 1.4 percent against the euro after the announcement.",
            "Officials said mortgage lenders would pass the increase on to borrowers from January.",
            "The next policy meeting is scheduled for the second week of February."]
    trimmed = wire[:2] + wire[3:]
    result = align_clusters(*articles_and_clusters({"c1": [("w", "Wire", wire, 0), ("d", "Daily", trimmed, 60)]}))
    assert rows_of(result, "d") == [("kept", 0, 0), ("kept", 1, 1), ("kept", 2, 3), ("kept", 3, 4), ("dropped", 2, 2)]


@pytest.mark.parametrize("dress", [lambda p: "\u200b" + p, lambda p: p.replace(". ", ".\u00ad ")],
                         ids=["wordpress_paragraphs", "soft_hyphen_after_stops"])
def test_a_copy_differing_by_invisible_characters_is_kept_whole(dress):
    """README: kept means identical apart from invisible characters; they once moved sentence boundaries (a
    zero-width space before "Mr." cut after it), so such a copy showed edited and added rows."""
    from dedup import cluster_frame

    canonical = "\n\n".join(STORY)
    frame = pl.DataFrame({"id": ["a", "b"], "outlet": ["Wire", "Paper"],
                          "text": [canonical, "\n\n".join(dress(p) for p in STORY)],
                          "published": ["2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z"]})
    rows = cluster_frame(frame).sentences
    wire, copy = (rows.filter(pl.col("article_id") == a) for a in ("a", "b"))
    assert copy["status"].to_list() == ["kept"] * wire.height and wire.height > len(STORY)   # its dateline too


@pytest.mark.parametrize("ending", ["\r\r\n", "\n\r"])
def test_a_hard_wrapped_copy_differing_by_line_endings_is_kept_whole(ending):
    """README: "\r\r\n" (a CRLF file converted twice) and the LF-CR ending "\n\r" are one line break each; they were
    read as blank lines, so each line end of a hard-wrapped copy cut a sentence (edited, added and dropped rows)."""
    import textwrap

    from dedup import cluster_frame

    paragraphs = [textwrap.wrap(" ".join(STORY[:4]), 64), textwrap.wrap(" ".join(STORY[4:]), 64)]
    canonical, copy = ((end * 2).join(end.join(lines) for lines in paragraphs) for end in ("\n", ending))
    frame = pl.DataFrame({"id": ["a", "b"], "outlet": ["Wire", "Paper"], "text": [canonical, copy],
                          "published": ["2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z"]})
    rows = cluster_frame(frame).sentences
    wire, copied = (rows.filter(pl.col("article_id") == a) for a in ("a", "b"))
    assert copied["status"].to_list() == ["kept"] * wire.height and wire.height == N
