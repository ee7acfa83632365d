"""Scaling and end-to-end speed: ``dedup cluster`` at 10k, 100k, 1M articles, and against the textbook recipe.

Corpora are built from real Reuters-21578 wire text (``../shared/eval-data``)
by the syndication simulator (``benchmarks/syndication.py``: trims, padding,
copy edits, re-headlines, updates, stitched copies, press-release hard
negatives), then scaled up:

1. **Bases**: the simulator runs with several seeds on both splits of the
   Reuters items (main/holdout), ``--stories`` base stories each (about 4.9
   articles per story); every base is a different set of edits.
2. **Replicas**: to go past what Reuters holds, each base corpus is copied
   with a *vocabulary permutation* per copy: every word of four or more
   letters is replaced by another corpus word of the same length, by a
   bijection seeded by (base, replica). Punctuation, numbers, sentence and
   paragraph structure, lengths and each copy's edits are kept. Two replicas
   of one story are different stories with the same shape, but not disjoint:
   numbers and words of fewer than four letters survive the permutation, so
   they share some 4-word shingles (measured by session 27's review on a
   1,359-article base, 300 stories: of its first 600 articles, 535 share at
   least one with their replica, 190 at least eight; the highest containment
   0.21). Too few to merge (no cross-replica pair accepted with 2, 4 or 8
   replicas), so the cluster structure of the corpus is the simulator's,
   repeated; but they are candidate pairs, which LSH and verification pay
   for, and their number grows with the square of the replicas (100, 635 and
   3,104 cross-replica candidates with 2, 4 and 8 replicas of that base; see
   benchmarks/README.md §9). Replica 0 of the first base of each split is the
   unpermuted text; the other bases of that split (other seeds, the same
   Reuters items) are permuted even in replica 0, since two unpermuted bases
   of one split would carry the same wire originals and merge into stories of
   twice the size (corpus version 2; version 1 did, see benchmarks/README.md
   §9, "Session 21").

Written as JSON Lines shards of 50,000 articles in ``WORK/corpus-N/``
(cached: a second run reuses them).

Commands::

    python benchmarks/bench_scale.py build --n 100000 --work /tmp/scale
    python benchmarks/bench_scale.py run --sizes 10000,100000,1000000 --work /tmp/scale --json out.json
    python benchmarks/bench_scale.py compare --n 20000 --work /tmp/scale --json out.json

``run`` runs ``dedup cluster`` (clusters, sentence diffs, report) in a fresh
process per size and records its wall time (process start to exit, taken
by a blocking wait), the peak RSS of the largest process of the run
(``ru_maxrss``), the peak PSS of the process and its forked workers together
(sampled from ``/proc`` every 0.2 s: the physical memory of the whole run),
and the per-stage seconds and peak RSS from ``timings.json``. Every measured
process is started by a small launcher (``benchmarks/procmem.py``), so its
``ru_maxrss`` does not start from this process's peak (which holds the
corpus when it was just built). ``compare`` runs the textbook datasketch
recipe (``benchmarks/baseline_datasketch.py``: one ``MinHash`` per article,
``MinHashLSH`` insert + query, union-find) and the full ``dedup cluster``
on the same corpus, each in its own fresh process, first once each untimed
(the warm-up: numba's compile cache, the page cache), then once each timed,
and prints the ratio of the textbook's clustering time (taken inside its
process) to ours end to end (process start to exit), from unrounded times.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import polars as pl
import regex

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import procmem, syndication  # noqa: E402

SHARD = 50_000
# Bumped when the same arguments build a different corpus; a cached corpus of another version is rebuilt.
CORPUS_VERSION = 2
_WORD = regex.compile(r"\p{L}{4,}")
PUBLIC = ["id", "outlet", "title", "text", "published", "url"]


def _bases(work: Path, stories: int, seeds: list[int]) -> list[Path]:
    """Simulated corpora, one per (seed, split), cached as Parquet."""
    paths = []
    for seed in seeds:
        for holdout in (False, True):
            path = work / f"base-{seed}-{'h' if holdout else 'm'}-{stories}.parquet"
            if not path.exists():
                t0 = time.perf_counter()
                frame = syndication.build_corpus(stories, seed=seed, holdout=holdout).select(PUBLIC)
                frame.write_parquet(path)
                print(f"built {path.name}: {frame.height} articles in {time.perf_counter() - t0:.0f}s",
                      file=sys.stderr)
            paths.append(path)
    return paths


def _vocabulary(frames: list[pl.DataFrame]) -> dict[int, list[str]]:
    """Distinct lower-case words of four or more letters, by length, sorted."""
    words: set[str] = set()
    for frame in frames:
        for text in frame["text"].to_list() + frame["title"].to_list():
            words.update(w.lower() for w in _WORD.findall(text or ""))
    by_len: dict[int, list[str]] = {}
    for w in sorted(words):
        by_len.setdefault(len(w), []).append(w)
    return by_len


def _permutation(by_len: dict[int, list[str]], seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    mapping = {}
    for words in by_len.values():
        shuffled = list(words)
        rng.shuffle(shuffled)
        mapping.update(zip(words, shuffled))
    return mapping


def _apply(text: str | None, mapping: dict[str, str]) -> str | None:
    if text is None:
        return None

    def sub(m: regex.Match) -> str:
        w = m.group(0)
        new = mapping.get(w.lower(), w)
        if w.isupper():
            return new.upper()
        return new.capitalize() if w[0].isupper() else new

    return _WORD.sub(sub, text)


def build(n: int, work: Path, stories: int = 3000, seeds: tuple[int, ...] = (7, 11)) -> Path:
    """Write (or reuse) an n-article corpus folder and return it."""
    out = work / f"corpus-{n}"
    done = out / "DONE"
    if done.exists() and json.loads(done.read_text()).get("version") == CORPUS_VERSION:
        return out
    for old in out.glob("part-*.jsonl"):
        old.unlink()
    work.mkdir(parents=True, exist_ok=True)
    paths = _bases(work, stories, list(seeds))
    bases = [pl.read_parquet(p) for p in paths]
    split = [p.stem.split("-")[2] for p in paths]      # base-SEED-SPLIT-STORIES
    by_len = _vocabulary(bases)
    out.mkdir(parents=True, exist_ok=True)
    written, shard, rows, replica = 0, 0, [], 0
    t0 = time.perf_counter()
    while written < n:
        for b, base in enumerate(bases):
            take = base.head(n - written)
            if replica == 0 and split.index(split[b]) == b:   # the first base of its split
                frame = take
            else:
                mapping = _permutation(by_len, seed=1_000_003 * replica + b)
                frame = take.with_columns(
                    text=pl.Series([_apply(t, mapping) for t in take["text"].to_list()]),
                    title=pl.Series([_apply(t, mapping) for t in take["title"].to_list()]),
                )
            frame = frame.with_columns(id=pl.col("id") + f"-b{b}r{replica}",
                                       url=pl.col("url") + f"?r={b}.{replica}")
            rows.append(frame)
            written += frame.height
            while sum(f.height for f in rows) >= SHARD or (written >= n and rows):
                chunk = pl.concat(rows)
                head, rest = chunk.head(SHARD), chunk.slice(SHARD)
                head.with_columns(published=pl.col("published").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                                  ).write_ndjson(out / f"part-{shard:04d}.jsonl")
                shard += 1
                rows = [rest] if rest.height else []
            if written >= n:
                break
        replica += 1
    done.write_text(json.dumps({"articles": n, "shards": shard, "version": CORPUS_VERSION}))
    print(f"wrote {n} articles in {shard} shards to {out} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return out


def _child(argv: list[str], cwd: Path = REPO) -> procmem.Measured:
    """Run argv through procmem's launcher: wall seconds (a blocking wait, no polling), the peak RSS of
    the largest process of the run and the peak PSS of the process with its workers (sampled every 0.2 s,
    so a shorter spike can be missed), none of them floored by this process's own memory."""
    m = procmem.run(argv, cwd=cwd)
    if m.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({m.returncode}):\n{m.stderr[-3000:]}")
    return m


