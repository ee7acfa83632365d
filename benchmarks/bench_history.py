"""What a long history costs a night: the nightly benchmark's night against its state, and against the
same state with a year of older nights in front of it.

A state keeps the story history for ever (the retention prunes texts, shingles and band keys, not the
``articles`` rows' ids and dates nor the ``assignments``). A few lookups of a night read every night of
that history: which of tonight's ids were read before, and their stories (``_read_window``, on the
state's I/O thread while tonight's articles are signed); the first night of the window's stories; whether
a new story's content id was ever used, and which outlets a story had before (``stories`` stage). This
benchmark measures how much they grow.

It takes the state ``benchmarks/bench_nightly.py`` built (``--per-night``, ``--nights``, ``--work`` as
given to it; build that first), and makes a **padded** copy of the measured night's base version: every
file of the base is hard-linked, and ``--extra-nights`` synthetic nights are put before its first night.
Each synthetic night is one of the real nights' ``articles`` (pruned: no text, shingles or band keys, as
the retention leaves them) and ``assignments`` files, dated back, with every article and story id
prefixed so that it meets no real one. The measured night then runs against the original and the padded
state, alternating, each in a fresh process (``bench_nightly.measure``), and every output file but
``timings.json`` is compared byte for byte (the synthetic nights must change nothing). In-process, it
also times ``NightlyState._read_window`` on both states.

Usage::

    python -m benchmarks.bench_nightly --per-night 100000 --nights 20 --repeat 1 --work /tmp/bn100k
    python -m benchmarks.bench_history --per-night 100000 --nights 20 --extra-nights 345 --work /tmp/bn100k

prints a JSON line per measurement and a final comparison; results are in benchmarks/README.md, §6.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.bench_nightly import FIRST_NIGHT, measure


def _base_version(state: Path, night: date) -> int:
    """The version the measured night builds on (the newest whose night is before it)."""
    from dedup.state import Store

    store = Store(state)
    head = store.manifest()
    if head is None or head.night is None:
        raise SystemExit(f"{state} holds no night: build it with benchmarks.bench_nightly first")
    if date.fromisoformat(head.night) >= night:
        if head.parent is None:
            raise SystemExit(f"{state}: the measured night has no base version")
        return head.parent
    return head.version


def pad(state: Path, padded: Path, base_version: int, extra: int) -> dict:
    """Write ``padded``: ``state``'s ``base_version`` with ``extra`` synthetic pruned nights before it."""
    import polars as pl

    from dedup.state import Store
    from dedup.state.store import Manifest

    base = Store(state).manifest(base_version)
    out = Store(padded)
    tables = {t: dict(files) for t, files in base.tables.items()}
    for files in base.tables.values():
        for rel in files.values():
            (padded / rel).parent.mkdir(parents=True, exist_ok=True)
            if not (padded / rel).exists():
                os.link(state / rel, padded / rel)
    real = sorted(base.tables["assignments"])
    first = date.fromisoformat(real[0])
    rows = 0
    for k in range(extra):
        night = first - timedelta(days=extra - k)
        source = real[k % len(real)]
        shift = night - date.fromisoformat(source)
        prefix = f"h{k:04d}-"
        articles = pl.read_parquet(state / base.tables["articles"][source]).with_columns(
            article_id=prefix + pl.col("article_id"), text=pl.lit(None, pl.String),
            shingles=pl.lit(None, pl.List(pl.UInt32)), bands=pl.lit(None, pl.List(pl.UInt64)),
            night=pl.col("night") + shift, first_seen_night=pl.col("first_seen_night") + shift,
            published=pl.col("published") + shift)
        tables["articles"][night.isoformat()] = out.write_file("articles", night.isoformat(), base_version,
                                                               articles, tag=".pruned")
        assignments = pl.read_parquet(state / base.tables["assignments"][source]).with_columns(
            article_id=prefix + pl.col("article_id"), story_id=prefix + pl.col("story_id"),
            canonical_id=prefix + pl.col("canonical_id"), night=pl.col("night") + shift,
            published=pl.col("published") + shift, story_first_night=pl.col("story_first_night") + shift)
        tables["assignments"][night.isoformat()] = out.write_file("assignments", night.isoformat(), base_version,
                                                                  assignments)
        rows += assignments.height
    manifest = Manifest(**{**base.__dict__, "tables": tables,
                           "counts": {**base.counts, "nights": len(tables["articles"]),
                                      "pruned_nights": base.counts.get("pruned_nights", 0) + extra}})
    (padded / "_manifests").mkdir(parents=True, exist_ok=True)
    (padded / "_manifests" / f"{base_version:06d}.json").write_text(manifest.to_json(), encoding="utf-8")
    return {"nights": len(tables["assignments"]), "synthetic_assignment_rows": rows}


