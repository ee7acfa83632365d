import bz2
import gzip
import json
import lzma

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup import run
from dedup.config import ReadConfig
from dedup.errors import InputError, RejectedRecord
from dedup.io import articles_from_frame, read_inputs
from tests.conftest import write_jsonl

GOOD = {"id": "a1", "outlet": "Gazette", "title": "T", "text": "Some text.", "published": "2026-11-27T08:15:00+01:00",
        "url": "https://gazette.example/a1"}


def test_jsonl_aliases_and_utc_dates(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [
        GOOD,
        {"id": 7, "source": "Courier", "headline": "H", "body": "Body text.", "date": "2026-11-27"},
        {"publisher": "Ledger", "content": "Content text.", "published_at": "Fri, 27 Nov 2026 10:00:00 GMT"},
        {"text": "No outlet.", "url": "https://www.valley.example/x"},
    ])
    res = read_inputs([tmp_path])
    arts = {r["article_id"]: r for r in res.articles.to_dicts()}
    assert arts["a1"]["published"].isoformat() == "2026-11-27T07:15:00+00:00"
    assert arts["7"]["outlet"] == "Courier" and arts["7"]["title"] == "H" and arts["7"]["text"] == "Body text."
    ledger = next(a for a in arts.values() if a["outlet"] == "Ledger")
    assert ledger["article_id"].startswith("h-") and ledger["published"].hour == 10
    assert any(a["outlet"] == "valley.example" for a in arts.values())
    assert res.rejects.height == 0 and res.records == 4


def test_content_derived_ids_are_stable(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "Same text.", "outlet": "X"}])
    first = read_inputs([tmp_path]).articles["article_id"][0]
    assert read_inputs([tmp_path]).articles["article_id"][0] == first


def test_every_format_and_compression(tmp_path):
    line = json.dumps(GOOD) + "\n"
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(line.encode()))
    (tmp_path / "b.ndjson.bz2").write_bytes(bz2.compress(line.replace("a1", "b1").encode()))
    (tmp_path / "c.jsonl.xz").write_bytes(lzma.compress(line.replace("a1", "c1").encode()))
    (tmp_path / "d.json").write_text(json.dumps([{**GOOD, "id": "d1"}, {**GOOD, "id": "d2"}]))
    (tmp_path / "e.json").write_text(json.dumps({**GOOD, "id": "e1"}))
    pl.DataFrame([{**GOOD, "id": "f1"}]).write_parquet(tmp_path / "f.parquet")
    (tmp_path / "g.csv").write_text('id,source,body,date\ng1,Courier,"Multi\nline body",2026-11-27\n')
    (tmp_path / "h.txt").write_text("A headline\n\nThe body of a plain text article.\n")
    (tmp_path / "i.md").write_text("# Markdown headline\nBody.\n")
    (tmp_path / "notes.docx").write_bytes(b"ignored")
    (tmp_path / "misnamed.jsonl.gz").write_text(line.replace("a1", "j1"))  # says gzip, is not
    res = read_inputs([tmp_path])
    ids = set(res.articles["article_id"].to_list())
    assert {"a1", "b1", "c1", "d1", "d2", "e1", "f1", "g1", "j1"} <= ids
    titles = set(res.articles["title"].drop_nulls().to_list())
    assert {"A headline", "Markdown headline"} <= titles
    assert res.skipped_files == [str(tmp_path / "notes.docx")]
    assert res.rejects.height == 0
    assert res.records == res.articles.height


def test_csv_exports_separated_by_semicolons_tabs_or_bars_are_read(tmp_path):
    # spreadsheets in locales whose decimal mark is a comma export with semicolons; every row was
    # rejected as missing_text before (one column named "id;outlet;text;date")
    body = "Prices rose 2,5 percent; the bank said so, again."
    (tmp_path / "semi.csv").write_text(f'id;outlet;text;date\ns1;Courier;"{body}";2026-11-27\n')
    (tmp_path / "tab.csv").write_text(f"id\toutlet\ttext\ndt1\tCourier\t{body}\n")
    (tmp_path / "bar.csv").write_text(f"id|outlet|text\nb1|Courier|{body}\n")
    (tmp_path / "comma.csv").write_text(f'id,outlet,text\nc1,Courier,"{body}; more; and more; yet more"\n')
    (tmp_path / "one.csv").write_text('text\n"A text with a; semicolon, and a comma."\n')
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    texts = dict(zip(res.articles["article_id"], res.articles["text"]))
    assert texts["s1"] == texts["dt1"] == texts["b1"] == body
    assert texts["c1"].endswith("yet more")
    assert "A text with a; semicolon, and a comma." in texts.values()


