"""Inputs built to break the readers (found by a robustness review): each one is read or rejected
with a reason, the counts add up, and the rest of the night goes on."""

import codecs
import gzip
import json
import os
import zlib

import polars as pl
import pytest

from dedup import run
from dedup.config import Config, ReadConfig
from dedup.errors import InputError
from dedup.io import read_inputs, records
from dedup.io.records import RecordMapper
from tests.conftest import make_story, write_jsonl, zstd


def _recs(prefix, n=3):
    return [{"id": f"{prefix}{i}", "outlet": "Gazette", "text": " ".join(make_story(i, 4))} for i in range(n)]


def _accounted(res):
    assert res.records == res.articles.height + res.rejects.height, (res.records, res.rejects.to_dicts())


def test_lone_surrogates_are_replaced_and_a_failed_batch_spoils_nothing_after(tmp_path, monkeypatch):
    # A tweet cut mid-emoji: JSON may escape half a surrogate pair, which no UTF-8 or Arrow string holds.
    write_jsonl(tmp_path / "a.jsonl", _recs("a") + [
        '{"id": "s1\\ud83d", "outlet": "Out\\udc00let", "title": "T \\ud83d", "text": "a tweet cut mid-emoji \\ud83d"}'])
    write_jsonl(tmp_path / "b.jsonl", _recs("b"))
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.rejects.height == 0 and res.articles.height == 7
    cut = res.articles.filter(pl.col("article_id").str.starts_with("s1")).row(0, named=True)
    assert (cut["article_id"], cut["outlet"], cut["title"], cut["text"]) == (
        "s1\ufffd", "Out\ufffdlet", "T \ufffd", "a tweet cut mid-emoji \ufffd")
    assert res.warnings["lone_surrogate_replaced"] == 1
    # Should a value Arrow cannot hold get past the mapper all the same, its batch is converted row by
    # row: that record is one reject, its neighbours and the later files are kept.
    monkeypatch.setattr(records, "repair_surrogates", lambda value: value)
    res = read_inputs([tmp_path])
    _accounted(res)
    assert [(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [
        ("a.jsonl", 4, "reader_error")]
    assert sorted(res.articles["article_id"]) == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_out_of_range_dates_are_bad_dates_and_a_mapper_bug_rejects_one_record(tmp_path, monkeypatch):
    recs = _recs("a", 4)
    recs[1]["published"] = "0001-01-01T00:00:00+01:00"      # before year 1 in UTC
    recs[2]["published"] = "9999-12-31T23:00:00-05:00"      # after 9999 in UTC
    write_jsonl(tmp_path / "a.jsonl", recs)
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.rejects.height == 0 and res.articles.height == 4
    assert res.articles["published"].null_count() == 4 and res.warnings["bad_date"] == 2
    # Any exception of the mapper: one reject of that record, counted once, and the file goes on.
    mapper = RecordMapper.map

    def buggy(self, raw, file, record):
        if record == 2:
            raise OverflowError("boom")
        return mapper(self, raw, file, record)

    monkeypatch.setattr(RecordMapper, "map", buggy)
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.records == 4 and sorted(res.articles["article_id"]) == ["a0", "a2", "a3"]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(2, "reader_error")]
    assert "OverflowError: boom" in res.rejects["message"][0]


def test_file_names_that_are_not_utf8_are_read_and_written_escaped(tmp_path):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9.jsonl"), "w") as fh:          # a Latin-1 name
        fh.write("".join(json.dumps(r) + "\n" for r in _recs("a", 2)) + "{broken\n")
    with open(os.path.join(folder, b"not\xff.docx"), "w") as fh:
        fh.write("ignored")
    result = run([tmp_path], tmp_path / "out")
    name = str(tmp_path / "caf\\xe9.jsonl")
    assert set(result.articles["source_file"]) == {name}
    assert [(r["file"], r["reason"]) for r in result.rejects.to_dicts()] == [(name, "malformed_json")]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["inputs"]["skipped_files"] == [str(tmp_path / "not\\xff.docx")]
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [r["file"] for r in rejected] == [name]


def test_utf16_and_utf32_json_lines_with_a_bom_are_decoded_whole(tmp_path):
    def lines(prefix):
        rows = _recs(prefix, 3)
        rows[1]["text"] += " \u2028 caf\u00e9 \U0001f600"          # non-ASCII, and a character outside the BMP
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    (tmp_path / "a.jsonl").write_bytes(codecs.BOM_UTF16_LE + lines("le").encode("utf-16-le"))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(codecs.BOM_UTF16_BE + lines("be").encode("utf-16-be")))
    (tmp_path / "c.ndjson").write_bytes(codecs.BOM_UTF32_LE + lines("w").encode("utf-32-le"))
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.rejects.height == 0 and res.records == 9
    assert sorted(res.articles["article_id"]) == ["be0", "be1", "be2", "le0", "le1", "le2", "w0", "w1", "w2"]
    assert res.articles.filter(pl.col("article_id") == "le1")["text"][0].endswith(" \u2028 caf\u00e9 \U0001f600")
    assert res.warnings["decoded_as_utf-16-le"] == res.warnings["decoded_as_utf-16-be"] == 1
    assert res.warnings["decoded_as_utf-32-le"] == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32-le", "cp037"])
