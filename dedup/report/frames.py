"""The run's frames as the report reads them: required columns checked, control characters replaced.

Stateless helpers shared by :mod:`dedup.report.model` and :mod:`dedup.report.entries`.
"""

from __future__ import annotations

import polars as pl

from dedup.errors import DedupError

#: Control characters (tab, newline and carriage return excepted), shown as U+FFFD.
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"

#: The ids that join the frames and group their rows: kept as the tables have them, since cleaning could make
#: two ids one ("w\x01" and "w\x02"); the report cleans them where it shows them.
KEYS = ("cluster_id", "article_id", "first_article_id")


def check_columns(frame: pl.DataFrame | pl.LazyFrame, columns: tuple[str, ...], name: str) -> None:
    names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    missing = [c for c in columns if c not in names]
    if missing:
        raise DedupError(f"report: the {name} frame lacks column(s) {missing}; "
                         f"it has {names}. Was it written by another version of dedup?")


def cleaned(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with control characters in its strings but the :data:`KEYS` (and in its word diffs' texts)
    made U+FFFD."""
    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String and c not in KEYS]
    frame = frame.with_columns(pl.col(strings).str.replace_all(CONTROL, "\ufffd"))
    if "word_diff" in frame.columns:
        frame = frame.with_columns(pl.col("word_diff").list.eval(pl.struct(
            pl.element().struct.field("op"),
            pl.element().struct.field("text").str.replace_all(CONTROL, "\ufffd"))))
    return frame
