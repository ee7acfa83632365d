import random

import polars as pl
import pytest

from dedup import Config, cluster_frame
from tests.conftest import article, make_story


def _partition(result):
    groups = {}
    for row in result.clusters.iter_rows(named=True):
        groups.setdefault(row["cluster_id"], set()).add(row["article_id"])
    return {frozenset(g) for g in groups.values()}


def _truth_partition(truth):
    groups = {}
    for aid, key in truth.items():
        groups.setdefault(key, set()).add(aid)
    return {frozenset(g) for g in groups.values()}


def test_planted_stories_are_recovered_exactly(planted):
    records, truth = planted
    result = cluster_frame(pl.DataFrame(records))
    assert _partition(result) == _truth_partition(truth)
    canon = result.clusters.filter(pl.col("is_canonical") & (pl.col("cluster_size") > 1))
    assert sorted(canon["article_id"].to_list()) == ["w0", "w1", "w2"]


def test_input_order_does_not_change_output(planted):
    records, _ = planted
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    a = cluster_frame(pl.DataFrame(records)).clusters
    b = cluster_frame(pl.DataFrame(shuffled)).clusters
    where = ["source_file", "source_record"]    # where each record was: its row in the frame it was given in
    assert a.drop(where).equals(b.drop(where))
    for frame, given in ((a, records), (b, shuffled)):
        rows = dict(zip(frame["article_id"], frame["source_record"]))
        assert rows == {r["id"]: k for k, r in enumerate(given, start=1)}


def test_cluster_ids_come_from_the_canonical_article(planted):
    records, _ = planted
    first = cluster_frame(pl.DataFrame(records)).clusters
    # Dropping an unrelated article changes no other cluster id.
    second = cluster_frame(pl.DataFrame([r for r in records if r["id"] != "u0"])).clusters
    ids = dict(zip(first["article_id"], first["cluster_id"]))
    assert all(ids[a] == c for a, c in zip(second["article_id"], second["cluster_id"]))


def test_canonical_tie_breaks_wire_then_length_then_id():
    base = make_story(1, 12)
    recs = [article("b", "Local", base[:10], "2026-11-27T08:00:00Z"),
            article("a", "Local", base[:10], "2026-11-27T08:00:00Z"),
            article("c", "Local", base, "2026-11-27T08:00:00Z"),
            article("z", "Wire", base[:9], "2026-11-27T08:00:00Z")]
    def canonical(cfg):
        c = cluster_frame(pl.DataFrame(recs), config=cfg).clusters
        return c.filter(pl.col("is_canonical"))["article_id"].to_list()
    assert canonical(Config()) == ["c"]                                  # longest text
    assert canonical(Config().replace(cluster={"wire_outlets": ("Wire",)})) == ["z"]
    recs[2]["text"] = recs[0]["text"]                                    # now a, b, c tie on length
    assert canonical(Config()) == ["a"]                                  # smallest id
    recs[0]["published"] = "2026-11-27T07:00:00Z"                       # b
    assert canonical(Config()) == ["b"]                                  # earliest wins first


def test_a_wire_outlet_listed_again_in_another_case_keeps_its_first_rank():
    base = make_story(2, 12)
    recs = [article("r", "Reuters", base[:10], "2026-11-27T08:00:00Z"),
            article("a", "AP", base[:10], "2026-11-27T08:00:00Z"),
            article("l", "Local", base, "2026-11-27T08:00:00Z")]             # longest: first of the non-wires
    def canonical(*wire):
        c = cluster_frame(pl.DataFrame(recs), config=Config().replace(cluster={"wire_outlets": wire})).clusters
        return c.filter(pl.col("is_canonical"))["article_id"].to_list()
    assert canonical("AP", "Reuters", "ap") == ["a"]                    # not AP's later rank, behind Reuters
    assert canonical("ap", "AP", "Reuters") == ["a"]
    recs.pop(1)
    assert canonical("AP", "ap", "Reuters") == ["r"]                    # every listed wire before the rest


def test_truncated_copy_matches_by_containment():
    base = make_story(2, 30)
    recs = [article("wire", "Wire", base, "2026-11-27T08:00:00Z"),
            article("brief", "Brief", base[:6], "2026-11-27T09:00:00Z")]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_id"].n_unique() == 1
    brief = c.filter(pl.col("article_id") == "brief").row(0, named=True)
    assert brief["similarity"] > 0.95 and brief["jaccard"] < 0.3


