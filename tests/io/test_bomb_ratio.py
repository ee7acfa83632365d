"""The decompression-bomb guard compares the output with the compressed bytes read so far, not with the whole
file's size: a stretch of newlines (1,000 times and more) is stopped after about the grace, not after 100
times the file's size, which the readers would spend minutes on, one blank line at a time."""

import bz2
import gzip
import json
import lzma
import random
import zlib

import pytest

from dedup.io import read_inputs
from dedup.io.streams import RATIO_GRACE_BYTES, FileRejected, Source, open_stream
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


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_newlines_are_stopped_after_the_grace_in_a_large_file(tmp_path, ext):
    # 48 MiB of newlines, then 300 KB of incompressible bytes the reader never reaches: 100 times the file's
    # size on disk would let some 30 MB of blank lines through first
    tail = random.Random(7).randbytes(300_000)
    path = tmp_path / f"a.jsonl.{ext}"
    path.write_bytes(_compressed(ext, b"\n" * _MIB, 48) + _compressed(ext, tail))
    read, error = _read_until_stopped(path)
    assert error is not None and error.reason == "decompression_bomb", error
    assert read < 2 * RATIO_GRACE_BYTES


def test_the_records_before_a_bomb_are_kept(tmp_path):
    record = json.dumps({"id": "a1", "outlet": "Gazette", "text": "The ferry ran again on Monday."}).encode()
    tail = random.Random(8).randbytes(300_000)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(record + b"\n") + _compressed("gz", b"\n" * _MIB, 48)
                                          + gzip.compress(tail))
    res = read_inputs([tmp_path])
    assert res.articles["article_id"].to_list() == ["a1"]
    assert res.rejects["reason"].to_list() == ["decompression_bomb"]
    assert "inflates more than 100 times" in res.rejects["message"].item()


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_text_that_compresses_like_news_is_read_whole(tmp_path, ext):
    # words from a small vocabulary compress 3 to 10 times, well past the grace: nothing is stopped
    rng = random.Random(3)
    words = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    data = "\n".join(" ".join(rng.choices(words, k=20)) for _ in range(40_000)).encode()
    path = tmp_path / f"a.txt.{ext}"
    path.write_bytes(_compressed(ext, data))
    assert len(data) > 4 * RATIO_GRACE_BYTES and len(data) > 3 * path.stat().st_size
    assert _read_until_stopped(path) == (len(data), None)
