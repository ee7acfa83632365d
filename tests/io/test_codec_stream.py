"""CSV and JSON files in any codec are streamed (dedup.io.textplan.text_plan): the first reading decides the codec
as decode() would on the whole bytes, in one pass; the second decodes with it, a chunk at a time, into the same text,
so the same records, rejects and warnings as the whole-file readers'."""

from __future__ import annotations

import codecs
import json
import random

import pytest

from dedup.io import csvstream, jsonstream, textplan
from dedup.io import decode as decode_module
from dedup.io.decode import Undecodable, decode
from dedup.io.readers import _read_csv_whole, _read_json_whole, read_file
from dedup.io.streams import FileRejected, Limits, Source
from dedup.io.textplan import SecondReading, text_plan
from tests.io.test_csv_stream import _outcome
from tests.io.test_json_stream import opened_streams

HEAD = 4096   # decode()'s _DETECT_BYTES in these tests: files of several heads, read a few bytes at a time

FRENCH = ["Le café de la gare a rouvert à Genève, déjà plein dès l'aube.", "Les élèves naïfs répètent « où ? »",
          "Une grève générale paralyse Besançon ; la mairie reçoit les délégués.", "Ça coûte 12 €, même à Noël."]
RUSSIAN = ["Городской совет утвердил бюджет на следующий год.", "Жители района жалуются на шум стройки."]
JAPANESE = ["東京都は新しい防災計画を発表しました。", "市場の関係者によると、価格は上昇を続けている。"]
CHINESE = ["北京市政府今天宣布了新的交通规划。", "专家表示，这一政策将在明年实施。"]
KOREAN = ["서울시는 오늘 새로운 교통 계획을 발표했다.", "전문가들은 이 정책이 내년에 시행될 것이라고 말했다."]


def _prose(sentences: list[str], size: int, seed: int) -> str:
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size:
        parts.append(rng.choice(sentences))
        total += len(parts[-1]) + 1
    return "\n".join(parts) + "\n"


def _cases() -> list[tuple[str, bytes, str | None]]:
    french, size = _prose(FRENCH, 6 * HEAD, 1), 6 * HEAD
    ascii_text = french.encode("ascii", "ignore").decode()
    rng = random.Random(7)
    stray = bytearray(french.encode("utf-8"))
    for at in rng.sample(range(len(stray)), 5):   # a few pasted cp1252 bytes, early and late
        stray[at:at] = b"\x92"
    undefined = french.encode("cp1252") + b"\x81 une fin \x8d ind\xe9finie\n"
    return [
        ("cp1252", french.encode("cp1252"), None),
        ("cp1251", _prose(RUSSIAN, size, 2).encode("cp1251"), None),
        ("shift_jis", _prose(JAPANESE, size, 3).encode("shift_jis"), None),
        ("gb18030", _prose(CHINESE, size, 4).encode("gb18030"), None),
        ("euc-kr", _prose(KOREAN, size, 5).encode("euc-kr"), None),
        ("utf-16-le bom", codecs.BOM_UTF16_LE + french.encode("utf-16-le"), None),
        ("utf-16-be bom", codecs.BOM_UTF16_BE + french.encode("utf-16-be"), None),
        ("utf-16-le", french.encode("utf-16-le"), None),
        ("utf-16-be", _prose(JAPANESE, size, 6).encode("utf-16-be"), None),
        ("utf-32", french.encode("utf-32"), None),
        ("utf-32 broken", french.encode("utf-32") + b"\x00\x00", None),
        ("utf-8 bom", codecs.BOM_UTF8 + french.encode("utf-8"), None),
        ("utf-8 two boms", codecs.BOM_UTF8 * 2 + french.encode("utf-8"), None),
        ("utf-8 stray bytes", bytes(stray), None),
        ("utf-8", french.encode("utf-8"), None),
        ("ascii", ascii_text.encode("ascii"), None),
        ("binary", bytes(random.Random(8).randrange(256) for _ in range(size)), None),
        ("cp1252 undefined bytes", undefined, None),
        ("forced cp1252", french.encode("cp1252"), "cp1252"),
        ("forced latin-1 label", french.encode("cp1252"), "latin-1"),
        ("forced utf-8 failing", french.encode("cp1252"), "utf-8"),
        ("forced utf-8 bom", codecs.BOM_UTF8 + french.encode("utf-8"), "utf-8"),
        ("forced utf-16", french.encode("utf-16"), "utf-16"),
        ("forced utf-16-le bom", codecs.BOM_UTF16_LE + french.encode("utf-16-le"), "utf-16-le"),
        ("forced shift_jis failing", _prose(JAPANESE, size, 9).encode("shift_jis") + b"\x81\n", "shift_jis"),
        ("forced iso2022_jp", _prose(JAPANESE, size, 10).encode("iso2022_jp"), "iso2022_jp"),
        ("forced utf-7", french.encode("utf-7"), "utf-7"),
        ("small cp1252", "Un café à Genève.\n".encode("cp1252"), None),
    ]


