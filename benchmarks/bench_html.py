"""How fast is the HTML path, how good is its text, and what share of a night does it take?

Pages are generated here (fictional text, no data files): the two layouts of the
tests (``tests/io/pages.py``: semantic ``<article>`` with nav, cookie banner,
byline, related box, comments, footer; and a div-only layout with JSON-LD, share
buttons, "Most read"), in two weights:

* ``light``: the layout alone, ~5 KB of HTML;
* ``heavy``: padded the way real news pages are, ~60 KB: inline scripts and
  styles, a 150-link mega-menu, a 24-teaser "More stories" grid, 30 comments, a
  link-farm footer.

Measured on one core, in CPU seconds (so that other work on the machine does
not distort the numbers; wall time is printed too):

1. extraction throughput (pages per CPU second) of :func:`dedup.io.html.extract_article`
   (decode + trafilatura with metadata, as shipped), and of trafilatura's
   ``fast`` and ``favor_precision`` modes for comparison;
2. quality against the known article text: token precision and recall, and
   the share of pages with any boilerplate string in the text;
3. WARC parsing alone, warcio (shipped) against fastwarc;
4. a whole run (``dedup.run``) on a WARC of heavy pages: the read stage's share
   of the night's wall time, from ``timings.json``, with the pages extracted in
   this process (``read.workers = 1``) and on one worker per core (the default),
   alternating, twice each (wall time: the point is the cores).

Run from the repository root (``tests`` must be importable)::

    python -m benchmarks.bench_html               # 300 pages per weight, ~2 minutes
    python -m benchmarks.bench_html --pages 100   # quicker
    python -m benchmarks.bench_html --night-only  # the whole run only (4.)
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from dedup.io.html import extract_article
from tests.io.pages import (
    BOILERPLATE_STRINGS,
    classic_page,
    div_soup_page,
    paragraphs,
    warc_bytes,
)

_WORD = re.compile(r"\w+")


def _heavy(page: str, rng: random.Random) -> str:
    """Pad a page with the weight real news pages carry."""
    script = "<script>" + "var cfg={" + ",".join(f'"k{i}":{i}' for i in range(800)) + "};</script>"
    style = "<style>" + "".join(f".c{i}{{margin:{i}px;color:#{i:06x}}}" for i in range(800)) + "</style>"
    menu = "<nav class='mega'>" + "".join(f"<a href='/s{i}'>Section {i}</a>" for i in range(150)) + "</nav>"
    teasers = "<section class='more'><h2>More stories</h2>" + "".join(
        f"<div class='teaser'><a href='/t{i}'><img src='/i{i}.jpg'><h3>Teaser headline number {i} about "
        f"{rng.choice(['the port', 'the council', 'the storm', 'the election'])}</h3></a>"
        f"<p>Short teaser text for story {i}.</p></div>" for i in range(24)) + "</section>"
    comments = "<section class='comments'>" + "".join(
        f"<div class='comment'><p>Reader{i}: comment number {i}, I completely disagree with the "
        f"author about this.</p></div>" for i in range(30)) + "</section>"
    footer = "<div class='links'>" + "".join(f"<a href='/f{i}'>Footer link {i}</a> " for i in range(200)) + "</div>"
    page = page.replace("</head>", script + style + "</head>", 1)
    page = page.replace("<body>", "<body>" + menu, 1)
    return page.replace("</body>", teasers + comments + footer + "</body>", 1)


def make_pages(n: int, heavy: bool, seed: int = 0) -> list[tuple[str, list[str]]]:
    """(html, article paragraphs) for ``n`` pages of varied length and layout."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paras = paragraphs(10_000 + i, n=rng.randint(4, 14))
        layout = classic_page if i % 2 == 0 else div_soup_page
        page = layout(paras, title=f"Story number {i}")
        out.append((_heavy(page, rng) if heavy else page, paras))
    return out


def _quality(text: str, paras: list[str]) -> tuple[int, int, int, bool]:
    got, want = Counter(_WORD.findall(text.lower())), Counter(_WORD.findall(" ".join(paras).lower()))
    hit = sum((got & want).values())
    junk = any(s in text for s in BOILERPLATE_STRINGS)
    return hit, sum(got.values()), sum(want.values()), junk