def test_stitched_article_does_not_chain_two_stories():
    a, b = make_story(10, 14), make_story(11, 14)
    recs = [article("a", "Wire", a, "2026-11-27T01:00:00Z"),
            article("a2", "Outlet A", a[:12], "2026-11-27T02:00:00Z"),
            article("b", "Wire", b, "2026-11-27T03:00:00Z"),
            article("b2", "Outlet B", b[:12], "2026-11-27T04:00:00Z"),
            # a page stitched from the first halves of both stories
            article("ab", "Aggregator", a[:7] + b[:7], "2026-11-27T05:00:00Z")]
    result = cluster_frame(pl.DataFrame(recs), config=Config().replace(cluster={"threshold": 0.45}))
    clusters = dict(zip(result.clusters["article_id"], result.clusters["cluster_id"]))
    assert clusters["a"] == clusters["a2"]
    assert clusters["b"] == clusters["b2"]
    assert clusters["a"] != clusters["b"]
    assert result.summary["pipeline"]["chaining_splits"] >= 1


def test_singletons_by_reason_add_up_to_the_singletons_even_one_split_off():
    # a page stitched from two wire stories: the chaining guard splits one story's wire item off the
    # stitched page's cluster, alone ("split_from: ..."); it is a singleton with a reason like any other
    a, b = make_story(10, 10), make_story(11, 10)
    recs = [article("a", "Wire A", a, "2026-11-27T01:00:00Z"), article("b", "Wire B", b, "2026-11-27T01:30:00Z"),
            article("ab", "Aggregator", a[:6] + b[:6], "2026-11-27T03:00:00Z"), article("tiny", "Post", ["Too short."])]
    result = cluster_frame(pl.DataFrame(recs))
    singles = result.clusters.filter(pl.col("cluster_size") == 1)
    assert any(n.startswith("split_from") for n in singles["note"].to_list())
    by_reason = result.summary["articles"]["singletons_by_reason"]
    assert sum(by_reason.values()) == result.summary["clusters"]["singletons"] == singles.height
    assert by_reason["split_from"] >= 1


def test_outlet_boilerplate_does_not_glue_unrelated_articles():
    about = make_story(77, 6)          # a long "About us" paragraph
    recs = [article(f"r{i}", "PR Wire", make_story(300 + i, 2) + about, "2026-11-27T08:00:00Z")
            for i in range(6)]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_size"].max() == 1
    assert (c["n_boilerplate"] > 0).all()
    off = cluster_frame(pl.DataFrame(recs), config=Config().replace(cluster={"boilerplate_min_docs": 0})).clusters
    assert off["cluster_size"].max() == 6   # the control: without the filter they merge


def test_a_story_carried_by_many_outlets_is_not_boilerplate():
    base = make_story(5, 12)
    recs = [article("wire", "Wire", base, "2026-11-27T00:00:00Z")]
    recs += [article(f"o{i}", f"Outlet {i}", base[: 8 + i % 4], "2026-11-27T01:00:00Z") for i in range(200)]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_size"].to_list() == [201] * 201
    assert c["n_boilerplate"].sum() == 0


def test_short_articles_are_singletons_with_a_reason():
    recs = [article("s1", "A", ["Storm closes coast road."]), article("s2", "B", ["Storm closes coast road."])]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_size"].to_list() == [1, 1]
    assert all(n.startswith("too_short") for n in c["note"].to_list())


def test_unrelated_articles_stay_apart():
    recs = [article(f"u{i}", f"O{i % 3}", make_story(1000 + i, 10)) for i in range(40)]
    c = cluster_frame(pl.DataFrame(recs)).clusters
    assert c["cluster_size"].max() == 1
    assert set(c["note"].to_list()) == {"no_match"}


