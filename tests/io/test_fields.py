"""Field mapping for exports with other column names: --field, [read] field_map, dotted paths."""

import json

import polars as pl
from click.testing import CliRunner

from dedup.cli import main
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
