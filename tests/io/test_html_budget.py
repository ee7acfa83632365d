"""HTML pages over ``read.max_html_bytes`` are ``html_too_large`` rejects, not extracted, whatever holds them
(an HTML file, a WARC record) and on either engine; and a page the HTML parser gave up on says so.

Extraction time grows faster than the page (``benchmarks/README.md`` §5), so one crawled page must not hold
a night up; the limit is a size, so every machine rejects the same pages.
"""

from __future__ import annotations

import gzip

import pytest

from dedup import Config
from dedup.config import ReadConfig
from dedup.errors import ConfigError
from dedup.io import read_inputs
from dedup.io.html import Page, extract_article
from tests.io.pages import classic_page, div_soup_page, paragraphs, warc_bytes

LIMIT = 8192
SMALL = classic_page(paragraphs(1)).encode()                                        # ~4 KB: extracted
LARGE = classic_page(paragraphs(2, 40), title="Budget talks drag on").encode()    # ~16 KB: too large


def _reasons(res) -> dict:
    return {(row["file"].rsplit("/", 1)[-1], row["record"]): row["reason"] for row in res.rejects.to_dicts()}


def _assert_too_large_message(message: str, size: int, limit: int) -> None:
    assert f"{size:,} bytes" in message and f"max_html_bytes={limit:,}" in message
    assert "read.max_html_bytes" in message   # the setting to raise


def test_an_html_file_over_the_limit_is_rejected_and_one_under_it_kept(tmp_path):
    (tmp_path / "small.html").write_bytes(SMALL)
    (tmp_path / "large.html").write_bytes(LARGE)
    (tmp_path / "large.html.gz").write_bytes(gzip.compress(LARGE))   # counted after decompression
    res = read_inputs([tmp_path], config=ReadConfig(max_html_bytes=LIMIT, workers=1))
    assert _reasons(res) == {("large.html", None): "html_too_large", ("large.html.gz", None): "html_too_large"}
    assert res.articles["source_file"].str.ends_with("small.html").to_list() == [True]
    assert res.records == 3 == res.articles.height + res.rejects.height
    for message in res.rejects["message"].to_list():
        _assert_too_large_message(message, len(LARGE), LIMIT)


