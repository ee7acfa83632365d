"""Archives (.zip, .tar, .tar.gz...) given as input, or found in a folder, are read as folders of their members:
named ARCHIVE!/path, passed over and rejected by the folder walk's rules, within the size and bomb limits, and
a broken archive keeps the members read before the break."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest

import dedup.io
from dedup import Config
from dedup.config import ReadConfig
from dedup.errors import RejectedRecord
from dedup.io import read_inputs
from dedup.pipeline import run
from tests.conftest import SAMPLE, make_story, write_jsonl

SMALL = ReadConfig(max_record_bytes=1024, max_file_bytes=4096)


def _members(folder: Path) -> list[tuple[str, bytes]]:
    """The files below ``folder`` as (relative name, bytes), in name order."""
    return sorted((path.relative_to(folder).as_posix(), path.read_bytes())
                  for path in folder.rglob("*") if path.is_file())


def _zip(path: Path, members, method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def _tar(path: Path, members, mode="w") -> Path:
    """A tar of ``members``: (name, bytes) for a file, (name, TarInfo) for any other entry."""
    with tarfile.open(path, mode) as archive:
        for name, data in members:
            if isinstance(data, tarfile.TarInfo):
                data.name = name
                archive.addfile(data)
            else:
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 1_700_000_000
                archive.addfile(info, io.BytesIO(data))
    return path


def _entry(kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo()
    info.type, info.linkname = kind, link
    return info


def _rejects(res) -> list[tuple[str, int | None, str]]:
    return [(file, record, reason) for file, record, reason in res.rejects.select("file", "record", "reason").rows()]


def _story(seed: int, outlet: str = "Gazette") -> dict:
    return {"id": f"s{seed}", "outlet": outlet, "text": " ".join(make_story(seed, 6))}


def _jsonl(*records) -> bytes:
    path = Path(tempfile.mkdtemp()) / "x.jsonl"
    data = write_jsonl(path, records).read_bytes()
    path.unlink()
    path.parent.rmdir()
    return data


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_the_sample_corpus_as_an_archive_reads_as_the_folder(tmp_path, kind):
    members = _members(SAMPLE)
    archive = tmp_path / f"dump.{kind}"
    _zip(archive, members) if kind == "zip" else _tar(archive, members, "w:gz" if kind == "tar.gz" else "w")
    folder, packed = read_inputs([SAMPLE]), read_inputs([archive])
    as_member = pl.col("source_file").str.replace(f"{SAMPLE}/", f"{archive}!/", literal=True)
    assert packed.articles.equals(folder.articles.with_columns(as_member))
    assert packed.articles.height == folder.articles.height > 20
    assert _rejects(packed) == [(file.replace(f"{SAMPLE}/", f"{archive}!/"), record, reason)
                                for file, record, reason in _rejects(folder)]
    assert packed.rejects["message"].to_list() == [
        message.replace(f"{SAMPLE}/", f"{archive}!/") for message in folder.rejects["message"]]
    assert (packed.records, packed.warnings, packed.skipped_files) == (folder.records, folder.warnings, [])


def test_members_are_passed_over_and_rejected_as_a_folder_walk_does(tmp_path):
    good = _jsonl(_story(1), _story(2, "Courier"))
    inner = _zip(tmp_path / "inner.zip", [("a.jsonl", _jsonl(_story(9)))]).read_bytes()
    archive = _tar(tmp_path / "night.tar", [
        ("./a/good.jsonl", good), ("a/.hidden.jsonl", _jsonl(_story(3))), (".git/x.jsonl", _jsonl(_story(4))),
        ("notes.docx", b"not an input"), ("inner.zip", inner), ("a", _entry(tarfile.DIRTYPE)),
        ("link.jsonl", _entry(tarfile.SYMTYPE, "a/good.jsonl")),
        ("hard.jsonl", _entry(tarfile.LNKTYPE, "a/good.jsonl")),
        ("pipe.jsonl", _entry(tarfile.FIFOTYPE)), ("pipe", _entry(tarfile.FIFOTYPE)),
        ("../up.jsonl", _jsonl(_story(5))), ("/abs/x.jsonl", _jsonl(_story(6))),
        ("a/good.jsonl", _jsonl(_story(7))),
    ])
    res = read_inputs([archive])
    name = f"{archive}!/"
    assert sorted(res.articles["article_id"]) == ["s1", "s2", "s5", "s6", "s7"]
    assert sorted(res.articles["source_file"].unique()) == [name + "../up.jsonl", name + "/abs/x.jsonl",
                                                            name + "a/good.jsonl", name + "a/good.jsonl (occurrence 2)"]
    assert not (tmp_path.parent / "up.jsonl").exists() and not Path("/abs").exists()   # names only
    assert _rejects(res) == [(name + "inner.zip", None, "unsupported_format"),
                             (name + "pipe.jsonl", None, "unreadable_file")]
    assert "unpack it" in res.rejects["message"][0]
    assert res.skipped_files == [
        name + "hard.jsonl (a link to a/good.jsonl in the archive, not followed)",
        name + "link.jsonl (a link to a/good.jsonl in the archive, not followed)",
        name + "notes.docx", name + "pipe"]
    assert res.records == 5 + 2 and res.files == 1


def test_an_archive_in_a_folder_is_read_and_one_that_holds_nothing_is_empty_file(tmp_path):
    (tmp_path / "in").mkdir()
    _zip(tmp_path / "in" / "dump.zip", [("x.jsonl", _jsonl(_story(1)))])
    _tar(tmp_path / "in" / "empty.tar.gz", [("readme.docx", b"nothing here")], "w:gz")
    (tmp_path / "in" / "zero.zip").write_bytes(b"")
    res = read_inputs([tmp_path / "in"])
    assert res.articles["source_file"].to_list() == [f"{tmp_path}/in/dump.zip!/x.jsonl"]
    assert _rejects(res) == [(f"{tmp_path}/in/empty.tar.gz", None, "empty_file"),
                             (f"{tmp_path}/in/zero.zip", None, "empty_file")]
    assert res.skipped_files == [f"{tmp_path}/in/empty.tar.gz!/readme.docx"]


def _texts(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)   # words in random order: gzip keeps them near their size
    words = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(30_000)).split()
    return [{"id": f"m{seed}-{i}", "outlet": "Gazette", "text": " ".join(rng.sample(words, 400))} for i in range(n)]


def test_a_truncated_tar_keeps_the_members_before_the_break(tmp_path):
    members = [(f"m{k}.jsonl", _jsonl(*_texts(20, k))) for k in range(3)]
    plain = _tar(tmp_path / "night.tar", members)
    with tarfile.open(plain) as archive:
        cut = archive.getmember("m1.jsonl").offset_data + 1000    # inside the second member's data
    plain.write_bytes(plain.read_bytes()[:cut])
    res = read_inputs([plain])
    assert set(res.articles["source_file"]) == {f"{plain}!/m0.jsonl"} and res.articles.height == 20
    assert _rejects(res) == [(f"{plain}!/m1.jsonl", None, "corrupt_compression")]
    assert "the rest of the archive" in res.rejects["message"][0]

    packed = _tar(tmp_path / "night.tar.gz", members, "w:gz")
    data = packed.read_bytes()
    packed.write_bytes(data[: len(data) * 3 // 4])
    res = read_inputs([packed])
    assert set(res.articles["source_file"]) == {f"{packed}!/m0.jsonl", f"{packed}!/m1.jsonl"}
    assert _rejects(res) == [(f"{packed}!/m2.jsonl", None, "corrupt_compression")]
    assert res.records == 40 + 1


def test_a_tar_cut_in_a_header_is_a_reject_after_the_members_before(tmp_path):
    plain = _tar(tmp_path / "night.tar", [("a.jsonl", _jsonl(_story(1))), ("b.jsonl", _jsonl(_story(2)))])
    with tarfile.open(plain) as archive:
        cut = archive.getmember("b.jsonl").offset + 100
    plain.write_bytes(plain.read_bytes()[:cut])
    res = read_inputs([plain])
    assert res.articles["article_id"].to_list() == ["s1"]
    assert _rejects(res) == [(str(plain), None, "corrupt_compression")]
    assert f"the members after {plain}!/a.jsonl are not read" in res.rejects["message"][0]


def test_a_zip_member_with_a_bad_crc_is_rejected_and_the_others_read(tmp_path):
    members = [(f"m{k}.jsonl", _jsonl(_story(k))) for k in range(3)]
    archive = _zip(tmp_path / "night.zip", members, zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    at = data.index(members[1][1]) + 40   # a byte of the second member's stored text
    data[at] ^= 0x01
    archive.write_bytes(bytes(data))
    res = read_inputs([archive])
    assert res.articles["article_id"].to_list() == ["s0", "s2"]
    assert _rejects(res) == [(f"{archive}!/m1.jsonl", None, "corrupt_compression")]

    cut = tmp_path / "cut.zip"   # its central directory, at the end, gone: no member can be found
    cut.write_bytes(bytes(data[: len(data) - 60]))
    res = read_inputs([cut, tmp_path / "night.zip"])
    assert (str(cut), None, "corrupt_compression") in _rejects(res)


def test_a_member_over_max_file_bytes_is_file_too_large_and_the_others_are_read(tmp_path):
    small, big = _jsonl(_story(1)), _jsonl(*(_story(k) for k in range(2, 12)))
    assert len(small) < SMALL.max_file_bytes < len(big)
    for archive in (_zip(tmp_path / "n.zip", [("big.jsonl", big), ("small.jsonl", small)]),
                    _tar(tmp_path / "n.tar.gz", [("big.jsonl", big), ("small.jsonl", small)], "w:gz")):
        res = read_inputs([archive], config=SMALL)
        assert res.articles["article_id"].to_list() == ["s1"]
        assert _rejects(res) == [(f"{archive}!/big.jsonl", None, "file_too_large")]


def test_an_archive_that_inflates_past_the_ratio_is_a_bomb(tmp_path):
    zeros = b"\n" * (8 * 2**20)
    first = _jsonl(_story(1))
    for archive in (_zip(tmp_path / "b.zip", [("a.jsonl", first), ("b.jsonl", zeros), ("c.jsonl", first)]),
                    _tar(tmp_path / "b.tar.gz", [("a.jsonl", first), ("b.jsonl", zeros), ("c.jsonl", first)], "w:gz")):
        res = read_inputs([archive])
        assert res.articles["article_id"].to_list() == ["s1"]
        (reject,) = _rejects(res)
        assert reject[2] == "decompression_bomb" and reject[0] in (f"{archive}!/b.jsonl", str(archive)), reject


def _night(folder: Path, reverse: bool) -> None:
    """The sample corpus, with two bad members, as a zip and a tar.gz whose members come in name order or
    reversed."""
    members = _members(SAMPLE) + [("zz/bad.jsonl", b"{oops\n"), ("aa/bad.csv", b"id,text\n1,\"open\n")]
    members = sorted(members, reverse=reverse)
    folder.mkdir()
    _zip(folder / "night.zip", members)
    _tar(folder / "night.tar.gz", members, "w:gz")


def test_members_in_any_order_give_byte_identical_outputs(tmp_path, monkeypatch):
    outputs = []
    for reverse in (False, True):
        folder = tmp_path / f"r{reverse}"
        _night(folder, reverse)
        monkeypatch.chdir(folder)
        for archive in ("night.zip", "night.tar.gz"):
            run([archive], f"out-{archive}")
            outputs.append({name: (folder / f"out-{archive}" / name).read_bytes()
                            for name in ("clusters.parquet", "sentences.parquet", "rejected.jsonl", "summary.json")})
            with pytest.raises(RejectedRecord) as stop:   # --strict: the first reject by member name, either way
                read_inputs([archive], config=ReadConfig(strict=True))
            assert str(stop.value).startswith(f"{archive}!/aa/bad.csv:"), str(stop.value)
    assert outputs[:2] == outputs[2:]
    for archive, out in zip(("night.zip", "night.tar.gz"), outputs):
        files = pl.read_parquet(io.BytesIO(out["clusters.parquet"]))["source_file"]
        assert files.str.starts_with(f"{archive}!/pages/").any() and files.str.starts_with(f"{archive}!/").all()


def test_the_temporary_folder_is_removed_after_a_run_and_after_one_that_raises(tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _night(tmp_path / "in", False)
    run([tmp_path / "in"], tmp_path / "out")
    assert list(temp.iterdir()) == []
    with pytest.raises(RejectedRecord):
        run([tmp_path / "in" / "night.tar.gz"], tmp_path / "strict", config=Config().replace(read={"strict": True}))
    assert list(temp.iterdir()) == []

    read_file, seen = dedup.io.read_file, []

    def interrupted(source):   # Ctrl-C (or SIGTERM, a KeyboardInterrupt) while a member is read
        seen.extend(p.name for p in temp.glob("dedup-archive-*/*"))
        if len(seen) > 2:
            raise KeyboardInterrupt
        return read_file(source)

    monkeypatch.setattr(dedup.io, "read_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read_inputs([tmp_path / "in" / "night.zip"])
    assert seen[:2] == ["member-1.csv", "member-2.jsonl"] and list(temp.iterdir()) == []


def test_a_gzip_member_and_a_zst_tar_are_read(tmp_path):
    from tests.conftest import zstd

    inner = gzip.compress(_jsonl(_story(1)))
    tar = io.BytesIO()
    _tar(tmp_path / "plain.tar", [("feeds/a.jsonl.gz", inner), ("b.JSONL", _jsonl(_story(2)))])
    tar.write((tmp_path / "plain.tar").read_bytes())
    (tmp_path / "n.tar.zst").write_bytes(zstd.compress(tar.getvalue()))
    (tmp_path / "n.tgz").write_bytes(gzip.compress(tar.getvalue()))
    for name in ("n.tar.zst", "n.tgz"):
        res = read_inputs([tmp_path / name])
        assert res.articles["source_file"].to_list() == [f"{tmp_path}/{name}!/feeds/a.jsonl.gz",
                                                         f"{tmp_path}/{name}!/b.JSONL"]
        assert res.rejects.height == 0 and not res.warnings, res.warnings


def test_zip_names_in_utf8_without_the_flag_are_read_as_utf8(tmp_path):
    archive = _zip(tmp_path / "n.zip", [("新闻.jsonl", _jsonl(_story(1)))])
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):   # clear the UTF-8 flag, as Info-ZIP on Linux leaves it
        at = data.index(header)
        flag = at + (6 if header == b"PK\x03\x04" else 8) + 1   # bit 11 of the flags: the high byte's 0x08
        assert data[flag] & 0x08
        data[flag] &= ~0x08 & 0xFF
    archive.write_bytes(bytes(data))
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() != ["新闻.jsonl"]   # zipfile reads it as code page 437
    assert read_inputs([archive]).articles["source_file"].to_list() == [f"{archive}!/新闻.jsonl"]


# -- the session 35 archive review's findings ------------------------------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["deflate", "bzip2",
                                                                                                    "lzma"])
def test_a_zip_member_with_broken_data_is_its_reject_whatever_its_method(tmp_path, method):
    """LZMA's error crashed the run, bzip2's (an OSError) rejected the archive and lost the members after it."""
    text = _jsonl(*_texts(30, 1))
    members = [("a.jsonl", _jsonl(_story(1))), ("b.jsonl", text), ("c.jsonl", _jsonl(_story(3)))]
    archive = _zip(tmp_path / "n.zip", members, method)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("b.jsonl")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for at in range(start + 20, start + info.compress_size - 20, 7):   # its compressed data, not its header
        data[at] ^= 0x5A
    archive.write_bytes(bytes(data))
    res = read_inputs([archive])
    assert res.articles["article_id"].to_list() == ["s1", "s3"]
    assert _rejects(res) == [(f"{archive}!/b.jsonl", None, "corrupt_compression")]


def _pax_tar(path, pax_by_name: dict) -> Path:
    """A gzipped pax tar of one story per member (``s`` + the code of its name's first letter), each member with
    the pax headers given."""
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, pax in pax_by_name.items():
            data = _jsonl(_story(ord(name[0])))
            info = tarfile.TarInfo(name)
            info.size, info.pax_headers = len(data), pax
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_tar_header_tarfile_refuses_with_a_value_error_is_a_reject_not_a_crash(tmp_path):
    archive = _pax_tar(tmp_path / "x.tar.gz", {"a.jsonl": {}, "b.jsonl": {"GNU.sparse.map": "1,x"}})
    res = read_inputs([archive])
    assert res.articles["article_id"].to_list() == [f"s{ord('a')}"]
    (reject,) = _rejects(res)
    assert reject[2] == "corrupt_compression" and "ValueError" in res.rejects["message"][0]


def test_a_tar_cut_between_two_members_says_so(tmp_path):
    """tarfile takes the end of the data where a header should be for the archive's end: the members after the
    cut were lost without a word."""
    plain = _tar(tmp_path / "night.tar", [(f"{c}.jsonl", _jsonl(_story(k))) for k, c in enumerate("abc")])
    with tarfile.open(plain) as archive:
        cut = archive.getmember("c.jsonl").offset
    plain.write_bytes(plain.read_bytes()[:cut])
    res = read_inputs([plain])
    assert res.articles["article_id"].to_list() == ["s0", "s1"]
    assert _rejects(res) == [(str(plain), None, "corrupt_compression")]
    assert "end-of-archive" in res.rejects["message"][0]


def test_a_tar_gz_of_many_small_files_reads_as_their_zip(tmp_path):
    """The ratio is on the members' data: a tar's headers and padding, 1 KB a small member that compresses to
    nothing, made a .tar.gz of 6,000 small files a bomb where their zip was read."""
    members = [(f"m{k:05}.jsonl", _jsonl({"id": f"i{k}", "outlet": "O", "text": f"t {k}"})) for k in range(3000)]
    packed, zipped = _tar(tmp_path / "b.tar.gz", members, "w:gz"), _zip(tmp_path / "b.zip", members)
    config = ReadConfig(max_decompression_ratio=20)
    budget = dedup.io.streams.inflation_budget(dedup.io.streams.Limits.from_config(config), packed.stat().st_size)
    assert sum(len(d) for _, d in members) < budget < 1024 * len(members)
    for archive in (packed, zipped):
        res = read_inputs([archive], config=config)
        assert res.articles.height == 3000 and res.rejects.height == 0


def test_spark_places_a_member_after_the_longest_archive_name_it_starts_with():
    pytest.importorskip("pyspark")
    from dedup.spark.read import _place

    order = {"D/p!/a.zip": 0, "D/z.jsonl": 1, "D/p": 2}
    assert _place("D/p!/a.zip!/m.jsonl", order) == 0   # not D/p's, a folder whose name ends in "!"
    assert _place("D/z.jsonl", order) == 1 and _place("elsewhere", order) == 3


def test_one_compressed_file_named_as_a_tar_says_how_to_name_it(tmp_path):
    """A gzip of a JSON Lines file saved as .tar.gz (session 35 archive review): the reject says what to do."""
    path = tmp_path / "night.tar.gz"
    path.write_bytes(gzip.compress(_jsonl(_story(1))))
    res = read_inputs([path])
    assert _rejects(res) == [(str(path), None, "corrupt_compression")]
    assert "name it by its format (.jsonl.gz" in res.rejects["message"][0]


# -- names an archive holds twice ------------------------------------------------------------------------


def _copies(path: Path, new_first: bool) -> Path:
    """An archive holding night/a.jsonl twice, an old export and its corrected copy appended (``tar -r``) or
    the other way round, and night/b.jsonl between them."""
    old = _jsonl(_story(1), _story(2))
    fixed = dict(_story(1), text=_story(1)["text"] + " Corrected: the council met on Tuesday.")
    new = _jsonl(fixed, _story(2), _story(3))
    copies = [("night/a.jsonl", new), ("night/b.jsonl", _jsonl(_story(4))), ("night/a.jsonl", old)]
    copies = copies if new_first else [copies[2], copies[1], copies[0]]
    if path.suffix == ".zip":
        with pytest.warns(UserWarning, match="Duplicate name"):
            return _zip(path, copies)
    return _tar(path, copies)


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_every_copy_of_a_name_is_read_whatever_their_order(tmp_path, kind):
    """The first copy of a name was read and the later only listed in skipped_files: its records were in no
    count, and the outputs depended on which copy came first."""
    seen = []
    for new_first in (False, True):
        (tmp_path / str(new_first)).mkdir()
        archive = _copies(tmp_path / str(new_first) / f"night.{kind}", new_first)
        res = read_inputs([archive])
        name = f"{archive}!/night/a.jsonl"
        assert res.records == 2 + 1 + 3 and not res.skipped_files
        assert set(res.articles["source_file"]) | set(res.rejects["file"]) == {
            name, f"{name} (occurrence 2)", f"{archive}!/night/b.jsonl"}
        assert sorted(res.rejects.select("article_id", "reason").rows()) == [("s1", "duplicate_id"),
                                                                              ("s2", "duplicate_id")]
        articles = res.articles.sort("article_id")
        assert articles["article_id"].to_list() == ["s1", "s2", "s3", "s4"]
        assert articles["text"][0].endswith("Corrected: the council met on Tuesday.")   # the longer text keeps s1
        seen.append(articles.drop("source_file", "source_record"))
    assert seen[0].equals(seen[1])
