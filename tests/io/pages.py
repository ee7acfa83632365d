"""Fixture builders for the input tests: boilerplate-heavy news pages and WARC archives.

Everything is fictional and generated here, so the tests need no data files.
The benchmark ``benchmarks/bench_html.py`` builds its pages with the same code.
"""

from __future__ import annotations

import html
import io
import json

from tests.conftest import make_story

NAV = "Home World Business Sport Opinion Culture Podcasts Subscribe"
COOKIE = "We use cookies to improve your experience on our site. Accept all or manage your preferences."
RELATED = ["Council approves new harbour budget", "Ferry services resume after the storm",
           "Teachers vote on the reform proposal"]
COMMENTS = ["Reader42: the council never listens to the people of this city, shameful as usual.",
            "HarbourFan: great reporting as always, thank you for keeping us informed every day."]
NEWSLETTER = "Sign up for our morning newsletter and never miss a story."
FOOTER = "All rights reserved. Harbour Gazette Media Group."


def paragraphs(seed: int, n: int = 6, per: int = 3) -> list[str]:
    """``n`` paragraphs of ``per`` distinct fictional sentences each."""
    sentences = make_story(seed, n * per)
    return [" ".join(sentences[i * per:(i + 1) * per]) for i in range(n)]


def classic_page(paras: list[str], *, title: str = "Port strike enters third day", site: str = "Harbour Gazette",
                 url: str = "https://www.harbour-gazette.example/news/port-strike",
                 published: str = "2026-11-27T08:15:00+01:00", charset: str = "utf-8") -> str:
    """Semantic layout: header nav, cookie banner, byline, related box, comments, footer."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    nav = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in NAV.split())
    related = "".join(f'<li><a href="/r{i}">{t}</a></li>' for i, t in enumerate(RELATED))
    comments = "".join(f'<div class="comment"><p>{c}</p></div>' for c in COMMENTS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}">
<title>{title} | {site}</title>
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="{url}">
</head><body>
<header><nav><ul>{nav}</ul></nav><div class="cookie-banner">{COOKIE}</div></header>
<main><article>
<h1>{title}</h1>
<p class="byline">By Staff Reporter</p>
<time datetime="{published}">27 November 2026</time>
{body}
<div class="newsletter">{NEWSLETTER}</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<section id="comments" class="comments"><h2>Comments</h2>{comments}</section>
</main>
<footer><p>{FOOTER}</p><p><a href="/about">About us</a> | <a href="/privacy">Privacy</a></p></footer>
</body></html>"""


def div_soup_page(paras: list[str], *, title: str = "Storm closes coastal road",
                  publisher: str = "Coastal Times", published: str = "2026-11-27T10:30:00Z") -> str:
    """Non-semantic layout: divs only, JSON-LD metadata, share buttons, 'Most read' sidebar."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": published, "publisher": {"@type": "Organization", "name": publisher}})
    body = "\n".join(f'<div class="txt"><p>{html.escape(p)}</p></div>' for p in paras)
    most_read = "".join(f'<div class="item"><a href="/m{i}">{t}</a></div>' for i, t in enumerate(RELATED))
    return f"""<html><head><title>{title} - {publisher}</title>
<script type="application/ld+json">{ld}</script></head>
<body><div id="top"><div class="menu">{NAV}</div></div>
<div id="wrap"><div class="share">Share on Facebook Share on X Copy link</div>
<div class="story-body"><h1 class="headline">{title}</h1>
{body}
<div class="read-more">Read more: <a href="/x">Council approves new harbour budget</a></div>
</div>
<div class="sidebar"><div class="box-title">Most read</div>{most_read}</div>
<div class="promo">{NEWSLETTER}</div></div>
<div class="foot">{FOOTER}</div></body></html>"""


#: Strings of the layouts' boilerplate; none may reach an article's text.
BOILERPLATE_STRINGS = [COOKIE, FOOTER, NEWSLETTER, "Related stories", "Most read", "Share on", "Read more",
                       "Staff Reporter", *RELATED, *(c.split(":")[0] for c in COMMENTS), "Podcasts"]

INDEX_PAGE = ("<html><head><title>World news</title></head><body><nav>" +
              "".join(f'<a href="/s{i}">Story {i}</a> ' for i in range(30)) + "</nav></body></html>")


def warc_bytes(records: list[dict], *, gzip: bool = False) -> bytes:
    """A WARC file from ``records``: dicts with ``type`` (response, request, resource, metadata...),
    ``uri``, ``status`` (responses), ``content_type`` and ``body`` (bytes)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzip)
    writer.write_record(writer.create_warcinfo_record("test.warc", {"software": "dedup tests"}))
    for rec in records:
        kind, body = rec.get("type", "response"), rec.get("body", b"")
        headers = None
        if kind == "response":
            status = rec.get("status", "200 OK")
            fields = [("Content-Type", rec["content_type"])] if rec.get("content_type") else []
            headers = StatusAndHeaders(status, fields + [("Content-Length", str(len(body)))],
                                       protocol="HTTP/1.1")
        elif kind == "request":
            headers = StatusAndHeaders(f"GET {rec['uri']} HTTP/1.1", [("Host", "example")], is_http_request=True)
        record = writer.create_warc_record(
            rec["uri"], kind, payload=io.BytesIO(body), http_headers=headers,
            warc_content_type=None if kind == "response" else rec.get("content_type", "text/plain"))
        writer.write_record(record)
    return buf.getvalue()
