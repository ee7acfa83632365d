"""Cost of a nightly run against a state, side by side with a standalone run on the same night.

The issue's bar: a night of N new articles against a state holding 20 x N
costs at most 1.5x a standalone run on the same N articles, in wall time and
in peak memory.

The corpus is synthetic and fictional (pseudo-words, Zipf-distributed), built
like a news stream: every night about a fifth of the articles are wire
stories, most of them carried by 2-6 outlets (trimmed, padded with a local
sentence, copy-edited, a sentence dropped), some of which are carried again on
the next 1-3 nights by other outlets; the rest are singletons. The state is
built by running the previous ``--nights`` nights through the real pipeline
(``run(..., state_dir=...)``), once, and kept in ``--work`` for later runs; an
interrupted build resumes after the last night its state committed.

Each measurement runs in a fresh process, started by a small launcher
(``benchmarks/procmem.py``) so that its ``ru_maxrss`` does not start from
this process's peak. Two peaks are reported: ``peak_rss_mb``, the measured
process's own ``ru_maxrss`` (the main process only, without the forked
alignment workers), and ``peak_pss_tree_mb``, the peak PSS of the whole
process tree (main process and workers, sampled from ``/proc`` every 0.2 s
by ``procmem.tree_pss_mb``, the sampler ``bench_scale`` uses): the physical
memory of the run. CPU seconds count the process and its workers.
Standalone and state runs alternate ``--repeat`` times and the medians are
compared. The state run is a rerun of the measured night, so every repeat
starts from the same state.

Usage::

    python -m benchmarks.bench_nightly --per-night 5000 --nights 20 --repeat 3

prints a JSON line per measurement and a final comparison; results and
commands are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import procmem

FIRST_NIGHT = date(2026, 10, 1)


def _vocabulary(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


class Stream:
    """A reproducible stream of nights (fictional text)."""

    def __init__(self, per_night: int, seed: int = 1):
        self.per_night = per_night
        self.vocab = _vocabulary(20000)
        self.cum_weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(self.vocab))))
        self.seed = seed
        self.outlets = [f"Outlet {i:03d}" for i in range(300)]

    def _sentences(self, rng: random.Random, n: int) -> list[str]:
        out = []
        for _ in range(n):
            words = rng.choices(self.vocab, cum_weights=self.cum_weights, k=rng.randint(12, 22))
            out.append(" ".join(words).capitalize() + ".")
        return out

    def _copy(self, rng: random.Random, story: list[str]) -> list[str]:
        kind = rng.randrange(4)
        if kind == 0:
            return story[:rng.randint(5, len(story))]
        if kind == 1:
            cut = rng.randint(3, 6)
            return story[:cut] + self._sentences(rng, 1) + story[cut:]
        if kind == 2:
            old, new = rng.choice(self.vocab[:200]), rng.choice(self.vocab[:200])
            return [s.replace(f" {old} ", f" {new} ") for s in story]
        drop = rng.randrange(len(story))
        return story[:drop] + story[drop + 1:]

    def stories(self, night: int) -> list[list[str]]:
        """The wire stories that start on ``night``."""
        rng = random.Random(self.seed * 100_003 + night)
        return [self._sentences(rng, rng.randint(10, 20)) for _ in range(self.per_night // 8)]

    def night(self, night: int) -> list[dict]:
        rng = random.Random(self.seed * 1_000_003 + night)
        day = FIRST_NIGHT + timedelta(days=night)
        stamp = lambda h, m: f"{day.isoformat()}T{h:02d}:{m:02d}:00Z"  # noqa: E731
        records: list[dict] = []
        # Earlier stories carried again tonight by other outlets (15% of the night).
        for back in (1, 2, 3):
            if night - back < 0:
                continue
            earlier = self.stories(night - back)
            for k in rng.sample(range(len(earlier)), min(len(earlier), self.per_night // (20 * back))):
                records.append({"id": f"n{night}-late{back}-{k}", "outlet": rng.choice(self.outlets),
                                "text": " ".join(self._copy(rng, earlier[k])), "published": stamp(rng.randrange(24), 30)})
        # Tonight's wire stories with their copies (about 60%).
        for k, story in enumerate(self.stories(night)):
            records.append({"id": f"n{night}-w{k}", "outlet": "Wire", "text": " ".join(story),
                            "published": stamp(rng.randrange(12), 0)})
            for c, outlet in enumerate(rng.sample(self.outlets, rng.randint(1, 5))):
                records.append({"id": f"n{night}-w{k}-c{c}", "outlet": outlet,
                                "text": " ".join(self._copy(rng, story)), "published": stamp(12 + rng.randrange(12), c)})
        # Singletons for the rest.
        i = 0
        while len(records) < self.per_night:
            records.append({"id": f"n{night}-s{i}", "outlet": rng.choice(self.outlets),
                            "text": " ".join(self._sentences(rng, rng.randint(6, 20))), "published": stamp(rng.randrange(24), 45)})
            i += 1
        for r in records:
            r["title"] = r["text"][:60]
        return records[:self.per_night]


def write_night(stream: Stream, night: int, folder: Path) -> Path:
    path = folder / f"night-{night:03d}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in stream.night(night):
                fh.write(json.dumps(rec) + "\n")
        tmp.rename(path)
    return path


_CHILD = """
import json, resource, sys, time
from dedup import run
args = json.loads(sys.argv[1])
start = time.perf_counter()
result = run([args["input"]], args["out"], state_dir=args.get("state"), night=args.get("night"))
seconds = time.perf_counter() - start
cpu = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "stages": {k: v["seconds"] for k, v in result.timings.items()},
                  "history": {k: v for k, v in result.summary.get("history", {}).items()
                              if k.startswith(("prior", "versions"))},
                  "output_rows": result.clusters.height}))
