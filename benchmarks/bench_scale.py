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
   paragraph structure, lengths and each copy's edits are kept, and two
   replicas of one story share no 4-word shingle (they are different stories
   with the same shape), so the cluster structure of the corpus is the
   simulator's, repeated. Replica 0 of the first base of each split is the
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
process per size and records its wall time (process start to exit), the
peak RSS of that process (``getrusage`` of the child), the peak PSS of the
process and its forked workers together (sampled from ``/proc``: the
physical memory of the whole run), and the per-stage
seconds and peak RSS from ``timings.json``. ``compare`` runs the textbook
datasketch recipe (``benchmarks/baseline_datasketch.py``: one ``MinHash``
per article, ``MinHashLSH`` insert + query, union-find) and the full
``dedup cluster`` on the same corpus, each in its own process, and prints
the ratio of the textbook's clustering time to ours end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import regex

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import syndication  # noqa: E402

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


def _tree_pss_mb(pid: int) -> float:
    """Proportional set size (MB) of process ``pid`` and all its descendants (Linux; nan elsewhere).

    PSS counts a page shared by n processes as 1/n in each, so the sum is the physical memory the
    run holds, forked workers included (a sum of RSS would count copy-on-write pages once per worker).
    """
    children: dict[int, list[int]] = {}
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
                except OSError:
                    continue
    except OSError:
        return float("nan")
    total, todo = 0.0, [pid]
    while todo:
        q = todo.pop()
        try:
            with open(f"/proc/{q}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
        except (OSError, StopIteration):
            continue
        todo.extend(children.get(q, []))
    return total


def _child(argv: list[str], cwd: Path = REPO) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """Run argv; wall seconds, the child's peak RSS (MB) and the peak PSS of it and its workers (MB).

    The PSS is sampled every half second, so a shorter spike can be missed.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(argv, stdout=out, stderr=err, text=True, cwd=cwd)
        pss = 0.0
        while child.poll() is None:
            pss = max(pss, _tree_pss_mb(child.pid))
            time.sleep(0.5)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(argv, child.returncode, out.read(), err.read())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    # ru_maxrss of children is the max over all children so far: report it only if it grew
    return seconds, (peak / 1024 if peak > before else float("nan")), pss, proc


def run_dedup(corpus: Path, out: Path) -> dict:
    seconds, rss, pss, _ = _child([sys.executable, "-m", "dedup", "cluster", str(corpus), "--out", str(out),
                                   "--quiet"])
    timings = json.loads((out / "timings.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    n = summary["articles"]["read"]
    return {"articles": n, "wall_s": round(seconds, 1), "articles_per_s": round(n / seconds, 1),
            "peak_rss_mb": round(rss, 1), "peak_pss_with_workers_mb": round(pss, 1), "stages": timings["stages"],
            "stories": summary["clusters"]["stories"]}


def run_textbook(corpus: Path) -> dict:
    code = ("import json,sys,polars as pl; from pathlib import Path; "
            "from benchmarks.baseline_datasketch import run_baseline; "
            "files = sorted(Path(sys.argv[1]).glob('*.jsonl')); "
            "df = pl.concat([pl.read_ndjson(f) for f in files]); "
            "r = run_baseline(df); "
            "print(json.dumps({'articles': df.height, 'seconds': r.seconds, 'timings': r.timings}))")
    seconds, rss, pss, proc = _child([sys.executable, "-c", code, str(corpus)])
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"articles": res["articles"], "clustering_s": round(res["seconds"], 1),
            "articles_per_s": round(res["articles"] / res["seconds"], 1), "process_wall_s": round(seconds, 1),
            "peak_rss_mb": round(rss, 1), "peak_pss_with_workers_mb": round(pss, 1), "stages": res["timings"]}


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
                print(json.dumps({n: results[n]}), file=sys.stderr)
        else:
            corpus = build(args.n, args.work, args.stories)
            textbook = run_textbook(corpus)
            ours = run_dedup(corpus, args.work / f"out-{args.n}")
            results = {"textbook": textbook, "dedup": ours,
                       "speedup": round(textbook["clustering_s"] / ours["wall_s"], 2)}
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
