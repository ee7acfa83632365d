"""Field mapping for exports with other column names: --field, [read] field_map, dotted paths."""

import json

import polars as pl
import pytest
from click.testing import CliRunner

from dedup.cli import _parse_fields, main
from dedup.config import Config, ReadConfig
from dedup.io import read_inputs
from tests.conftest import make_story

MAP = (("id", "story_id"), ("outlet", "publication"), ("title", "hed"), ("text", "copy"),
       ("published", "pub_time"), ("url", "permalink"))


def test_csv_json_parquet_exports_with_other_column_names(tmp_path):
    row = {"story_id": "s1", "publication": "Valley Courier", "hed": "Bridge reopens", "copy": "The bridge reopened.",
           "pub_time": "2026-11-27T09:00:00Z", "permalink": "https://courier.example/s1"}
    (tmp_path / "a.csv").write_text(",".join(row) + "\n" + ",".join(row.values()).replace("s1", "c1") + "\n")
    (tmp_path / "b.json").write_text(json.dumps([{**row, "story_id": "j1"}]))
    pl.DataFrame([{**row, "story_id": "p1"}]).write_parquet(tmp_path / "c.parquet")
    res = read_inputs([tmp_path], config=ReadConfig(field_map=MAP))
    assert res.rejects.height == 0
    assert sorted(res.articles["article_id"]) == ["c1", "j1", "p1"]
    assert set(res.articles["outlet"]) == {"Valley Courier"} and set(res.articles["title"]) == {"Bridge reopens"}
    assert res.articles["published"].dt.hour().to_list() == [9, 9, 9]


def test_dotted_paths_reach_into_nested_json_and_parquet_structs(tmp_path):
    nested = {"meta": {"id": "n1", "site": {"name": "Harbour Gazette"}}, "content": {"body": "Nested text."},
              "dates": {"published": "2026-11-27T08:00:00Z"}}
    (tmp_path / "a.jsonl").write_text(json.dumps(nested) + "\n" + json.dumps({"content": {"body": 5}}) + "\n")
    pl.DataFrame([{**nested, "meta": {"id": "n2", "site": {"name": "Courier"}}}]).write_parquet(tmp_path / "b.parquet")
    fields = (("id", "meta.id"), ("outlet", "meta.site.name"), ("text", "content.body"),
              ("published", "dates.published"))
    res = read_inputs([tmp_path], config=ReadConfig(field_map=fields))
    arts = {a["article_id"]: a for a in res.articles.to_dicts()}
    assert arts["n1"]["outlet"] == "Harbour Gazette" and arts["n1"]["text"] == "Nested text."
    assert arts["n2"]["outlet"] == "Courier" and arts["n2"]["published"].hour == 8
    assert res.rejects["reason"].to_list() == ["bad_field_type"]  # a number where the text should be


def test_a_column_named_with_a_dot_wins_over_the_path(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"body.text": "Flat.", "body": {"text": "Nested."}}) + "\n")
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("text", "body.text"),)))
    assert res.articles["text"].to_list() == ["Flat."]


def test_news_please_style_records_need_no_mapping(tmp_path):
    rec = {"maintext": "Main text.", "date_publish": "2026-11-27 08:00:00", "source_domain": "courier.example",
           "title": "T", "url": "https://www.courier.example/a"}
    (tmp_path / "a.jsonl").write_text(json.dumps(rec) + "\n")
    art = read_inputs([tmp_path]).articles.row(0, named=True)
    assert art["outlet"] == "courier.example" and art["text"] == "Main text." and art["published"].hour == 8


