"""HTML extraction time against page size, and what ``read.max_html_bytes`` saves (session 34).

Times :func:`dedup.io.html.extract_article` on generated pages (texts from the test suite's fictional
story generator) of several sizes and layouts, without a limit and with the default limit::

    python -m benchmarks.bench_html_size                      # distinct, repeated, script, style
    python -m benchmarks.bench_html_size soup --sizes 1,8     # the tests' div-soup layout
    python -m benchmarks.bench_html_size jsonld badjsonld --sizes 0.025,0.05,0.1,0.2   # JSON-LD scripts
    python -m benchmarks.bench_html_size --profile distinct:8 # cProfile of one page

Results: ``benchmarks/README.md`` §5.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import itertools
import json
import pstats
import string
import time

from dedup.io.html import extract_article
from dedup.settings import ReadConfig
from tests.conftest import make_story

KINDS = ("distinct", "repeated", "script", "style", "soup", "jsonld", "badjsonld")
DEFAULT_KINDS = KINDS[:4]
HEAD = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Port strike | Gazette</title>'
        '<meta property="og:site_name" content="Gazette"><meta property="article:published_time" '
        'content="2026-11-27T08:15:00+01:00">{extra}</head><body><article><h1>Port strike</h1>')
TAIL = "</article></body></html>"
URL = "https://gazette.example/port-strike"


def _paragraphs(nbytes: int, distinct: bool = True) -> list[str]:
    out, size, seed = [], 0, 0
    base = " ".join(make_story(1, 3))
    while size < nbytes:
        text = " ".join(make_story(seed, 3)) if distinct else base
        seed += 1
        out.append(f"<p>{html.escape(text)}</p>\n")
        size += len(out[-1])
    return out


def page(kind: str, mib: float) -> bytes:
    """A page of about ``mib`` MiB: ``distinct`` paragraphs, one paragraph ``repeated``, a 20 kB article
    with a large inline ``script`` state blob (as a Next.js page carries) or ``style`` sheet, the
    tests' div ``soup`` layout, or a 20 kB article with a large JSON-LD script, valid (``jsonld``: a
    schema.org ``NewsArticle``, which trafilatura reads as metadata, with a list of distinct authors, none
    part of another, which its ``normalize_authors`` compares pairwise) or not JSON (``badjsonld``:
    ``"author":`` over and over without a closing brace, which trafilatura's regular-expression fallback
    searches in quadratic time)."""
    n = int(mib * 2**20)
    article = "".join(_paragraphs(20_000))
    if kind in ("distinct", "repeated"):
        return (HEAD.format(extra="") + "".join(_paragraphs(n, distinct=kind == "distinct")) + TAIL).encode()
    if kind == "script":
        blob = json.dumps({"items": [{"id": i, "title": f"Story {i}", "body": "x" * 200} for i in range(n // 240)]})
        return (HEAD.format(extra="") + article + TAIL.replace("</body>", f"<script>window.__S={blob}</script></body>")
                ).encode()
    if kind == "style":
        css = "".join(f".c{i}{{color:#{i % 4096:03x};margin:{i % 9}px}}\n" for i in range(n // 32))
        return (HEAD.format(extra=f"<style>{css}</style>") + article + TAIL).encode()
    if kind == "soup":
        from tests.io.pages import div_soup_page, paragraphs
        return div_soup_page(paragraphs(7, int(n / 365))).encode()
    if kind in ("jsonld", "badjsonld"):
        names = ("Ann " + "".join(four).capitalize() for four in itertools.product(string.ascii_lowercase, repeat=4))
        ld = (json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Port strike",
                          "author": [{"@type": "Person", "name": next(names)} for _ in range(n // 40)]})
              if kind == "jsonld"
            else ('"author": x ' * (n // 12 + 1))[:n])
        return (HEAD.format(extra=f'<script type="application/ld+json">{ld}</script>') + article + TAIL).encode()
    raise ValueError(f"unknown page kind {kind!r}: one of {', '.join(KINDS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", metavar="KIND",
                        help=f"page layouts: {', '.join(KINDS)} (default: {', '.join(DEFAULT_KINDS)})")
    parser.add_argument("--sizes", default="0.5,1,2,4,8", help="page sizes in MiB, comma-separated")
    parser.add_argument("--profile", metavar="KIND:MIB", help="profile one page instead")
    args = parser.parse_args()
    if args.profile:
        kind, mib = args.profile.split(":")
        profile = cProfile.Profile()
        profile.runcall(extract_article, page(kind, float(mib)), url=URL)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    limit = ReadConfig().max_html_bytes
    extract_article(page("distinct", 0.05), url=URL)   # imports warmed
    for kind in args.kinds or DEFAULT_KINDS:
        for mib in (float(x) for x in args.sizes.split(",")):
            data = page(kind, mib)
            wall, cpu = time.perf_counter(), time.process_time()
            out = extract_article(data, url=URL)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            got = out.reason if not isinstance(out, dict) else f"{len(out['text']):,} chars"
            limited = time.perf_counter()
            after = extract_article(data, url=URL, max_bytes=limit)
            limited = time.perf_counter() - limited
            kept = "kept" if isinstance(after, dict) else after.reason
            print(f"{kind:9s} {len(data) / 2**20:6.2f} MiB  no limit {wall:6.2f} s wall {cpu:6.2f} s CPU ({got}); "
                  f"default limit {limited:6.3f} s ({kept})", flush=True)


if __name__ == "__main__":
    main()
