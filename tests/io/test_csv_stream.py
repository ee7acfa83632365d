"""A UTF-8 CSV file is read as a stream (dedup.io.csvstream): the same records and rejects, numbered by the same
lines, as from its whole text, with memory bounded by a record, not by the file. Other encodings too, in the codec
the first reading decides (tests/io/test_codec_stream.py)."""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

from dedup.io.csvrules import DELIMITERS
from dedup.io.csvstream import read_csv_stream
from dedup.io.readers import _read_csv_whole, read_file
from dedup.io.records import Reject
from dedup.io.streams import FileRejected, Limits, Source
from dedup.io.textplan import text_plan

LIMIT = 150   # max_record_bytes, in characters for a field as the csv module counts them
WORDS = ["river", "café", "中文", "naïve", "😀x", "storm", "Zürich", "a", "", " ", "ɸ"]
BREAKS = ["\n", "\r\n", "\r"]


def _outcome(items) -> list:
    """The items a reader yields, then the reject it raises (if any), comparable."""
    out = []
    try:
        for number, raw in items:
            out.append((number, (raw.reason, raw.message) if isinstance(raw, Reject) else raw))
    except FileRejected as exc:
        out.append(("raised", exc.reason, exc.message))
    return out


def _both(path, chunk: int, limit: int = LIMIT) -> tuple[list, list]:
    whole = _outcome(_read_csv_whole(Source(path, Limits(max_record_bytes=limit))))
    source = Source(path, Limits(max_record_bytes=limit))
    try:
        plan = text_plan(source)
    except FileRejected as exc:
        return whole, [("raised", exc.reason, exc.message)]
    assert plan is not None and (plan.codec, plan.warnings) == ("utf-8", ()), path.read_bytes()[:200]
    return whole, _outcome(read_csv_stream(source, plan, chunk))


def _field(rng: random.Random, delimiter: str) -> str:
    kind = rng.random()
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 3))]
    if kind < 0.45:
        return " ".join(words)
    if kind < 0.75:   # quoted: the separator, doubled quotes and line breaks of every kind inside
        inner = rng.choice(["", delimiter, '""', *BREAKS]).join(words)
        return f'"{inner}"'
    if kind < 0.8:
        return f'"{" ".join(words)}"x'          # text after the closing quote (lenient parser: one field)
    if kind < 0.85:
        return f'a"b{" ".join(words)}'          # a quote inside an unquoted field
    if kind < 0.9:
        return f'"{" ".join(words)}'            # a quote never closed
    if kind < 0.95:   # over the limit, on one line or across lines
        long = "é" * (LIMIT + rng.randint(-2, 5))
        return f'"{long[:10]}{rng.choice(BREAKS)}{long}"' if rng.random() < 0.5 else long
    return "😀" * rng.randint(LIMIT - 1, LIMIT + 1)


def _csv_text(rng: random.Random) -> str:
    delimiter = rng.choice(DELIMITERS)
    columns = rng.randint(1, 4)
    text = delimiter.join(f"col{i}" for i in range(columns)) + rng.choice(BREAKS)
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.15:
            text += rng.choice(BREAKS) * rng.randint(1, 3)   # blank lines
        n = columns + (rng.random() < 0.15) - (rng.random() < 0.1)
        text += delimiter.join(_field(rng, delimiter) for _ in range(max(n, 1))) + rng.choice(BREAKS)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")          # no break after the last line
    elif rng.random() < 0.2:
        text += rng.choice(BREAKS) * 2      # blank lines at the end
    if rng.random() < 0.1:
        text = f"sep={delimiter}{rng.choice(BREAKS)}" + text   # Excel's separator line
    if rng.random() < 0.1:
        text = rng.choice(BREAKS) * rng.randint(1, 3) + text   # blank lines before the header
    return ("\ufeff" if rng.random() < 0.15 else "") + text


def _same(streamed: list, whole: list) -> bool:
    """Whether the stream read what the whole text gives, but for the rows it rejects as a line longer than the
    limit (:func:`test_a_row_longer_than_the_limit_made_of_short_fields_is_rejected`): True if there are some."""
    assert len(streamed) == len(whole)
    long_lines = False
    for got, want in zip(streamed, whole):
        if len(got) == 2 and isinstance(got[1], tuple) and got[1][1].startswith("the row on line"):
            assert got[0] == want[0] and isinstance(want[1], dict)   # a row kept from the whole text
            long_lines = True
        else:
            assert got == want
    return long_lines


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_generated_csv_texts_read_as_a_stream_are_those_read_whole(tmp_path, chunk):
    rng = random.Random(chunk)
    compared, seen = 0, set()
    for i in range(120):
        text = _csv_text(rng)
        path = tmp_path / f"{i}.csv"
        path.write_bytes(text.encode("utf-8"))
        whole, streamed = _both(path, chunk)
        compared += not _same(streamed, whole)
        seen.update(item[1][1].split(" ")[0] if isinstance(item[1], tuple) else type(item[1]).__name__
                    for item in whole if len(item) == 2)
    assert compared > 60   # most without the one difference
    # records, too many fields, an unclosed quote, a field over the limit
    assert {"dict", "row", "malformed", "a"} <= seen, seen