def test_cli_field_and_toml_field_map(tmp_path):
    sentences = make_story(3, 12)
    recs = [{"meta": {"id": f"x{i}"}, "content": {"body": " ".join(sentences)}, "src": f"Outlet {i}"} for i in range(3)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (tmp_path / "dedup.toml").write_text('[read]\nfield_map = [["outlet", "src"]]\n')
    assert Config.from_toml(tmp_path / "dedup.toml").read.field_map == (("outlet", "src"),)
    res = CliRunner().invoke(main, ["cluster", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q",
                                    "--config", str(tmp_path / "dedup.toml"),
                                    "--field", "id=meta.id", "--field", "text=content.body"])
    assert res.exit_code == 0, res.output
    clusters = pl.read_parquet(tmp_path / "out" / "clusters.parquet")
    assert sorted(clusters["article_id"]) == ["x0", "x1", "x2"] and clusters["cluster_size"].to_list() == [3, 3, 3]
    assert set(clusters["outlet"]) == {"Outlet 0", "Outlet 1", "Outlet 2"}


def test_a_null_mapped_path_is_a_missing_field_not_the_object_holding_it(tmp_path):
    # NewsAPI: {"source": {"id": ..., "name": ...}}; "source" is also an alias of outlet.
    recs = [{"source": {"id": "bbc", "name": "BBC News"}, "url": "https://www.bbc.co.uk/a", "content": "One."},
            {"source": {"id": None, "name": None}, "url": "https://www.example.com/b", "content": "Two."},
            {"source": {"id": None}, "url": "https://www.example.org/c", "content": "Three."},
            {"source": "Courier", "url": "https://courier.example/d", "content": "Four."},   # the alias, as before
            {"content": {"body": None}, "maintext": "Five."}]   # "content" comes before "maintext"
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("outlet", "source.name"), ("text", "content.body"))))
    assert res.rejects.to_dicts() == []
    assert res.articles.sort("source_record").select("outlet", "text").rows() == [
        ("BBC News", "One."), ("example.com", "Two."), ("example.org", "Three."), ("Courier", "Four."),
        (None, "Five.")]


def test_a_mapping_reaches_a_header_written_with_spaces_around_it_or_in_another_case(tmp_path):
    # README: names match "in any case and with spaces around them"; a --field column did only as written
    text = "The council approved the budget on Tuesday."
    (tmp_path / "cms.csv").write_text(f' Story Body ,Headline\n"{text}",H1\n')
    pl.DataFrame({"Story Body ": [text], "Headline": ["H2"]}).write_parquet(tmp_path / "cms.parquet")
    for column in ("Story Body", " Story Body ", "STORY BODY"):
        res = read_inputs([tmp_path], config=ReadConfig(field_map=(("text", column),)))
        assert res.rejects.height == 0, (column, res.rejects.to_dicts())
        assert sorted(res.articles["title"]) == ["H1", "H2"] and set(res.articles["text"]) == {text}
    assert _parse_fields(("text= Story Body ",)) == (("text", " Story Body "),)   # the CLI keeps it as written


