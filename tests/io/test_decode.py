"""Encodings: BOM, declared charset, UTF-8, detector; every decision recorded, no crash on bad bytes."""

import codecs
import json

import pytest

import dedup.io.decode as decode_module
from dedup.config import ReadConfig
from dedup.io import read_inputs
from dedup.io.decode import (
    Undecodable,
    charset_from_content_type,
    codec_name,
    decode,
    html_declared_charset,
)

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
