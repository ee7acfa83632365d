"""State runs re-use earlier alignments: copied rows, story-level families and links, format 1 states."""

from __future__ import annotations

import json
import shutil

import polars as pl
from polars.testing import assert_frame_equal

from dedup import Config, run
from dedup.align import align_clusters, fit_idf
from dedup.align.reuse import story_families
from dedup.io import read_inputs
from dedup.pipeline import Timer, _cluster_articles
from dedup.state import Store, read_table
from tests.conftest import SAMPLE, article, make_story
from tests.state.corpus import NIGHTS, A, night_records, write_night

ROW_KEY = ["cluster_id", "article_id", "status", "position"]


def _night(tmp_path, n, records=None, *, state="state", out=None, **kw):
    folder = write_night(tmp_path / f"in-{state}-{n}", n, records)
    return run([folder], tmp_path / (out or f"out-{state}-{n}"), state_dir=tmp_path / state, night=NIGHTS[n - 1],
               **kw)


def _rows(result, article_id):
    return result.sentences.filter(pl.col("article_id") == article_id).sort(ROW_KEY)


def test_story_families_recomputes_what_the_alignment_computes():
    config = Config()
    read = read_inputs([SAMPLE], config=config.read)
    articles, clusters, _, _ = _cluster_articles(read, config, Timer())
    idf = fit_idf(articles, clusters, config=config.align)
    aligned = align_clusters(articles, clusters, config=config.align, idf=idf)
    assert aligned.links.height > 0                               # the corpus has shared added material
    blanked = aligned.sentences.with_columns(
        family_id=pl.when(pl.col("status") == "added").then(None).otherwise(pl.col("family_id")))
    sentences, links = story_families(blanked, clusters.filter(pl.col("cluster_size") >= 2), idf=idf,
                                      config=config.align)
    assert_frame_equal(sentences, aligned.sentences)
    assert_frame_equal(links.sort("cluster_id", "family_id", "article_id"), aligned.links)


def test_known_spans_replace_splitting():
    config = Config()
    read = read_inputs([SAMPLE], config=config.read)
    articles, clusters, _, _ = _cluster_articles(read, config, Timer())
    aligned = align_clusters(articles, clusters, config=config.align)
    own = aligned.sentences.filter(pl.col("status") != "dropped").sort("article_id", "position")
    spans = {a: list(zip(g["char_start"], g["char_end"])) for (a,), g in own.group_by("article_id")}
    again = align_clusters(articles, clusters, config=config.align, spans=spans)
    assert_frame_equal(again.sentences, aligned.sentences)
    assert_frame_equal(again.links, aligned.links)
    # The spans are what is used: one canonical given as a single sentence gets one row.
    canonical = clusters.filter(pl.col("is_canonical") & (pl.col("cluster_size") >= 2))["article_id"][0]
    text = articles.filter(pl.col("article_id") == canonical)["text"][0]
    whole = align_clusters(articles, clusters, config=config.align, spans={**spans, canonical: [(0, len(text))]})
    rows = whole.sentences.filter((pl.col("article_id") == canonical) & (pl.col("status") != "dropped"))
    assert rows["text"].to_list() == [text]


def test_a_prior_version_whose_canonical_is_unchanged_is_copied_not_aligned_again(tmp_path):
    r1 = _night(tmp_path, 1)
    # Mark night 1's stored rows of a-o1: only a copy can bring the mark into night 2's output.
    rel = Store(tmp_path / "state").manifest().tables["sentences"][NIGHTS[0]]
    stored = pl.read_parquet(tmp_path / "state" / rel)
    assert set(stored.filter(pl.col("article_id") == "a-o1")["canonical_id"]) == {"a-wire"}
    stored.with_columns(similarity=pl.when(pl.col("article_id") == "a-o1").then(0.125)
                        .otherwise(pl.col("similarity"))).write_parquet(tmp_path / "state" / rel)
    r2 = _night(tmp_path, 2)
    assert r2.summary["history"]["versions_copied"] == 1          # a-o1; a-wire is aligned with tonight's a-o2
    assert set(_rows(r2, "a-o1")["similarity"].drop_nulls()) == {0.125}
    unmarked = _rows(r1, "a-o1").drop("similarity")
    assert_frame_equal(_rows(r2, "a-o1").drop("similarity", "family_id"), unmarked.drop("family_id"))
    # Tonight's version was aligned: its rows are stored with the canonical they were aligned against.
    kept = read_table(tmp_path / "state", "sentences").filter(pl.col("night").cast(pl.String) == NIGHTS[1]).collect()
    assert set(kept.filter(pl.col("article_id") == "a-o2")["canonical_id"]) == {"a-wire"}
    assert kept.drop("night", "canonical_id", "fingerprint").sort(ROW_KEY).equals(r2.sentences.sort(ROW_KEY))