def run_dedup(corpus: Path, out: Path) -> dict:
    """``dedup cluster`` in a fresh process; ``wall_s`` is process start to exit (``_wall_s`` unrounded)."""
    m = _child([sys.executable, "-m", "dedup", "cluster", str(corpus), "--out", str(out), "--quiet"])
    timings = json.loads((out / "timings.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    n = summary["articles"]["read"]
    return {"articles": n, "wall_s": round(m.seconds, 2), "_wall_s": m.seconds,
            "articles_per_s": round(n / m.seconds, 1),
            "peak_rss_mb": round(m.peak_rss_mb, 1), "peak_pss_with_workers_mb": round(m.peak_pss_mb, 1),
            "stages": timings["stages"], "stories": summary["clusters"]["stories"]}


def run_textbook(corpus: Path) -> dict:
    """The textbook recipe in a fresh process; ``clustering_s`` is timed inside it (``_clustering_s`` unrounded)."""
    code = ("import json,sys,polars as pl; from pathlib import Path; "
            "from benchmarks.baseline_datasketch import run_baseline; "
            "files = sorted(Path(sys.argv[1]).glob('*.jsonl')); "
            "df = pl.concat([pl.read_ndjson(f) for f in files]); "
            "r = run_baseline(df); "
            "print(json.dumps({'articles': df.height, 'seconds': r.seconds, 'timings': r.timings}))")
    m = _child([sys.executable, "-c", code, str(corpus)])
    res = json.loads(m.stdout.strip().splitlines()[-1])
    return {"articles": res["articles"], "clustering_s": round(res["seconds"], 2), "_clustering_s": res["seconds"],
            "articles_per_s": round(res["articles"] / res["seconds"], 1), "process_wall_s": round(m.seconds, 2),
            "peak_rss_mb": round(m.peak_rss_mb, 1), "peak_pss_with_workers_mb": round(m.peak_pss_mb, 1),
            "stages": res["timings"]}


def compare(corpus: Path, work: Path, n: int) -> dict:
    """One untimed warm-up run of each side, then one timed run of each, every run in its own fresh
    process on the same corpus (the warm-ups fill numba's compile cache and the page cache for both)."""
    run_textbook(corpus)
    run_dedup(corpus, work / f"out-{n}-warmup")
    textbook = run_textbook(corpus)
    ours = run_dedup(corpus, work / f"out-{n}")
    speedup = textbook.pop("_clustering_s") / ours.pop("_wall_s")
    return {"textbook": textbook, "dedup": ours, "speedup": round(speedup, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("build", "run", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--work", type=Path, required=True)
        p.add_argument("--json", type=Path)
        p.add_argument("--stories", type=int, default=3000, help="base stories per simulator run")
        if name == "run":
            p.add_argument("--sizes", default="10000,100000,1000000")
        else:
            p.add_argument("--n", type=int, default=20000)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "build":
            build(args.n, args.work, args.stories)
            return 0
        if args.cmd == "run":
            results = {}
            for n in map(int, args.sizes.split(",")):
                corpus = build(n, args.work, args.stories)
                results[n] = run_dedup(corpus, args.work / f"out-{n}")
                results[n].pop("_wall_s")
                print(json.dumps({n: results[n]}), file=sys.stderr)
        else:
            corpus = build(args.n, args.work, args.stories)
            results = compare(corpus, args.work, args.n)
    except syndication.ReutersNotFound as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