def test_a_forced_encoding_whose_newline_is_not_the_byte_newline_is_decoded_whole(tmp_path, encoding):
    rows = _recs("r", 3)
    rows[1]["text"] += " caf\u00e9"
    (tmp_path / "a.jsonl").write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(encoding))
    res = read_inputs([tmp_path], config=ReadConfig(encoding=encoding))
    _accounted(res)
    assert res.rejects.height == 0 and res.records == 3
    assert res.articles.sort("article_id")["text"].to_list() == [r["text"] for r in rows]
    assert not res.warnings


def test_output_folders_inside_the_input_are_not_read_back(tmp_path):
    story = make_story(7, 10)
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": f"a{i}", "outlet": f"O{i}", "text": " ".join(story)}
                                              for i in range(3)])
    run([tmp_path / "in"], tmp_path / "elsewhere")
    (tmp_path / "elsewhere").rename(tmp_path / "in" / "last-night")     # an earlier night's outputs, moved in
    for _ in range(2):                                                   # `dedup cluster in --out in/out`, twice
        run([tmp_path / "in"], tmp_path / "in" / "out")
        summary = json.loads((tmp_path / "in" / "out" / "summary.json").read_text())
        assert summary["articles"]["read"] == summary["articles"]["clustered"] == 3
    assert summary["inputs"]["skipped_files"] == [f"{tmp_path / 'in' / 'last-night'}/ (the output of a dedup run)",
                                                  f"{tmp_path / 'in' / 'out'}/ (the output folder of this run)"]


def test_outputs_beside_an_input_file_and_a_state_inside_the_input_are_not_read_back(tmp_path):
    story = make_story(7, 10)
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": f"a{i}", "outlet": f"O{i}", "text": " ".join(story),
                                               "published": "2026-11-27T08:00:00Z"} for i in range(3)])
    run([tmp_path / "in" / "a.jsonl"], tmp_path / "in", config=Config().replace(output={"formats": ("parquet", "csv")}))
    run([tmp_path / "in"], tmp_path / "in" / "state-night", state_dir=tmp_path / "in" / "state", night="2026-11-27")
    summary = run([tmp_path / "in"], tmp_path / "out", state_dir=tmp_path / "in" / "state", night="2026-11-28").summary
    assert summary["articles"]["read"] == 3 and summary["articles"]["rejected"] == 0
    skipped = [entry.removeprefix(f"{tmp_path / 'in'}/") for entry in summary["inputs"]["skipped_files"]]
    assert "state/ (a dedup state)" in skipped and "state-night/ (the output of a dedup run)" in skipped
    assert {"clusters.parquet (the output of a dedup run)", "clusters.csv (the output of a dedup run)",
            "summary.json (the output of a dedup run)", "rejected.jsonl (the output of a dedup run)"} <= set(skipped)
    with pytest.raises(InputError, match="is a dedup state folder"):
        run([tmp_path / "in" / "state"], tmp_path / "x")


