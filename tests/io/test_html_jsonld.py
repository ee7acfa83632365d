"""Metadata scripts (JSON-LD) that are not JSON: what the extractor's fallback may search is bounded.

trafilatura reads a ``<script type="application/ld+json">`` that does not parse as JSON with regular
expressions (author, publisher, title), in time quadratic in its length on some texts: a crafted 200 kB
script took half a minute (``benchmarks/README.md`` §5). :func:`dedup.io.html._bound_unparsed_metadata`
cuts such scripts to :data:`~dedup.io.html.MAX_UNPARSED_METADATA_CHARS` characters a page before the
extractor sees the page; JSON-LD that parses as written (however trafilatura normalises it), and the small
malformed JSON-LD real sites emit, are left whole, and keep the metadata trafilatura reads from them.
"""

from __future__ import annotations

import html
import json

import pytest

from dedup.io import html as html_io
from dedup.io.html import extract_article
from tests.io.pages import classic_page, div_soup_page, paragraphs

URL = "https://courier.example/ferry-returns"
LATEST = "2026-12-03T23:59:59.999999"


def _page(*scripts: str, head: str = "") -> str:
    """A div-only article page (no Open Graph tags: its metadata is the scripts') with these JSON-LD scripts."""
    body = "\n".join(f'<div class="txt"><p>{html.escape(p)}</p></div>' for p in paragraphs(5))
    lds = "".join(f'<script type="application/ld+json">{text}</script>' for text in scripts)
    return f'<html><head>{head}{lds}</head><body><div class="story">{body}</div></body></html>'


