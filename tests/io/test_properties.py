"""Property tests: every reader survives arbitrary bytes, truncation and bit flips.

For any content, reading never raises, never hangs (each example has a deadline),
and every record seen is either an article or a reject with a reason:
``records = articles + rejects``.
"""

import bz2
import gzip
import io
import json
import lzma
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.config import ReadConfig
from dedup.io import read_inputs
from dedup.io.streams import sniff_compression
from tests.conftest import zstd
from tests.io.pages import classic_page, paragraphs, warc_bytes

CONFIG = ReadConfig(max_record_bytes=64 * 1024, max_file_bytes=1 << 20)
SETTINGS = settings(max_examples=25, deadline=5000, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXTENSIONS = [".jsonl", ".json", ".csv", ".parquet", ".txt", ".html", ".warc"]
COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".zst": lambda b: zstd.compress(b)}


def _valid(ext: str) -> bytes:
    recs = [{"id": f"r{i}", "outlet": "O", "title": "T", "text": f"Text number {i}, café."} for i in range(5)]
    if ext == ".jsonl":
        return b"".join(json.dumps(r).encode() + b"\n" for r in recs)
    if ext == ".json":
        return json.dumps(recs).encode()
    if ext == ".csv":
        return ("id,outlet,title,text\n" + "".join(f'{r["id"]},O,T,"{r["text"]}"\n' for r in recs)).encode()
    if ext == ".parquet":
        buf = io.BytesIO()
        pl.DataFrame(recs).write_parquet(buf)
        return buf.getvalue()
    if ext == ".txt":
        return "Title\n\nSome text, café crème.\n".encode()
    page = classic_page(paragraphs(1)).encode()
    if ext == ".html":
        return page
    return warc_bytes([{"uri": f"https://x.example/{i}", "content_type": "text/html",
                        "body": classic_page(paragraphs(i)).encode()} for i in range(3)] + [{"type": "request", "uri": "https://x.example/0"}])


def _check(name: str, data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        res = read_inputs([path], config=CONFIG)
    assert res.files == 1
    assert res.records == res.articles.height + res.rejects.height >= 0
    assert res.rejects["reason"].null_count() == 0
    assert "reader_error" not in res.rejects["reason"].to_list(), res.rejects.to_dicts()  # no reader bug
    assert set(res.articles["source_file"]) | set(res.rejects["file"]) <= {str(path)}
    return res


@SETTINGS
@given(ext=st.sampled_from(EXTENSIONS), comp=st.sampled_from(sorted(COMPRESS)), data=st.binary(max_size=3000),
       compress=st.booleans())
def test_arbitrary_bytes(ext, comp, data, compress):
    _check("f" + ext + comp, COMPRESS[comp](data) if compress else data)


@SETTINGS
@given(ext=st.sampled_from(EXTENSIONS), comp=st.sampled_from(sorted(COMPRESS)), cut=st.floats(0, 1))
def test_truncated_files(ext, comp, cut):
    data = COMPRESS[comp](_valid(ext))
    _check("f" + ext + comp, data[: int(len(data) * cut)])


@pytest.mark.parametrize("comp", sorted(COMPRESS))
@pytest.mark.parametrize("ext", EXTENSIONS)
def test_complete_files_have_no_rejects(ext, comp):
    # the uncut case of test_truncated_files, which its 25 random cuts never draw
    res = _check("f" + ext + comp, COMPRESS[comp](_valid(ext)))
    assert res.rejects.height == 0 and res.articles.height >= 1


@SETTINGS
@given(ext=st.sampled_from(EXTENSIONS), comp=st.sampled_from(sorted(COMPRESS)),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_bytes(ext, comp, flips):
    data = bytearray(COMPRESS[comp](_valid(ext)))
    for where, value in flips:
        data[int(where * len(data))] = value
    _check("f" + ext + comp, bytes(data))


@SETTINGS
@given(lines=st.lists(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                                st.dictionaries(st.sampled_from(["id", "text", "title", "outlet", "published", "url"]),
                                                st.one_of(st.none(), st.integers(), st.text(max_size=50)))
                                .map(lambda d: json.dumps(d).encode())), max_size=20))
def test_jsonl_lines_each_count_once(lines):
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    data = b"\n".join(lines)
    res = _check("f.jsonl", data)
    if sniff_compression(data):  # starts like a compressed stream: read (and rejected) as one
        return
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    nonblank = sum(1 for line in lines if line.strip())
    if nonblank:
        assert res.records == nonblank
