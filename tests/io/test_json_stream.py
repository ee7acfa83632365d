"""A UTF-8 ``.json`` file is read as a stream (dedup.io.jsonstream): the same records, numbering, rejects and
warnings as from its whole text, with memory bounded by a record, not by the file. Other encodings too, in the codec
the first reading decides (tests/io/test_codec_stream.py)."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from dedup.io import jsonstream
from dedup.io.inputs import format_of
from dedup.io.jsonstream import _head, _one_object_per_line, read_json_stream
from dedup.io.readers import _read_json_whole, read_file, read_json
from dedup.io.streams import FileRejected, Limits, Source
from dedup.io.textplan import text_plan
from tests.io.test_csv_stream import _outcome

BOM = "\ufeff"
WORDS = ["river", "café", "中文", "😀", "line\nbreak", "sep\u2028arator", 'a "quote"', "back\\slash", "tab\t", ""]


def _source(path, limit: int) -> Source:
    return Source(path, Limits(max_record_bytes=limit), compression=format_of(path)[1])   # as read_file sets it


def _both(path, limit: int = 16 * 2**20) -> tuple[tuple, tuple]:
    """What the whole-file reader and the stream read from ``path``: (outcome, warnings) each."""
    source = _source(path, limit)
    whole = _outcome(_read_json_whole(source)), dict(source.warnings)
    source = _source(path, limit)
    try:
        plan = text_plan(source, cut="ascii")
    except FileRejected as exc:
        return whole, ([("raised", exc.reason, exc.message)], dict(source.warnings))
    assert plan is not None and (plan.codec, plan.warnings) == ("utf-8", ()), path.read_bytes()[:200]
    return whole, (_outcome(read_json_stream(source, plan)), dict(source.warnings))


def _article(rng: random.Random, i: int) -> dict:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12)))
    article = {"id": f"a{i}", "outlet": rng.choice(["Gazette", "Wire", "Le Monde"]), "title": words[:30],
               "text": words}
    extra = rng.random()
    if extra < 0.2:
        article["tags"] = [{"n": [1, 2.5, None, True, {"deep": [[["x"]]]}]}, "😀"]
    elif extra < 0.3:
        article["score"] = rng.choice([1e400, -1e400, 10**40, -0.0, 1.5e-300, 12345678901234567890])
    elif extra < 0.35:
        article["esc"] = "\\ud83d\\ude00 \\u00e9"   # escapes, written as such by the variants below
    return article


def _dump(value, indent=None) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return text.replace("\\\\ud83d\\\\ude00 \\\\u00e9", "\\ud83d\\ude00 \\u00e9")   # real escapes


def _variants(rng: random.Random) -> list[str]:
    """JSON texts of every shape the reader takes, and broken ones."""
    arts = [_article(rng, i) for i in range(rng.randint(1, 7))]
    items = [_dump(a) for a in arts]
    pretty = [_dump(a, indent=rng.choice([1, 2, "\t"])) for a in arts]
    bad = rng.choice(['{"a": 1,, }', '{"a"', '{"a": tru}', "[1, 2", '{"a": "x\ny"}', "nul", '{"a": 1} {',
                      '"never closed', '{"a": -}', "{'single': 1}", "]", ",", '{"a": "\\x"}'])
    k = rng.randrange(len(items) + 1)
    space = rng.choice(["", " ", "\n", "\r\n  ", "\t"])
    texts = [
        "[" + ",".join(items) + "]",
        "[\n" + ",\n".join(pretty) + "\n]\n",
        space.join(["[", ", ".join(items), "]"]),
        items[0], pretty[0] + "\n",
        "\n".join(pretty), "".join(items), " ".join(items) + "\n",     # objects one after the other
        "\n".join(items), "\n".join(items) + "\n", "\n\n".join(items) + "\n\n",   # JSON Lines saved as .json
        "\n".join([*items[:k], bad, *items[k:]]) + "\n",                  # with a bad line
        "\n".join([*items[:k], "[1, 2]", "", *items[k:]]),
        "\r\n".join(items) + "\r\n",
        "[" + ",".join([*items[:k], bad, *items[k:]]) + "]",                # a malformed element part-way
        "[" + ", ".join([*items[:k], bad]),
        "[" + ",".join(items) + ",]",                                     # trailing comma
        "[" + ",".join(items) + "] x", "[" + ",".join(items) + "]\n[1]",   # something after the array
        "[" + ",".join(items) + "] \u2028",
        "\n".join([*pretty[:k], bad, *pretty[k:]]),                       # a bad object in a sequence
        "\u00a0[" + ",".join(items) + "]", "\u00a0" + items[0],           # white space JSON does not take
        "[]", "[ ]", "{}", "null", "42", '"a string"', "1e400", "[" + "1" * 4000 + "]", "[[[[[[1]]]]]]",
        "", " \n\t", "\u2028", "[", "{", "{\"a\"", "[{}", "[1 2]", '[{"a": }, ' + items[0] + "]",
        items[0] + " " + bad, "[" + items[0] + "]" * 2,
    ]
    return texts


def _write(tmp_path, i: int, text: str, bom: bool) -> object:
    path = tmp_path / f"{i}.json"
    path.write_bytes(((BOM if bom else "") + text).encode("utf-8"))
    return path


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
def test_generated_json_texts_read_as_a_stream_are_those_read_whole(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    rng = random.Random(chunk)
    compared = 0
    for round_ in range(12):
        for i, text in enumerate(_variants(rng)):
            path = _write(tmp_path, i, text, bom=rng.random() < 0.2)
            whole, streamed = _both(path)
            assert streamed == whole, (round_, i, text)
            compared += 1
    assert compared > 500


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_window_boundaries_everywhere_with_a_short_head(tmp_path, monkeypatch, chunk):
    """A head of a few characters: the window is cut inside every value, as in a file of gigabytes. JSON Lines
    are then recognised on fewer lines; the texts where that changes the decision are left out."""
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    monkeypatch.setattr(jsonstream, "DETECT_CHARS", 40)
    rng = random.Random(100 + chunk)
    compared = 0
    for _ in range(10):
        for i, text in enumerate(_variants(rng)):
            if _one_object_per_line(_head(text, True)) != _one_object_per_line(text):
                continue
            whole, streamed = _both(_write(tmp_path, i, text, bom=False))
            assert streamed == whole, (i, text)
            compared += 1
    assert compared > 300


@pytest.mark.parametrize("chunk", [3, 64, 1 << 16])
def test_truncated_compressed_json_texts_read_as_a_stream_are_those_read_whole(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    rng = random.Random(7 + chunk)
    broken = 0
    for i, text in enumerate(_variants(rng) * 2):
        packed = gzip.compress(text.encode("utf-8"), mtime=0)
        path = tmp_path / f"{i}.json.gz"
        path.write_bytes(packed[:rng.randrange(10, len(packed))] if len(packed) > 11 else packed)
        whole, streamed = _both(path)
        assert streamed == whole, (i, text)
        broken += streamed[0][-1][:2] == ("raised", "corrupt_compression")
    assert broken > 10


def test_truncated_at_every_point_an_array_keeps_the_elements_before_the_break(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonstream, "CHUNK", 5)
    text = _dump([{"id": f"a{i}", "text": "café 😀 " * i} for i in range(30)], indent=1)
    packed = gzip.compress(text.encode("utf-8"), mtime=0)
    kept = set()
    for cut in range(20, len(packed), 7):
        path = tmp_path / f"{cut}.json.gz"
        path.write_bytes(packed[:cut])
        whole, streamed = _both(path)
        assert streamed == whole, cut
        kept.add(len(streamed[0]))
    assert len(kept) > 5   # elements kept before breaks at many places


def test_a_file_in_another_encoding_reads_as_from_its_whole_text(tmp_path):
    text = _dump([{"id": "1", "text": "déjà vu, naïve café"}] * 3)
    for name, data in [("utf16.json", text.encode("utf-16")), ("latin.json", text.encode("cp1252"))]:
        path = tmp_path / name
        path.write_bytes(data)
        assert text_plan(Source(path), cut="ascii").codec != "utf-8"
        assert _outcome(read_json(Source(path))) == _outcome(_read_json_whole(Source(path)))
    assert [raw["text"] for _, raw in read_json(Source(tmp_path / "utf16.json"))] == ["déjà vu, naïve café"] * 3


class _Counting:
    """A byte stream that counts what was read from it."""

    def __init__(self, stream):
        self._stream, self.read_bytes = stream, 0

    def read(self, size=-1):
        data = self._stream.read(size)
        self.read_bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stream.close()


def opened_streams(monkeypatch, module) -> list[_Counting]:
    """The streams ``module`` opens from now on (its ``open_stream``), each counting the bytes read from it."""
    opened: list[_Counting] = []
    real = module.open_stream

    def counting(source, **kw):
        opened.append(_Counting(real(source, **kw)))
        return opened[-1]

    monkeypatch.setattr(module, "open_stream", counting)
    return opened


def test_the_first_record_of_a_large_array_comes_before_the_file_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text(_dump([{"id": f"a{i}", "text": "word " * 400} for i in range(5000)]), encoding="utf-8")
    size = path.stat().st_size
    opened = opened_streams(monkeypatch, jsonstream)
    reading = read_file(Source(path))
    number, first = next(reading)
    assert (number, first["id"]) == (1, "a0")
    assert opened[-1].read_bytes < size / 4, (opened[-1].read_bytes, size)
    assert sum(1 for _ in reading) == 4999
    assert opened[-1].read_bytes == size


@pytest.mark.parametrize("chunk", [3, 1 << 16])
def test_an_element_over_the_limit_is_its_reject_and_the_elements_after_it_are_read(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    big = {"id": "big", "text": 'long "quoted" \\ text ]} ' * 200, "nested": [[{"a": "]]"}]]}
    small = [{"id": f"s{i}", "text": "short"} for i in range(3)]
    path = tmp_path / "array.json"
    path.write_text(_dump([small[0], big, small[1], "x" * 3000, 12, small[2]], indent=2), encoding="utf-8")
    out = _outcome(read_file(Source(path, Limits(max_record_bytes=1024))))
    assert [n for n, _ in out] == [1, 2, 3, 4, 5, 6]
    assert out[1][1][0] == out[3][1][0] == "record_too_large"
    assert "element 2 is longer than max_record_bytes=1,024" in out[1][1][1]
    assert [out[0][1], out[2][1], out[4][1], out[5][1]] == [small[0], small[1], 12, small[2]]


def test_an_object_or_a_line_over_the_limit_is_its_reject(tmp_path):
    big = {"id": "big", "text": "x" * 3000}
    path = tmp_path / "sequence.json"
    path.write_text("\n".join(_dump(o, indent=1) for o in [{"id": "1"}, big, {"id": "3"}]), encoding="utf-8")
    out = _outcome(read_file(Source(path, Limits(max_record_bytes=1024))))
    assert [n for n, _ in out] == [1, 2, 3] and out[1][1][0] == "record_too_large" and out[2][1] == {"id": "3"}
    path = tmp_path / "lines.json"
    path.write_text("\n".join(_dump(o) for o in [{"id": "1"}, big, {"id": "3"}, {"id": "4"}]), encoding="utf-8")
    out = _outcome(read_file(Source(path, Limits(max_record_bytes=1024))))
    assert out[1] == (2, ("record_too_large", "line is longer than max_record_bytes=1,024; skipped unread"))
    assert [out[0][1], out[2][1], out[3][1]] == [{"id": "1"}, {"id": "3"}, {"id": "4"}]


def test_an_element_over_the_limit_that_never_ends_rejects_the_rest(tmp_path):
    path = tmp_path / "open.json"
    path.write_text('[{"id": "1"}, {"text": "' + "x" * 3000, encoding="utf-8")
    out = _outcome(read_file(Source(path, Limits(max_record_bytes=1024))))
    assert out[0] == (1, {"id": "1"})
    assert out[1][:2] == ("raised", "malformed_json") and "the elements from 2 on are not read" in out[1][2]


def test_an_element_json_cannot_hold_is_its_reject_where_the_whole_file_was_rejected(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('[{"id": "1"}, {"n": ' + "9" * 5000 + '}, {"id": "3"}]', encoding="utf-8")
    whole = _outcome(_read_json_whole(Source(path)))
    assert whole == [("raised", "malformed_json", "unreadable JSON: ValueError")]
    out = _outcome(read_file(Source(path)))
    assert out == [(1, {"id": "1"}), (2, ("malformed_json", "unreadable JSON in element 2: ValueError")),
                   (3, {"id": "3"})]


def test_a_file_that_changes_between_its_two_readings_is_rejected_not_read_short(tmp_path):
    path = tmp_path / "growing.json"
    path.write_text(_dump([{"id": str(i)} for i in range(1000)]), encoding="utf-8")
    source = Source(path)
    plan = text_plan(source, cut="ascii")
    path.write_text(_dump([{"id": str(i)} for i in range(500)]), encoding="utf-8")
    out = _outcome(read_json_stream(source, plan))
    assert out == [("raised", "unreadable_file", out[0][2])] and "changed while it was read" in out[0][2]


def test_a_file_changed_in_place_while_read_is_the_changed_reject(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonstream, "CHUNK", 64)
    monkeypatch.setattr(jsonstream, "DETECT_CHARS", 64)
    path = tmp_path / "inplace.json"
    data = _dump([{"id": str(i)} for i in range(5000)]).encode("utf-8")
    path.write_bytes(data)
    source = Source(path)
    reading = read_json_stream(source, text_plan(source, cut="ascii"))
    out = [next(reading)]
    with open(path, "r+b") as file:   # the same size: only the bytes tell
        file.seek(len(data) - 100)
        file.write(b"\xff" * 99 + b"]")
    out += _outcome(reading)
    assert out[-1][:2] == ("raised", "unreadable_file") and "the elements from" in out[-1][2]


def test_a_same_size_rewrite_found_at_the_end_says_the_records_were_read_from_a_changing_file(tmp_path):
    import os

    path = tmp_path / "same.json"
    path.write_text(_dump([{"id": str(i)} for i in range(200)]), encoding="utf-8")
    source = Source(path)
    plan = text_plan(source, cut="ascii")
    stat = path.stat()
    path.write_text(_dump([{"di": str(i)} for i in range(200)]), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    out = _outcome(read_json_stream(source, plan))
    assert len(out) == 201 and out[-1][:2] == ("raised", "unreadable_file")
    assert "its elements were read as it then was" in out[-1][2]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 16])
def test_bare_numbers_cut_by_the_window_are_read_whole(tmp_path, monkeypatch, chunk):
    """A chunk ending after a number's "." or "e" ("1e", "-0.5e-") must not end the number: raw_decode reads
    "1e" as 1 and stops before the "e" (found by the session 35 diff review: [1e5, ...] read as 1 or cut short)."""
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    monkeypatch.setattr(jsonstream, "DETECT_CHARS", 40)
    numbers = ["1e5", "1.25", "-0.5e-3", "12E+2", "0", "-7", "3.0e10", "true", "null", '"x"']
    for pad in range(3):
        text = " " * pad + "[" + ", ".join(numbers * 40) + "]"
        whole, streamed = _both(_write(tmp_path, pad, text, bom=False))
        assert streamed == whole
        assert [n for n, _ in streamed[0]] == list(range(1, 401))
    for top in ("1e5", "-0.5e-3 ", "7"):   # a number as the whole document
        whole, streamed = _both(_write(tmp_path, 9, top, bom=False))
        assert streamed == whole


def test_a_second_byte_order_mark_is_refused_as_json_loads_refuses_it(tmp_path):
    path = _write(tmp_path, 0, BOM + '[{"id": "1"}]', bom=True)
    whole, streamed = _both(path)
    assert streamed == whole and "Unexpected UTF-8 BOM" in streamed[0][-1][2]


def test_white_space_json_does_not_take_longer_than_the_window_before_an_array(tmp_path, monkeypatch):
    """U+00A0 then more white space than the window holds, then an array: read as the whole-file reader reads it
    (the elements, then the reject of the text), not rejected whole."""
    monkeypatch.setattr(jsonstream, "CHUNK", 7)
    monkeypatch.setattr(jsonstream, "DETECT_CHARS", 40)
    path = _write(tmp_path, 0, "\u00a0" + " " * 500 + '[{"id": "1"}, {"id": "2"}]', bom=False)
    whole, streamed = _both(path)
    assert streamed == whole and [n for n, *_ in streamed[0]] == [1, 2, "raised"]