def bench_extract(pages, mode: str) -> dict:
    import trafilatura

    hit = got = want = junk = 0
    start, cpu = time.perf_counter(), time.process_time()
    for html, paras in pages:
        data = html.encode()
        if mode == "shipped":
            out = extract_article(data)
            text = out["text"] if isinstance(out, dict) else ""
        else:
            doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                              fast=mode == "fast", favor_precision=mode == "precision")
            text = doc.text if doc else ""
        h, g, w, j = _quality(text, paras)
        hit, got, want, junk = hit + h, got + g, want + w, junk + j
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"mode": mode, "pages_per_cpu_s": round(len(pages) / cpu, 1), "pages_per_wall_s": round(len(pages) / seconds, 1),
            "kb_per_page": round(sum(len(p[0]) for p in pages) / len(pages) / 1024, 1),
            "precision": round(hit / max(got, 1), 4), "recall": round(hit / max(want, 1), 4),
            "pages_with_boilerplate": junk}


def bench_warc_parsing(pages) -> dict:
    records = [{"uri": f"https://www.example.org/{i}", "content_type": "text/html", "body": html.encode()}
               for i, (html, _) in enumerate(pages)]
    data = warc_bytes(records, gzip=True)
    out = {"records": len(records), "warc_gz_mb": round(len(data) / 2**20, 1)}
    from warcio.archiveiterator import ArchiveIterator

    start = time.process_time()
    n = sum(len(r.content_stream().read()) > 0 for r in ArchiveIterator(io.BytesIO(data)) if r.rec_type == "response")
    out["warcio_records_per_cpu_s"] = round(n / (time.process_time() - start))
    try:
        from fastwarc.warc import ArchiveIterator as FastIterator
        from fastwarc.warc import WarcRecordType
    except ImportError:
        out["fastwarc_records_per_cpu_s"] = None
    else:
        start = time.process_time()
        n = sum(len(r.reader.read()) > 0 for r in FastIterator(io.BytesIO(data), record_types=WarcRecordType.response))
        out["fastwarc_records_per_cpu_s"] = round(n / (time.process_time() - start))
    return out


def bench_night(pages) -> list[dict]:
    from dedup import Config, run

    records = [{"uri": f"https://www.outlet{i % 7}.example/{i}", "content_type": "text/html",
                "body": html.encode()} for i, (html, _) in enumerate(pages)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "in").mkdir()
        (Path(tmp) / "in" / "night.warc.gz").write_bytes(warc_bytes(records, gzip=True))
        for workers in (1, 0, 1, 0):
            start = time.perf_counter()
            result = run([Path(tmp) / "in"], Path(tmp) / f"out-{len(rows)}",
                         config=Config().replace(read={"workers": workers}))
            total = time.perf_counter() - start
            stages = {k: v["seconds"] for k, v in result.timings.items()}
            rows.append({"read_workers": workers, "pages": len(pages),
                         "articles": result.summary["articles"]["clustered"], "total_s": round(total, 2),
                         "read_s": stages["read"], "read_share": round(stages["read"] / total, 3), "stages_s": stages})
            print("night", json.dumps(rows[-1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="pages per weight (default 300)")
    parser.add_argument("--night-only", action="store_true", help="only the whole run on a WARC (4.)")
    args = parser.parse_args()
    if args.night_only:
        bench_night(make_pages(args.pages, heavy=True, seed=2))
        return
    report = {}
    for weight in ("light", "heavy"):
        pages = make_pages(args.pages, heavy=weight == "heavy")
        for html, _ in pages[:5]:  # warm up imports and jusText's one-off stoplist (~1 s)
            extract_article(html.encode())
        report[weight] = [bench_extract(pages, mode) for mode in ("shipped", "default", "fast", "precision")]
        for row in report[weight]:
            print(weight, json.dumps(row))
    report["warc"] = bench_warc_parsing(make_pages(args.pages, heavy=True, seed=1))
    print("warc", json.dumps(report["warc"]))
    report["night"] = bench_night(make_pages(args.pages, heavy=True, seed=2))


if __name__ == "__main__":
    main()
