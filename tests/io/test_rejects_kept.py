"""Rejects are kept compactly and written a slice at a time: a file of bad lines (a log, a CSV named .jsonl) costs
about what the file does, and rejected.jsonl, summary.json and the report's examples are as before."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from collections import Counter

import polars as pl
import pytest

from dedup import run
from dedup.io.writers import write_jsonl
from dedup.report import model
from dedup.schema import REJECTS
from tests.conftest import article, make_story
from tests.conftest import write_jsonl as write_lines

#: bad lines of a "JSON Lines" file and the reason each is rejected for
BAD = [("1", "not_an_object"), ("{broken", "malformed_json"), ('{"id": "m"}', "missing_text"),
       ('{"id": "e", "text": ""}', "empty_text"), ("name,age,city", "malformed_json")]


def _order(key: tuple) -> tuple:
    """rejected.jsonl's order: file, record (missing first), reason."""
    file, record, reason = key
    return file, record is not None, record or 0, reason


def _bad_file(path, n: int, seed: int, first=(), last=()) -> list[tuple[int, str]]:
    """``n`` bad lines between the records ``first`` and ``last``; returns each bad line's (record, reason)."""
    rng = random.Random(seed)
    bad = [rng.choice(BAD) for _ in range(n)]
    write_lines(path, [*first, *(line for line, _ in bad), *last])
    return [(k, reason) for k, (_, reason) in enumerate(bad, start=len(first) + 1)]