def test_bad_records_are_rejected_with_file_line_and_reason(tmp_path):
    write_jsonl(tmp_path / "bad.jsonl", [
        GOOD, "{not json", {"id": "x", "text": "  "}, {**GOOD}, [1, 2], {"id": "y", "body": 42},
        {"id": "z", "title": "no text"},
    ])
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "latin1.txt").write_bytes("Titre\nCaf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "broken.json").write_text('{"id": ')
    res = read_inputs([tmp_path])
    rejects = {(r["file"].split("/")[-1], r["record"], r["reason"]) for r in res.rejects.to_dicts()}
    assert rejects == {
        ("bad.jsonl", 2, "malformed_json"), ("bad.jsonl", 3, "empty_text"), ("bad.jsonl", 4, "duplicate_id"),
        ("bad.jsonl", 5, "not_an_object"), ("bad.jsonl", 6, "bad_field_type"), ("bad.jsonl", 7, "missing_text"),
        ("empty.jsonl", None, "empty_file"), ("broken.json", None, "malformed_json"),
    }
    # A legacy-encoded text is decoded (not rejected) and the decision is counted.
    latin1 = res.articles.filter(pl.col("title") == "Titre")
    assert latin1["text"].to_list() == ["Café crème"]
    assert res.warnings["decoded_as_cp1252"] == 1
    assert res.articles.height == 2 and "a1" in res.articles["article_id"].to_list()
    assert res.records == res.articles.height + res.rejects.height
    missing = res.rejects.filter(pl.col("reason") == "missing_text")["message"][0]
    assert "--field text=" in missing


def test_strict_stops_at_first_reject(tmp_path):
    write_jsonl(tmp_path / "bad.jsonl", [GOOD, "{oops"])
    with pytest.raises(RejectedRecord, match=r"bad.jsonl:2: .*malformed_json"):
        read_inputs([tmp_path], config=ReadConfig(strict=True))


def test_field_override_and_unreadable_date_keeps_article(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"story_body": "Mapped.", "text": "Ignored.", "when": "x",
                                        "date": "27/11/2026"}])
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("text", "story_body"),)))
    assert res.articles["text"].to_list() == ["Mapped."]
    assert res.articles["published"].to_list() == [None]
    assert res.warnings["bad_date"] == 1


def test_text_too_long_is_rejected(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{**GOOD, "text": "x" * 101}])
    res = read_inputs([tmp_path], config=ReadConfig(max_text_chars=100))
    assert res.rejects["reason"].to_list() == ["text_too_long"]


def test_missing_input_and_no_readable_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_inputs([tmp_path / "nope"])
    (tmp_path / "x.docx").write_bytes(b"")
    with pytest.raises(InputError, match="no readable input files"):
        read_inputs([tmp_path])


def test_frame_input_maps_aliases():
    res = articles_from_frame(pl.DataFrame({"id": ["1", "2"], "body": ["One.", ""], "source": ["A", "B"]}))
    assert res.articles["outlet"].to_list() == ["A"]
    assert res.rejects["reason"].to_list() == ["empty_text"]


def test_which_duplicate_keeps_the_id_does_not_depend_on_file_names(tmp_path):
    # the same id in two files at the same time: the longer text keeps it, whichever file sorts first;
    # the earliest published one keeps it before that
    when = "2026-11-27T08:00:00Z"
    short = {"id": "x", "outlet": "Post", "text": "Ferries stopped.", "published": when}
    full = {**short, "text": "Ferries stopped at noon as the storm reached the coast."}
    kept = []
    for first, second in ((short, full), (full, short)):
        folder = tmp_path / str(len(kept))
        write_jsonl(folder / "a.jsonl", [first])
        write_jsonl(folder / "b.jsonl", [second])
        res = read_inputs([folder])
        assert res.rejects["reason"].to_list() == ["duplicate_id"]
        kept.append(res.articles["text"].item())
    assert kept == [full["text"], full["text"]]
    write_jsonl(tmp_path / "early" / "a.jsonl", [full])
    write_jsonl(tmp_path / "early" / "b.jsonl", [{**short, "published": "2026-11-27T07:00:00Z"}])
    assert read_inputs([tmp_path / "early"]).articles["text"].item() == short["text"]


