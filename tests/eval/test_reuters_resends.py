"""Reuters-21578: items re-sent by the wire (CORRECTED / RPT) join the item they correct.

The original of each re-send is identified independently of the pipeline
(:func:`tests.eval.loaders.find_resends`: earlier item, same dateline place,
overlapping title, word-3-gram containment >= 0.45), not with the
pipeline's re-send rule (:mod:`dedup.resend`). The whole collection (19,043
items with a body) is clustered once for the module.
"""

from __future__ import annotations

import pytest

from dedup import cluster_frame

from .loaders import (cluster_of, describe_pair, eval_config, find_resends, load_reuters_items, pair_row, record,
                      require, reuters_frame)

pytestmark = pytest.mark.evaldata


@pytest.fixture(scope="module")
def reuters():
    root = require("reuters21578")
    items = load_reuters_items(root)
    config = eval_config()
    return items, config, cluster_frame(reuters_frame(items), config=config)


def _why(result, r) -> str:
    pair = pair_row(result, r["resend"], r["original"])
    if pair is None:
        return f"{r['resend']}->{r['original']}: not an LSH candidate"
    return (f"{r['resend']}->{r['original']}: containment {pair['containment']:.2f}, overlap {pair['overlap']}"
            + (", accepted but separated by the chaining guard" if pair["accepted"] else ", rejected"))


def test_most_resends_land_in_the_cluster_of_their_original(reuters):
    items, _, result = reuters
    with_original = [r for r in find_resends(items) if r["original"]]
    cluster = cluster_of(result)
    joined = sum(cluster[r["resend"]] == cluster[r["original"]] for r in with_original)
    # Floor at the measured rate (35 of 36 with the defaults), to catch regressions.
    assert joined / len(with_original) >= 0.95, f"{joined} of {len(with_original)} re-sends joined their original"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known gap: 1 of 36. 6741 'CORRECTED - FEDERAL PAPER <FBT> RAISES PAYOUT' corrects the 18-word dividend "
    "notice 6154; the re-send rule proposes the pair, but once Reuters' own recurring formulae ('pay april 15 "
    "record march 31', 'qtly div ...') are removed as its boilerplate the two share 2 shingles (containment 0.29, "
    "below min_overlap 8; 6154 keeps 4 shingles: too_short). See benchmarks/README.md."))
def test_resends_land_in_the_cluster_of_their_original(reuters):
    items, config, result = reuters
    resends = find_resends(items)
    with_original = [r for r in resends if r["original"]]
    # The identification itself must find the bulk of the known re-sends, or the check is empty.
    assert len(with_original) >= 30, f"only {len(with_original)} re-sends with an identified original"

    cluster = cluster_of(result)
    missed = [r for r in with_original if cluster[r["resend"]] != cluster[r["original"]]]
    summary = result.summary["clusters"]
    record("reuters", articles=result.clusters.height, clusters=summary["stories"],
           singletons=summary["singletons"], largest=summary["largest"], resends=len(resends),
           resends_with_original=len(with_original), joined=len(with_original) - len(missed),
           join_rate=round(1 - len(missed) / len(with_original), 3),
           missed=[_why(result, r) for r in missed])
    assert not missed, (f"{len(missed)} of {len(with_original)} re-sends are not in their original's cluster:\n"
                        + "\n".join(f"{r['title']!r} (3-gram containment {r['containment3']}): "
                                    + describe_pair(result, config, r["resend"], r["original"]) for r in missed))
