"""Local engine vs Spark engine: wall time, throughput, and that the tables are equal.

Usage (each engine runs in its own process, so peak memory is its own)::

    python benchmarks/bench_spark.py --syndication 4200,700 --master 'local[2]' --work /tmp/bs --json out.json
    python benchmarks/bench_spark.py --planted 100000 --master 'local[2]' --work /tmp/bs
    python benchmarks/bench_spark.py --skew 5000,20000 --engines spark --work /tmp/bs
    python benchmarks/bench_spark.py --corpus my-night/ --work /tmp/bs

Corpora: ``--syndication MAIN,HOLDOUT`` simulates syndication from
Reuters-21578 (``benchmarks/syndication.py``, both splits joined: 4200,700
gives 20,700 articles; one split alone runs out of donor text near 18,000);
``--planted N``
writes N fictional articles (``tests/spark/corpora.py``: stories with 1-30
trimmed, padded or edited copies, and unrelated articles), any size;
``--skew COPIES,ARTICLES`` the skew case (one story with COPIES copies, a
paragraph shared by all). Corpora are written as 8 JSON Lines files.

Prints one JSON object: per engine the wall seconds (process start to exit,
including Spark's start-up), articles per second, two peaks of memory, the
per-stage timings, and whether clusters/sentences/links are equal row by
row; then ``spark_over_local``, the ratio of wall times. The peaks:
``peak_rss_mb`` is the Python process's own ``ru_maxrss`` (for Spark, the
driver's Python process only: not the JVM, a child process where the work
runs, nor Spark's Python workers); ``peak_pss_tree_mb`` is the peak PSS of
the whole process tree (for the local engine its forked alignment workers;
for Spark the Python driver, the JVM and the JVM's Python workers), sampled
from ``/proc`` every 0.2 s by ``benchmarks/procmem.py``, which also starts
each engine's process through a small launcher so that its ``ru_maxrss``
does not start from this process's peak. Results are recorded in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import procmem


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(args, work: Path) -> Path:
    corpus = work / "corpus"
    if corpus.exists():
        return corpus
    corpora = _module(REPO / "tests" / "spark" / "corpora.py", "spark_corpora")
    if args.syndication:
        main, holdout = map(int, args.syndication.split(","))
        frame = corpora.syndication_corpus(main, holdout)
        rows = frame.with_columns(published=frame["published"].dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")).to_dicts()
    elif args.planted:
        # planted_corpus: 1 wire + 15.5 copies per story on average; 60% of the articles in stories
        rows = corpora.planted_corpus(stories=max(1, int(0.6 * args.planted / 16.5)),
                                      singles=int(0.4 * args.planted), seed=5)[:args.planted]
    else:
        copies, articles = map(int, args.skew.split(","))
        rows = corpora.skew_corpus(copies, articles, big_outlet=articles // 10)
    return corpora.write_jsonl(rows, corpus, parts=8)


_LOCAL = """
import json, resource, sys, time
from dedup.pipeline import run
start = time.perf_counter()
result = run([sys.argv[1]], sys.argv[2])
print(json.dumps({"seconds_in_run": time.perf_counter() - start, "articles": result.articles.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_SPARK = """
import json, resource, sys, time
from dedup.spark import run_spark
start = time.perf_counter()
summary = run_spark([sys.argv[1]], sys.argv[2], master=sys.argv[3])
print(json.dumps({"seconds_in_run": time.perf_counter() - start, "articles": summary["articles"]["clustered"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "spark": summary["pipeline"]["spark"], "lsh": summary["pipeline"]["lsh"]}))
"""


def run_engine(engine: str, corpus: Path, out: Path, master: str) -> dict:
    code = _LOCAL if engine == "local" else _SPARK
    argv = [sys.executable, "-c", code, str(corpus), str(out)] + ([master] if engine == "spark" else [])
    proc = procmem.run(argv, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} engine failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(result["peak_rss_mb"], 1)      # the Python process's own (Spark: the driver's)
    result["peak_pss_tree_mb"] = round(proc.peak_pss_mb, 1)      # the whole tree (Spark: with the JVM)
    result["wall_seconds"] = round(proc.seconds, 1)
    result["articles_per_second"] = round(result["articles"] / proc.seconds, 1)
    result["stages"] = {k: v["seconds"] for k, v in json.loads((out / "timings.json").read_text())["stages"].items()}
    return result


def compare(local: Path, spark: Path) -> dict[str, bool]:
    import polars as pl

    from dedup.spark import read_table

    same = {}
    for name in ("clusters", "sentences", "links"):
        same[name] = read_table(spark, name).equals(pl.read_parquet(local / f"{name}.parquet"))
    return same


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--corpus", type=Path, help="an existing corpus (files or folder)")
    src.add_argument("--syndication", metavar="MAIN,HOLDOUT", help="base stories of the two splits, e.g. 4200,700")
    src.add_argument("--planted", type=int, metavar="N_ARTICLES")
    src.add_argument("--skew", metavar="COPIES,ARTICLES")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default="local,spark")
    ap.add_argument("--work", type=Path, required=True, help="folder for the corpus and both outputs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus or build(args, args.work)
    results: dict = {"corpus": str(corpus), "master": args.master}
    for engine in args.engines.split(","):
        print(f"running {engine}...", file=sys.stderr, flush=True)
        results[engine] = run_engine(engine, corpus, args.work / f"out-{engine}", args.master)
    if "local" in results and "spark" in results:
        results["equal"] = compare(args.work / "out-local", args.work / "out-spark")
        results["spark_over_local"] = round(results["spark"]["wall_seconds"] / results["local"]["wall_seconds"], 2)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