def test_the_first_readable_date_is_taken_the_specific_names_before_date(tmp_path):
    # a CMS export's display "date" beside its full "published_at"; NewsAPI's "publishedAt"
    recs = [{"id": "a1", "text": "A.", "date": "27/11/2026", "published_at": "2026-11-27T10:00:00+01:00"},
            {"id": "b1", "text": "B.", "date": "2026-11-27", "published_at": "2026-11-27T18:45:00Z"},
            {"id": "c1", "text": "C.", "published": "soon", "date": "2026-11-27"},
            {"id": "d1", "text": "D.", "publishedAt": "2026-11-27T07:30:00Z"},
            {"id": "e1", "text": "E.", "date": "27/11/2026", "timestamp": "later"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = read_inputs([tmp_path])
    got = {a["article_id"]: a["published"] and a["published"].isoformat() for a in res.articles.to_dicts()}
    assert got == {"a1": "2026-11-27T09:00:00+00:00", "b1": "2026-11-27T18:45:00+00:00",
                   "c1": "2026-11-27T00:00:00+00:00", "d1": "2026-11-27T07:30:00+00:00", "e1": None}
    assert res.warnings["bad_date"] == 1   # e1 only: no name of it is readable
    assert res.warnings["date_fallback"] == 1   # c1: dated, but not by its first date, which is unreadable


def test_a_date_column_chosen_with_field_is_not_replaced_when_unreadable(tmp_path):
    # a CMS placeholder in the column the desk mapped: undated and bad_date, not its last-modified "date"
    recs = [{"id": "a1", "text": "A.", "first_published": "n/a", "date": "2026-11-29T10:00:00Z"},
            {"id": "a2", "text": "B.", "first_published": "2026-11-27T08:00:00Z", "date": "2026-11-29T10:00:00Z"},
            {"id": "a3", "text": "C.", "date": "2026-11-29T10:00:00Z"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = read_inputs([tmp_path], config=ReadConfig(field_map=(("published", "first_published"),)))
    got = {a["article_id"]: a["published"] and a["published"].isoformat() for a in res.articles.to_dicts()}
    assert got == {"a1": None, "a2": "2026-11-27T08:00:00+00:00", "a3": "2026-11-29T10:00:00+00:00"}
    assert dict(res.warnings) == {"bad_date": 1}


def test_nan_is_a_missing_value_in_every_field(tmp_path):
    # pandas' records as JSON write NaN for a missing value; polars and Spark float columns hold it
    nan = float("nan")
    recs = [{"id": nan, "outlet": "A", "text": "First text."},
            {"id": "t2", "outlet": nan, "title": nan, "published": nan, "url": "https://www.b.example/2",
             "text": "Second text."},
            {"id": "t3", "text": nan}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    pl.DataFrame({"id": [nan, 7.0], "text": ["Third text.", "Fourth text."]}).write_parquet(tmp_path / "b.parquet")
    res = read_inputs([tmp_path])
    assert res.rejects.select("article_id", "reason").rows() == [("t3", "empty_text")]
    arts = {a["text"]: a for a in res.articles.to_dicts()}
    assert arts["First text."]["article_id"].startswith("h-") and arts["Third text."]["article_id"].startswith("h-")
    assert arts["Fourth text."]["article_id"] == "7"
    assert (arts["Second text."]["outlet"], arts["Second text."]["title"]) == ("b.example", None)
    assert not res.warnings   # no bad_date for a NaN date


def test_a_float_id_past_2_to_the_53_gets_the_content_id_with_a_warning(tmp_path):
    # pandas makes an int64 id column with a null float64: 1469785430253568001 and ...002 are the same float
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"id": [1469785430253568001, 1469785430253568002, 2**53 - 1, float("nan")],
                  "text": ["One.", "Two.", "Three.", "Four."]}).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_text('{"id": 12.5, "text": "Five."}\n')
    res = read_inputs([tmp_path])
    ids = dict(zip(res.articles["text"], res.articles["article_id"]))
    assert ids["Three."] == str(2**53 - 1)   # below 2**53 a whole float is exact
    assert ids["One."].startswith("h-") and ids["Two."].startswith("h-") and ids["Four."].startswith("h-")
    assert res.warnings["imprecise_float_id"] == 2
    assert res.rejects.select("reason", "message").rows() == [
        ("bad_field_type", "id must be a string or a whole number, got the float 12.5")]


def test_an_outlet_object_with_a_name_is_its_name(tmp_path):
    recs = [{"source": {"id": None, "name": "BBC News"}, "content": "NewsAPI text."},
            {"publisher": {"@type": "Organization", "name": "Courier"}, "text": "Schema.org text."},
            {"publication": "Valley Ledger", "url": "https://www.valleyledger.example/a", "text": "All the News text."},
            {"id": "x1", "source": {"id": "wire"}, "text": "No name."}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = read_inputs([tmp_path])
    assert dict(res.articles.select("text", "outlet").rows()) == {
        "NewsAPI text.": "BBC News", "Schema.org text.": "Courier",
        "All the News text.": "valleyledger.example"}   # publication is not an outlet name: README says why
    assert res.rejects.select("article_id", "reason", "message").rows() == [
        ("x1", "bad_field_type", ("outlet must be a string, got an object; map a string in it with "
                                  "--field outlet=COLUMN.KEY"))]
