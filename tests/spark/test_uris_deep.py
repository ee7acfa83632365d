"""The Spark engine's listing of a file:// folder tree deeper than Python's recursion limit (a crawler trap),
as the local engine's."""

from __future__ import annotations

from dedup.spark.uris import find_uris
from tests.io.test_input_walk import _rec, crawler_trap
from tests.spark.corpora import write_jsonl


def test_a_folder_tree_deeper_than_the_recursion_limit_is_listed(spark, tmp_path):
    site = tmp_path / "site"
    write_jsonl([_rec("top")], site / "top.jsonl")
    with crawler_trap(site) as deep:
        write_jsonl([_rec("deep")], deep / "x.jsonl")
        found = find_uris(spark, [site.resolve().as_uri()])
        names = sorted(name for name, _ in found.files)
        assert names == sorted(f"file:{path.resolve()}" for path in (deep / "x.jsonl", site / "top.jsonl"))
        assert not found.unreadable and not found.skipped
