"""dedup's bounds on trafilatura's slow internals (:mod:`dedup.io.extractor_guards`): what each wrapped function
is given during :func:`~dedup.io.html.extract_article`, that the records stay the same, and that outside it (an
application calling trafilatura itself) every call passes through unchanged."""

from __future__ import annotations

import itertools
import json
import random
import string

import pytest

from dedup.io import extractor_guards as guards
from dedup.io import html as html_io
from dedup.io.html import extract_article
from tests.io.pages import paragraphs
from tests.io.test_html_jsonld import LATEST, URL, _news_ld, _page


@pytest.fixture
def received(monkeypatch):
    """The arguments trafilatura's own functions (the ones the guards wrap) receive, by name."""
    html_io._trafilatura()   # the guards installed
    functions = {key: original for key, original in guards._ORIGINAL.items() if callable(original)}
    calls: dict[str, list[tuple]] = {name: [] for _, name in functions}
    for (module, name), original in functions.items():
        def recording(*args, _name=name, _original=original):
            calls[_name].append(args)
            return _original(*args)
        monkeypatch.setitem(guards._ORIGINAL, (module, name), recording)
    return calls


def _names(k: int) -> list[str]:
    """``k`` distinct author names, none part of another (trafilatura keeps each)."""
    return ["Ann " + "".join(four).capitalize() for four in itertools.islice(
        itertools.product(string.ascii_lowercase, repeat=4), k)]


def _authors_ld(k: int) -> str:
    return json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry returns to port",
                       "datePublished": "2026-11-25T09:40:00Z", "author": [
                           {"@type": "Person", "name": name} for name in _names(k)],
                       "publisher": {"@type": "Organization", "name": "Lakeside Courier"}})


def test_the_guards_are_installed_once():
    import trafilatura.core
    import trafilatura.json_metadata
    import trafilatura.metadata

    html_io._trafilatura()
    def guarded():
        return [trafilatura.metadata.extract_json_parse_error, trafilatura.metadata.normalize_authors,
                trafilatura.json_metadata.normalize_authors, trafilatura.core._forum_thread_page,
                trafilatura.json_metadata.HTML_STRIP_TAGS, trafilatura.metadata.HTML_STRIP_TAGS]

    wrapped = guarded()
    assert all(getattr(function, "_dedup_guard", False) for function in wrapped)
    assert guards.install() == ["extract_json_parse_error", "normalize_authors", "_forum_thread_page",
                                "HTML_STRIP_TAGS"]
    assert guarded() == wrapped


def test_a_name_trafilatura_no_longer_has_is_skipped(monkeypatch):
    import trafilatura.core
    import trafilatura.metadata

    monkeypatch.delattr(trafilatura.core, "_forum_thread_page")
    monkeypatch.delattr(trafilatura.metadata, "extract_json_parse_error")
    gone = ("gone", guards._checked_forum_page, ("trafilatura.gone",), None)   # a module trafilatura no longer has
    monkeypatch.setattr(guards, "_GUARDS", (*guards._GUARDS, gone))
    assert guards.install() == ["normalize_authors", "HTML_STRIP_TAGS"]
    assert not hasattr(trafilatura.core, "_forum_thread_page")
    assert not hasattr(trafilatura.metadata, "extract_json_parse_error")


def test_the_fallback_is_given_the_pages_budget_and_finds_the_publisher_after_a_long_body(received):
    """A NewsArticle JSON as written, not as trafilatura normalises it (``&quot;`` and a backslash): the fallback
    is given its strings cut (the 30 kB body), within the page's budget, and still finds the publisher."""
    body = "\n".join(f"Crew member {i} said QUOTEwe are homeQUOTE as the ferry docked." for i in range(500))
    ld = _news_ld(body)
    record = extract_article(_page(ld).encode(), url=URL, latest=LATEST)
    texts = [elem for elem, _ in received["extract_json_parse_error"]]
    assert len(texts) == 1 and len(texts[0]) <= html_io.MAX_UNPARSED_METADATA_CHARS < len(ld) // 3
    given_body = texts[0].split('"articleBody":"')[1].split('","datePublished"')[0]
    assert body.replace("\n", "").startswith(given_body.replace('"', "QUOTE"))   # normalised: no line breaks
    assert len(given_body) <= guards.MAX_FALLBACK_STRING
    assert texts[0].endswith('"publisher":{"@type":"Organization","name":"Lakeside Courier"}}')
    assert record["outlet"] == "Lakeside Courier"


