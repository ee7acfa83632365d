"""Writers for the run's output tables: deterministic bytes for the same data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import polars as pl


def _flatten_for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no nested types: nested columns become JSON strings."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(name).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v,
                                                       ensure_ascii=False, sort_keys=True),
                                  return_dtype=pl.String)
        for name in nested
    )


ROW_GROUP_ROWS = 128 * 1024  # rows per Parquet row group


def write_table(frame: pl.DataFrame, out_dir: Path, name: str, formats: Iterable[str]) -> list[Path]:
    """Write ``frame`` as ``name.parquet`` (always) and ``name.csv``/``name.json`` if asked.

    The bytes depend on the rows only, not on how the frame is chunked in
    memory: row groups hold ``ROW_GROUP_ROWS`` rows (polars' default follows
    the chunks, which depend on how many workers made the frame).
    """
    written = []
    path = out_dir / f"{name}.parquet"
    frame.write_parquet(path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)
    written.append(path)
    if "csv" in formats:
        path = out_dir / f"{name}.csv"
        _flatten_for_csv(frame).write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.fZ")
        written.append(path)
    if "json" in formats:
        path = out_dir / f"{name}.json"
        rows = frame.to_dicts()
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1, default=_json_default) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True, default=_json_default) + "\n")
    return path


def write_json(data: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n",
                    encoding="utf-8")
    return path