def test_unreadable_folders_broken_links_and_pipes_are_reported(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "a.jsonl", _recs("a", 2))
    write_jsonl(tmp_path / "locked" / "b.jsonl", _recs("b", 2))
    (tmp_path / "broken.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    os.mkfifo(tmp_path / "pipe.jsonl")           # must not be opened: reading it would wait forever
    os.mkfifo(tmp_path / "pipe")
    locked, scandir = tmp_path / "locked", os.scandir

    def denied(path="."):       # chmod 000 does not stop root, so the test denies the listing itself
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == ["a0", "a1"]
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]): r["message"] for r in res.rejects.to_dicts()}
    assert sorted(got) == [("broken.jsonl", None, "unreadable_file"), ("locked", None, "unreadable_file"),
                           ("pipe.jsonl", None, "unreadable_file")]
    assert "Permission denied" in got[("locked", None, "unreadable_file")]
    assert "named pipe" in got[("pipe.jsonl", None, "unreadable_file")]
    assert res.skipped_files == [str(tmp_path / "pipe")]


def test_csv_unterminated_quotes_and_duplicate_columns_are_rejected(tmp_path):
    (tmp_path / "a.csv").write_text('id,text\na1,"Unterminated quote: the rest of the file\na2,Swallowed row\n'
                                    'a3,Swallowed row too\n')
    (tmp_path / "b.csv").write_text('id,text\nb1,"Never closed\nb2,"Its quote closes the one above"\nb3,Kept\n')
    (tmp_path / "c.csv").write_text('id,text,text,outlet\nc1,The first text column,,A\n')
    (tmp_path / "d.csv").write_text('id,text,,\nd1,"A quoted field\nover two lines",,\n')   # well formed
    res = read_inputs([tmp_path])
    _accounted(res)
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]): r["message"] for r in res.rejects.to_dicts()}
    assert sorted(got) == [("a.csv", 2, "malformed_csv"), ("b.csv", 2, "malformed_csv"), ("c.csv", None, "malformed_csv")]
    assert "lines 2-4" in got[("a.csv", 2, "malformed_csv")] and "lines 2-3" in got[("b.csv", 2, "malformed_csv")]
    assert "'text' (columns 2, 3)" in got[("c.csv", None, "malformed_csv")]
    assert sorted(res.articles["article_id"]) == ["b3", "d1"]


def test_csv_desk_export_shapes_a_leading_blank_line_a_separator_line_short_rows_and_a_repeated_header(tmp_path):
    """A CMS's line break before the header and Excel's ``sep=;`` lose no article; a row an unquoted line break cut
    in two and the header of a second export joined on are rejects naming their lines, not mis-mapped articles."""
    (tmp_path / "a.csv").write_text("\r\nid,outlet,text\r\na1,Gazette,Kept\r\n", newline="")
    (tmp_path / "b.csv").write_text("sep=;\nid;outlet;text\nb1;Gazette;Kept, with a comma\n")
    (tmp_path / "c.csv").write_text("id,text,outlet\nc1,First paragraph\nSecond paragraph,Gazette\nid,text,outlet\n")
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(zip(res.articles["article_id"], res.articles["source_record"], res.articles["text"])) == [
        ("a1", 3, "Kept"), ("b1", 3, "Kept, with a comma")]
    got = sorted((r["file"].rsplit("/", 1)[1], r["record"], r["message"]) for r in res.rejects.to_dicts())
    short = "row has 2 fields, header has 3 (an unquoted line break in a field?)"
    assert got == [("c.csv", 2, short), ("c.csv", 3, short), ("c.csv", 4, "the header repeated (two exports joined?)")]
    assert set(res.rejects["reason"]) == {"malformed_csv"}


def test_csv_last_row_with_an_open_quote_is_rejected(tmp_path):
    # The lenient parser reads an open quote on the last line as a field that ends with the file.
    (tmp_path / "a.csv").write_text('id,text\na1,Kept\na2,"Never closed, at the end of the file\n')
    (tmp_path / "b.csv").write_text('id,text\nb1,Kept\nb2,"Never closed and no newline')
    (tmp_path / "c.csv").write_text('id,text\nc1,"Stray ""text"" after" a quote\nc2,"A stray quote" at the end\n')
    res = read_inputs([tmp_path])
    _accounted(res)
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]): r["message"] for r in res.rejects.to_dicts()}
    assert sorted(got) == [("a.csv", 3, "malformed_csv"), ("b.csv", 3, "malformed_csv")]
    assert "row on line 3 is not closed" in got[("a.csv", 3, "malformed_csv")]
    # a stray character after a closing quote is read leniently, on the last line as on the others
    assert sorted(res.articles["article_id"]) == ["a1", "b1", "c1", "c2"]