def _crafted(n: int) -> str:
    """Not JSON: ``"author":`` over and over with no closing brace, the worst text measured."""
    return ('"author": x ' * (n // 12 + 1))[:n]


def _script_texts(tree) -> list[str | None]:
    return [script.text for script in tree.xpath("//script")]


@pytest.fixture
def extractor_input(monkeypatch):
    """What :func:`extract_article` gives ``trafilatura.bare_extraction`` (a page, a tree), and the
    lengths of the texts trafilatura's fallback for scripts that are not JSON was given."""
    import trafilatura
    import trafilatura.metadata

    html_io._trafilatura()   # dedup's guards installed first: recorded here is what the guard is given
    seen: dict[str, list] = {"inputs": [], "fallback": []}
    extract, fallback = trafilatura.bare_extraction, trafilatura.metadata.extract_json_parse_error

    def recording_extract(filecontent, *args, **kwargs):
        seen["inputs"].append(filecontent)
        return extract(filecontent, *args, **kwargs)

    def recording_fallback(elem, metadata):
        seen["fallback"].append(len(elem))
        return fallback(elem, metadata)

    monkeypatch.setattr(trafilatura, "bare_extraction", recording_extract)
    monkeypatch.setattr(trafilatura.metadata, "extract_json_parse_error", recording_fallback)
    return seen


def _seen_scripts(seen) -> list[str | None]:
    import trafilatura

    given = seen["inputs"][-1]   # the last page extracted
    return _script_texts(trafilatura.load_html(given))   # a tree is returned as is


def test_a_large_script_that_is_not_json_is_cut_before_the_extractor_sees_it(extractor_input):
    crafted = _crafted(6 * 10_000)
    page = _page(crafted)
    plain = extract_article(_page("{}").encode(), url=URL, latest=LATEST)
    record = extract_article(page.encode(), url=URL, latest=LATEST)
    # the fallback ran, on a prefix of the script only
    assert extractor_input["fallback"] and sum(extractor_input["fallback"]) < len(crafted) // 2
    (seen,) = _seen_scripts(extractor_input)
    assert crafted.startswith(seen) and len(seen) == html_io.MAX_UNPARSED_METADATA_CHARS
    # and the page is still extracted: the same article as without the script
    assert record == plain and record["text"].startswith(paragraphs(5)[0])


def test_the_bound_holds_for_all_of_a_pages_scripts_together():
    from dedup.io.html import _bound_unparsed_metadata, _parsed

    bound = html_io.MAX_UNPARSED_METADATA_CHARS
    valid = json.dumps({"@type": "NewsArticle", "headline": "Ferry returns", "articleBody": "Crew. " * bound})
    other = '<script type="application/json">' + _crafted(2 * bound) + "</script>"   # not metadata
    first, second, third = _crafted(bound // 3), _crafted(bound), _crafted(bound // 4)
    tree = _parsed(_page(first, valid, second, third, head=other))
    _bound_unparsed_metadata(tree)
    # in page order: the first whole, the valid one (three times the bound) whole, the second cut to what is
    # left, the third emptied; a script of another type is not the extractor's metadata and is left alone
    assert _script_texts(tree) == [_crafted(2 * bound), first, valid, second[:bound - len(first)], None]


def test_a_script_json_only_once_its_entities_are_unescaped_is_bounded_too():
    """trafilatura unescapes HTML entities in a script holding a backslash before it parses it, but its check
    for a forum posting searches the text as written, ``"@type":[`` over and over with no ``]``: quadratic."""
    from dedup.io.html import _bound_unparsed_metadata, _parsed

    bound = html_io.MAX_UNPARSED_METADATA_CHARS
    script = '{"x": "\\\\", "posts": [' + '{"@type": ["Posting"&#93;}, ' * (bound // 10) + '{}]}'
    valid = json.dumps({"x": "\\", "posts": [{"@type": ["Posting"]}] * (bound // 10)})   # JSON as written
    tree = _parsed(_page(script, valid))
    _bound_unparsed_metadata(tree)
    assert _script_texts(tree) == [script[:bound], valid]


def test_ordinary_malformed_json_ld_keeps_its_metadata(extractor_input):
    # a trailing comma and an unescaped quote: not JSON, as real sites emit; trafilatura reads it with its
    # fallback, and htmldate finds the date in it
    ld = ('{"@context":"https://schema.org","@type":"NewsArticle","headline":"Ferry returns to port",'
          '"description":"The crew calls it "home" again","datePublished":"2026-11-25T09:40:00Z",'
          '"author":{"@type":"Person","name":"Mira Okonjo"},'
          '"publisher":{"@type":"Organization","name":"Lakeside Courier"},}')
    page = _page(ld)
    record = extract_article(page.encode(), url=URL, latest=LATEST)
    assert _seen_scripts(extractor_input) == [ld]   # left whole
    assert extractor_input["fallback"] == [len(ld)]
    assert (record["title"], record["outlet"], record["published"]) == (
        "Ferry returns to port", "Lakeside Courier", "2026-11-25T09:40:00.000000+0000")


def test_valid_json_ld_is_left_whole_however_large(extractor_input):
    body = " ".join(paragraphs(7, 100))   # an article body in the JSON-LD, several times the bound
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry returns to port",
                     "datePublished": "2026-11-25T09:40:00Z", "articleBody": body,
                     "publisher": {"@type": "Organization", "name": "Lakeside Courier"}}, indent=1)
    assert len(ld) > 3 * html_io.MAX_UNPARSED_METADATA_CHARS
    record = extract_article(_page(ld).encode(), url=URL, latest=LATEST)
    assert _seen_scripts(extractor_input) == [ld] and extractor_input["fallback"] == []
    assert (record["title"], record["outlet"], record["published"]) == (
        "Ferry returns to port", "Lakeside Courier", "2026-11-25T09:40:00.000000+0000")


@pytest.mark.parametrize("layout", [classic_page, div_soup_page])
def test_the_parsed_page_gives_what_the_text_gives(layout):
    """extract_article hands trafilatura the page it parsed: the same document as the text gives."""
    import trafilatura

    page = layout(paragraphs(3))
    record = extract_article(page.encode(), url=None, latest=LATEST)
    doc = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False, include_tables=True,
                                      include_images=False, include_links=False,
                                      date_extraction_params={**html_io._DATE_PARAMS, "max_date": LATEST})
    assert (record["title"], record["published"], record["url"], record["outlet"]) == (
        doc.title, doc.date, doc.url, doc.sitename)
    assert record["text"] == html_io._paragraphs(doc.text, doc.title)


def _news_ld(body: str, quote: str = "&quot;") -> str:
    """A NewsArticle JSON-LD whose date and publisher come after its (long) article body, the body's quotation
    marks written ``quote`` (in the JSON text): JSON as written, not as trafilatura normalises it."""
    import trafilatura.metadata

    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry returns to port",
                     "articleBody": body, "datePublished": "2026-11-25T09:40:00Z",
                     "publisher": {"@type": "Organization", "name": "Lakeside Courier"}}).replace("QUOTE", quote)
    json.loads(ld)
    with pytest.raises(json.JSONDecodeError):   # trafilatura's normalisation (its functions, as it calls them)
        json.loads(trafilatura.metadata.normalize_json(trafilatura.metadata.JSON_MINIFY.sub(r"\1", ld)))
    return ld


@pytest.mark.parametrize("quote", ["&quot;", "\\u0022"])
def test_json_ld_valid_as_written_keeps_its_date_and_outlet_after_a_long_body(quote, extractor_input):
    """A quotation written ``&quot;`` (a CMS's HTML escaping) or ``\\u0022`` (Drupal's JSON_HEX_QUOT) in a long
    articleBody, and a backslash (the body's line breaks, ``\\n``): JSON as written, not once trafilatura
    unescapes it. htmldate reads its date, as written, after the body: the script is not cut."""
    body = "\n".join(f"Crew member {i} said QUOTEwe are homeQUOTE as the ferry docked." for i in range(300))
    ld = _news_ld(body, quote)
    assert len(ld) > 2 * html_io.MAX_UNPARSED_METADATA_CHARS and "\\" in ld
    record = extract_article(_page(ld).encode(), url=URL, latest=LATEST)
    assert (record["title"], record["outlet"], record["published"]) == (
        "Ferry returns to port", "Lakeside Courier", "2026-11-25T09:40:00.000000+0000")
    assert record["text"].startswith(paragraphs(5)[0])
    assert _seen_scripts(extractor_input) == [ld]   # whole


def test_an_article_body_only_in_valid_json_ld_is_still_extracted():
    """A page rendered client-side: its text is only in the JSON-LD, which trafilatura's baseline reads as
    written (``json.loads``); a ``&quot;`` and a backslash in a long body must not cut it away."""
    ld = _news_ld("\n".join(f"Crew member {i} said QUOTEwe are homeQUOTE as the ferry docked at {i} past nine."
                             for i in range(300)))
    page = f'<html><head><script type="application/ld+json">{ld}</script></head><body><div id="app"></div></body>'
    record = extract_article(page.encode(), url=URL, latest=LATEST)
    assert isinstance(record, dict), record
    assert (record["outlet"], record["published"]) == ("Lakeside Courier", "2026-11-25T09:40:00.000000+0000")
    assert 'said "we are home" as the ferry docked at 299 past nine.' in record["text"]
