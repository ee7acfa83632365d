"""benchmarks/bench_quality.py: every gold article is scored exactly once, stitched merges need both
wire originals, and the baseline's settings can be changed from the command line."""

from __future__ import annotations

import json

import polars as pl
import pytest

from benchmarks import bench_quality
from benchmarks.bench_quality import evaluate, main


def _gold(rows):
    """Gold frame from (id, story, role, partner, edits, outlet) rows."""
    cols = ["id", "gold_story", "gold_role", "gold_partner", "edits", "outlet"]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows],
                        schema={"id": pl.String, "gold_story": pl.String, "gold_role": pl.String,
                                "gold_partner": pl.String, "edits": pl.List(pl.String), "outlet": pl.String})


GOLD = _gold([("w", "A", "wire", None, ["wire_original"], "Wire"),
              ("c1", "A", "copy", None, ["trim_tail"], "X"),
              ("c2", "A", "copy", None, ["footer"], "Y"),
              ("p", "pr-1", "press_release", None, ["press_release"], "PR")])


def _clusters(pairs):
    return pl.DataFrame({"article_id": [a for a, _ in pairs], "cluster_id": [k for _, k in pairs]})


def test_one_to_one_output_scores_every_article_once():
    r = evaluate(GOLD, _clusters([("w", "k"), ("c1", "k"), ("c2", "k"), ("p", "p")]))
    assert (r["tp"], r["fp"], r["fn"], r["missing"], r["not_in_gold"]) == (3, 0, 0, 0, 0)


def test_an_article_listed_twice_is_an_error():
    with pytest.raises(ValueError, match=r"listed more than once.*'c1'"):
        evaluate(GOLD, _clusters([("w", "k"), ("c1", "k"), ("c2", "k"), ("p", "p"), ("c1", "k")]))


def test_missing_and_unknown_ids_are_counted_not_scored():
    # c2 is missing (scored alone: its two gold pairs are missed); "P" is not in the gold (ignored)
    r = evaluate(GOLD, _clusters([("w", "k"), ("c1", "k"), ("p", "p"), ("P", "k")]))
    assert (r["missing"], r["not_in_gold"]) == (1, 1)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 2)


def _stitched_gold(with_wires):
    rows = [("s", "A", "copy", "B", ["stitched"], "X"), ("c", "C", "copy", None, ["trim_tail"], "Y")]
    rows += [("wa", "A", "wire", None, ["wire_original"], "Wire"),
             ("wb", "B", "wire", None, ["wire_original"], "Wire")][:with_wires]
    return _gold(rows)


@pytest.mark.parametrize("with_wires", [0, 1])
def test_stitched_stories_without_both_wires_are_not_merged(with_wires):
    gold = _stitched_gold(with_wires)
    singletons = _clusters([(i, f"k-{i}") for i in gold["id"]])
    assert evaluate(gold, singletons)["false_merges"]["stitched_stories_merged"] == 0


def test_stitched_stories_whose_wires_share_a_cluster_are_merged():
    gold = _stitched_gold(2)
    together = _clusters([("s", "k"), ("c", "k2"), ("wa", "k"), ("wb", "k")])
    assert evaluate(gold, together)["false_merges"]["stitched_stories_merged"] == 1
    apart = _clusters([("s", "k"), ("c", "k2"), ("wa", "k"), ("wb", "k3")])
    assert evaluate(gold, apart)["false_merges"]["stitched_stories_merged"] == 0


def test_corpus_articles_and_gold_must_list_the_same_ids():
    articles = pl.DataFrame({"id": ["a", "b", "c"]})
    bench_quality._check_ids(articles, pl.DataFrame({"id": ["c", "a", "b"]}))
    with pytest.raises(SystemExit, match=r"1 article\(s\) without gold.*'c'"):
        bench_quality._check_ids(articles, pl.DataFrame({"id": ["a", "b"]}))
    with pytest.raises(SystemExit, match=r"1 gold row\(s\) without an article.*'d'"):
        bench_quality._check_ids(articles, pl.DataFrame({"id": ["a", "b", "c", "d"]}))
    with pytest.raises(SystemExit, match="listed more than once"):
        bench_quality._check_ids(articles, pl.DataFrame({"id": ["a", "b", "c", "c"]}))


def _write_corpus(path, texts):
    """A two-file corpus as syndication.py writes it: wire "w" and copy "c" of story S."""
    gold_path = path.with_name(path.name.removesuffix(".jsonl") + ".gold.jsonl")
    with path.open("w") as fa, gold_path.open("w") as fg:
        for (i, role), text in zip([("w", "wire"), ("c", "copy")], texts):
            fa.write(json.dumps({"id": i, "outlet": f"O{i}", "title": f"T{i}", "text": text,
                                 "published": "2026-01-01T00:00:00.000000Z", "url": None}) + "\n")
            fg.write(json.dumps({"id": i, "gold_story": "S", "gold_role": role, "gold_added_spans": [],
                                 "gold_dropped": [], "gold_dropped_spans": [], "gold_edited": [],
                                 "gold_partner": None, "gold_base_spans": [], "edits": []}) + "\n")


def test_baseline_settings_from_the_command_line(tmp_path, capsys):
    text = ("harbour council votes to extend the ferry timetable through the winter months after "
            "a petition signed by islanders who commute daily to the mainland")
    words = text.split()
    corpus = tmp_path / "c.jsonl"
    _write_corpus(corpus, [" ".join(words), " ".join(reversed(words))])   # same word set, no shared 5-gram
    out = tmp_path / "q.json"
    assert main(["--corpus", str(corpus), "--no-dedup", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["results"]["datasketch-0.8"]["f1"] == 0.0
    assert main(["--corpus", str(corpus), "--no-dedup", "--baseline-k", "1", "--baseline-threshold", "0.5",
                 "--json", str(out)]) == 0
    r = json.loads(out.read_text())["results"]["datasketch-0.5-k1"]
    assert (r["f1"], r["missing"], r["not_in_gold"]) == (1.0, 0, 0)
    assert "gold articles missing from the output 0 (scored as singletons)" in capsys.readouterr().out