@pytest.mark.parametrize("chunk", [3, 64, 1 << 16])
def test_truncated_compressed_csv_texts_read_as_a_stream_are_those_read_whole(tmp_path, chunk):
    rng = random.Random(7 + chunk)
    broken = 0
    for i in range(40):
        text = "\n".join(_csv_text(rng) for _ in range(3))
        packed = gzip.compress(text.encode("utf-8"), mtime=0)
        path = tmp_path / f"{i}.csv.gz"
        path.write_bytes(packed[: rng.randint(len(packed) // 3, len(packed) - 9)])   # cut before its trailer
        whole, streamed = _both(path, chunk)
        _same(streamed, whole)
        broken += streamed[-1][:2] == ("raised", "corrupt_compression")
    assert broken > 30


def test_a_header_naming_a_column_twice_an_empty_file_and_a_header_alone(tmp_path):
    expected = {"twice.csv": "malformed_csv", "empty.csv": "empty_file", "bom.csv": "empty_file", "header.csv": None}
    for name, data in [("twice.csv", b"id,text,id\n1,a,2\n"), ("empty.csv", b" \r\n\n"), ("bom.csv", b"\xef\xbb\xbf\n"),
                       ("header.csv", b"id,text\r\n")]:
        (tmp_path / name).write_bytes(data)
        whole, streamed = _both(tmp_path / name, 2)
        assert streamed == whole, name
        assert (whole[0][:2] if whole else None) == (("raised", expected[name]) if expected[name] else None), name


@pytest.mark.parametrize("line_break", ["", "\r\n"], ids=["one-line", "many-lines"])
def test_a_field_over_the_limit_is_not_held_whole(tmp_path, line_break):
    """A 12 MB field, on one line or on 500,000, with 256 KiB as max_record_bytes: read through a buffer at a
    time (one record_too_large reject for its row, as from the whole text), the rows after it read."""
    path = tmp_path / "long.csv"
    with open(path, "w", newline="") as fh:
        fh.write('id,text\n1,short\n2,"' + f'é, ""quoted"" fields{line_break}' * 500_000 + '"\n3,after\n')
    source = Source(path, Limits(max_record_bytes=1 << 18))
    tracemalloc.start()
    try:
        got = _outcome(read_file(source))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    end = 3 + (500_000 if line_break else 0)
    lines = f"lines 3-{end}" if line_break else "line 3"
    message = f"a field of the row on {lines} is longer than max_record_bytes={1 << 18:,}; not read"
    assert got == [(2, {"id": "1", "text": "short"}), (3, ("record_too_large", message)),
                   (end + 1, {"id": "3", "text": "after"})]
    assert peak < path.stat().st_size / 3, peak    # read whole: its bytes, then its text (2 bytes a character)
    whole = _outcome(_read_csv_whole(Source(path, Limits(max_record_bytes=1 << 18))))
    assert whole == got


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_blank_lines_and_excels_separator_line_before_the_header_are_skipped(tmp_path, chunk):
    """A CMS that prints a line break before its export, Excel's ``sep=;``: the header is the next line, the
    separator the one it names, and the records are numbered by the file's lines, as in rejects."""
    cases = {"blank.csv": "\r\n\n\rid,text\r\n1,a\r\n\r\n2,b\r\n",
             "sep.csv": "\ufeff\nsep=;\r\n\r\nid;text\r\n1;a\r\n\r\n2;b\r\n",
             "tab.csv": "sep=\t\nid\ttext\n\n\n1\ta\n\n2\tb"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        whole, streamed = _both(tmp_path / name, chunk)
        assert streamed == whole == [(5, {"id": "1", "text": "a"}), (7, {"id": "2", "text": "b"})], name
    (tmp_path / "hint-alone.csv").write_text("\nsep=|\n\n")
    whole, streamed = _both(tmp_path / "hint-alone.csv", chunk)
    assert streamed == whole == [("raised", "empty_file", "CSV file has no header")]
    (tmp_path / "indent.csv").write_text(" \r\nid,text\r\n1,a\r\n")   # white space is a line, not a blank one
    whole, streamed = _both(tmp_path / "indent.csv", chunk)
    message = "the CSV header names no column (a row of empty cells or white space before it? remove it)"
    assert streamed == whole == [("raised", "malformed_csv", message)]


def test_a_row_with_fewer_fields_than_the_header_is_rejected(tmp_path):
    """A text's line break written unquoted cuts its row in two: both parts are rejects naming their line and
    counts, not records whose fields went to the wrong columns; so is a short row on a line over the limit,
    which the stream does not hold."""
    path = tmp_path / "short.csv"
    path.write_text("id,title,text,outlet,published\n1,Budget,First paragraph\nSecond paragraph,Daily A,"
                    "2026-11-27T10:00:00Z\n2,T,Text,Daily B,\n3," + "x" * 100 + "," + "y" * 100 + "\n", newline="")
    whole, streamed = _both(path, 8)
    message = "row has 3 fields, header has 5 (an unquoted line break in a field?)"
    assert streamed == whole == [(2, ("malformed_csv", message)), (3, ("malformed_csv", message)),
                                 (4, {"id": "2", "title": "T", "text": "Text", "outlet": "Daily B", "published": None}),
                                 (5, ("malformed_csv", message))]


def test_the_header_repeated_by_two_exports_joined_is_rejected(tmp_path):
    """``cat a.csv b.csv``: the second header (its byte-order mark too) is a reject that says so, not a record."""
    path = tmp_path / "joined.csv"
    part = b"\xef\xbb\xbfid,text\r\n1,a\r\n"
    path.write_bytes(part + part + b" id , text \r\n")
    whole, streamed = _both(path, 3)
    repeated = ("malformed_csv", "the header repeated (two exports joined?)")
    assert streamed == whole == [(2, {"id": "1", "text": "a"}), (3, repeated), (4, {"id": "1", "text": "a"}),
                                 (5, repeated)]


def test_a_row_longer_than_the_limit_made_of_short_fields_is_rejected(tmp_path):
    """The one difference from the whole text: a line longer than max_record_bytes is not held, so a row that was
    kept (each of its fields within the limit) is rejected; its other rejects are the same (the generated texts)."""
    path = tmp_path / "wide.csv"
    path.write_text("a,b,c\n1,2,3\n" + ",".join(["x" * 100] * 3) + "\n4,5,6\n", newline="")
    whole, streamed = _both(path, 8)
    assert whole[1] == (3, {"a": "x" * 100, "b": "x" * 100, "c": "x" * 100})
    message = f"the row on line 3 is longer than max_record_bytes={LIMIT}; not read"
    assert streamed == [whole[0], (3, ("record_too_large", message)), whole[2]]


def test_a_file_in_another_encoding_reads_as_from_its_whole_text(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes('id,text\n1,"Le café de la gare a rouvert à Genève, déjà plein."\n'.encode("cp1252"))
    source, whole = Source(path), Source(path)
    assert text_plan(Source(path)).codec != "utf-8"
    assert _outcome(read_file(source)) == _outcome(_read_csv_whole(whole))
    assert source.warnings == whole.warnings and sum(source.warnings.values()) == 1
    assert next(iter(source.warnings)).startswith("decoded_as_")
    utf16 = tmp_path / "wide.csv"
    utf16.write_bytes("id,text\n1,café\n".encode("utf-16"))
    assert text_plan(Source(utf16)).codec in ("utf-16-le", "utf-16-be")
    forced = Source(tmp_path / "latin.csv", encoding="latin-1")
    assert text_plan(forced).codec == "latin-1"


def test_valid_utf8_that_looks_binary_is_left_to_the_whole_reader(tmp_path):
    path = tmp_path / "ctl.csv"
    path.write_bytes(b"id,text\n" + b"1,\x01\x02\x03\x04\x05\x06\n" * 100)
    with pytest.raises(FileRejected) as raised:   # not taken as UTF-8: binary data, as the whole reader finds
        text_plan(Source(path), what="CSV file")   # (as read_csv names it)
    assert ("raised", raised.value.reason, raised.value.message) == _outcome(_read_csv_whole(Source(path)))[-1]
    assert raised.value.reason == "undecodable"
    plan = text_plan(Source(path, encoding="utf-8"))   # forced: no such check, as in decode()
    assert plan is not None and (plan.codec, plan.warnings) == ("utf-8", ())


_MEASURE = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from dedup.io.readers import read_file
    from dedup.io.streams import Source
    path = Path(sys.argv[1])
    list(read_file(Source(path.with_name("warm.csv"))))   # the imports and the csv module's first use
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = sum(1 for _ in read_file(Source(path)))
    print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
""")


def test_the_read_of_a_large_csv_file_grows_memory_by_far_less_than_the_file(tmp_path):
    rng = random.Random(3)
    rows = [f'a{i},Gazette,"{" ".join(rng.choices(WORDS[:7], k=120))}\r\nsecond line, ""quoted"""\n'
            for i in range(2000)]
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("id,outlet,text\n")
        fh.writelines("".join(rows) for _ in range(150))
    (tmp_path / "warm.csv").write_text("id,text\n1,a\n")
    size = path.stat().st_size
    assert size > 200 * 2**20
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True)
    records, grown_kib = map(int, out.stdout.split())
    assert records == 300_000
    assert grown_kib * 1024 < size / 10, (grown_kib, size)   # read whole: about 2.2 times the file


def test_a_file_that_changes_between_its_two_readings_is_rejected_not_read_short(tmp_path):
    """An export still being written: the rows the first reading checked are not silently cut to fewer."""
    path = tmp_path / "growing.csv"
    path.write_text("id,text\n" + "".join(f"{i},row number {i}\n" for i in range(1000)), encoding="utf-8")
    source = Source(path, Limits())
    plan = text_plan(source)
    path.write_text("id,text\n" + "".join(f"{i},row number {i}\n" for i in range(500)), encoding="utf-8")
    out = _outcome(read_csv_stream(source, plan))
    assert out[-1][:2] == ("raised", "unreadable_file") and "changed while it was read" in out[-1][2]
    assert len(out) == 1   # nothing read from the other file


def test_a_rejected_misnamed_compressed_csv_still_counts_its_misnaming(tmp_path):
    """The first reading's reject is the file's: its ``compression_misnamed`` stays counted, once."""
    path = tmp_path / "bomb.csv"   # gzip data under a plain name
    path.write_bytes(gzip.compress(b"id,text\n" + b"1," + b"a" * 20_000_000 + b"\n"))
    source = Source(path, Limits())
    with pytest.raises(FileRejected) as raised:
        text_plan(source)
    assert raised.value.reason == "decompression_bomb" and source.warnings == {"compression_misnamed": 1}


def test_a_header_over_the_field_limit_is_malformed_in_any_encoding(tmp_path):
    """Read whole (not UTF-8) the separator's guess met the field limit: an internal error before."""
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,caf\xe9" + b"x" * 2000 + b"\n1,2\n")
    source = Source(path, Limits(max_record_bytes=1024))
    assert text_plan(Source(path, Limits(max_record_bytes=1024))).codec != "utf-8"
    with pytest.raises(FileRejected, match="unreadable CSV header") as raised:
        list(_read_csv_whole(source))
    assert raised.value.reason == "malformed_csv"


def test_a_file_replaced_by_name_after_the_second_reading_opened_it_is_read_whole_without_a_reject(tmp_path):
    """An exporter's write-then-rename: the open file is the one checked, unchanged; its rows are all read."""
    path = tmp_path / "export.csv"
    old = "id,text\n" + "".join(f"{i},old row {i}\n" for i in range(100))
    path.write_text(old, encoding="utf-8")
    source = Source(path, Limits())
    reading = read_csv_stream(source, text_plan(source))
    first = next(reading)
    (tmp_path / "next.csv").write_text(old.replace("old", "new"), encoding="utf-8")
    (tmp_path / "next.csv").replace(path)
    out = _outcome([first, *reading])
    assert len(out) == 100 and all(raw["text"].startswith("old") for _, raw in out)


def test_a_file_changed_in_place_during_the_second_reading_is_the_changed_reject(tmp_path):
    """Bytes no longer UTF-8 where the first reading found UTF-8: the file changed, said so, with the line."""
    path = tmp_path / "inplace.csv"
    data = b"id,text\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(5000))
    path.write_bytes(data)
    source = Source(path, Limits())
    reading = read_csv_stream(source, text_plan(source), chunk=64)
    out = [next(reading)]
    with open(path, "r+b") as file:   # the same size: only the bytes tell
        file.seek(len(data) - 100)
        file.write(b"\xff" * 99 + b"\n")
    out += _outcome(reading)
    assert out[-1][:2] == ("raised", "unreadable_file") and "the rows from line" in out[-1][2]


def test_a_same_size_rewrite_that_keeps_the_files_times_is_found_by_its_bytes(tmp_path):
    """A rewrite in place within one timestamp tick (coarse clocks, kernels before 6.13) changes neither size
    nor modification time: the two readings' CRC-32 still tell."""
    import os

    path = tmp_path / "same.csv"
    path.write_text("id,text\n" + "".join(f"{i},row {i}\n" for i in range(200)), encoding="utf-8")
    source = Source(path, Limits())
    plan = text_plan(source)
    stat = path.stat()
    path.write_text("id,text\n" + "".join(f"{i},wor {i}\n" for i in range(200)), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    out = _outcome(read_csv_stream(source, plan))
    assert out[-1][:2] == ("raised", "unreadable_file") and "rows to line 201 were read as it then" in out[-1][2]
