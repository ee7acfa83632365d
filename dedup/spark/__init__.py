"""The pipeline on Apache Spark: ``dedup cluster INPUT --engine spark``.

The same stage functions as the local engine, run inside Spark's Arrow UDFs
(``mapInArrow`` per batch of articles, ``applyInArrow`` per shard of whole
components or clusters); Spark only decides where the data goes. The
``clusters`` and ``sentences`` tables equal the local engine's row by row.

Optional: ``pip install '.[spark]'`` from a clone (pyspark 4 and pandas; Java 17
or later). Nothing outside this package imports pyspark, and importing this
package does not either until :func:`run_spark` is called.

Modules: :mod:`~dedup.spark.session` (the SparkSession and the Java check),
:mod:`~dedup.spark.read` (the local readers, one task per file),
:mod:`~dedup.spark.stages` (the stage functions as Arrow UDFs),
:mod:`~dedup.spark.components` (connected components by large-star/small-star),
:mod:`~dedup.spark.failures` (Spark's failures during a run, told from dedup's own),
:mod:`~dedup.spark.engine` (:func:`run_spark`: the stages chained, the outputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dedup.spark.session import unavailable_reason

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from pyspark.sql import SparkSession

    from dedup.config import Config

__all__ = ["run_spark", "read_table", "get_session", "unavailable_reason"]


def run_spark(inputs: list[str | Path], out_dir: str | Path, *, config: "Config | None" = None,
              spark: "SparkSession | None" = None, master: str | None = None,
              log: Callable[[str], None] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the pipeline on Spark and write the outputs; see :func:`dedup.spark.engine.run_spark`."""
    from dedup.config import Config
    from dedup.spark.session import require_pyspark

    require_pyspark()
    from dedup.spark.engine import run_spark as _run

    return _run(inputs, out_dir, config=config or Config(), spark=spark, master=master, log=log, quiet=quiet)


def read_table(out_dir: str | Path, name: str) -> "pl.DataFrame":
    """A table written by :func:`run_spark`, with the local engine's schema."""
    from dedup.spark.tables import read_table as _read

    return _read(out_dir, name)


def get_session(master: str | None = None, **kwargs: Any) -> "SparkSession":
    """The SparkSession the engine would use; see :func:`dedup.spark.session.get_session`."""
    from dedup.spark.session import get_session as _get

    return _get(master, **kwargs)
