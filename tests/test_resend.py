"""Re-sends marked in the headline (CORRECTED, RPT, REFILE, UPDATE n): candidates, verification, chaining guard."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dedup import Config, cluster_frame
from dedup.io import articles_from_frame
from dedup.resend import is_resend, resend_candidates, title_words
from tests.conftest import article, make_story

DAY1, DAY2, DAY9 = "2026-11-20T08:00:00Z", "2026-11-21T09:00:00Z", "2026-11-29T09:00:00Z"


@pytest.mark.parametrize("title", [
    "CORRECTED - GM <GM> TO IDLE SIX PLANTS", "(CORRECTED)-IVORY COAST CONFIRMS PRESENCE AT TALKS",
    "<CORRECTED> - GENERAL INSTRUMENT CORP <GRL> DIVI", "RPT - EUROPEAN TRADE MAY PROPOSE NEW ICO FORMULA",
    "(RPT) U.S. SAYS TIN DISPOSALS WILL NOT AFFECT ACCORD", "LYNG WARNS U.S. TRADE SITUATION IS EXPLOSIVE (RPT)",
    "REFILE-Apple sues Samsung", "UPDATE 2-Oil rises on supply fears", "Correction: Mayor resigns"])
def test_marked_headlines(title):
    assert is_resend(title)


@pytest.mark.parametrize("title", [
    "BAKER REPEATS HE HOPES FOR STABLE DOLLAR", "MOODY'S DOWNGRADES REPUBLICBANK <RPT>", "<RPT> SETS DIVIDEND",
    "Update on the talks", "Corrected figures show growth", "", None])
def test_unmarked_headlines(title):
    assert not is_resend(title)


def test_title_words_drop_the_marker_stop_words_and_single_letters():
    assert title_words("CORRECTED - MELLON <MEL> UNIT'S NOTES") == ["mellon", "mel", "unit", "notes"]
    assert title_words("UPDATE 2-Oil rises on the news") == ["oil", "rises", "news"]


def _articles(records):
    return articles_from_frame(pl.DataFrame(records)).articles


def _pairs(records, **cluster):
    arts = _articles(records)
    ids = arts["article_id"].to_list()
    got = resend_candidates(arts, config=Config().replace(cluster=cluster).cluster)
    return {(ids[a], ids[b]) for a, b in zip(got["left"].to_list(), got["right"].to_list())}


def test_candidates_need_the_same_outlet_an_earlier_item_within_the_window_and_the_headline():
    s = make_story(1)
    recs = [article("orig", "Wire", s, DAY1, title="MELLON BANK <MEL> SELLS FIVE-YEAR DEPOSIT NOTES"),
            article("fix", "Wire", s, DAY2, title="CORRECTED - MELLON <MEL> UNIT'S NOTES"),
            article("other_outlet", "Daily", s, DAY1, title="MELLON BANK <MEL> SELLS FIVE-YEAR DEPOSIT NOTES"),
            article("other_title", "Wire", s, DAY1, title="MELLON BANK NAMES NEW CHAIRMAN"),
            article("later", "Wire", s, DAY9, title="MELLON BANK <MEL> SELLS FIVE-YEAR DEPOSIT NOTES"),
            article("undated", "Wire", s, None, title="MELLON BANK <MEL> SELLS FIVE-YEAR DEPOSIT NOTES")]
    assert _pairs(recs) == {("fix", "orig")}
    assert _pairs(recs, resend_max_days=0) == set()
    # the original a week earlier is outside the default window of 4 days
    recs[0] = article("orig", "Wire", s, "2026-11-14T08:00:00Z", title=recs[0]["title"])
    assert _pairs(recs) == set()
    assert _pairs(recs, resend_max_days=8) == {("fix", "orig")}


def _rewritten_correction():
    """An original and its correction: the first two sentences kept, the rest rewritten (containment ~0.3)."""
    base, new = make_story(11, 10), make_story(12, 10)
    original = base[:6]
    correction = base[:2] + new[:4]
    return base, original, correction


def test_a_marked_rewrite_joins_the_item_it_corrects_unmarked_or_foreign_ones_do_not():
    _, original, correction = _rewritten_correction()
    recs = [article("orig", "Wire", original, DAY1, title="ACME <ACM> TO SELL RAILWAY EQUIPMENT UNIT"),
            article("fix", "Wire", correction, DAY2, title="CORRECTED - ACME <ACM> TO SELL RAILWAY UNIT")]

    def together(records, **cluster):
        c = cluster_frame(pl.DataFrame(records), config=Config().replace(cluster=cluster)).clusters
        ids = dict(zip(c["article_id"], c["cluster_id"]))
        return ids["orig"] == ids["fix"]

    result = cluster_frame(pl.DataFrame(recs))
    pair = result.pairs.to_dicts()[0]
    assert 0.2 <= pair["containment"] < 0.5 and pair["accepted"]
    assert result.summary["pipeline"]["resend_pairs"] == 1   # not an LSH candidate: counted on its own
    assert together(recs)
    assert not together(recs, resend_max_days=0)
    assert not together(recs, resend_min_containment=0.45)
    assert not together([recs[0], {**recs[1], "title": "ACME <ACM> TO SELL RAILWAY UNIT"}])   # no marker
    assert not together([recs[0], {**recs[1], "outlet": "Daily"}])                             # not its outlet


def test_the_chaining_guard_keeps_a_resend_with_the_copy_it_corrects():
    """The wire's story C is canonical; outlet X carries a copy O and then corrects it (R, a rewrite of O
    that matches C only at 0.33): R stays in C's cluster through O, not split off as a chain."""
    base, original, correction = _rewritten_correction()
    recs = [article("wire", "Wire", base, "2026-11-20T06:00:00Z", title="Acme to sell railway unit"),
            article("copy", "X", original, DAY1, title="Acme to sell its railway equipment unit"),
            article("fix", "X", correction, DAY2, title="CORRECTED - Acme to sell its railway unit")]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_id"].n_unique() == 1
    assert c.filter(pl.col("is_canonical"))["article_id"].to_list() == ["wire"]
    assert c.filter(pl.col("article_id") == "fix")["note"].to_list() == [None]