def test_the_default_limit_rejects_a_page_over_4_mib(tmp_path):
    """4 MiB of paragraphs (rejected before extraction, so the test is quick)."""
    big = classic_page(paragraphs(3) * (4 * 2**20 // len("".join(paragraphs(3))) + 1))
    (tmp_path / "big.html").write_text(big)
    (tmp_path / "ok.html").write_bytes(SMALL)
    res = read_inputs([tmp_path], config=ReadConfig(workers=1))
    assert _reasons(res) == {("big.html", None): "html_too_large"}
    assert res.articles.height == 1 and res.records == 2
    _assert_too_large_message(res.rejects["message"][0], (tmp_path / "big.html").stat().st_size, 4 * 2**20)


def _with_blob(kind: str, size: int) -> bytes:
    """SMALL with an inline ``script`` state blob (as a Next.js page carries) or ``style`` sheet of ``size`` bytes."""
    if kind == "script":
        blob = '<script id="__NEXT_DATA__" type="application/json">{"k": "' + "x" * size + '"}</script>'
    else:
        blob = "<style>" + ".c{color:#123}\n" * (size // 15) + "</style>"
    return SMALL.replace(b"</head>", blob.encode() + b"</head>")


@pytest.mark.parametrize("kind", ["script", "style"])
def test_a_page_over_the_limit_by_its_scripts_or_styles_is_extracted(tmp_path, kind):
    """The budget is on what the extractor walks: an inline blob is one text the parser keeps and the extractor
    drops, cheap whatever its size. The article is the one of the page without the blob."""
    page = _with_blob(kind, 3 * LIMIT)
    assert len(page) > 3 * LIMIT
    out = extract_article(page, max_bytes=LIMIT)
    assert isinstance(out, dict) and out["text"] == extract_article(SMALL)["text"]
    (tmp_path / "blob.html").write_bytes(page)
    res = read_inputs([tmp_path], config=ReadConfig(max_html_bytes=LIMIT, workers=1))
    assert res.rejects.height == 0 and res.articles.height == 1


def test_a_json_ld_script_counts_as_the_extractor_reads_it():
    """trafilatura and htmldate parse and search JSON-LD scripts for the page's metadata, at a cost that grows
    with them (found by the session 35 diff review: a 15 MB page of JSON-LD passed the budget and took 4.7 CPU s).
    So they count; a JSON state blob of another type does not."""
    blob = '{"@context": "https://schema.org", "@type": "NewsArticle", "k": "' + "x" * (3 * LIMIT) + '"}'
    ld = SMALL.replace(b"</head>", f'<script type="application/ld+json">{blob}</script></head>'.encode())
    out = extract_article(ld, max_bytes=LIMIT)
    assert out.reason == "html_too_large" and f"{len(ld):,} bytes" in out.message
    state = SMALL.replace(b"</head>", f'<script type="application/json">{blob}</script></head>'.encode())
    assert isinstance(extract_article(state, max_bytes=LIMIT), dict)


@pytest.mark.parametrize("trap", [
    "<!-- <script> -->",                     # a script tag inside a comment opens no script
    '<a title="<script>" href="/x">x</a>',   # nor one inside an attribute
    "<textarea><script></textarea>",         # nor one in a textarea's text
], ids=["comment", "attribute", "textarea"])
def test_markup_that_only_looks_like_a_script_still_counts(trap):
    """What is a script is the parser's decision, not a byte scan's: markup after a ``<script>`` that opens no
    script element counts, and the page stays too large."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs(5, 30))
    page = f"<html><head><title>T</title></head><body>{trap}{body}</script></body></html>".encode()
    assert len(page) > LIMIT
    out = extract_article(page, max_bytes=LIMIT)
    assert out.reason == "html_too_large", out
    assert f"{len(page):,} bytes" in out.message and "outside its scripts, styles and comments" in out.message


@pytest.mark.parametrize("gz", [False, True])
def test_a_warc_record_over_the_limit_is_rejected_and_the_others_kept(tmp_path, gz):
    records = [{"uri": "https://a.example/1", "content_type": "text/html", "body": SMALL},          # 2: kept
               {"uri": "https://a.example/2", "content_type": "text/html", "body": LARGE},          # 3: too large
               {"type": "request", "uri": "https://a.example/2"},                                   # 4: skipped
               {"uri": "https://b.example/3", "body": div_soup_page(paragraphs(3)).encode()},       # 5: kept
               {"uri": "https://b.example/4", "content_type": "text/html; charset=utf-8",
                "body": LARGE.replace(b"Harbour", b"Harbour Harbour")}]                            # 6: too large
    name = "crawl.warc.gz" if gz else "crawl.warc"
    (tmp_path / name).write_bytes(warc_bytes(records, gzip=gz))
    res = read_inputs([tmp_path], config=ReadConfig(max_html_bytes=LIMIT, workers=1))
    assert _reasons(res) == {(name, 3): "html_too_large", (name, 6): "html_too_large"}
    assert sorted(res.articles["source_record"].to_list()) == [2, 5]
    assert res.records == 4 == res.articles.height + res.rejects.height
    _assert_too_large_message(res.rejects["message"][0], len(LARGE), LIMIT)
    # the limit is inclusive: a page of exactly max_html_bytes is extracted (record 6's markup is 29 bytes more)
    exact = read_inputs([tmp_path], config=ReadConfig(max_html_bytes=len(LARGE), workers=1))
    assert _reasons(exact) == {(name, 6): "html_too_large"} and exact.articles.height == 3


def test_pages_extracted_on_workers_are_rejected_alike(tmp_path):
    """Enough pages for the forked workers (``dedup.io.html.MIN_PARALLEL_PAGES``): the same rejects."""
    for i in range(12):
        (tmp_path / f"p{i:02}.html").write_bytes(LARGE if i % 3 == 0 else classic_page(paragraphs(i)).encode())
    one, two = (read_inputs([tmp_path], config=ReadConfig(max_html_bytes=LIMIT, workers=w)) for w in (1, 2))
    assert _reasons(one) == _reasons(two) == {(f"p{i:02}.html", None): "html_too_large" for i in (0, 3, 6, 9)}
    assert one.articles.equals(two.articles) and one.articles.height == 8


def test_extract_article_and_page_take_the_limit():
    assert extract_article(LARGE, max_bytes=LIMIT).reason == "html_too_large"
    assert isinstance(extract_article(LARGE), dict)   # no limit given: extracted
    raw, warnings = Page(LARGE, max_bytes=LIMIT).extract()
    assert raw.reason == "html_too_large" and not warnings
    assert isinstance(Page(SMALL, max_bytes=LIMIT).extract()[0], dict)


@pytest.mark.parametrize("bad", [0, 1023, -1])
def test_the_setting_is_validated(bad):
    with pytest.raises(ConfigError, match="max_html_bytes must be at least 1024"):
        ReadConfig(max_html_bytes=bad)
    assert ReadConfig(max_html_bytes=1024).max_html_bytes == 1024


def test_the_setting_is_read_from_the_config_file(tmp_path):
    (tmp_path / "good.toml").write_text("[read]\nmax_html_bytes = 2097152\n")
    assert Config.from_toml(tmp_path / "good.toml").read.max_html_bytes == 2 * 2**20
    (tmp_path / "bad.toml").write_text('[read]\nmax_html_bytes = "4M"\n')
    with pytest.raises(ConfigError, match="max_html_bytes"):
        Config.from_toml(tmp_path / "bad.toml")


@pytest.mark.parametrize("tags, times", [("<div>", 100_000), ("<b><i>", 200_000)], ids=["div", "b-i"])
def test_a_page_nested_past_the_parsers_depth_limit_says_so(tags, times):
    """lxml stops at 256 levels and drops the rest of the page: the reject says that, not "an index page"."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs(4))
    out = extract_article(f"<html><head><title>T</title></head><body>{tags * times}{body}</body></html>".encode())
    assert out.reason == "html_no_text"
    assert "limit" in out.message and "nested too deep" in out.message and "index" not in out.message
    index = b"<html><body><img src='a.png'></body></html>"
    assert "index, login or empty page" in extract_article(index).message


def test_the_limit_named_is_one_the_extractor_met():
    """Parsed as text first, as trafilatura parses it: a lone surrogate (``read.encoding = "utf-7"``) ends that
    parse before the nesting, so the page is not said to have met the depth limit."""
    from dedup.io.html import _no_text_message

    deep = "<div>" * 300 + "".join(f"<p>{p}</p>" for p in paragraphs(2))
    assert "limit" in _no_text_message(f"<html><body>{deep}</body></html>")
    assert "limit" not in _no_text_message(f"<html><body>\ud800{deep}</body></html>")


def test_a_page_declaring_xml_nested_too_deep_says_so_too():
    """An XHTML page opens with ``<?xml ... encoding="utf-8"?>``, which lxml refuses in a str: the parse that
    names the limit must read it as trafilatura does."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs(4))
    page = f'<?xml version="1.0" encoding="utf-8"?>\n<html><head><title>T</title></head><body>{"<div>" * 300}{body}'
    out = extract_article(f"{page}</body></html>".encode())
    assert out.reason == "html_no_text" and "nested too deep" in out.message, out.message


def test_the_spark_read_task_rejects_the_same_pages(tmp_path):
    """The Spark engine reads each file with :func:`dedup.spark.read.read_one` (no session needed here)."""
    pytest.importorskip("pyspark")
    from dedup.io.streams import Limits, Source
    from dedup.spark import read

    (tmp_path / "large.html").write_bytes(LARGE)
    (tmp_path / "crawl.warc").write_bytes(warc_bytes([{"uri": "https://a.example/1", "content_type": "text/html",
                                                       "body": SMALL},
                                                      {"uri": "https://a.example/2", "content_type": "text/html",
                                                       "body": LARGE}]))
    config = ReadConfig(max_html_bytes=LIMIT)
    html = read.read_one(Source(tmp_path / "large.html", Limits.from_config(config)), config)
    assert html.frame().height == 0   # the pages are extracted (or rejected) when the frame is asked for
    assert html.rejects_frame()["reason"].to_list() == ["html_too_large"]
    warc = read.read_one(Source(tmp_path / "crawl.warc", Limits.from_config(config)), config)
    assert warc.frame().height == 1
    assert warc.rejects_frame()[["record", "reason"]].rows() == [(3, "html_too_large")]


def test_both_engines_reject_the_same_records(tmp_path):
    """The whole run on Spark (skipped, with the reason, without pyspark or Java 17+)."""
    from dedup.spark import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"Spark engine unavailable: {reason}")
    from dedup.pipeline import run
    from dedup.spark import get_session, run_spark
    from tests.spark.test_engine import assert_same_outputs

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "small.html").write_bytes(SMALL)
    (folder / "large.html").write_bytes(LARGE)
    (folder / "crawl.warc.gz").write_bytes(warc_bytes([
        {"uri": "https://b.example/1", "content_type": "text/html", "body": div_soup_page(paragraphs(5)).encode()},
        {"uri": "https://b.example/2", "content_type": "text/html", "body": LARGE}], gzip=True))
    config = Config().replace(read={"max_html_bytes": LIMIT})
    run([folder], tmp_path / "local", config=config)
    run_spark([folder], tmp_path / "spark", config=config, spark=get_session("local[2]", quiet=True))
    assert_same_outputs(tmp_path / "local", tmp_path / "spark")
    rejected = (tmp_path / "spark" / "rejected.jsonl").read_text()
    assert rejected.count('"html_too_large"') == 2 and "large.html" in rejected
