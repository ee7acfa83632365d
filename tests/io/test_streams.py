"""Compression by content, streaming, and the size limits: every violation a reject, never a crash."""

import bz2
import gzip
import json
import lzma

import polars as pl
import pytest

from dedup.config import ReadConfig
from dedup.errors import ConfigError
from dedup.io import read_inputs
from dedup.io.streams import Limits, Source, iter_lines, open_stream
from tests.conftest import zstd
from tests.io.pages import classic_page, paragraphs, warc_bytes

COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
            "zst": zstd.compress}
REC = {"id": "a1", "outlet": "Gazette", "title": "T", "text": "Some text.", "url": "https://g.example/a1"}


def _files():
    """(name, bytes) of one article in every line- or file-based format, each with its own id."""
    import io

    def rec(name):
        return {**REC, "id": name}

    buf = io.BytesIO()
    pl.DataFrame([rec("parquet")]).write_parquet(buf)
    return {
        "a.jsonl": json.dumps(rec("jsonl")).encode() + b"\n", "a.ndjson": json.dumps(rec("ndjson")).encode(),
        "a.json": json.dumps([rec("json")]).encode(), "a.csv": b"id,outlet,title,text\ncsv,Gazette,T,Some text.\n",
        "a.parquet": buf.getvalue(), "a.txt": b"T\n\nSome text.\n", "a.md": b"# T\nSome other text.\n",
        "a.html": classic_page(paragraphs(1)).encode(),
        "a.warc": warc_bytes([{"uri": "https://g.example/a1", "content_type": "text/html",
                               "body": classic_page(paragraphs(2)).encode()}]),
    }


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_every_format_in_every_compression(tmp_path, ext):
    for name, data in _files().items():
        (tmp_path / f"{name}.{ext}").write_bytes(COMPRESS[ext](data))
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0, res.rejects.to_dicts()
    assert res.files == len(_files()) and res.articles.height == len(_files()) and res.records == len(_files())
    assert "compression_misnamed" not in res.warnings


def test_compression_detected_by_content_when_the_name_is_wrong(tmp_path):
    line = json.dumps(REC).encode() + b"\n"
    (tmp_path / "a.jsonl").write_bytes(gzip.compress(line))                       # compressed, named plain
    (tmp_path / "b.jsonl.bz2").write_bytes(zstd.compress(line.replace(b"a1", b"b1")))
    (tmp_path / "c.csv.xz").write_bytes(b"id,text\nc1,Plain text.\n")             # plain, named xz
    res = read_inputs([tmp_path])
    assert sorted(res.articles["article_id"]) == ["a1", "b1", "c1"] and res.rejects.height == 0
    assert res.warnings["compression_misnamed"] == 3


def test_decompression_bomb_is_stopped_and_rejected(tmp_path):
    bomb = gzip.compress(b" " * (8 << 20))                  # 8 MiB of spaces in ~8 KB: ratio ~1000
    (tmp_path / "bomb.jsonl.gz").write_bytes(gzip.compress(json.dumps(REC).encode() + b"\n") + bomb)
    (tmp_path / "bomb.csv.zst").write_bytes(zstd.compress(b"id,text\n" + b"x" * (8 << 20)))
    (tmp_path / "bomb.warc.bz2").write_bytes(bz2.compress(b"\0" * (8 << 20)))
    res = read_inputs([tmp_path])
    reasons = {r["file"].rsplit("/", 1)[1]: (r["record"], r["reason"]) for r in res.rejects.to_dicts()}
    assert reasons == {"bomb.jsonl.gz": (None, "decompression_bomb"), "bomb.csv.zst": (None, "decompression_bomb"),
                       "bomb.warc.bz2": (None, "decompression_bomb")}
    # records before the bomb are kept; the rest of the file counts as one rejected record
    assert res.articles["article_id"].to_list() == ["a1"]
    assert res.records == res.articles.height + res.rejects.height == 4


def test_ratio_limit_is_configurable(tmp_path):
    text = ("The council met on Monday. " * 200_000).encode()   # ~5 MiB, very repetitive: ratio > 100
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(b"Title\n" + text))
    assert read_inputs([tmp_path]).rejects["reason"].to_list() == ["decompression_bomb"]
    res = read_inputs([tmp_path], config=ReadConfig(max_decompression_ratio=5000, max_text_chars=10**7))
    assert res.rejects.height == 0 and res.articles.height == 1