def test_nothing_is_copied_after_the_alignment_settings_changed(tmp_path):
    _night(tmp_path, 1)
    other = _night(tmp_path, 2, config=Config().replace(align={"align_threshold": 0.6}))
    assert other.summary["history"]["versions_copied"] == 0
    again = _night(tmp_path, 2, out="same")                          # a rerun with night 1's settings
    assert again.summary["history"]["versions_copied"] == 1
    # the links' own setting changes no row: the rows are still copied
    links = _night(tmp_path, 2, out="links", config=Config().replace(align={"furniture_min_stories": 2}))
    assert links.summary["history"]["versions_copied"] == 1


def test_versions_whose_canonical_changed_are_aligned_again(tmp_path):
    for n in (1, 2):
        _night(tmp_path, n)
    r3 = _night(tmp_path, 3)
    # The late original w-full is the new canonical of p-o4, p-o5, q-o6, q-o7: all four are aligned
    # against it; a-o1 and a-o2 still have a-wire as canonical and are copied.
    assert r3.summary["history"]["versions_copied"] == 2
    kept = read_table(tmp_path / "state", "sentences").filter(pl.col("night").cast(pl.String) == NIGHTS[2]).collect()
    for article_id in ("p-o4", "p-o5", "q-o6", "q-o7"):
        assert set(kept.filter(pl.col("article_id") == article_id)["canonical_id"]) == {"w-full"}
    q_rows = _rows(r3, "q-o6").filter(pl.col("status") != "dropped")
    assert set(q_rows["status"]) == {"kept"} and q_rows["canonical_position"].min() == 7


def test_a_canonical_sent_again_with_another_text_realigns_its_versions(tmp_path):
    r1 = _night(tmp_path, 1)
    assert _rows(r1, "a-o1").filter(pl.col("position") == 0)["status"].to_list() == ["kept"]
    edited = [A[0].replace(" ", " very ", 1)] + A[1:]
    r2 = _night(tmp_path, 2, night_records(2) + [article("a-wire", "Wire", edited, f"{NIGHTS[0]}T06:00:00Z")])
    assert r2.summary["history"]["versions_copied"] == 0
    assert _rows(r2, "a-o1").filter((pl.col("position") == 0) & (pl.col("status") != "dropped"))[
        "status"].to_list() == ["edited"]


def _shared_addition_nights(tmp_path):
    """Night 1: a wire and an outlet adding a local sentence; night 2: another outlet adds the same one."""
    local = make_story(4242, 1)
    one = [article("x-wire", "Wire", A, f"{NIGHTS[0]}T06:00:00Z"),
           article("x-o1", "Outlet 1", A[:6] + local + A[6:10], f"{NIGHTS[0]}T09:00:00Z")]
    two = [article("x-o2", "Outlet 2", A[:7] + local + A[7:11], f"{NIGHTS[1]}T09:00:00Z")]
    return one, two


def test_families_and_links_span_copied_and_new_versions_as_if_all_were_aligned(tmp_path):
    one, two = _shared_addition_nights(tmp_path)
    _night(tmp_path, 1, one)
    # The same state as if written by format 1: no stored alignments, so night 2 aligns every version.
    shutil.copytree(tmp_path / "state", tmp_path / "old")
    path = tmp_path / "old" / "_manifests" / "000001.json"
    data = json.loads(path.read_text())
    data["format"] = 1
    del data["tables"]["sentences"]
    path.write_text(json.dumps(data))
    reused = _night(tmp_path, 2, two)
    full = _night(tmp_path, 2, two, state="old")
    assert reused.summary["history"]["versions_copied"] == 1 and full.summary["history"]["versions_copied"] == 0
    added = reused.sentences.filter(pl.col("status") == "added")
    assert sorted(added["article_id"]) == ["x-o1", "x-o2"] and added["family_id"].n_unique() == 1
    assert reused.links.select("first_article_id", "article_id", "n_sentences").rows() == [("x-o1", "x-o2", 1)]
    assert_frame_equal(reused.links, full.links)
    columns = [*ROW_KEY, "family_id", "canonical_position", "text", "word_diff"]
    assert_frame_equal(reused.sentences.select(columns).sort(ROW_KEY), full.sentences.select(columns).sort(ROW_KEY))
    # The format 1 state was read, and the run wrote format 2 with tonight's rows.
    head = Store(tmp_path / "old").manifest()
    assert head.format == 2 and list(head.tables["sentences"]) == [NIGHTS[1]]