@pytest.mark.parametrize("cluster", [{"resend_max_days": -1}, {"resend_max_days": float("inf")},
                                     {"resend_min_title": 0}, {"resend_min_title": 1.5},
                                     {"resend_min_containment": 1.5}])   # (above threshold it changes nothing)
def test_resend_settings_are_checked(cluster):
    from dedup.errors import ConfigError
    with pytest.raises(ConfigError, match="resend_"):
        Config().replace(cluster=cluster)


def test_vectorised_headlines_agree_with_the_python_functions():
    """The polars path (printable ASCII) and the Python path (the rest) give is_resend and title_words."""
    from dedup.resend import _marked, _title_words
    titles = ["CORRECTED - GM <GM> TO IDLE SIX PLANTS", "(RPT) U.S. SAYS TIN DISPOSALS", "UPDATE 2-Oil rises",
              "Oil rises on supply fears (Refiled)", "BAKER REPEATS HE HOPES", "UPDATE ON TALKS", "REPEAT:a b c",
              "update 12 : the the a an of Mill_Town x", "<CORRECTED> - Café prices rise in Zürich",
              "RPT \u2014 STRASSE Straße closes", "CORRECTED -\nline two words", "UPDATE 1-Oil\x1cprices up", None,
              "", "[RECAST] Bank rates", "Rates rise [update 3]", "K\u212a kelvin REPEAT - sign", "Ｒｐｔ - ｗｉｄｅ words",
              "Oil rises -- (RPT)", "Oil rises \u2014 (RPT) ", "RPT - (CORRECTED)", "(RPT)(CORRECTED)",
              "Oil - rises  [update 2] x", "Oil rises - : (UPDATE 3)\n"]
    frame = pl.DataFrame({"doc": pl.Series(range(len(titles)), dtype=pl.UInt32), "title": titles})
    assert _marked(frame).to_list() == [d for d, t in enumerate(titles) if is_resend(t)]
    got = _title_words(frame)
    assert got.height == got.unique().height   # distinct per headline
    by_doc = {d: set(ws) for d, ws in got.group_by("doc").agg("word").iter_rows()}
    assert by_doc == {d: set(title_words(t)) for d, t in enumerate(titles) if title_words(t)}
    assert by_doc[0] == {"gm", "idle", "plants"} and 9 in by_doc and "straße" not in by_doc[9]


