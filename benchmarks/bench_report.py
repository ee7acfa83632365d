"""Scale benchmark of the editors' report: build it, open it in headless Chromium, time what an editor does.

Synthetic frames (schemas CLUSTERS, SENTENCES, LINKS) for 20,000 articles in
3,000 multi-outlet stories by default: story sizes are heavy-tailed (most
stories have 2-6 articles, the largest 250), canonical texts have 12-30
sentences, and every other version keeps, edits or drops each canonical
sentence and adds a few of its own, some copied from an earlier version
(which makes LINKS rows).

Measured, in the browser (Debian's /usr/bin/chromium driven by Playwright):

* overview: navigation start to the first story of the list painted on
  screen (Element Timing), to the list built (``overview-rendered`` mark),
  and to ``load`` (the whole file, story details included, parsed);
* story details: the time to parse the story-detail JSON, which the page
  does once when it is first idle after load (or at the first open, if
  that comes sooner);
* open story: click in the list to the story view painted, for the largest
  story and for others;
* filter: choose an outlet in the filter to the list repainted;
* search: type a word to the list repainted (includes the 120 ms debounce;
  the first search builds the text index);
* next story: press ``j`` to the next story painted.

Interaction times are wall-clock from Python (Playwright round trips
included), through the next animation frame, so they are upper bounds.

Usage::

    python benchmarks/bench_report.py                      # 20,000 articles / 3,000 stories
    python benchmarks/bench_report.py --articles 2000 --stories 300 --repeat 1   # quick look
    python benchmarks/bench_report.py --report out-1m/report.html --search "oil prices" "coffee"  # a real night's
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from dedup.report import write_report
from dedup.schema import CLUSTERS, LINKS, SENTENCES

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
_WORDS = ("minister council harbour strike union wages talks port city officials spokesman agreement budget "
          "railway drought farmers river election court ruling appeal hospital nurses vaccine storm coast bridge "
          "tunnel airport flights delayed police protest market shares bank rates inflation exports fishing quota "
          "ferry museum festival school teachers parliament vote reform energy prices wind solar").split()


def story_sizes(n_articles: int, n_stories: int, rng: random.Random, max_size: int = 250) -> list[int]:
    """Heavy-tailed sizes between 2 and ``max_size``, summing to ``n_articles``."""
    if not 2 * n_stories <= n_articles <= max_size * n_stories:
        raise ValueError(f"{n_articles} articles cannot make {n_stories} stories of 2 to {max_size} articles")
    sizes = [2] * n_stories
    weights = [1 / (i + 1) ** 1.1 for i in range(n_stories)]
    for i in rng.choices(range(n_stories), weights=weights, k=n_articles - 2 * n_stories):
        while sizes[i] >= max_size:
            i = rng.randrange(n_stories)
        sizes[i] += 1
    return sizes


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(12, 24))).capitalize() + "."


def synthetic_frames(n_articles: int = 20_000, n_stories: int = 3_000, n_outlets: int = 400,
                     seed: int = 0) -> dict:
    """Frames for :func:`dedup.report.write_report`, reproducible from ``seed``."""
    rng = random.Random(seed)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    outlets = [f"Outlet {i:03d}" for i in range(n_outlets)]
    c_rows, s_cols, l_rows = [], {k: [] for k in SENTENCES}, []

    def sentence(cid, aid, outlet, status, pos, text, cpos, fam, sim, diff=None):
        for key, value in zip(SENTENCES, (cid, aid, outlet, status, pos, text, cpos, sim, fam, 0, len(text), diff)):
            s_cols[key].append(value)

    for story, size in enumerate(story_sizes(n_articles, n_stories, rng)):
        cid = f"story-{story:05d}"
        canon = [_sentence(rng) for _ in range(rng.randint(12, 30))]
        t0 = start + timedelta(minutes=rng.randrange(24 * 60))
        carriers = rng.sample(outlets, min(size, n_outlets)) + rng.choices(outlets, k=max(0, size - n_outlets))
        added_families: list[tuple[int, str, str, str]] = []  # (family, text, first article, first outlet)
        for k, outlet in enumerate(carriers):
            aid = f"{cid}-a{k:03d}"
            c_rows.append({"article_id": aid, "outlet": outlet, "title": " ".join(canon[0].split()[:8]),
                           "published": t0 + timedelta(minutes=7 * k), "url": f"https://{outlet[-3:]}.example/{aid}",
                           "cluster_id": cid, "cluster_size": size, "n_outlets": len(set(carriers)),
                           "is_canonical": k == 0, "canonical_id": f"{cid}-a000", "similarity": 1.0 if k == 0 else 0.8,
                           "jaccard": 1.0 if k == 0 else 0.7, "n_shingles": 300, "n_boilerplate": 0, "note": None})
            position = 0
            for cpos, text in enumerate(canon):
                roll = rng.random() if k else 0.0
                if roll < 0.75:
                    sentence(cid, aid, outlet, "kept", position, text, cpos, cpos, 1.0)
                    position += 1
                elif roll < 0.85:
                    words = text.split()
                    j = rng.randrange(len(words))
                    new = rng.choice(_WORDS)
                    diff = [{"op": "=", "text": " ".join(words[:j]) + " "}, {"op": "-", "text": words[j]},
                            {"op": "+", "text": new}, {"op": "=", "text": " " + " ".join(words[j + 1:])}]
                    sentence(cid, aid, outlet, "edited", position, " ".join(words[:j] + [new] + words[j + 1:]),
                             cpos, cpos, 0.8, diff)
                    position += 1
                else:
                    sentence(cid, aid, outlet, "dropped", cpos, text, cpos, cpos, None)
                if k and rng.random() < 0.06:
                    if added_families and rng.random() < 0.4:
                        fam, added, first_id, first_outlet = rng.choice(added_families)
                        l_rows.append({"cluster_id": cid, "family_id": fam, "first_article_id": first_id,
                                       "first_outlet": first_outlet, "article_id": aid, "outlet": outlet,
                                       "n_sentences": 1})
                    else:
                        fam, added = 1000 + len(added_families), _sentence(rng)
                        added_families.append((fam, added, aid, outlet))
                    sentence(cid, aid, outlet, "added", position, added, None, fam, None)
                    position += 1
    clusters = pl.DataFrame(c_rows, schema=CLUSTERS)
    sentences = pl.DataFrame(s_cols, schema=SENTENCES)
    links = pl.DataFrame(l_rows, schema=LINKS) if l_rows else pl.DataFrame(schema=LINKS)
    summary = {"dedup_version": "bench", "inputs": {"files": 1, "records": n_articles},
               "articles": {"read": n_articles, "clustered": n_articles, "rejected": 0, "rejected_by_reason": {}},
               "clusters": {"stories": n_stories, "singletons": 0, "largest": int(clusters["cluster_size"].max()),
                            "duplicates": n_articles - n_stories},
               "parameters": {"bench": {"seed": seed}}, "fingerprint": "synthetic"}
    return {"clusters": clusters, "sentences": sentences, "links": links, "summary": summary}


def _settle(page) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")


def _timed(action) -> float:
    t0 = time.perf_counter()
    action()
    return (time.perf_counter() - t0) * 1000


_MARKS = """() => new Promise(done => new PerformanceObserver((list, obs) => {
    const e = list.getEntries().find(x => x.identifier === 'first-story');
    if (e) { obs.disconnect(); done({p: e.renderTime || e.loadTime,
        o: performance.getEntriesByName('overview-rendered')[0].startTime,
        l: performance.timing.loadEventEnd - performance.timing.navigationStart}); }
}).observe({type: 'element', buffered: true}))"""
_PARSE = """() => { const t = performance.now(); JSON.parse(document.getElementById('story-data').textContent);
    return performance.now() - t; }"""
_COUNT_CHANGED = "c => document.querySelector('#count').textContent !== c"


def measure(path: Path, repeat: int, searches: tuple[str, str] = ("harbour strike", "ferry museum")
            ) -> dict[str, list[float]]:
    """Open the report ``repeat`` times in a fresh browser context; return the timings in ms by step.

    ``searches``: two queries typed in the search box, each of which must change the list's count.
    """
    from playwright.sync_api import sync_playwright
    results: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1366, "height": 860})
            for key, ms in _one_visit(context.new_page(), path, searches):
                results.setdefault(key, []).append(ms)
            context.close()
        browser.close()
    return results


def _one_visit(page, path: Path, searches: tuple[str, str]) -> list[tuple[str, float]]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def load():
        page.goto(path.as_uri())
        page.wait_for_selector("html[data-ready]")
        _settle(page)

    def open_nth(n):
        link = page.locator("#stories .story-link").nth(n)
        title = link.locator(".headline").text_content()
        link.click()
        page.wait_for_function("t => document.querySelector('.story-title')?.textContent === t", arg=title)
        _settle(page)

    def until_count_changes(action):
        before = page.text_content("#count")
        action()
        page.wait_for_function(_COUNT_CHANGED, arg=before)
        _settle(page)

    out = [("page load, wall (goto to load event, list shown)", _timed(load))]
    marks = page.evaluate(_MARKS)
    out += [("overview painted (navigation start to first story on screen)", marks["p"]),
            ("overview list built (navigation start, in page)", marks["o"]),
            ("load event: whole file parsed (navigation start)", marks["l"]),
            ("parse story details (once, when idle after load; in page)", page.evaluate(_PARSE)),
            ("open the largest story", _timed(lambda: open_nth(0)))]
    total = page.locator("#stories .story-link").count()
    others = sorted({int(total * f) for f in (0.01, 0.1, 0.33, 0.66, 0.97)} - {0})
    out.append(("open another story (median of 5)",
                statistics.median(_timed(lambda n=n: open_nth(n)) for n in others)))
    out.append(("next story with j", _timed(lambda: (page.keyboard.press("j"), _settle(page)))))
    out.append(("filter by outlet", _timed(lambda: until_count_changes(
        lambda: page.select_option("#outlet", index=5)))))
    page.select_option("#outlet", value="")
    out.append(("search text, first (builds index; 120 ms debounce)", _timed(lambda: until_count_changes(
        lambda: page.fill("#q", searches[0])))))
    out.append(("search text, again (120 ms debounce)", _timed(lambda: until_count_changes(
        lambda: page.fill("#q", searches[1])))))
    out.append(("sort by first-seen time", _timed(lambda: (page.select_option("#sort", "time"), _settle(page)))))
    if errors:
        raise RuntimeError(f"the page logged errors: {errors[:3]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--stories", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=3, help="cold page loads to measure (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="keep the report here (default: a temp folder)")
    parser.add_argument("--report", type=Path, default=None,
                        help="measure this existing report.html (e.g. a big night's) instead of generating one")
    parser.add_argument("--search", nargs=2, default=("harbour strike", "ferry museum"), metavar="QUERY",
                        help="the two searches typed (each must change the number of stories listed)")
    args = parser.parse_args(argv)
    if args.report is not None:
        path = args.report.resolve()
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
        return _print_results(measure(path, args.repeat, tuple(args.search)))
    t0 = time.perf_counter()
    frames = synthetic_frames(args.articles, args.stories)
    gen = time.perf_counter() - t0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-report-"))
    t0 = time.perf_counter()
    path = write_report(out, **frames)
    build = time.perf_counter() - t0
    print(f"{args.articles:,} articles, {args.stories:,} stories, {frames['sentences'].height:,} sentence rows, "
          f"{frames['links'].height:,} link rows; generated in {gen:.1f} s")
    print(f"write_report: {build:.2f} s, report.html {path.stat().st_size / 1e6:.1f} MB ({path})")
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: browser timings skipped", file=sys.stderr)
        return 0
    return _print_results(measure(path, args.repeat, tuple(args.search)))


def _print_results(results: dict[str, list[float]]) -> int:
    print("\n| step | median ms | max ms | runs |\n|---|---:|---:|---:|")
    for key, values in results.items():
        print(f"| {key} | {statistics.median(values):.0f} | {max(values):.0f} | {len(values)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