def test_stored_rows_over_max_sentences_are_not_copied_so_the_story_is_refused_as_without_state(tmp_path):
    # Night 1 aligns a 15-sentence version under the default bound; night 2, with a bound of 12, gets a new
    # version of the story: the long version's stored rows must not be copied past the bound.
    one = [article("l-wire", "Wire", A[:6], f"{NIGHTS[0]}T06:00:00Z"),
           article("l-o1", "Outlet 1", A[:6] + make_story(5151, 10), f"{NIGHTS[0]}T09:00:00Z")]
    r1 = _night(tmp_path, 1, one)
    assert r1.alignment_failures.is_empty() and set(r1.sentences["article_id"]) == {"l-wire", "l-o1"}
    two = [article("l-o2", "Outlet 2", A[:5], f"{NIGHTS[1]}T09:00:00Z")]
    r2 = _night(tmp_path, 2, two, config=Config().replace(align={"max_sentences": 12}))
    assert r2.alignment_failures.select("reason").rows() == [("too_many_sentences",)]
    n = _rows(r1, "l-o1").filter(pl.col("status") != "dropped").height
    assert n > 12 and f"article l-o1 has {n} sentences" in r2.alignment_failures["message"][0]
    assert r2.sentences.filter(pl.col("article_id").str.starts_with("l-")).is_empty()
    assert r2.summary["history"]["versions_copied"] == 0


def test_sentences_are_dropped_with_the_texts_after_the_retention(tmp_path):
    def stored_nights():
        frame = read_table(tmp_path / "state", "sentences").select(pl.col("night").cast(pl.String)).unique().collect()
        return sorted(frame["night"])

    for n in (1, 2):
        _night(tmp_path, n, window="1d", retention="1d")
    assert stored_nights() == [NIGHTS[0], NIGHTS[1]]
    _night(tmp_path, 3, window="1d", retention="1d")               # night 1 is now past the retention
    assert stored_nights() == [NIGHTS[1]]


def _reference_families(distinct, idf, threshold):
    """`_families` story by story, with group_similar on each story's own vectors (the definition)."""
    from dedup.align.families import group_similar
    from dedup.align.tfidf import l2_normalise
    from dedup.align.vectors import _compact

    unit = l2_normalise(idf.weights(distinct["_norm"].to_list(), normalised=True))
    labels = []
    for (_,), story in distinct.with_row_index("_i").group_by("cluster_id", maintain_order=True):
        rows = story["_i"].to_numpy()
        got = group_similar(_compact(unit[rows]), threshold) if len(rows) > 1 else [0]
        labels.extend(int(x) + n for x, n in zip(got, story["_n"]))
    return labels