def test_small_repetitive_files_are_not_bombs(tmp_path):
    (tmp_path / "a.jsonl.xz").write_bytes(lzma.compress(json.dumps({**REC, "text": "ab " * 100_000}).encode()))
    assert read_inputs([tmp_path]).rejects.height == 0  # ratio > 100, but under the 1 MiB grace


def test_size_limits(tmp_path):
    cfg = ReadConfig(max_record_bytes=2048, max_file_bytes=8192)
    big_line = json.dumps({**REC, "id": "big", "text": "x" * 5000})
    (tmp_path / "a.jsonl").write_text(json.dumps(REC) + "\n" + big_line + "\n" + json.dumps({**REC, "id": "a3"}) + "\n")
    (tmp_path / "b.csv").write_text("id,text\nb1,ok\nb2," + "y" * 3000 + "\nb3,ok too\n")
    (tmp_path / "c.txt").write_text("Title\n" + "z" * 3000)
    (tmp_path / "d.json").write_text(json.dumps([{**REC, "id": f"d{i}"} for i in range(100)]))
    (tmp_path / "e.json.gz").write_bytes(gzip.compress(json.dumps([{**REC, "id": f"e{i}"} for i in range(100)]).encode()))
    res = read_inputs([tmp_path], config=cfg)
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in res.rejects.to_dicts()}
    assert got == {("a.jsonl", 2, "record_too_large"), ("b.csv", 3, "record_too_large"),
                   ("c.txt", None, "record_too_large"), ("d.json", None, "file_too_large"),
                   ("e.json.gz", None, "file_too_large")}
    assert sorted(res.articles["article_id"]) == ["a1", "a3", "b1", "b3"]


def test_limits_are_validated():
    with pytest.raises(ConfigError, match="max_record_bytes"):
        ReadConfig(max_record_bytes=10)
    with pytest.raises(ConfigError, match="max_file_bytes"):
        ReadConfig(max_record_bytes=4096, max_file_bytes=2048)
    with pytest.raises(ConfigError, match="max_decompression_ratio"):
        ReadConfig(max_decompression_ratio=1)
    with pytest.raises(ConfigError, match="not a known codec"):
        ReadConfig(encoding="klingon")


def test_truncated_compressed_jsonl_keeps_the_lines_before(tmp_path):
    lines = b"".join(json.dumps({**REC, "id": f"a{i}"}).encode() + b"\n" for i in range(2000))
    data = gzip.compress(lines)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) * 3 // 4])
    res = read_inputs([tmp_path])
    assert 0 < res.articles.height < 2000
    assert res.rejects.to_dicts()[-1]["reason"] == "corrupt_compression"
    assert res.records == res.articles.height + res.rejects.height


def test_iter_lines_skips_runaway_lines_in_bounded_memory(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"short\r\n" + b"x" * 300_000 + b"\nlast")
    with open_stream(Source(path, Limits())) as stream:
        assert list(iter_lines(stream, 1000)) == [(1, b"short"), (2, None), (3, b"last")]


def test_strict_mode_stops_at_a_limit(tmp_path):
    from dedup.errors import RejectedRecord
    (tmp_path / "a.txt").write_text("Title\n" + "z" * 3000)
    with pytest.raises(RejectedRecord, match="record_too_large"):
        read_inputs([tmp_path], config=ReadConfig(max_record_bytes=2048, strict=True))


def test_a_reader_bug_is_a_counted_reject_not_a_crash(tmp_path, monkeypatch):
    from dedup.io import readers

    def broken(source):
        yield 1, {"id": "ok", "text": "Read before the bug."}
        raise TypeError("boom")

    monkeypatch.setitem(readers._READERS, "csv", broken)
    (tmp_path / "a.csv").write_text("id,text\n")
    res = read_inputs([tmp_path])
    assert res.articles["article_id"].to_list() == ["ok"]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(None, "reader_error")]
    assert "TypeError: boom" in res.rejects["message"][0]