def test_rfc2822_zone_names_rfc2822_does_not_define_are_bad_dates(tmp_path):
    # email.utils takes an unknown zone for no zone: CET was read as UTC, an hour late. Zone names are not
    # guessed (IST is India, Ireland or Israel): the date is unreadable, the article kept undated.
    known = {"Fri, 27 Nov 2026 08:15:00 EST": "2026-11-27T13:15:00+00:00",
             "Fri, 27 Nov 2026 08:15:00 GMT": "2026-11-27T08:15:00+00:00",
             "Fri, 27 Nov 2026 08:15:00 +0530": "2026-11-27T02:45:00+00:00",
             "Fri, 27 Nov 2026 08:15:00 +0100 (CET)": "2026-11-27T07:15:00+00:00",
             "Fri, 27 Nov 2026 08:15:00 -0000": "2026-11-27T08:15:00+00:00",   # RFC 2822's "no zone given"
             "Friday, 27 November 2026 08:15": "2026-11-27T08:15:00+00:00"}
    unknown = ["Fri, 27 Nov 2026 08:15:00 CET", "Fri, 27 Nov 2026 08:15:00 AEST", "Fri, 27 Nov 2026 08:15:00 IST",
               "Fri, 27 Nov 2026 08:15:00 XYZ", "Fri, 27 Nov 2026 08:15:00 +01:00", "Fri Nov 27 08:15:00 CET 2026"]
    write_jsonl(tmp_path / "a.jsonl", [{"id": f"d{i}", "text": "Some text.", "date": date}
                                       for i, date in enumerate([*known, *unknown])])
    res = read_inputs([tmp_path])
    got = dict(zip(res.articles["article_id"], res.articles["published"]))
    assert [got[f"d{i}"] and got[f"d{i}"].isoformat() for i in range(len(known))] == list(known.values())
    assert [got[f"d{i}"] for i in range(len(known), len(known) + len(unknown))] == [None] * len(unknown)
    assert res.warnings["bad_date"] == len(unknown)


def test_a_file_without_records_is_one_empty_file_reject_whatever_its_format(tmp_path):
    # a header-only CSV, [] or a Parquet file of 0 rows used to count 0 records, so that a night of them
    # stopped with exit 3 while a night of empty JSON Lines went on: now each is an empty_file reject
    files = {"a.jsonl": b"", "b.jsonl": b"\n \n", "c.json": b"[]", "d.json": b" \n", "e.csv": b"id,title,text\n",
             "f.csv": b"id,text\r\n\r\n", "g.txt": b"", "h.md": b"  \n", "i.html": b"", "j.warc": b""}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    pl.DataFrame(schema={"id": pl.String, "text": pl.String}).write_parquet(tmp_path / "k.parquet")
    res = read_inputs([tmp_path])
    assert sorted((r["file"].rsplit("/", 1)[1], r["record"], r["reason"]) for r in res.rejects.to_dicts()) == [
        (name, None, "empty_file") for name in [*files, "k.parquet"]]
    assert res.records == res.rejects.height == 11 and res.articles.height == 0
    night = run([tmp_path / "e.csv"], tmp_path / "out")   # a quiet night is a night, not an input error
    assert night.rejects["reason"].to_list() == ["empty_file"] and (tmp_path / "out" / "summary.json").exists()


def test_an_empty_or_null_text_is_empty_text_and_rejects_name_the_records_id(tmp_path):
    # the CSV reader makes an empty cell null; the record has the column, so it is empty_text, not
    # missing_text ("no text field ...; map it with --field text=COLUMN"), as an empty JSON string is
    (tmp_path / "a.csv").write_text("id,title,text\nc1,Harbour bridge,\nc2,,Some text.\n")
    write_jsonl(tmp_path / "b.jsonl", [{"id": "j1", "text": ""}, {"id": "j2", "text": None}, {"id": 7, "title": "x"},
                                       {"id": "j4", "text": "Text.", "title": 3}, {"text": " "}])
    res = read_inputs([tmp_path])
    assert sorted((r["file"].rsplit("/", 1)[1], r["record"], r["article_id"], r["reason"])
                  for r in res.rejects.to_dicts()) == [
        ("a.csv", 2, "c1", "empty_text"), ("b.jsonl", 1, "j1", "empty_text"), ("b.jsonl", 2, "j2", "empty_text"),
        ("b.jsonl", 3, "7", "missing_text"), ("b.jsonl", 4, "j4", "bad_field_type"),
        ("b.jsonl", 5, None, "empty_text")]
    assert res.articles["article_id"].to_list() == ["c2"]