@pytest.mark.parametrize("threshold", [0.3, 0.9])
def test_threshold_controls_trimmed_padding(threshold):
    base, pad = make_story(3, 10), make_story(4, 10)
    recs = [article("w", "Wire", base, "2026-11-27T00:00:00Z"),
            article("p", "Pad", base[:5] + pad[:5], "2026-11-27T01:00:00Z")]
    # (sentence_threshold=0: the pseudo-sentences share a 60-word vocabulary, so
    # the sentence-level second opinion would see them all as alike.)
    cfg = Config().replace(cluster={"threshold": threshold, "sentence_threshold": 0})
    c = cluster_frame(pl.DataFrame(recs), config=cfg).clusters
    assert (c["cluster_id"].n_unique() == 1) == (threshold == 0.3)


WIRE = ("Harbour authorities in Port Ellery closed the northern quay on Tuesday after inspectors found cracks "
        "in the concrete deck. About 40 fishing boats were moved to the southern basin overnight. "
        "The harbour master, Gwen Pascoe, said repairs would take at least six weeks and cost 2.3 million pounds. "
        "Fishermen's association chairman Tom Reddy warned that the closure came at the worst time of the year. "
        "The council will meet on Friday to decide whether to seek emergency funding from the government. "
        "Engineers first reported damage to the deck after the storms of last winter.")
REWRITE = ("Harbour authorities in Port Ellery shut the northern quay on Tuesday when inspectors found cracks "
           "in its concrete deck. Around 40 fishing boats were moved to the southern basin overnight. "
           "Harbour master Gwen Pascoe said repairs would take at least six weeks, costing 2.3 million pounds. "
           "Tom Reddy, the fishermen's association chairman, warned that the closure came at the worst time of year. "
           "On Friday the council will meet to decide whether to seek emergency funding from the government. "
           "Engineers had first reported damage to the deck after last winter's storms.")
INDEPENDENT = ("Fishing crews in Port Ellery were scrambling for berths this week. The northern quay is shut, "
               "and skippers say they were given only hours to move. \"We found out from a notice on the gate,\" "
               "said one trawlerman, who asked not to be named. Gwen Pascoe, who runs the harbour, has promised "
               "updates every morning. Councillors are expected to discuss the quay at a meeting on Friday. "
               "Some boats may have to land their catch at Kilbride instead, an hour's sail to the west.")


def test_a_rewritten_copy_joins_by_sentence_containment_an_independent_report_does_not():
    recs = [article("wire", "Wire", [WIRE], "2026-11-27T08:00:00Z"),
            article("rewrite", "Gazette", [REWRITE], "2026-11-27T09:00:00Z"),
            article("own", "Courier", [INDEPENDENT], "2026-11-27T10:00:00Z")]
    result = cluster_frame(pl.DataFrame(recs))
    c = dict(zip(result.clusters["article_id"], result.clusters["cluster_id"]))
    assert c["wire"] == c["rewrite"] != c["own"]
    pair = result.pairs.filter(pl.col("accepted")).row(0, named=True)
    assert pair["containment"] < 0.5 and pair["sentence_share"] == 1.0
    off = cluster_frame(pl.DataFrame(recs), config=Config().replace(cluster={"sentence_threshold": 0})).clusters
    assert off["cluster_size"].max() == 1


def test_house_phrasing_is_not_boilerplate_only_recurring_passages_are():
    # One wire outlet: every story repeats short stock phrases, which must stay;
    # a long disclaimer passage repeated in every story is removed.
    disclaimer = make_story(55, 3)
    recs = []
    for i in range(8):
        story = make_story(400 + i, 10)
        story[2] = story[2][:-1] + " the company said in a statement."
        recs.append(article(f"r{i}", "Wire", story + disclaimer))
    c = cluster_frame(pl.DataFrame(recs)).clusters.sort("article_id")
    n_disclaimer = cluster_frame(pl.DataFrame([article("d", "X", disclaimer)])).clusters["n_shingles"][0]
    # Exactly the disclaimer's shingles (plus the ones straddling into it) are removed, never the stock phrase.
    assert all(n_disclaimer <= n <= n_disclaimer + 3 for n in c["n_boilerplate"].to_list())
    assert c["cluster_size"].max() == 1


def test_boilerplate_in_some_articles_only_keeps_the_frame_consistent():
    about = make_story(78, 5)
    recs = [article(f"p{i}", "PR Wire", make_story(600 + i, 3) + (about if i < 5 else [])) for i in range(8)]
    c = cluster_frame(pl.DataFrame(recs)).clusters.sort("article_id")
    assert c["cluster_size"].max() == 1
    assert [n > 0 for n in c["n_boilerplate"].to_list()] == [True] * 5 + [False] * 3