def time_window_read(state: Path, base_version: int, night: date, tonight, repeat: int = 2) -> float:
    """Seconds of ``NightlyState._read_window`` (the best of ``repeat``), as the night runs it. ``tonight``:
    the night's ``article_id``, ``outlet`` and ``text``."""
    from datetime import UTC, datetime
    from datetime import time as clock

    from dedup.config import Config
    from dedup.state import Store
    from dedup.state.history import StoryHistory
    from dedup.state.night import NightlyState

    ns = NightlyState(state, config=Config(), night=night)
    ns.base = Store(state).manifest(base_version)
    ns.past = StoryHistory(ns.store, ns.base)
    ns.window_start = datetime.combine(night + timedelta(days=1), clock(), UTC) - ns.window
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        ns._read_window(tonight)
        best = min(best, time.perf_counter() - start)
    ns._io.shutdown()
    return round(best, 3)


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    names = sorted(p.name for p in a.iterdir() if p.is_file() and p.name != "timings.json")
    return {n: filecmp.cmp(a / n, b / n, shallow=False) for n in names}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-night", type=int, default=5000)
    parser.add_argument("--nights", type=int, default=20, help="nights bench_nightly built before the measured one")
    parser.add_argument("--extra-nights", type=int, default=345, help="synthetic older nights put in front")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dedup-bench-nightly"))
    args = parser.parse_args(argv)
    import polars as pl

    work = args.work / f"n{args.per_night}-x{args.nights}"
    state = work / "state"
    night = FIRST_NIGHT + timedelta(days=args.nights)
    tonight = work / "in" / f"night-{args.nights:03d}.jsonl"
    if not (work / "built.json").exists() or not tonight.exists():
        raise SystemExit(f"no nightly benchmark state in {work}: run benchmarks.bench_nightly with the same "
                         "--per-night, --nights and --work first")
    base_version = _base_version(state, night)
    padded = work / f"history-{args.extra_nights}" / "state"
    if not (padded / "_manifests").exists():
        start = time.perf_counter()
        built = pad(state, padded, base_version, args.extra_nights)
        print(json.dumps({"padded": str(padded), **built, "seconds": round(time.perf_counter() - start, 1)}),
              flush=True)
    records = pl.read_ndjson(tonight, schema={"id": pl.String, "outlet": pl.String, "text": pl.String}
                             ).rename({"id": "article_id"})
    window = {"original": time_window_read(state, base_version, night, records),
              "padded": time_window_read(padded, base_version, night, records)}
    print(json.dumps({"read_window_seconds": window}), flush=True)
    stamp = night.isoformat()
    measure(tonight, work / "out-history-padded", padded, stamp)   # commits the night; the next runs rerun it
    results: dict[str, list[dict]] = {"original": [], "padded": []}
    for _ in range(args.repeat):
        for kind, where in (("original", state), ("padded", padded)):
            r = measure(tonight, work / f"out-history-{kind}", where, stamp)
            results[kind].append(r)
            print(json.dumps({"kind": kind, **r}), flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("seconds", "cpu_seconds", "peak_rss_mb")}
           for k, v in results.items()}
    stages = {k: {s: statistics.median(r["stages"][s] for r in v) for s in v[0]["stages"]}
              for k, v in results.items()}
    same = same_outputs(work / "out-history-original", work / "out-history-padded")
    print(json.dumps({
        "per_night": args.per_night, "nights": args.nights + 1, "padded_nights": args.nights + 1 + args.extra_nights,
        "original": med["original"], "padded": med["padded"],
        "stage_difference": {s: round(stages["padded"][s] - stages["original"][s], 2) for s in stages["original"]},
        "read_window_seconds": window, "outputs_identical": all(same.values()), "compared": same,
    }, indent=1))


if __name__ == "__main__":
    main()
