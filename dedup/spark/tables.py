"""Reading back the tables a Spark run wrote (no pyspark needed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dedup.schema import CLUSTERS, LINKS, SENTENCES, conform

TABLES = {"clusters": CLUSTERS, "sentences": SENTENCES, "links": LINKS}


def read_table(out_dir: str | Path, name: str) -> pl.DataFrame:
    """``out_dir/NAME.parquet`` (a folder of part files, or one file) with the local engine's schema.

    Spark writes ``clusters.parquet/part-00000-....parquet``...; the parts are
    in sort order, so concatenating them in name order gives the rows in the
    local engine's order. Spark's ``int64`` columns are cast back to the
    declared ``uint32``.
    """
    path = Path(out_dir) / f"{name}.parquet"
    parts = sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]
    frames = [pl.read_parquet(p) for p in parts]
    if name not in TABLES:
        return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    schema = TABLES[name]
    frames = [conform(f, schema, f"read {name}") for f in frames]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)