def test_crafted_json_that_normalisation_breaks_is_bounded_for_all_the_pages_scripts(received):
    """JSON as written, with a backslash; trafilatura unescapes ``&quot;`` in it into ``"author":`` over and over
    (quadratic in its fallback): in one long string, in a long array, and in 300 short scripts of many keys (not
    cut). One page budget: each text at most its bound, their lengths squared at most its square (what one text
    that long costs), the short scripts given whole until that is spent, the last ones nothing."""
    crafted = json.dumps({"x": "\\", "note": "&quot;author&quot;: x " * 5_000})
    strings = json.dumps({"x": "\\", "notes": ["&quot;author&quot;: x "] * 5_000})   # its first items given
    short = json.dumps({"x": "\\", **{f"k{i}": "&quot;author&quot;: x " for i in range(40)}})
    extract_article(_page(crafted, strings, *[short] * 300).encode(), url=URL, latest=LATEST)
    lengths = [len(elem) for elem, _ in received["extract_json_parse_error"]]
    bound = html_io.MAX_UNPARSED_METADATA_CHARS
    assert max(lengths) <= bound and sum(n * n for n in lengths) <= bound ** 2
    assert 100 < lengths.count(lengths[2]) < 300 and lengths[2] > 800 and len(lengths) < 302


def test_many_authors_are_bounded_and_the_record_is_unchanged(received):
    """800 distinct JSON-LD authors (trafilatura compares each name with every other, once per author), then
    one ``<meta name="author">`` of 8,000 names: dedup's record uses no author, and is the same as with few."""
    few = extract_article(_page(_authors_ld(3)).encode(), url=URL, latest=LATEST)
    received["normalize_authors"].clear()
    assert extract_article(_page(_authors_ld(800)).encode(), url=URL, latest=LATEST) == few
    calls = received["normalize_authors"]
    assert len(calls) == guards.MAX_AUTHORS   # one a name, until that many are held
    assert all(current is None or current.count("; ") + 1 < guards.MAX_AUTHORS for current, _ in calls)
    meta = _page(head='<meta name="author" content="' + ", ".join(_names(8_000)) + '">')
    received["normalize_authors"].clear()
    record = extract_article(meta.encode(), url=URL, latest=LATEST)
    assert sum(len(text) for _, text in received["normalize_authors"]) <= guards.MAX_AUTHOR_CHARS
    assert record == extract_article(_page().encode(), url=URL, latest=LATEST)


def test_the_forum_check_answers_as_trafilaturas_pattern():
    import trafilatura.core

    assert trafilatura.core._DISCUSSION_FORUM_POSTING_RE.pattern == guards._FORUM_PATTERN   # the one analysed
    pieces = ['"@type":[', '"@type" : [ ', '"@type":"', "]", "}", '"DiscussionForumPosting"', '"Posting"', ",", "{"]
    texts = ["".join(combo) for n in range(1, 6) for combo in itertools.product(pieces, repeat=n)]
    assert len(texts) > 60_000
    mismatched = [text for text in texts
                  if guards._forum_type(text) != bool(trafilatura.core._DISCUSSION_FORUM_POSTING_RE.search(text))]
    assert mismatched == []


def test_nested_valid_json_ld_is_not_searched_with_the_pattern(monkeypatch):
    """``{"@type":[`` nested 400 deep: trafilatura's pattern scans depth × length; the guard answers alone."""
    import trafilatura.core

    searched, real = [], trafilatura.core._DISCUSSION_FORUM_POSTING_RE

    class Recording:   # trafilatura's pattern, which records what it searches
        pattern = real.pattern

        def search(self, text, *args):
            searched.append(len(text))
            return real.search(text, *args)

    html_io._trafilatura()
    nested = '{"@type":[' * 400 + json.dumps("long text " * 2_000) + "]}" * 400
    forum = '[' + nested + ', {"@type": ["Thing", "DiscussionForumPosting"]}]'
    monkeypatch.setattr(trafilatura.core, "_DISCUSSION_FORUM_POSTING_RE", Recording())
    record = extract_article(_page(nested).encode(), url=URL, latest=LATEST)
    assert searched == [] and record["text"].startswith(paragraphs(5)[0])
    tree = html_io._parsed(_page(forum))
    with guards.extraction(fallback_chars=0):
        assert trafilatura.core._forum_thread_page(tree) is True and searched == []
    assert trafilatura.core._forum_thread_page(tree) is True and searched == [len(forum)]   # outside: the original