def test_similarities_to_one_anchor_per_doc_equal_those_to_each_anchor_alone():
    # build_clusters measures every component against its anchor in one call
    import numpy as np

    from dedup.cluster import FlatSets, _similarities

    rng = np.random.default_rng(3)
    sets = FlatSets.from_list([np.unique(rng.integers(0, 60, rng.integers(0, 40))).astype(np.uint32)
                               for _ in range(30)])
    docs = rng.integers(0, 30, 200).astype(np.int64)
    anchors = rng.integers(0, 30, 200).astype(np.int64)
    together = _similarities(sets, docs, anchors)
    for k in range(len(docs)):
        alone = _similarities(sets, docs[k:k + 1], int(anchors[k]))
        assert [float(x[k]) for x in together] == [float(x[0]) for x in alone]
    empty_vs_empty = _similarities(FlatSets.from_list([np.array([], np.uint32)] * 2), np.array([0]), 1)
    assert [float(x[0]) for x in empty_vs_empty] == [0.0, 0.0, 0.0]


def test_chaining_splits_count_each_article_split_off_once():
    """A chain p0-p1-...-p6 (each page matches its neighbours only) is cut into pieces round after round;
    p2..p6 are split off (some of them again from the pieces): 5 articles, not 5 + 3 + 1 splits."""
    s = make_story(77, 60)
    recs = [article(f"p{i}", f"O{i}", s[4 * i:4 * i + 10], f"2026-11-27T{i:02d}:00:00Z") for i in range(7)]
    result = cluster_frame(pl.DataFrame(recs))
    split = result.clusters.filter(pl.col("note").str.starts_with("split_from"))
    assert sorted(split["article_id"]) == ["p2", "p3", "p4", "p5", "p6"]
    assert result.summary["pipeline"]["chaining_splits"] == 5


def test_the_chaining_guard_measures_a_rolling_chain_in_linear_work(monkeypatch):
    """A rolling ticker (each version drops its oldest sentence, adds one) is one component that the guard
    cuts into stories of a few versions, pass after pass: each pass measures the articles near its anchor,
    not the whole rest of the chain again (that was 100,000 measurements at 1,000 versions)."""
    import dedup.cluster as C

    measured = []
    real = C._similarities
    monkeypatch.setattr(C, "_similarities", lambda sets, docs, anchor: measured.append(len(docs))
                        or real(sets, docs, anchor))
    s = make_story(5, 310)
    n = 300
    recs = [article(f"t{i:03d}", f"O{i}", s[i:i + 10], f"2026-11-27T{i // 60:02d}:{i % 60:02d}:00Z") for i in range(n)]
    result = cluster_frame(pl.DataFrame(recs), config=Config().replace(align={"workers": 1}))
    assert result.summary["clusters"]["stories"] > n // 10 and result.summary["clusters"]["largest"] < 20
    assert sum(measured) < 10 * n, sum(measured)


def _guard_reference(n, sets, rank, edges, rescued, resent, threshold, min_overlap):
    """The chaining guard as README states it, walked naively: (canonical, similarity, split-from anchor)."""
    adj = {d: set() for d in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)

    def pieces(docs):
        docs, out = set(docs), []
        while docs:
            stack, comp = [min(docs)], set()
            while stack:
                x = stack.pop()
                if x not in comp:
                    comp.add(x)
                    stack.extend(adj[x] & docs)
            docs -= comp
            out.append(comp)
        return out

    canonical, similarity, head_of = list(range(n)), [None] * n, [-1] * n
    pending = [(comp, -1) for comp in pieces(range(n)) if len(comp) > 1]
    while pending:
        members, head = pending.pop()
        anchor = min(members, key=lambda d: rank[d])
        ov = {d: len(sets[d] & sets[anchor]) for d in members}
        c = {d: ov[d] / min(len(sets[d]), len(sets[anchor])) if min(len(sets[d]), len(sets[anchor])) else 0.0
             for d in members}
        keep = {d for d in members if d == anchor or (c[d] >= threshold and ov[d] >= min_overlap)
                or (min(d, anchor), max(d, anchor)) in rescued}
        stack = list(keep)
        while stack:
            for y in resent.get(stack.pop(), ()):
                if y in members and y not in keep:
                    keep.add(y)
                    stack.append(y)
        for d in keep:
            canonical[d], similarity[d], head_of[d] = anchor, 1.0 if d == anchor else c[d], head
        for comp in pieces(members - keep):
            if len(comp) == 1:
                head_of[next(iter(comp))] = anchor
            else:
                pending.append((comp, anchor))
    return canonical, similarity, head_of


