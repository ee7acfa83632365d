"""BASIL: 100 events, each written independently by NYT, Fox News and HuffPost.

No cluster may hold articles of two different events. Articles of the same
event by different outlets are not copies either; how many merge is reported.
"""

from __future__ import annotations

from itertools import combinations

import pytest

from dedup import cluster_frame

from .loaders import cluster_of, describe_pair, eval_config, load_basil, record, require, similarity

pytestmark = pytest.mark.evaldata


def test_no_cluster_mixes_two_events():
    frame = load_basil(require("basil-event-triplets"))
    config = eval_config()
    result = cluster_frame(frame.drop("event"), config=config)
    event = dict(zip(frame["id"].to_list(), frame["event"].to_list()))
    cluster = cluster_of(result)

    members: dict[str, list[str]] = {}
    for aid, cid in cluster.items():
        members.setdefault(cid, []).append(aid)
    multi = {cid: ids for cid, ids in members.items() if len(ids) > 1}
    mixed = {cid: ids for cid, ids in multi.items() if len({event[a] for a in ids}) > 1}

    same_event_pairs = [(a, b) for ids in frame.group_by("event").agg("id")["id"].to_list()
                        for a, b in combinations(sorted(ids), 2)]
    merged_same_event = [(a, b) for a, b in same_event_pairs if cluster[a] == cluster[b]]
    ids = result.articles["article_id"].to_list()
    accepted = result.pairs.filter("accepted")
    cross_event_accepted = sum(event[ids[i]] != event[ids[j]]
                               for i, j in zip(accepted["left"].to_list(), accepted["right"].to_list()))
    cross_event_candidates = [c for i, j, c in zip(result.pairs["left"].to_list(), result.pairs["right"].to_list(),
                                                   result.pairs["containment"].to_list())
                              if event[ids[i]] != event[ids[j]]]
    text = dict(zip(frame["id"].to_list(), frame["text"].to_list()))
    same_event_containment = sorted(similarity(text[a], text[b], config.shingle.size)["containment"]
                                    for a, b in same_event_pairs)
    record("basil", articles=result.clusters.height, events=frame["event"].n_unique(),
           clusters=len(multi), singletons=result.clusters.height - sum(map(len, multi.values())),
           violations=len(mixed), cross_event_accepted_pairs=cross_event_accepted,
           same_event_pairs=len(same_event_pairs), same_event_merged=len(merged_same_event),
           same_event_merge_rate=round(len(merged_same_event) / len(same_event_pairs), 4),
           cross_event_candidates=len(cross_event_candidates),
           cross_event_max_containment=round(max(cross_event_candidates, default=0.0), 3),
           same_event_containment_top3=same_event_containment[-3:])

    assert not mixed, f"{len(mixed)} clusters mix events:\n" + "\n".join(
        describe_pair(result, config, a, b)
        for ids_ in mixed.values() for a, b in combinations(sorted(ids_), 2) if event[a] != event[b])
