"""Which record keeps an id used more than once: ranked in polars (:func:`dedup.io.rank_duplicates`), in the
order the Python sort of every duplicated row as a dict gave (kept here as ``_python_rank``, the reference),
and the same outputs whichever order the files are given in."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from dedup.errors import RejectedRecord
from dedup.io import _Collector, content_rank, rank_duplicates
from dedup.schema import ARTICLES
from dedup.settings import ReadConfig

ROOT = Path(__file__).resolve().parents[2]
FAR = datetime.max.replace(tzinfo=UTC)
NOON = datetime(2026, 11, 27, 12, tzinfo=UTC)
TIMES = [None, NOON, NOON + timedelta(microseconds=1), NOON - timedelta(days=400), FAR]   # FAR ties None
# equal texts; equal lengths in characters but not in bytes (and the other way round); empty and missing
TEXTS = [None, "", "abcd", "abcd", "ééé", "abc", "xyzw", "日本語の", "😀😀😀", "abé", "éab",
         "ab\u0301c", "zz"]
FIELDS = [None, "", "Alpha", "alpha", "Ä", "Zeta", "é", "\uff5e", "😀", "Alpha "]
FILES = ["a.jsonl", "b.jsonl", "ä.jsonl", "B.jsonl"]
RECORDS = [None, 0, 1, 2, 7]        # a missing record ranks as 0; a file and record may repeat (a full tie)


def _python_rank(r: dict) -> tuple:
    """The rank of a record as ``_Collector.finish`` computed it on each row as a dict."""
    text = r["text"] or ""
    return (r["published"] or FAR, -len(text), hashlib.sha256(text.encode()).hexdigest(),
            *content_rank(r), r["source_file"], r["source_record"] or 0)


def _frame(rng: random.Random, n: int) -> pl.DataFrame:
    ids = [f"id{k}" for k in range(rng.randint(1, 6))]
    rows = [{"article_id": rng.choice(ids) if rng.random() < 0.8 else f"single{i}",
             "outlet": rng.choice(FIELDS), "title": rng.choice(FIELDS), "text": rng.choice(TEXTS),
             "published": rng.choice(TIMES), "url": rng.choice(FIELDS),
             "source_file": rng.choice(FILES), "source_record": rng.choice(RECORDS)} for i in range(n)]
    # some rows are another row again, whole or but for its place
    for i in range(n // 4):
        rows[rng.randrange(n)] = dict(rows[i], **({} if rng.random() < 0.5 else {"source_record": i + 10}))
    return pl.DataFrame(rows, schema=ARTICLES, orient="row")


def _python_order(frame: pl.DataFrame) -> list[dict]:
    shared = frame.with_row_index("row").filter(pl.col("article_id").is_duplicated())
    return sorted(shared.iter_rows(named=True), key=_python_rank)


class _Recording(_Collector):
    """A collector that notes its rejects in the order met."""

    def __init__(self, frame: pl.DataFrame, strict: bool = False):
        super().__init__(ReadConfig(strict=strict))
        self.frames, self.met = [frame], []

    def reject(self, rej) -> None:
        self.met.append((rej.file, rej.record, rej.reason, rej.message, rej.article_id))
        super().reject(rej)


@pytest.mark.parametrize("seed", range(40))
def test_duplicates_rank_as_the_python_sort_of_their_rows(seed):
    rng = random.Random(seed)
    for n in (2, 5, 12, 40, 90):
        frame = _frame(rng, n)
        ranked = rank_duplicates(frame)
        want = _python_order(frame)
        assert ranked.rows() == [(r["row"], r["article_id"], r["source_file"], r["source_record"]) for r in want]


def test_the_rank_needs_every_key():
    """Lengths in characters (not bytes), a missing time last, digests and missing fields as the Python sort."""
    base = {"article_id": "x", "outlet": "O", "title": "T", "url": None, "source_file": "a.jsonl",
            "source_record": 1, "published": NOON}
    cases = [[{"text": "ééé"}, {"text": "abcd"}],                                     # 6 bytes, 4 characters
             [{"published": None}, {"published": NOON + timedelta(days=1)}],
             [{"text": "abce"}, {"text": "abcd"}],                                   # by digest
             [{"outlet": None}, {"outlet": ""}], [{"title": "é"}, {"title": "f"}],
             [{"source_record": None}, {"source_record": 0}]]                        # a full tie: as read
    for case in cases:
        frame = pl.DataFrame([{**base, "text": "abcd", **row} for row in case], schema=ARTICLES, orient="row")
        assert rank_duplicates(frame)["row"].to_list() == [r["row"] for r in _python_order(frame)], case


@pytest.mark.parametrize("seed", range(20))
def test_the_kept_records_and_the_rejects_are_those_of_the_python_sort(seed):
    frame = _frame(random.Random(100 + seed), 60)
    first: dict[str, dict] = {}
    rejects, dropped = [], set()
    for r in _python_order(frame):
        kept = first.setdefault(r["article_id"], r)
        if kept is not r:
            where = f"{kept['source_file']}:{kept['source_record']}" if kept["source_record"] is not None \
                else kept["source_file"]
            rejects.append((r["source_file"], r["source_record"], "duplicate_id",
                            f"id {r['article_id']!r} already used by {where}", r["article_id"]))
            dropped.add(r["row"])
    collector = _Recording(frame)
    articles, rejected = collector.finish()
    assert collector.met == rejects
    want = frame.filter(~pl.int_range(pl.len()).is_in(sorted(dropped))).sort("article_id")
    assert articles.equals(want) and articles.schema == ARTICLES
    assert rejected.height == len(rejects)
    if rejects:
        with pytest.raises(RejectedRecord) as caught:
            _Recording(frame, strict=True).finish()
        assert (caught.value.file, caught.value.record, caught.value.reason) == rejects[0][:3]


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def test_two_files_with_the_same_ids_give_the_same_outputs_in_either_order(tmp_path):
    """Yesterday's feed re-exported with today's: every id twice, copies equal or not (a later time, a longer
    or a non-ASCII text of one length, another outlet, no time), in ``a b`` or ``b a`` order."""
    sentences = ["The harbour bridge will close for repairs on Monday.", "Crews will work through the night.",
                 "The mayor said the lanes reopen in March.", "Buses will take the river road instead.",
                 "Traffic police expect long queues at the tunnel.", "The council voted for the budget in May."]
    today, yesterday = [], []
    for k in range(12):
        text = " ".join(sentences[k % 6:] + sentences[:k % 6]) + f" Story {k}."
        record = {"id": f"s{k}", "outlet": f"Outlet {k % 3}", "title": f"Story {k}", "text": text,
                  "published": f"2026-11-2{k % 4}T0{k % 9}:00:00Z"}
        copy = dict(record)
        if k % 6 == 1:
            copy["published"] = "2026-11-29T00:00:00Z"
        elif k % 6 == 2:
            copy["text"] = text + " Updated."
        elif k % 6 == 3:
            copy["text"], record["text"] = text[:-2] + "é.", text[:-2] + "e."   # one length, not in bytes
        elif k % 6 == 4:
            copy["outlet"] = "Ältere Zeitung"
        elif k % 6 == 5:
            copy.pop("published")
        today.append(record)
        yesterday.append(copy)
    _write(tmp_path / "today.jsonl", today)
    _write(tmp_path / "yesterday.jsonl", yesterday[::-1])
    outputs = {}
    for order in (["today.jsonl", "yesterday.jsonl"], ["yesterday.jsonl", "today.jsonl"]):
        out = tmp_path / "-".join(order)
        proc = subprocess.run([sys.executable, "-m", "dedup", "cluster", *order, "--out", str(out), "-q"],
                              check=False, cwd=tmp_path, capture_output=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, proc.stderr
        outputs[tuple(order)] = {name: (out / name).read_bytes() for name in
                                 ("clusters.parquet", "sentences.parquet", "links.parquet", "rejected.jsonl")}
    first, second = outputs.values()
    assert first == second
    rejected = [json.loads(line) for line in first["rejected.jsonl"].decode().splitlines()]
    assert [r["reason"] for r in rejected] == ["duplicate_id"] * 12
    clusters = pl.read_parquet(tmp_path / "today.jsonl-yesterday.jsonl" / "clusters.parquet")
    kept = dict(zip(clusters["article_id"], clusters["source_file"]))
    # earliest first, then the longest text, then the digest, then the outlet
    assert kept["s1"] == kept["s7"] == "today.jsonl" and kept["s2"] == kept["s8"] == "yesterday.jsonl"
    assert kept["s5"] == kept["s11"] == "today.jsonl"
    assert kept["s4"] == kept["s10"] == "today.jsonl"   # "Outlet ..." before "Ältere ..."