@pytest.mark.parametrize("seed", range(12))
def test_the_chaining_guard_settles_as_the_naive_rule(seed):
    """Random graphs (chains, rings, stars, pairs accepted on sentences, re-sends): the guard's clusters,
    similarities and split_from notes are those of the rule walked naively, piece by piece."""
    from datetime import UTC, datetime

    import numpy as np

    from dedup.cluster import _canonical_order, build_clusters, cluster_id_for
    from dedup.config import ClusterConfig, ShingleConfig

    rng = random.Random(seed)
    n = rng.randint(20, 90)
    universe = rng.choice([60, 600])     # (most pairs then share no shingle: the postings are read)
    sets = [set(rng.sample(range(universe), rng.randint(8, 30))) for _ in range(n)]
    edges = {tuple(sorted(rng.sample(range(n), 2))) for _ in range(rng.randint(n // 3, 3 * n))}
    edges |= {(i, i + 1) for i in range(0, n - 1, rng.choice([1, 2]))} | ({(0, n - 1)} if seed % 2 else set())
    edges = sorted(edges)
    rescued = {e for e in edges if rng.random() < 0.1}
    resend = [e for e in edges if rng.random() < 0.1]
    resend = [e for k, e in enumerate(resend) if not any(set(e) & set(f) for f in resend[:k])]   # a matching
    ids = [f"a{d:03d}" for d in range(n)]
    published = [None if d % 7 == 0 else datetime(2026, 11, 27, 0, rng.randint(0, 20), tzinfo=UTC)
                 for d in range(n)]     # ties and unknown times: the canonical order decides
    articles = pl.DataFrame({"article_id": ids, "outlet": [f"O{d % 5}" for d in range(n)], "title": ids,
                             "published": published, "text": ["x" * rng.randint(1, 9) for _ in range(n)],
                             "url": ids, "source_file": ["f"] * n, "source_record": list(range(n))})
    shingles = pl.DataFrame({"shingles": [sorted(s) for s in sets], "n_boilerplate": [0] * n},
                            schema={"shingles": pl.List(pl.UInt32), "n_boilerplate": pl.UInt32})
    pairs = pl.DataFrame({"left": [a for a, _ in edges], "right": [b for _, b in edges],
                          "containment": [0.3 if e in rescued else 0.9 for e in edges],
                          "accepted": [True] * len(edges)},
                         schema={"left": pl.UInt32, "right": pl.UInt32, "containment": pl.Float64,
                                 "accepted": pl.Boolean})
    resends = pl.DataFrame({"left": [a for a, _ in resend], "right": [b for _, b in resend]},
                           schema={"left": pl.UInt32, "right": pl.UInt32})
    config = ClusterConfig(threshold=0.5, min_overlap=4)
    got, stats = build_clusters(articles, shingles, pairs, config=config,
                                shingle_config=ShingleConfig(min_shingles=1), resends=resends)
    rank = _canonical_order(articles, np.array([len(s) for s in sets]), ())
    resent = {}
    for a, b in resend:
        resent.setdefault(a, []).append(b)
        resent.setdefault(b, []).append(a)
    canonical, similarity, head_of = _guard_reference(n, sets, rank, edges, rescued, resent, 0.5, 4)
    row = {r["article_id"]: r for r in got.iter_rows(named=True)}
    assert [row[i]["canonical_id"] for i in ids] == [ids[c] for c in canonical]
    assert [row[i]["similarity"] for i in ids] == pytest.approx(similarity, nan_ok=True)
    assert [row[i]["note"] if h >= 0 else None for i, h in zip(ids, head_of)] == \
        [f"split_from: matched {cluster_id_for(ids[h])} only through other articles" if h >= 0 else None
         for h in head_of]
    assert stats.splits == sum(h >= 0 for h in head_of)