def _csv_rows(n: int, multiline: bool = False) -> bytes:
    body = ("line one of {i}\nline two of {i}" if multiline else "text of article {i}")
    return ("id,outlet,text\n" + "".join(f'a{i},Gazette,"{body.format(i=i)}"\n' for i in range(n))).encode()


def _read_cut(tmp_path, name: str, data: bytes, n: int, keep: float = 0.5) -> tuple[list[str], dict]:
    """Read ``data`` gzipped and cut after ``keep`` of its compressed bytes: the ids kept (asserted to be a
    prefix of the ``n`` records a0, a1...) and the one reject, that of the rest."""
    packed = gzip.compress(data)
    (tmp_path / name).write_bytes(packed[: int(len(packed) * keep)])
    res = read_inputs([tmp_path])
    _accounted(res)
    kept = res.articles["article_id"].to_list()
    assert 0 < len(kept) < n and sorted(kept) == sorted(f"a{i}" for i in range(len(kept)))   # a prefix
    [reject] = res.rejects.to_dicts()
    return kept, reject


@pytest.mark.parametrize("multiline", [False, True], ids=["one-line", "two-line"])
def test_truncated_compressed_csv_keeps_the_rows_before_the_break(tmp_path, multiline):
    kept, reject = _read_cut(tmp_path, "cut.csv.gz", _csv_rows(3000, multiline), 3000, keep=2 / 3)
    # one reject for the row the break cuts and the rest (not a malformed row), naming where it starts
    assert (reject["record"], reject["reason"]) == (None, "corrupt_compression")
    lines_per_row = 2 if multiline else 1
    assert f"the rows from line {2 + len(kept) * lines_per_row} on are not read" in reject["message"]


def _json_array(n: int, indent: int | None) -> bytes:
    rows = [{"id": f"a{i}", "outlet": "Gazette", "text": f"Le café n° {i} a rouvert à Genève. " * 3} for i in range(n)]
    return json.dumps(rows, ensure_ascii=False, indent=indent).encode()


@pytest.mark.parametrize("indent", [None, 1], ids=["compact", "pretty"])
@pytest.mark.parametrize("cut", [0.3, 0.5, 0.8])
def test_truncated_compressed_json_array_keeps_the_elements_before_the_break(tmp_path, indent, cut):
    data = gzip.compress(_json_array(2000, indent))
    (tmp_path / "cut.json.gz").write_bytes(data[: int(len(data) * cut)])
    res = read_inputs([tmp_path])
    _accounted(res)
    kept = res.articles["article_id"].to_list()
    assert 0 < len(kept) < 2000 and sorted(kept) == sorted(f"a{i}" for i in range(len(kept)))   # a prefix
    assert res.articles["text"].str.contains("café n° ").all() and res.warnings == {}   # nothing mis-decoded
    # one reject for the element the break cuts and the rest, naming where it starts
    [reject] = res.rejects.to_dicts()
    assert (reject["record"], reject["reason"]) == (None, "corrupt_compression")
    assert reject["message"].endswith(f"; the elements from {len(kept) + 1} on are not read")