"""


def measure(input_path: Path, out: Path, state: Path | None, night: str) -> dict:
    """One run in a fresh process: what it reports of itself, and the peak PSS of its process tree."""
    args = {"input": str(input_path), "out": str(out), "night": night}
    if state is not None:
        args["state"] = str(state)
    done = procmem.run([sys.executable, "-c", _CHILD, json.dumps(args)], cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_pss_tree_mb"] = round(done.peak_pss_mb, 1)
    return result


def _committed(state: Path, night: date) -> bool:
    """Whether the state already holds ``night`` (its newest night is that one or later)."""
    from dedup.state import Store

    head = Store(state).manifest() if state.exists() else None
    return head is not None and head.night is not None and date.fromisoformat(head.night) >= night


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-night", type=int, default=5000)
    parser.add_argument("--nights", type=int, default=20, help="nights in the state before the measured one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dedup-bench-nightly"))
    args = parser.parse_args(argv)
    work = args.work / f"n{args.per_night}-x{args.nights}"
    stream = Stream(args.per_night)
    state = work / "state"
    built = work / "built.json"
    if not built.exists():
        start = time.perf_counter()
        for night in range(args.nights):
            if _committed(state, FIRST_NIGHT + timedelta(days=night)):
                continue   # built by an interrupted earlier build: resume after it
            path = write_night(stream, night, work / "in")
            t = time.perf_counter()
            measure(path, work / "out-build", state, (FIRST_NIGHT + timedelta(days=night)).isoformat())
            print(json.dumps({"built_night": night, "seconds": round(time.perf_counter() - t, 1)}), flush=True)
        built.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
    night = args.nights
    path = write_night(stream, night, work / "in")
    stamp = (FIRST_NIGHT + timedelta(days=night)).isoformat()
    # The first state run commits the measured night; the next ones rerun it from the same base.
    measure(path, work / "out-state", state, stamp)
    results: dict[str, list[dict]] = {"standalone": [], "state": []}
    for _ in range(args.repeat):
        for kind in ("standalone", "state"):
            r = measure(path, work / f"out-{kind}", state if kind == "state" else None, stamp)
            results[kind].append(r)
            print(json.dumps({"kind": kind, **r}), flush=True)
    med = {k: {m: statistics.median(r[m] for r in v)
               for m in ("seconds", "cpu_seconds", "peak_rss_mb", "peak_pss_tree_mb")}
           for k, v in results.items()}
    print(json.dumps({
        "per_night": args.per_night, "state_nights": args.nights, "state_articles": args.per_night * args.nights,
        "standalone": med["standalone"], "state": med["state"],
        "ratio_time": round(med["state"]["seconds"] / med["standalone"]["seconds"], 2),
        # the main process's own peak RSS (as measured up to session 26), then the whole tree's peak PSS
        "ratio_memory": round(med["state"]["peak_rss_mb"] / med["standalone"]["peak_rss_mb"], 2),
        "ratio_memory_tree": round(med["state"]["peak_pss_tree_mb"] / med["standalone"]["peak_pss_tree_mb"], 2),
        "ratio_cpu": round(med["state"]["cpu_seconds"] / med["standalone"]["cpu_seconds"], 2),
        # each alternating pair's own time ratio: on a machine whose speed drifts, their spread says
        # more than one median
        "ratio_time_pairs": [round(s["seconds"] / a["seconds"], 2)
                             for a, s in zip(results["standalone"], results["state"])],
        "state_stages": results["state"][-1]["stages"], "standalone_stages": results["standalone"][-1]["stages"],
        "prior": results["state"][-1]["history"],
        "state_bytes": sum(p.stat().st_size for p in state.rglob("*") if p.is_file()),
    }, indent=1))


if __name__ == "__main__":
    main()
