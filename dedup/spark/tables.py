"""The tables a Spark run writes: folders of part files, cleaned, and read back (no pyspark needed)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from dedup.io import table_files
from dedup.schema import CLUSTERS, LINKS, SENTENCES, conform

TABLES = {"clusters": CLUSTERS, "sentences": SENTENCES, "links": LINKS}


def is_side_file(path: Path) -> bool:
    """Not a part: Hadoop's bookkeeping beside the part files, the ``_SUCCESS`` marker and hidden
    ``.part-….crc`` checksums, and the hidden file of a task that died writing its part
    (:func:`dedup.spark.outputs.write_parquet_parts`)."""
    return path.name == "_SUCCESS" or path.name.startswith(".")


def remove_side_files(folder: Path) -> int:
    """Delete the side files left in ``folder`` (a table just written); return how many.

    A table folder then holds its part files only. ``_SUCCESS`` marks a
    finished Hadoop job; the run's own completion marker is ``timings.json``,
    written last. The ``.crc`` files are checksums kept by Hadoop's local
    file system only (not HDFS or object stores), which no reader of these
    tables checks and which would go stale if a part were rewritten.
    """
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and is_side_file(path):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


#: The random part of the names Spark gives its part files: ``part-00000-<UUID>-c000.csv``.
_SPARK_PART = re.compile(r"(part-\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-c\d+\..+)")


def strip_random_names(folder: Path) -> None:
    """Rename Spark's part files in ``folder`` (a table just written) without the UUID Spark draws for each
    write, so that a rerun's files have the same names: ``part-00000-c000.csv``. The part (task) number and
    the file number within the task (``c000``) are kept, so the names sort in row order as before."""
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if (match := _SPARK_PART.fullmatch(path.name)) is not None:
                path.rename(path.with_name(match[1] + match[2]))


def read_table(out_dir: str | Path, name: str) -> pl.DataFrame:
    """``out_dir/NAME.parquet`` (a folder of part files, or one file) with the local engine's schema.

    A Spark run writes ``clusters.parquet/part-00000.parquet``...; the parts
    are in sort order, so concatenating them in name order gives the rows in
    the local engine's order (:func:`dedup.io.table_files`, which skips
    Hadoop's ``_SUCCESS`` and ``.crc`` files if any are left). The parts of a
    run of an older dedup, written by Spark's own writer, have ``int64`` where
    the schema has ``uint32``: they are cast back. Each part is read by its
    name, not as a glob pattern (an ``--out`` may be ``night-[1]``).
    """
    frames = [pl.read_parquet(p, glob=False) for p in table_files(Path(out_dir) / f"{name}.parquet")]
    if name not in TABLES:
        return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    schema = TABLES[name]
    frames = [conform(f, schema, f"read {name}") for f in frames]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)