def test_a_break_inside_a_character_spoils_no_element_before_it(tmp_path):
    raw = _json_array(50, None)
    cut = raw.index("à Genève".encode(), len(raw) // 2) + 1   # inside the two bytes of "à"
    packer = zlib.compressobj(wbits=31)                      # gzip, flushed there: the data breaks right after
    (tmp_path / "cut.json.gz").write_bytes(packer.compress(raw[:cut]) + packer.flush(zlib.Z_SYNC_FLUSH))
    res = read_inputs([tmp_path])
    _accounted(res)
    assert 0 < res.articles.height < 50 and res.warnings == {}
    assert res.articles["text"].str.contains("à Genève").all()
    assert res.rejects["reason"].to_list() == ["corrupt_compression"]


def test_a_malformed_json_element_keeps_the_elements_before_it(tmp_path):
    good = json.dumps(_recs("a", 6), indent=1)
    (tmp_path / "a.json").write_text(good.replace('"a3",', '"a3" "stray",'))
    (tmp_path / "b.json").write_text(json.dumps(_recs("b", 2)) + "\n]")              # junk after the array
    (tmp_path / "c.json").write_text(json.dumps(_recs("c", 3)).replace('"c0"', "c0"))  # in the first element
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == ["a0", "a1", "a2", "b0", "b1"]
    got = {r["file"].rsplit("/", 1)[1]: (r["record"], r["reason"], r["message"]) for r in res.rejects.to_dicts()}
    assert got["a.json"][:2] == (None, "malformed_json")
    assert got["a.json"][2].endswith("; the elements from 4 on are not read")
    assert got["b.json"][:2] == (None, "malformed_json") and got["b.json"][2].endswith("after the array's 2 elements")
    assert got["c.json"] == (None, "malformed_json", "malformed JSON: Expecting value at line 1 column 9")


def test_json_objects_one_after_the_other_or_lines_with_a_bad_first_line_are_read(tmp_path):
    # pretty-printed objects one after the other (not an array): each is a record, in turn, up to a
    # malformed one; JSON Lines saved as .json whose first line is malformed: that line is its reject
    (tmp_path / "a.json").write_text("\n".join(json.dumps(r, indent=2) for r in _recs("a", 4)))
    (tmp_path / "b.json").write_text("\n".join(json.dumps(r, indent=2) for r in _recs("b", 4)).replace('"b2"', "b2"))
    (tmp_path / "c.json").write_text("{broken\n" + "".join(json.dumps(r) + "\n" for r in _recs("c", 3)))
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == ["a0", "a1", "a2", "a3", "b0", "b1", "c0", "c1", "c2"]
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]): r["message"] for r in res.rejects.to_dicts()}
    assert sorted(got) == [("b.json", None, "malformed_json"), ("c.json", 1, "malformed_json")]
    assert got[("b.json", None, "malformed_json")].endswith("; the objects from 3 on are not read")
    assert res.articles.filter(pl.col("article_id") == "a2")["source_record"].item() == 3


def test_json_lines_saved_as_json_lose_only_their_bad_lines(tmp_path):
    # Most lines an object each is JSON Lines: a log line, a line cut at its start, a string that held a newline,
    # an array line or a garbage first line is its own reject; before, the file was read as objects one after
    # the other, up to that line, and the rest was one reject (the whole file when it was the first line)
    def lines(prefix):
        return [json.dumps(r) for r in _recs(prefix, 6)]

    (tmp_path / "a.json").write_text("\n".join(lines("a")[:2] + ["WARN exporter: retrying batch 2"] + lines("a")[2:]))
    (tmp_path / "b.json").write_text("\n".join(lines("b")[:3] + [lines("b")[3][20:]] + lines("b")[4:]))
    (tmp_path / "c.json").write_text("\n".join(['{"id": "n", "text": "one', 'two"}'] + lines("c")))
    (tmp_path / "d.json").write_text("\n".join(['[{"id": "x", "text": "in an array"}]'] + lines("d")))
    (tmp_path / "e.json").write_text("\n".join(["#!export v2"] + lines("e")))
    # an array with an element per line (each but the last ends with a comma) is still read as an array
    (tmp_path / "f.json").write_text("[\n" + ",\n".join(lines("f")[:2] + ["{oops}"] + lines("f")[3:]) + "\n]")
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == sorted(
        [f"{p}{i}" for p in "acde" for i in range(6)] + ["b0", "b1", "b2", "b4", "b5", "f0", "f1"])
    assert sorted((r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in res.rejects.to_dicts()) == [
        ("a.json", 3, "malformed_json"), ("b.json", 4, "malformed_json"), ("c.json", 1, "malformed_json"),
        ("c.json", 2, "malformed_json"), ("d.json", 1, "not_an_object"), ("e.json", 1, "malformed_json"),
        ("f.json", None, "malformed_json")]
    assert res.warnings["json_read_as_jsonl"] == 5


def test_truncated_compressed_json_lines_saved_as_json_keep_the_lines_before(tmp_path):
    data = "".join(json.dumps(r) + "\n" for r in _recs("a", 400)).encode()
    kept, reject = _read_cut(tmp_path, "cut.json.gz", data, 400)
    assert reject["reason"] == "corrupt_compression"
    assert reject["message"].endswith(f"; the lines from {len(kept) + 1} on are not read")


def test_truncated_compressed_csv_with_cr_line_endings_keeps_the_rows_before_the_break(tmp_path):
    kept, reject = _read_cut(tmp_path, "cut.csv.gz", _csv_rows(3000).replace(b"\n", b"\r"), 3000)
    assert reject["reason"] == "corrupt_compression"
    assert f"the rows from line {2 + len(kept)} on are not read" in reject["message"]


def test_csv_with_junk_after_its_compressed_data_keeps_every_row(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(_csv_rows(5)) + b"garbage")
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(_csv_rows(5))[:15])   # broken before the header's end
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == [f"a{i}" for i in range(5)]
    assert sorted((r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in res.rejects.to_dicts()) == [
        ("a.csv.gz", None, "corrupt_compression"), ("b.csv.gz", None, "corrupt_compression")]


@pytest.mark.parametrize("compress", [gzip.compress, zstd.compress],
                         ids=["gz", "zst"])
def test_records_decompressed_before_junk_are_kept(tmp_path, compress):
    data = "".join(json.dumps(r) + "\n" for r in _recs("a", 5)).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(compress(data) + b"garbage")
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == ["a0", "a1", "a2", "a3", "a4"]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(None, "corrupt_compression")]
    assert f"after {len(data):,} bytes" in res.rejects["message"][0]


