"""How a compressed tar (and a bzip2 file) is read around its breaks and its end: a cut keeps every member it
holds whole, a bomb in the stream stays a bomb, what follows the end-of-archive blocks (joined archives, a failed
check, padding) is one reject on the archive with the members kept, and bzip2 keeps the block a cut ends at."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import tarfile
import zlib

import pytest

from dedup.io import read_inputs
from tests.io.test_archives import _jsonl, _pax_tar, _rejects, _story, _tar


def _codec(compression: str):
    """(compress, a new incremental decompressor) of one of the compressions a tar is read in."""
    from tests.conftest import zstd

    return {"gz": (gzip.compress, lambda: zlib.decompressobj(31)),
            "bz2": (lambda data: bz2.compress(data, 1), bz2.BZ2Decompressor),   # 100 KB blocks: several in a test
            "xz": (lzma.compress, lzma.LZMADecompressor), "zst": (zstd.compress, zstd.ZstdDecompressor)}[compression]


@pytest.mark.parametrize(("compression", "n"), [("gz", 4), ("gz", 300), ("bz2", 300), ("xz", 300), ("zst", 300)])
def test_a_cut_compressed_tar_keeps_every_member_it_holds_whole(tmp_path, compression, n):
    """tarfile reads 10 KiB at a time through the decompressor, and the bytes of the read that met the cut were
    dropped: the members before the break in them were lost (50 KB members hid it), all of a small archive."""
    members = [(f"m{k:03}.jsonl", _jsonl(_story(k, f"o{k}"))) for k in range(n)]
    compress, decompressor = _codec(compression)
    data = compress(_tar(tmp_path / "night.tar", members).read_bytes())
    cut = tmp_path / f"night.tar.{compression}"
    cut.write_bytes(data[: len(data) * 9 // 10])   # a download cut short
    readable = len(decompressor().decompress(cut.read_bytes()))   # the bytes any reader can get from it
    with tarfile.open(tmp_path / "night.tar") as archive:
        whole = [f"{cut}!/{m.name}" for m in archive.getmembers() if m.offset_data + m.size <= readable]
    assert len(whole) < n and (n < 10 or len(whole) > 10)
    res = read_inputs([cut])
    assert sorted(res.articles["source_file"]) == whole
    assert [reason for _, _, reason in _rejects(res)] == ["corrupt_compression"]
    assert res.records == len(whole) + 1


def test_a_bomb_in_a_compressed_tars_stream_stays_a_bomb(tmp_path):
    """A pax header inflating past the ratio is stopped by the stream's guard, not the members' sizes: the
    reader ends the data there, and the reject says bomb, not truncated."""
    path = _pax_tar(tmp_path / "night.tar.gz", {"a.jsonl": {}, "b.jsonl": {"comment": "x" * (4 << 20)}, "c.jsonl": {}})
    res = read_inputs([path])
    assert res.articles["article_id"].to_list() == [f"s{ord('a')}"]
    assert _rejects(res) == [(str(path), None, "decompression_bomb")]
    assert f"the members after {path}!/a.jsonl are not read" in res.rejects["message"][0]


@pytest.mark.parametrize("compression", ["tar", "gz", "bz2", "xz", "zst"])
def test_archives_joined_with_cat_are_a_reject_after_the_first_ones_members(tmp_path, compression):
    """tarfile stops at the first end-of-archive block: the members of an archive appended by cat (cat a.tar.gz
    b.tar.gz) were neither read nor rejected nor listed."""
    compress = (lambda data: data) if compression == "tar" else _codec(compression)[0]
    first = _tar(tmp_path / "a.tar", [(f"a{k}.jsonl", _jsonl(_story(k))) for k in range(3)]).read_bytes()
    second = _tar(tmp_path / "b.tar", [(f"b{k}.jsonl", _jsonl(_story(10 + k))) for k in range(3)]).read_bytes()
    joined = tmp_path / ("night.tar" if compression == "tar" else f"night.tar.{compression}")
    joined.write_bytes(compress(first) + compress(second))
    res = read_inputs([joined])
    assert sorted(res.articles["article_id"]) == ["s0", "s1", "s2"]
    assert _rejects(res) == [(str(joined), None, "corrupt_compression")]
    assert "`tar -xi`" in res.rejects["message"][0]
    assert (res.records, res.skipped_files) == (3 + 1, [])


def test_zeros_after_the_end_of_a_tar_are_its_padding(tmp_path):
    plain = _tar(tmp_path / "night.tar", [("a.jsonl", _jsonl(_story(1)))]).read_bytes()
    padded = tmp_path / "night.tar.gz"
    padded.write_bytes(gzip.compress(plain + bytes(200_000)))   # tar -b 400: records of 200 kB
    res = read_inputs([padded])
    assert res.articles["article_id"].to_list() == ["s1"] and res.rejects.height == 0


@pytest.mark.parametrize("damage", ["a byte of a member", "the CRC", "the trailer cut"])
def test_a_tar_gz_failing_its_check_is_a_reject_after_its_members(tmp_path, damage):
    """The gzip trailer, where its CRC and length are checked, lies after the end-of-archive blocks that tarfile
    stops at: a .tar.gz damaged in transit was read as clean."""
    plain = _tar(tmp_path / "night.tar", [(f"m{k}.jsonl", _jsonl(_story(k))) for k in range(3)]).read_bytes()
    data = bytearray(gzip.compress(plain, 0))   # stored blocks: a byte changed in them only the CRC catches
    if damage == "a byte of a member":
        data[data.index(_story(1)["text"].encode()) + 1] ^= 0x20   # a letter's case
    elif damage == "the CRC":
        data[-8] ^= 0xFF
    else:
        data = data[:-4]
    path = tmp_path / "night.tar.gz"
    path.write_bytes(bytes(data))
    res = read_inputs([path])
    assert sorted(res.articles["article_id"]) == ["s0", "s1", "s2"]
    assert _rejects(res) == [(str(path), None, "corrupt_compression")]
    assert "its members were all read and are kept" in res.rejects["message"][0]
    assert res.records == 3 + 1


def _bz2_first_block_end(data: bytes) -> int:
    """Where a bzip2 stream's first block ends: the byte the second block's magic (0x314159265359, at any bit
    offset) starts in, rounded up, so the cut holds the whole first block and nothing of the second's data."""
    bits = bin(int.from_bytes(data, "big"))[2:].zfill(8 * len(data))
    second = bits.index(f"{0x314159265359:048b}", 8 * 4 + 48)   # past the header ("BZh1") and the first magic
    return (second + 7) // 8