@pytest.fixture
def small(monkeypatch):
    """decode()'s head (the detector's sample, the binary check) and the first reading's chunk made small."""
    monkeypatch.setattr(decode_module, "_DETECT_BYTES", HEAD)
    monkeypatch.setattr(textplan, "_CHUNK", 7)   # cuts multi-byte characters and byte-order marks


def _second_reading(path, plan, size: int = 5) -> str:
    with open(path, "rb") as stream:
        reading, parts = SecondReading(stream, plan), []
        while not reading.eof:
            parts.append(reading.read(size))
        assert not reading.differs()
    return "".join(parts)


@pytest.mark.parametrize("name,data,forced", _cases(), ids=[case[0] for case in _cases()])
def test_the_streamed_decision_and_text_are_decode_s_on_the_whole_bytes(tmp_path, small, name, data, forced):
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    source = Source(path, encoding=forced)
    try:
        expected = decode(data, forced=forced)
    except Undecodable as exc:
        with pytest.raises(FileRejected) as raised:
            text_plan(source, what="CSV file")
        assert (raised.value.reason, raised.value.message) == ("undecodable", f"CSV file: {exc}")
        return
    plan = text_plan(source, what="CSV file")
    if forced in textplan._WHOLE_ONLY or (forced or "").startswith(textplan._WHOLE_FAMILY):   # read whole: see
        # test_forced_codecs_an_incremental_decoder_gets_wrong, test_iso2022_csv_and_json_are_read_whole_not_streamed
        assert plan is None
        return
    assert plan is not None
    assert (plan.codec, plan.warnings) == (expected.encoding, expected.warnings)
    assert plan.errors == ("replace" if "decoded_with_replacement" in expected.warnings else "strict")
    assert dict(source.warnings) == {warning: 1 for warning in expected.warnings}
    assert _second_reading(path, plan) == expected.text


@pytest.mark.parametrize("name", ["late cp1252", "utf-8 control characters"])
def test_a_file_whose_head_is_utf8_but_that_needs_the_detector_is_read_whole(tmp_path, small, name):
    """decode() asks the detector only when UTF-8 fails (or looks binary); the one pass did not ask it when the head
    was read: such a file is read whole, as before."""
    path = tmp_path / "late.csv"
    if name == "late cp1252":
        path.write_bytes(b"id,text\n" + b"1,plain words\n" * 1000 + _prose(FRENCH, 4 * HEAD, 11).encode("cp1252"))
    else:
        path.write_bytes(b"id,text\n" + b"1,\x01\x02\x03\x04\n" * 3000)
    assert text_plan(Source(path)) is None
    source, whole = Source(path), Source(path)
    assert _outcome(read_file(source)) == _outcome(_read_csv_whole(whole)) and source.warnings == whole.warnings


def _csv(rng: random.Random, sentences: list[str], rows: int) -> str:
    lines = ["id,outlet,text"]
    for i in range(rows):
        text = " ".join(rng.choices(sentences, k=rng.randint(1, 4)))
        lines.append(f'a{i},Gazette,"{text}\n""{rng.choice(sentences)}"""' if i % 3 else f"a{i},Gazette,{text[:20]}")
    lines.append('bad,"never closed')
    return "\r\n".join(lines) + "\n"


def _json(rng: random.Random, sentences: list[str], items: int) -> str:
    articles = [{"id": f"a{i}", "title": rng.choice(sentences), "text": " ".join(rng.choices(sentences, k=5))}
                for i in range(items)]
    return json.dumps(articles, ensure_ascii=False, indent=1)[:-3] + ',\n {"id": oops}]'   # a malformed element


_FILES = [("cp1252", FRENCH, None), ("cp1251", RUSSIAN, None), ("shift_jis", JAPANESE, None),
          ("gb18030", CHINESE, None), ("utf-16", FRENCH, None), ("utf-16-be", KOREAN, "utf-16-be"),
          ("utf-32", FRENCH, None), ("cp1252", FRENCH, "cp1252"), ("iso2022_jp", JAPANESE, "iso2022_jp")]


@pytest.mark.parametrize("encoding,sentences,forced", _FILES, ids=[f"{f[0]}-{f[2]}" for f in _FILES])
def test_csv_and_json_files_in_other_codecs_read_as_the_whole_readers_read_them(tmp_path, small, monkeypatch,
                                                                                  encoding, sentences, forced):
    monkeypatch.setattr(jsonstream, "CHUNK", 999)
    rng = random.Random(encoding)
    for name, text, whole_reader in [("f.csv", _csv(rng, sentences, 300), _read_csv_whole),
                                     ("f.json", _json(rng, sentences, 150), _read_json_whole)]:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        assert path.stat().st_size > 4 * HEAD
        try:
            decode(path.read_bytes(), forced=forced)
            binary = False
        except Undecodable:   # (the detector, on this small a head, finds no codec for Shift-JIS JSON)
            binary = True
        streamed_too = not binary and not encoding.startswith(textplan._WHOLE_FAMILY)   # ISO-2022: read whole
        assert binary or (text_plan(Source(path, encoding=forced)) is not None) == streamed_too
        limits = Limits(max_record_bytes=2000)
        streamed, whole = Source(path, limits, encoding=forced), Source(path, limits, encoding=forced)
        out = _outcome(read_file(streamed))
        assert out == _outcome(whole_reader(whole)), name
        assert streamed.warnings == whole.warnings, name
        if name.endswith(".csv") and streamed_too:   # and a few bytes at a time: characters cut
            chunked = Source(path, limits, encoding=forced)
            assert _outcome(csvstream.read_csv_stream(chunked, text_plan(chunked), 3)) == out
        if binary:
            assert out == [("raised", "undecodable", "JSON file: not text in any recognisable encoding (binary data?)")]
            continue
        assert out[-1][0] == "raised" or any(isinstance(item[1], tuple) for item in out)   # a reject among them
        assert sum(isinstance(item[1], dict) for item in out) > 100