def _stories(rows: list[dict], **cluster) -> dict[str, str]:
    result = cluster_frame(_articles(rows), config=Config().replace(cluster=cluster) if cluster else Config())
    return dict(zip(result.clusters["article_id"], result.clusters["cluster_id"]))


def test_a_wires_marked_updates_count_once_for_its_boilerplate():
    # Five versions of one body from one outlet make it that outlet's boilerplate unless the marked updates
    # count as one item: then the wire's story and its updates join the outlets that carried it.
    from tests.spark.corpora import update_chain_corpus
    story = _stories(update_chain_corpus())
    chain = [f"wire-{k}" for k in range(5)] + [f"copy-{k}" for k in range(3)]
    assert len({story[a] for a in chain}) == 1
    # the press releases, which share a long passage of their outlet, stay apart: it is their boilerplate
    assert len({story[f"release-{k}"] for k in range(5)}) == 5
    # unmarked, the updates are five texts: the body is the wire's boilerplate and its versions lose the story
    unmarked = _stories(update_chain_corpus(marked=False))
    assert all(unmarked[f"wire-{k}"] != unmarked["copy-0"] for k in range(5))
    # so is a chain whose updates share too little with each other to be re-sends of one item
    loose = _stories(update_chain_corpus(), min_overlap=10_000)
    assert all(loose[f"wire-{k}"] != loose["copy-0"] for k in range(5))


def test_resend_followers_are_every_chain_member_but_the_smallest_id():
    from dedup.resend import resend_followers
    same = np.arange(40, dtype=np.uint32)
    ids = {0: "c", 1: "a", 2: "b", 3: "d", 4: "e"}
    # 0-1 and 1-2 hold (one chain: its smallest id is "a", doc 1); 3-4 shares too little
    pairs = [(0, 1, same, same), (1, 2, same, same[:30]), (3, 4, same, np.arange(100, 140, dtype=np.uint32))]
    left, right, ls, rs = (list(x) for x in zip(*pairs))
    assert resend_followers(left, right, ls, rs, ids) == [0, 2]
    assert resend_followers(left[::-1], right[::-1], ls[::-1], rs[::-1], ids) == [0, 2]   # any pair order
    assert resend_followers([], [], [], [], ids) == []


def test_a_marked_doc_follows_only_the_item_it_re_sends_most_closely():
    """An RPT of item 0 (doc 4) is proposed with items 0-3 of a headline template, all sharing a long passage
    with it; with the proposers known it chains with item 0 alone, so items 1-3 stay texts of their own."""
    from dedup.resend import proposers, resend_followers
    passage, own = np.arange(60, dtype=np.uint32), [np.arange(100 + 40 * k, 140 + 40 * k, dtype=np.uint32)
                                                      for k in range(4)]
    sets = [np.concatenate([o, passage]) for o in own] + [np.concatenate([own[0], passage])]
    ids = {d: f"a{d}" for d in range(5)}
    left, right = [0, 1, 2, 3], [4, 4, 4, 4]
    args = (left, right, [sets[d] for d in left], [sets[d] for d in right], ids)
    assert resend_followers(*args) == [1, 2, 3, 4]   # without proposers: every pair that holds chains
    titles = [f"Local story {k} about fees" for k in range(4)] + ["RPT-Local story 0 about fees"]
    published = [1, 2, 3, 4, 5]
    by = proposers(left, right, titles, published)
    assert by == [4, 4, 4, 4]
    assert resend_followers(*args, proposers=by) == [4]
    # an update chain still links through each update's closest earlier version
    chain = [np.arange(60, dtype=np.uint32), np.arange(5, 65, dtype=np.uint32), np.arange(10, 70, dtype=np.uint32)]
    titles = ["Oil rises", "UPDATE 1-Oil rises", "UPDATE 2-Oil rises"]
    left, right = [0, 0, 1], [1, 2, 2]
    by = proposers(left, right, titles, [1, 2, 3])
    assert by == [1, 2, 2]
    assert resend_followers(left, right, [chain[d] for d in left], [chain[d] for d in right],
                            {0: "a", 1: "b", 2: "c"}, proposers=by) == [1, 2]