def _bz2_readable(data: bytes) -> int:
    """The bytes a bzip2 decompressor gives of ``data``, those it holds when the input runs out included."""
    decompressor = bz2.BZ2Decompressor()
    readable = len(decompressor.decompress(data))
    while out := decompressor.decompress(b""):
        readable += len(out)
    return readable


def test_a_bz2_cut_at_a_block_end_keeps_that_blocks_members_and_lines(tmp_path):
    """Python's bz2 stops when its input runs out though it still holds output: BZ2File lost the last block (up
    to 900 kB) of a .tar.bz2 or .jsonl.bz2 cut exactly at its end."""
    plain = _tar(tmp_path / "night.tar", [(f"m{k:03}.jsonl", _jsonl(_story(k, f"o{k}"))) for k in range(300)])
    data = bz2.compress(plain.read_bytes(), 1)   # 100 kB blocks
    cut = tmp_path / "night.tar.bz2"
    cut.write_bytes(data[:_bz2_first_block_end(data)])
    readable = _bz2_readable(cut.read_bytes())
    with tarfile.open(plain) as archive:
        files = archive.getmembers()
    whole = [f"{cut}!/{m.name}" for m in files if m.offset_data + m.size <= readable]
    assert 10 < len(whole) < 300
    res = read_inputs([cut])
    assert sorted(res.articles["source_file"]) == whole
    assert _rejects(res) == [(f"{cut}!/{files[len(whole)].name}", None, "corrupt_compression")]

    lines = b"".join(_jsonl(_story(k, f"o{k}")) for k in range(600))
    data = bz2.compress(lines, 1)
    cut = tmp_path / "night.jsonl.bz2"
    cut.write_bytes(data[:_bz2_first_block_end(data)])
    whole_lines = lines[:_bz2_readable(cut.read_bytes())].count(b"\n")
    assert 10 < whole_lines < 600
    res = read_inputs([cut])
    assert res.articles.height == whole_lines
    assert _rejects(res) == [(str(cut), None, "corrupt_compression")]


@pytest.mark.parametrize("tail", [bytes(512), b"not bzip2 at all" * 8], ids=["zeros", "junk"])
def test_bytes_after_the_last_bz2_stream_are_ignored_by_every_reader(tmp_path, tail):
    """As ``bz2.BZ2File`` does: a JSON array and a CSV read again after the end, which must stay the end."""
    stories = [_story(seed) for seed in range(40)]
    (tmp_path / "a.json.bz2").write_bytes(bz2.compress(json.dumps(stories).encode()) + tail)
    with io.StringIO() as text:
        writer = csv.DictWriter(text, fieldnames=["id", "outlet", "text"])
        writer.writeheader()
        writer.writerows(_story(seed) for seed in range(100, 140))
        (tmp_path / "b.csv.bz2").write_bytes(bz2.compress(text.getvalue().encode()) + tail)
    res = read_inputs([tmp_path])
    assert res.articles.height == 80 and _rejects(res) == []