@pytest.mark.parametrize("name,encoding,module", [("big.csv", "cp1252", csvstream), ("big.json", "utf-16", jsonstream)])
def test_the_first_record_of_a_large_file_in_another_codec_comes_before_the_file_is_read(tmp_path, monkeypatch, name,
                                                                                         encoding, module):
    rng = random.Random(5)
    articles = [{"id": f"a{i}", "text": " ".join(rng.choices(FRENCH, k=8))} for i in range(20000)]
    text = json.dumps(articles, ensure_ascii=False) if name.endswith(".json") else "id,text\n" + "".join(
        f'{a["id"]},"{a["text"]}"\n' for a in articles)
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    size = path.stat().st_size
    opened = opened_streams(monkeypatch, module)
    source, whole = Source(path), Source(path)
    reading = read_file(source)
    first = next(reading)
    assert opened[-1].read_bytes < size / 4, (opened[-1].read_bytes, size)   # (JSON Lines are looked for in 1 MB)
    records = [first, *reading]
    assert opened[-1].read_bytes == size
    assert records == list((_read_csv_whole if name.endswith(".csv") else _read_json_whole)(whole))
    assert len(records) == len(articles) and source.warnings == whole.warnings
    assert sum(source.warnings.values()) == 1 and next(iter(source.warnings)).startswith("decoded_as_")


@pytest.mark.parametrize("encoding,change", [("cp1252", "same size"), ("cp1252", "shorter"),
                                             ("shift_jis", "undecodable")])
def test_a_file_in_another_codec_that_changes_between_its_readings_is_rejected(tmp_path, encoding, change):
    sentences = FRENCH if encoding == "cp1252" else JAPANESE
    rows = "".join(f"{i},{sentences[i % len(sentences)]}\n" for i in range(3000))
    path = tmp_path / "growing.csv"
    path.write_bytes(("id,text\n" + rows).encode(encoding))
    source = Source(path, Limits())
    plan = text_plan(source)
    assert plan is not None and plan.codec != "utf-8"
    data = path.read_bytes()
    if change == "same size":   # a byte swapped late: only the CRC at the end sees it
        data = data[:-10] + data[-10:].replace(b"\n", b" ", 1)
    elif change == "shorter":
        data = data[:len(data) // 2]
    else:   # a lead byte without its trail: the strict decoder of the second reading stops there
        data = data[:len(data) // 2] + b"\x81\n" + data[len(data) // 2:]
    with open(path, "r+b") as fh:   # rewritten in place: the same file, another content
        fh.write(data)
        fh.truncate()
    out = _outcome(csvstream.read_csv_stream(source, plan))
    assert out[-1][:2] == ("raised", "unreadable_file") and "changed while it was read" in out[-1][2]


def test_a_file_valid_utf8_but_for_its_last_byte_is_decided_as_read_whole(tmp_path):
    """A sequence the file's last byte leaves incomplete fails only when the decoder is flushed: decode() then asks
    the detector (cp1252 here), and so must the plan (found by the session 35 codec review: "Un caf\ufffd")."""
    path = tmp_path / "tail.csv"
    path.write_bytes(b"id,outlet,text\n" + b"1,Gazette,plain words here\n" * 20_000 + "2,Gazette,Un café".encode("cp1252"))
    assert len(path.read_bytes()) > 2**18   # past the head decode() looks at
    records = list(read_file(Source(path)))
    whole = list(_read_csv_whole(Source(path)))
    assert records == whole and records[-1][1]["text"] == "Un café"


@pytest.mark.parametrize("forced", ["utf-16", "utf-32", "utf-7"])
def test_forced_codecs_an_incremental_decoder_gets_wrong_are_read_whole(tmp_path, forced):
    """Forced "utf-16"/"utf-32" read data without a byte-order mark in the machine's order when decoded whole, but
    their incremental decoders refuse it (UnicodeError: the whole file a reader_error); Python's incremental UTF-7
    decoder is quadratic. Such files are read whole, as before (session 35 codec review)."""
    text = "id,text\n" + "".join(f"{k},Un café à Genève\n" for k in range(2000))
    order = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(forced, forced)   # no byte-order mark
    path = tmp_path / "unmarked.csv"
    path.write_bytes(text.encode(order))
    assert textplan.text_plan(Source(path, encoding=forced)) is None
    records = list(read_file(Source(path, encoding=forced)))
    assert records == list(_read_csv_whole(Source(path, encoding=forced))) and len(records) == 2000