def test_an_update_reusing_an_older_story_of_its_outlet_stays_with_the_story_it_updates():
    """X (day 1) and Y (day 2) are two stories of one wire under one headline; U updates Y and reuses three
    background sentences of X. U re-sends Y (containment 0.8), not X (0.25): Y keeps its copies and its
    story, X keeps its own, and nothing joins X's story at similarity 0."""
    x, y = make_story(501, 10), make_story(502, 10)
    title = "Oil prices rise on supply fears"
    recs = [article("X", "Wire", x, "2026-11-26T08:00:00Z", title=title),
            article("Y", "Wire", y, "2026-11-27T08:00:00Z", title=title),
            article("U", "Wire", y[:8] + x[7:], "2026-11-27T10:00:00Z", title="UPDATE 1-" + title)]
    for k in range(3):
        recs += [article(f"X{k}", f"Paper{k}", x[:8], f"2026-11-26T1{k}:00:00Z"),
                 article(f"Y{k}", f"Paper{k}", y[:8], f"2026-11-27T1{k}:00:00Z")]
    result = cluster_frame(pl.DataFrame(recs))
    ids = {a: set(g) for a, g in result.clusters.group_by("canonical_id").agg("article_id").iter_rows()}
    assert ids == {"X": {"X", "X0", "X1", "X2"}, "Y": {"Y", "U", "Y0", "Y1", "Y2"}}
    assert result.clusters["similarity"].min() >= 0.5
    # the pair U-X was proposed and passed the re-send bar: it is U's second choice that is left out
    ids_of = result.articles["article_id"].to_list()
    pairs = {frozenset((ids_of[a], ids_of[b])): c for a, b, c, ok in result.pairs.select(
        "left", "right", "containment", "accepted").iter_rows() if ok}
    assert 0.2 <= pairs[frozenset(("U", "X"))] < 0.5


def test_a_resend_too_short_to_compare_stays_a_singleton():
    """With min_shingles above min_overlap, a re-send pair can pass the re-send bar with an article LSH
    never sees (too short): it is a singleton with its reason, as an unmarked copy of it is."""
    base = make_story(11, 10)
    lead = [" ".join(base[0].split()[:14])]   # 14 tokens: 11 shingles
    recs = [article("item", "Wire", base, "2026-11-27T08:00:00Z", title="Harbour strike talks collapse in port city"),
            article("upd", "Wire", lead, "2026-11-27T09:00:00Z",
                    title="UPDATE 1-Harbour strike talks collapse in port city"),
            article("copy", "Paper", lead, "2026-11-27T10:00:00Z")]
    c = cluster_frame(pl.DataFrame(recs), config=Config().replace(shingle={"min_shingles": 12})).clusters
    assert c["cluster_size"].to_list() == [1, 1, 1]
    notes = dict(zip(c["article_id"], c["note"]))
    assert notes["upd"].startswith("too_short: 11 shingles") and notes["copy"].startswith("too_short")