def test_rejects_of_many_files_are_all_written_in_order_and_counted(tmp_path, monkeypatch):
    corpus = tmp_path / "in"
    story = make_story(7)
    expected: list[tuple[str, int | None, str]] = []
    # b.jsonl: a story, many bad lines, then the story's id again with a shorter text (duplicate_id, added at
    # the end of the read, after every other reject)
    bad_b = _bad_file(corpus / "b.jsonl", 2600, seed=1, first=[article("s1", "Daily A", story)],
                      last=[article("s1", "Daily B", story[:8])])
    expected += [("in/b.jsonl", record, reason) for record, reason in bad_b] + [("in/b.jsonl", 2602, "duplicate_id")]
    # a non-ASCII name, with a copy of b's story under another id (clustered)
    bad_a = _bad_file(corpus / "ä é.jsonl", 2300, seed=2, last=[article("s2", "Daily C", story)])
    expected += [("in/ä é.jsonl", record, reason) for record, reason in bad_a]
    # a cut-short .gz: the records read before the cut, then one reject of the rest of the file (record null)
    rng = random.Random(3)
    data = gzip.compress("".join(f"[{rng.randrange(10**9)}]\n" for _ in range(30_000)).encode())
    (corpus / "c.jsonl.gz").write_bytes(data[:len(data) * 6 // 10])

    monkeypatch.chdir(tmp_path)
    result = run(["in"], tmp_path / "out")
    written = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text("utf-8").splitlines()]
    rows = [(r["file"], r["record"], r["reason"]) for r in written]

    gz = [row for row in rows if row[0] == "in/c.jsonl.gz"]
    assert gz[0] == ("in/c.jsonl.gz", None, "corrupt_compression")
    assert gz[1:] == [("in/c.jsonl.gz", k, "not_an_object") for k in range(1, len(gz))] and len(gz) > 1000
    expected += gz
    assert rows == sorted(expected, key=_order)
    assert result.rejects.rows() == [tuple(r[c] for c in result.rejects.columns) for r in written]
    duplicate = written[rows.index(("in/b.jsonl", 2602, "duplicate_id"))]
    assert (duplicate["article_id"], duplicate["message"]) == ("s1", "id 's1' already used by in/b.jsonl:1")

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["articles"]
    assert summary["rejected"] == len(expected)
    assert summary["rejected_by_reason"] == dict(sorted(Counter(reason for _, _, reason in expected).items()))
    assert summary["read"] == summary["clustered"] + len(expected) and summary["clustered"] == 2

    # the report's examples: each reason's first rows by file and record (missing last), found in slices
    monkeypatch.setattr(model, "_REJECT_SLICE_ROWS", 500, raising=False)
    messages = {(r["file"], r["record"], r["reason"]): r["message"] for r in written}
    first = sorted(expected, key=lambda row: (row[0], row[1] is None, row[1] or 0))
    assert model.reject_examples(result.rejects) == {
        reason: [f"{file}{'' if record is None else f':{record}'}: {messages[file, record, reason]}"
                 for file, record, _ in [row for row in first if row[2] == reason][:model.MAX_REJECT_EXAMPLES]]
        for reason in sorted({row[2] for row in expected})}


def test_python_heap_does_not_grow_with_the_rejects(tmp_path, monkeypatch):
    """A reject held as a Python dict (and again for writing rejected.jsonl) cost ~650 bytes: 2 M bad lines,
    a 4 MB file, took 1.6 GB. The Python heap a run peaks at must not grow with the number of bad lines, and
    the rejects kept take a few bytes each."""
    monkeypatch.chdir(tmp_path)
    peaks = {}
    for n in (100, 50_000, 150_000):   # the first run imports what any run needs
        write_lines(tmp_path / f"in{n}" / "log.jsonl", ["1"] * n)
        tracemalloc.start()
        try:
            result = run([f"in{n}"], tmp_path / f"out{n}")
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.summary["articles"]["rejected"] == n
        kept = result.rejects.estimated_size() / n
        assert len((tmp_path / f"out{n}" / "rejected.jsonl").read_bytes().splitlines()) == n
    per_reject = (peaks[150_000] - peaks[50_000]) / 100_000
    assert per_reject < 60, f"{per_reject:.0f} bytes of Python heap a reject"
    # handed on as REJECTS declares them (strings: a caller's .str works), in Arrow: ~70 bytes a row here
    assert result.rejects.schema == REJECTS and kept < 100, f"{kept:.0f} bytes a reject kept"


AWKWARD = ["plain", "", "é ü 中文 😀", "line\nbreak\r\ttab", 'quote " and back\\slash', "nul \x00 and \x1f \x7f",
           "\u2028\u2029 separators", "\ufeffbom", "x" * 10_000 + "é", "{\"json\": [1, 2]}"]


@pytest.mark.parametrize("categorical", [False, True])
def test_frame_jsonl_bytes_are_those_of_the_row_by_row_writer(tmp_path, monkeypatch, categorical):
    from dedup.io.writers import write_frame_jsonl
    rng = random.Random(5)
    n = 1000
    frame = pl.DataFrame({
        "file": [rng.choice(AWKWARD[:8]) for _ in range(n)],
        "record": [rng.choice([None, 0, 1, -3, 2**62, rng.randrange(10**6)]) for _ in range(n)],
        "article_id": [rng.choice([None, *AWKWARD]) for _ in range(n)],
        "reason": [rng.choice(["not_an_object", "malformed_json", "duplicate_id"]) for _ in range(n)],
        "message": [None if k % 7 == 0 else rng.choice(AWKWARD) + (f" {k}" if k % 3 else "") for k in range(n)],
    }, schema={"file": pl.String, "record": pl.Int64, "article_id": pl.String, "reason": pl.String,
               "message": pl.String})
    if categorical:
        frame = frame.with_columns(pl.col(pl.String).cast(pl.Categorical()))
    monkeypatch.setattr("dedup.io.writers.JSONL_SLICE_ROWS", 97)   # slices cut through repeated values
    write_frame_jsonl(frame, tmp_path / "sliced.jsonl")
    write_jsonl(frame.to_dicts(), tmp_path / "rows.jsonl")
    assert (tmp_path / "sliced.jsonl").read_bytes() == (tmp_path / "rows.jsonl").read_bytes()
    write_frame_jsonl(frame.head(0), tmp_path / "empty.jsonl")
    assert (tmp_path / "empty.jsonl").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.jsonl", "rows.jsonl", "sliced.jsonl"]


def test_a_frame_write_that_fails_leaves_no_file(tmp_path):
    from dedup.io.writers import write_frame_jsonl
    frame = pl.DataFrame({"a": ["x"] * 10, "b": [0.5] * 10})
    with pytest.raises(TypeError, match="Float64"):
        write_frame_jsonl(frame, tmp_path / "x.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_file_whose_records_are_all_rejected_is_not_read_past_the_run_limit(tmp_path, monkeypatch):
    """A file of bad lines (a log named .jsonl) is read until MAX_REJECT_RUN records in a row were rejected;
    the rest is one too_many_rejects reject and read = clustered + rejected still holds. A run of fewer, or
    an article between, resets the count: the file is read whole."""
    from dedup import io
    monkeypatch.setattr(io, "MAX_REJECT_RUN", 5)
    good = json.dumps({"id": "g", "outlet": "Gazette", "text": "A story long enough to shingle, " * 4})
    write_lines(tmp_path / "log" / "a.jsonl", ["1"] * 9)
    write_lines(tmp_path / "mixed" / "b.jsonl", ["1"] * 4 + [good] + ["1"] * 4)
    log = io.read_inputs([tmp_path / "log"])
    assert log.rejects.select("record", "reason").rows() == [(None, "too_many_rejects")] + [
        (n, "not_an_object") for n in range(1, 6)]
    assert log.records == 6 and "before record 6 were all rejected" in log.rejects["message"][0]
    mixed = io.read_inputs([tmp_path / "mixed"])
    assert mixed.records == 9 and mixed.rejects.height == 8 and mixed.articles["article_id"].to_list() == ["g"]
