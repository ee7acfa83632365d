"""Parquet files + an atomic manifest vs Delta Lake, for the nightly state's biggest table.

20 nights x 5,000 synthetic articles (text, a shingle list of 50-400 u32
hashes, 28 u64 band keys): write one night at a time (fsynced, manifest
renamed / Delta append), read the band keys of the last 7 nights, replace the
newest night (a rerun). Needs ``pip install deltalake`` (not a dedup dependency).

    python -m benchmarks.bench_state_format [--work /tmp/dedup-bench-format]

Results in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

N, NIGHTS = 5000, 20


def _night(rng: np.random.Generator, k: int) -> pl.DataFrame:
    day = date(2026, 10, 1) + timedelta(days=k)
    shingles = [rng.integers(0, 2**32, rng.integers(50, 400), dtype=np.uint32) for _ in range(N)]
    bands = rng.integers(0, 2**63, (N, 28), dtype=np.uint64)
    return pl.DataFrame({
        "article_id": [f"n{k}-{i}" for i in range(N)], "text": ["word " * 300] * N, "night": [day] * N,
        "shingles": pl.Series(shingles, dtype=pl.List(pl.UInt32)),
        "bands": pl.Series(bands, dtype=pl.Array(pl.UInt64, 28)).cast(pl.List(pl.UInt64)),
    })


def _signed(frame: pl.DataFrame) -> pl.DataFrame:
    """Delta has no unsigned integer types: reinterpret the hashes as signed."""
    return frame.with_columns(pl.col("shingles").list.eval(pl.element().reinterpret(signed=True)),
                              pl.col("bands").list.eval(pl.element().reinterpret(signed=True)))


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/dedup-bench-format")
    root = parser.parse_args().work
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(1)
    frames = [_night(rng, k) for k in range(NIGHTS)]
    res: dict = {}
    t = time.perf_counter()
    files: dict[int, str] = {}
    for k, frame in enumerate(frames):
        path = f"{root}/parquet/night={k:02d}/v{k:06d}.parquet"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        frame.write_parquet(path + ".tmp", compression="zstd", statistics=True)
        fd = os.open(path + ".tmp", os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        os.replace(path + ".tmp", path)
        files[k] = path
        manifest = f"{root}/parquet/_manifests/{k:06d}.json"
        os.makedirs(os.path.dirname(manifest), exist_ok=True)
        with open(manifest + ".tmp", "w") as fh:
            fh.write(json.dumps(files))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(manifest + ".tmp", manifest)
    res["parquet_write_per_night_s"] = (time.perf_counter() - t) / NIGHTS
    t = time.perf_counter()
    window = pl.scan_parquet([files[k] for k in range(NIGHTS - 7, NIGHTS)]).select("article_id", "bands").collect()
    res["parquet_read_window_bands_s"] = time.perf_counter() - t
    try:
        import deltalake
    except ImportError:
        raise SystemExit("pip install deltalake to compare with Delta Lake") from None
    t = time.perf_counter()
    for frame in frames:
        _signed(frame).write_delta(f"{root}/delta", mode="append", delta_write_options={"partition_by": ["night"]})
    res["delta_write_per_night_s"] = (time.perf_counter() - t) / NIGHTS
    t = time.perf_counter()
    first = date(2026, 10, 1) + timedelta(days=NIGHTS - 7)
    window2 = (pl.scan_delta(f"{root}/delta").filter(pl.col("night") >= first)
               .select("article_id", "bands").collect())
    res["delta_read_window_bands_s"] = time.perf_counter() - t
    if window.height != window2.height:
        raise SystemExit(f"window sizes differ: {window.height} vs {window2.height}")
    last = (date(2026, 10, 1) + timedelta(days=NIGHTS - 1)).isoformat()
    t = time.perf_counter()
    _signed(frames[-1]).write_delta(f"{root}/delta", mode="overwrite",
                                    delta_write_options={"predicate": f"night = '{last}'", "partition_by": ["night"]})
    res["delta_replace_night_s"] = time.perf_counter() - t
    res["delta_rows_after_replace"] = pl.scan_delta(f"{root}/delta").select(pl.len()).collect().item()
    res["parquet_bytes"], res["delta_bytes"] = _size(f"{root}/parquet"), _size(f"{root}/delta")
    res["deltalake"] = deltalake.__version__
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}, indent=1))


if __name__ == "__main__":
    main()
