"""The decompression-bomb guard compares the whole output with the whole file's size on disk, so a genuine file
whose first MB is repetitive is read whole; a stretch of newlines (1,000 times and more) is still a bomb, and
the blank lines it gets through first are skipped a buffer at a time, not one Python iteration each."""

import bz2
import gzip
import io
import json
import lzma
import random
import zlib

import pytest

from dedup.io import read_inputs
from dedup.io.streams import (
    FileRejected,
    Limits,
    Source,
    inflation_budget,
    iter_lines,
    open_stream,
)
from tests.conftest import zstd

_MIB = 1 << 20


def _gzip():
    return zlib.compressobj(9, zlib.DEFLATED, 31)


def _zstd():
    return zstd.ZstdCompressor()


#: A compressor object (compress, flush) for each compression; each call starts a new member or stream.
COMPRESSORS = {"gz": _gzip, "bz2": bz2.BZ2Compressor, "xz": lzma.LZMACompressor, "zst": _zstd}


def _compressed(ext: str, data: bytes, repeat: int = 1) -> bytes:
    """``data`` ``repeat`` times as one member (stream, frame) of ``ext``, without holding it whole."""
    packer = COMPRESSORS[ext]()
    return b"".join(packer.compress(data) for _ in range(repeat)) + packer.flush()


def _read_until_stopped(path) -> tuple[int, FileRejected | None]:
    """The bytes read from ``path`` before the guard stopped it, and its error (None: read to the end)."""
    read = 0
    with open_stream(Source(path)) as stream:
        try:
            while chunk := stream.read1(1 << 16):
                read += len(chunk)
        except FileRejected as exc:
            return read, exc
    return read, None


def _line(**fields) -> bytes:
    return json.dumps(fields).encode() + b"\n"


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_newlines_are_stopped_at_the_ratio_times_the_file_size(tmp_path, ext):
    # 48 MiB of newlines, then 300 KB of incompressible bytes the reader never reaches: 100 times the file's
    # size on disk (some 30 MB) is let through, not more
    tail = random.Random(7).randbytes(300_000)
    path = tmp_path / f"a.jsonl.{ext}"
    path.write_bytes(_compressed(ext, b"\n" * _MIB, 48) + _compressed(ext, tail))
    read, error = _read_until_stopped(path)
    assert error is not None and error.reason == "decompression_bomb", error
    budget = inflation_budget(Limits(), path.stat().st_size)
    assert budget - (1 << 16) <= read <= budget < 48 * _MIB


def test_the_records_before_a_bomb_are_kept(tmp_path):
    record = _line(id="a1", outlet="Gazette", text="The ferry ran again on Monday.")
    tail = random.Random(8).randbytes(300_000)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(record) + _compressed("gz", b"\n" * _MIB, 48)
                                          + gzip.compress(tail))
    res = read_inputs([tmp_path])
    assert res.articles["article_id"].to_list() == ["a1"]
    assert res.rejects["reason"].to_list() == ["decompression_bomb"]
    assert "inflates past 100 times its " in res.rejects["message"].item()


def test_a_genuine_file_that_starts_repetitive_is_read_whole(tmp_path):
    # a crawler that got the same 2 KB paywall page under 3,000 URLs, then genuine articles: its first MBs
    # inflate some 150 times, the whole file about 10 times
    wall = "Subscribe to keep reading. Your first month is free, cancel at any time. " * 28
    walled = b"".join(_line(id=f"w{i}", outlet="Courier", url=f"https://courier.example/p/{i}", text=wall)
                      for i in range(3000))
    rng = random.Random(5)
    vocabulary = [f"w{rng.randrange(10**6)}" for _ in range(5000)]
    genuine = b"".join(_line(id=f"g{i}", outlet="Gazette", text=" ".join(rng.choices(vocabulary, k=90)))
                       for i in range(3000))
    path = tmp_path / "night.jsonl.gz"
    path.write_bytes(gzip.compress(walled + genuine))
    assert len(walled) > 100 * len(gzip.compress(walled)) and len(walled + genuine) < 20 * path.stat().st_size
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0, res.rejects["message"].to_list()
    assert res.articles.height == 6000


class _Counted:
    """A byte stream that counts the reads made of it (``readline``, ``read``, ``peek``)."""

    def __init__(self, stream):
        self._stream, self.calls = stream, 0

    def readline(self, *args):
        self.calls += 1
        return self._stream.readline(*args)

    def read(self, *args):
        self.calls += 1
        return self._stream.read(*args)

    def peek(self, *args):
        self.calls += 1
        return self._stream.peek(*args)


def _lines(data: bytes, max_bytes: int = Limits().max_record_bytes) -> tuple[list, int]:
    """What :func:`iter_lines` yields for ``data`` (the blank lines left out), and the reads it made."""
    stream = _Counted(io.BufferedReader(io.BytesIO(data), buffer_size=1 << 16))
    return [(n, line) for n, line in iter_lines(stream, max_bytes) if line != b""], stream.calls


@pytest.mark.parametrize("blank", [b"\n", b" \n", b"\t\r\n", b" \t \n"])
def test_a_run_of_blank_lines_is_skipped_in_few_reads(blank):
    # white space alone is blank too (the JSON Lines reader drops it): a gzip of " \n" is no slower
    lines, calls = _lines(b"first\n" + blank * 100_000 + b"  second\n")
    assert lines == [(1, b"first"), (100_002, b"  second")]
    assert calls < 50, calls     # one readline a blank line would be 100,000


@pytest.mark.parametrize("max_bytes", [1000, Limits().max_record_bytes])
def test_line_numbers_after_long_runs_of_blank_lines_are_exact(max_bytes):
    blanks = b"\n" * 70_000 + b"\r\n" * 30_000 + b"\r\r\n" * 5 + b"\n" * 65_531
    data = b"a\n" + blanks + b"\r\rb\r\n" + b"\n" * 3 + b"c"
    lines, _ = _lines(data, max_bytes)
    # the \r bytes that begin a line stay in it, as readline gives them
    assert lines == [(1, b"a"), (165_538, b"\r\rb"), (165_542, b"c")]


def test_a_blank_line_longer_than_the_limit_is_still_too_large():
    lines, _ = _lines(b"a\n" + b"\n" * 10 + b"\r" * 3000 + b"\n" + b"\n" * 5 + b"b\n", max_bytes=1000)
    assert lines == [(1, b"a"), (12, None), (18, b"b")]


def test_reject_record_numbers_after_a_newline_run_in_a_compressed_file(tmp_path):
    data = _line(id="a1", text="The ferry ran again.") + b"\n" * 100_000 + b"{broken\n" + b"\r\n" * 9 \
        + _line(id="a2", text="The bridge opened on Tuesday.")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    res = read_inputs([tmp_path])
    assert res.articles["article_id"].to_list() == ["a1", "a2"]
    assert res.rejects.select("record", "reason").rows() == [(100_002, "malformed_json")]


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_text_that_compresses_like_news_is_read_whole(tmp_path, ext):
    # words from a small vocabulary compress 3 to 10 times, well past the grace: nothing is stopped
    rng = random.Random(3)
    words = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    data = "\n".join(" ".join(rng.choices(words, k=20)) for _ in range(40_000)).encode()
    path = tmp_path / f"a.txt.{ext}"
    path.write_bytes(_compressed(ext, data))
    assert len(data) > 4 * _MIB and len(data) > 3 * path.stat().st_size
    assert _read_until_stopped(path) == (len(data), None)