def test_outside_extract_article_trafilatura_is_unchanged(received):
    """An application using trafilatura itself, in the same process, gets what trafilatura gives."""
    import trafilatura
    from trafilatura.settings import Document

    doc = trafilatura.bare_extraction(_page(_authors_ld(40)), with_metadata=True)
    assert doc.author.count("; ") + 1 == 40 > guards.MAX_AUTHORS
    long = '{"author": "x", ' * 2_000
    trafilatura.metadata.extract_json_parse_error(long, Document())
    assert [len(elem) for elem, _ in received["extract_json_parse_error"]] == [len(long)]
    assert guards._ACTIVE.get() is None


def test_the_guards_are_off_again_after_a_failed_extraction(monkeypatch):
    import trafilatura

    def failing(*args, **kwargs):
        assert guards._ACTIVE.get() is not None   # on during the extraction
        raise ValueError("parser error")

    html_io._trafilatura()
    monkeypatch.setattr(trafilatura, "bare_extraction", failing)
    assert extract_article(_page().encode(), url=URL, latest=LATEST).reason == "malformed_html"
    assert guards._ACTIVE.get() is None


def test_a_long_body_spends_no_fallback_budget_so_the_next_scripts_publisher_is_read():
    """A first script, JSON as written but not as trafilatura normalises it, just under the budget once
    normalised: its long strings are cut before it is charged, so the NewsArticle after it keeps its publisher."""
    description = ("The harbour &quot;plan&quot; explained. " * 600)[:13_100]   # normalised: 9,935 characters
    first = json.dumps({"@context": "https://schema.org", "@type": "WebPage", "url": "https://courier.example/x",
                        "description": description}).replace("/", "\\/")   # PHP's escaped slashes: a backslash
    record = extract_article(_page(first, _news_ld("A body with a QUOTEquoteQUOTE\nin it. " * 20)).encode(),
                             url=URL, latest=LATEST)
    assert (record["outlet"], record["published"][:10]) == ("Lakeside Courier", "2026-11-25")


def test_each_script_json_as_written_is_normalised_once_a_page(monkeypatch):
    """The fallback may be called once per script: the map from a normalised script to its shortened form is
    built once (it was rebuilt at every call, N scripts costing N² normalisations)."""
    html_io._trafilatura()
    normalised: list[int] = []
    real = guards._normalisation()

    def counting():
        def normalise(text):
            normalised.append(len(text))
            return real(text)
        return normalise

    monkeypatch.setattr(guards, "_normalisation", counting)
    # JSON as written, not normalised (&quot;); shortened, each normalises to a few characters (escaped line
    # breaks, which the normalisation drops): the budget outlasts them all, and the fallback sees every one
    scripts = ['{"k":"' + "\\n" * 200 + "&quot;" + f"x{i}\\/" * 3_000 + '"}' for i in range(30)]
    extract_article(_page(*scripts).encode(), url=URL, latest=LATEST)
    assert 0 < len(normalised) <= 2 * len(scripts)


def test_a_hosts_own_wrapper_of_one_modules_function_stays_that_modules():
    """Each module's guard calls the function it replaced there: a host that wrapped
    ``trafilatura.metadata.normalize_authors`` before dedup's first page keeps its wrapper, outside dedup."""
    import subprocess
    import sys

    script = """
import trafilatura, trafilatura.metadata as M, trafilatura.json_metadata as J
page = ('<html><head><meta name="author" content="Jane Smith"></head><body><article><h1>T</h1>'
        + '<p>Some paragraph of the article text, long enough for the extractor to keep it.</p>' * 8
        + '</article></body></html>')
original = M.normalize_authors
M.normalize_authors = lambda current, text: (original(current, text) or '').upper() or None
before = trafilatura.bare_extraction(page, with_metadata=True).author
from dedup.io.html import extract_article
extract_article(page.encode(), latest='2026-12-03')
print(before, trafilatura.bare_extraction(page, with_metadata=True).author, J.normalize_authors(None, 'Jane Smith'))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["JANE", "SMITH", "JANE", "SMITH", "Jane", "Smith"]


def test_tags_are_stripped_as_trafilaturas_pattern_strips_them():
    """:func:`_strip_tags` gives ``HTML_STRIP_TAGS.sub("", text)`` exactly, in linear time (the pattern searched
    from each ``<!--`` never closed to the text's end: ``<!--x>`` over and over took 10 CPU s at 90 kB)."""
    import random
    import re

    from trafilatura.utils import HTML_STRIP_TAGS

    assert HTML_STRIP_TAGS.pattern == guards._STRIP_PATTERN
    pieces = ["<", ">", "<!--", "-->", "--", "-", "!", "\n", "x", " ", "<a>", "<!---->", "<!-- a -->", "<!", "->"]
    rng = random.Random(36)
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
        assert guards._strip_tags(text) == HTML_STRIP_TAGS.sub("", text), text
    assert guards._strip_tags("<!--x>" * 3) == "" and isinstance(HTML_STRIP_TAGS, re.Pattern)


def test_json_ld_tags_are_stripped_by_the_linear_scan_during_extraction_only(monkeypatch):
    import trafilatura.json_metadata

    html_io._trafilatura()
    scanned: list[int] = []
    real = guards._strip_tags
    monkeypatch.setattr(guards, "_strip_tags", lambda text: scanned.append(len(text)) or real(text))
    script = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry returns",
                         "description": "<!--x>" * 2_000})
    extract_article(_page(script).encode(), url=URL, latest=LATEST)
    assert max(scanned) >= 12_000   # the script, through normalize_json
    scanned.clear()
    assert trafilatura.json_metadata.normalize_json("a <b>bold</b> <!--x>") == "a bold"
    assert scanned == []   # outside dedup's extraction: trafilatura's own pattern


