import bz2
import gzip
import json
import lzma

import polars as pl
import pytest

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