def test_json_lines_saved_as_json_end_at_newlines_only(tmp_path):
    rows = _recs("a", 3)
    rows[0]["text"] += " \u2028 \u2029 \u0085"       # line breaks for str.splitlines(), not for JSON
    (tmp_path / "a.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "{broken\n")
    res = read_inputs([tmp_path])
    _accounted(res)
    assert sorted(res.articles["article_id"]) == ["a0", "a1", "a2"]
    assert res.articles["text"][0] == rows[0]["text"]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(4, "malformed_json")]


def test_json_error_messages_say_at_once(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", _recs("a", 1) + ['{"id": "b", "text": "unterminated'])
    (tmp_path / "b.json").write_text('[{"id": "c", "text": "unterminated')
    messages = read_inputs([tmp_path]).rejects["message"].to_list()
    assert messages == ["malformed JSON: Unterminated string starting at column 21",
                        "malformed JSON: Unterminated string starting at line 1 column 22"]


def test_an_output_folder_is_recognised_whatever_the_size_of_its_summary(tmp_path):
    # "dedup_version" sorts after "alignment", whose failures and counts push it past the first bytes
    from tests.conftest import SAMPLE
    run([SAMPLE], tmp_path / "in" / "last-night")
    assert (tmp_path / "in" / "last-night" / "summary.json").read_text().find('"dedup_version"') > 512
    write_jsonl(tmp_path / "in" / "a.jsonl", _recs("a", 2))
    summary = run([tmp_path / "in"], tmp_path / "out").summary
    assert summary["inputs"]["skipped_files"] == [f"{tmp_path / 'in' / 'last-night'}/ (the output of a dedup run)"]
    assert summary["articles"]["read"] == 2


def test_truncated_zstd_keeps_the_records_before_the_break(tmp_path):
    # data that stops inside a frame is a break, as in gzip (zstandard's reader, used before, took it for the
    # end of the data and kept the cut record: no error of its own)
    def cut(data):
        packed = zstd.compress(data)
        return packed[: len(packed) // 2]

    def jsonl(prefix):
        return "".join(json.dumps(r) + "\n" for r in _recs(prefix, 3000)).encode()

    (tmp_path / "a.csv.zst").write_bytes(cut(_csv_rows(20000)))   # blocks of 128 KiB: a few before the cut
    (tmp_path / "b.jsonl.zst").write_bytes(cut(jsonl("b")))
    (tmp_path / "c.jsonl.zst").write_bytes(zstd.compress(jsonl("c")[:3000])[:-20])  # 1st block
    # whole frames, skippable ones and frames without a content size are not breaks
    skippable = b"\x50\x2a\x4d\x18" + (3).to_bytes(4, "little") + b"abc"
    whole = jsonl("d")
    plain = {zstd.CompressionParameter.content_size_flag: 0, zstd.CompressionParameter.checksum_flag: 1}
    (tmp_path / "d.jsonl.zst").write_bytes(zstd.compress(whole[:1000]) + skippable +
                                           zstd.compress(whole[1000:], options=plain))
    res = read_inputs([tmp_path])
    _accounted(res)
    by_file = res.articles.group_by(pl.col("source_file").str.split("/").list.last()).len()
    kept = dict(by_file.iter_rows())
    assert 0 < kept["a.csv.zst"] < 20000 and 0 < kept["b.jsonl.zst"] < 3000 and kept["d.jsonl.zst"] == 3000
    got = {(r["file"].rsplit("/", 1)[1], r["record"], r["reason"]): r["message"] for r in res.rejects.to_dicts()}
    assert sorted(got) == [("a.csv.zst", None, "corrupt_compression"), ("b.jsonl.zst", None, "corrupt_compression"),
                           ("c.jsonl.zst", None, "corrupt_compression")]   # the cut line is no malformed_json
    assert res.rejects.height == 3 and "c.jsonl.zst" not in kept   # not an empty_file either
    assert got[("a.csv.zst", None, "corrupt_compression")].endswith(
        f"; the rows from line {2 + kept['a.csv.zst']} on are not read")
    assert "ended before the end-of-stream marker" in got[("c.jsonl.zst", None, "corrupt_compression")]


def test_an_oversized_multi_line_csv_field_is_one_reject(tmp_path):
    big = "x" * 3000
    (tmp_path / "a.csv").write_text(f'id,text\n1,hello one\n2,"first paragraph {big}\n3,second paragraph\n'
                                    'last paragraph"\n4,hello four\n')
    res = read_inputs([tmp_path], config=ReadConfig(max_record_bytes=1024))
    _accounted(res)
    assert res.records == 3
    assert res.articles.select("article_id", "source_record").rows() == [("1", 2), ("4", 6)]
    assert [(r["record"], r["reason"]) for r in res.rejects.to_dicts()] == [(3, "record_too_large")]
    assert "row on lines 3-5" in res.rejects["message"][0]


def test_csv_rows_after_blank_lines_are_numbered_by_the_line_they_start_on(tmp_path):
    (tmp_path / "a.csv").write_text('id,text\n1,hello one\n\n2,hello two\n\n\n3,"text,\nquoted"\n4,last\n')
    (tmp_path / "b.csv").write_bytes(b'id,text\r\n\r\nb1,"two\r\nlines"\r\n\r\nb2,"a\nb\nc\n')   # never closed
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.articles.sort("source_file", "source_record").select("article_id", "source_record").rows() == [
        ("1", 2), ("2", 4), ("3", 7), ("4", 9), ("b1", 3)]
    [reject] = res.rejects.to_dicts()
    assert (reject["record"], reject["reason"]) == (6, "malformed_csv") and "lines 6-8" in reject["message"]


def test_csv_with_cr_line_endings_is_read(tmp_path):
    (tmp_path / "a.csv").write_bytes(b'id;text\r1;hello one\r2;"hello\rtwo"\r3;hello three\r')   # old Mac export
    res = read_inputs([tmp_path])
    _accounted(res)
    assert res.rejects.height == 0
    assert res.articles.select("article_id", "text", "source_record").rows() == [
        ("1", "hello one", 2), ("2", "hello\rtwo", 3), ("3", "hello three", 5)]


def test_a_truncated_utf16_file_keeps_every_line_decompressed_before_the_break(tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in _recs("a", 1500))
    data = gzip.compress(text.encode("utf-16"))
    (tmp_path / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    res = read_inputs([tmp_path])
    _accounted(res)
    readable = zlib.decompressobj(31).decompress(data[: len(data) // 2]).decode("utf-16", "ignore").count("\n")
    assert res.articles.height == readable > 0   # not those of the last 64 KiB read before the break
    assert res.rejects["reason"].to_list() == ["corrupt_compression"]