def test_a_long_headline_is_never_cut_for_the_fallback(received):
    """Strings over MAX_FALLBACK_STRING characters are cut for the fallback, but not a headline or a name: the
    fallback reads the title from them (a page without og:title whose JSON-LD it alone reads)."""
    headline = "Ferry returns to port after " + "a very long winter of storms and repairs, " * 8
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": headline.strip(),
                     "articleBody": "A body with a QUOTEquoteQUOTE\nin it. " * 40,
                     "publisher": {"@type": "Organization", "name": "Lakeside Courier"}}).replace("QUOTE", "&quot;")
    extract_article(_page(ld).encode(), url=URL, latest=LATEST)
    (given,) = [args[0] for args in received["extract_json_parse_error"]]
    assert headline.strip() in given and len(given) < len(ld)


def _php_json(value) -> str:
    """``value`` as a CMS writes its JSON-LD: PHP's ``json_encode`` escapes slashes (a backslash in the text) and
    the theme's ``htmlspecialchars`` writes quotation marks ``&quot;``: JSON as written, not once trafilatura
    unescapes the entities (the strings' quotation marks end them early)."""
    return json.dumps(value, ensure_ascii=False).replace("/", "\\/").replace("QUOTE", "&quot;")


def _update(i: int) -> dict:
    """A live blog's update: a few hundred characters of text, a quotation in it."""
    return {"@type": "BlogPosting", "headline": f"Update {i}: the ferry's crew speaks to reporters on the quay",
            "datePublished": f"2026-11-25T{8 + i // 6:02d}:{i % 6 * 10:02d}:00Z",
            "url": f"https://courier.example/live/ferry-returns#update-{i}",
            "author": {"@type": "Person", "name": "Mira Okonjo"},
            "articleBody": f"At {8 + i // 6}h the captain said QUOTEwe are home at lastQUOTE, and the harbour master "
                           "added that the quay would stay closed to cars until the afternoon. Families waited "
                           "behind the barrier with flags and flasks of coffee; the first passengers came down the "
                           "ramp to applause, and the ferry company promised a statement on the repairs later."}


def test_a_live_blogs_publisher_after_its_updates_is_read(received):
    """A LiveBlogPosting whose 25 updates (strings cut, still 12 kB) come before its publisher: JSON as written, not
    once trafilatura unescapes ``&quot;``, so its fallback alone reads it. Given each array's first items only, the
    fallback sees the title and the publisher after the updates."""
    ld = _php_json({"@context": "https://schema.org", "@type": "LiveBlogPosting",
                    "headline": "Live: ferry returns to port after the winter storms",
                    "description": "Follow the QUOTELakeside StarQUOTE's return as it happens.",
                    "datePublished": "2026-11-25T08:00:00Z", "coverageStartTime": "2026-11-25T08:00:00Z",
                    "liveBlogUpdate": [_update(i) for i in range(25)],
                    "publisher": {"@type": "NewsMediaOrganization", "name": "Lakeside Courier",
                                  "logo": {"@type": "ImageObject", "url": "https://courier.example/logo.png"}}})
    record = extract_article(_page(ld).encode(), url=URL, latest=LATEST)
    assert (record["title"], record["outlet"]) == ("Live: ferry returns to port after the winter storms",
                                                   "Lakeside Courier")
    (given,) = [elem for elem, _ in received["extract_json_parse_error"]]
    assert given.count('"@type":"BlogPosting"') == guards.MAX_FALLBACK_ITEMS