def test_added_families_of_many_stories_at_once_equal_story_by_story(monkeypatch):
    import random

    from dedup.align import reuse
    from dedup.align.tfidf import IdfModel, normalise_for_match

    rng = random.Random(3)
    words = ["port", "strike", "union", "wages", "minister", "talks", "ship", "cargo", "delay", "city",
             "council", "vote", "rain", "flood", "river", "bridge", "closed", "police", "said", "monday"]
    rows = []
    for story, size in enumerate([1, 2, 3, 9, 14, 40]):   # singles, small stories, two above the block
        base = [rng.choices(words, k=9) for _ in range(max(1, size // 3))]
        for k in range(size):
            sentence = list(rng.choice(base))
            sentence[rng.randrange(9)] = rng.choice(words)   # near-copies join, others stay apart
            rows.append({"cluster_id": f"c{story:02d}", "_kid": len(rows),
                         "_norm": normalise_for_match(" ".join(sentence)), "_n": story})
    distinct = pl.DataFrame(rows)
    idf = IdfModel(features="char35").fit(distinct["_norm"].to_list(), normalised=True)
    for block in (8, 1024):                                     # 8: the two largest go one by one
        monkeypatch.setattr(reuse, "BATCH_BLOCK", block)
        got, _ = reuse._families(distinct, idf, 0.52)
        assert got["_family"].to_list() == _reference_families(distinct, idf, 0.52)
    assert got.filter(pl.col("cluster_id") == "c05")["_family"].n_unique() < 40   # families did form


def test_sentence_keys_on_workers_are_the_aligners_keys():
    from dedup.align.core import key_and_norm
    from dedup.align.reuse import _keys

    texts = pl.Series(["Le “Président” a dit — oui.", "ＦＵＬＬ width ﬁne", "plain  text ", ""] * 300
                      + [f"Sentence {i}." for i in range(600)])
    for workers in (1, 2):
        got = _keys(texts, workers)
        assert got["text"].to_list() == texts.to_list()
        assert list(zip(got["_key"], got["_norm"])) == [key_and_norm(t) for t in texts]


def test_only_texts_that_may_share_an_added_sentences_key_are_keyed():
    from dedup.align.core import key_and_norm
    from dedup.align.reuse import _keys, _spaceless
    from dedup.align.tfidf import normalise_for_match

    added = "Prices rose , “sharply” — said  the MINISTER."
    same_key = ['Prices rose, "sharply" - said the minister.', "ＰＲＩＣＥＳ rose,\t“sharply” — said the minister ."]
    others = ["Prices rose sharply, said the minister.", "Prices rose, sharply - said the minister!", "", "x"]
    texts = pl.Series([added, *same_key, *others] * 200)
    for workers in (1, 2):
        got = _keys(texts, workers, {_spaceless(normalise_for_match(added))})
        assert got["_norm"].to_list() == [key_and_norm(t)[1] for t in texts]
        keys = got["_key"].to_list()
        assert keys[:3] == [key_and_norm(added)[0]] * 3               # every text with the added one's key
        assert keys[3:7] == [None] * 4                                   # no other text is keyed


def test_keying_only_the_candidate_texts_changes_no_family(monkeypatch):
    from dedup.align import reuse
    from dedup.align.tfidf import normalise_for_match

    config = Config()
    read = read_inputs([SAMPLE], config=config.read)
    articles, clusters, _, _ = _cluster_articles(read, config, Timer())
    aligned = align_clusters(articles, clusters, config=config.align)
    stories = clusters.filter(pl.col("cluster_size") >= 2)
    # an added sentence whose key an earlier version's added sentence has, written differently: it is
    # represented by that earlier sentence (a canonical sentence's copy has that sentence's family instead)
    when = dict(zip(stories["article_id"], stories["published"]))
    added = aligned.sentences.filter((pl.col("status") == "added") & pl.col("text").str.contains(", "))
    first, version = None, None
    for row in added.iter_rows(named=True):
        later = aligned.sentences.filter((pl.col("cluster_id") == row["cluster_id"]) & (pl.col("status") != "dropped")
                                         & (pl.col("article_id") != row["article_id"])).filter(
            pl.col("article_id").replace_strict(when, default=None) > when[row["article_id"]])
        if later.height:
            first, version = row, later.row(0, named=True)
            break
    assert first is not None
    respaced = first["text"].replace(", ", " , ").upper()
    edited = aligned.sentences.with_columns(
        text=pl.when((pl.col("article_id") == version["article_id"]) & (pl.col("position") == version["position"])
                     & (pl.col("status") != "dropped")).then(pl.lit(respaced)).otherwise(pl.col("text")),
        status=pl.when((pl.col("article_id") == version["article_id"]) & (pl.col("position") == version["position"])
                       & (pl.col("status") != "dropped")).then(pl.lit("added")).otherwise(pl.col("status")))
    grouped = []   # the distinct added sentences and the texts representing them, as grouped
    group = reuse._families
    monkeypatch.setattr(reuse, "_families", lambda distinct, *a: grouped.append(distinct) or group(distinct, *a))
    filtered = reuse.story_families(edited, stories, idf=aligned.idf, config=config.align)
    everything = reuse._keys
    monkeypatch.setattr(reuse, "_keys", lambda texts, workers, wanted=None: everything(texts, workers))
    full = reuse.story_families(edited, stories, idf=aligned.idf, config=config.align)
    assert_frame_equal(grouped[0].drop("_kid", "_t"), grouped[1].drop("_kid", "_t"))
    norms = grouped[0]["_norm"].to_list()     # represented by the earlier sentence's text
    assert normalise_for_match(first["text"]) in norms and normalise_for_match(respaced) not in norms
    assert_frame_equal(filtered[0], full[0])
    assert_frame_equal(filtered[1], full[1])


def test_rows_with_copies_are_put_in_sentence_order_and_the_inputs_released():
    from dedup.align import SENTENCE_ORDER
    from dedup.align.reuse import _sorted

    frame = pl.DataFrame({"cluster_id": ["b", "a", "b", "a", "a"], "article_id": ["x", "y", "x", "y", "z"],
                          "status": ["dropped", "kept", "added", "dropped", "kept"], "position": [0, 1, 3, 0, 2],
                          "text": ["t1", "t2", "t3", "t4", "t5"]})
    parts = [frame]
    got = _sorted(parts)
    assert parts == []
    assert_frame_equal(got, frame.sort(SENTENCE_ORDER))