@pytest.mark.parametrize("copy_id", ["o-0", "o-z"])   # before and after the update's id "o-b"
@pytest.mark.parametrize("batch", [None, 2, 5])
def test_an_unmarked_copy_of_an_update_counts_no_more_than_the_update(copy_id, batch, monkeypatch):
    """The outlet's update o-b re-sends o-a (it adds a passage P), and the outlet also has an unmarked
    copy of o-b. That text is a re-send wherever it is: P is then in 3 of the outlet's texts, not 4, and
    is not its boilerplate, whichever id the copy has and however the articles fall into batches."""
    from dedup import signing
    if batch:
        monkeypatch.setattr(signing, "BATCH_ARTICLES", batch)
    item, passage = make_story(601, 8), make_story(602, 3)
    title = "Harbour fees to rise next year"
    recs = [article("o-a", "Coast Herald", item, "2026-11-27T08:00:00Z", title=title),
            article("o-b", "Coast Herald", item + passage, "2026-11-27T09:00:00Z", title="UPDATE 1-" + title),
            article(copy_id, "Coast Herald", item + passage, "2026-11-27T10:00:00Z", title=title)]
    recs += [article(f"o-s{k}", "Coast Herald", make_story(610 + k, 6) + passage, "2026-11-27T11:00:00Z",
                     title=f"Other story {k}") for k in range(3)]
    result = cluster_frame(_articles(recs))
    assert result.clusters["n_boilerplate"].to_list() == [0] * 6
    assert result.summary["pipeline"]["boilerplate_shingles_removed"] == 0
    # one more text with P is the outlet's boilerplate: the rule is the count, not a blanket exemption
    more = recs + [article("o-s9", "Coast Herald", make_story(619, 6) + passage, "2026-11-27T12:00:00Z",
                           title="Other story 9")]
    assert cluster_frame(_articles(more)).summary["pipeline"]["boilerplate_shingles_removed"] > 0


@pytest.mark.parametrize("run", [" ", "-", " -\u2013 "])
def test_a_long_run_of_blanks_or_dashes_in_a_headline_costs_its_length(run):
    """A scraped headline padded with blanks (not printable ASCII, so Python's regex engine reads it): the
    trailing-marker test was tried at every character of the run, the square of its length (2 s at 20,000
    blanks, hours at a megabyte)."""
    import time

    for title, marked in [("Storm closes coast road\n" + run * 40_000 + "\n", False),
                          ("Storm closes coast road\n" + run * 40_000 + "(RPT)", True)]:
        started = time.process_time()
        assert is_resend(title) is marked
        assert title_words(title) == ["storm", "closes", "coast", "road"]
        assert time.process_time() - started < 0.5


def test_a_desk_sending_one_headline_template_pairs_each_item_with_a_few():
    """One outlet sends hundreds of items on one template ("UPDATE 1-BRIEF-<Co> Corp says quarterly
    profit rises"): every marked item shares 6 of its 7 words with every other. Each keeps the few it
    shares the most with, the latest first (its own earlier version among them, by its company's
    name, however far back), not all of them: the pairs grew with the square of the items."""
    from dedup.resend import MAX_PARTNERS

    n = 400
    recs = [article("orig", "Wire", ["Zeta earnings."], "2026-11-27T00:00:00Z",
                    title="BRIEF-Zeta Corp says quarterly profit rises")]
    recs += [article(f"i{k:03d}", "Wire", ["Earnings."], f"2026-11-27T{1 + k // 60:02d}:{k % 60:02d}:00Z",
                     title=f"UPDATE 1-BRIEF-Co{k} Corp says quarterly profit rises") for k in range(n)]
    recs.append(article("update", "Wire", ["Zeta earnings, updated."], "2026-11-27T23:00:00Z",
                        title="UPDATE 1-BRIEF-Zeta Corp says quarterly profit rises"))
    pairs = _pairs(recs)
    assert ("orig", "update") in pairs
    per_item = {}
    for a, b in pairs:
        later = max(a, b, key=lambda i: [r["id"] for r in recs].index(i))
        per_item[later] = per_item.get(later, 0) + 1
    assert max(per_item.values()) <= MAX_PARTNERS
    assert len(pairs) <= MAX_PARTNERS * (n + 1)
    # the latest items first: the item just before is kept, the first of the night is not
    assert ("i398", "i399") in pairs and ("i000", "i399") not in pairs
