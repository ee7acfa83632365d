"""Clough & Stevenson: answers derived from a Wikipedia source join its cluster.

``cut`` (copy-paste) and ``light`` (lightly edited) answers must be in the
cluster of their task's source text; ``non`` answers (written independently
on the same topic) must not. ``heavy`` rewrites are reported, not required.
"""

from __future__ import annotations

import pytest

from dedup import cluster_frame

from .loaders import cluster_of, describe_pair, eval_config, load_clough, longest_shared_run, record, require, similarity

pytestmark = pytest.mark.evaldata


@pytest.fixture(scope="module")
def clough():
    frame = load_clough(require("clough-stevenson-plagiarism"))
    config = eval_config()
    result = cluster_frame(frame.drop("task", "category"), config=config)
    cluster = cluster_of(result)

    joined = {}
    failures = []
    for row in frame.filter(frame["category"] != "orig").to_dicts():
        source = f"orig_task{row['task']}"
        together = cluster[row["id"]] == cluster[source]
        cat = row["category"]
        n, k = joined.get(cat, (0, 0))
        joined[cat] = (n + 1, k + together)
        if (cat in ("cut", "light") and not together) or (cat == "non" and together):
            failures.append((cat, row["id"], source))

    n_multi = result.clusters.filter(result.clusters["cluster_size"] > 1)["cluster_id"].n_unique()
    # What each failure shares with its source, measured on the raw texts (not the pipeline):
    # shared word shingles, containment, and the longest verbatim passage in consecutive shingles.
    text = dict(zip(frame["id"].to_list(), frame["text"].to_list()))
    size = config.shingle.size
    evidence = {}
    for c, a, s in failures:
        sim = similarity(text[a], text[s], size)
        evidence[f"{c}:{a}"] = {"overlap": sim["overlap"], "containment": sim["containment"],
                                "longest_run": longest_shared_run(text[a], text[s], size)}
    record("clough", articles=result.clusters.height, clusters=n_multi, violations=len(failures),
           joined_source={c: {"answers": n, "joined": k, "rate": round(k / n, 3)}
                          for c, (n, k) in sorted(joined.items())},
           failures=evidence)

    return joined, failures, result, config


def test_reuse_level_orders_joining_and_non_answers_never_join(clough):
    joined, _, _, _ = clough
    rate = {cat: k / n for cat, (n, k) in joined.items()}
    assert rate["non"] == 0.0
    # Floors at the measured rates (cut 12/19, light 9/19 with the defaults), to catch regressions.
    assert rate["cut"] >= 0.6 and rate["light"] >= 0.45
    assert rate["heavy"] < min(rate["cut"], rate["light"])


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known gap: 7 of 19 cut and 10 of 19 light answers stay apart from their source (raw word 4-shingles, "
    "recorded per answer). 2 cut answers share no 4-gram with the source excerpt at all (g2pE_taskc, g4pD_taskb: "
    "pasted from other parts of the Wikipedia article; no text-reuse method can join them). 5 cut answers paste "
    "one passage into their own text: containment 0.28-0.46 with a verbatim run of 36-90 consecutive shingles, "
    "which BASIL same-event pairs (up to 93) and SemEval dissimilar pairs (up to 36 besides the two merged ones) "
    "also reach. The light answers' containment (0.07-0.51) is below several heavy rewrites' (up to 0.89). "
    "See benchmarks/README.md section 7."))
def test_cut_and_light_join_their_source_and_non_does_not(clough):
    _, failures, result, config = clough
    assert not failures, f"{len(failures)} answers on the wrong side of their source:\n" + "\n".join(
        f"[{cat}] " + describe_pair(result, config, a, s) for cat, a, s in failures)