def _video(i: int) -> str:
    return _php_json({"@context": "https://schema.org", "@type": "VideoObject",
                      "name": f"Ferry returns: the crew's arrival, clip {i}",
                      "description": "The captain says QUOTEwe are homeQUOTE as the ferry docks after the winter "
                                     "storms; families wait on the quay with flags, and the harbour master explains "
                                     "why the quay stays closed to cars until the afternoon. Filmed on the quay.",
                      "thumbnailUrl": f"https://cdn.courier.example/video/{1000 + i}/thumb-1280x720.jpg",
                      "uploadDate": "2026-11-25T09:00:00Z", "duration": "PT1M32S",
                      "contentUrl": f"https://cdn.courier.example/video/{1000 + i}/ferry-returns-1080p.mp4",
                      "embedUrl": f"https://courier.example/embed/video/{1000 + i}"})


def test_the_articles_script_after_many_video_scripts_is_read(received):
    """24 VideoObject scripts before the NewsArticle's, each JSON as written, not as trafilatura normalises it: the
    fallback's time is quadratic in each text, so the page's budget counts each text's length squared, and 24
    short texts leave the article's script most of it (a count of characters gave it nothing)."""
    article = _php_json({"@context": "https://schema.org", "@type": "NewsArticle",
                         "headline": "Ferry returns to port", "description": "QUOTEWe are homeQUOTE, says the crew.",
                         "datePublished": "2026-11-25T09:40:00Z",
                         "publisher": {"@type": "Organization", "name": "Lakeside Courier"}})
    record = extract_article(_page(*(_video(i) for i in range(24)), article).encode(), url=URL, latest=LATEST)
    assert (record["title"], record["outlet"]) == ("Ferry returns to port", "Lakeside Courier")
    lengths = [len(elem) for elem, _ in received["extract_json_parse_error"]]
    assert len(lengths) == 25 and sum(lengths) > html_io.MAX_UNPARSED_METADATA_CHARS
    assert sum(n * n for n in lengths) <= html_io.MAX_UNPARSED_METADATA_CHARS ** 2


def test_each_array_is_cut_to_its_first_items_but_a_list_of_entities():
    """:func:`_first_items`: brackets and commas in strings are text; the script itself, if a list, and a
    ``@graph`` are a page's entities (any may be the article), kept whole."""
    graph = {"@graph": [{"@type": kind, "sameAs": ["a", "b]", "c,", "d"], "n": [[1, 2, 3, 4], 5, 6, 7]}
                        for kind in "ABCDE"]}
    assert json.loads(guards._first_items(json.dumps(graph))) == {"@graph": [
        {"@type": kind, "sameAs": ["a", "b]", "c,"], "n": [[1, 2, 3], 5, 6]} for kind in "ABCDE"]}
    assert json.loads(guards._first_items(json.dumps([[1, 2, 3, 4]] * 5, indent=1))) == [[1, 2, 3]] * 5
    assert guards._first_items('{"a":[1,2,3],"b":[]}') == '{"a":[1,2,3],"b":[]}'



def _first_items_reference(value, entities=True):
    """What :func:`_first_items` gives, from the parsed value: arrays cut, but the top level's and a ``@graph``'s."""
    if isinstance(value, list):
        return [_first_items_reference(x, False) for x in (value if entities else value[:guards.MAX_FALLBACK_ITEMS])]
    if isinstance(value, dict):
        return {k: _first_items_reference(x, k == "@graph") for k, x in value.items()}
    return value


def test_first_items_equals_cutting_the_parsed_json_whatever_its_layout():
    """Random nested JSON written every usual way (indented or not, a ``@graph`` bracket on a line of its own,
    ``\\/`` and ``\\u`` escapes, keys and strings holding brackets, commas, quotes and ``"@graph":[``)."""
    rng = random.Random(7)
    chars = ["a", "[", "]", "{", "}", ",", '"', "\\", "/", ":", " ", "é", "\u2028", "\n", "😀", "@graph", '"@graph":[']

    def text():
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))

    def value(depth):
        roll = rng.random()
        if depth > 5 or roll < 0.3:
            return rng.choice([text(), rng.randint(-5, 5), 1.5, True, None])
        if roll < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 7))]
        return {rng.choice(["@graph", "name", text(), "itemListElement"]): value(depth + 1) for _ in range(4)}

    for _ in range(2_000):
        parsed = value(0)
        written = json.dumps(parsed, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 0, 2, 30]),
                             separators=rng.choice([None, (",", ":"), (" , ", " :\n" + " " * 40)]))
        written = written.replace("/", "\\/") if rng.random() < 0.5 else written
        assert json.loads(guards._first_items(written)) == _first_items_reference(parsed), written