def test_column_names_in_any_case_and_spacing_and_whole_float_ids_are_read(tmp_path):
    # a spreadsheet's header ("Title", " Text") is read without --field, a name written exactly winning;
    # pandas writes a nullable integer id column as floats
    (tmp_path / "a.csv").write_text("ID, Title ,Text,Published\n11,Harbour bridge,The bridge opened.,2026-11-27\n")
    (tmp_path / "c.csv").write_text("Id,Body\n13,Capitalised body.\n")
    pl.DataFrame({"id": [12.0, None], "TEXT": ["Shouted text.", "Not read."], "text": ["Exact name.", "Exact."]}
                 ).write_parquet(tmp_path / "b.parquet")
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    rows = {r["article_id"]: r for r in res.articles.to_dicts()}
    assert rows["11"]["title"] == "Harbour bridge" and rows["11"]["text"] == "The bridge opened."
    assert rows["11"]["published"] is not None
    assert rows["12"]["text"] == "Exact name."   # the name written exactly wins
    assert rows["13"]["text"] == "Capitalised body."
    assert [r["text"] for k, r in rows.items() if k not in ("11", "12", "13")] == ["Exact."]


def test_whole_decimal_ids_of_a_database_export_are_read_as_their_digits(tmp_path):
    # Spark, Hive and database exports store numeric ids as DECIMAL(18,0): every row used to be rejected
    from decimal import Decimal
    pl.DataFrame({"id": pl.Series([Decimal(4711), Decimal("4712.5"), None], dtype=pl.Decimal(18, 1)),
                  "text": ["A decimal id.", "A fraction.", "No id."]}).write_parquet(tmp_path / "d.parquet")
    res = read_inputs([tmp_path])
    ids = res.articles["article_id"].to_list()
    assert "4711" in ids and len(ids) == 2   # 4711.0 is its digits, the null id gets a content id
    assert res.rejects["reason"].to_list() == ["bad_field_type"]   # 4712.5 is no id


def test_parquet_strings_stored_as_plain_binary_are_read_as_utf8_text(tmp_path):
    # Hive and Impala write strings as BINARY without the UTF8 annotation: pyarrow reads them as bytes
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array([b"b1", b"b2"], pa.binary()),
                      "text": pa.array(["Caf\u00e9 opens on the quay.".encode(), b"\xff\xfe not text"], pa.binary())})
    pq.write_table(table, tmp_path / "hive.parquet")
    res = read_inputs([tmp_path])
    assert res.articles.select("article_id", "text").rows() == [("b1", "Caf\u00e9 opens on the quay.")]
    assert res.rejects.select("article_id", "reason").rows() == [("b2", "bad_field_type")]


def test_a_one_line_text_file_is_the_text_and_lone_cr_ends_a_line(tmp_path):
    para = "The harbour bridge reopened on Tuesday after eight months of repairs, city officials said."
    (tmp_path / "one.txt").write_text(para + "\n")
    (tmp_path / "mac.txt").write_bytes(b"Bridge reopens\r" + para.encode() + b"\r\rThe buses crossed at dawn.\r")
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    arts = {a["source_file"].rsplit("/", 1)[1]: (a["title"], a["text"]) for a in res.articles.to_dicts()}
    assert arts == {"one.txt": (None, para), "mac.txt": ("Bridge reopens", para + "\n\nThe buses crossed at dawn.")}


def test_parquet_time_stamps_in_any_arrow_time_zone_are_read_as_instants(tmp_path, capfd):
    # pandas writes "+05:30" for Indian times; polars panicked on it (a page of Rust panic on stderr) and the
    # whole file was rejected as malformed_parquet
    when = pa.array([1_795_743_900_000_000], pa.timestamp("us", "UTC"))   # 2026-11-27T01:45:00Z
    pq.write_table(pa.table({"id": ["p1"], "text": ["Some text."], "published": when.cast(pa.timestamp("us", "+05:30")),
                             "meta": pa.array([{"seen": 1_795_743_900_000}], pa.struct([
                                 ("seen", pa.timestamp("ms", "+05:45"))]))}), tmp_path / "a.parquet")
    res = read_inputs([tmp_path])
    assert res.rejects.height == 0
    assert res.articles["published"].item().isoformat() == "2026-11-27T01:45:00+00:00"
    assert "panic" not in capfd.readouterr().err
