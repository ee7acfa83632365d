"""Encodings: BOM, declared charset, UTF-8, detector; every decision recorded, no crash on bad bytes."""

import codecs
import json
import sys

import pytest

import dedup.io.decode as decode_module
from dedup.config import ReadConfig
from dedup.errors import ConfigError
from dedup.io import read_inputs
from dedup.io.decode import (
    Undecodable,
    charset_from_content_type,
    codec_name,
    decode,
    html_declared_charset,
)
from tests.io.pages import warc_bytes

SAMPLES = [  # (text, encoding a legacy system would have used)
    ("Le café crème est très apprécié à Paris, où l'été dure.", "cp1252"),
    ("Der Bürgermeister äußerte sich über die Größe des Hafens.", "cp1252"),
    ("“Smart quotes” — and dashes… from a Windows CMS.", "cp1252"),
    ("Zażółć gęślą jaźń, powiedział minister w poniedziałek.", "iso-8859-2"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
    ("Министр заявил, что забастовка продлится ещё два дня.", "cp1251"),
    ("東京で会議が開かれ、新しい予算案が承認されました。", "shift_jis"),
    ("北京今天举行会议，讨论新的港口预算。", "gb18030"),
    ("서울에서 회의가 열렸습니다. 새로운 예산안이 승인되었습니다.", "euc-kr"),
]


@pytest.mark.parametrize("text,encoding", SAMPLES)
def test_detector_recovers_legacy_text(text, encoding):
    got = decode(text.encode(encoding))
    assert got.text == text
    assert got.warnings == (f"decoded_as_{codec_name(encoding).replace('_', '-')}",)


def test_order_bom_then_declared_then_utf8_then_detector():
    s = "Café ünd Straße"
    for bom, enc in [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                     (codecs.BOM_UTF32_LE, "utf-32-le")]:
        got = decode(bom + s.encode(enc), declared="iso-8859-1")  # the BOM wins over any declaration
        assert (got.text, got.encoding) == (s, enc)
    assert decode(s.encode("utf-8"), declared="iso-8859-1").warnings == ("charset_mismatch",)
    assert decode(s.encode("cp1252"), declared="utf-8").warnings == ("decoded_as_cp1252", "charset_mismatch")
    assert decode("Привет".encode("koi8-r"), declared="koi8-r").text == "Привет"
    assert decode(b"plain ascii", declared="utf-16").text == "plain ascii"
    assert decode("Hello, a UTF-16 text without BOM.".encode("utf-16-le")).encoding == "utf-16-le"


def test_forced_encoding_skips_detection():
    got = decode("Привет".encode("koi8-r"), forced="koi8-r")
    assert got.text == "Привет" and got.warnings == ()
    assert decode(b"\xff\xfe\x00", forced="utf-8").warnings == ("decoded_with_replacement",)


def test_binary_data_is_undecodable():
    with pytest.raises(Undecodable):
        decode(bytes(range(256)) * 10)
    with pytest.raises(Undecodable):
        decode(b"\x00\x01\x02\x03" * 500)


def test_charset_labels():
    assert charset_from_content_type('text/html; charset="ISO-8859-1"') == "ISO-8859-1"
    assert charset_from_content_type("text/html") is None
    assert html_declared_charset(b'<html><head><meta http-equiv="Content-Type" content="text/html; '
                                 b'charset=windows-1251">') == "windows-1251"
    assert html_declared_charset(b"<meta charset='utf-8'>") == "utf-8"
    assert codec_name("ISO-8859-1") == "cp1252" and codec_name("latin1") == "cp1252"  # WHATWG
    assert codec_name("gb2312") == "gb18030" and codec_name("UTF8") == "utf-8"
    assert codec_name("x-unknown") is None and codec_name("rot13") is None and codec_name(None) is None


def test_legacy_files_of_every_text_format_are_decoded_and_counted(tmp_path):
    rec = {"id": "j1", "text": "Le café crème est très apprécié à Paris, où l'été dure."}
    (tmp_path / "a.jsonl").write_bytes(json.dumps(rec, ensure_ascii=False).encode("cp1252") + b"\n")
    (tmp_path / "b.json").write_bytes(json.dumps({**rec, "id": "j2"}, ensure_ascii=False).encode("cp1252"))
    (tmp_path / "c.csv").write_bytes(("id,text\nc1,\"" + rec["text"] + "\"\n").encode("cp1252"))
    (tmp_path / "d.txt").write_bytes(codecs.BOM_UTF16_LE + ("Titre\n" + rec["text"]).encode("utf-16-le"))
    # UTF-8 with one stray cp1252 byte: UTF-8 with a replacement mark, not a legacy guess
    (tmp_path / "e.txt").write_bytes("Titre\nLe café crème à l'été, déjà vu".encode() + b" \x93 " + "à Orléans.".encode())
    res = read_inputs([tmp_path])
    assert res.rejects.to_dicts() == [] and res.articles.height == 5
    texts = dict(zip(res.articles["source_file"].map_elements(lambda f: f.rsplit("/", 1)[1], return_dtype=str),
                     res.articles["text"]))
    assert texts["a.jsonl"] == texts["b.json"] == texts["c.csv"] == texts["d.txt"] == rec["text"]
    assert texts["e.txt"] == "Le café crème à l'été, déjà vu \ufffd à Orléans."
    assert res.warnings == {"decoded_as_cp1252": 3, "decoded_as_utf-16-le": 1, "decoded_with_replacement": 1}


def test_configured_encoding_applies_to_every_file(tmp_path):
    (tmp_path / "a.txt").write_bytes("Заголовок\nМинистр заявил во вторник.".encode("koi8-r"))
    res = read_inputs([tmp_path], config=ReadConfig(encoding="koi8-r"))
    assert res.articles["text"].to_list() == ["Министр заявил во вторник."] and not res.warnings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le"])
def test_a_forced_encoding_drops_the_byte_order_mark(tmp_path, encoding):
    bom = codecs.BOM_UTF8 if encoding == "utf-8" else codecs.BOM_UTF16_LE
    (tmp_path / "a.json").write_bytes(bom + '[{"id": "a", "text": "Text a."}]'.encode(encoding))
    (tmp_path / "b.csv").write_bytes(bom + "id,text\nb,Text b.\n".encode(encoding))
    (tmp_path / "c.jsonl").write_bytes(bom + '{"id": "c", "text": "Text c."}\n'.encode(encoding))
    (tmp_path / "d.txt").write_bytes(bom + "Title\nText d.".encode(encoding))
    res = read_inputs([tmp_path], config=ReadConfig(encoding=encoding))
    assert res.rejects.to_dicts() == []
    arts = {art["source_file"].rsplit("/", 1)[1]: art for art in res.articles.to_dicts()}
    assert [arts[name]["article_id"] for name in ("a.json", "b.csv", "c.jsonl")] == ["a", "b", "c"]
    assert arts["d.txt"]["title"] == "Title"
    assert decode(codecs.BOM_UTF8 + b"x", forced="utf-8").text == "x"


def test_json_lines_reuse_the_codec_detected_for_earlier_lines(tmp_path, monkeypatch):
    # the detector ran on every non-UTF-8 line: some 2 ms a line, 40 times the time of a UTF-8 file; a codec
    # it gave two lines is the file's guess (one line is little evidence)
    calls = []
    detect = decode_module._detect
    monkeypatch.setattr(decode_module, "_detect", lambda data: calls.append(data) or detect(data))
    text = SAMPLES[0][0]
    japanese = "東京で会議が開かれ、新しい予算案が承認されました。"   # not cp1252: detected anew
    lines = [{"id": f"l{i}", "text": f"{text} ({i})"} for i in range(40)] + [{"id": "ja", "text": japanese}]
    (tmp_path / "a.jsonl").write_bytes(b"".join(
        json.dumps(r, ensure_ascii=False).encode("cp932" if r["id"] == "ja" else "cp1252") + b"\n" for r in lines))
    res = read_inputs([tmp_path])
    assert res.rejects.to_dicts() == []
    assert sorted(res.articles["text"]) == sorted(r["text"] for r in lines)
    assert len(calls) == 3 and res.warnings == {"decoded_as_cp1252": 40, "decoded_as_cp932": 1}


@pytest.mark.parametrize("codec, why", [
    ("klingon", "is not a known codec"),
    ("rot13", "is not a text encoding"), ("zlib_codec", "is not a text encoding"),
    # decoding with replacement raises: a reader would fail on the first byte that is not their text
    ("punycode", "is not a file encoding (bytes that are not its text raise UnicodeDecodeError, not replaced)"),
    ("idna", "is not a file encoding (bytes that are not its text raise UnicodeError, not replaced)"),
    ("undefined", "is not a file encoding (bytes that are not its text raise UnicodeError, not replaced)"),
    # they decode: but a JSON or CSV file's backslashes would change its text
    ("unicode_escape", "is not a file encoding (it decodes Python string escapes, not a character set)"),
    ("raw-unicode-escape", "is not a file encoding (it decodes Python string escapes, not a character set)"),
])
def test_a_codec_that_cannot_decode_files_is_refused_with_why(codec, why):
    with pytest.raises(ConfigError) as err:
        ReadConfig(encoding=codec)
    assert str(err.value) == f'encoding {codec!r} {why}; use "auto" or a name such as "utf-8" or "cp1252"'


@pytest.mark.parametrize("codec", ["utf-8", "UTF8", "utf-8-sig", "cp1252", "latin1", "utf-16", "utf-32-be", "utf-7",
                                   "cp037", "shift_jisx0213", "hz", "iso2022_jp", "gb18030", "koi8-r"])
def test_file_encodings_are_accepted(codec):
    assert ReadConfig(encoding=codec).encoding == codec


def _one_file_of_each_format(folder, encoding):
    text = "Le café crème — “quoted” at the harbour council meeting"
    rec = {"id": "a", "outlet": "Gazette", "text": text}
    page = (f'<html><head><title>Port</title></head><body><article><h1>Port</h1><p>{text}. {text}.</p>'
            f'<p>{text}, twice.</p></article></body></html>')
    files = {"a.jsonl": json.dumps(rec, ensure_ascii=False) + "\n",
             "b.json": json.dumps([{**rec, "id": "b"}], ensure_ascii=False),
             "c.csv": f'id,text\nc,"{text}"\n', "d.txt": f"Title\n{text}", "e.md": f"# Title\n\n{text}, in Markdown",
             "f.html": page}
    for name, content in files.items():
        (folder / name).write_bytes(content.encode(encoding))
    (folder / "w.warc").write_bytes(warc_bytes([{"uri": "https://gazette.example/a", "content_type": "text/html",
                                                 "body": page.replace("Port", "Harbour").encode(encoding)}]))
    # streamed in two readings (over 256 KiB), not decided on the whole bytes at once
    rows = "".join(f'r{i},"{text} ({i})"\n' for i in range(6000))
    (folder / "g.csv").write_bytes(f"id,text\n{rows}".encode(encoding))
    (folder / "h.json").write_bytes(json.dumps([{**rec, "id": f"h{i}"} for i in range(6000)],
                                               ensure_ascii=False).encode(encoding))
    return sorted(files) + ["g.csv", "h.json", "w.warc"]


@pytest.mark.parametrize("codec", ["punycode", "idna", "undefined"])
def test_a_forced_codec_that_raises_rejects_each_file_not_the_run(tmp_path, codec):
    """ReadConfig refuses these; a codec another package registers may raise so too: then the file is
    ``undecodable``, in every reader, never a crash or a ``reader_error`` (a bug)."""
    with pytest.raises(Undecodable, match=f"cannot be decoded with the forced encoding '{codec}'"):
        decode("café".encode("cp1252"), forced=codec)
    names = _one_file_of_each_format(tmp_path, "cp1252")
    config = ReadConfig(workers=1)
    object.__setattr__(config, "encoding", codec)   # past the check, as such a codec would be
    res = read_inputs([tmp_path], config=config)
    rejects = {r["file"].rsplit("/", 1)[1]: r for r in res.rejects.to_dicts()}
    assert sorted(rejects) == names and res.articles.height == 0
    for reject in rejects.values():
        assert reject["reason"] == "undecodable", reject
        assert f"cannot be decoded with the forced encoding '{codec}'" in reject["message"], reject


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_forced_utf16_or_utf32_file_without_its_byte_order_mark_is_read_in_the_machines_order(tmp_path, codec):
    """As ``bytes.decode`` reads it whole; Python's incremental decoder refuses it (UTF-16 stream does not start
    with BOM), which a JSON Lines file, decoded as a stream, failed on (``reader_error``)."""
    native = f"{codec}-{'le' if sys.byteorder == 'little' else 'be'}"
    names = _one_file_of_each_format(tmp_path, native)
    res = read_inputs([tmp_path], config=ReadConfig(encoding=codec, workers=1))
    assert res.rejects.to_dicts() == []
    assert set(res.articles["source_file"].map_elements(lambda f: f.rsplit("/", 1)[1], return_dtype=str)) == set(names)
    assert res.articles.filter(res.articles["article_id"] == "a")["text"].to_list() == [
        "Le café crème — “quoted” at the harbour council meeting"]


def test_iso2022_csv_and_json_are_read_whole_not_streamed(tmp_path):
    """The incremental ISO-2022 decoders raise ("pending buffer overflow"), even with errors="replace", on an
    invalid escape sequence a piece's end cuts: such files are read whole, as decode() reads them."""
    garbage = b"\x1b()}}}a~}}"   # an invalid escape, held pending by the incremental decoder past its limit
    rows = [f'c{i},Gazette,"plain row number {i} of the file"\n'.encode() for i in range(6000)]
    head = b'id,outlet,text\nx,Gazette,"bad byte \x80 here"\n' + b"".join(rows[:2000])
    cut = (1 << 17) - len(head) - len(garbage) - len(b'y,Gazette,"')   # the escape ends where a 64 KiB piece does
    data = head + b'y,Gazette,"' + b"x" * cut + garbage + b'-"\n' + b"".join(rows[2000:])
    (tmp_path / "a.csv").write_bytes(data)
    res = read_inputs([tmp_path], config=ReadConfig(encoding="iso2022_jp", workers=1))
    assert res.rejects.to_dicts() == [] and res.articles.height == 6002


def test_a_codec_whose_lines_do_not_decode_alone_is_not_read_line_by_line(tmp_path):
    """ISO-2022-KR names its character set once, before the first line: a JSON Lines file in it is decoded as a
    stream, not line by line (every line after the first was misread, without a word)."""
    records = [{"id": f"k{i}", "outlet": "Gazette", "text": f"한국어 기사 {i}"} for i in range(3)]
    (tmp_path / "a.jsonl").write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
                                       .encode("iso2022_kr"))
    res = read_inputs([tmp_path], config=ReadConfig(encoding="iso2022_kr", workers=1))
    assert res.rejects.to_dicts() == [] and sorted(res.articles["text"]) == [r["text"] for r in records]


@pytest.mark.parametrize("codec, bom", [("utf-16", codecs.BOM_UTF16_BE), ("utf-32", codecs.BOM_UTF32_BE)])
def test_a_forced_wide_codecs_byte_order_mark_is_found_in_a_gzip_of_tiny_members(tmp_path, codec, bom):
    """Its first 4 bytes are read, not peeked: a gzip whose first member holds 1-3 bytes hid the mark."""
    import gzip

    records = [{"id": f"a{i}", "outlet": "G", "text": f"café {i}"} for i in range(3)]
    data = bom + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode(f"{codec}-be")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data[:1]) + gzip.compress(data[1:]))
    res = read_inputs([tmp_path], config=ReadConfig(encoding=codec, workers=1))
    assert res.rejects.to_dicts() == [] and sorted(res.articles["text"]) == [r["text"] for r in records]
